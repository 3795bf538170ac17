"""Complaint surge: N reports of one category in a kecamatan (or a map cell) within H hours,
and at least ``factor`` x its usual count for such a window. Evaluated at intake (in the
complaint's transaction) and periodically (to close a surge the window has left behind).

Subject ``kecamatan:<name>:<category>`` or ``cell:<cy>,<cx>:<category>`` (the cells of the
complaint map, ``store.complaints.cell_of``); the alert keeps ``subject_type`` kecamatan/cell
and ``subject_id`` ``<category>|<area>``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Alert, Complaint, ComplaintStatus
from store.rules.catalog import LoadedRule, RuleBook
from store.rules.engine import Reading, RuleRunner, Threshold
from store.rules.schema import Kind
from store.rules.text import UNITS, number
from store.rules.windows import cleared_at, count_at, scoped

logger = logging.getLogger(__name__)

SURGE = str(Kind.SURGE)
_book = RuleBook()


def _thresholds(lr: LoadedRule) -> list[Threshold]:
    return [Threshold(lv.name, str(lv.severity), float(lv.at)) for lv in lr.rule.levels]


def _area_filter(group: str, area: str):  # noqa: ANN202
    from store.complaints import CELL_DEG

    if group == "kecamatan":
        return [Complaint.kecamatan == area]
    cy, cx = (int(v) for v in area.split(","))
    lat0, lon0 = cy * CELL_DEG - 90.0, cx * CELL_DEG - 180.0
    return [
        Complaint.lat >= lat0,
        Complaint.lat < lat0 + CELL_DEG,
        Complaint.lon >= lon0,
        Complaint.lon < lon0 + CELL_DEG,
    ]


def _times(
    session: Session, category: str, group: str, area: str, since: datetime, until: datetime
) -> list[datetime]:
    return list(
        session.scalars(
            select(Complaint.created_at).where(
                Complaint.category == category,
                Complaint.created_at > since,
                Complaint.created_at <= until,
                Complaint.status != ComplaintStatus.DUPLICATE,
                *_area_filter(group, area),
            )
        )
    )


def _usual(session: Session, lr: LoadedRule, category: str, area: str, before: datetime) -> float:
    """Reports per window of the rule's length over the baseline weeks before this window."""
    p = lr.rule.params
    span = timedelta(weeks=p.baseline_weeks)
    n = session.scalar(
        select(func.count()).where(
            Complaint.category == category,
            Complaint.created_at > before - span,
            Complaint.created_at <= before,
            Complaint.status != ComplaintStatus.DUPLICATE,
            *_area_filter(p.group_by, area),
        )
    )
    windows = span / timedelta(hours=p.window_hours)
    return float(n or 0) / windows


def _reading(
    session: Session, lr: LoadedRule, category: str, area: str, at: datetime, times=None
) -> Reading:
    from store.complaints import category_label

    p = lr.rule.params
    window = timedelta(hours=p.window_hours)
    if times is None:
        times = _times(session, category, p.group_by, area, at - window, at)
    count = count_at(times, at, window)
    usual = _usual(session, lr, category, area, at - window)
    th = _thresholds(lr)
    shown_area = area if p.group_by == "kecamatan" else f"sel peta {area}"
    return Reading(
        subject=f"{p.group_by}:{area}:{category}",
        ts=at,
        measure=float(count),
        thresholds=th,
        unit=UNITS[SURGE],
        decimals=0,
        texts={
            "name": shown_area,
            "area": shown_area,
            "category": category_label(category, "id").lower(),
            "hours": number(p.window_hours),
            "usual": f"{number(usual)} {UNITS[SURGE]}",
        },
        may_open=count >= p.factor * usual,
        alert={"subject_type": p.group_by, "subject_id": f"{category}|{area}"[:64]},
    )


def _area_of(lr: LoadedRule, c: Complaint) -> str | None:
    from store.complaints import cell_of

    if lr.rule.params.group_by == "kecamatan":
        return c.kecamatan or None
    if c.lat is None or c.lon is None:
        return None
    cy, cx = cell_of(c.lat, c.lon)
    return f"{cy},{cx}"


def evaluate_complaint(
    session: Session, complaint: Complaint, book: RuleBook | None = None
) -> list[Alert]:
    """The surge rules for a complaint just taken in (same transaction; never commits)."""
    if complaint.status == ComplaintStatus.DUPLICATE:
        return []
    rules = scoped(
        (book or _book).rules(session, SURGE), complaint.kecamatan, complaint.category, "category"
    )
    items: list[tuple[LoadedRule, Reading]] = []
    seen: set[str] = set()
    for lr in rules:  # most specific first: one rule per grouping
        group = lr.rule.params.group_by
        if group in seen:
            continue
        area = _area_of(lr, complaint)
        if area is None:
            continue
        seen.add(group)
        items.append((lr, _reading(session, lr, complaint.category, area, complaint.created_at)))
    return RuleRunner().run(session, items)


def evaluate_surges(session: Session, now: datetime, book: RuleBook | None = None) -> list[Alert]:
    """Close (or keep) the open surge alerts as their window slides past the reports."""
    rules = {lr.id: lr for lr in (book or _book).rules(session, SURGE)}
    items: list[tuple[LoadedRule, Reading]] = []
    for a in session.scalars(
        select(Alert).where(Alert.rule == SURGE, Alert.ended_at.is_(None), Alert.is_demo.is_(False))
    ):
        lr = rules.get(a.rule_id or -1)
        if lr is None or "|" not in a.subject_id:
            continue
        category, area = a.subject_id.split("|", 1)
        p = lr.rule.params
        window = timedelta(hours=p.window_hours)
        times = _times(session, category, p.group_by, area, a.started_at - window, now)
        at = cleared_at(lr, _thresholds(lr), times, window, now) or now
        items.append((lr, _reading(session, lr, category, area, at, times)))
    return RuleRunner().run(session, items)
