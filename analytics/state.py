"""The byte format of a camera's analysis state (what one sample leaves for the next).

States travel between processes and machines (Redis, the database), so the format is small,
versioned and plain — no pickle. Little-endian::

    magic        4s   b"PNTS"
    version      u8   FORMAT_VERSION
    flags        u8   0 (reserved)
    fingerprint  8s   config fingerprint (see :func:`fingerprint`)
    frame_w      u16  size of the frames the state was learned on (0 = none yet)
    frame_h      u16
    sections     u8   count, then per section:
        name_len u8, name (ASCII)
        kind     u8   0 = JSON object (UTF-8), 1 = uint8 array
        codec    u8   0 = stored, 1 = zlib, 2 = zlib over row deltas (each byte minus its
                      left neighbour, mod 256: PNG's "Sub" filter; arrays of rank >= 2)
        ndim     u8   + ndim x u16 shape (arrays only; ndim = 0 for JSON)
        length   u32  + that many bytes
    crc32        u32  of everything before it

:func:`unpack` checks everything (magic, version, lengths, shapes, decompressed sizes, CRC) and
raises :class:`StateError` on anything it does not like; it never allocates more than
``MAX_ARRAY_BYTES`` per array, so a hostile blob cannot blow up memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MAGIC = b"PNTS"
FORMAT_VERSION = 2
STATE_MAX_BYTES = 64 * 1024
"""Budget for one camera's serialised state (issue 9)."""
MAX_ARRAY_BYTES = 1 << 20
MAX_SECTIONS = 32

_HEAD = struct.Struct("<4sBB8sHHB")
_KIND_JSON, _KIND_ARRAY = 0, 1
_CODEC_RAW, _CODEC_ZLIB, _CODEC_ZLIB_SUB = 0, 1, 2

PackCache = dict[str, tuple[int, tuple[int, ...], int, bytes]]
"""name -> (crc32 of the raw array, shape, codec, stored bytes): arrays unchanged since the
last :func:`pack` with the same cache are not compressed again (quiet samples)."""


class StateError(ValueError):
    """A state blob that cannot be used (corrupt, truncated, other version...)."""


@dataclass
class StateBlob:
    """A decoded state: header fields, JSON sections and arrays."""

    fingerprint: bytes
    frame_size: tuple[int, int] | None
    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    lazy: dict[str, tuple[tuple[int, ...], int, bytes]] = field(default_factory=dict)
    """Arrays left undecoded by ``unpack(lazy=...)``: name -> (shape, codec, stored bytes)."""
    packed: PackCache = field(default_factory=dict)
    """The arrays as stored (a ready :data:`PackCache`: exporting them unchanged again costs
    no compression)."""


def fingerprint(description: Any) -> bytes:
    """8 bytes identifying a configuration: SHA-256 of its canonical JSON (sorted keys)."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()[:8]


def _compress(raw: bytes, level: int) -> tuple[int, bytes]:
    if len(raw) < 64:
        return _CODEC_RAW, raw
    packed = zlib.compress(raw, level)
    return (_CODEC_ZLIB, packed) if len(packed) < len(raw) else (_CODEC_RAW, raw)


def _encode_array(a: np.ndarray, level: int) -> tuple[int, bytes]:
    if a.ndim >= 2 and a.shape[1] > 1:
        d = a.copy()
        d[:, 1:] -= a[:, :-1]  # uint8 arithmetic wraps: exact inverse is a cumsum mod 256
        codec, data = _compress(d.tobytes(), level)
        return (_CODEC_ZLIB_SUB, data) if codec == _CODEC_ZLIB else (_CODEC_RAW, a.tobytes())
    return _compress(a.tobytes(), level)


def pack(
    fp: bytes,
    frame_size: tuple[int, int] | None,
    meta: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    level: int = 1,
    cache: PackCache | None = None,
    prepacked: Mapping[str, tuple[tuple[int, ...], int, bytes]] | None = None,
) -> bytes:
    """Serialise; ``meta`` is one JSON section, each array (``uint8``) one array section.
    ``cache``: a dict kept by the caller between calls (see :data:`PackCache`).
    ``prepacked``: array sections as :func:`unpack` left them lazy, written back unchanged."""
    if len(fp) != 8:
        raise ValueError("fingerprint must be 8 bytes")
    fw, fh = frame_size if frame_size is not None else (0, 0)
    sections: list[bytes] = []
    text = json.dumps(meta, separators=(",", ":"), allow_nan=False).encode()
    codec, data = _compress(text, 1)
    sections.append(struct.pack("<B4sBBBI", 4, b"meta", _KIND_JSON, codec, 0, len(data)) + data)
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype != np.uint8:
            raise ValueError(f"state array {name!r} must be uint8, got {a.dtype}")
        if a.ndim > 4 or any(d > 0xFFFF for d in a.shape):
            raise ValueError(f"state array {name!r} has an unsupported shape {a.shape}")
        nb = name.encode("ascii")
        crc = zlib.crc32(a)
        hit = cache.get(name) if cache is not None else None
        if hit is not None and hit[0] == crc and hit[1] == a.shape:
            codec, data = hit[2], hit[3]
        else:
            codec, data = _encode_array(a, level)
            if cache is not None:
                cache[name] = (crc, a.shape, codec, data)
        sections.append(
            struct.pack(f"<B{len(nb)}sBBB", len(nb), nb, _KIND_ARRAY, codec, a.ndim)
            + struct.pack(f"<{a.ndim}H", *a.shape)
            + struct.pack("<I", len(data))
            + data
        )
    for name, (shape, codec, data) in (prepacked or {}).items():
        nb = name.encode("ascii")
        sections.append(
            struct.pack(f"<B{len(nb)}sBBB", len(nb), nb, _KIND_ARRAY, codec, len(shape))
            + struct.pack(f"<{len(shape)}H", *shape)
            + struct.pack("<I", len(data))
            + data
        )
    body = _HEAD.pack(MAGIC, FORMAT_VERSION, 0, fp, fw, fh, len(sections)) + b"".join(sections)
    return body + struct.pack("<I", zlib.crc32(body))


def peek(blob: bytes) -> tuple[int, bytes, tuple[int, int] | None]:
    """(version, fingerprint, frame size) from the header only; raises :class:`StateError`."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise StateError(f"state must be bytes, got {type(blob).__name__}")
    if len(blob) < _HEAD.size + 4:
        raise StateError(f"state too short ({len(blob)} bytes)")
    magic, version, _flags, fp, fw, fh, _n = _HEAD.unpack_from(blob, 0)
    if magic != MAGIC:
        raise StateError("not a Pantau analysis state (bad magic)")
    return version, bytes(fp), ((fw, fh) if fw and fh else None)


def _inflate(data: bytes, limit: int) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error as exc:
        raise StateError(f"corrupt compressed section: {exc}") from exc
    if d.unconsumed_tail or not d.eof:
        raise StateError("compressed section larger than declared or truncated")
    return out


def decode_array(name: str, shape: tuple[int, ...], codec: int, data: bytes) -> np.ndarray:
    """One array section's bytes -> a fresh writable ``uint8`` array; raises StateError."""
    size = int(np.prod(shape)) if shape else 0
    if codec in (_CODEC_ZLIB, _CODEC_ZLIB_SUB):
        raw = _inflate(data, size)
    elif codec == _CODEC_RAW:
        raw = data
    else:
        raise StateError(f"array {name!r}: unknown codec {codec}")
    if len(raw) != size:
        raise StateError(f"array {name!r}: {len(raw)} bytes for shape {shape}")
    arr = np.frombuffer(raw, np.uint8).reshape(shape)
    if codec == _CODEC_ZLIB_SUB:
        return np.cumsum(arr, axis=1, dtype=np.uint8)
    return np.array(arr)


def unpack(blob: bytes, lazy: Callable[[str], bool] | None = None) -> StateBlob:
    """Parse and check a state; raises :class:`StateError` (a ValueError) on any defect.
    Arrays whose name ``lazy(name)`` accepts are not decoded: they land in
    :attr:`StateBlob.lazy` as stored (decode them with :func:`decode_array` when needed, or
    write them back unchanged with ``pack(prepacked=...)``)."""
    version, fp, frame_size = peek(blob)
    if version != FORMAT_VERSION:
        raise StateError(f"state format version {version}, this build reads {FORMAT_VERSION}")
    buf = memoryview(bytes(blob))
    (crc,) = struct.unpack_from("<I", buf, len(buf) - 4)
    if zlib.crc32(buf[:-4]) != crc:
        raise StateError("state checksum mismatch (corrupt or truncated)")
    n_sections = buf[_HEAD.size - 1]
    if n_sections > MAX_SECTIONS:
        raise StateError(f"too many sections ({n_sections})")
    pos, end = _HEAD.size, len(buf) - 4
    out = StateBlob(fingerprint=fp, frame_size=frame_size, version=version)

    def take(n: int) -> memoryview:
        nonlocal pos
        if pos + n > end:
            raise StateError("state truncated")
        chunk = buf[pos : pos + n]
        pos += n
        return chunk

    try:
        for _ in range(n_sections):
            name = bytes(take(take(1)[0])).decode("ascii")
            kind, codec, ndim = take(3)
            if ndim > 4:
                raise StateError(f"section {name!r}: bad rank {ndim}")
            shape = struct.unpack(f"<{ndim}H", take(2 * ndim)) if ndim else ()
            (length,) = struct.unpack("<I", take(4))
            data = bytes(take(length))
            if kind == _KIND_JSON:
                raw = _inflate(data, MAX_ARRAY_BYTES) if codec == _CODEC_ZLIB else data
                value = json.loads(raw.decode())
                if not isinstance(value, dict):
                    raise StateError(f"section {name!r} is not a JSON object")
                out.meta.update(value)
            elif kind == _KIND_ARRAY:
                size = int(np.prod(shape)) if shape else 0
                if size > MAX_ARRAY_BYTES:
                    raise StateError(f"array {name!r} too large {shape}")
                if codec not in (_CODEC_RAW, _CODEC_ZLIB, _CODEC_ZLIB_SUB):
                    raise StateError(f"array {name!r}: unknown codec {codec}")
                if codec == _CODEC_ZLIB_SUB and len(shape) < 2:
                    raise StateError(f"array {name!r}: row deltas need rank >= 2")
                if codec == _CODEC_RAW and len(data) != size:
                    raise StateError(f"array {name!r}: {len(data)} bytes for shape {shape}")
                if lazy is not None and lazy(name):
                    out.lazy[name] = (tuple(shape), codec, data)
                    continue
                out.arrays[name] = decode_array(name, tuple(shape), codec, data)
                out.packed[name] = (zlib.crc32(out.arrays[name]), tuple(shape), codec, data)
            else:
                raise StateError(f"section {name!r}: unknown kind {kind}")
    except (UnicodeDecodeError, json.JSONDecodeError, struct.error) as exc:
        raise StateError(f"corrupt state: {exc}") from exc
    if pos != end:
        raise StateError("trailing bytes after the last section")
    return out
