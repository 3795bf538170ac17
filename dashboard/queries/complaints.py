"""Read-side queries for E-Lapor complaints: heatmap cells, statistics, per-OPD performance,
the operator queue and the SMS triage list.

The heatmap is aggregated in SQL (GROUP BY grid cell of rounded lat/lon) over the covering
index ``ix_complaints_heat``, so the browser gets a few hundred cells, never a million points.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Integer,
    Interval,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from store.complaints import (
    ALL_CATEGORIES,
    CELL_DEG,
    FINAL_STATUSES,
    OPEN_STATUSES,
    search_filter,
)
from store.models import Complaint, ComplaintCellMonth, ComplaintStatus, Opd, SmsMessage, SmsStatus

logger = logging.getLogger(__name__)

S = ComplaintStatus
CLOSED_LIKE = (S.RESOLVED, *FINAL_STATUSES)
FADE_DAYS = 7  # resolved/closed reports fade out of the live map over this many days
ROLLUP_AFTER_DAYS = 31  # longer periods read the monthly rollup (complaint_cell_months)


def _cell(session: Session, column, cell_deg: float, offset: float):
    """Grid cell index: floor((coord + offset) / cell). SQLite CAST truncates (positive: floor)."""
    expr = (column + offset) / cell_deg
    if session.get_bind().dialect.name == "sqlite":
        return cast(expr, Integer)
    return cast(func.floor(expr), Integer)


def heatmap_cells(
    session: Session,
    *,
    days: int = 30,
    category: str | None = None,
    view: str = "live",
    cell_deg: float = CELL_DEG,
    now: datetime | None = None,
    limit: int = 3000,
) -> list[dict[str, Any]]:
    """Complaint density per grid cell, aggregated in SQL.

    ``view``: ``live`` - reports open now at full weight, plus resolved/closed ones fading out
    over FADE_DAYS after their last update (the period does not apply: live is now);
    ``all`` - every report created in the last ``days`` (rejected and duplicates never count);
    ``closed`` - those of them resolved or closed. Periods longer than ROLLUP_AFTER_DAYS read
    the monthly rollup for the whole months in the period and the raw rows only for the part
    of the first month inside it: the same cells and counts as the raw rows, period exact.
    Returns dicts with cell indexes ``cy``/``cx``, ``weight``, ``open`` and ``total``.
    """
    now = now or datetime.now(UTC)
    if view == "live":
        return _live_cells(session, category=category, cell_deg=cell_deg, now=now, limit=limit)
    start = now - timedelta(days=days)
    if view in ("all", "closed") and days > ROLLUP_AFTER_DAYS and cell_deg == CELL_DEG:
        return _cells_from_rollup(session, start=start, category=category, view=view,
                                  limit=limit)  # fmt: skip
    window = [Complaint.created_at >= start, Complaint.created_at <= now]
    return _raw_cells(session, window, category=category, view=view, cell_deg=cell_deg,
                      limit=limit)  # fmt: skip


def _raw_cells(
    session: Session,
    window: list[Any],
    *,
    category: str | None,
    view: str,
    cell_deg: float,
    limit: int | None,
) -> list[dict[str, Any]]:
    """Views ``all``/``closed`` aggregated from the reports created in ``window``."""
    cy = _cell(session, Complaint.lat, cell_deg, 90.0).label("cy")
    cx = _cell(session, Complaint.lon, cell_deg, 180.0).label("cx")
    is_open = Complaint.status.in_(OPEN_STATUSES)
    weight = literal(1.0)
    q = select(
        cy,
        cx,
        func.sum(weight).label("weight"),
        func.sum(case((is_open, 1), else_=0)).label("open"),
        func.count().label("total"),
    ).where(
        Complaint.lat.is_not(None),
        Complaint.lon.is_not(None),
        *window,
        Complaint.status.not_in([S.REJECTED, S.DUPLICATE]),
    )
    if view == "closed":
        q = q.where(Complaint.status.in_([S.RESOLVED, S.CLOSED]))
    if category:
        q = q.where(Complaint.category == category)
    q = q.group_by("cy", "cx").order_by(func.sum(weight).desc())
    if limit is not None:
        q = q.limit(limit)
    return [
        {
            "cy": int(r.cy),
            "cx": int(r.cx),
            "weight": float(r.weight),
            "open": int(r.open or 0),
            "total": int(r.total),
        }
        for r in session.execute(q)
        if r.weight and r.weight > 0
    ]


def _live_cells(
    session: Session, *, category: str | None, cell_deg: float, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """The live view: open reports at full weight, resolved/closed ones fading out. Two
    ranges of the covering index ``ix_complaints_live`` (status, updated_at, category, lat,
    lon) glued by UNION ALL: an OR of both made PostgreSQL read the table through a bitmap."""
    c = Complaint
    base = [c.lat.is_not(None), c.lon.is_not(None)]
    if category:
        base.append(c.category == category)
    recent = now - timedelta(days=FADE_DAYS / 3)
    open_rows = select(c.lat, c.lon, literal(1.0).label("w"), literal(1).label("o")).where(
        c.status.in_(OPEN_STATUSES), *base
    )
    fading = select(
        c.lat,
        c.lon,
        case((c.updated_at >= recent, literal(0.6)), else_=literal(0.25)).label("w"),
        literal(0).label("o"),
    ).where(
        c.status.in_([S.RESOLVED, S.CLOSED]), c.updated_at >= now - timedelta(days=FADE_DAYS), *base
    )
    rows = union_all(open_rows, fading).subquery()
    cy = _cell(session, rows.c.lat, cell_deg, 90.0).label("cy")
    cx = _cell(session, rows.c.lon, cell_deg, 180.0).label("cx")
    weight = func.sum(rows.c.w)
    q = (
        select(cy, cx, weight.label("weight"), func.sum(rows.c.o).label("open"),
               func.count().label("total"))
        .group_by("cy", "cx")
        .order_by(weight.desc())
        .limit(limit)
    )  # fmt: skip
    return [
        {"cy": int(r.cy), "cx": int(r.cx), "weight": float(r.weight), "open": int(r.open or 0),
         "total": int(r.total)}
        for r in session.execute(q)
        if r.weight and r.weight > 0
    ]  # fmt: skip


def _cells_from_rollup(
    session: Session, *, start: datetime, category: str | None, view: str, limit: int
) -> list[dict[str, Any]]:
    """Whole UTC months from complaint_cell_months, plus the raw rows of the first month's part
    that lies in the period (the rollup's months are UTC calendar months)."""
    start = start.astimezone(UTC)
    first = start.date().replace(day=1)
    partial: list[dict[str, Any]] = []
    if start != datetime(first.year, first.month, 1, tzinfo=UTC):
        first = (first + timedelta(days=32)).replace(day=1)
        month_end = datetime(first.year, first.month, 1, tzinfo=UTC)
        window = [Complaint.created_at >= start, Complaint.created_at < month_end]
        partial = _raw_cells(session, window, category=category, view=view, cell_deg=CELL_DEG,
                             limit=None)  # fmt: skip
    total = func.sum(ComplaintCellMonth.total)
    opened = func.sum(ComplaintCellMonth.open)
    weight = total if view == "all" else total - opened
    q = (
        select(
            ComplaintCellMonth.cy,
            ComplaintCellMonth.cx,
            weight.label("weight"),
            opened.label("open"),
            total.label("total"),
        )
        .where(
            ComplaintCellMonth.month >= first,
            ComplaintCellMonth.category == (category or ALL_CATEGORIES),
        )
        .group_by(ComplaintCellMonth.cy, ComplaintCellMonth.cx)
    )
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for r in session.execute(q):
        w = int(r.weight or 0)
        if w > 0:
            t_ = int(r.total) if view == "all" else w
            cells[(int(r.cy), int(r.cx))] = {"cy": int(r.cy), "cx": int(r.cx), "weight": float(w),
                "open": int(r.open or 0) if view == "all" else 0, "total": t_}  # fmt: skip
    for p in partial:
        cell = cells.setdefault((p["cy"], p["cx"]), {**p, "weight": 0.0, "open": 0, "total": 0})
        for key in ("weight", "open", "total"):
            cell[key] += p[key]
    return sorted(cells.values(), key=lambda c: c["weight"], reverse=True)[:limit]


def cell_bounds(cy: int, cx: int, cell_deg: float) -> list[list[float]]:
    """[[south, west], [north, east]] of a grid cell."""
    south = cy * cell_deg - 90.0
    west = cx * cell_deg - 180.0
    return [
        [round(south, 6), round(west, 6)],
        [round(south + cell_deg, 6), round(west + cell_deg, 6)],
    ]


def cells_geojson(cells: list[dict[str, Any]], cell_deg: float) -> dict[str, Any]:
    features = []
    for c in cells:
        (s, w), (n, e) = cell_bounds(c["cy"], c["cx"], cell_deg)
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
                },
                "properties": {k: c[k] for k in ("weight", "open", "total")},
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComplaintKpis:
    total: int
    open_now: int
    overdue_dispatch: int
    overdue_followup: int
    dispatch_on_time_pct: float | None
    followup_on_time_pct: float | None
    resolved: int
    as_of: datetime


def overdue_dispatch_clause(now: datetime):
    return and_(Complaint.status.in_([S.NEW, S.VERIFIED]), Complaint.dispatch_due < now)


def overdue_followup_clause(now: datetime):
    return and_(Complaint.status == S.DISPATCHED, Complaint.followup_due < now)


def kpis(
    session: Session, *, days: int = 30, category: str | None = None, now: datetime | None = None
) -> ComplaintKpis:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    period = [Complaint.created_at >= since, Complaint.created_at <= now]
    if category:
        period.append(Complaint.category == category)
    row = session.execute(
        select(
            func.count(),
            func.sum(case((Complaint.status.in_([S.RESOLVED, S.CLOSED]), 1), else_=0)),
            func.sum(case((Complaint.dispatched_at.is_not(None), 1), else_=0)),
            func.sum(case((Complaint.dispatched_at <= Complaint.dispatch_due, 1), else_=0)),
            func.sum(case((Complaint.followed_up_at.is_not(None), 1), else_=0)),
            func.sum(case((Complaint.followed_up_at <= Complaint.followup_due, 1), else_=0)),
        ).where(*period)
    ).one()
    total, resolved, n_disp, disp_ok, n_fu, fu_ok = (int(x or 0) for x in row)
    live = [Complaint.category == category] if category else []
    open_now = session.scalar(
        select(func.count()).where(Complaint.status.in_(OPEN_STATUSES), *live)
    )
    od = session.scalar(select(func.count()).where(overdue_dispatch_clause(now), *live))
    of = session.scalar(select(func.count()).where(overdue_followup_clause(now), *live))
    return ComplaintKpis(
        total=total,
        open_now=int(open_now or 0),
        overdue_dispatch=int(od or 0),
        overdue_followup=int(of or 0),
        dispatch_on_time_pct=100.0 * disp_ok / n_disp if n_disp else None,
        followup_on_time_pct=100.0 * fu_ok / n_fu if n_fu else None,
        resolved=resolved,
        as_of=now,
    )


def daily_counts(
    session: Session,
    *,
    days: int = 30,
    category: str | None = None,
    tz_hours: int = 7,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Reports per local day and status group (open / closed) over the period."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    if session.get_bind().dialect.name == "sqlite":
        day = func.date(Complaint.created_at, f"+{tz_hours} hours")
    else:  # naive UTC + offset: the local day whatever the session's TimeZone
        shift = literal(timedelta(hours=tz_hours), Interval())
        day = func.date(func.timezone("UTC", Complaint.created_at) + shift)
    q = (
        select(
            day.label("day"),
            func.count().label("reports"),
            func.sum(case((Complaint.status.in_(OPEN_STATUSES), 1), else_=0)).label("open"),
        )
        .where(Complaint.created_at >= since, Complaint.created_at <= now)
        .group_by("day")
        .order_by("day")
    )
    if category:
        q = q.where(Complaint.category == category)
    df = pd.DataFrame(session.execute(q).all(), columns=["day", "reports", "open"])
    if not df.empty:
        df["day"] = pd.to_datetime(df["day"])
    return df


def category_counts(
    session: Session, *, days: int = 30, now: datetime | None = None
) -> pd.DataFrame:
    now = now or datetime.now(UTC)
    q = (
        select(Complaint.category, func.count().label("reports"))
        .where(Complaint.created_at >= now - timedelta(days=days), Complaint.created_at <= now)
        .group_by(Complaint.category)
        .order_by(func.count().desc())
    )
    return pd.DataFrame(session.execute(q).all(), columns=["category", "reports"])


OPD_COLUMNS = [
    "opd", "reports", "open", "median_dispatch_h", "median_resolve_h",
    "dispatch_on_time_pct", "followup_on_time_pct", "late_now",
]  # fmt: skip
_US_PER_HOUR = 3_600_000_000


def _utc_midnight(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rows_binary(session: Session, stmt) -> list:
    """Rows of a Core statement; on PostgreSQL in psycopg's binary format, so bytea values
    arrive as bytes rather than hex text (a year's packed durations: a few MB)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return conn.execute(stmt).all()
    compiled = stmt.compile(dialect=conn.dialect)
    cursor = conn.connection.driver_connection.cursor(binary=True)
    try:
        return cursor.execute(str(compiled), compiled.params).fetchall()
    finally:
        cursor.close()


def opd_performance(
    session: Session, *, days: int = 90, category: str | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """Per OPD (the one a report is routed to now), over reports created in the last ``days``:
    how many, how many still open, median hours from intake to dispatch and to resolution,
    share dispatched and followed up within deadline (%), and how many are late right now.

    Exact at any size: whole UTC days inside the period come from ``complaint_opd_days``
    (counters, and the packed durations the medians are taken over), today so far too unless
    reports were stamped after ``now``; the partial days at its ends come from the reports
    themselves, through the arithmetic that rebuilds the rollup
    (``store.complaints.opd_report_frame``; tests hold it equal to the rollup kept on write).
    ``late_now`` depends on the clock, so it is counted live from the few reports waiting for their OPD."""
    from store.complaints import OPD_COUNTERS, opd_report_frame
    from store.models import ComplaintOpdDay as R

    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    first = _utc_midnight(since)
    if first < since:
        first += timedelta(days=1)
    last = _utc_midnight(now)  # whole days are [first, last)
    # today so far is today's rollup row, unless reports were stamped after ``now``
    if not session.scalar(select(Complaint.id).where(Complaint.created_at > now).limit(1)):
        end = last + timedelta(days=1)
    else:
        end = last
    counts: dict[int, np.ndarray] = {}
    durations: dict[int, tuple[list, list]] = {}  # per OPD: packed/array dispatch, resolve

    def slot(oid: int) -> tuple[np.ndarray, tuple[list, list]]:
        if oid not in counts:
            counts[oid] = np.zeros(len(OPD_COUNTERS), dtype=np.int64)
            durations[oid] = ([], [])
        return counts[oid], durations[oid]

    raw_ranges = [(since, now, True)]  # (from, to, to included)
    if first < end:
        raw_ranges = [(since, first, False)]
        if end == last:
            raw_ranges.append((last, now, True))
        t = R.__table__.c  # Core columns: plain rows, no ORM loading
        days_cond = [t.day >= first.date(), t.day < end.date(),
                     t.category == (category or ALL_CATEGORIES)]  # fmt: skip
        sums = select(t.opd_id, *(func.sum(t[n]) for n in OPD_COUNTERS))
        conn = session.connection()
        for oid, *values in conn.execute(sums.where(*days_cond).group_by(t.opd_id)):
            slot(int(oid))[0][:] += np.asarray([int(v or 0) for v in values])
        blobs = select(t.opd_id, t.dispatch_us, t.resolve_us).where(*days_cond, t.reports > 0)
        packed: dict[int, tuple[list, list]] = {}
        for oid, dispatch_us, resolve_us in _rows_binary(session, blobs):
            d, r = packed.setdefault(int(oid), ([], []))
            d.append(dispatch_us)
            r.append(resolve_us)
        for oid, (d, r) in packed.items():
            _, (dd, rr) = slot(oid)
            dd.append(np.frombuffer(b"".join(d), dtype="<i8"))
            rr.append(np.frombuffer(b"".join(r), dtype="<i8"))
    c = Complaint
    for lo, hi, hi_included in raw_ranges:
        cond = [c.created_at >= lo, c.created_at <= hi if hi_included else c.created_at < hi]
        if category:
            cond.append(c.category == category)
        edge = opd_report_frame(session, *cond)
        for oid, part in edge.groupby("opd_id"):
            total, (d, r) = slot(int(oid))
            total += part[list(OPD_COUNTERS)].sum().to_numpy(dtype=np.int64)
            d.append(part["dispatch_us"].dropna().to_numpy(dtype="<i8"))
            r.append(part["resolve_us"].dropna().to_numpy(dtype="<i8"))
    # one range of ix_complaints_overdue (status, followup_due); on SQLite unary + keeps the
    # planner off a skip-scan of the whole covering OPD index by created_at
    opd_col, created = c.opd_id, c.created_at
    if session.get_bind().dialect.name == "sqlite":
        opd_col = literal_column("+complaints.opd_id")
        created = literal_column("+complaints.created_at", type_=c.created_at.type)
    late_cond = [overdue_followup_clause(now), opd_col.is_not(None), created >= since,
                 created <= now]  # fmt: skip
    if category:
        late_cond.append(c.category == category)
    late_q = select(opd_col, func.count()).where(*late_cond).group_by(opd_col)
    late = {int(oid): n for oid, n in session.execute(late_q)}
    names = dict(session.execute(select(Opd.id, Opd.short_name)).all())

    def median_h(parts: list) -> float:
        values = np.concatenate(parts) if parts else np.empty(0, dtype="<i8")
        return float(np.median(values)) / _US_PER_HOUR if len(values) else float("nan")

    rows = []
    for oid, total in counts.items():
        reports, open_, dispatch_ok, followup_n, followup_ok = (int(x) for x in total)
        if reports <= 0:
            continue
        d, r = durations[oid]
        rows.append(
            {
                "opd_id": oid,
                "opd": names.get(oid, "?"),
                "reports": reports,
                "open": open_,
                "median_dispatch_h": median_h(d),
                "median_resolve_h": median_h(r),
                "dispatch_on_time_pct": 100.0 * dispatch_ok / reports,
                "followup_on_time_pct": 100.0 * followup_ok / followup_n
                if followup_n
                else float("nan"),
                "late_now": int(late.get(oid, 0)),
            }
        )
    if not rows:
        return pd.DataFrame(columns=OPD_COLUMNS)
    out = pd.DataFrame(rows).sort_values(["reports", "opd_id"], ascending=[False, True])
    return out[OPD_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Operator queue
# --------------------------------------------------------------------------------------------
QUEUE_SORTS = {  # key -> (column, descending)
    "oldest": (Complaint.created_at, False),
    "newest": (Complaint.created_at, True),
    "due": (Complaint.dispatch_due, False),
    "followup_due": (Complaint.followup_due, False),  # the OPD follow-up page
}


def queue(
    session: Session,
    *,
    statuses: list[str] | None = None,
    category: str | None = None,
    opd_id: int | None = None,
    overdue_only: bool = False,
    search: str | None = None,
    sort: str = "oldest",
    limit: int = 200,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The operator's work list; ``overdue`` says which deadline is missed (or '')."""
    now = now or datetime.now(UTC)
    statuses = statuses or list(OPEN_STATUSES)
    od = overdue_dispatch_clause(now)
    of = overdue_followup_clause(now)
    q = (
        select(
            Complaint.id,
            Complaint.tracking_id,
            Complaint.created_at,
            Complaint.category,
            Complaint.status,
            Complaint.privacy,
            Complaint.channel,
            Complaint.description,
            Complaint.address,
            Complaint.lat,
            Complaint.lon,
            Complaint.dispatch_due,
            Complaint.followup_due,
            Complaint.duplicate_of_id,
            Opd.short_name.label("opd"),
            case((od, "dispatch"), (of, "followup"), else_="").label("overdue"),
        )
        .outerjoin(Opd, Opd.id == Complaint.opd_id)
        .where(Complaint.status.in_(statuses))
    )
    if category:
        q = q.where(Complaint.category == category)
    if opd_id:
        q = q.where(Complaint.opd_id == opd_id)
    if overdue_only:
        q = q.where(od | of)
    if search and search.strip():
        q = q.where(search_filter(search))
    column, descending = QUEUE_SORTS.get(sort, QUEUE_SORTS["oldest"])
    if session.get_bind().dialect.name == "sqlite":
        # SQLite would walk the created_at index in order through a million closed reports to
        # find the few open ones; unary + hides that index, so it starts from the status
        # index and sorts only what is open
        column = literal_column(f"+complaints.{column.key}")
    else:  # PostgreSQL makes the same bet (it walked 284k of 300k rows for 200 open ones); an
        # expression no index matches makes it sort the open reports instead
        column = column + literal(timedelta(0), Interval())
    q = q.order_by(column.desc() if descending else column.asc(), Complaint.id).limit(limit)
    rows = session.execute(q).all()
    cols = [
        "id", "tracking_id", "created_at", "category", "status", "privacy", "channel",
        "description", "address", "lat", "lon", "dispatch_due", "followup_due",
        "duplicate_of_id", "opd", "overdue",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def sms_triage(session: Session, limit: int = 100) -> pd.DataFrame:
    q = (
        select(SmsMessage.id, SmsMessage.received_at, SmsMessage.sender, SmsMessage.text)
        .where(SmsMessage.status == SmsStatus.TRIAGE)
        .order_by(SmsMessage.received_at)
        .limit(limit)
    )
    return pd.DataFrame(session.execute(q).all(), columns=["id", "received_at", "sender", "text"])


def opd_options(session: Session) -> list[dict[str, Any]]:
    return [
        {"label": f"{r.short_name} — {r.name}", "value": r.id}
        for r in session.execute(select(Opd.id, Opd.short_name, Opd.name).order_by(Opd.short_name))
    ]
