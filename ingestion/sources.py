"""Camera frame sources: RTSP, HLS, HTTP MJPEG, HTTP JPEG snapshots and local video files.

One small API for every protocol, also used by the public CCTV page's live relay::

    src = open_source(url, protocol, Timeouts(connect_s=5, read_s=10), max_width=960)
    try:
        frame = src.read()          # BGR uint8, at most max_width wide; raises SourceError
        jpeg = src.read_jpeg()      # latest frame as JPEG bytes (no re-encode for MJPEG/snapshot)
    finally:
        src.close()

Every blocking step has a deadline: connecting, the first byte, and the *whole* frame (a camera
trickling one byte per second never holds a worker past ``read_s``). Errors are
:class:`SourceError` subclasses whose message is a readable reason for the camera health page.

Persistent readers (``persistent=True``) keep one connection open and a reader thread that
holds only the *latest* frame: for MJPEG the raw JPEG bytes (decoded only when sampled), for
RTSP/HLS ``grab()`` (demux + decode, no colour conversion), ``retrieve()`` only on demand.
Per-sample readers (``persistent=False``) open, take one frame and close: cheaper for cameras
sampled once a minute (a city of thousands of cameras cannot hold thousands of decoders open).
Frames are downscaled right after decoding; big JPEGs are decoded at 1/2, 1/4 or 1/8 scale by
libjpeg itself (``cv2.IMREAD_REDUCED_COLOR_*``), which is several times cheaper.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import httpx
import numpy as np

from analytics.imaging import ScaledFrame
from ingestion.url_policy import UrlPolicy, UrlRejected, default_policy

if TYPE_CHECKING:
    from ingestion.snapshot_http import SnapshotHttp

logger = logging.getLogger(__name__)

PROTOCOLS = ("rtsp", "hls", "mjpeg", "snapshot", "file")
DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024
USER_AGENT = "Pantau-ingest/0.1"

MAX_REDIRECTS = 5

# RTSP over TCP: UDP loses packets on busy city networks and gives smeared frames.
# (FFmpeg's own protocol_whitelist cannot be relied on here: the opencv-python 4.11 wheel
# ignores OPENCV_FFMPEG_CAPTURE_OPTIONS' keys, checked. So FFmpeg gets only URLs that passed
# the rules: a checked rtsp(s):// URL, a local file under the media directory, or - for HLS -
# a local copy that Pantau fetched itself (ingestion/hls_mirror.py).)
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


# --------------------------------------------------------------------------------------------
# errors
class SourceError(Exception):
    """A camera could not deliver a frame; ``str(exc)`` is a readable reason."""

    kind = "error"


class ConnectError(SourceError):
    kind = "connect"


class StreamTimeout(SourceError):
    kind = "timeout"


class CorruptFrame(SourceError):
    kind = "corrupt"


class EndOfStream(SourceError):
    kind = "eof"


class UrlNotAllowed(SourceError):
    """The camera URL (or where it redirects / what its playlist points to) breaks a rule of
    :mod:`ingestion.url_policy`; nothing was fetched from it."""

    kind = "policy"


def check_url(url: str, protocol: str, policy: UrlPolicy | None = None) -> str:
    """``url`` checked against the camera URL rules (UrlNotAllowed if it breaks one)."""
    try:
        return (policy or default_policy()).check(url, protocol)
    except UrlRejected as exc:
        raise UrlNotAllowed(f"URL not allowed: {exc}") from exc


def check_follow(camera_url: str, target: str, protocol: str, what: str, policy: UrlPolicy) -> None:
    try:
        policy.check_follow(camera_url, target, protocol, what)
    except UrlRejected as exc:
        raise UrlNotAllowed(f"URL not allowed: {exc}") from exc


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    read_s: float = 10.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect_s, read=self.read_s, write=self.read_s, pool=5.0)


# --------------------------------------------------------------------------------------------
# decoding
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF marker, without decoding; None if not found."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in _SOF:
            h = (data[i + 5] << 8) | data[i + 6]
            w = (data[i + 7] << 8) | data[i + 8]
            return (w, h)
        if length < 2:
            return None
        i += 2 + length
    return None


def _jpeg_complete(data: bytes) -> bool:
    """A whole JPEG ends with the EOI marker (some cameras pad a few bytes after it)."""
    return data[-2:] == b"\xff\xd9" or b"\xff\xd9" in data[-32:]


def downscale(frame: np.ndarray, max_width: int | None) -> np.ndarray:
    if not max_width or frame.shape[1] <= max_width:
        return frame
    h, w = frame.shape[:2]
    return cv2.resize(
        frame, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA
    )


def decode_jpeg(data: bytes, max_width: int | None = None) -> np.ndarray:
    """Decode a JPEG (or PNG) to BGR at most ``max_width`` wide; CorruptFrame if it is not a whole
    image. Large JPEGs are decoded at a reduced scale by libjpeg directly."""
    if not data:
        raise CorruptFrame("empty image (0 bytes)")
    is_jpeg = data[:2] == b"\xff\xd8"
    if is_jpeg and not _jpeg_complete(data):
        raise CorruptFrame(f"truncated JPEG ({len(data)} bytes, no end marker)")
    flag = cv2.IMREAD_COLOR
    if is_jpeg and max_width:
        size = jpeg_size(data)
        if size is not None:
            w = size[0]
            for factor, reduced in (
                (8, cv2.IMREAD_REDUCED_COLOR_8),
                (4, cv2.IMREAD_REDUCED_COLOR_4),
                (2, cv2.IMREAD_REDUCED_COLOR_2),
            ):
                if w // factor >= max_width:
                    flag = reduced
                    break
    arr = np.frombuffer(data, dtype=np.uint8)
    frame = cv2.imdecode(arr, flag)
    if frame is None or frame.size == 0:
        head = data[:12].hex()
        raise CorruptFrame(f"not a decodable image ({len(data)} bytes, starts {head})")
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    return downscale(frame, max_width)


def decoded_size(width: int, height: int, max_width: int | None) -> tuple[int, int]:
    """(w, h) of the frame :func:`decode_jpeg` makes of a ``width`` x ``height`` JPEG."""
    if not max_width or width <= max_width:
        return width, height
    w, h = width, height
    for factor in (8, 4, 2):  # libjpeg's scaled decode rounds up
        if width // factor >= max_width:
            w, h = -(-width // factor), -(-height // factor)
            break
    if w <= max_width:
        return w, h
    return max_width, max(1, round(h * max_width / w))


_REDUCED_COLOR = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4))
_REDUCED_COLOR += ((2, cv2.IMREAD_REDUCED_COLOR_2),)


def decode_jpeg_scaled(
    data: bytes,
    max_width: int | None,
    need: Callable[[int, int], tuple[int, int]],
) -> np.ndarray | ScaledFrame:
    """Like :func:`decode_jpeg`, but when ``need(w, h)`` (the smallest copy of the decoded
    ``w`` x ``h`` frame the analysis works from) allows it, decode only a 1/2, 1/4 or 1/8
    scale copy (libjpeg's DCT scaling: ~1/3 of a full decode's CPU) and return a
    :class:`ScaledFrame` that decodes the full frame only if a stage needs it. Raises
    CorruptFrame like :func:`decode_jpeg` (a broken JPEG fails here, not later)."""
    if not data:
        raise CorruptFrame("empty image (0 bytes)")
    size = jpeg_size(data) if data[:2] == b"\xff\xd8" else None
    if size is None:
        return decode_jpeg(data, max_width)
    if not _jpeg_complete(data):
        raise CorruptFrame(f"truncated JPEG ({len(data)} bytes, no end marker)")
    jw, jh = size
    fw, fh = decoded_size(jw, jh, max_width)
    nw, nh = need(fw, fh)
    flag = None
    for factor, reduced in _REDUCED_COLOR:
        sw, sh = -(-jw // factor), -(-jh // factor)  # libjpeg rounds up
        if nw <= sw <= fw and nh <= sh <= fh:
            flag = reduced
            break
    if flag is None:
        return decode_jpeg(data, max_width)
    small = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if small is None or small.size == 0:
        raise CorruptFrame(f"not a decodable image ({len(data)} bytes, starts {data[:12].hex()})")
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    if small.shape[1] < nw or small.shape[0] < nh:
        return decode_jpeg(data, max_width)
    return ScaledFrame(small, (fw, fh), lambda: decode_jpeg(data, max_width))


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CorruptFrame("cannot encode frame as JPEG")
    return buf.tobytes()


# --------------------------------------------------------------------------------------------
# base class
class FrameSource(ABC):
    """One camera's frames. Not thread-safe for concurrent ``read`` calls from many threads."""

    protocol = "?"
    persistent = False

    def __init__(
        self,
        url: str,
        timeouts: Timeouts,
        max_width: int | None,
        policy: UrlPolicy | None = None,
    ) -> None:
        self.policy = policy or default_policy()
        self.checked_url = check_url(url, self.protocol, self.policy)  # before any I/O
        self.url = url
        self.timeouts = timeouts
        self.max_width = max_width
        self.frames_read = 0
        self.bytes_read = 0
        self.last_frame_at: float | None = None  # time.time() of the newest frame delivered
        self.closed = False

    @abstractmethod
    def read(self) -> np.ndarray:
        """The newest frame (BGR uint8, at most max_width wide). Raises SourceError."""

    def read_jpeg(self) -> bytes:
        """The newest frame as JPEG bytes (for relays; MJPEG/snapshot avoid re-encoding)."""
        return encode_jpeg(self.read())

    def read_burst(self, n: int, interval_s: float) -> list[np.ndarray]:
        """``n`` frames about ``interval_s`` apart (for line-crossing counts over a burst)."""
        frames = [self.read()]
        while len(frames) < n:
            time.sleep(interval_s)
            frames.append(self.read())
        return frames

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {redact(self.url)}>"


def redact(url: str) -> str:
    """The URL without credentials, for logs and status reasons."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def _get_checked(
    client: httpx.Client, url: str, protocol: str, policy: UrlPolicy
) -> httpx.Response:
    """GET ``url`` as a streaming response (the caller closes it), following redirects only
    where the camera URL rules allow (each hop checked before it is requested)."""
    request = client.build_request("GET", url)
    for _ in range(MAX_REDIRECTS + 1):
        resp = client.send(request, stream=True, follow_redirects=False)
        nxt = resp.next_request
        if nxt is None:
            return resp
        resp.close()
        check_follow(url, str(nxt.url), protocol, "redirect", policy)
        request = nxt
    raise ConnectError(f"more than {MAX_REDIRECTS} redirects")


def _hls_error(exc: BaseException, url: str) -> SourceError:
    """An HLS mirror failure as the SourceError a camera's health understands."""
    from ingestion.hls_mirror import HlsBadPlaylist, HlsError, HlsRuleBroken

    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, HlsRuleBroken):
        return UrlNotAllowed(str(exc))
    if isinstance(exc, HlsBadPlaylist):
        return CorruptFrame(str(exc))
    if isinstance(exc, HlsError):
        return ConnectError(str(exc))
    if isinstance(exc, Exception):
        return _http_error(exc, url)
    raise exc  # KeyboardInterrupt and the like


def _http_error(exc: Exception, url: str) -> SourceError:
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, httpx.ConnectTimeout):
        return StreamTimeout(f"connect timeout ({redact(url)})")
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return StreamTimeout("read timeout: camera stopped sending")
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(f"connection refused or unreachable ({exc})")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ConnectError(f"connection dropped by camera ({type(exc).__name__})")
    if isinstance(exc, httpx.HTTPStatusError):
        return ConnectError(f"HTTP {exc.response.status_code} from camera")
    if isinstance(exc, httpx.HTTPError):
        return ConnectError(f"HTTP error: {type(exc).__name__}: {exc}")
    return SourceError(f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# HTTP JPEG snapshot: one GET per sample
class SnapshotSource(FrameSource):
    """One GET per read on a pooled urllib3 client (:mod:`ingestion.snapshot_http`): a worker
    passes its process's ``client`` (a :class:`~ingestion.snapshot_http.SnapshotHttp`);
    without one the source keeps its own."""

    protocol = "snapshot"

    def __init__(
        self,
        url: str,
        timeouts: Timeouts,
        max_width: int | None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        client: SnapshotHttp | None = None,
        policy: UrlPolicy | None = None,
    ) -> None:
        from ingestion.snapshot_http import SnapshotHttp

        super().__init__(url, timeouts, max_width, policy)
        self.max_frame_bytes = max_frame_bytes
        self._own_client = client is None
        self._client = client or SnapshotHttp(
            timeouts.connect_s, timeouts.read_s, max_connections=2, user_agent=USER_AGENT
        )

    def fetch(self) -> bytes:
        """The snapshot's bytes, within the read deadline, at most max_frame_bytes."""
        deadline = time.monotonic() + self.timeouts.connect_s + self.timeouts.read_s
        data = self._client.get(
            self.url,
            self.protocol,
            self.policy,
            max_bytes=self.max_frame_bytes,
            deadline=deadline,
            max_redirects=MAX_REDIRECTS,
        )
        self.bytes_read += len(data)
        return data

    def read_jpeg(self) -> bytes:
        data = self.fetch()
        if not _jpeg_complete(data) and data[:2] == b"\xff\xd8":
            raise CorruptFrame(f"truncated JPEG ({len(data)} bytes, no end marker)")
        self.frames_read += 1
        self.last_frame_at = time.time()
        return data

    def read(self) -> np.ndarray:
        frame = decode_jpeg(self.fetch(), self.max_width)
        self.frames_read += 1
        self.last_frame_at = time.time()
        return frame

    def close(self) -> None:
        super().close()
        if self._own_client:
            self._client.close()


# --------------------------------------------------------------------------------------------
# HTTP MJPEG (multipart/x-mixed-replace)
class MultipartParser:
    """Incremental multipart/x-mixed-replace parser yielding JPEG payloads.

    Uses each part's Content-Length when given, else the next boundary; tolerant of cameras that
    omit the leading ``--`` or the CRLF before a boundary. Raises CorruptFrame when a part grows
    beyond ``max_frame_bytes`` (a camera sending garbage without boundaries).
    """

    def __init__(self, boundary: str | None, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES):
        b = (boundary or "").strip().strip('"')
        if b.startswith("--"):
            b = b[2:]
        self.boundary = ("--" + b).encode() if b else None
        self.max_frame_bytes = max_frame_bytes
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out: list[bytes] = []
        while True:
            part = self._next()
            if part is None:
                break
            out.append(part)
        if len(self.buf) > self.max_frame_bytes + 4096:
            self.buf.clear()
            raise CorruptFrame(f"MJPEG part larger than {self.max_frame_bytes} bytes (no boundary)")
        return out

    def _next(self) -> bytes | None:
        buf = self.buf
        if self.boundary is None:  # no boundary announced: cut on JPEG markers
            start = buf.find(b"\xff\xd8")
            if start < 0:
                if len(buf) > 2:
                    del buf[:-2]
                return None
            end = buf.find(b"\xff\xd9", start + 2)
            if end < 0:
                return None
            part = bytes(buf[start : end + 2])
            del buf[: end + 2]
            return part
        b = self.boundary
        start = buf.find(b)
        if start < 0:
            if len(buf) > len(b):
                del buf[: -len(b)]
            return None
        head_end = buf.find(b"\r\n\r\n", start)
        if head_end < 0:
            if len(buf) - start > 8192:  # headers never end: skip this boundary
                del buf[: start + len(b)]
            return None
        headers = bytes(buf[start + len(b) : head_end]).decode("latin-1", "replace")
        body_start = head_end + 4
        m = re.search(r"content-length\s*:\s*(\d+)", headers, re.I)
        if m:
            length = int(m.group(1))
            if length > self.max_frame_bytes:
                del buf[:body_start]
                raise CorruptFrame(f"MJPEG frame too large ({length} bytes)")
            if len(buf) < body_start + length:
                return None
            part = bytes(buf[body_start : body_start + length])
            del buf[: body_start + length]
            return part
        nxt = buf.find(b, body_start)
        if nxt < 0:
            return None
        part = bytes(buf[body_start:nxt]).rstrip(b"\r\n")
        del buf[:nxt]
        return part


def _boundary_of(content_type: str) -> str | None:
    m = re.search(r"boundary=([^;]+)", content_type, re.I)
    return m.group(1).strip() if m else None


class MjpegSource(FrameSource):
    """HTTP MJPEG. Persistent: a reader thread keeps the latest JPEG; per-sample: first frame."""

    protocol = "mjpeg"

    def __init__(
        self,
        url: str,
        timeouts: Timeouts,
        max_width: int | None,
        persistent: bool = False,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        policy: UrlPolicy | None = None,
    ) -> None:
        super().__init__(url, timeouts, max_width, policy)
        self.persistent = persistent
        self.max_frame_bytes = max_frame_bytes
        self._client = httpx.Client(timeout=timeouts.httpx(), headers={"User-Agent": USER_AGENT})
        self._lock = threading.Condition()
        self._latest: bytes | None = None
        self._latest_at = 0.0  # monotonic
        self._seq = 0
        self._error: SourceError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._returned_seq = -1
        if persistent:
            self._thread = threading.Thread(
                target=self._run, name=f"mjpeg-{redact(url)[-40:]}", daemon=True
            )
            self._thread.start()

    def _frames(self, stop: threading.Event, deadline: float | None = None):
        """Yield JPEG payloads from one connection until stop/error."""
        with contextlib.closing(
            _get_checked(self._client, self.url, self.protocol, self.policy)
        ) as resp:
            resp.raise_for_status()
            ctype = resp.headers.get("content-type", "")
            if "image/jpeg" in ctype.lower() and "multipart" not in ctype.lower():
                # a snapshot endpoint configured as MJPEG: one frame per connection
                data = resp.read()
                self.bytes_read += len(data)
                yield data
                return
            parser = MultipartParser(_boundary_of(ctype), self.max_frame_bytes)
            for chunk in resp.iter_raw():
                self.bytes_read += len(chunk)
                yield from parser.feed(chunk)
                if stop.is_set():
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise StreamTimeout(
                        f"camera too slow: no whole frame within {self.timeouts.read_s:.0f}s"
                    )

    def _run(self) -> None:
        try:
            for part in self._frames(self._stop):
                with self._lock:
                    self._latest = part
                    self._latest_at = time.monotonic()
                    self._seq += 1
                    self._lock.notify_all()
                if self._stop.is_set():
                    return
            raise EndOfStream("camera closed the MJPEG stream")
        except Exception as exc:
            if self._stop.is_set():
                return
            err = _http_error(exc, self.url)
            logger.debug("mjpeg reader %s stopped: %s", redact(self.url), err)
            with self._lock:
                self._error = err
                self._lock.notify_all()

    def _latest_jpeg(self) -> bytes:
        if not self.persistent:
            deadline = time.monotonic() + self.timeouts.connect_s + self.timeouts.read_s
            try:
                for part in self._frames(threading.Event(), deadline):
                    return part
            except Exception as exc:
                raise _http_error(exc, self.url) from exc
            raise EndOfStream("MJPEG stream ended before the first frame")
        wait_until = time.monotonic() + (
            self.timeouts.connect_s + self.timeouts.read_s
            if self._latest is None
            else self.timeouts.read_s
        )
        with self._lock:
            while True:
                if self._error is not None:
                    raise self._error
                fresh = self._latest is not None and (
                    time.monotonic() - self._latest_at < self.timeouts.read_s
                )
                if fresh and self._seq != self._returned_seq:
                    break
                if fresh and self._returned_seq == self._seq:
                    # same frame as last time: wait briefly for a newer one, else reuse it
                    if not self._lock.wait(
                        timeout=min(1.0, max(0.0, wait_until - time.monotonic()))
                    ):
                        break
                    continue
                remaining = wait_until - time.monotonic()
                if remaining <= 0:
                    if self._latest is None:
                        raise StreamTimeout("no frame from MJPEG stream within the timeout")
                    stale = time.monotonic() - self._latest_at
                    raise StreamTimeout(f"stream stalled: last frame {stale:.0f}s ago")
                self._lock.wait(timeout=remaining)
            self._returned_seq = self._seq
            assert self._latest is not None
            return self._latest

    def read_burst(self, n: int, interval_s: float) -> list[np.ndarray]:
        if self.persistent or n <= 1:
            return super().read_burst(n, interval_s)
        # one connection: keep a frame every interval_s, skip those in between
        deadline = (
            time.monotonic() + self.timeouts.connect_s + self.timeouts.read_s + n * interval_s
        )
        frames: list[np.ndarray] = []
        next_at = 0.0
        try:
            for part in self._frames(threading.Event(), deadline):
                now = time.monotonic()
                if now < next_at:
                    continue
                frames.append(decode_jpeg(part, self.max_width))
                next_at = now + interval_s
                if len(frames) >= n:
                    break
        except Exception as exc:
            raise _http_error(exc, self.url) from exc
        if not frames:
            raise EndOfStream("MJPEG stream ended before the first frame")
        self.frames_read += len(frames)
        self.last_frame_at = time.time()
        return frames

    def read_jpeg(self) -> bytes:
        data = self._latest_jpeg()
        if data[:2] == b"\xff\xd8" and not _jpeg_complete(data):
            raise CorruptFrame(f"truncated JPEG ({len(data)} bytes, no end marker)")
        self.frames_read += 1
        self.last_frame_at = time.time()
        return data

    def read(self) -> np.ndarray:
        frame = decode_jpeg(self._latest_jpeg(), self.max_width)
        self.frames_read += 1
        self.last_frame_at = time.time()
        return frame

    def close(self) -> None:
        super().close()
        self._stop.set()
        # closing the client aborts a blocked read in the reader thread
        try:
            self._client.close()
        except Exception:  # pragma: no cover - best effort
            logger.debug("closing MJPEG client failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout=2.0)


# --------------------------------------------------------------------------------------------
# OpenCV FFmpeg backend: RTSP, HLS, video files
def open_capture(url: str, timeouts: Timeouts) -> cv2.VideoCapture:
    """A cv2.VideoCapture on the FFmpeg backend with open/read timeouts; ConnectError if it
    cannot open."""
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(timeouts.connect_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(timeouts.read_s * 1000),
    ]
    t0 = time.monotonic()
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        took = time.monotonic() - t0
        if took >= timeouts.connect_s * 0.9:
            raise StreamTimeout(f"stream did not open within {timeouts.connect_s:.0f}s")
        raise ConnectError(f"cannot open stream {redact(url)} (refused, not found or bad format)")
    return cap


class CaptureSource(FrameSource):
    """RTSP or HLS through OpenCV's FFmpeg backend.

    Persistent: a reader thread ``grab()``s continuously (keeps the decoder in sync, no colour
    conversion) and ``retrieve()``s only when a sample is wanted. Per-sample: open, read, close.
    """

    def __init__(
        self,
        url: str,
        protocol: str,
        timeouts: Timeouts,
        max_width: int | None,
        persistent: bool = False,
        policy: UrlPolicy | None = None,
    ) -> None:
        self.protocol = protocol
        super().__init__(url, timeouts, max_width, policy)
        self.persistent = persistent
        self._cap: cv2.VideoCapture | None = None
        self._cond = threading.Condition()
        self._want = False
        self._frame: np.ndarray | None = None
        self._error: SourceError | None = None
        self._last_grab = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mirror = None  # HLS: the local copy FFmpeg reads (ingestion.hls_mirror)
        if persistent:
            self._thread = threading.Thread(target=self._run, name=f"cap-{protocol}", daemon=True)
            self._thread.start()

    def _open(self, segments: int = 1) -> cv2.VideoCapture:
        """RTSP: FFmpeg opens the (checked) URL. HLS: an :class:`~ingestion.hls_mirror.HlsMirror`
        fetches the playlist and segments itself, every URL and redirect checked, and FFmpeg
        opens only the local copy (``segments`` newest ones for a per-sample read; a sliding
        window kept fresh by a thread for a persistent reader)."""
        if self.protocol != "hls":
            return open_capture(self.url, self.timeouts)
        from ingestion.hls_mirror import HlsMirror

        mirror = HlsMirror(self.url, self.policy, self.timeouts.httpx(), user_agent=USER_AGENT)
        try:
            if self.persistent:
                mirror.refresh()
            else:
                mirror.refresh(last=segments, final=True)
            cap = open_capture(str(mirror.playlist), self.timeouts)
        except BaseException as exc:
            mirror.close()
            raise _hls_error(exc, self.url) from exc
        self._mirror = mirror
        if self.persistent:
            mirror.start(self._mirror_failed)
        return cap

    def _mirror_failed(self, exc: Exception) -> None:
        with self._cond:
            self._error = _hls_error(exc, self.url)
            self._cond.notify_all()

    def _close_mirror(self) -> None:
        mirror, self._mirror = self._mirror, None
        if mirror is not None:
            mirror.close()

    def _run(self) -> None:
        try:
            cap = self._open()
            self._cap = cap
            while not self._stop.is_set():
                if not cap.grab():
                    mirror = self._mirror
                    if mirror is not None and mirror.error is not None:
                        raise _hls_error(mirror.error, self.url)
                    raise EndOfStream("stream ended or stopped sending (grab failed)")
                with self._cond:
                    self._last_grab = time.monotonic()
                    if self._want:
                        ok, frame = cap.retrieve()
                        if ok and frame is not None:
                            self._frame = frame
                            self._want = False
                            self._cond.notify_all()
        except Exception as exc:
            err = (
                exc if isinstance(exc, SourceError) else SourceError(f"{type(exc).__name__}: {exc}")
            )
            with self._cond:
                self._error = err
                self._cond.notify_all()
        finally:
            if self._cap is not None:
                self._cap.release()
            self._close_mirror()

    def read(self) -> np.ndarray:
        if not self.persistent:
            cap = self._open()
            try:
                ok, frame = cap.read()
            finally:
                cap.release()
                self._close_mirror()
            if not ok or frame is None:
                raise StreamTimeout("stream opened but delivered no frame")
            return self._deliver(frame)
        first = self._last_grab == 0.0
        deadline = (
            time.monotonic() + self.timeouts.read_s + (self.timeouts.connect_s if first else 0)
        )
        with self._cond:
            self._frame = None
            self._want = True
            while self._frame is None:
                if self._error is not None:
                    raise self._error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._want = False
                    if self._last_grab == 0.0:
                        raise StreamTimeout("no frame from stream within the timeout")
                    stale = time.monotonic() - self._last_grab
                    raise StreamTimeout(f"stream stalled: last frame {stale:.0f}s ago")
                self._cond.wait(timeout=remaining)
            frame = self._frame
        return self._deliver(frame)

    def read_burst(self, n: int, interval_s: float) -> list[np.ndarray]:
        if self.persistent or n <= 1:
            return super().read_burst(n, interval_s)
        cap = self._open(segments=2)  # a burst may run past one short HLS segment
        try:
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            skip = max(0, int(round((fps if 1 <= fps <= 120 else 25.0) * interval_s)) - 1)
            frames: list[np.ndarray] = []
            while len(frames) < n:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                frames.append(self._deliver(frame))
                for _ in range(skip if len(frames) < n else 0):
                    cap.grab()
        finally:
            cap.release()
            self._close_mirror()
        if not frames:
            raise StreamTimeout("stream opened but delivered no frame")
        return frames

    def _deliver(self, frame: np.ndarray) -> np.ndarray:
        self.frames_read += 1
        self.last_frame_at = time.time()
        return downscale(frame, self.max_width)

    def close(self) -> None:
        super().close()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeouts.read_s + 1.0)


class FileSource(FrameSource):
    """A local video file (or image) played as a camera.

    ``realtime=True`` (default): each read returns the frame at the wall-clock position since
    opening, looping at the end, like a live camera. ``realtime=False``: successive frames.
    """

    protocol = "file"

    def __init__(
        self,
        path: str,
        timeouts: Timeouts,
        max_width: int | None,
        realtime: bool = True,
        loop: bool = True,
        policy: UrlPolicy | None = None,
    ) -> None:
        super().__init__(path, timeouts, max_width, policy)
        self.path = self.checked_url  # absolute, symlinks resolved, under the media directory
        if not Path(self.path).is_file():
            raise ConnectError(f"video file not found: {self.path}")
        self.realtime, self.loop = realtime, loop
        self._image: np.ndarray | None = None
        if Path(self.path).suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp"}:
            self._image = decode_jpeg(Path(self.path).read_bytes(), max_width)
            return
        self._cap = open_capture(self.path, timeouts)
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 25.0
        if not 1.0 <= self.fps <= 240.0:
            self.fps = 25.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._pos = 0
        self._t0 = time.monotonic()

    def read(self) -> np.ndarray:
        if self._image is not None:
            self.frames_read += 1
            self.last_frame_at = time.time()
            return self._image.copy()
        if self.realtime and self.frame_count > 0:
            target = int((time.monotonic() - self._t0) * self.fps)
            target = target % self.frame_count if self.loop else min(target, self.frame_count - 1)
            if target < self._pos or target - self._pos > 2 * self.fps:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, target)
            else:
                while self._pos < target:
                    if not self._cap.grab():
                        break
                    self._pos += 1
            self._pos = target
        ok, frame = self._cap.read()
        if (not ok or frame is None) and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._pos = 0
            self._t0 = time.monotonic()
            ok, frame = self._cap.read()
        if not ok or frame is None:
            raise EndOfStream(f"end of video file {self.path}")
        self._pos += 1
        self.frames_read += 1
        self.last_frame_at = time.time()
        return downscale(frame, self.max_width)

    def close(self) -> None:
        super().close()
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()


# --------------------------------------------------------------------------------------------
def guess_protocol(url: str) -> str:
    """Protocol from a URL's shape (for the CLI and imports that leave it out)."""
    low = url.lower()
    if low.startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if ".m3u8" in low:
        return "hls"
    if low.startswith(("http://", "https://")):
        return "mjpeg" if "mjpeg" in low or "mjpg" in low or "video" in low else "snapshot"
    return "file"


def open_source(
    url: str,
    protocol: str | None = None,
    timeouts: Timeouts | None = None,
    *,
    max_width: int | None = 960,
    persistent: bool = False,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    realtime: bool = True,
    policy: UrlPolicy | None = None,
) -> FrameSource:
    """Open a camera. ``persistent`` keeps a reader thread on streaming protocols (MJPEG, RTSP,
    HLS); snapshot URLs are always fetched once per read. Raises SourceError (ConnectError for
    a missing file or bad protocol, UrlNotAllowed for a URL the camera URL rules refuse, with
    ``policy`` or the process settings' rules) — network connects happen lazily on the first
    read."""
    if not url:
        raise ConnectError("camera has no stream URL")
    protocol = (protocol or guess_protocol(url)).lower()
    timeouts = timeouts or Timeouts()
    if protocol == "snapshot":
        return SnapshotSource(url, timeouts, max_width, max_frame_bytes, policy=policy)
    if protocol == "mjpeg":
        return MjpegSource(url, timeouts, max_width, persistent, max_frame_bytes, policy=policy)
    if protocol in ("rtsp", "hls"):
        return CaptureSource(url, protocol, timeouts, max_width, persistent, policy=policy)
    if protocol == "file":
        return FileSource(url, timeouts, max_width, realtime=realtime, policy=policy)
    raise ConnectError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
