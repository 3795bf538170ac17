"""Read side of the daily briefing (``/laporan-harian``): one local (WIB) calendar day against
the usual — the same weekday over the previous :data:`USUAL_WEEKS` weeks — plus what is open
now: alerts, complaints per OPD with the LAPOR! deadlines missed, incidents.

Everything is computed for a local day ``day`` in the city's zone; the day starts at local
midnight (a UTC instant, the same instant the daily rollups use as their bucket).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.alerts import AlertRow, open_alerts
from dashboard.queries.complaints import overdue_dispatch_clause, overdue_followup_clause
from store.models import (
    Complaint,
    ComplaintStatus,
    Incident,
    ObservationRollup,
    Opd,
    RollupPeriod,
)

S = ComplaintStatus
#: Weeks of history behind "the usual" (same weekday each week).
USUAL_WEEKS = 4


@dataclass(frozen=True)
class Compared:
    """One figure for the day and its usual (mean of the same weekday in the weeks before;
    None when none of those days has data)."""

    value: float | None
    usual: float | None

    @property
    def change_pct(self) -> float | None:
        if self.value is None or not self.usual:
            return None
        return (self.value - self.usual) / self.usual * 100.0


@dataclass(frozen=True)
class OpdLine:
    short_name: str
    name: str
    waiting: int  # dispatched to it, follow-up not started
    in_progress: int
    overdue: int  # follow-up deadline (5 working days after dispatch) passed
    resolved_day: int  # resolved by it on the day


@dataclass
class Briefing:
    day: date  # local calendar day
    start: datetime  # UTC instant of its local midnight
    end: datetime
    now: datetime
    vehicles: Compared  # vehicles counted crossing the counting lines, all cameras
    people: Compared  # people in view: the day's mean per camera, summed over cameras
    cameras_reporting: Compared
    complaints_new: Compared
    complaints_resolved: Compared
    incidents: dict[str, Compared] = field(default_factory=dict)  # kind -> compared
    opd: list[OpdLine] = field(default_factory=list)
    overdue_dispatch: int = 0  # command center's own backlog (verify + dispatch in 3 days)
    overdue_followup: int = 0
    alerts: list[AlertRow] = field(default_factory=list)


def yesterday(now: datetime, timezone: str) -> date:
    """The local calendar day before ``now``'s in ``timezone``."""
    return (now.astimezone(ZoneInfo(timezone)) - timedelta(days=1)).date()


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """UTC instants of the local midnights that start and end ``day``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _usual(values: list[float | None]) -> float | None:
    have = [v for v in values if v is not None]
    return sum(have) / len(have) if have else None


def _days(day: date, timezone: str) -> list[tuple[datetime, datetime]]:
    """The day itself, then the same weekday 1..USUAL_WEEKS weeks before."""
    return [day_bounds(day - timedelta(weeks=w), timezone) for w in range(USUAL_WEEKS + 1)]


def _traffic(session: Session, windows: list[tuple[datetime, datetime]]) -> list[tuple]:
    """(vehicles, people, cameras) per window from the daily rollups (None: no rollup)."""
    R = ObservationRollup
    out = []
    for start, _end in windows:
        row = session.execute(
            select(
                func.sum(func.coalesce(R.flow_in_sum, 0) + func.coalesce(R.flow_out_sum, 0)),
                func.sum(R.people_avg),
                func.count(R.id),
            ).where(R.period == str(RollupPeriod.DAY), R.bucket == start)
        ).one()
        cameras = int(row[2] or 0)
        if not cameras:
            out.append((None, None, None))
        else:
            people = float(row[1]) if row[1] is not None else None
            out.append((float(row[0] or 0), people, float(cameras)))
    return out


def _count_in(session: Session, column, windows, *where) -> list[float]:
    cols = [
        func.sum(case((and_(column >= a, column < b), 1), else_=0)).label(f"w{i}")
        for i, (a, b) in enumerate(windows)
    ]
    lo, hi = min(a for a, _ in windows), max(b for _, b in windows)
    row = session.execute(select(*cols).where(column >= lo, column < hi, *where)).one()
    return [float(v or 0) for v in row]


def _incidents(session: Session, windows) -> dict[str, Compared]:
    lo, hi = min(a for a, _ in windows), max(b for _, b in windows)
    counts: dict[str, list[float]] = {}
    cols = [
        func.sum(case((and_(Incident.occurred_at >= a, Incident.occurred_at < b), 1), else_=0))
        for a, b in windows
    ]
    q = (
        select(Incident.kind, *cols)
        .where(Incident.occurred_at >= lo, Incident.occurred_at < hi)
        .group_by(Incident.kind)
    )
    for kind, *values in session.execute(q):
        counts[kind] = [float(v or 0) for v in values]
    out = {k: Compared(v[0], _usual(v[1:])) for k, v in counts.items()}
    return dict(sorted(out.items(), key=lambda kv: (-(kv[1].value or 0), kv[0])))


def _opd_lines(session: Session, start: datetime, end: datetime, now: datetime) -> list[OpdLine]:
    C = Complaint
    q = (
        select(
            Opd.short_name,
            Opd.name,
            func.sum(case((C.status == S.DISPATCHED, 1), else_=0)),
            func.sum(case((C.status == S.IN_PROGRESS, 1), else_=0)),
            func.sum(case((overdue_followup_clause(now), 1), else_=0)),
            func.sum(case((and_(C.resolved_at >= start, C.resolved_at < end), 1), else_=0)),
        )
        .join(Opd, Opd.id == C.opd_id)
        .where(
            or_(
                C.status.in_([S.DISPATCHED, S.IN_PROGRESS]),
                and_(C.resolved_at >= start, C.resolved_at < end),
            )
        )
        .group_by(Opd.short_name, Opd.name)
    )
    lines = [
        OpdLine(sn, name, int(w or 0), int(p or 0), int(o or 0), int(r or 0))
        for sn, name, w, p, o, r in session.execute(q)
    ]
    return sorted(lines, key=lambda x: (-x.overdue, -(x.waiting + x.in_progress), x.short_name))


def briefing(session: Session, day: date, timezone: str, now: datetime | None = None) -> Briefing:
    """Everything the briefing page shows for the local ``day``."""
    now = now or datetime.now(UTC)
    windows = _days(day, timezone)
    start, end = windows[0]
    traffic = _traffic(session, windows)

    def compared(values: list) -> Compared:
        return Compared(values[0], _usual(list(values[1:])))

    new = _count_in(session, Complaint.created_at, windows)
    resolved = _count_in(session, Complaint.resolved_at, windows)
    overdue_dispatch = session.scalar(
        select(func.count()).select_from(Complaint).where(overdue_dispatch_clause(now))
    )
    overdue_followup = session.scalar(
        select(func.count()).select_from(Complaint).where(overdue_followup_clause(now))
    )
    return Briefing(
        day=day,
        start=start,
        end=end,
        now=now,
        vehicles=compared([t[0] for t in traffic]),
        people=compared([t[1] for t in traffic]),
        cameras_reporting=compared([t[2] for t in traffic]),
        complaints_new=compared(new),
        complaints_resolved=compared(resolved),
        incidents=_incidents(session, windows),
        opd=_opd_lines(session, start, end, now),
        overdue_dispatch=int(overdue_dispatch or 0),
        overdue_followup=int(overdue_followup or 0),
        alerts=open_alerts(session, limit=50),
    )
