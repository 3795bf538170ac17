"""Recording evidence items: claim a queued item, capture (``ingestion.evidence_capture``),
hash every file and record the outcome; and the recorder service that does this in the
background for the Rekam buttons and for alert rules with ``record_seconds``.

Nothing here runs on the ingestion path: a rule that records only queues an item in the
alert's transaction (``store.rules.engine``); :class:`RecorderService` (a thread in
``pantau run``, or ``pantau evidence serve``) picks queued items up, at most
``evidence_max_concurrent`` at a time, and also keeps the pre-roll buffers
(``ingestion.evidence_preroll``).
"""

from __future__ import annotations

import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from ingestion.evidence_capture import (
    Capture,
    capture_frames,
    capture_hls,
    capture_rtsp,
    is_complete,
    probe,
)
from ingestion.sources import SourceError, Timeouts
from pantau.settings import Settings
from store.db import Database
from store.evidence import SYSTEM, add_file, custody, item_dir, prune
from store.models import Camera, CustodyAction, EvidenceItem, EvidenceStatus

logger = logging.getLogger(__name__)

#: a "recording" row older than its length plus this is a recorder that died: marked failed
STALE_GRACE_S = 180


class Busy(RuntimeError):
    """Too many recordings running: the item stays queued."""


def timeouts(settings: Settings) -> Timeouts:
    return Timeouts(connect_s=settings.connect_timeout_s, read_s=settings.read_timeout_s)


def fail_stale(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Recordings left "recording" by a process that stopped: failed, with the reason."""
    now = now or datetime.now(UTC)
    n = 0
    with db.session() as s:
        for item in s.scalars(
            select(EvidenceItem).where(EvidenceItem.status == EvidenceStatus.RECORDING)
        ):
            started = item.started_at or item.created_at
            if now - started > timedelta(seconds=item.requested_seconds + STALE_GRACE_S):
                item.status = EvidenceStatus.FAILED
                item.reason = "the recorder stopped before finishing (process ended)"
                custody(
                    s,
                    item.id,
                    CustodyAction.RECORDED,
                    SYSTEM,
                    detail={"status": "failed", "reason": item.reason},
                )
                n += 1
    return n


def claim(db: Database, settings: Settings, item_id: int) -> bool:
    """Move one queued item to recording if fewer than the limit are recording (atomic)."""
    with db.session() as s:
        running = s.scalar(
            select(func.count())
            .select_from(EvidenceItem)
            .where(EvidenceItem.status == EvidenceStatus.RECORDING)
        )
        if (running or 0) >= settings.evidence_max_concurrent:
            return False
        done = s.execute(
            update(EvidenceItem)
            .where(EvidenceItem.id == item_id, EvidenceItem.status == EvidenceStatus.QUEUED)
            .values(status=EvidenceStatus.RECORDING, started_at=datetime.now(UTC))
        )
        return done.rowcount == 1


def record_item(
    db: Database,
    settings: Settings,
    item_id: int,
    *,
    stop: threading.Event | None = None,
    preroll=None,  # noqa: ANN001 - ingestion.evidence_preroll.Prerolls or None
) -> EvidenceItem:
    """Record a claimed item and store the outcome; returns the item (detached)."""
    with db.session() as s:
        item = s.get(EvidenceItem, item_id)
        cam = s.get(Camera, item.camera_id) if item and item.camera_id else None
        if item is None:
            raise ValueError(f"no evidence item {item_id}")
        url, protocol, seconds, code = (
            (cam.stream_url if cam else None),
            item.stream_kind,
            item.requested_seconds,
            item.camera_code,
        )
    seconds = max(1, min(seconds, settings.evidence_max_seconds))
    workdir = item_dir(settings, item_id)
    workdir.mkdir(parents=True, exist_ok=True)
    max_bytes = settings.evidence_max_mb * 1_000_000
    t = timeouts(settings)
    cap = Capture()
    try:
        if not url:
            cap.reason = "the camera has no stream URL (or was deleted)"
        elif protocol == "rtsp":
            pre = preroll.take_rtsp(code, workdir) if preroll is not None else None
            cap = capture_rtsp(url, workdir, seconds, max_bytes, t, stop=stop)
            if pre is not None:
                cap.extra.insert(0, (pre[0], "clip", "video/mp4"))
                cap.preroll_s = pre[1]
        elif protocol == "hls":
            pre_s = preroll.seconds_for(code) if preroll is not None else 0.0
            cap = capture_hls(url, workdir, seconds, max_bytes, t, stop=stop, preroll_s=pre_s)
        elif protocol in ("mjpeg", "snapshot"):
            frames = preroll.take_frames(code) if preroll is not None else None
            cap = capture_frames(url, protocol, workdir, seconds, max_bytes, t,
                                 settings.evidence_frame_fps, stop=stop, preroll=frames)  # fmt: skip
        else:
            cap.reason = f"cannot record a {protocol!r} camera (RTSP, HLS, MJPEG, snapshot)"
    except SourceError as exc:
        cap.reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - the item must not stay "recording"
        logger.exception("recording evidence %s failed", item_id)
        cap.reason = f"{type(exc).__name__}: {exc}"[:400]
    return _store(db, settings, item_id, cap)


def _store(db: Database, settings: Settings, item_id: int, cap: Capture) -> EvidenceItem:
    with db.session() as s:
        item = s.get(EvidenceItem, item_id)
        files = []
        if cap.clip is not None:
            info = probe(cap.clip)
            mime = "video/mp4" if cap.clip.suffix == ".mp4" else "video/mp2t"
            files.append(
                add_file(
                    s, settings, item, cap.clip, "clip", mime, info.duration_s if info else None
                )
            )
            if info is not None:
                item.stream_start_s, item.stream_duration_s = info.start_s, info.duration_s
        for path, kind, mime in cap.extra:
            dur = None
            if kind == "clip":
                info = probe(path)
                dur = info.duration_s if info else None
            files.append(add_file(s, settings, item, path, kind, mime, dur))
        item.method = cap.method or None
        item.started_at = cap.started_at or item.started_at
        item.ended_at = cap.ended_at or datetime.now(UTC)
        item.frames = cap.frames
        item.preroll_seconds = round(cap.preroll_s, 3)
        target = min(item.requested_seconds, settings.evidence_max_seconds)
        if not files:
            item.status = EvidenceStatus.FAILED
        elif cap.reason is None and is_complete(cap.live_s, target):
            item.status = EvidenceStatus.COMPLETE
        else:
            item.status = EvidenceStatus.PARTIAL
            if cap.reason is None:
                cap.reason = f"recorded {cap.live_s:.1f} s of {target} s asked"
        if item.status == EvidenceStatus.PARTIAL and cap.reason and "recorded" not in cap.reason:
            cap.reason += f" (recorded {cap.live_s:.1f} s of {target} s)"
        item.reason = cap.reason[:500] if cap.reason else None
        custody(s, item.id, CustodyAction.RECORDED, SYSTEM, detail={
            "status": item.status, "reason": item.reason, "method": item.method,
            "files": [{"path": f.path, "sha256": f.sha256, "bytes": f.bytes} for f in files],
        })  # fmt: skip
        if not files:
            shutil.rmtree(item_dir(settings, item_id), ignore_errors=True)
        s.flush()
        s.refresh(item)
        _ = item.files
    logger.info("evidence %s: %s %s", item_id, item.status, item.reason or "")
    return item


# ---------------------------------------------------------------------------------- the service
class RecorderService:
    """Background recorder: polls queued items, records up to ``evidence_max_concurrent`` at
    once, keeps pre-roll buffers for tagged cameras, and prunes by retention and quota hourly."""

    PRUNE_EVERY_S = 3600

    def __init__(self, settings: Settings, db: Database, *, preroll: bool = False) -> None:
        self.settings, self.db = settings, db
        self.stop_event = threading.Event()
        self.pool = ThreadPoolExecutor(
            settings.evidence_max_concurrent, thread_name_prefix="evidence"
        )
        self.running: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.prerolls = None
        if (
            preroll
            and settings.evidence_preroll_seconds > 0
            and settings.evidence_preroll_max_cameras > 0
        ):
            from ingestion.evidence_preroll import Prerolls

            self.prerolls = Prerolls(settings, db)

    def start(self) -> RecorderService:
        fail_stale(self.db, self.settings)
        self._thread = threading.Thread(target=self._loop, name="evidence-recorder", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        last_prune = float("-inf")  # prune once at start, then hourly
        import time

        while not self.stop_event.is_set():
            try:
                if self.prerolls is not None:
                    self.prerolls.sync()
                self.poll_once()
                if time.monotonic() - last_prune > self.PRUNE_EVERY_S:
                    last_prune = time.monotonic()
                    prune(self.db, self.settings)
                    fail_stale(self.db, self.settings)
            except Exception:  # noqa: BLE001 - the service keeps going (database blips)
                logger.exception("evidence recorder loop")
            self.stop_event.wait(self.settings.evidence_poll_s)

    def poll_once(self) -> list[int]:
        """Start the queued items that fit under the concurrency limit; their ids."""
        with self.db.session() as s:
            queued = list(s.scalars(
                select(EvidenceItem.id).where(EvidenceItem.status == EvidenceStatus.QUEUED)
                .order_by(EvidenceItem.created_at, EvidenceItem.id).limit(50)
            ))  # fmt: skip
        started = []
        for item_id in queued:
            with self._lock:
                if item_id in self.running:
                    continue
            if not claim(self.db, self.settings, item_id):
                break
            with self._lock:
                self.running.add(item_id)
            self.pool.submit(self._run, item_id)
            started.append(item_id)
        return started

    def _run(self, item_id: int) -> None:
        try:
            record_item(
                self.db, self.settings, item_id, stop=self.stop_event, preroll=self.prerolls
            )
        finally:
            with self._lock:
                self.running.discard(item_id)

    def wait_idle(self, timeout: float) -> bool:
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self.running:
                    return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.prerolls is not None:
            self.prerolls.close()
