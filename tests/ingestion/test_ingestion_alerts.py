"""Alert rules: flood coverage (waspada -> siaga), crowd above usual, camera offline; one open
alert per rule and camera; evidence frame kept with its SHA-256."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from ingest_helpers import make_camera
from sqlalchemy import select

from ingestion.alerts import CROWD, FLOOD, OFFLINE, AlertEngine
from ingestion.process import SampleResult
from store.models import Alert, Camera, CameraStatusEvent, ObservationRollup

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _r(cam_id: int, ts: datetime, **obs) -> SampleResult:
    row = {"camera_id": cam_id, "ts": ts, "people": 0, "reused": False, **obs}
    return SampleResult(cam_id, "FL-1", ts, row, evidence_jpeg=b"\xff\xd8fake-jpeg\xff\xd9")


def test_flood_alert_opens_once_escalates_and_closes(db, settings):
    engine = AlertEngine(settings)
    with db.session() as s:
        cam_id = make_camera(s, "FL-1", "http://x", "snapshot", name="Simpang Charitas").id
    series = [0.1, 0.3, 0.35, 0.6, 0.4, 0.1]
    for i, water in enumerate(series):
        with db.session() as s:
            engine.evaluate(
                s,
                [_r(cam_id, T0 + timedelta(minutes=i), water_coverage=water, water_confidence=0.8)],
            )
    with db.session() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.rule == FLOOD)))
    assert len(alerts) == 1  # no duplicates while open
    a = alerts[0]
    assert a.severity == "critical" and a.value == 0.6 and "SIAGA" in a.title
    assert a.ended_at is not None  # closed when the water went down
    evidence = settings.evidence_dir / a.evidence_path
    assert hashlib.sha256(evidence.read_bytes()).hexdigest() == a.evidence_sha256


def test_crowd_alert_needs_a_baseline_and_a_big_excess(db, settings):
    engine = AlertEngine(settings)
    with db.session() as s:
        cam_id = make_camera(s, "CR-1", "http://x", "snapshot").id
        for d in range(1, 6):  # usual: 6 people at this hour
            s.add(
                ObservationRollup(
                    camera_id=cam_id,
                    period="hour",
                    bucket=T0 - timedelta(days=d),
                    samples=60,
                    people_avg=6.0,
                )
            )
    with db.session() as s:
        engine.evaluate(s, [_r(cam_id, T0, people=12)])  # 2x usual: below 2.5x and 15
        engine.evaluate(s, [_r(cam_id, T0 + timedelta(minutes=1), people=40)])
        engine.evaluate(s, [_r(cam_id, T0 + timedelta(minutes=2), people=45)])
    with db.session() as s:
        alerts = list(s.scalars(select(Alert).where(Alert.rule == CROWD)))
    assert len(alerts) == 1 and alerts[0].ended_at is None and alerts[0].value == 45


def test_offline_alert_after_n_minutes_and_closes_on_recovery(db, settings):
    engine = AlertEngine(settings)
    now = datetime.now(UTC)
    with db.session() as s:
        cam = make_camera(s, "OFF-1", "http://x", "snapshot", name="Jembatan Ampera")
        cam.status = "offline"
        s.add(CameraStatusEvent(camera_id=cam.id, ts=now - timedelta(minutes=2), status="offline"))
        cam_id = cam.id
    with db.session() as s:
        assert engine.evaluate_offline(s, now) == []  # only 2 minutes
    with db.session() as s:
        assert len(engine.evaluate_offline(s, now + timedelta(minutes=4))) == 1
        assert engine.evaluate_offline(s, now + timedelta(minutes=5)) == []  # no duplicate
    with db.session() as s:
        s.get(Camera, cam_id).status = "online"
    with db.session() as s:
        engine.evaluate_offline(s, now + timedelta(minutes=6))
        alert = s.scalars(select(Alert).where(Alert.rule == OFFLINE)).one()
        assert alert.ended_at is not None and "Jembatan Ampera" in alert.title
