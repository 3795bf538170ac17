"""Complaint surge and incident cluster rules on recorded sequences, through the real intake
(``ComplaintService.submit``) and the incident feed (``upsert_incidents``): one event is one
alert, it escalates, and the periodic check closes it when the window has moved past the
reports. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from ingestion.alerts import AlertEngine
from store.complaints import ComplaintService, NewComplaint
from store.incident_validation import IncidentRecord
from store.incidents import upsert_incidents
from store.models import Complaint
from tests.rules.rule_helpers import T0, alerts, install

H = timedelta(hours=1)

SURGE_RULE = {
    "name": "lonjakan-banjir",
    "kind": "complaint_surge",
    "params": {"category": "flood", "group_by": "kecamatan", "window_hours": 6, "factor": 3,
               "baseline_weeks": 1},
    "levels": [
        {"name": "meningkat", "severity": "warning", "at": 4},
        {"name": "lonjakan", "severity": "critical", "at": 8},
    ],
    "hysteresis": {"ratio": 0.5},
    "cooldown_s": 3600,
    "title": "{value} {category} di {area} dalam {hours} jam",
    "detail": "Biasanya {usual} dalam {hours} jam.",
}  # fmt: skip


def _report(svc, kecamatan: str, minutes: float, category: str = "flood") -> None:  # noqa: ANN001
    svc.submit(
        NewComplaint(category=category, description="Air naik sampai lutut di jalan",
                     kecamatan=kecamatan, address="Jl. Merdeka"),
        now=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


def _history(db, kecamatan: str, n: int) -> None:  # noqa: ANN001
    """``n`` flood reports spread over the week before T0 (the usual)."""
    rows = [
        {"tracking_id": f"H-{kecamatan[:6]}-{i}", "category": "flood", "description": "lama",
         "kecamatan": kecamatan, "status": "closed", "channel": "web", "privacy": "normal",
         "created_at": T0 - timedelta(hours=6) - i * (timedelta(days=6) / max(n, 1)),
         "updated_at": T0}
        for i in range(n)
    ]  # fmt: skip
    with db.session() as s:
        s.execute(insert(Complaint), rows)


def test_a_surge_of_reports_is_one_alert_that_escalates_and_closes(db, settings):
    install(db, SURGE_RULE)
    _history(db, "Ilir Timur I", 2)  # usual: 2 a week = 0.07 per 6 h
    _history(db, "Plaju", 60)  # usual: 60 a week = 2.1 per 6 h: 3 x that is 6.4
    svc = ComplaintService(db, settings)
    for k in range(3):
        _report(svc, "Ilir Timur I", 20 * k)
    _report(svc, "Ilir Timur I", 50, category="waste")  # another category: not counted
    assert alerts(db, "complaint_surge") == []
    _report(svc, "Ilir Timur I", 60)  # the 4th flood report in 6 h
    [a] = alerts(db, "complaint_surge")
    assert (a.level, a.severity, a.value) == ("meningkat", "warning", 4.0)
    assert a.started_at == T0 + 60 * timedelta(minutes=1)
    assert a.title == "4 laporan banjir / genangan di Ilir Timur I dalam 6 jam"
    for k in range(4, 8):
        _report(svc, "Ilir Timur I", 20 * k)
    for k in range(6):  # 6 in Plaju: above 4 but below 3 x its usual
        _report(svc, "Plaju", 20 * k)
    [a] = alerts(db, "complaint_surge")  # one event, one alert
    assert (a.level, a.severity, a.value) == ("lonjakan", "critical", 8.0)
    assert a.title == "8 laporan banjir / genangan di Ilir Timur I dalam 6 jam"
    from dashboard.alert_text import row_title
    from dashboard.queries.alerts import open_alerts

    with db.session() as s:
        [row] = open_alerts(s)
    assert row_title(row, "en") == "8 reports of flooding in Ilir Timur I"
    assert row_title(row, "id") == "8 laporan banjir / genangan di Ilir Timur I"
    engine = AlertEngine(settings, rules_ttl_s=0)
    with db.session() as s:
        engine.evaluate_periodic(s, T0 + 7 * H)  # 4 in the 6-hour window: still open
    assert alerts(db, "complaint_surge")[0].ended_at is None
    with db.session() as s:
        engine.evaluate_periodic(s, T0 + 19 * H)
    [a] = alerts(db, "complaint_surge")
    # closes below 2: the second-newest report (at 120 min) left the 6-hour window at 8:00
    assert a.ended_at == T0 + 8 * H


CLUSTER_RULE = {
    "name": "klaster-uji",
    "kind": "incident_cluster",
    "params": {"radius_m": 500, "window_hours": 24},
    "levels": [
        {"name": "klaster", "severity": "warning", "at": 3},
        {"name": "klaster_besar", "severity": "critical", "at": 5},
    ],
    "hysteresis": {"ratio": 0.6},
    "title": "{value} {incident_kind} dalam radius {radius} ({hours} jam)",
}

# (id, kind, hours after T0, latitude): fires ~100 m apart along a street, one fire 3 km
# away and a crime in the middle of them (another kind: not part of the fire cluster)
FIRES = [
    ("F1", "fire", 0, -2.9700), ("F2", "fire", 1, -2.9718), ("FAR", "fire", 1.5, -2.9970),
    ("C1", "crime", 1.7, -2.9720), ("F3", "fire", 2, -2.9727), ("F4", "fire", 3, -2.9736),
    ("F5", "fire", 4, -2.9745),
]  # fmt: skip


def _feed(db, rows) -> None:  # noqa: ANN001
    for ext, kind, hours, lat in rows:
        rec = IncidentRecord(source="damkar", external_id=ext, kind=kind, status="open",
                             occurred_at=T0 + hours * H, lat=lat, lon=104.74,
                             description="Laporan kejadian", kecamatan="Kemuning")  # fmt: skip
        with db.session() as s:
            upsert_incidents(s, [(0, rec)], actor="test", channel="test")


def test_a_cluster_of_incidents_is_one_alert(db, settings):
    install(db, CLUSTER_RULE)
    _feed(db, FIRES[:4])
    assert alerts(db, "incident_cluster") == []  # two fires close together, one far away
    _feed(db, FIRES[4:5])
    [a] = alerts(db, "incident_cluster")
    assert (a.level, a.value, a.started_at) == ("klaster", 3.0, T0 + 2 * H)
    assert a.title == "3 kejadian kebakaran dalam radius 500 m (24 jam)"
    _feed(db, FIRES[5:])
    [a] = alerts(db, "incident_cluster")
    assert (a.level, a.severity, a.value) == ("klaster_besar", "critical", 5.0)
    from dashboard.alert_text import row_title
    from dashboard.queries.alerts import open_alerts

    with db.session() as s:
        [row] = open_alerts(s)
    assert row_title(row, "en") == "Cluster of 5 fire incidents"
    assert row_title(row, "id") == "Klaster 5 kejadian kebakaran"
    engine = AlertEngine(settings, rules_ttl_s=0)
    with db.session() as s:
        engine.evaluate_periodic(s, T0 + 30 * H)
    [a] = alerts(db, "incident_cluster")
    # closes below 1.8: when the second-newest fire (F4, T0+3h) left the 24-hour window
    assert a.ended_at == T0 + 27 * H
