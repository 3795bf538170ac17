"""A camera's latest snapshot file: the camera's own JPEG plus its annotations as data.

Ingestion used to draw every snapshot (boxes, ROIs, counts, time) and encode it again: for a
busy camera a full decode, the drawing and a JPEG encode on every sample, for a quiet one every
``static_snapshot_every_s`` — more CPU than the analysis of a quiet sample, for pictures that
are mostly never looked at. Now ingestion writes the JPEG it fetched, byte for byte, with the
drawing primitives of :func:`analytics.annotate.overlay_of` in a JPEG comment segment (COM,
``0xFFFE``; every JPEG reader skips it), and the dashboard draws them when somebody views the
snapshot (:class:`SnapshotRenderer`, cached per file version).

    embed(jpeg, overlay) -> bytes            # COM segment after SOI and the leading APPn
    extract(jpeg) -> dict | None             # the overlay, None if absent or unreadable
    write_snapshot(path, jpeg, overlay)      # atomic (temp file + rename)
    render(jpeg) -> bytes                    # annotated JPEG (the file itself if no overlay)
    SnapshotRenderer(max_items).annotated(path) -> bytes | None
"""

from __future__ import annotations

import json
import logging
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: a Pantau overlay comment starts with this (other comments are left alone)
MARK = b"PANTAU-OVERLAY/1\n"
_MAX_SEGMENT = 0xFFFF - 2  # a segment's length field counts itself
_SOS, _COM, _EOI = 0xDA, 0xFE, 0xD9
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RSTn: no length field
QUALITY = 82


def _segments(jpeg: bytes):
    """(marker, start, end) of each segment before the scan; ValueError if not a JPEG."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    i, n = 2, len(jpeg)
    while i + 4 <= n:
        if jpeg[i] != 0xFF:
            raise ValueError(f"JPEG marker expected at byte {i}")
        marker = jpeg[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker in (_SOS, _EOI):
            return
        (length,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        if length < 2 or i + 2 + length > n:
            raise ValueError(f"JPEG segment at byte {i} runs past the end")
        yield marker, i, i + 2 + length
        i += 2 + length


def _payload(overlay: dict[str, Any]) -> bytes:
    """The comment's bytes; boxes beyond what fits in one segment are left out (and counted)."""
    ov = dict(overlay)
    boxes = list(ov.get("boxes") or ())
    total = len(boxes)
    while True:
        data = MARK + json.dumps(ov, separators=(",", ":"), allow_nan=False).encode()
        if len(data) <= _MAX_SEGMENT or not boxes:
            break
        keep = max(0, min(len(boxes) - 1, len(boxes) * _MAX_SEGMENT // len(data) - 1))
        boxes = boxes[:keep]
        ov["boxes"], ov["boxes_left_out"] = boxes, total - keep
    if len(data) > _MAX_SEGMENT:
        raise ValueError(f"snapshot overlay of {len(data)} bytes does not fit a JPEG comment")
    return data


def embed(jpeg: bytes, overlay: dict[str, Any]) -> bytes:
    """``jpeg`` with ``overlay`` in a comment segment (an earlier Pantau overlay is replaced).
    The image data is untouched. Raises ValueError if ``jpeg`` is not a JPEG."""
    data = _payload(overlay)
    segment = b"\xff\xfe" + struct.pack(">H", len(data) + 2) + data
    cut, leading, drop = 2, True, []
    for marker, start, end in _segments(jpeg):
        if leading and 0xE0 <= marker <= 0xEF:  # JFIF / Exif stay first
            cut = end
            continue
        leading = False
        if marker == _COM and jpeg[start + 4 : start + 4 + len(MARK)] == MARK:
            drop.append((start, end))  # always after ``cut``: a COM ends the APPn run
    parts, pos = [jpeg[:cut], segment], cut
    for start, end in drop:
        parts.append(jpeg[pos:start])
        pos = end
    parts.append(jpeg[pos:])
    return b"".join(parts)


def extract(jpeg: bytes) -> dict[str, Any] | None:
    """The overlay :func:`embed` stored, or None (none, or unreadable: logged)."""
    try:
        for marker, start, end in _segments(jpeg):
            if marker == _COM and jpeg[start + 4 : start + 4 + len(MARK)] == MARK:
                ov = json.loads(jpeg[start + 4 + len(MARK) : end])
                return ov if isinstance(ov, dict) else None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        logger.warning("snapshot overlay not readable: %s", exc)
    return None


def write_snapshot(path: Path, jpeg: bytes, overlay: dict[str, Any]) -> None:
    """Write the camera's JPEG with its overlay to ``path`` atomically."""
    from ingestion.process import atomic_write

    atomic_write(path, embed(jpeg, overlay))


def render(jpeg: bytes) -> bytes:
    """The annotated picture: ``jpeg`` decoded, its overlay drawn, encoded again. A file
    without an overlay (or one that cannot be drawn: logged) comes back as it is."""
    ov = extract(jpeg)
    if ov is None:
        return jpeg
    import cv2
    import numpy as np

    from analytics.annotate import draw

    img = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        logger.warning("snapshot with an overlay could not be decoded (%d bytes)", len(jpeg))
        return jpeg
    try:
        drawn = draw(img, ov)
    except ValueError as exc:
        logger.warning("snapshot overlay not drawn: %s", exc)
        return jpeg
    ok, buf = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return buf.tobytes() if ok else jpeg


class SnapshotRenderer:
    """Annotated snapshots drawn on demand, the last ``max_items`` kept per file version
    (path, modification time, size): a picture viewed by ten people is drawn once."""

    def __init__(self, max_items: int = 64) -> None:
        self.max_items = max(1, int(max_items))
        self._cache: OrderedDict[str, tuple[tuple[int, int], bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0

    def annotated(self, path: Path) -> bytes | None:
        """The annotated JPEG of the snapshot at ``path``; None if there is no such file."""
        try:
            st = path.stat()
            version = (st.st_mtime_ns, st.st_size)
            key = str(path)
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None and hit[0] == version:
                    self._cache.move_to_end(key)
                    return hit[1]
            data = path.read_bytes()
        except OSError:
            return None
        out = render(data)
        with self._lock:
            self.renders += 1
            self._cache[key] = (version, out)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        return out
