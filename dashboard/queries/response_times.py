"""Response times of the alert workflow: time-to-acknowledge and time-to-resolve per alert kind
and per OPD, over a calendar period in the city's time zone (WIB).

An alert belongs to the period in which it *started* (``started_at`` from the first local day's
00:00 to the day after the last one). Time to acknowledge = ``acknowledged_at - started_at``
(assigning or resolving an open alert acknowledges it too); time to resolve =
``resolved_at - started_at`` (an operator's resolution, not the condition clearing). Alerts
not acknowledged / resolved yet count in ``n`` but not in the times. Median: the middle value
(mean of the two middle ones for an even count); p90: the nearest-rank 90th percentile, the
value at rank ceil(0.9 n) of the sorted times. Times in seconds.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Alert, Opd

NO_OPD = ""  # the group of alerts not assigned to an OPD


@dataclass(frozen=True)
class Figures:
    group: str  # the kind (Alert.rule) or the OPD's short name ("" = no OPD)
    n: int  # alerts that started in the period
    n_ack: int
    tta_median_s: float | None
    tta_p90_s: float | None
    n_resolved: int
    ttr_median_s: float | None
    ttr_p90_s: float | None


@dataclass(frozen=True)
class ResponseTimes:
    start: date  # first local day
    end: date  # last local day (inclusive)
    tz: str
    total: Figures
    by_kind: list[Figures]
    by_opd: list[Figures]


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def period_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local ``start`` 00:00 and the day after ``end`` 00:00."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time(0), zone)
    hi = datetime.combine(end + timedelta(days=1), time(0), zone)
    return lo, hi


def _figures(group: str, rows: list[tuple[datetime, datetime | None, datetime | None]]) -> Figures:
    tta = [max(0.0, (a - s).total_seconds()) for s, a, _r in rows if a is not None]
    ttr = [max(0.0, (r - s).total_seconds()) for s, _a, r in rows if r is not None]
    return Figures(
        group=group,
        n=len(rows),
        n_ack=len(tta),
        tta_median_s=median(tta),
        tta_p90_s=p90(tta),
        n_resolved=len(ttr),
        ttr_median_s=median(ttr),
        ttr_p90_s=p90(ttr),
    )


def response_times(session: Session, start: date, end: date, tz: str) -> ResponseTimes:
    if end < start:
        start, end = end, start
    lo, hi = period_bounds(start, end, tz)
    rows = session.execute(
        select(
            Alert.rule, Opd.short_name, Alert.started_at, Alert.acknowledged_at, Alert.resolved_at
        )
        .outerjoin(Opd, Opd.id == Alert.assigned_opd_id)
        .where(Alert.started_at >= lo, Alert.started_at < hi)
    ).all()
    kinds: dict[str, list] = defaultdict(list)
    opds: dict[str, list] = defaultdict(list)
    every = []
    for rule, opd, started, acked, resolved in rows:
        triple = (started, acked, resolved)
        kinds[rule].append(triple)
        opds[opd or NO_OPD].append(triple)
        every.append(triple)
    return ResponseTimes(
        start=start,
        end=end,
        tz=tz,
        total=_figures("*", every),
        by_kind=[_figures(k, v) for k, v in sorted(kinds.items())],
        by_opd=[
            _figures(k, v) for k, v in sorted(opds.items(), key=lambda kv: (kv[0] == NO_OPD, kv[0]))
        ],
    )
