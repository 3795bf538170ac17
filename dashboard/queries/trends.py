"""Trends over the rollup table: the read side of the traffic, flood and crowd pages.

Every query reads ``observation_rollups`` only (never raw observations):

- ``hour`` granularity reads the hourly rollups;
- ``day``, ``week`` and ``month`` read the daily rollups, and week/month are aggregated from them
  in SQL (local WIB weeks starting on Monday, local calendar months).

Periods come back as *local* naive datetimes (the start of the hour/day/week/month in the
city's time zone), which is what the charts show and the downloads contain.

Aggregates across cameras are defined so that they mean the same at every granularity:
``sum`` metrics (vehicles crossing counting lines) add up, ``avg`` metrics are the mean per
camera and hour, ``max`` metrics are the highest value seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Select, case, func, literal_column, select, union_all
from sqlalchemy.orm import Session

from store.models import (
    AreaRollup,
    Camera,
    CameraDayTotal,
    CameraMonthRollup,
    ObservationRollup,
    RollupPeriod,
)

logger = logging.getLogger(__name__)

GRANULARITIES = ("hour", "day", "week", "month")
#: Longest range (days) shown hour by hour; longer ranges are refused by the callers' clamp.
MAX_HOURLY_DAYS = 31
#: Weeks of history before a range that make up the "usual" profile.
USUAL_WEEKS = 4

R = ObservationRollup.__table__
A = AreaRollup.__table__
M = CameraMonthRollup.__table__
T = CameraDayTotal.__table__
DAY = timedelta(days=1)
#: Ranges at least this long rank cameras from monthly sums (plus daily rows at the edges).
MONTHLY_RANKING_DAYS = 62
#: Share of a road ROI under water from which a camera counts as flooded ("tergenang").
WET_THRESHOLD = 0.3
#: metrics defined on hourly rows at every granularity ("% of time flooded" counts hours)
HOURLY_METRICS = frozenset({"wet"})


@dataclass(frozen=True)
class Metric:
    """A measure over rollups, as SQL over the per-kecamatan table (``area``) and over the
    per-camera table (``camera``), with its label and unit keys for i18n."""

    key: str
    label_key: str
    unit_key: str
    area: Callable[[], ColumnElement]
    camera: Callable[[], ColumnElement]
    decimals: int = 0


def _ratio(total: ColumnElement, n: ColumnElement) -> ColumnElement:
    return func.sum(total) * 1.0 / func.nullif(func.sum(n), 0)


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "flow",
            "metric.flow",
            "unit.vehicles",
            lambda: func.sum(A.c.flow_sum),
            lambda: func.sum(
                func.coalesce(R.c.flow_in_sum, 0) + func.coalesce(R.c.flow_out_sum, 0)
            ),
        ),
        Metric(
            "vehicles",
            "metric.vehicles",
            "unit.vehicles_per_cam",
            lambda: _ratio(A.c.vehicles_sum, A.c.vehicles_n),
            lambda: func.avg(R.c.vehicles_avg),
            1,
        ),
        Metric(
            "people",
            "metric.people",
            "unit.people_per_cam",
            lambda: _ratio(A.c.people_sum, A.c.people_n),
            lambda: func.avg(R.c.people_avg),
            1,
        ),
        Metric(
            "people_max",
            "metric.people_max",
            "unit.people",
            lambda: func.max(A.c.people_max),
            lambda: func.max(R.c.people_max),
        ),
        Metric(
            "water_max",
            "metric.water_max",
            "unit.percent",
            lambda: func.max(A.c.water_max) * 100.0,
            lambda: func.max(R.c.water_max) * 100.0,
            1,
        ),
        Metric(
            "wet",
            "metric.wet",
            "unit.wet.share",
            # share of camera-hours with water on >= 30 % of the road (hourly rows only)
            lambda: func.sum(A.c.wet_n) * 100.0 / func.nullif(func.sum(A.c.cameras), 0),
            lambda: func.avg(case((R.c.water_max >= WET_THRESHOLD, 100.0), else_=0.0)),
            1,
        ),
    )
}


@dataclass(frozen=True)
class TrendFilter:
    """What a trend shows: a UTC range [start, end), a granularity and optional filters."""

    start: datetime
    end: datetime
    granularity: str = "day"
    kecamatan: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()  # camera codes
    tag: str | None = None  # only cameras carrying this tag (traffic, flood, crowd)
    offset_hours: int = 7
    metrics: tuple[str, ...] = field(default=("flow",))

    def shifted(self, delta: timedelta) -> TrendFilter:
        return replace(self, start=self.start - delta, end=self.end - delta)

    def cache_key(self) -> str:
        return "|".join(
            [
                self.start.isoformat(),
                self.end.isoformat(),
                self.granularity,
                ",".join(self.kecamatan),
                ",".join(self.cameras),
                self.tag or "",
                str(self.offset_hours),
                ",".join(self.metrics),
            ]
        )


def local_range(start_day: date, end_day: date, offset_hours: int = 7) -> tuple[datetime, datetime]:
    """UTC instants bounding the local days start_day..end_day (both included)."""
    lo = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
    hi = datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC) + timedelta(days=1)
    shift = timedelta(hours=offset_hours)
    return lo - shift, hi - shift


_area_checked: set[str] = set()


def ensure_area_rollups(session: Session) -> None:
    """Build ``area_rollups`` once for a database that has camera rollups but none yet (a
    database seeded before the table existed). Checked once per process and database."""
    url = str(session.get_bind().url)
    if url in _area_checked:
        return
    _area_checked.add(url)
    # derived tables added after a database was created at the (single, pre-release) initial
    # migration: create them; their rows are rebuilt from the camera rollups just below
    conn = session.connection()
    for table in (A, M, T):
        table.create(conn, checkfirst=True)
    has_area = session.scalar(select(A.c.id).limit(1)) is not None
    has_month = session.scalar(select(M.c.id).limit(1)) is not None
    has_totals = session.scalar(select(T.c.id).limit(1)) is not None
    has_camera = session.scalar(select(R.c.id).limit(1)) is not None
    if has_camera and not has_area:
        from store.rollups import refresh_area_rollups

        logger.info("building area rollups from the camera rollups (one-off)")
        refresh_area_rollups(session)  # builds the monthly camera sums too
        session.commit()
    elif has_camera and not has_month:
        from store.rollups import refresh_camera_month_rollups

        logger.info("building monthly camera rollups from the daily ones (one-off)")
        refresh_camera_month_rollups(session)
        session.commit()
    if has_camera and not has_totals and session.scalar(select(T.c.id).limit(1)) is None:
        from store.rollups import refresh_camera_day_totals

        logger.info("building the cameras' running daily totals (one-off)")
        refresh_camera_day_totals(session)
        session.commit()


def _camera_ids(session: Session, f: TrendFilter) -> list[int] | None:
    """Camera ids the filters select, or None for every camera."""
    if not (f.kecamatan or f.cameras or f.tag):
        return None
    q = select(Camera.id, Camera.tags)
    if f.kecamatan:
        q = q.where(Camera.kecamatan.in_(f.kecamatan))
    if f.cameras:
        q = q.where(Camera.code.in_(f.cameras))
    rows = session.execute(q).all()
    if f.tag:  # tags are a JSON list: filter in Python (the camera table is small)
        rows = [r for r in rows if f.tag in (r.tags or [])]
    return [r.id for r in rows]


def _period_expr(
    b: ColumnElement, dialect: str, granularity: str, offset_hours: int
) -> ColumnElement:
    """SQL expression of the local period start (text on SQLite, timestamp on PostgreSQL)."""
    if dialect == "sqlite":
        shift = f"{offset_hours:+d} hours"
        if granularity == "week":
            return func.date(b, shift, "-6 days", "weekday 1")
        if granularity == "month":
            return func.strftime("%Y-%m-01", b, shift)
        if granularity == "day":
            return func.strftime("%Y-%m-%d 00:00:00", b, shift)
        return func.strftime("%Y-%m-%d %H:00:00", b, shift)
    if dialect == "postgresql":
        local = func.timezone("UTC", b) + literal_column(f"interval '{int(offset_hours)} hours'")
        if granularity in ("day", "week", "month"):
            return func.date_trunc(granularity, local)
        return local
    raise NotImplementedError(dialect)


def hourly_source(f: TrendFilter) -> bool:
    """Read hourly rollups: hourly trends, and metrics defined on hours at any granularity."""
    return f.granularity == "hour" or bool(HOURLY_METRICS & set(f.metrics))


def uses_area_table(f: TrendFilter) -> bool:
    """City-wide and per-kecamatan trends read ``area_rollups``; camera or tag filters need the
    per-camera rollups (few rows once filtered to some cameras)."""
    return not (f.cameras or f.tag)


def _trend_select(session: Session, f: TrendFilter) -> Select:
    dialect = session.get_bind().dialect.name
    period = RollupPeriod.HOUR if hourly_source(f) else RollupPeriod.DAY
    if uses_area_table(f):
        t = A
        cols = [METRICS[m].area().label(m) for m in f.metrics]
    else:
        t = R
        cols = [METRICS[m].camera().label(m) for m in f.metrics]
    if f.granularity == "hour" or (f.granularity == "day" and not hourly_source(f)):
        # group by the stored bucket itself: the index delivers rows in that order (no sort),
        # and the shift to local time happens once per period in pandas
        label = t.c.bucket.label("period")
    else:
        label = _period_expr(t.c.bucket, dialect, f.granularity, f.offset_hours).label("period")
    q = (
        select(label, *cols, func.sum(t.c.samples).label("samples"))
        .where(t.c.period == str(period), t.c.bucket >= f.start, t.c.bucket < f.end)
        .group_by(label)
        .order_by(label)
    )
    if t is A:
        if f.kecamatan:
            q = q.where(A.c.kecamatan.in_(f.kecamatan))
    else:
        cam_ids = _camera_ids(session, f) or [-1]
        q = q.where(R.c.camera_id.in_(cam_ids))
    return q


def _to_local_period(values: pd.Series) -> pd.Series:
    out = pd.to_datetime(values)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


def period_index(f: TrendFilter) -> pd.DatetimeIndex:
    """Every local period start in the range, so gaps show as gaps, not as joined lines."""
    shift = timedelta(hours=f.offset_hours)
    lo = (f.start + shift).replace(tzinfo=None)
    hi = (f.end + shift).replace(tzinfo=None) - timedelta(microseconds=1)
    if f.granularity == "hour":
        return pd.date_range(lo.replace(minute=0, second=0, microsecond=0), hi, freq="h")
    if f.granularity == "day":
        return pd.date_range(lo.replace(hour=0, minute=0, second=0, microsecond=0), hi, freq="D")
    if f.granularity == "week":
        first = lo.date() - timedelta(days=lo.weekday())
        return pd.date_range(pd.Timestamp(first), hi, freq="7D")
    first = date(lo.year, lo.month, 1)
    return pd.date_range(pd.Timestamp(first), hi, freq="MS")


def trend(session: Session, f: TrendFilter) -> pd.DataFrame:
    """One row per local period: ``period``, one column per metric and ``samples``."""
    if f.granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {f.granularity!r}")
    ensure_area_rollups(session)
    rows = session.execute(_trend_select(session, f)).all()
    df = pd.DataFrame(rows, columns=["period", *f.metrics, "samples"])
    if not len(df):
        df["period"] = pd.Series(dtype="datetime64[ns]")
    elif f.granularity == "hour" or (f.granularity == "day" and not hourly_source(f)):
        # UTC bucket starts -> local period starts
        utc = pd.to_datetime(df["period"], utc=True).dt.tz_localize(None)
        df["period"] = utc + pd.Timedelta(hours=f.offset_hours)
    else:
        df["period"] = _to_local_period(df["period"])
    full = pd.DataFrame({"period": period_index(f)})
    df = full.merge(df, on="period", how="left")
    df["samples"] = pd.to_numeric(df["samples"], errors="coerce").fillna(0).astype(int)
    for m in f.metrics:
        df[m] = pd.to_numeric(df[m], errors="coerce").astype(float)
    return df


def previous_period(session: Session, f: TrendFilter) -> pd.DataFrame:
    """The same length of time just before the range, aligned by position to ``trend(f)``."""
    span = f.end - f.start
    prev = trend(session, f.shifted(span))
    return prev


def usual_profile(session: Session, f: TrendFilter) -> pd.DataFrame | None:
    """The usual value for each period: mean of the same local hour and weekday (hourly) or the
    same weekday (daily) over the ``USUAL_WEEKS`` weeks before the range. None for weeks and
    months, where "same weekday" has no meaning."""
    if f.granularity not in ("hour", "day"):
        return None
    history = trend(session, replace(f, start=f.start - timedelta(weeks=USUAL_WEEKS), end=f.start))
    history = history[history["samples"] > 0]
    keys = ["weekday", "hour"] if f.granularity == "hour" else ["weekday"]
    history = history.assign(weekday=history["period"].dt.weekday, hour=history["period"].dt.hour)
    profile = history.groupby(keys)[list(f.metrics)].mean()
    current = pd.DataFrame({"period": period_index(f)})
    current = current.assign(weekday=current["period"].dt.weekday, hour=current["period"].dt.hour)
    out = current.merge(profile.reset_index(), on=keys, how="left")
    return out[["period", *f.metrics]]


def camera_values(session: Session, f: TrendFilter, metric: str) -> pd.DataFrame:
    """``metric`` per camera over the range: code, name, kecamatan, lat, lon, value (map layers
    and top locations), highest first."""
    m = METRICS[metric]
    # ranges are whole local days, so the daily rollups give the same totals, maxima and
    # (day-weighted) means as the hourly ones, from 24 times fewer rows
    whole_days = (f.end - f.start) % timedelta(days=1) == timedelta(0)
    if whole_days and metric in TOTAL_PARTS:
        return _camera_values_totals(session, f, metric)
    if whole_days and f.end - f.start >= timedelta(days=MONTHLY_RANKING_DAYS):
        return _camera_values_monthly(session, f, metric)
    period = RollupPeriod.DAY if whole_days else RollupPeriod.HOUR
    cam_ids = _camera_ids(session, f)
    value = m.camera().label("value")
    q = (
        select(R.c.camera_id, value)
        .where(R.c.period == str(period), R.c.bucket >= f.start, R.c.bucket < f.end)
        .group_by(R.c.camera_id)
    )
    if cam_ids is not None:
        q = q.where(R.c.camera_id.in_(cam_ids or [-1]))
    return _ranked(session, q.subquery("per_camera"))


_CAMERA_VALUE_COLS = ["code", "name", "kecamatan", "lat", "lon", "value"]


def _ranked(session: Session, per_camera) -> pd.DataFrame:
    """Cameras with their ``value`` from ``per_camera`` (camera_id, value), highest first,
    joined and ordered in SQL (no per-row work in pandas)."""
    from dashboard.queries import gc_paused

    with gc_paused():  # one row per camera
        rows = session.execute(
            select(
                Camera.code,
                Camera.name,
                func.coalesce(Camera.kecamatan, ""),
                Camera.lat,
                Camera.lon,
                per_camera.c.value,
            )
            .join(per_camera, per_camera.c.camera_id == Camera.id)
            .where(per_camera.c.value.is_not(None))
            .order_by(per_camera.c.value.desc(), Camera.id)
        ).all()
        if not rows:
            return pd.DataFrame(columns=_CAMERA_VALUE_COLS)
        return pd.DataFrame([(*r[:5], float(r[5])) for r in rows], columns=_CAMERA_VALUE_COLS)


#: metrics a range of whole days gets from two rows of running totals per camera:
#: (numerator column, denominator column or None); the range must have days with data
TOTAL_PARTS = {
    "flow": ("flow", None),
    "people": ("people_sum", "people_n"),
    "vehicles": ("vehicles_sum", "vehicles_n"),
    "wet": ("wet_days", None),
}


def _camera_values_totals(session: Session, f: TrendFilter, metric: str) -> pd.DataFrame:
    """``camera_values`` of a range of whole local days from ``camera_day_totals``: the
    totals at the range's last day minus those at the day before it (same sums, day-weighted
    means and day counts as the daily rollups of the range), cameras without a daily rollup
    in the range left out. Two index lookups per camera, whatever the range's length."""
    ensure_area_rollups(session)
    hi_day = session.scalar(select(func.max(T.c.day)).where(T.c.day < f.end))
    if hi_day is None or hi_day < f.start:
        return pd.DataFrame(columns=_CAMERA_VALUE_COLS)
    hi = T.alias("hi")
    lo = T.alias("lo")
    num, den = TOTAL_PARTS[metric]

    def diff(col: str) -> ColumnElement:
        return hi.c[col] - func.coalesce(lo.c[col], 0)

    value = diff(num) * 1.0
    if den is not None:
        value = value / func.nullif(diff(den), 0)
    q = (
        select(hi.c.camera_id.label("camera_id"), value.label("value"))
        .select_from(
            hi.outerjoin(lo, (lo.c.camera_id == hi.c.camera_id) & (lo.c.day == f.start - DAY))
        )
        .where(hi.c.day == hi_day, diff("days") > 0)
    )
    cam_ids = _camera_ids(session, f)
    if cam_ids is not None:
        q = q.where(hi.c.camera_id.in_(cam_ids or [-1]))
    return _ranked(session, q.subquery("per_camera"))


def _month_floor(ts: datetime, offset_hours: int) -> datetime:
    local = ts + timedelta(hours=offset_hours)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(
        hours=offset_hours
    )


def _next_month(ts: datetime, offset_hours: int) -> datetime:
    return _month_floor(_month_floor(ts, offset_hours) + timedelta(days=32), offset_hours)


def _part_columns(metric: str, monthly: bool) -> list[ColumnElement]:
    """Per-camera partial aggregates of ``metric`` (``a`` and, for means, ``b``) over the
    monthly rollups or the daily rollups, combined exactly by ``_combine``."""
    if monthly:
        cols = {
            "flow": [func.sum(M.c.flow_sum)],
            "people": [func.sum(M.c.people_sum), func.sum(M.c.people_n)],
            "people_max": [func.max(M.c.people_max)],
            "vehicles": [func.sum(M.c.vehicles_sum), func.sum(M.c.vehicles_n)],
            "water_max": [func.max(M.c.water_max)],
            "wet": [func.sum(M.c.wet_days)],
        }[metric]
    else:
        cols = {
            "flow": [
                func.sum(func.coalesce(R.c.flow_in_sum, 0) + func.coalesce(R.c.flow_out_sum, 0))
            ],
            "people": [func.sum(R.c.people_avg), func.count(R.c.people_avg)],
            "people_max": [func.max(R.c.people_max)],
            "vehicles": [func.sum(R.c.vehicles_avg), func.count(R.c.vehicles_avg)],
            "water_max": [func.max(R.c.water_max)],
            "wet": [func.sum(case((R.c.water_max >= WET_THRESHOLD, 1), else_=0))],
        }[metric]
    return [c.label(name) for c, name in zip(cols, ("a", "b"), strict=False)]


def _combine(metric: str, part) -> ColumnElement:
    """The value of ``metric`` per camera from the partial aggregates of ``_part_columns``
    (sums of nothing count as 0, means of nothing and maxima of nothing are NULL)."""
    if metric in ("flow", "wet"):
        return func.coalesce(func.sum(part.c.a), 0) * 1.0
    if metric in ("people", "vehicles"):
        return func.coalesce(func.sum(part.c.a), 0) * 1.0 / func.nullif(func.sum(part.c.b), 0)
    if metric == "water_max":
        return func.max(part.c.a) * 100.0
    return func.max(part.c.a) * 1.0


def _camera_values_monthly(session: Session, f: TrendFilter, metric: str) -> pd.DataFrame:
    """``camera_values`` for long ranges: whole local months from ``camera_month_rollups``,
    the days before the first and after the last whole month from the daily rollups. One
    query: the parts are combined, joined to the cameras and ranked in SQL."""
    ensure_area_rollups(session)
    first = _month_floor(f.start, f.offset_hours)
    m1 = first if first == f.start else _next_month(f.start, f.offset_hours)
    m2 = _month_floor(f.end, f.offset_hours)
    cam_ids = _camera_ids(session, f)
    day = R.c.period == str(RollupPeriod.DAY)
    parts = []
    if m1 < m2:
        q = (
            select(M.c.camera_id.label("camera_id"), *_part_columns(metric, True))
            .where(M.c.bucket >= m1, M.c.bucket < m2)
            .group_by(M.c.camera_id)
        )
        if cam_ids is not None:
            q = q.where(M.c.camera_id.in_(cam_ids or [-1]))
        parts.append(q)
        edges = [(f.start, m1), (m2, f.end)]
    else:
        edges = [(f.start, f.end)]
    for lo, hi in edges:
        if lo >= hi:
            continue
        q = (
            select(R.c.camera_id.label("camera_id"), *_part_columns(metric, False))
            .where(day, R.c.bucket >= lo, R.c.bucket < hi)
            .group_by(R.c.camera_id)
        )
        if cam_ids is not None:
            q = q.where(R.c.camera_id.in_(cam_ids or [-1]))
        parts.append(q)
    if not parts:
        return pd.DataFrame(columns=_CAMERA_VALUE_COLS)
    part = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("part")
    per_camera = (
        select(part.c.camera_id, _combine(metric, part).label("value"))
        .group_by(part.c.camera_id)
        .subquery("per_camera")
    )
    return _ranked(session, per_camera)


def top_locations(session: Session, f: TrendFilter, metric: str, limit: int = 10) -> pd.DataFrame:
    """The ``limit`` cameras with the highest ``metric`` over the range."""
    return camera_values(session, f, metric).head(limit)


def now_vs_usual(
    session: Session,
    now: datetime,
    metrics: Sequence[str] = ("people", "vehicles"),
) -> dict[str, tuple[float | None, float | None, datetime | None]]:
    """For the overview tiles: people / vehicles in view city-wide in the latest hourly bucket
    (sum over cameras of their hourly mean) and the usual for that hour (same hour and weekday,
    mean of the previous ``USUAL_WEEKS`` weeks) over the *same cameras*: a camera that reports
    now but not then (or then but not now) would otherwise read as a change of the city.

    Returns {metric: (now_value, usual_value, bucket_utc)}.
    """
    ensure_area_rollups(session)
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hourly = R.c.period == str(RollupPeriod.HOUR)
    latest = session.scalar(
        select(func.max(A.c.bucket)).where(
            A.c.period == str(RollupPeriod.HOUR),
            A.c.bucket <= hour,
            A.c.bucket > hour - timedelta(hours=6),
        )
    )
    if latest is None:
        return {m: (None, None, None) for m in metrics}
    cols = {"people": R.c.people_avg, "vehicles": R.c.vehicles_avg}
    sums = [func.sum(cols[m]).label(m) for m in metrics]
    current = session.execute(select(*sums).where(hourly, R.c.bucket == latest)).one()
    reporting = select(R.c.camera_id).where(hourly, R.c.bucket == latest)
    past = [latest - timedelta(weeks=k) for k in range(1, USUAL_WEEKS + 1)]
    rows = session.execute(
        select(R.c.bucket, *sums)
        .where(hourly, R.c.bucket.in_(past), R.c.camera_id.in_(reporting))
        .group_by(R.c.bucket)
    ).all()
    out: dict[str, tuple[float | None, float | None, datetime | None]] = {}
    for i, m in enumerate(metrics):
        vals = [float(r[i + 1]) for r in rows if r[i + 1] is not None]
        usual = sum(vals) / len(vals) if vals else None
        out[m] = (float(current[i]) if current[i] is not None else None, usual, latest)
    return out


def trend_with_context(
    session: Session, f: TrendFilter
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(current, previous period, usual profile) for ``f``. Hourly and daily trends read the
    whole window [start - max(span, 4 weeks), end) in ONE query and split it: the previous
    period and the usual profile both lie in that window. Weeks and months: two queries, no
    usual profile."""
    if f.granularity not in ("hour", "day"):
        return trend(session, f), previous_period(session, f), None
    span = f.end - f.start
    lo = min(f.start - span, f.start - timedelta(weeks=USUAL_WEEKS))
    wide = trend(session, replace(f, start=lo))
    local_start = (f.start + timedelta(hours=f.offset_hours)).replace(tzinfo=None)
    periods = wide["period"]
    current = wide[periods >= local_start].reset_index(drop=True)
    previous = wide[(periods >= local_start - span) & (periods < local_start)].reset_index(
        drop=True
    )
    history = wide[
        (periods >= local_start - timedelta(weeks=USUAL_WEEKS))
        & (periods < local_start)
        & (wide["samples"] > 0)
    ]
    keys = ["weekday", "hour"] if f.granularity == "hour" else ["weekday"]
    history = history.assign(weekday=history["period"].dt.weekday, hour=history["period"].dt.hour)
    profile = history.groupby(keys)[list(f.metrics)].mean().reset_index()
    frame = current[["period"]].assign(
        weekday=current["period"].dt.weekday, hour=current["period"].dt.hour
    )
    usual = frame.merge(profile, on=keys, how="left")[["period", *f.metrics]]
    return current, previous, usual
