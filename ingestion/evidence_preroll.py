"""Pre-roll: cameras tagged ``evidence_preroll_tag`` (default ``prarekam``) keep the last
``evidence_preroll_seconds`` of video, so a recording (a rule's alert, a button) starts before
the moment it was asked for. Runs inside the recorder service (ingestion.evidence_recorder).

* **MJPEG / snapshot**: a ring of the camera's JPEGs in memory (at most
  ``evidence_frame_fps`` a second for ``evidence_preroll_seconds``: 10 s x 5 fps x ~100 kB is
  ~5 MB a camera). The frames join the recording's ``frames.mjpeg`` marked ``preroll``.
* **RTSP**: FFmpeg's segment muxer copies the stream (no re-encode) into 2-second MPEG-TS
  segments that overwrite each other in a ring of ``ceil(preroll / 2) + 2`` files under
  ``var/preroll/<camera>/`` (disk bounded by the ring, a few MB a camera). A recording gets the
  segments of the last ``preroll`` seconds joined by copy as ``preroll.mp4``, next to
  ``clip.mp4`` (two files, each with its own timeline and SHA-256).
* **HLS**: no buffer of our own: the camera's playlist already lists its last segments; the
  recording starts with those covering the pre-roll.

At most ``evidence_preroll_max_cameras`` cameras keep a buffer (the first by code).
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from sqlalchemy import select

from ingestion.evidence_capture import FFMPEG, probe
from ingestion.sources import SourceError, Timeouts, check_url, open_source
from pantau.settings import Settings
from store.db import Database
from store.models import Camera

logger = logging.getLogger(__name__)

SEGMENT_S = 2
SYNC_EVERY_S = 30.0


class FrameRing:
    def __init__(self, url: str, protocol: str, seconds: float, fps: float, t: Timeouts) -> None:
        self.url, self.protocol, self.seconds, self.fps, self.t = url, protocol, seconds, fps, t
        self.frames: deque[tuple[float, bytes]] = deque(maxlen=max(1, math.ceil(seconds * fps)))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="preroll-frames", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            src = None
            try:
                src = open_source(self.url, self.protocol, self.t, max_width=None,
                                  persistent=self.protocol == "mjpeg")  # fmt: skip
                last = None
                while not self._stop.is_set():
                    jpeg = src.read_jpeg()
                    if jpeg != last:
                        with self._lock:
                            self.frames.append((time.time(), jpeg))
                        last = jpeg
                    backoff = 1.0
                    self._stop.wait(1.0 / self.fps)
            except SourceError as exc:
                logger.debug("pre-roll of %s: %s", self.url, exc)
            finally:
                if src is not None:
                    src.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def take(self) -> list[tuple[float, bytes]]:
        since = time.time() - self.seconds
        with self._lock:
            return [(t, j) for t, j in self.frames if t >= since]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class SegmentRing:
    def __init__(self, url: str, folder: Path, seconds: float, t: Timeouts) -> None:
        self.url, self.dir, self.seconds, self.t = url, folder, seconds, t
        self.wrap = math.ceil(seconds / SEGMENT_S) + 2
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="preroll-rtsp", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                check_url(self.url, "rtsp")
            except SourceError as exc:
                logger.warning("pre-roll: %s", exc)
                return
            cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error",
                   "-rtsp_transport", "tcp", "-timeout", str(int(self.t.read_s * 1_000_000)),
                   "-i", self.url, "-map", "0:v:0", "-c", "copy", "-f", "segment",
                   "-segment_time", str(SEGMENT_S), "-segment_wrap", str(self.wrap),
                   "-reset_timestamps", "1", str(self.dir / "seg%03d.ts")]  # fmt: skip
            started = time.monotonic()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            while self.proc.poll() is None and not self._stop.is_set():
                self._stop.wait(0.5)
            if time.monotonic() - started > 60:
                backoff = 1.0
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def take(self, workdir: Path) -> tuple[Path, float] | None:
        """``preroll.mp4`` in ``workdir`` from the segments of the last ``seconds``."""
        now = time.time()
        segs = sorted(
            (
                p
                for p in self.dir.glob("seg*.ts")
                if p.stat().st_mtime >= now - self.seconds - SEGMENT_S
            ),
            key=lambda p: p.stat().st_mtime,
        )
        if not segs:
            return None
        tmp = workdir / "preroll.tmp"
        tmp.mkdir(exist_ok=True)
        try:
            names = []
            for i, seg in enumerate(segs):
                local = tmp / f"{i:03d}.ts"
                shutil.copyfile(seg, local)  # the newest is still being written: what is there
                names.append(f"file {local.name}")
            (tmp / "list.txt").write_text("ffconcat version 1.0\n" + "\n".join(names) + "\n")
            out = workdir / "preroll.mp4"
            res = subprocess.run(
                [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
                 "-safe", "0", "-i", str(tmp / "list.txt"), "-map", "0:v:0", "-c", "copy",
                 "-movflags", "+faststart", str(out)],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if res.returncode != 0 or not out.is_file():
                logger.warning("pre-roll join failed: %s", res.stderr.strip()[-300:])
                out.unlink(missing_ok=True)
                return None
            info = probe(out)
            return out, info.duration_s if info else 0.0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._thread.join(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Prerolls:
    """The pre-roll buffers of the tagged cameras, kept in line with the camera table."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self.rings: dict[str, tuple[str, str, object]] = {}  # code -> (url, protocol, ring)
        self.hls: set[str] = set()
        self._last_sync = 0.0
        self._lock = threading.Lock()

    def sync(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_sync < SYNC_EVERY_S:
            return
        self._last_sync = time.monotonic()
        s = self.settings
        tag = s.evidence_preroll_tag
        with self.db.session() as session:
            rows = session.execute(
                select(Camera.code, Camera.stream_url, Camera.protocol, Camera.tags)
                .where(Camera.enabled.is_(True), Camera.stream_url.is_not(None))
                .order_by(Camera.code)
            ).all()
        wanted = [(c, u, p) for c, u, p, tags in rows if tag in (tags or [])]
        wanted = wanted[: s.evidence_preroll_max_cameras]
        t = Timeouts(connect_s=s.connect_timeout_s, read_s=s.read_timeout_s)
        with self._lock:
            self.hls = {c for c, _, p in wanted if p == "hls"}
            keep = {c: (u, p) for c, u, p in wanted if p in ("rtsp", "mjpeg", "snapshot")}
            for code in list(self.rings):
                url, proto, ring = self.rings[code]
                if keep.get(code) != (url, proto):
                    ring.close()  # type: ignore[attr-defined]
                    del self.rings[code]
            for code, (url, proto) in keep.items():
                if code in self.rings:
                    continue
                if proto == "rtsp":
                    ring: object = SegmentRing(
                        url, s.var_dir / "preroll" / code, s.evidence_preroll_seconds, t
                    )
                else:
                    ring = FrameRing(
                        url, proto, s.evidence_preroll_seconds, s.evidence_frame_fps, t
                    )
                self.rings[code] = (url, proto, ring)
                logger.info(
                    "pre-roll buffer for %s (%s, %d s)", code, proto, s.evidence_preroll_seconds
                )

    def take_frames(self, code: str) -> list[tuple[float, bytes]] | None:
        with self._lock:
            entry = self.rings.get(code)
        if entry is None or not isinstance(entry[2], FrameRing):
            return None
        return entry[2].take()

    def take_rtsp(self, code: str, workdir: Path) -> tuple[Path, float] | None:
        with self._lock:
            entry = self.rings.get(code)
        if entry is None or not isinstance(entry[2], SegmentRing):
            return None
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return entry[2].take(workdir)
        return None

    def seconds_for(self, code: str) -> float:
        with self._lock:
            return float(self.settings.evidence_preroll_seconds) if code in self.hls else 0.0

    def close(self) -> None:
        with self._lock:
            for _, _, ring in self.rings.values():
                ring.close()  # type: ignore[attr-defined]
            self.rings.clear()
