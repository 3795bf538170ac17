"""IoT sensors over the real Mosquitto broker: valid readings stored once (QoS 1 redelivery is a
no-op), invalid payloads counted and logged, never fatal; the plain HTTP-able function too."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from ingest_helpers import forget_mqtt_session, wait_for
from sqlalchemy import func, select

from ingestion.sensors import SensorSubscriber, ingest_readings
from store.models import Sensor, SensorReading


def _sensor(db, code: str = "WL-TEST-1") -> int:
    with db.session() as s:
        sensor = Sensor(code=code, name="Sungai Musi", kind="water_level", unit="cm")
        s.add(sensor)
        s.flush()
        return sensor.id


def _readings(db) -> list[tuple]:
    with db.session() as s:
        return s.execute(
            select(SensorReading.ts, SensorReading.value).order_by(SensorReading.ts)
        ).all()


def test_mqtt_readings_are_stored_once_and_bad_payloads_survive(sqlite_db, settings, mqtt_broker):
    host, port = mqtt_broker
    sensor_id = _sensor(sqlite_db)
    topic_root = f"pantau-test/{uuid.uuid4().hex[:8]}"
    s = settings.model_copy(
        update={"mqtt_url": f"mqtt://{host}:{port}", "mqtt_topic": f"{topic_root}/#"}
    )
    client_id = f"pantau-test-{uuid.uuid4().hex[:10]}"
    sub = SensorSubscriber(s, sqlite_db, client_id=client_id).start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(host, port)
    pub.loop_start()
    try:
        assert sub.subscribed.wait(10), "never subscribed"
        good = {"sensor": "WL-TEST-1", "ts": "2026-11-23T10:00:00+07:00", "value": 182.5}
        messages = [
            json.dumps(good),
            json.dumps(good),  # redelivered
            "not json {",
            json.dumps({"sensor": "WL-TEST-1", "ts": "yesterday", "value": 1}),
            json.dumps({"sensor": "NOPE", "ts": "2026-11-23T03:00:00Z", "value": 1}),
            json.dumps({"sensor": "WL-TEST-1", "value": "NaN"}),
            json.dumps([{"sensor": "WL-TEST-1", "ts": "2026-11-23T03:05:00Z", "value": 190}]),
        ]
        for m in messages:
            pub.publish(f"{topic_root}/musi", m, qos=1).wait_for_publish(5)
        assert wait_for(lambda: sub.stats.messages >= len(messages), 10), sub.stats
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.stop()
        forget_mqtt_session(host, port, client_id)
    rows = _readings(sqlite_db)
    assert [v for _, v in rows] == [182.5, 190.0]
    assert rows[0][0].replace(tzinfo=UTC) == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert sub.stats.invalid == 4 and sub.stats.duplicates == 1 and sub.stats.written == 2
    with sqlite_db.session() as sess:
        sensor = sess.get(Sensor, sensor_id)
        assert sensor.last_value == 190.0


def test_ingest_readings_function_reports_each_problem(db):
    _sensor(db, "RF-1")
    now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    payload = [
        {"sensor": "RF-1", "ts": "2026-11-23T03:00:00Z", "value": 12},
        {"sensor": "RF-1", "ts": "2026-11-23T03:00:00", "value": 12},  # no timezone
        {"sensor": "RF-1", "ts": (now + timedelta(days=1)).isoformat(), "value": 1},
        {"sensor": "RF-1", "value": True},
        "text",
    ]
    with db.session() as s:
        res = ingest_readings(s, payload, now=now)
    assert (res.accepted, res.written) == (1, 1)
    assert len(res.rejected) == 4
    reasons = [r.reason for r in res.rejected]
    assert [r.index for r in res.rejected] == [1, 2, 3, 4]
    assert any("timezone" in r for r in reasons) and any("future" in r for r in reasons)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SensorReading)) == 1
