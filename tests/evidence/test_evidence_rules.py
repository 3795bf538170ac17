"""Alert rules that record: a rule with ``record_seconds`` queues one evidence item when its
alert opens (in the alert's transaction, not on the ingestion path), and the recorder service
records it from the camera (the simulator); rules without it queue nothing."""

from __future__ import annotations

import time

from sqlalchemy import select

from ingestion.alerts import FLOOD, AlertEngine
from ingestion.evidence_recorder import RecorderService
from store.evidence import custody_rows
from store.models import EvidenceItem
from store.rules.schema import RuleInvalid, parse_rule
from tests.rules.rule_helpers import FLOOD_RULE, RIVER, alerts, camera, install
from tests.rules.rule_helpers import run_water as feed


def test_record_seconds_is_validated():
    assert parse_rule({**FLOOD_RULE, "record_seconds": 30}).record_seconds == 30
    assert parse_rule(FLOOD_RULE).record_seconds is None
    for bad in (0, -1, 3601, "lama"):
        try:
            parse_rule({**FLOOD_RULE, "record_seconds": bad})
        except RuleInvalid as exc:
            assert "record_seconds" in str(exc)
        else:
            raise AssertionError(f"record_seconds={bad!r} accepted")


def test_opening_alert_queues_one_recording(db, settings):
    install(db, {**FLOOD_RULE, "record_seconds": 20})
    cam_id = camera(db, "FL-R", "Simpang Charitas")
    engine = AlertEngine(settings, rules_ttl_s=0)
    feed(db, engine, cam_id, "FL-R", RIVER[:7])  # opens at waspada, escalates to siaga, awas
    [alert] = alerts(db, FLOOD)
    with db.session() as s:
        [item] = s.scalars(select(EvidenceItem)).all()
        assert (item.alert_id, item.camera_id, item.requested_seconds) == (alert.id, cam_id, 20)
        assert (item.trigger, item.started_by, item.status) == ("rule", "rule:banjir-uji", "queued")
        assert [c.action for c in custody_rows(s, item.id)] == ["created"]


def test_rule_without_the_action_queues_nothing(db, settings):
    install(db, FLOOD_RULE)
    cam_id = camera(db, "FL-N", "Simpang Charitas")
    feed(db, AlertEngine(settings, rules_ttl_s=0), cam_id, "FL-N", RIVER[:4])
    assert len(alerts(db, FLOOD)) == 1
    with db.session() as s:
        assert s.scalars(select(EvidenceItem)).all() == []


def test_recorder_service_records_the_queued_item(sqlite_db, settings, sim):
    install(sqlite_db, {**FLOOD_RULE, "record_seconds": 3})
    cam_id = camera(sqlite_db, "FL-S", "Simpang Charitas")
    with sqlite_db.session() as s:
        from store.models import Camera

        cam = s.get(Camera, cam_id)
        cam.stream_url, cam.protocol = sim.url(0, "mjpeg"), "mjpeg"
    feed(sqlite_db, AlertEngine(settings, rules_ttl_s=0), cam_id, "FL-S", RIVER[:4])
    fast = settings.model_copy(update={"evidence_poll_s": 0.2})
    svc = RecorderService(fast, sqlite_db).start()
    try:
        deadline = time.monotonic() + 60
        status = "queued"
        while time.monotonic() < deadline and status in ("queued", "recording"):
            time.sleep(0.5)
            with sqlite_db.session() as s:
                status = s.scalar(select(EvidenceItem.status))
    finally:
        svc.stop()
    assert status == "complete"
    with sqlite_db.session() as s:
        item = s.scalar(select(EvidenceItem))
        assert [f.kind for f in item.files] == ["clip", "frame", "index"]
        assert [c.action for c in custody_rows(s, item.id)] == ["created", "recorded"]
