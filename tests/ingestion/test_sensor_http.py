"""Sensor readings over HTTP (``POST /api/sensors/readings``) and the sensor level alerts.

Real app (Flask test client for the fine-grained cases, a live waitress server for the wire),
real SQLite and PostgreSQL, the real Mosquitto broker for MQTT/HTTP parity."""

from __future__ import annotations

import http.client
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
import requests
from ingest_helpers import forget_mqtt_session, free_port, wait_for
from sqlalchemy import func, select, text

from dashboard.app import create_app
from dashboard.callbacks.overview import alert_item
from dashboard.queries.alerts import open_alerts
from ingestion.alerts import SENSOR
from ingestion.sensors import MAX_ITEMS, MAX_PAYLOAD_BYTES, SensorSubscriber
from store.db import Database
from store.models import Alert, Sensor, SensorReading

KEY = "gw-key-3f9a7c1d2e"
OTHER_KEY = "gw-key-second-77"
PATH = "/api/sensors/readings"
BASE = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)


def at(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def raw_item(minute: int, value_token: str) -> str:
    return '{"sensor": "WL-MUSI-AMP", "ts": "' + at(minute) + '", "value": ' + value_token + "}"


def add_sensors(db: Database) -> None:
    with db.session() as s:
        s.add_all(
            [
                Sensor(
                    code="WL-MUSI-AMP",
                    name="Sungai Musi (Ampera)",
                    kind="water_level",
                    unit="cm",
                    warning_level=150.0,
                    danger_level=200.0,
                ),
                Sensor(
                    code="RF-KERTAPATI", name="Curah hujan Kertapati", kind="rainfall", unit="mm/h"
                ),
            ]
        )


def make_app(settings, db: Database, **overrides):  # noqa: ANN001, ANN201
    values = {"sensor_api_keys": f"{KEY}, {OTHER_KEY}"} | overrides
    return create_app(settings.model_copy(update=values), db)


@pytest.fixture
def client(settings, db):  # noqa: ANN001, ANN201
    add_sensors(db)
    return make_app(settings, db).server.test_client()


def post(client, body, key: str | None = KEY, **kw):  # noqa: ANN001, ANN201
    headers = kw.pop("headers", {})
    if key is not None:
        headers.setdefault("Authorization", f"Bearer {key}")
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        PATH, data=data, headers=headers, content_type=kw.pop("content_type", "application/json")
    )


def stored(db: Database) -> list[tuple[str, datetime, float]]:
    with db.session() as s:
        rows = s.execute(
            select(Sensor.code, SensorReading.ts, SensorReading.value)
            .join(Sensor, Sensor.id == SensorReading.sensor_id)
            .order_by(Sensor.code, SensorReading.ts)
        ).all()
    return [(c, ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts, v) for c, ts, v in rows]


def alerts(db: Database) -> list[tuple]:
    with db.session() as s:
        rows = s.scalars(select(Alert).order_by(Alert.started_at, Alert.id)).all()

    def utc(t: datetime | None) -> datetime | None:
        return None if t is None else (t.replace(tzinfo=UTC) if t.tzinfo is None else t)

    return [
        (
            a.rule,
            a.subject_type,
            a.subject_id,
            a.severity,
            a.title,
            a.value,
            utc(a.started_at),
            utc(a.ended_at),
        )
        for a in rows
    ]


# --------------------------------------------------------------------------------------------
# a batch: valid items stored, invalid ones reported by index; retries change nothing
def test_batch_stores_valid_items_reports_the_rest_and_retry_is_a_no_op(client, db):
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    body = (
        "["
        + ",".join(
            [
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 120.5}),  # 0 ok
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": at(5), "value": "121"}),  # 1 ok
                raw_item(10, "NaN"),  # 2: JSON extensions Python's parser accepts
                raw_item(11, "Infinity"),  # 3
                raw_item(12, "1e999"),  # 4: parses to inf
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": future, "value": 1}),  # 5
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": "1970-01-01T00:00:00Z", "value": 1}),
                json.dumps({"sensor": "WL-NOPE", "ts": at(0), "value": 1}),  # 7 unknown
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": at(15), "value": [1]}),  # 8
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": 1700000000, "value": 1}),  # 9
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": "2026-11-23 10:00", "value": 1}),
                json.dumps("WL-MUSI-AMP 120"),  # 11
                json.dumps({"sensor": "RF-KERTAPATI", "ts": at(0), "value": 12}),  # 12 ok
                json.dumps({"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 999}),  # 13 dup of 0
            ]
        )
        + "]"
    )
    resp = post(client, body)
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert [a["index"] for a in out["accepted"]] == [0, 1, 12, 13]
    reasons = {r["index"]: r["reason"] for r in out["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "finite" in reasons[2] and "finite" in reasons[3] and "finite" in reasons[4]
    assert "future" in reasons[5] and "2000" in reasons[6]
    assert "unknown sensor 'WL-NOPE'" in reasons[7]
    assert "number" in reasons[8] and "ISO 8601" in reasons[9] and "timezone" in reasons[10]
    assert "JSON object" in reasons[11]
    assert {r["sensor"] for r in out["rejected"] if r["index"] == 7} == {"WL-NOPE"}
    assert (out["written"], out["duplicates"]) == (3, 1)
    rows = stored(db)
    assert rows == [
        ("RF-KERTAPATI", BASE, 12.0),
        ("WL-MUSI-AMP", BASE, 120.5),  # the first of two items with the same ts wins
        ("WL-MUSI-AMP", BASE + timedelta(minutes=5), 121.0),
    ]

    again = post(client, body)  # a gateway retrying after a lost answer
    assert again.status_code == 200
    assert (again.get_json()["written"], again.get_json()["duplicates"]) == (0, 4)
    assert stored(db) == rows
    with db.session() as s:
        sensor = s.scalar(select(Sensor).where(Sensor.code == "WL-MUSI-AMP"))
        assert sensor.last_value == 121.0


def test_all_rejected_is_422_and_bad_bodies_are_4xx(client, db):
    resp = post(client, [{"sensor": "WL-NOPE", "ts": at(0), "value": 1}])
    assert resp.status_code == 422
    assert resp.get_json()["rejected"][0]["reason"] == "unknown sensor 'WL-NOPE'"
    cases = [
        ('{"sensor": "WL-MUSI-AMP", "value": 1', 400, "not JSON"),
        ('"WL-MUSI-AMP=1"', 400, "got str"),
        ("42", 400, "got int"),
        ("[]", 400, "empty"),
        ("[" * 100_000 + "]" * 100_000, 400, "nested"),
        ('{"sensor": "WL-MUSI-AMP", "value": ' + "9" * 5000 + "}", 400, "not JSON"),
        (b"\xff\xfe{}", 400, "not JSON"),
        (json.dumps([{"sensor": "WL-MUSI-AMP", "value": 1}] * (MAX_ITEMS + 1)), 413, "too many"),
        ("[" + " " * MAX_PAYLOAD_BYTES + "]", 413, "bytes"),
    ]
    for body, status, words in cases:
        resp = post(client, body)
        assert resp.status_code == status, (str(body)[:40], resp.status_code, resp.get_json())
        assert words in resp.get_json()["message"], resp.get_json()
    ok = {"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 1}
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        resp = post(client, ok, content_type=content_type)
        assert resp.status_code == 415, content_type
    assert stored(db) == []


# --------------------------------------------------------------------------------------------
# keys, rate limit
def test_keys_are_required_and_checked(settings, db):
    add_sensors(db)
    ok = [{"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 100}]
    closed = make_app(settings, db, sensor_api_keys=" , ").server.test_client()
    resp = post(closed, ok)
    assert resp.status_code == 503 and "PANTAU_SENSOR_API_KEYS" in resp.get_json()["message"]
    assert post(closed, ok, key=None).status_code == 503  # never open without keys

    client = make_app(settings, db).server.test_client()
    resp = post(client, ok, key=None)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert post(client, ok, key="gw-key-3f9a7c1d2").status_code == 401  # a prefix of a key
    assert post(client, ok, key=KEY + "x").status_code == 401
    assert post(client, ok, key=None, headers={"Authorization": KEY}).status_code == 401
    assert post(client, ok, key=None, headers={"X-API-Key": "nope"}).status_code == 401
    assert stored(db) == []
    assert post(client, ok, key=None, headers={"X-API-Key": OTHER_KEY}).status_code == 200
    assert post(client, ok, key=None, headers={"Authorization": f"bearer {KEY}"}).status_code == 200
    # a cross-site Origin does not matter to a machine API with its own key
    resp = post(client, ok, headers={"Origin": "https://elsewhere.example"})
    assert resp.status_code == 200
    assert len(stored(db)) == 1


def test_rate_limit_per_key_answers_429_with_retry_after(settings, db):
    add_sensors(db)
    client = make_app(settings, db, sensor_rate_limit=3).server.test_client()
    for i in range(3):
        assert post(client, {"sensor": "WL-MUSI-AMP", "ts": at(i), "value": 1}).status_code == 200
    resp = post(client, {"sensor": "WL-MUSI-AMP", "ts": at(9), "value": 1})
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 60
    # another gateway's key has its own budget
    other = post(client, {"sensor": "WL-MUSI-AMP", "ts": at(9), "value": 1}, key=OTHER_KEY)
    assert other.status_code == 200
    assert len(stored(db)) == 4


def test_guessing_keys_is_rate_limited_per_ip(client):
    codes = [post(client, {"sensor": "x", "value": 1}, key=f"guess-{i}").status_code
             for i in range(35)]  # fmt: skip
    assert codes[:30] == [401] * 30 and codes[-1] == 429


# --------------------------------------------------------------------------------------------
# the database down: 503, nothing acknowledged, nothing half-stored; the retry stores it once
def test_database_down_gives_503_and_the_retry_stores_everything_once(settings, sqlite_db):
    db = sqlite_db
    add_sensors(db)
    app = make_app(settings, db)
    client = app.server.test_client()
    body = [
        {"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 140},
        {"sensor": "WL-MUSI-AMP", "ts": at(5), "value": 165},
    ]
    down = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    app.server.config["PANTAU_DB"] = down  # PostgreSQL on a closed port
    try:
        resp = post(client, body)
    finally:
        app.server.config["PANTAU_DB"] = db
        down.dispose()
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "10"
    assert "nothing from this request was stored" in resp.get_json()["message"]

    # fails half-way (readings inserted, then the alert insert fails): all rolled back
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER no_alerts BEFORE INSERT ON alerts "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    resp = post(client, body)
    assert resp.status_code == 503
    assert stored(db) == [] and alerts(db) == []
    with db.session() as s:
        assert s.scalar(select(Sensor.last_value).where(Sensor.code == "WL-MUSI-AMP")) is None
    with db.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER no_alerts"))

    resp = post(client, body)
    assert resp.status_code == 200 and resp.get_json()["written"] == 2
    assert [a["severity"] for a in resp.get_json()["alerts"]] == ["warning"]
    assert post(client, body).get_json()["written"] == 0
    assert len(stored(db)) == 2 and len(alerts(db)) == 1


# --------------------------------------------------------------------------------------------
# sensor alerts: waspada, siaga, hysteresis, one open alert per sensor, late readings ignored
def test_level_alerts_open_escalate_close_and_show_in_the_feed(client, db):
    def send(minute: int, value: float) -> dict:
        resp = post(client, {"sensor": "WL-MUSI-AMP", "ts": at(minute), "value": value})
        assert resp.status_code == 200
        return resp.get_json()

    assert send(0, 149.9)["alerts"] == []
    opened = send(5, 150)["alerts"]
    assert [(a["severity"], a["open"], a["value"]) for a in opened] == [("warning", True, 150)]
    assert (opened[0]["level"], opened[0]["title"]) == ("waspada", "Sungai Musi (Ampera) 150 cm")
    assert send(10, 148)["alerts"] == []  # inside the hysteresis band (closes below 145 cm)
    up = send(15, 212.5)["alerts"]
    assert [(a["severity"], a["open"]) for a in up] == [("critical", True)]
    assert (up[0]["level"], up[0]["title"]) == ("siaga", "Sungai Musi (Ampera) 212.5 cm")
    with db.session() as s:
        feed = open_alerts(s)
    assert [(a.rule, a.severity, a.sensor_code, a.camera_code) for a in feed] == [
        (SENSOR, "critical", "WL-MUSI-AMP", None)
    ]
    with client.application.test_request_context("/"):  # the situation room's alert feed
        item = str(alert_item(feed[0], can_ack=False))
    assert "Sungai Musi (Ampera): 212.5 cm" in item and "SIAGA" in item  # title = value
    assert "Ambang sensor" in item
    assert "href='/banjir'" in item and "WL-MUSI-AMP" in item
    assert send(20, 190)["alerts"] == []  # receding: stays siaga at its peak until it clears
    # a late reading (older than the newest) is stored but does not move the alert
    late = send(1, 400)
    assert late["written"] == 1 and late["alerts"] == []
    closed = send(25, 144.9)["alerts"]
    assert [(a["severity"], a["open"], a["value"]) for a in closed] == [("critical", False, 212.5)]
    assert send(30, 151)["alerts"][0]["open"] is True  # a new episode, a new alert
    rows = alerts(db)
    assert [(r[3], r[5], r[6], r[7]) for r in rows] == [
        ("critical", 212.5, BASE + timedelta(minutes=5), BASE + timedelta(minutes=25)),
        ("warning", 151.0, BASE + timedelta(minutes=30), None),
    ]
    # one payload carrying a whole episode (a gateway flushing its buffer) gives the same
    with db.session() as s:
        sensor = s.scalar(select(Sensor).where(Sensor.code == "RF-KERTAPATI"))
        sensor.warning_level = 50.0  # rainfall: waspada only
    episode = [
        {"sensor": "RF-KERTAPATI", "ts": at(m), "value": v}
        for m, v in ((40, 10), (45, 55), (50, 80), (55, 47.4), (60, 20))
    ]
    out = post(client, list(reversed(episode))).get_json()  # order in the payload is irrelevant
    assert [(a["sensor"], a["severity"], a["open"], a["value"]) for a in out["alerts"]] == [
        ("RF-KERTAPATI", "warning", False, 80.0)
    ]
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Alert).where(Alert.subject_id == "RF-KERTAPATI")
            )
            == 1
        )


def test_concurrent_gateways_one_alert_and_the_newest_value(settings, db):
    """Payloads for one sensor arriving at once (HTTP threads, the MQTT subscriber) take turns:
    one open alert, last_value from the newest reading whatever order they commit in."""
    import threading

    add_sensors(db)
    app = make_app(settings, db, sensor_rate_limit=0)
    values = {m: 160.0 + m for m in range(12)}  # all above warning_level, distinct ts
    barrier = threading.Barrier(len(values))
    codes: list[int] = []

    def gateway(minute: int) -> None:
        client = app.server.test_client()
        barrier.wait()
        body = {"sensor": "WL-MUSI-AMP", "ts": at(minute), "value": values[minute]}
        codes.append(post(client, body).status_code)

    threads = [threading.Thread(target=gateway, args=(m,)) for m in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [200] * len(values)
    rows = alerts(db)
    assert len(rows) == 1 and rows[0][7] is None and rows[0][5] == max(values.values())
    with db.session() as s:
        sensor = s.scalar(select(Sensor).where(Sensor.code == "WL-MUSI-AMP"))
        assert sensor.last_value == values[max(values)]
        last = sensor.last_seen_at
        assert (last if last.tzinfo else last.replace(tzinfo=UTC)) == BASE + timedelta(minutes=11)


# --------------------------------------------------------------------------------------------
# over the wire: a live server, MQTT parity
def test_same_payloads_over_mqtt_and_http_give_the_same_rows_and_alerts(
    settings, tmp_path, mqtt_broker, caplog
):
    from tests.ui.harness import running_app

    host, port = mqtt_broker
    over_mqtt = Database(f"sqlite:///{tmp_path / 'mqtt.db'}")
    over_http = Database(f"sqlite:///{tmp_path / 'http.db'}")
    for database in (over_mqtt, over_http):
        database.migrate()
        add_sensors(database)
    payloads = [
        [{"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 130}],
        {"sensor": "WL-MUSI-AMP", "ts": at(5), "value": 160},
        [
            {"sensor": "WL-MUSI-AMP", "ts": at(10), "value": 205},
            {"sensor": "WL-MUSI-AMP", "ts": at(15), "value": "NaN"},
            {"sensor": "WL-MUSI-AMP", "ts": at(12), "value": 1e308},  # implausible: rejected
            {"sensor": "WL-NOPE", "ts": at(15), "value": 1},
            {"sensor": "RF-KERTAPATI", "ts": at(15), "value": 3.5},
        ],
        {"sensor": "WL-MUSI-AMP", "ts": at(5), "value": 160},  # re-sent
        [{"sensor": "WL-MUSI-AMP", "ts": at(20), "value": 120}],
    ]
    topic = f"pantau-test/{uuid.uuid4().hex[:8]}"
    sub_settings = settings.model_copy(
        update={"mqtt_url": f"mqtt://{host}:{port}", "mqtt_topic": f"{topic}/#"}
    )
    client_id = f"pantau-test-{uuid.uuid4().hex[:10]}"
    caplog.set_level("WARNING", logger="ingestion.sensors")
    sub = SensorSubscriber(sub_settings, over_mqtt, client_id=client_id).start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(host, port)
    pub.loop_start()
    try:
        assert sub.subscribed.wait(10), "never subscribed"
        for payload in payloads:
            pub.publish(f"{topic}/gw1", json.dumps(payload), qos=1).wait_for_publish(5)
        assert wait_for(lambda: sub.stats.messages >= len(payloads), 10), sub.stats
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.stop()
        forget_mqtt_session(host, port, client_id)

    app_settings = settings.model_copy(update={"sensor_api_keys": KEY})
    with running_app(app_settings, over_http) as base:
        answers = [
            requests.post(
                base + PATH, json=p, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
            )
            for p in payloads
        ]
        assert [r.status_code for r in answers] == [200] * len(payloads)
        assert answers[3].json()["duplicates"] == 1
        # a chunked body (no Content-Length) over the limit: 413 too
        url = urlparse(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        chunk = b" " * 65536
        conn.putrequest("POST", PATH)
        conn.putheader("Authorization", f"Bearer {KEY}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for _ in range(MAX_PAYLOAD_BYTES // len(chunk) + 2):
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        assert conn.getresponse().status == 413
        conn.close()

    assert sub.stats.written == 5 and sub.stats.duplicates == 1 and sub.stats.invalid == 3
    # over MQTT the implausible reading is a log line with its index and reason
    assert any(
        "item 2: value 1e+308 cm outside the plausible range" in r.getMessage()
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]
    assert stored(over_mqtt) == stored(over_http) and len(stored(over_http)) == 5
    got = alerts(over_http)
    assert got == alerts(over_mqtt)
    assert [(r[2], r[3], r[5], r[7] is not None) for r in got] == [
        ("WL-MUSI-AMP", "critical", 205.0, True)
    ]
    over_mqtt.dispose()
    over_http.dispose()


# --------------------------------------------------------------------------------------------
# plausibility: range and rate of change per sensor (ingestion/sensor_ranges.py)
def test_an_implausible_reading_is_rejected_by_index_and_opens_no_alert(client, db):
    """1e308 cm is not a water level: rejected like any invalid item, nothing stored, and no
    siaga alert (it is far above danger_level 200)."""
    resp = post(client, [{"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 1e308}])
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["accepted"] == [] and body["alerts"] == []
    [rejected] = body["rejected"]
    assert rejected["index"] == 0 and rejected["sensor"] == "WL-MUSI-AMP"
    assert "outside the plausible range -500..3000 cm" in rejected["reason"]
    resp = post(
        client,
        [
            {"sensor": "WL-MUSI-AMP", "ts": at(1), "value": 120},
            {"sensor": "WL-MUSI-AMP", "ts": at(2), "value": -1e9},
            {"sensor": "RF-KERTAPATI", "ts": at(2), "value": -3},  # rain is never negative
            {"sensor": "RF-KERTAPATI", "ts": at(3), "value": 12.5},
        ],
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert [a["index"] for a in body["accepted"]] == [0, 3]
    assert [(r["index"], r["sensor"]) for r in body["rejected"]] == [
        (1, "WL-MUSI-AMP"),
        (2, "RF-KERTAPATI"),
    ]
    assert "0..500 mm/h" in body["rejected"][1]["reason"]
    assert [(c, v) for c, _ts, v in stored(db)] == [("RF-KERTAPATI", 12.5), ("WL-MUSI-AMP", 120.0)]
    assert alerts(db) == []
    with db.session() as s:
        assert s.scalar(select(Sensor.last_value).where(Sensor.code == "WL-MUSI-AMP")) == 120.0


def test_a_jump_faster_than_the_rate_limit_is_rejected_until_time_makes_it_plausible(client, db):
    """Water level default: at most 60 cm a minute. 120 -> 950 cm one minute later is a glitch
    (no siaga); the same 950 cm 20 minutes after the last good reading (41.5 cm/min) is real."""
    assert post(client, {"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 120}).status_code == 200
    glitch = post(client, {"sensor": "WL-MUSI-AMP", "ts": at(1), "value": 950}).get_json()
    assert glitch["accepted"] == [] and glitch["alerts"] == []
    assert "changes 830 cm/min from 120 (at most 60 cm/min" in glitch["rejected"][0]["reason"]
    # within one payload, in time order: the second reading is measured against the first
    steps = [
        {"sensor": "WL-MUSI-AMP", "ts": at(3), "value": 190},  # 70 cm in 3 min: fine
        {"sensor": "WL-MUSI-AMP", "ts": at(2), "value": 150},  # 30 cm in 2 min: fine
        {"sensor": "WL-MUSI-AMP", "ts": at(4), "value": 400},  # 210 cm in 1 min: glitch
    ]
    body = post(client, steps).get_json()
    assert [a["index"] for a in body["accepted"]] == [0, 1]
    assert [r["index"] for r in body["rejected"]] == [2]
    real = post(client, {"sensor": "WL-MUSI-AMP", "ts": at(23), "value": 950}).get_json()
    assert [a["value"] for a in real["accepted"]] == [950]
    assert [(a["severity"], a["open"]) for a in real["alerts"]] == [("critical", True)]


def test_per_sensor_limits_override_the_kind_default(client, db):
    with db.session() as s:
        sensor = s.scalar(select(Sensor).where(Sensor.code == "WL-MUSI-AMP"))
        sensor.plausible_min, sensor.plausible_max, sensor.max_rate_per_min = 0.0, 300.0, 5.0
    body = post(
        client,
        [
            {"sensor": "WL-MUSI-AMP", "ts": at(0), "value": 250},
            {"sensor": "WL-MUSI-AMP", "ts": at(10), "value": 350},  # over 300
            {"sensor": "WL-MUSI-AMP", "ts": at(1), "value": 270},  # 20 cm/min > 5
            {"sensor": "WL-MUSI-AMP", "ts": at(20), "value": 280},  # 1.5 cm/min since 250
        ],
    ).get_json()
    assert [a["index"] for a in body["accepted"]] == [0, 3]
    assert "0..300 cm" in body["rejected"][0]["reason"]
    assert "at most 5 cm/min" in body["rejected"][1]["reason"]


def test_seed_csv_sets_sensor_ranges_and_refuses_bad_values(db, tmp_path):
    import shutil

    from pantau.settings import DATA_DIR
    from store.seed import seed_sensors

    shutil.copy(DATA_DIR / "sensors.csv", tmp_path / "sensors.csv")
    with db.session() as s:
        assert seed_sensors(s, tmp_path) == 4
    with db.session() as s:
        musi = s.scalar(select(Sensor).where(Sensor.code == "WL-MUSI-AMP"))
        assert (musi.plausible_min, musi.plausible_max, musi.max_rate_per_min) == (0, 1200, 60)
    # a city changes a range in the CSV; `pantau seed` applies it to the existing sensor
    text = (tmp_path / "sensors.csv").read_text().replace(",0,1200,60", ",-50,900,")
    (tmp_path / "sensors.csv").write_text(text)
    with db.session() as s:
        seed_sensors(s, tmp_path)
    with db.session() as s:
        musi = s.scalar(select(Sensor).where(Sensor.code == "WL-MUSI-AMP"))
        assert (musi.plausible_min, musi.plausible_max, musi.max_rate_per_min) == (-50, 900, None)
    bad = text.replace(",-50,900,", ",900,-50,")
    (tmp_path / "sensors.csv").write_text(bad)
    with db.session() as s, pytest.raises(ValueError, match="line 2: plausible_min must be <"):
        seed_sensors(s, tmp_path)
    (tmp_path / "sensors.csv").write_text(text.replace(",-50,900,", ",-50,lots,"))
    with db.session() as s, pytest.raises(ValueError, match="line 2: plausible_max must be a"):
        seed_sensors(s, tmp_path)
