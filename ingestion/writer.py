"""The one writer: batches sample results and camera status changes into the store.

Workers never write to the database in local mode; they hand results to this writer, which
commits them in batches (one transaction per batch: observations via the idempotent
``write_observations``, camera last-seen/snapshot/status, ``CameraStatusEvent`` rows, alerts),
refreshes the rollups periodically, and survives database hiccups: a transient error (connection
killed, SQLite locked) rolls the transaction back and the *same* batch is retried with capped
backoff until it lands, so nothing is lost. A row the database rejects for good (a poison row)
is isolated by writing the batch row by row, logged, counted, and skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from ingestion.alerts import AlertEngine
from ingestion.backlog import SpillingQueue
from ingestion.health import Transition
from ingestion.process import SampleResult
from pantau.settings import Settings
from store.db import Database
from store.models import Camera, CameraStatusEvent
from store.retention import Maintenance
from store.rollups import RollupTracker, utc_offset_hours
from store.writes import write_observations

logger = logging.getLogger(__name__)

TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    return bool(isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


_cams = Camera.__table__
_LAST_SEEN = (
    update(_cams)
    .where(
        _cams.c.id == bindparam("b_id"),
        or_(
            _cams.c.last_seen_at.is_(None),
            _cams.c.last_seen_at < bindparam("b_ts", type_=_cams.c.last_seen_at.type),
        ),
    )
    .values(
        last_seen_at=bindparam("b_ts", type_=_cams.c.last_seen_at.type),
        last_snapshot=func.coalesce(
            bindparam("b_snap", type_=_cams.c.last_snapshot.type), _cams.c.last_snapshot
        ),
    )
)
"""A camera's last-seen time and snapshot, only forward in time (executemany parameters
``b_id``, ``b_ts``, ``b_snap``; a sample without a snapshot keeps the previous one)."""


def write_batch(
    session: Session,
    results: Sequence[SampleResult],
    transitions: Sequence[Transition] = (),
    alerts: AlertEngine | None = None,
) -> int:
    """Write one batch in the caller's transaction. Returns observations newly inserted."""
    inserted = write_observations(session, [r.observation for r in results]) if results else 0
    latest: dict[int, SampleResult] = {}
    for r in results:
        if r.camera_id not in latest or r.ts >= latest[r.camera_id].ts:
            latest[r.camera_id] = r
    by_cam: dict[int, list[Transition]] = {}
    for t in transitions:
        by_cam.setdefault(t.camera_id, []).append(t)
    if latest:
        # one executemany UPDATE, not an ORM object per camera: a city writes ~180 cameras'
        # last-seen a second, and the ORM's load + flush (+ its update hooks) cost ~0.7 ms each
        session.execute(
            _LAST_SEEN,
            [{"b_id": cid, "b_ts": r.ts, "b_snap": r.snapshot} for cid, r in latest.items()],
        )
    ids = set(by_cam)
    cams = (
        {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(ids)))} if ids else {}
    )
    for cam_id, ts_list in by_cam.items():
        for t in ts_list:
            session.add(
                CameraStatusEvent(
                    camera_id=cam_id,
                    ts=datetime.fromtimestamp(t.ts, UTC),
                    status=str(t.status),
                    reason=t.reason,
                )
            )
        cam = cams.get(cam_id)
        if cam is not None:
            cam.status, cam.status_reason = str(ts_list[-1].status), ts_list[-1].reason
    if alerts is not None and results:
        session.flush()
        alerts.evaluate(session, results)
    return inserted


@dataclass
class WriterStats:
    batches: int = 0
    observations: int = 0
    duplicates: int = 0
    transitions: int = 0
    retries: int = 0
    dropped: int = 0
    rollup_runs: int = 0
    pending: int = 0
    persisted: int = 0  # samples left in the backlog file for the next start (database down)
    last_error: str | None = None
    last_flush_ms: float = 0.0
    errors: list[str] = field(default_factory=list)


class Writer:
    """A thread that batches results into the store. ``submit`` never blocks on the database."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        flush_interval_s: float = 1.0,
        batch_max: int = 1000,
        rollup_every_s: float = 60.0,
        offline_check_s: float = 30.0,
        max_retry_sleep_s: float = 10.0,
        alerts: bool = True,
        maintenance_after_s: float = 600.0,
    ) -> None:
        self.db = database
        self.settings = settings
        self.flush_interval_s = flush_interval_s
        self.batch_max = batch_max
        self.rollup_every_s = rollup_every_s
        self.offline_check_s = offline_check_s
        self.max_retry_sleep_s = max_retry_sleep_s
        self.alerts = AlertEngine(settings) if alerts else None
        self.stats = WriterStats()
        self.metrics: Any = None  # an ingestion.metrics.IngestMetrics the supervisor attaches
        self._q = SpillingQueue(
            settings.var_dir / "ingest" / "writer-backlog.jsonl" if settings.writer_spill else None,
            memory_items=settings.writer_memory_backlog,
            max_bytes=int(settings.writer_backlog_max_mb * 1024 * 1024),
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offset = utc_offset_hours(settings.timezone)
        self._rollups = RollupTracker(self._offset)  # buckets touched since the last refresh
        # daily prune + partitions ahead, in idle moments, first run a while after start
        self.maintenance = Maintenance(database, settings, first_after_s=maintenance_after_s)
        self._last_rollup = time.monotonic()
        self._last_day_rollup = time.monotonic()
        self._last_offline = time.monotonic()

    # -- API ----------------------------------------------------------------------------------
    def submit(self, item: SampleResult | Transition) -> None:
        self._q.put(item)

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, name="pantau-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Flush what is queued (retrying for up to ``timeout``) and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if self._rollups.pending:
            try:
                self._refresh_rollups(day=True)
            except Exception:
                logger.exception("final rollup refresh failed")
        if self._thread is None or not self._thread.is_alive():
            self._q.close()

    # -- loop ---------------------------------------------------------------------------------
    def _drain(self) -> tuple[list[SampleResult], list[Transition]]:
        results: list[SampleResult] = []
        transitions: list[Transition] = []
        deadline = time.monotonic() + self.flush_interval_s
        while len(results) + len(transitions) < self.batch_max:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                item = self._q.get(timeout=min(timeout, 0.2))
            except queue.Empty:
                if self._stop.is_set():
                    break
                continue
            if isinstance(item, SampleResult):
                results.append(item)
            elif isinstance(item, Transition):
                transitions.append(item)
        return results, transitions

    def _run(self) -> None:
        while True:
            results, transitions = self._drain()
            self.stats.pending = self._q.qsize()
            if results or transitions:
                self.flush(results, transitions)
            self._periodic()
            if self._stop.is_set() and self._q.empty():
                return

    def _periodic(self) -> None:
        now = time.monotonic()
        try:
            if self._rollups.pending and now - self._last_rollup >= self.rollup_every_s:
                day = now - self._last_day_rollup >= max(self.rollup_every_s, 600.0)
                self._refresh_rollups(day=day)
            if self.alerts is not None and now - self._last_offline >= self.offline_check_s:
                self._last_offline = now
                with self.db.session() as s:
                    self.alerts.evaluate_periodic(s)
            if self._q.empty():  # idle: one bounded step of the daily prune, if due
                self.maintenance.step()
        except Exception as exc:  # retried next round; never kills the writer
            self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("periodic store work failed (will retry): %s", self.stats.last_error)

    def _refresh_rollups(self, day: bool) -> None:
        """Recompute only the rollup buckets the stored observations touched (hours now, their
        days when ``day``); hours older than the raw retention are left as they are."""
        with self.db.session() as s:
            self._rollups.refresh(s, days=day, not_before=self.maintenance.raw_cutoff())
        self._rollups.done()
        self.stats.rollup_runs += 1
        self._last_rollup = time.monotonic()
        if day:
            self._last_day_rollup = self._last_rollup

    def flush(self, results: list[SampleResult], transitions: list[Transition]) -> None:
        """Write one batch, retrying transient errors until it lands (or the writer is stopped
        and the retry budget is spent)."""
        attempt = 0
        stop_deadline: float | None = None
        while True:
            t0 = time.perf_counter()
            try:
                with self.db.session() as s:
                    inserted = write_batch(s, results, transitions, self.alerts)
                self._done(results, transitions, inserted, t0)
                return
            except Exception as exc:
                self.stats.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                if not is_transient(exc):
                    logger.exception("batch rejected by the database; isolating bad rows")
                    self._row_by_row(results, transitions)
                    return
                attempt += 1
                self.stats.retries += 1
                if self._stop.is_set():
                    stop_deadline = stop_deadline or time.monotonic() + 20.0
                    if time.monotonic() > stop_deadline:
                        kept = self._q.persist([*results, *transitions])
                        if kept:
                            self.stats.persisted = kept
                            logger.error(
                                "stopping with the database down: %d samples kept in %s, "
                                "written at the next start",
                                kept,
                                self._q.path,
                            )
                        else:
                            self.stats.dropped += len(results)
                            logger.error(
                                "stopping with the database down: %d samples not written",
                                len(results),
                            )
                        return
                sleep = min(self.max_retry_sleep_s, 0.2 * 2 ** min(attempt, 8))
                logger.warning(
                    "database hiccup (%s); retrying batch of %d in %.1fs",
                    self.stats.last_error,
                    len(results),
                    sleep,
                )
                time.sleep(sleep)

    def _row_by_row(self, results: list[SampleResult], transitions: list[Transition]) -> None:
        for r in results:
            t0 = time.perf_counter()
            try:
                with self.db.session() as s:
                    inserted = write_batch(s, [r], [], self.alerts)
                self._done([r], [], inserted, t0)
            except Exception as exc:
                self.stats.dropped += 1
                msg = f"dropped observation {r.code} {r.ts}: {type(exc).__name__}: {exc}"[:300]
                self.stats.errors.append(msg)
                logger.error(msg)
        if transitions:
            try:
                with self.db.session() as s:
                    write_batch(s, [], transitions, None)
                self.stats.transitions += len(transitions)
            except Exception:
                logger.exception("dropped %d status transitions", len(transitions))

    def _done(
        self, results: list[SampleResult], transitions: list[Transition], inserted: int, t0: float
    ) -> None:
        self.stats.batches += 1
        self.stats.observations += inserted
        self.stats.duplicates += len(results) - inserted
        self.stats.transitions += len(transitions)
        self.stats.last_flush_ms = round((time.perf_counter() - t0) * 1000, 1)
        if self.metrics is not None and results:
            self.metrics.observe_write(time.perf_counter() - t0)
        for r in results:
            self._rollups.add(r.observation.get("ts") or r.ts)

    def snapshot(self) -> dict[str, Any]:
        st = self.stats
        return {
            "batches": st.batches,
            "observations": st.observations,
            "duplicates": st.duplicates,
            "transitions": st.transitions,
            "retries": st.retries,
            "dropped": st.dropped + self._q.dropped,
            "pending": self._q.qsize(),
            "pending_on_disk": self._q.on_disk,
            "spilled_total": self._q.spilled_total,
            "persisted": st.persisted,
            "rollup_runs": st.rollup_runs,
            "last_flush_ms": st.last_flush_ms,
            "last_error": st.last_error,
        }
