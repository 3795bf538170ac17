"""Retention: raw observations are kept a few days, per-camera hourly rollups some months;
daily, monthly and per-kecamatan rollups for ever (the dashboards read those for long ranges).

Cutoffs are whole UTC days: with ``observation_retention_days = 3`` the raw rows of today and of
the 3 days before stay, older ones go. On PostgreSQL the observations table is partitioned by
UTC day (``store.partitions``), so the raw prune drops whole partitions; on SQLite (or a plain
PostgreSQL table) it deletes in batches, so a writer or a dashboard never waits long on it.

``prune_steps`` is a generator: each step commits one batch (or drops one partition) and
yields progress, so ``pantau db prune`` shows a progress bar and the ingestion writer runs the
daily prune a bounded step at a time in its idle moments (``Maintenance``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, text

from pantau.settings import Settings
from store.db import Database
from store.models import Observation, ObservationRollup, RollupPeriod

logger = logging.getLogger(__name__)

BATCH_ROWS = 20_000


def day_cutoff(now: datetime, days: int) -> datetime | None:
    """Start (UTC) of the oldest UTC day kept: today's midnight minus ``days``; None: keep all."""
    if days <= 0:
        return None
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=days)


def cutoffs(
    settings: Settings, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(raw observations cutoff, hourly rollups cutoff); the hourly one is never later than
    the raw one (an hour is only recomputed from raw rows while both exist)."""
    now = now or datetime.now(UTC)
    raw = day_cutoff(now, settings.observation_retention_days)
    hourly = day_cutoff(now, settings.hourly_rollup_retention_days)
    if raw is not None and hourly is not None and hourly > raw:
        hourly = raw
    if raw is None and hourly is not None:
        hourly = None  # raw rows kept for ever: their hours can always be recomputed, keep them
    return raw, hourly


@dataclass
class PrunePlan:
    raw_cutoff: datetime | None
    hourly_cutoff: datetime | None
    partitions: list[tuple[str, int]] = field(default_factory=list)  # (name, ~rows)
    raw_rows: int = 0  # deleted row by row (SQLite, plain table)
    hourly_rows: int = 0

    @property
    def total_raw(self) -> int:
        return self.raw_rows + sum(n for _, n in self.partitions)


def _partitioned(db: Database) -> bool:
    if db.dialect != "postgresql":
        return False
    from store.partitions import is_partitioned

    with db.engine.connect() as conn:
        return is_partitioned(conn)


def plan(db: Database, raw_cutoff: datetime | None, hourly_cutoff: datetime | None) -> PrunePlan:
    """What a prune with these cutoffs removes (nothing is changed)."""
    out = PrunePlan(raw_cutoff, hourly_cutoff)
    obs = Observation.__table__
    roll = ObservationRollup.__table__
    with db.session() as s:
        if raw_cutoff is not None:
            if _partitioned(db):
                from store.partitions import drop_partitions_before

                out.partitions = drop_partitions_before(
                    s.connection(), raw_cutoff.date(), dry_run=True
                )
            else:
                out.raw_rows = (
                    s.scalar(select(func.count()).select_from(obs).where(obs.c.ts < raw_cutoff))
                    or 0
                )
        if hourly_cutoff is not None:
            out.hourly_rows = (
                s.scalar(
                    select(func.count())
                    .select_from(roll)
                    .where(roll.c.period == str(RollupPeriod.HOUR), roll.c.bucket < hourly_cutoff)
                )
                or 0
            )
    return out


Progress = tuple[str, int, int]  # (stage, done, total)


def prune_steps(db: Database, p: PrunePlan, *, batch: int = BATCH_ROWS) -> Iterator[Progress]:
    """Carry out a plan, one committed step at a time: ("raw", done, total) per partition
    dropped or batch deleted, then ("hourly", done, total)."""
    total = p.total_raw
    done = 0
    if p.partitions:
        from store.partitions import forget

        for name, rows in p.partitions:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
            logger.info("retention: dropped partition %s (~%d rows)", name, rows)
            done += rows
            yield ("raw", done, total)
        forget()  # this process's cache of existing partitions
    if p.raw_rows and p.raw_cutoff is not None:
        stmt = text(
            "DELETE FROM observations WHERE id IN "
            "(SELECT id FROM observations WHERE ts < :cutoff LIMIT :n)"
        )
        yield from _batched(db, stmt, p.raw_cutoff, batch, "raw", done, total)
    if p.hourly_rows and p.hourly_cutoff is not None:
        stmt = text(
            "DELETE FROM observation_rollups WHERE id IN (SELECT id FROM observation_rollups "
            "WHERE period = 'hour' AND bucket < :cutoff LIMIT :n)"
        )
        yield from _batched(db, stmt, p.hourly_cutoff, batch, "hourly", 0, p.hourly_rows)


def _batched(db, stmt, cutoff, batch, stage, done, total) -> Iterator[Progress]:
    from store.types import UTCDateTime

    bound = UTCDateTime().process_bind_param(cutoff, db.engine.dialect)
    if db.dialect == "sqlite":
        bound = bound.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores DateTime there
    while True:
        with db.engine.begin() as conn:
            n = conn.execute(stmt, {"cutoff": bound, "n": batch}).rowcount
        done += max(n, 0)
        yield (stage, min(done, max(total, done)), max(total, done))
        if n < batch:
            return


def prune(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    batch: int = BATCH_ROWS,
) -> PrunePlan:
    """Remove raw observations and hourly rollups older than their retention. Returns the plan
    (what went, or with ``dry_run`` what would go)."""
    raw, hourly = cutoffs(settings, now)
    p = plan(db, raw, hourly)
    if not dry_run:
        for stage, done, total in prune_steps(db, p, batch=batch):
            if progress:
                progress(stage, done, total)
    return p


class Maintenance:
    """The daily store upkeep run by the ingestion writer in its idle time: partitions ahead
    (PostgreSQL) and the retention prune, a bounded step per call so writes never wait long."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        budget_s: float = 0.5,
        batch: int = BATCH_ROWS,
        retry_s: float = 300.0,
        first_after_s: float = 600.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.budget_s = budget_s
        self.batch = batch
        self.retry_s = retry_s
        self.done_day: date | None = None
        self.runs = 0
        self._steps: Iterator[Progress] | None = None
        #: first run a while after start (not in the start-up rush; tests pass 0)
        self._retry_at = time.monotonic() + first_after_s
        #: raw cutoff of the last prune this process made: hours before it lost raw rows
        self.pruned_before: datetime | None = None

    def raw_cutoff(self) -> datetime | None:
        """Hours before this have lost raw rows to a prune: never recompute them from raw."""
        return self.pruned_before

    def _start(self, now: datetime) -> Iterator[Progress]:
        if self.db.dialect == "postgresql" and _partitioned(self.db):
            from store.partitions import ensure_partitions

            today = now.astimezone(UTC).date()
            with self.db.engine.begin() as conn:
                ensure_partitions(
                    conn, today, today + timedelta(days=self.settings.partitions_ahead_days)
                )
        raw, hourly = cutoffs(self.settings, now)
        p = plan(self.db, raw, hourly)
        if raw is not None:
            self.pruned_before = raw
        if p.total_raw or p.hourly_rows:
            logger.info(
                "retention: pruning %d raw observations (%d partitions) before %s and %d hourly "
                "rollups before %s", p.total_raw, len(p.partitions), raw, p.hourly_rows, hourly,
            )  # fmt: skip
        return prune_steps(self.db, p, batch=self.batch)

    def step(self) -> bool:
        """Advance the daily upkeep for up to ``budget_s``. True while more remains to do."""
        now = self.clock()
        idle = self.done_day == now.astimezone(UTC).date() or time.monotonic() < self._retry_at
        if self._steps is None and idle:
            return False
        deadline = time.monotonic() + self.budget_s
        try:
            if self._steps is None:
                self._steps = self._start(now)
            for _ in self._steps:
                if time.monotonic() >= deadline:
                    return True
        except Exception:
            self._steps = None
            self._retry_at = time.monotonic() + self.retry_s
            raise
        self._steps = None
        self.done_day = now.astimezone(UTC).date()
        self.runs += 1
        return False
