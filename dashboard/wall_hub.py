"""The video wall's pictures (``/dinding``): a staff frame hub and one multiplexed stream per wall.

**Staff hub.** :class:`StaffFrameHub` is the public :class:`~dashboard.streaming.FrameHub`
(one producer per watched camera, one decode, resize and JPEG encode per frame on the shared
worker pool, every viewer gets the same bytes, ``HubFull`` past its caps) for the *non-public*
cameras, which staff see unblurred: the privacy step is only the resize to
``wall_stream_width`` and the encode, and the file fallback is the camera's own latest snapshot
(``<code>.jpg``) instead of the blurred ``<code>.public.jpg``. A camera made public while shown
leaves this hub (its tile reconnects through the public hub, blurred). Public cameras are never
read here: their tiles subscribe to the public hub, blurred exactly as on ``/cctv``.

**One connection per wall.** Browsers open at most six HTTP/1.1 connections per host, so a 4x4
wall of sixteen ``<img>`` MJPEG streams would show six. :class:`WallStream` sends the pictures
of all the wall's tiles over one response instead, as parts of a ``multipart/mixed`` body::

    --pantauwall\\r\\n
    X-Camera: PLG-BKB-01\\r\\n
    X-State: live            (live | wait: none yet | none: none for 10 s | busy | gone)
    X-Taken: 1764450000.123  (when the picture was taken, epoch seconds; its age on screen)
    Content-Type: image/jpeg\\r\\n
    Content-Length: 23512\\r\\n\\r\\n
    <JPEG bytes>\\r\\n

``assets/pantau_dinding.js`` reads it with ``fetch`` and puts each picture in its tile. The
picture bytes are the hub's shared frame (no copy, no re-encode per viewer); each tile gets at
most ``fps`` new pictures per second (a tile slower than its camera skips pictures, nothing
queues). A part without a camera is a keep-alive, so a wall that went away is noticed by the
failed write within ``keepalive_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from dashboard.streaming import FrameHub, HubFull, PublicCamera, Subscription, encode_jpeg

logger = logging.getLogger(__name__)

WALL_BOUNDARY = "pantauwall"
#: seconds a tile waits before asking a full hub again
BUSY_RETRY_S = 10.0
#: seconds without any picture after which a tile says "no picture" instead of "waiting"
NO_PICTURE_S = 10.0


def _no_blur(frame: np.ndarray) -> tuple[np.ndarray, int, int]:  # never called: see below
    return frame, 0, 0


class StaffFrameHub(FrameHub):
    """The frame hub for non-public cameras on the staff video wall: no blur (staff see these
    cameras as they are; each view is audited by the route), the camera's own snapshot file as
    the fallback picture."""

    def __init__(self, *, still_private: Callable[[str], bool] | None = None, **kwargs) -> None:
        kwargs.setdefault("blur_threads", 1)
        if kwargs.get("opener") is None:
            kwargs["opener"] = _staff_opener(
                kwargs.get("connect_timeout_s", 5.0),
                kwargs.get("read_timeout_s", 10.0),
                kwargs.get("width", 800),
                kwargs.get("url_policy"),
            )
        super().__init__(blur=_no_blur, still_public=still_private, **kwargs)
        self._wanted: dict[object, list[float]] = {}  # channel -> its viewers' rates

    def subscribe(self, camera: PublicCamera, fps: float | None = None) -> _RatedSubscription:
        """A viewer of ``camera`` that wants at most ``fps`` pictures a second: the camera is
        read and encoded at the most any of its viewers wants (a camera on 4x4 walls only,
        at 2 frames/s, costs half of one enlarged at 4), never above the hub's ``fps``."""
        sub = super().subscribe(camera)
        rate = min(self.fps, fps) if fps and fps > 0 else self.fps
        with self._lock:
            self._wanted.setdefault(sub.channel, []).append(rate)
        return _RatedSubscription(self, sub, rate)

    def _unwant(self, channel, rate: float) -> None:  # noqa: ANN001
        with self._lock:
            rates = self._wanted.get(channel)
            if rates and rate in rates:
                rates.remove(rate)
            if not rates:
                self._wanted.pop(channel, None)

    def channel_period(self, channel) -> float:  # noqa: ANN001
        with self._lock:
            rates = self._wanted.get(channel)
            return 1.0 / (max(rates) if rates else self.fps)

    def public_file(self, code: str) -> Path:
        return self.snapshot_dir / f"{code}.jpg"

    def privacy_jpeg(self, frame: np.ndarray, blur=None) -> bytes | None:  # noqa: ANN001
        """Resize to the wall width and encode (no blur: staff only, audited)."""
        try:
            if frame.ndim != 3 or frame.shape[2] != 3:
                return None
            h, w = frame.shape[:2]
            if w > self.width:
                # area averaging where it matters (2x and more: no aliasing); bilinear for
                # small steps such as 768 -> 640, where it is ~5x cheaper and looks the same
                interpolation = cv2.INTER_AREA if w >= 2 * self.width else cv2.INTER_LINEAR
                frame = cv2.resize(
                    frame,
                    (self.width, max(1, round(h * self.width / w))),
                    interpolation=interpolation,
                )
            return encode_jpeg(frame)
        except Exception:
            logger.exception("wall frame encode failed")
            return None


class _RatedSubscription:
    """A staff hub subscription with the rate its viewer wants (released on close)."""

    def __init__(self, hub: StaffFrameHub, sub: Subscription, rate: float) -> None:
        self.hub, self.sub, self.rate = hub, sub, rate
        self.channel = sub.channel
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.hub._unwant(self.channel, self.rate)
        self.sub.close()


def _staff_opener(
    connect_s: float, read_s: float, width: int, url_policy: object = None
) -> Callable[[PublicCamera], object]:
    """Cameras for the staff hub: JPEG cameras (MJPEG, snapshot) decoded at a reduced scale
    near the wall width (libjpeg does it cheaply); video streams full size, resized once by
    :meth:`StaffFrameHub.privacy_jpeg` (the readers' own downscale averages areas, ~4 ms a
    768 px frame)."""

    def opener(camera: PublicCamera) -> object:
        from ingestion.sources import Timeouts, open_source

        jpeg = (camera.protocol or "") in ("mjpeg", "snapshot")
        return open_source(  # the camera URL rules apply here too (UrlNotAllowed)
            camera.stream_url or "",
            camera.protocol,
            Timeouts(connect_s=connect_s, read_s=read_s),
            max_width=width if jpeg else None,
            persistent=True,
            policy=url_policy,  # type: ignore[arg-type]
        )

    return opener


@dataclass(frozen=True)
class Tile:
    """One tile of a wall: the camera and the hub that serves it (public or staff)."""

    camera: PublicCamera
    hub: FrameHub


def wall_part(code: str, state: str, taken_at: float = 0.0, jpeg: bytes = b"") -> bytes:
    """One part of the wall stream (see the module docstring)."""
    head = (
        f"--{WALL_BOUNDARY}\r\nX-Camera: {code}\r\nX-State: {state}\r\n"
        f"X-Taken: {taken_at:.3f}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(jpeg)}\r\n\r\n"
    ).encode()
    return head + jpeg + b"\r\n"


class WallStream:
    """The body of one wall's response: iterate it; the WSGI server calls :meth:`close` (also
    when the client left early), which releases every tile's viewer slot."""

    def __init__(
        self,
        tiles: list[Tile],
        *,
        fps: float,
        max_seconds: float,
        keepalive_s: float = 5.0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.tiles, self.fps, self.max_seconds = tiles, fps, max_seconds
        self.keepalive_s = keepalive_s
        self._on_close = on_close
        self._subs: dict[str, Subscription | _RatedSubscription | None] = {}
        self._closed = False
        self._lock = threading.Lock()
        self.parts_sent = 0

    def __iter__(self) -> Iterator[bytes]:
        return self._run()

    def _subscribe(self, tile: Tile, now: float, retry_at: dict[str, float]) -> str | None:
        """Subscribe ``tile`` if it has no slot yet; the state to report when it has none."""
        code = tile.camera.code
        if self._subs.get(code) is not None:
            return None
        if now < retry_at.get(code, 0.0):
            return "busy"
        try:
            if isinstance(tile.hub, StaffFrameHub):
                sub = tile.hub.subscribe(tile.camera, self.fps)
            else:
                sub = tile.hub.subscribe(tile.camera)
        except HubFull as full:
            retry_at[code] = now + min(BUSY_RETRY_S, float(full.retry_after))
            return "busy"
        with self._lock:
            if self._closed:
                sub.close()
                return "gone"
            self._subs[code] = sub
        return None

    def _run(self) -> Iterator[bytes]:
        period = 1.0 / max(0.1, self.fps)
        deadline = time.monotonic() + self.max_seconds
        last_seq: dict[str, int] = {}
        reported: dict[str, str] = {}  # last state sent without a picture
        retry_at: dict[str, float] = {}
        last_sent = opened = time.monotonic()
        while time.monotonic() < deadline and not self._closed:
            started = time.monotonic()
            out: list[bytes] = []
            for tile in self.tiles:
                code = tile.camera.code
                state = self._subscribe(tile, started, retry_at)
                sub = self._subs.get(code)
                if sub is not None:
                    ch = sub.channel
                    seq, frame, taken = ch.latest()
                    if ch.revoked:
                        state = "gone"
                    elif frame is not None:
                        if seq != last_seq.get(code):
                            last_seq[code] = seq
                            out.append(wall_part(code, "live", taken, frame))
                            reported.pop(code, None)
                        continue
                    else:
                        state = "wait" if started - opened < NO_PICTURE_S else "none"
                if state and reported.get(code) != state:
                    reported[code] = state
                    out.append(wall_part(code, state))
            if not out and started - last_sent >= self.keepalive_s:
                out.append(wall_part("", "keepalive"))
            if out:
                last_sent = started
                self.parts_sent += len(out)
                yield b"".join(out)
            time.sleep(max(0.0, period - (time.monotonic() - started)))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subs = [s for s in self._subs.values() if s is not None]
            self._subs.clear()
        for sub in subs:
            sub.close()
        if self._on_close is not None:
            self._on_close()


class WallSlots:
    """How many walls stream at once (each holds a web server thread)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.used = max(0, self.used - 1)
