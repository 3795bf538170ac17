"""Hourly and daily rollups of observations, computed in SQL, read by the dashboards.

Daily buckets follow the city's local day (WIB by default): a bucket's ``bucket`` is the UTC
instant at which that local day starts. Refreshing a range deletes and recomputes the buckets
that overlap it, so running it twice gives the same rows.

Levels: hourly rows from the raw observations (one statement per hour, through the ``ts``
index), daily rows from the 24 hourly rows (weighted by the ``*_n`` counts, so a day costs
~256k rows at city scale instead of ~15 million raw ones), per-kecamatan hours/days from the
camera rows, camera months from the daily rows. The ingestion writer refreshes only the buckets
its observations touched (``RollupTracker``); ``rebuild_rollups`` recomputes everything the raw
rows still cover and leaves older rollups (raw rows pruned) alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, delete, func, insert, literal, select, text, union_all
from sqlalchemy.orm import Session

from store.models import Observation, ObservationRollup, RollupPeriod
from store.types import UTCDateTime

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc_offset_hours(timezone: str) -> int:
    """Whole-hour UTC offset of a zone now (Indonesian zones have no daylight saving)."""
    offset = datetime.now(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 3600)


def floor_bucket(ts: datetime, period: str, offset_hours: int = 7) -> datetime:
    """Start of the hour (UTC) or of the local day (as a UTC instant) containing ``ts``."""
    ts = ts.astimezone(UTC)
    if period == RollupPeriod.HOUR:
        return ts.replace(minute=0, second=0, microsecond=0)
    local = ts + timedelta(hours=offset_hours)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=offset_hours)


_RAW_AVG = (
    # (rollup column, observation column, count column) of the means kept per hour
    ("people_avg", "people", "people_n"),
    ("vehicles_avg", "vehicles_total", "vehicles_n"),
    ("car_avg", "vehicles_car", "vehicles_n"),
    ("motorcycle_avg", "vehicles_motorcycle", "vehicles_n"),
    ("bus_avg", "vehicles_bus", "vehicles_n"),
    ("truck_avg", "vehicles_truck", "vehicles_n"),
    ("motion_avg", "motion_ratio", "motion_n"),
    ("water_avg", "water_coverage", "water_n"),
)
_COUNTS = (("people_n", "people"), ("vehicles_n", "vehicles_total"), ("motion_n", "motion_ratio"),
           ("water_n", "water_coverage"))  # fmt: skip
_MAXES = (("people_max", "people"), ("vehicles_max", "vehicles_total"),
          ("water_max", "water_coverage"))  # fmt: skip
_SUMS = (("flow_in_sum", "flow_in"), ("flow_out_sum", "flow_out"))


def _hour_select(hour: datetime):
    """Hourly rollup rows of every camera for the hour starting at ``hour``, from raw rows."""
    obs = Observation.__table__
    cols = {
        "camera_id": obs.c.camera_id,
        "period": literal(str(RollupPeriod.HOUR)),
        "bucket": literal(hour, UTCDateTime()),
        "samples": func.count(),
    }
    for name, src, _n in _RAW_AVG:
        cols[name] = func.avg(obs.c[src])
    for name, src in _MAXES:
        cols[name] = func.max(obs.c[src])
    for name, src in _SUMS:
        cols[name] = func.sum(obs.c[src])
    for name, src in _COUNTS:
        cols[name] = func.count(obs.c[src])
    query = (
        select(*[c.label(k) for k, c in cols.items()])
        .where(obs.c.ts >= hour, obs.c.ts < hour + HOUR)
        .group_by(obs.c.camera_id)
    )
    return list(cols), query


def _day_select(day: datetime):
    """Daily rollup rows of every camera for the local day starting at ``day`` (a UTC instant),
    from its 24 hourly rows: sums, maxima, and means weighted by their counts."""
    roll = ObservationRollup.__table__
    cols = {
        "camera_id": roll.c.camera_id,
        "period": literal(str(RollupPeriod.DAY)),
        "bucket": literal(day, UTCDateTime()),
        "samples": func.sum(roll.c.samples),
    }
    for name, _src, n in _RAW_AVG:
        cols[name] = func.sum(roll.c[name] * roll.c[n]) * 1.0 / func.nullif(func.sum(roll.c[n]), 0)
    for name, _src in _MAXES:
        cols[name] = func.max(roll.c[name])
    for name, _src in _SUMS:
        cols[name] = func.sum(roll.c[name])
    for name, _src in _COUNTS:
        cols[name] = func.coalesce(func.sum(roll.c[name]), 0)
    query = (
        select(*[c.label(k) for k, c in cols.items()])
        .where(
            roll.c.period == str(RollupPeriod.HOUR),
            roll.c.bucket >= day,
            roll.c.bucket < day + DAY,
        )
        .group_by(roll.c.camera_id)
    )
    return list(cols), query


def refresh_hour(session: Session, hour: datetime) -> None:
    """Recompute the hourly rollups of one hour bucket from the raw observations."""
    roll = ObservationRollup.__table__
    session.execute(
        delete(roll).where(roll.c.period == str(RollupPeriod.HOUR), roll.c.bucket == hour)
    )
    cols, query = _hour_select(hour)
    session.execute(insert(roll).from_select(cols, query))


def refresh_day(session: Session, day: datetime) -> None:
    """Recompute the daily rollups of one local day (its UTC start) from the hourly rollups."""
    roll = ObservationRollup.__table__
    session.execute(
        delete(roll).where(roll.c.period == str(RollupPeriod.DAY), roll.c.bucket == day)
    )
    cols, query = _day_select(day)
    session.execute(insert(roll).from_select(cols, query))


def _runs(buckets: list[datetime], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Sorted bucket starts grouped into contiguous [start, end) ranges."""
    out: list[tuple[datetime, datetime]] = []
    for b in sorted(buckets):
        if out and out[-1][1] == b:
            out[-1] = (out[-1][0], b + step)
        else:
            out.append((b, b + step))
    return out


def _raw_hours(session: Session, lo: datetime, hi: datetime) -> list[datetime]:
    """Hour buckets in [lo, hi) that hold raw observations or hourly rollups (a refresh of an
    hour whose raw rows were deleted empties it, as a full recomputation must)."""
    obs = Observation.__table__
    roll = ObservationRollup.__table__
    first = session.scalar(select(func.min(obs.c.ts)).where(obs.c.ts >= lo, obs.c.ts < hi))
    last = session.scalar(select(func.max(obs.c.ts)).where(obs.c.ts >= lo, obs.c.ts < hi))
    rfirst, rlast = session.execute(
        select(func.min(roll.c.bucket), func.max(roll.c.bucket)).where(
            roll.c.period == str(RollupPeriod.HOUR), roll.c.bucket >= lo, roll.c.bucket < hi
        )
    ).one()
    starts = [t for t in (first, rfirst) if t is not None]
    ends = [t for t in (last, rlast) if t is not None]
    if not starts:
        return []
    h = floor_bucket(min(starts), RollupPeriod.HOUR)
    stop = max(ends)
    hours = []
    while h <= stop:
        hours.append(h)
        h += HOUR
    return hours


def refresh_rollups(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    offset_hours: int = 7,
    periods: tuple[str, ...] = (RollupPeriod.HOUR, RollupPeriod.DAY),
) -> dict[str, int]:
    """Recompute the rollup buckets overlapping [start, end): hourly rows from the raw
    observations, then daily rows from the hourly ones (so a DAY-only refresh expects the hourly
    rows to be current), then the per-kecamatan and monthly sums. Returns rows per period."""
    roll = ObservationRollup.__table__
    written: dict[str, int] = {}
    for period in (RollupPeriod.HOUR, RollupPeriod.DAY):
        if period not in periods:
            continue
        lo = floor_bucket(start, period, offset_hours)
        step = HOUR if period == RollupPeriod.HOUR else DAY
        hi = floor_bucket(end, period, offset_hours)
        if hi < end:
            hi += step
        if period == RollupPeriod.HOUR:
            for hour in _raw_hours(session, lo, hi):
                refresh_hour(session, hour)
        else:
            day = lo
            while day < hi:
                refresh_day(session, day)
                day += DAY
        # rowcount of INSERT ... SELECT is not reported by every driver: count instead
        written[str(period)] = session.scalar(
            select(func.count())
            .select_from(roll)
            .where(roll.c.period == str(period), roll.c.bucket >= lo, roll.c.bucket < hi)
        )
        refresh_area_rollups(session, lo, hi, periods=(period,), offset_hours=offset_hours)
    return written


class RollupTracker:
    """The rollup buckets new observations touched, refreshed incrementally.

    The writer ``add``s the time of every observation it stored; ``refresh`` recomputes only
    those hours (from the raw rows), then, when asked, the local days, kecamatan sums and
    camera months that contain them (from the hourly rows). A late or out-of-order observation
    touches its own hour and day, nothing in between. Not thread-safe: one writer owns it.
    """

    def __init__(self, offset_hours: int = 7) -> None:
        self.offset_hours = offset_hours
        self.hours: set[datetime] = set()
        self.days: set[datetime] = set()  # days whose hours were refreshed, days not yet

    def add(self, ts: datetime) -> None:
        self.hours.add(floor_bucket(ts, RollupPeriod.HOUR))

    @property
    def pending(self) -> bool:
        return bool(self.hours or self.days)

    def refresh(
        self, session: Session, *, days: bool = True, not_before: datetime | None = None
    ) -> dict[str, int]:
        """Refresh the touched hours (and the days holding them when ``days``) in the caller's
        transaction; call ``done()`` once it committed (a failed refresh keeps them pending).
        Hours starting before ``not_before`` (the raw retention cutoff: their raw rows are
        being pruned) are dropped, not recomputed from what is left of them."""
        hours = sorted(h for h in self.hours if not_before is None or h >= not_before)
        if len(hours) < len(self.hours):
            logger.info(
                "%d touched hours are older than the raw retention: not recomputed",
                len(self.hours) - len(hours),
            )
        for h in hours:
            refresh_hour(session, h)
        for lo, hi in _runs(hours, HOUR):
            refresh_area_rollups(session, lo, hi, periods=(RollupPeriod.HOUR,))
        new_days = {floor_bucket(h, RollupPeriod.DAY, self.offset_hours) for h in hours}
        day_list: list[datetime] = []
        if days:
            day_list = sorted(self.days | new_days)
            for d in day_list:
                refresh_day(session, d)
            for lo, hi in _runs(day_list, DAY):
                refresh_area_rollups(
                    session, lo, hi, periods=(RollupPeriod.DAY,), offset_hours=self.offset_hours
                )
        self._taken = (set(self.hours), set(day_list), set() if days else new_days)
        return {"hour": len(hours), "day": len(day_list)}

    def done(self) -> None:
        """The last ``refresh`` committed: forget what it covered."""
        hours, days, later = getattr(self, "_taken", (set(), set(), set()))
        self.hours -= hours
        self.days = (self.days - days) | later
        self._taken = (set(), set(), set())


def raw_window_start(session: Session) -> datetime | None:
    """Hour of the oldest raw observation (prunes cut whole UTC days, so that hour is whole)."""
    first = session.scalar(select(func.min(Observation.__table__.c.ts)))
    return floor_bucket(first, RollupPeriod.HOUR) if first is not None else None


def rebuild_rollups(
    session: Session,
    *,
    offset_hours: int = 7,
    since: datetime | None = None,
    progress=None,
) -> dict[str, int]:
    """Recompute every rollup the raw observations still support: hourly rows of the hours
    from ``since`` (default: the first complete hour of raw rows) on, the local days that
    contain them, their kecamatan sums and camera months. Older rollups (their raw rows
    pruned) are kept as they are. Returns buckets rebuilt per period."""
    start = since or raw_window_start(session)
    if start is None:
        return {"hour": 0, "day": 0}
    end = session.scalar(select(func.max(Observation.__table__.c.ts)))
    tracker = RollupTracker(offset_hours)
    h = floor_bucket(start, RollupPeriod.HOUR)
    h = h if h >= start else h + HOUR
    while end is not None and h <= end:
        tracker.hours.add(h)
        h += HOUR
    if progress:
        progress("rollups", 0, len(tracker.hours))
    out = tracker.refresh(session, days=True, not_before=start)
    if progress:
        progress("rollups", len(tracker.hours), len(tracker.hours))
    tracker.done()
    return out


def refresh_area_rollups(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    periods: tuple[str, ...] = (RollupPeriod.HOUR, RollupPeriod.DAY),
    offset_hours: int = 7,
) -> int:
    """Recompute ``area_rollups`` (per-kecamatan sums of camera rollups) for buckets in
    [start, end), or for every bucket when both are None. Returns rows written."""
    from store.models import AreaRollup, Camera

    roll = ObservationRollup.__table__
    area = AreaRollup.__table__
    cams = Camera.__table__
    kec = func.coalesce(cams.c.kecamatan, "").label("kecamatan")
    written = 0
    for period in periods:
        cond = [roll.c.period == str(period)]
        area_cond = [area.c.period == str(period)]
        lo = start
        if lo is None and period == RollupPeriod.HOUR:
            # camera hours are pruned after hourly_rollup_retention_days; the kecamatan hours
            # are kept for ever: a whole rebuild starts at the oldest camera hour kept
            lo = session.scalar(select(func.min(roll.c.bucket)).where(*cond))
            if lo is None:
                continue
        if lo is not None:
            cond.append(roll.c.bucket >= lo)
            area_cond.append(area.c.bucket >= lo)
        if end is not None:
            cond.append(roll.c.bucket < end)
            area_cond.append(area.c.bucket < end)
        session.execute(delete(area).where(*area_cond))
        water_wet = func.sum(func.cast(roll.c.water_max >= 0.3, type_=Integer))
        query = (
            select(
                kec,
                roll.c.period,
                roll.c.bucket,
                func.count(),
                func.coalesce(func.sum(roll.c.samples), 0),
                func.sum(roll.c.people_avg),
                func.count(roll.c.people_avg),
                func.max(roll.c.people_max),
                func.sum(roll.c.vehicles_avg),
                func.count(roll.c.vehicles_avg),
                func.max(roll.c.vehicles_max),
                func.sum(
                    func.coalesce(roll.c.flow_in_sum, 0) + func.coalesce(roll.c.flow_out_sum, 0)
                ),
                func.max(roll.c.water_max),
                func.coalesce(water_wet, 0),
            )
            .join(cams, cams.c.id == roll.c.camera_id)
            .where(*cond)
            .group_by(kec, roll.c.period, roll.c.bucket)
        )
        cols = [
            "kecamatan",
            "period",
            "bucket",
            "cameras",
            "samples",
            "people_sum",
            "people_n",
            "people_max",
            "vehicles_sum",
            "vehicles_n",
            "vehicles_max",
            "flow_sum",
            "water_max",
            "wet_n",
        ]
        session.execute(insert(area).from_select(cols, query))
        written += session.scalar(select(func.count()).select_from(area).where(*area_cond)) or 0
    if start is None and end is None:
        analyze_tables(session, area.name)
    if RollupPeriod.DAY in periods:  # camera rankings read running totals / monthly sums
        refresh_camera_month_rollups(session, start, end, offset_hours=offset_hours)
        refresh_camera_day_totals(session, start)
    return written


def analyze_tables(session: Session, *tables: str) -> None:
    """Refresh PostgreSQL's planner statistics of tables just rebuilt whole (in the caller's
    transaction; cheap on rollup tables). Autovacuum would get there only later, and until then
    the planner sees the old row counts. SQLite keeps its plans without statistics here."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        session.execute(text(f'ANALYZE "{name}"'))
        logger.debug("analyzed %s", name)


def _month_start(ts: datetime, offset_hours: int) -> datetime:
    """UTC instant at which the local month containing ``ts`` starts."""
    local = ts.astimezone(UTC) + timedelta(hours=offset_hours)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first - timedelta(hours=offset_hours)


def refresh_camera_month_rollups(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    offset_hours: int = 7,
) -> int:
    """Recompute ``camera_month_rollups`` from the daily rollups for the local months that
    overlap [start, end) (every month when both are None). Returns rows written."""
    from store.models import CameraMonthRollup

    roll = ObservationRollup.__table__
    month = CameraMonthRollup.__table__
    dialect = session.get_bind().dialect.name
    b = roll.c.bucket
    if dialect == "sqlite":
        shift = f"{offset_hours:+d} hours"
        bucket = func.strftime(
            "%Y-%m-%d %H:%M:%S.000000",
            func.strftime("%Y-%m-01 00:00:00", b, shift),
            f"{-offset_hours:+d} hours",
        )
    elif dialect == "postgresql":
        delta = text(f"interval '{int(offset_hours)} hours'")
        local = func.timezone("UTC", b) + delta  # naive local time, whatever the session zone
        bucket = func.timezone("UTC", func.date_trunc("month", local) - delta)
    else:
        raise NotImplementedError(dialect)
    bucket = bucket.label("bucket")
    cond = [roll.c.period == str(RollupPeriod.DAY)]
    month_cond = []
    if start is not None:
        lo = _month_start(start, offset_hours)
        cond.append(roll.c.bucket >= lo)
        month_cond.append(month.c.bucket >= lo)
    if end is not None:
        hi = _month_start(end - timedelta(microseconds=1), offset_hours)
        hi = _month_start(hi + timedelta(days=32), offset_hours)  # start of the next month
        cond.append(roll.c.bucket < hi)
        month_cond.append(month.c.bucket < hi)
    session.execute(delete(month).where(*month_cond))
    wet = func.sum(func.cast(roll.c.water_max >= 0.3, type_=Integer))
    query = (
        select(
            roll.c.camera_id,
            bucket,
            func.count(),
            func.sum(func.coalesce(roll.c.flow_in_sum, 0) + func.coalesce(roll.c.flow_out_sum, 0)),
            func.sum(roll.c.people_avg),
            func.count(roll.c.people_avg),
            func.max(roll.c.people_max),
            func.sum(roll.c.vehicles_avg),
            func.count(roll.c.vehicles_avg),
            func.max(roll.c.water_max),
            func.coalesce(wet, 0),
        )
        .where(*cond)
        .group_by(roll.c.camera_id, bucket)
    )
    cols = [
        "camera_id",
        "bucket",
        "days",
        "flow_sum",
        "people_sum",
        "people_n",
        "people_max",
        "vehicles_sum",
        "vehicles_n",
        "water_max",
        "wet_days",
    ]
    session.execute(insert(month).from_select(cols, query))
    if start is None and end is None:  # rebuilt whole: the planner's row counts are stale
        analyze_tables(session, month.name)
    return session.scalar(select(func.count()).select_from(month).where(*month_cond)) or 0


def refresh_camera_day_totals(session: Session, start: datetime | None = None) -> int:
    """Recompute ``camera_day_totals`` from the local day ``start`` (every day when None) up
    to the last daily rollup: day by day, the previous day's totals plus the day's rollups,
    so cameras without data on a day carry their totals forward. Returns days computed."""
    from store.models import CameraDayTotal

    roll = ObservationRollup.__table__
    tot = CameraDayTotal.__table__
    day_rows = roll.c.period == str(RollupPeriod.DAY)
    first = session.scalar(select(func.min(roll.c.bucket)).where(day_rows))
    last = session.scalar(select(func.max(roll.c.bucket)).where(day_rows))
    if first is None:
        session.execute(delete(tot))
        return 0
    day = first if start is None else max(first, _day_floor_like(start, first))
    session.execute(delete(tot).where(tot.c.day >= day))
    cols = ["camera_id", "day", "days", "flow", "people_sum", "people_n", "vehicles_sum",
            "vehicles_n", "wet_days"]  # fmt: skip
    n = 0
    while day <= last:
        prev = select(
            tot.c.camera_id, tot.c.days.label("d"), tot.c.flow.label("f"),
            tot.c.people_sum.label("ps"), tot.c.people_n.label("pn"),
            tot.c.vehicles_sum.label("vs"), tot.c.vehicles_n.label("vn"),
            tot.c.wet_days.label("w"),
        ).where(tot.c.day == day - DAY)  # fmt: skip
        today = select(
            roll.c.camera_id,
            literal(1).label("d"),
            (func.coalesce(roll.c.flow_in_sum, 0) + func.coalesce(roll.c.flow_out_sum, 0)).label(
                "f"
            ),
            func.coalesce(roll.c.people_avg, 0.0).label("ps"),
            case((roll.c.people_avg.is_(None), 0), else_=1).label("pn"),
            func.coalesce(roll.c.vehicles_avg, 0.0).label("vs"),
            case((roll.c.vehicles_avg.is_(None), 0), else_=1).label("vn"),
            case((roll.c.water_max >= 0.3, 1), else_=0).label("w"),
        ).where(day_rows, roll.c.bucket == day)
        both = union_all(prev, today).subquery("both")
        query = select(
            both.c.camera_id,
            literal(day, UTCDateTime()),
            func.sum(both.c.d),
            func.sum(both.c.f),
            func.sum(both.c.ps),
            func.sum(both.c.pn),
            func.sum(both.c.vs),
            func.sum(both.c.vn),
            func.sum(both.c.w),
        ).group_by(both.c.camera_id)
        session.execute(insert(tot).from_select(cols, query))
        day += DAY
        n += 1
    if start is None:
        analyze_tables(session, tot.name)
    return n


def _day_floor_like(ts: datetime, anchor: datetime) -> datetime:
    """The daily bucket (aligned like ``anchor``, a bucket) holding ``ts``."""
    whole = (ts.astimezone(UTC) - anchor.astimezone(UTC)) // DAY
    return anchor.astimezone(UTC) + whole * DAY
