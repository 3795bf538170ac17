"""Hourly and daily rollups of observations, computed in SQL, read by the dashboards.

Daily buckets follow the city's local day (WIB by default): a bucket's ``bucket`` is the UTC
instant at which that local day starts. Refreshing a range deletes and recomputes the buckets
that overlap it, so running it twice gives the same rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session

from store.models import Observation, ObservationRollup, RollupPeriod

logger = logging.getLogger(__name__)


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


def _bucket_expr(dialect: str, period: str, offset_hours: int) -> ColumnElement:
    ts = Observation.__table__.c.ts
    if dialect == "sqlite":
        if period == RollupPeriod.HOUR:
            return func.strftime("%Y-%m-%d %H:00:00.000000", ts)
        return func.strftime(
            "%Y-%m-%d %H:%M:%S.000000",
            func.strftime("%Y-%m-%d 00:00:00", ts, f"{offset_hours:+d} hours"),
            f"{-offset_hours:+d} hours",
        )
    if dialect == "postgresql":
        if period == RollupPeriod.HOUR:
            return func.date_trunc("hour", ts)
        shift = text(f"interval '{offset_hours} hours'")
        return func.date_trunc("day", ts + shift) - shift
    raise NotImplementedError(dialect)


def refresh_rollups(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    offset_hours: int = 7,
    periods: tuple[str, ...] = (RollupPeriod.HOUR, RollupPeriod.DAY),
) -> dict[str, int]:
    """Recompute the rollup buckets overlapping [start, end). Returns rows written per period."""
    dialect = session.get_bind().dialect.name
    obs = Observation.__table__
    roll = ObservationRollup.__table__
    written: dict[str, int] = {}
    for period in periods:
        lo = floor_bucket(start, period, offset_hours)
        step = timedelta(hours=1) if period == RollupPeriod.HOUR else timedelta(days=1)
        hi = floor_bucket(end, period, offset_hours)
        if hi < end:
            hi += step
        session.execute(
            delete(roll).where(roll.c.period == period, roll.c.bucket >= lo, roll.c.bucket < hi)
        )
        bucket = _bucket_expr(dialect, period, offset_hours).label("bucket")
        vehicles = obs.c.vehicles_total
        query = (
            select(
                obs.c.camera_id,
                literal(str(period)).label("period"),
                bucket,
                func.count().label("samples"),
                func.avg(obs.c.people),
                func.max(obs.c.people),
                func.avg(vehicles),
                func.max(vehicles),
                func.avg(obs.c.vehicles_car),
                func.avg(obs.c.vehicles_motorcycle),
                func.avg(obs.c.vehicles_bus),
                func.avg(obs.c.vehicles_truck),
                func.sum(obs.c.flow_in),
                func.sum(obs.c.flow_out),
                func.avg(obs.c.motion_ratio),
                func.avg(obs.c.water_coverage),
                func.max(obs.c.water_coverage),
            )
            .where(obs.c.ts >= lo, obs.c.ts < hi)
            .group_by(obs.c.camera_id, bucket)
        )
        cols = [
            "camera_id",
            "period",
            "bucket",
            "samples",
            "people_avg",
            "people_max",
            "vehicles_avg",
            "vehicles_max",
            "car_avg",
            "motorcycle_avg",
            "bus_avg",
            "truck_avg",
            "flow_in_sum",
            "flow_out_sum",
            "motion_avg",
            "water_avg",
            "water_max",
        ]
        session.execute(insert(roll).from_select(cols, query))
        # rowcount of INSERT ... SELECT is not reported by every driver: count instead
        written[str(period)] = session.scalar(
            select(func.count())
            .select_from(roll)
            .where(roll.c.period == period, roll.c.bucket >= lo, roll.c.bucket < hi)
        )
        refresh_area_rollups(session, lo, hi, periods=(period,))  # dashboard trends read these
    return written


def refresh_area_rollups(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    periods: tuple[str, ...] = (RollupPeriod.HOUR, RollupPeriod.DAY),
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
        if start is not None:
            cond.append(roll.c.bucket >= start)
            area_cond.append(area.c.bucket >= start)
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
    if RollupPeriod.DAY in periods:  # camera rankings over long ranges read monthly sums
        refresh_camera_month_rollups(session, start, end)
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
