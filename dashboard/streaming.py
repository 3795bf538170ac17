"""FrameHub: one privacy-filtered, JPEG-encoded picture per public camera, shared by all viewers.

Many people watching one public camera must not mean many decoders, many blur passes or many
encodes. The hub keeps one *channel* per camera that somebody watches:

* one producer thread per watched camera reads frames (the camera itself through
  ``ingestion.sources.open_source`` when it has a stream URL, else the latest
  ``<code>.public.jpg`` that ingestion writes); the CPU work - downsizing to the public width,
  blurring faces and licence plates with the channel's own ``analytics.privacy_stream.StreamBlur``
  (strict full search on the first frame and every ``full_search_s``, moving areas in between,
  everything found kept blurred) and encoding the JPEG **once** - runs on a small pool of
  ``blur_threads`` workers (one per core by default) shared by all channels and by snapshots;
* viewers wait on the channel's ``Condition`` for the next frame and write the same bytes
  (the picture with the next part's header, built once per frame, not once per viewer);
* at most ``max_viewers`` per camera and ``max_total`` in all (each stream holds a web server
  thread), then :class:`HubFull` (the route answers 503 + Retry-After);
* the producer stops a few seconds after the last viewer leaves.

Why a pool and not the producer threads: the Haar cascades behind the blur are per thread
(a CascadeClassifier is not thread-safe) and each keeps ~60 MB of buffers for a 768x576
frame, so 14 producers blurring themselves held ~900 MB (measured: RSS 172 MB -> 1.6 GB with
100 viewers on 14 cameras); with the pool it is ~60 MB per core, and 14 cameras share the
cores fairly (first come, first served) instead of 14 threads thrashing two cores. A viewer
whose connection is slow gets the newest frame when it can take one (frames in between are
skipped for it, never buffered without bound: see :func:`waitress_options`).

Fail closed: a frame whose blur fails (the blur reports -1 or raises) is dropped and counted,
never served; viewers keep the previous picture or the "no picture" placeholder. Snapshots
(``snapshot``: the public file, blurred once per change) keep the strict full search.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

BOUNDARY = "pantauframe"
JPEG_QUALITY = 75

BlurFn = Callable[[np.ndarray], tuple[np.ndarray, int, int]]


@dataclass(frozen=True)
class PublicCamera:
    """What the public may know about a camera (and what the hub needs to read it)."""

    code: str
    name: str
    kecamatan: str | None
    address: str | None
    lat: float
    lon: float
    stream_url: str | None = field(default=None, repr=False)
    protocol: str | None = None


class HubFull(Exception):
    """Too many viewers (of this camera, or in all)."""

    def __init__(self, scope: str, retry_after: int = 30) -> None:
        super().__init__(f"too many viewers ({scope})")
        self.scope, self.retry_after = scope, retry_after


def encode_jpeg(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def placeholder_jpeg(text: str = "Gambar belum tersedia", width: int = 640) -> bytes:
    """A neutral 'no picture yet' frame (contains no camera pixels)."""
    height = width * 9 // 16
    img = np.full((height, width, 3), (51, 41, 30), np.uint8)
    scale = width / 900
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.putText(
        img,
        text,
        ((width - tw) // 2, (height + th) // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (200, 200, 200),
        2,
        cv2.LINE_AA,
    )
    return encode_jpeg(img, 70)


_PART_HEAD = f"\r\n--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode()
MJPEG_START = _PART_HEAD[2:]


def mjpeg_part(jpeg: bytes) -> bytes:
    """One picture followed at once by the next part's boundary and headers: browsers show a
    part only when the next one has begun, so the picture is on screen as soon as it arrives
    rather than one frame (or one keep-alive) later."""
    return jpeg + _PART_HEAD


#: A stream viewer's unsent data the web server holds at most before the viewer's thread waits
#: (and then gets the newest frame, skipping those in between): ~8 pictures, not waitress's
#: default 16 MB per connection (100 slow viewers could hold 1.6 GB).
STREAM_OUTBUF_BYTES = 512 * 1024


def waitress_options(threads: int, streams: int) -> dict[str, object]:
    """waitress settings for the dashboard with up to ``streams`` public live streams: each
    stream holds a thread, so ``threads`` more for everything else (a full public page never
    starves the staff), and a small output buffer per connection."""
    return {
        "threads": threads + streams,
        "connection_limit": 100 + streams,
        "outbuf_high_watermark": STREAM_OUTBUF_BYTES,
        "outbuf_overflow": STREAM_OUTBUF_BYTES,  # beyond this a response spills to a temp file
    }


class _Channel:
    """One watched camera: its producer thread and the latest public frame."""

    def __init__(self, hub: FrameHub, camera: PublicCamera) -> None:
        self.hub, self.camera = hub, camera
        self.cond = threading.Condition()
        self.frame: bytes | None = None
        self.part: bytes | None = None  # mjpeg_part(frame), built once for every viewer
        self.seq = 0
        self.frame_at = 0.0
        self.taken_at = 0.0  # when the picture was taken (epoch s): the file's mtime or read
        self.viewers = 0
        self.idle_since = time.monotonic()
        self.running = False
        self.thread: threading.Thread | None = None
        self.frames_produced = 0
        self.blur_failures = 0
        self.revoked = False  # the camera stopped being public: streams end, nothing more
        self._file_mtime: float | None = None
        self.blur = hub.stream_blur()  # stateful (remembers faces): this producer's only

    # producer -----------------------------------------------------------------------------
    def start(self) -> None:
        self.running = True
        self.thread = threading.Thread(
            target=self._run, name=f"framehub-{self.camera.code}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        hub = self.hub
        source = None
        retry_at = 0.0
        backoff = 2.0
        checked_at = time.monotonic()
        try:
            first = hub.snapshot(self.camera)  # the latest public picture at once, if any
            if first is not None:
                cached = hub._snap_cache.get(self.camera.code)
                self._file_mtime = cached[0] if cached else None  # no second blur of it
                self.publish(first, self._file_mtime)
            while not hub._stopped.is_set():
                with hub._lock:
                    if self.viewers == 0 and time.monotonic() - self.idle_since > hub.idle_grace_s:
                        self.running = False
                        hub._channels.pop(self.camera.code, None)
                        break
                started = time.monotonic()
                if hub.still_public and started - checked_at >= hub.recheck_s:
                    checked_at = started
                    if not hub.still_public(self.camera.code):
                        logger.info("camera %s is no longer public: streams end", self.camera.code)
                        with hub._lock:
                            hub._channels.pop(self.camera.code, None)
                        with self.cond:
                            self.revoked, self.frame, self.part = True, None, None
                            self.running = False
                            self.cond.notify_all()
                        break
                frame, taken = None, None
                if hub.live and self.camera.stream_url and hub.opener and started >= retry_at:
                    try:
                        if source is None:
                            source = hub.opener(self.camera)
                        frame, taken = source.read(), time.time()
                        backoff = 2.0
                    except Exception as exc:
                        logger.info("public stream %s: %s", self.camera.code, exc)
                        if source is not None:
                            _close(source)
                        source = None
                        retry_at = time.monotonic() + backoff
                        backoff = min(backoff * 2, 60.0)
                if frame is None:
                    frame, taken = self._read_public_file(), self._file_mtime
                if frame is not None:
                    jpeg = hub.run_privacy(frame, self.blur)  # on the shared blur pool
                    if jpeg is None:
                        self.blur_failures += 1
                    else:
                        self.publish(jpeg, taken)
                period = hub.channel_period(self)  # its viewers may want fewer frames
                hub._stopped.wait(max(0.0, period - (time.monotonic() - started)))
        finally:
            if source is not None:
                _close(source)
            with self.cond:
                self.running = False
                self.cond.notify_all()

    def _read_public_file(self) -> np.ndarray | None:
        path = self.hub.public_file(self.camera.code)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        if mtime == self._file_mtime:
            return None
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is not None:
            self._file_mtime = mtime
        return frame

    def publish(self, jpeg: bytes, taken_at: float | None = None) -> None:
        part = mjpeg_part(jpeg)
        with self.cond:
            self.frame, self.part = jpeg, part
            self.seq += 1
            self.frame_at = time.monotonic()
            self.taken_at = taken_at or time.time()
            self.frames_produced += 1
            self.cond.notify_all()

    # viewers -------------------------------------------------------------------------------
    def next_frame(self, after_seq: int, timeout: float) -> tuple[int, bytes | None]:
        """The frame after ``after_seq``; on timeout the current one (keep-alive)."""
        with self.cond:
            if self.seq == after_seq and self.running:
                self.cond.wait(timeout)
            return self.seq, self.frame

    def latest(self) -> tuple[int, bytes | None, float]:
        """(sequence, current picture or None, when it was taken): never waits."""
        with self.cond:
            return self.seq, self.frame, self.taken_at

    def next_part(self, after_seq: int, timeout: float) -> tuple[int, bytes | None]:
        """Like :meth:`next_frame`, as the ready-made MJPEG part (shared bytes)."""
        with self.cond:
            if self.seq == after_seq and self.running:
                self.cond.wait(timeout)
            return self.seq, self.part


def _close(source: object) -> None:
    try:
        source.close()  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - closing a broken camera
        logger.debug("closing source failed", exc_info=True)


def _default_opener(
    connect_s: float, read_s: float, width: int, url_policy: object = None
) -> Callable[[PublicCamera], object]:
    def opener(camera: PublicCamera) -> object:
        from ingestion.sources import Timeouts, open_source

        return open_source(  # the camera URL rules apply here too (UrlNotAllowed)
            camera.stream_url or "",
            camera.protocol,
            Timeouts(connect_s=connect_s, read_s=read_s),
            max_width=width,
            persistent=True,
            policy=url_policy,  # type: ignore[arg-type]
        )

    return opener


#: How much nicer than the process the blur threads run: with the CPU contended, staff pages,
#: API answers and camera ingestion go first and public viewers get fewer frames per second
#: (never a slower page). Relative, so a server started with ``nice`` (or systemd ``Nice=``)
#: still gives its pages priority over the blur.
BLUR_NICENESS = 5


def _lower_priority() -> None:
    """Runs in each new blur thread: lower that thread's CPU priority (Linux: per thread)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BLUR_NICENESS)
        )
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        logger.debug("could not lower the blur thread's priority", exc_info=True)


class Subscription:
    """One viewer of one channel; iterate :meth:`parts` and always :meth:`close`."""

    def __init__(self, hub: FrameHub, channel: _Channel) -> None:
        self.hub, self.channel = hub, channel
        self._closed = False

    def parts(self, max_seconds: float) -> Iterator[bytes]:
        """MJPEG parts: each new frame once; the current frame (or the placeholder) again after
        ``keepalive_s`` without news, so a viewer who left is noticed by the failed write."""
        deadline = time.monotonic() + max_seconds
        yield MJPEG_START
        self.channel.next_frame(0, min(1.5, max_seconds / 2))  # a moment for the first picture
        seq = -1
        while time.monotonic() < deadline and not self.hub._stopped.is_set():
            # the newest frame: a viewer slower than the camera skips frames, nothing queues up
            new_seq, part = self.channel.next_part(seq, self.hub.keepalive_s)
            if self.channel.revoked or (part is None and not self.channel.running):
                return
            if part is not None and new_seq != seq:
                self.hub.count_served()
            seq = new_seq
            yield part if part is not None else self.hub.placeholder_part

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.hub._release(self.channel)


class FrameHub:
    def __init__(
        self,
        *,
        snapshot_dir: Path,
        fps: float = 4.0,
        width: int = 800,
        max_viewers: int = 50,
        max_total: int = 100,
        blur: BlurFn | None = None,
        opener: Callable[[PublicCamera], object] | None = None,
        live: bool = True,
        idle_grace_s: float = 3.0,
        keepalive_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        face_model_path: Path | None = None,
        still_public: Callable[[str], bool] | None = None,
        recheck_s: float = 10.0,
        full_search_s: float = 30.0,
        url_policy: object = None,
        blur_threads: int = 0,
    ) -> None:
        self.snapshot_dir = Path(snapshot_dir)
        self.fps, self.width = fps, width
        self.max_viewers, self.max_total = max_viewers, max_total
        self.live = live
        #: asked every ``recheck_s`` by each producer: a camera made non-public mid-stream
        #: loses its viewers within seconds, not when their streams time out
        self.still_public, self.recheck_s = still_public, recheck_s
        self.idle_grace_s, self.keepalive_s = idle_grace_s, keepalive_s
        #: ``blur`` given: used for every frame (stateless); else the strict full search for
        #: snapshots and one :class:`analytics.privacy_stream.StreamBlur` per live channel
        self._custom_blur = blur is not None
        self.blur = blur or _default_blur(face_model_path)
        self.face_model_path, self.full_search_s = face_model_path, full_search_s
        #: ``url_policy``: the camera URL rules (ingestion.url_policy.UrlPolicy) for the default
        #: opener; None: the process settings' rules
        self.opener = opener or _default_opener(
            connect_timeout_s, read_timeout_s, width, url_policy
        )
        self.placeholder = placeholder_jpeg(width=min(width, 640))
        self.placeholder_part = mjpeg_part(self.placeholder)
        #: the privacy work (resize, blur, encode) of every channel and snapshot: one thread
        #: per core by default (each keeps its own cascades, ~60 MB)
        self.blur_threads = blur_threads or os.cpu_count() or 2
        self._pool = ThreadPoolExecutor(
            self.blur_threads, thread_name_prefix="framehub-blur", initializer=_lower_priority
        )
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        self._stopped = threading.Event()
        self._served = 0
        self._snap_cache: dict[str, tuple[float, bytes]] = {}
        self._snap_jobs: dict[str, Future] = {}

    # paths and privacy ------------------------------------------------------------------------
    def public_file(self, code: str) -> Path:
        """The blurred snapshot ingestion writes for a public camera (never the raw one)."""
        return self.snapshot_dir / f"{code}.public.jpg"

    def stream_blur(self) -> BlurFn:
        """The blur for one live channel: the hub's own ``blur`` when one was given, else a
        fresh :class:`~analytics.privacy_stream.StreamBlur` (full search every ``full_search_s``)."""
        if self._custom_blur:
            return self.blur
        from analytics.privacy_stream import StreamBlur

        return StreamBlur(
            self.face_model_path,
            refresh_frames=max(1, round(self.full_search_s * self.fps)),
        )

    def privacy_jpeg(self, frame: np.ndarray, blur: BlurFn | None = None) -> bytes | None:
        """Downsize, blur faces and plates (with ``blur``, else the strict full search),
        encode; None when the blur failed (fail closed)."""
        try:
            if frame.ndim != 3 or frame.shape[2] != 3:
                return None
            h, w = frame.shape[:2]
            if w > self.width:
                frame = cv2.resize(
                    frame,
                    (self.width, max(1, round(h * self.width / w))),
                    interpolation=cv2.INTER_AREA,
                )
            out, faces, plates = (blur or self.blur)(frame)
            if faces < 0 or plates < 0 or out is frame:
                logger.warning("privacy blur failed: frame withheld")
                return None
            return encode_jpeg(out)
        except Exception:
            logger.exception("privacy filter raised: frame withheld")
            return None

    def run_privacy(self, frame: np.ndarray, blur: BlurFn | None = None) -> bytes | None:
        """:meth:`privacy_jpeg` on the hub's blur pool (waits for it); None when the blur
        failed or the hub is closing (fail closed)."""
        try:
            return self._pool.submit(self.privacy_jpeg, frame, blur).result()
        except (RuntimeError, CancelledError):  # the pool is shut down: the hub is closing
            return None

    def channel_period(self, channel: _Channel) -> float:
        """Seconds between two reads of a channel's camera: 1 / ``fps`` (a subclass may read
        a camera less often when none of its viewers wants more)."""
        return 1.0 / self.fps

    # viewers -----------------------------------------------------------------------------------
    def subscribe(self, camera: PublicCamera) -> Subscription:
        with self._lock:
            total = sum(ch.viewers for ch in self._channels.values())
            if total >= self.max_total:
                raise HubFull("total")
            channel = self._channels.get(camera.code)
            if channel is not None and channel.viewers >= self.max_viewers:
                raise HubFull("camera")
            if channel is None or not channel.running:
                channel = _Channel(self, camera)
                self._channels[camera.code] = channel
                channel.start()
            channel.viewers += 1
        return Subscription(self, channel)

    def _release(self, channel: _Channel) -> None:
        with self._lock:
            channel.viewers = max(0, channel.viewers - 1)
            if channel.viewers == 0:
                channel.idle_since = time.monotonic()

    def count_served(self) -> None:
        self._served += 1  # a statistic: races lose a count at worst

    # snapshots ---------------------------------------------------------------------------------
    def snapshot(self, camera: PublicCamera) -> bytes | None:
        """The latest public picture: a running channel's frame, else the public snapshot file
        blurred once per change (shared by all requests). None when there is none.

        A picture already blurred is served at once when the file has changed since: the new
        one is blurred in the background (stale by one ingestion period at most), so a page of
        thumbnails never waits for a dozen strict searches (~1.3 s CPU each)."""
        with self._lock:
            channel = self._channels.get(camera.code)
        if channel is not None and channel.frame is not None:
            return channel.frame
        path = self.public_file(camera.code)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._snap_cache.get(camera.code)
        if cached and cached[0] == mtime:
            return cached[1]
        job = self._blur_later(camera.code, path, mtime)
        if cached:
            return cached[1]
        if job is None:  # the hub is closing
            return None
        try:
            job.result()
        except CancelledError:
            return None
        cached = self._snap_cache.get(camera.code)
        return cached[1] if cached else None

    def _blur_later(self, code: str, path: Path, mtime: float) -> Future | None:
        """Blur ``path`` into the snapshot cache on the pool: one job per camera at a time
        (a request for a camera being blurred waits for that job, holding no lock)."""
        with self._lock:
            job = self._snap_jobs.get(code)
            if job is not None and not job.done():
                return job

            def work() -> None:
                try:
                    cached = self._snap_cache.get(code)
                    if cached and cached[0] >= mtime:
                        return
                    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
                    jpeg = None if frame is None else self.privacy_jpeg(frame)
                    if jpeg is not None:  # a failed blur keeps the previous picture (or none)
                        self._snap_cache[code] = (mtime, jpeg)
                except Exception:  # noqa: BLE001 - never served raw; logged
                    logger.exception("blur of the public snapshot of %s failed", code)

            try:
                job = self._pool.submit(work)
            except RuntimeError:  # the pool is shut down: the hub is closing
                return None
            self._snap_jobs[code] = job
            return job

    def warm(self, cameras: Iterable[PublicCamera]) -> None:
        """Blur the public snapshot files of ``cameras`` into the cache in the background (at
        start-up), so the first visitor of /cctv does not wait for the strict searches."""
        for camera in cameras:
            path = self.public_file(camera.code)
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if camera.code not in self._snap_cache:
                self._blur_later(camera.code, path, mtime)

    # lifecycle ---------------------------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "channels": len(self._channels),
                "viewers": sum(ch.viewers for ch in self._channels.values()),
                "frames_produced": sum(ch.frames_produced for ch in self._channels.values()),
                "frames_served": self._served,
                "blur_failures": sum(ch.blur_failures for ch in self._channels.values()),
            }

    def viewers(self, code: str) -> int:
        with self._lock:
            ch = self._channels.get(code)
            return ch.viewers if ch else 0

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            channels = list(self._channels.values())
        for ch in channels:
            with ch.cond:
                ch.cond.notify_all()
            if ch.thread is not None:
                ch.thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)


def _default_blur(face_model: Path | None = None) -> BlurFn:
    from analytics.privacy import blur_private

    def blur(frame: np.ndarray) -> tuple[np.ndarray, int, int]:
        return blur_private(frame, face_model)

    return blur
