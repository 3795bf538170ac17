"""The Celery-mode scheduler (``pantau ingest --celery``): one fetch task per camera slot.

Slots are ``ingestion.schedule.slot_for``: aligned to the clock plus a per-camera offset spread
over the whole interval, the same as the local pool's, so two schedulers running by mistake (or
the local pool and Celery) pick the same slots and the store still holds each sample once. A camera in backoff (shared health in Redis: ``next_at`` after failures) is skipped until
its next attempt. A broker that goes away (restart, network cut) is retried every second; the
slots due meanwhile are enqueued when it answers again, if they are still current.

The scheduler also does the store's periodic work that the local writer does in local mode:
hourly/daily rollups of what the workers wrote, and the offline-camera alert check.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ingestion.metrics import celery_sink
from ingestion.schedule import slot_for
from pantau.settings import Settings
from store.db import Database
from store.models import Camera

logger = logging.getLogger(__name__)

ROLLUP_EVERY_S = 60.0
DAY_ROLLUP_EVERY_S = 600.0
OFFLINE_CHECK_S = 30.0
PUBLISH_BATCH = 500  # fetch tasks per pipelined publish
#: hour rollups are recomputed over this much past time (late and redelivered samples)
ROLLUP_LOOKBACK = timedelta(minutes=15)


class _Housekeeping:
    """What the local writer does in its idle time, for the workers' writes: refresh the
    rollup hours they touched (the last ``ROLLUP_LOOKBACK``: late and redelivered samples
    included) every ROLLUP_EVERY_S, their days every DAY_ROLLUP_EVERY_S, the offline-camera
    alert check, and the daily retention prune / partitions ahead in bounded steps."""

    def __init__(self, settings: Settings, database: Database) -> None:
        from ingestion.alerts import AlertEngine
        from store.retention import Maintenance
        from store.rollups import RollupTracker, utc_offset_hours

        self.settings, self.database = settings, database
        self.alerts = AlertEngine(settings)
        self.rollups = RollupTracker(utc_offset_hours(settings.timezone))
        self.maintenance = Maintenance(database, settings)
        now = time.monotonic()
        self.last_rollup = self.last_day = self.last_offline = now

    def run(self) -> None:
        now = time.monotonic()
        try:
            if now - self.last_rollup >= ROLLUP_EVERY_S:
                self.last_rollup = now
                day = now - self.last_day >= DAY_ROLLUP_EVERY_S
                end = datetime.now(UTC)
                t = end - ROLLUP_LOOKBACK
                while t <= end:
                    self.rollups.add(t)
                    t += timedelta(minutes=30)
                self.rollups.add(end)
                with self.database.session() as s:
                    self.rollups.refresh(s, days=day, not_before=self.maintenance.raw_cutoff())
                self.rollups.done()
                if day:
                    self.last_day = now
            if now - self.last_offline >= OFFLINE_CHECK_S:
                self.last_offline = now
                with self.database.session() as s:
                    self.alerts.evaluate_periodic(s)
            self.maintenance.step()
        except Exception as exc:  # next round retries; never stops the scheduler
            logger.warning("periodic store work failed (will retry): %s", exc)


def _load(database: Database) -> list[tuple[int, int]]:
    with database.session() as s:
        return [
            (c.id, int(c.sample_interval_s or 60))
            for c in s.scalars(
                select(Camera).where(Camera.enabled.is_(True), Camera.stream_url.is_not(None))
            )
        ]


def _count_overload(settings: Settings, n: int) -> None:
    try:
        celery_sink(settings, "scheduler").observe_expired(n)
    except Exception as exc:  # metrics are best effort
        logger.debug("cannot count %d overload skips: %s", n, exc)


def _log_overload(stats: dict, gate: Any, last: tuple[float, int, int]) -> tuple[float, int, int]:
    """At most once a minute: how many slots found no room, and how many tasks the workers
    were given a second meanwhile (what they kept up with; the gate's own rate estimate is a
    smoothed per-second figure and swings with warm-ups in flight)."""
    now = time.monotonic()
    if now - last[0] < 60.0:
        return last
    skipped = stats["skipped_overload"] - last[1]
    taken = (stats["enqueued"] - last[2]) / (now - last[0])
    if skipped:
        stats["capacity_per_s"] = round(taken, 1)
        logger.warning(
            "Celery workers kept up with ~%.1f samples/s in the last minute: %d due samples "
            "skipped (no room in the queues: %d waiting, at most %d); add workers (pantau "
            "worker) or lengthen sample intervals",
            taken,
            skipped,
            gate.queued,
            gate.limit,
        )
    return now, stats["skipped_overload"], stats["enqueued"]


def _publish(app: Any, settings: Settings, send: list[tuple[int, int, float]], now: float) -> None:
    """One fetch task per (camera, interval, slot) in ``send``, published in one pipelined
    Redis round trip per ``PUBLISH_BATCH`` tasks (kombu's publish batch) instead of one round
    trip each. A failed batch raises (delivery uncertain: the caller sends the slots again;
    a task delivered twice is harmless, the second analysis of a slot is dropped and writes
    are unique per camera and slot)."""
    from ingestion.celery_app import FETCH_QUEUE, FETCH_TASK

    if not send:
        return
    with app.producer_or_acquire() as producer, producer.batch(max_size=PUBLISH_BATCH):
        for cam_id, interval, slot in send:
            app.send_task(
                FETCH_TASK,
                args=(cam_id, slot),
                queue=FETCH_QUEUE,
                producer=producer,
                # a redelivered fetch (its worker died) must still be accepted
                expires=slot + settings.celery_visibility_timeout_s + 2 * interval - now,
                retry_policy={"max_retries": 1, "interval_start": 0.2},
            )


def run_scheduler(
    settings: Settings,
    database: Database,
    duration: float | None = None,
    reload_every_s: float = 30.0,
    stop: threading.Event | None = None,
    stats: dict[str, Any] | None = None,
    housekeeping: bool = True,
) -> int:
    """Enqueue due cameras' fetch tasks until ``duration`` elapses or ``stop`` is set (None:
    forever). Returns how many tasks were enqueued; ``stats`` (if given) is kept up to date
    with enqueued / skipped_backoff / broker_errors counts for a live display."""
    from ingestion.admission import QueueGate, queue_lengths
    from ingestion.celery_app import (
        ANALYSE_QUEUE,
        FETCH_QUEUE,
        make_celery,
        redis_client,
    )
    from ingestion.health import SharedHealth

    app = make_celery(settings)
    health = SharedHealth(settings)
    chores = _Housekeeping(settings, database) if housekeeping else None
    stop = stop or threading.Event()
    stats = stats if stats is not None else {}
    stats.update(enqueued=0, skipped_backoff=0, skipped_overload=0, broker_errors=0, cameras=0)
    gate = QueueGate(settings.celery_queue_wait_s, settings.celery_queue_floor)
    last_gate_read = 0.0
    overload_logged = (time.monotonic(), 0, 0)
    started = time.time()
    # a heap of (next slot, camera, interval): each tick pops only the cameras now due
    heap: list[tuple[float, int, int]] = []
    intervals: dict[int, int] = {}
    loaded_at = 0.0
    broker_down_since: float | None = None
    try:
        while not stop.is_set() and (duration is None or time.time() - started < duration):
            now = time.time()
            if now - loaded_at >= reload_every_s:
                try:
                    cams = dict(_load(database))
                    loaded_at = now
                except Exception as exc:
                    logger.warning("reloading cameras failed; keeping %d: %s", len(intervals), exc)
                    loaded_at = now - reload_every_s + 5
                else:
                    for cam_id in set(intervals) - set(cams):
                        del intervals[cam_id]  # disabled or removed: its heap entry lapses
                    for cam_id, interval in cams.items():
                        if intervals.get(cam_id) != interval:
                            # new (or re-timed) camera: from its next slot on, so first samples
                            # spread over the whole interval instead of all coming due now
                            intervals[cam_id] = interval
                            nxt = slot_for(cam_id, interval, now)
                            if nxt < now - 1.0:
                                nxt += interval
                            heapq.heappush(heap, (nxt, cam_id, interval))
                    stats["cameras"] = len(intervals)
            due: list[tuple[int, int, float]] = []
            while heap and heap[0][0] <= now:
                slot, cam_id, interval = heapq.heappop(heap)
                if intervals.get(cam_id) != interval:
                    continue  # removed or re-timed meanwhile
                if now - slot > interval:  # fell behind (broker down...): the current slot
                    slot = slot_for(cam_id, interval, now)
                due.append((cam_id, interval, slot))
            try:
                backoff = health.next_attempts([c for c, _, _ in due]) if due else {}
            except Exception as exc:  # Redis away: the publish below will tell
                logger.debug("cannot read camera backoff: %s", exc)
                backoff = {}
            mono = time.monotonic()
            if settings.celery_admission and (due or mono - last_gate_read >= 1.0):
                try:
                    gate.observe(
                        mono,
                        *queue_lengths(
                            redis_client(settings),
                            settings.celery_namespace,
                            FETCH_QUEUE,
                            ANALYSE_QUEUE,
                        ),
                    )
                    last_gate_read = mono
                except Exception as exc:  # Redis away: the publish below will tell
                    logger.debug("cannot read queue lengths: %s", exc)
            overloaded = 0
            room = gate.room() if settings.celery_admission else len(due)
            send: list[tuple[int, int, float]] = []
            for cam_id, interval, slot in due:
                if backoff.get(cam_id, 0.0) > slot + 0.001:
                    # in backoff: try again at the first slot after its next attempt
                    heapq.heappush(heap, (slot + interval, cam_id, interval))
                    stats["skipped_backoff"] += 1
                elif len(send) >= room:
                    # the workers cannot take it in time: skip this slot, keep the queue fresh
                    heapq.heappush(heap, (slot + interval, cam_id, interval))
                    stats["skipped_overload"] += 1
                    overloaded += 1
                else:
                    send.append((cam_id, interval, slot))
            try:
                _publish(app, settings, send, now)
            except Exception as exc:
                stats["broker_errors"] += 1
                if broker_down_since is None:
                    broker_down_since = time.time()
                    logger.error("broker unreachable (%s); retrying every second", exc)
                for cam, ival, sl in send:  # not (surely) sent: due again next round
                    heapq.heappush(heap, (sl, cam, ival))
            else:
                if send and broker_down_since is not None:
                    logger.warning(
                        "broker back after %.0fs; scheduling resumes",
                        time.time() - broker_down_since,
                    )
                    broker_down_since = None
                for cam_id, interval, slot in send:
                    heapq.heappush(heap, (slot + interval, cam_id, interval))
                stats["enqueued"] += len(send)
                gate.enqueued(len(send))
            if overloaded:
                _count_overload(settings, overloaded)
            overload_logged = _log_overload(stats, gate, overload_logged)
            if chores is not None:
                chores.run()
            celery_sink(settings, "scheduler").beat()  # its RSS on the admin page, /metrics
            stop.wait(1.0 if broker_down_since is not None else 0.25)
    finally:
        app.close()
    return stats["enqueued"]
