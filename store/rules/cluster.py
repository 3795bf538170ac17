"""Incident cluster: N incidents of one kind within R metres and T hours. Registered with
``store.incidents.on_written`` (runs in the feed's transaction) and evaluated periodically to
close a cluster the window has left behind.

A cluster is anchored at the incident that completed it: subject ``cluster:<kind>:<id>``,
``subject_type`` incident and ``subject_id`` ``<kind>|<id>``. A later incident within R of an
open cluster's anchor belongs to that cluster (one event, one alert) and may escalate it.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.incidents import on_written
from store.models import Alert, Incident
from store.rules.catalog import LoadedRule, RuleBook
from store.rules.engine import Reading, RuleRunner, Threshold
from store.rules.schema import Kind
from store.rules.text import INCIDENT_KIND_ID, UNITS, number
from store.rules.windows import cleared_at, count_at, scoped

logger = logging.getLogger(__name__)

CLUSTER = str(Kind.CLUSTER)
_book = RuleBook()
M_PER_DEG = 111_320.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def _thresholds(lr: LoadedRule) -> list[Threshold]:
    return [Threshold(lv.name, str(lv.severity), float(lv.at)) for lv in lr.rule.levels]


def _near_times(
    session: Session, kind: str, lat: float, lon: float, radius: float, since: datetime,
    until: datetime,
) -> list[datetime]:  # fmt: skip
    dlat = radius / M_PER_DEG
    dlon = radius / (M_PER_DEG * max(0.1, math.cos(math.radians(lat))))
    rows = session.execute(
        select(Incident.occurred_at, Incident.lat, Incident.lon).where(
            Incident.kind == kind,
            Incident.occurred_at > since,
            Incident.occurred_at <= until,
            Incident.lat.between(lat - dlat, lat + dlat),
            Incident.lon.between(lon - dlon, lon + dlon),
        )
    )
    return [t for t, la, lo in rows if haversine_m(lat, lon, la, lo) <= radius]


def _reading(lr: LoadedRule, anchor: Incident, at: datetime, times: list[datetime]) -> Reading:
    p = lr.rule.params
    window = timedelta(hours=p.window_hours)
    count = count_at(times, at, window)
    label = INCIDENT_KIND_ID.get(anchor.kind, anchor.kind)
    return Reading(
        subject=f"cluster:{anchor.kind}:{anchor.id}",
        ts=at,
        measure=float(count),
        thresholds=_thresholds(lr),
        unit=UNITS[CLUSTER],
        decimals=0,
        texts={
            "name": anchor.address or anchor.kecamatan or anchor.title,
            "incident_kind": label,
            "radius": f"{number(p.radius_m, 0)} m",
            "hours": number(p.window_hours),
        },
        alert={
            "subject_type": "incident",
            "subject_id": f"{anchor.kind}|{anchor.id}"[:64],
            "camera_id": anchor.camera_id,
        },
    )


def _open_anchors(session: Session, kind: str) -> list[tuple[Alert, Incident]]:
    out = []
    for a in session.scalars(
        select(Alert).where(
            Alert.rule == CLUSTER,
            Alert.ended_at.is_(None),
            Alert.is_demo.is_(False),
            Alert.subject_id.like(f"{kind}|%"),
        )
    ):
        try:
            anchor = session.get(Incident, int(a.subject_id.split("|", 1)[1]))
        except ValueError:
            continue
        if anchor is not None and anchor.lat is not None and anchor.lon is not None:
            out.append((a, anchor))
    return out


def evaluate_incidents(
    session: Session, incidents: list[Incident], book: RuleBook | None = None
) -> list[Alert]:
    """The cluster rules for incidents just written (same transaction; never commits)."""
    all_rules = (book or _book).rules(session, CLUSTER)
    if not all_rules:
        return []
    changed: dict[int, Alert] = {}
    runner = RuleRunner()
    for inc in sorted(incidents, key=lambda i: (i.occurred_at, i.id)):
        if inc.lat is None or inc.lon is None or inc.is_demo:
            continue
        rules = scoped(all_rules, inc.kecamatan, inc.kind, "incident_kind")
        if not rules:
            continue
        lr = rules[0]
        p = lr.rule.params
        window = timedelta(hours=p.window_hours)
        anchor = inc
        for _alert, other in _open_anchors(session, inc.kind):
            if haversine_m(inc.lat, inc.lon, other.lat, other.lon) <= p.radius_m:
                anchor = other  # part of a cluster already open
                break
        assert anchor.lat is not None and anchor.lon is not None
        times = _near_times(
            session, inc.kind, anchor.lat, anchor.lon, p.radius_m, inc.occurred_at - window,
            inc.occurred_at,
        )  # fmt: skip
        for a in runner.run(session, [(lr, _reading(lr, anchor, inc.occurred_at, times))]):
            changed[id(a)] = a
    return list(changed.values())


def evaluate_clusters(session: Session, now: datetime, book: RuleBook | None = None) -> list[Alert]:
    """Close the open clusters whose incidents have left the window."""
    rules = {lr.id: lr for lr in (book or _book).rules(session, CLUSTER)}
    items: list[tuple[LoadedRule, Reading]] = []
    for a in session.scalars(
        select(Alert).where(
            Alert.rule == CLUSTER, Alert.ended_at.is_(None), Alert.is_demo.is_(False)
        )
    ):
        lr = rules.get(a.rule_id or -1)
        if lr is None or "|" not in a.subject_id:
            continue
        try:
            anchor = session.get(Incident, int(a.subject_id.split("|", 1)[1]))
        except ValueError:
            continue
        if anchor is None or anchor.lat is None or anchor.lon is None:
            continue
        p = lr.rule.params
        window = timedelta(hours=p.window_hours)
        times = _near_times(
            session, anchor.kind, anchor.lat, anchor.lon, p.radius_m, a.started_at - window, now
        )
        at = cleared_at(lr, _thresholds(lr), times, window, now) or now
        items.append((lr, _reading(lr, anchor, at, times)))
    return RuleRunner().run(session, items)


@on_written
def _on_incidents(session: Session, incidents: list[Incident]) -> None:
    """Incident feed hook: a failing rule never loses the incidents being written."""
    try:
        with session.begin_nested():
            evaluate_incidents(session, incidents)
    except Exception:
        logger.exception("incident cluster rules failed for %d incidents", len(incidents))
