"""Celery tasks and the Celery-mode scheduler.

``sample_camera(camera_id, due)``: fetch one frame, ``process_sample`` (the same code as the
local pool), write the observation, status and alerts. ``due`` is the sample's slot time chosen
by the scheduler, so a redelivered task writes the same (camera, ts) and is a no-op.

``run_scheduler`` enqueues each enabled camera once per slot; slots are aligned to the clock
(plus a per-camera offset that spreads load), so two schedulers running by mistake enqueue the
same slots and the store still holds each sample once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ingestion.celery_app import make_celery
from ingestion.health import CameraHealth
from ingestion.process import CameraSpec, SampleProcessor
from pantau.settings import Settings, get_settings
from store.db import Database, get_database
from store.models import Camera, CameraStatus

logger = logging.getLogger(__name__)

celery_app = make_celery(get_settings())

# per worker process state: analysers, persistent readers, health
_state: dict[str, Any] = {}
_state_lock = threading.Lock()  # thread pools: migrate and build state once
_analysis_lock = threading.Lock()


def _database(settings: Settings) -> Database:
    with _state_lock:
        return get_database(settings.sqlalchemy_url)


def _process_state(settings: Settings) -> dict[str, Any]:
    key = settings.sqlalchemy_url
    with _state_lock:
        if _state.get("key") == key:
            return _state
        _state.clear()
        _state.update(
            key=key,
            processor=SampleProcessor(settings),
            sources={},
            health={},
        )
    return _state


def run_sample(
    camera_id: int, due: float, settings: Settings | None = None, database: Database | None = None
) -> dict[str, Any]:
    """Fetch + process + write one sample of one camera. Returns a summary dict."""
    from ingestion.alerts import AlertEngine
    from ingestion.local import fetch_frames
    from ingestion.sources import SourceError
    from ingestion.writer import is_transient, write_batch

    settings = settings or get_settings()
    database = database or _database(settings)
    state = _process_state(settings)
    with database.session() as s:
        cam = s.get(Camera, camera_id)
        if cam is None or not cam.enabled or not cam.stream_url:
            return {"camera_id": camera_id, "skipped": "unknown, disabled or without stream URL"}
        spec = CameraSpec.from_camera(cam, settings)
        db_status, db_reason = cam.status, cam.status_reason
    health: CameraHealth = state["health"].get(camera_id)
    if health is None:
        health = CameraHealth(
            camera_id,
            spec.code,
            status=db_status,
            reason=db_reason,
            offline_after=settings.offline_after_failures,
            backoff_max_s=settings.reconnect_max_s,
        )
        state["health"][camera_id] = health
    t0 = time.perf_counter()
    result = None
    try:
        frames, _ = fetch_frames(state["sources"], spec, settings)
        fetch_ms = (time.perf_counter() - t0) * 1000
        with _analysis_lock:  # per-camera analysers are stateful; CPU work is serial anyway
            result = state["processor"].process_burst(
                spec, frames, datetime.fromtimestamp(due, UTC)
            )
        result.timings_ms["fetch"] = round(fetch_ms, 3)
        transition = health.record_success(time.time(), fetch_ms, result.timings_ms.get("process"))
    except SourceError as exc:
        transition = health.record_failure(exc.kind, str(exc))
    except ValueError as exc:  # a frame the analytics reject
        transition = health.record_failure("corrupt", str(exc))
    if transition is None and health.status != db_status:  # another process changed it
        from ingestion.health import Transition

        transition = Transition(camera_id, health.status, health.reason, time.time())
    inserted = 0
    for attempt in range(8):
        try:
            with database.session() as s:
                inserted = write_batch(
                    s,
                    [result] if result else [],
                    [transition] if transition else [],
                    AlertEngine(settings),
                )
            break
        except Exception as exc:
            if not is_transient(exc) or attempt == 7:
                raise
            logger.warning("database hiccup writing %s: %s; retrying", spec.code, exc)
            time.sleep(min(5.0, 0.2 * 2**attempt))
    return {
        "camera_id": camera_id,
        "code": spec.code,
        "ts": datetime.fromtimestamp(due, UTC).isoformat(),
        "ok": result is not None,
        "inserted": inserted,
        "status": str(health.status),
        "reason": health.reason,
    }


@celery_app.task(name="pantau.sample_camera", acks_late=True)
def sample_camera(camera_id: int, due: float) -> dict[str, Any]:
    return run_sample(camera_id, due)


def slot_for(camera_id: int, interval_s: int, now: float) -> float:
    """The current sample slot of a camera: clock-aligned, offset per camera."""
    offset = (camera_id * 7919) % max(1, interval_s)
    return ((now - offset) // interval_s) * interval_s + offset


def run_scheduler(
    settings: Settings,
    database: Database,
    duration: float | None = None,
    reload_every_s: float = 30.0,
    queue: str = "pantau.ingest",
) -> int:
    """Enqueue due cameras on Celery until ``duration`` elapses (None: forever)."""
    app = make_celery(settings)
    started = time.time()
    last: dict[int, float] = {}
    cams: list[tuple[int, int, str]] = []
    loaded_at = 0.0
    enqueued = 0
    while duration is None or time.time() - started < duration:
        now = time.time()
        if now - loaded_at >= reload_every_s:
            with database.session() as s:
                cams = [
                    (c.id, c.sample_interval_s or 60, c.status)
                    for c in s.scalars(
                        select(Camera).where(
                            Camera.enabled.is_(True), Camera.stream_url.is_not(None)
                        )
                    )
                ]
            loaded_at = now
        for cam_id, interval, status in cams:
            if status == CameraStatus.OFFLINE:  # back off dead cameras
                interval = int(min(settings.reconnect_max_s, max(interval * 4, 60)))
            slot = slot_for(cam_id, interval, now)
            if last.get(cam_id, -1) < slot:
                app.send_task(
                    "pantau.sample_camera",
                    args=(cam_id, slot),
                    queue=queue,
                    expires=max(30, interval),
                )
                last[cam_id] = slot
                enqueued += 1
        time.sleep(0.5)
    return enqueued
