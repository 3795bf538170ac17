"""Incidents (crime, fire, accidents, public order) for the security page.

Incidents are events, not camera measurements. Whole local days (day/week/month periods, the
top kecamatan) are summed from the daily rollup ``incident_days`` (``store.incident_days``: kept
by triggers on every write); hours, and filters by camera, count the ``incidents`` table
(covering index on time, kind, kecamatan, camera).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, case, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from store import incident_days
from store.models import Camera, Incident, IncidentDay, IncidentKind

KINDS = [str(k) for k in IncidentKind]


def _period(dialect: str, granularity: str, offset_hours: int) -> ColumnElement:
    ts = Incident.__table__.c.occurred_at
    if dialect == "sqlite":
        shift = f"{offset_hours:+d} hours"
        if granularity == "week":
            return func.date(ts, shift, "-6 days", "weekday 1")
        if granularity == "month":
            return func.strftime("%Y-%m-01", ts, shift)
        if granularity == "day":
            return func.strftime("%Y-%m-%d", ts, shift)
        return func.strftime("%Y-%m-%d %H:00:00", ts, shift)
    local = func.timezone("UTC", ts) + literal_column(f"interval '{int(offset_hours)} hours'")
    return func.date_trunc(granularity, local)


def _filtered(q, kecamatan, cameras, kinds):
    if kecamatan:
        q = q.where(Incident.kecamatan.in_(kecamatan))
    if cameras:
        q = q.where(Incident.camera_id.in_(select(Camera.id).where(Camera.code.in_(cameras))))
    if kinds:
        q = q.where(Incident.kind.in_(kinds))
    return q


def incident_counts(
    session: Session,
    start: datetime,
    end: datetime,
    granularity: str,
    kecamatan: list[str] | None = None,
    cameras: list[str] | None = None,
    kinds: list[str] | None = None,
    offset_hours: int = 7,
) -> pd.DataFrame:
    """Long table: period (local), kind, count."""
    bounds = _period_bounds(start, end, granularity, offset_hours)
    days = _whole_days(start, end, offset_hours) if not cameras else None
    if bounds is not None and days is not None:
        return _counts_from_rollup(session, days, granularity, kecamatan, kinds, offset_hours)
    if bounds is not None:
        return _counts_by_ranges(session, bounds, kecamatan, cameras, kinds)
    dialect = session.get_bind().dialect.name
    period = _period(dialect, granularity, offset_hours).label("period")
    q = (
        select(period, Incident.kind, func.count().label("count"))
        .where(Incident.occurred_at >= start, Incident.occurred_at < end)
        .group_by(period, Incident.kind)
        .order_by(period)
    )
    rows = session.execute(_filtered(q, kecamatan, cameras, kinds)).all()
    df = pd.DataFrame(rows, columns=["period", "kind", "count"])
    if len(df):
        df["period"] = pd.to_datetime(df["period"])
        if getattr(df["period"].dt, "tz", None) is not None:
            df["period"] = df["period"].dt.tz_localize(None)
    return df


def _whole_days(start: datetime, end: datetime, offset_hours: int) -> tuple[date, date] | None:
    """[first, last) local days when [start, end) is exactly whole local days, else None."""
    shift = timedelta(hours=offset_hours)
    lo, hi = start + shift, end + shift
    if hi <= lo or any(
        (t.hour, t.minute, t.second, t.microsecond) != (0, 0, 0, 0) for t in (lo, hi)
    ):
        return None
    return lo.date(), hi.date()


def _rollup_query(
    session: Session, cols, days, kecamatan, kinds, offset_hours: int, all_kecamatan: bool = True
):
    """Rollup rows of [days) for the filters; ``all_kecamatan``: without a kecamatan filter,
    read the rows that count every kecamatan (False: the per-kecamatan rows)."""
    incident_days.ensure(session, offset_hours)
    d = IncidentDay.__table__.c
    q = select(*cols).where(
        d.utc_offset == offset_hours, d.day >= days[0], d.day < days[1], d.n != 0
    )
    if kecamatan:
        q = q.where(d.kecamatan.in_([k for k in kecamatan if k != incident_days.ALL]))
    elif all_kecamatan:
        q = q.where(d.kecamatan == incident_days.ALL)  # one row per (day, kind)
    else:
        q = q.where(d.kecamatan != incident_days.ALL)
    if kinds:
        q = q.where(d.kind.in_(kinds))
    return q


def _counts_from_rollup(
    session: Session,
    days: tuple[date, date],
    granularity: str,
    kecamatan: list[str] | None,
    kinds: list[str] | None,
    offset_hours: int,
) -> pd.DataFrame:
    """Like :func:`_counts_by_ranges`, summed from the daily rollup (whole local days)."""
    d = IncidentDay.__table__.c
    q = _rollup_query(
        session, (d.day, d.kind, func.sum(d.n)), days, kecamatan, kinds, offset_hours
    ).group_by(d.day, d.kind)
    totals: dict[tuple[date, str], int] = {}
    for day, kind, n in session.execute(q).all():  # at most days x kinds rows: plain Python
        d = date.fromisoformat(day[:10]) if isinstance(day, str) else day
        if granularity == "week":
            d -= timedelta(days=d.weekday())
        elif granularity == "month":
            d = d.replace(day=1)
        totals[(d, kind)] = totals.get((d, kind), 0) + int(n)
    rows = sorted((p, k, n) for (p, k), n in totals.items() if n > 0)
    df = pd.DataFrame(rows, columns=["period", "kind", "count"])
    if len(df):
        df["period"] = pd.to_datetime(df["period"])
    return df


#: up to this many periods are counted as one index range each (no per-row date function)
MAX_RANGE_PERIODS = 120


def _period_bounds(
    start: datetime, end: datetime, granularity: str, offset_hours: int
) -> list[tuple[datetime, datetime, datetime]] | None:
    """(local period start, UTC from, UTC to) of each day/week/month period meeting
    [start, end), or None for hours or too many periods."""
    if granularity not in ("day", "week", "month") or end <= start:
        return None
    shift = timedelta(hours=offset_hours)
    local = (start + shift).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    if granularity == "week":
        local -= timedelta(days=local.weekday())
    elif granularity == "month":
        local = local.replace(day=1)
    out = []
    while True:
        if granularity == "day":
            nxt = local + timedelta(days=1)
        elif granularity == "week":
            nxt = local + timedelta(days=7)
        else:
            nxt = (local + timedelta(days=32)).replace(day=1)
        lo = max(start, (local - shift).replace(tzinfo=start.tzinfo))
        hi = min(end, (nxt - shift).replace(tzinfo=start.tzinfo))
        if lo >= end:
            break
        out.append((local, lo, hi))
        if len(out) > MAX_RANGE_PERIODS:
            return None
        local = nxt
    return out


def _counts_by_ranges(
    session: Session,
    bounds: list[tuple[datetime, datetime, datetime]],
    kecamatan: list[str] | None,
    cameras: list[str] | None,
    kinds: list[str] | None,
) -> pd.DataFrame:
    """Counts per kind for each period as its own index range (the covering time index):
    a year by month reads the index once and computes no date per row."""
    parts = [
        _filtered(
            select(literal(i).label("p"), Incident.kind, func.count().label("n"))
            .where(Incident.occurred_at >= lo, Incident.occurred_at < hi)
            .group_by(Incident.kind),
            kecamatan,
            cameras,
            kinds,
        )
        for i, (_local, lo, hi) in enumerate(bounds)
    ]
    rows = session.execute(union_all(*parts) if len(parts) > 1 else parts[0]).all()
    df = pd.DataFrame(
        [(bounds[i][0], kind, int(n)) for i, kind, n in rows], columns=["period", "kind", "count"]
    )
    if len(df):
        df["period"] = pd.to_datetime(df["period"])
        df = df.sort_values(["period", "kind"], kind="stable").reset_index(drop=True)
    return df


def usual_daily_counts(
    session: Session,
    start: datetime,
    kecamatan: list[str] | None = None,
    cameras: list[str] | None = None,
    kinds: list[str] | None = None,
    weeks: int = 4,
    offset_hours: int = 7,
) -> dict[int, float]:
    """Mean incidents per local weekday (0=Monday) over the ``weeks`` before ``start``."""
    df = incident_counts(
        session,
        start - timedelta(weeks=weeks),
        start,
        "day",
        kecamatan,
        cameras,
        kinds,
        offset_hours,
    )
    if df.empty:
        return {d: 0.0 for d in range(7)}
    per_day = df.groupby("period")["count"].sum()
    totals = {d: 0.0 for d in range(7)}
    for day, n in per_day.items():
        totals[day.weekday()] += float(n)
    return {d: v / weeks for d, v in totals.items()}


def top_kecamatan(
    session: Session,
    start: datetime,
    end: datetime,
    kecamatan: list[str] | None = None,
    cameras: list[str] | None = None,
    kinds: list[str] | None = None,
    limit: int = 10,
    offset_hours: int = 7,
) -> pd.DataFrame:
    """The ``limit`` kecamatan with most incidents in [start, end) ('?' when unknown)."""
    days = _whole_days(start, end, offset_hours) if not cameras else None
    if days is not None:
        d = IncidentDay.__table__.c
        total = func.sum(d.n).label("count")
        name = case((d.kecamatan == "", "?"), else_=d.kecamatan).label("kecamatan")
        q = (
            _rollup_query(session, (name, total), days, kecamatan, kinds, offset_hours, False)
            .group_by(d.kecamatan)
            .having(func.sum(d.n) > 0)
            .order_by(total.desc())
            .limit(limit)
        )
        df = pd.DataFrame(session.execute(q).all(), columns=["kecamatan", "count"])
        return df.astype({"count": int}) if len(df) else df
    n = func.count().label("count")
    q = (
        select(func.coalesce(Incident.kecamatan, "?").label("kecamatan"), n)
        .where(Incident.occurred_at >= start, Incident.occurred_at < end)
        .group_by(Incident.kecamatan)
        .order_by(n.desc())
        .limit(limit)
    )
    rows = session.execute(_filtered(q, kecamatan, cameras, kinds)).all()
    return pd.DataFrame(rows, columns=["kecamatan", "count"])


#: the security map shows at most this many incidents (the most recent): a year of a city's
#: incidents (100,000+) is no readable map, and the page says how many of how many it shows
MAP_POINTS_MAX = 1000


def incident_points(
    session: Session,
    start: datetime,
    end: datetime,
    kecamatan: list[str] | None = None,
    cameras: list[str] | None = None,
    kinds: list[str] | None = None,
    limit: int = MAP_POINTS_MAX,
) -> list[dict]:
    """The most recent ``limit`` incidents with coordinates in [start, end), newest first."""
    q = (
        select(
            Incident.id,
            Incident.kind,
            Incident.title,
            Incident.lat,
            Incident.lon,
            Incident.occurred_at,
            Incident.status,
            Incident.kecamatan,
            Incident.source,
            Incident.is_demo,
        )
        .where(
            Incident.occurred_at >= start,
            Incident.occurred_at < end,
            Incident.lat.is_not(None),
            Incident.lon.is_not(None),
        )
        .order_by(Incident.occurred_at.desc())
        .limit(limit)
    )
    from dashboard.queries import gc_paused

    with gc_paused():  # up to ``limit`` dicts
        keys = ("id", "kind", "title", "lat", "lon", "occurred_at", "status", "kecamatan",
                "source", "is_demo")  # fmt: skip
        return [
            dict(zip(keys, r, strict=True))
            for r in session.execute(_filtered(q, kecamatan, cameras, kinds)).all()
        ]


def incidents_today(session: Session, now: datetime, offset_hours: int = 7) -> int:
    local = now + timedelta(hours=offset_hours)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=offset_hours)
    return (
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.occurred_at >= start, Incident.occurred_at <= now)
        )
        or 0
    )
