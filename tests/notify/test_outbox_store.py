"""The outbox in the store: alert changes write their rows in the same transaction, routing,
quiet hours, the enqueue API, leases and dead letters -- on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from notify_helpers import add_camera, add_channel, outbox_rows
from sqlalchemy import select, text

from store import outbox
from store.models import Alert, Camera, OutboxStatus
from store.outbox import OutboxError, claim, enqueue, mark_delivered, mark_failed, retry


@pytest.fixture(autouse=True)
def _settings(settings):
    s = settings.model_copy(update={"public_base_url": "https://pantau.example.go.id"})
    outbox.use_settings(s)
    yield s
    outbox.use_settings(None)


def _alert(cam, **kw) -> Alert:
    base = dict(
        rule="flood_coverage",
        severity="warning",
        subject_type="camera",
        subject_id=cam.code,
        camera_id=cam.id,
        title="Genangan 35% di Simpang Charitas",
        started_at=datetime(2026, 11, 29, 12, 5, tzinfo=UTC),
    )
    base.update(kw)
    return Alert(**base)


def test_alert_insert_writes_an_outbox_row_in_its_transaction(db):
    with db.session() as s:
        add_channel(s)
        cam = add_camera(s)
        a = _alert(cam)
        s.add(a)
    rows = outbox_rows(db)
    assert len(rows) == 1
    row = rows[0]
    assert row.event_type == "alert.opened"
    assert row.event_key == f"alert:{a.id}:opened"
    assert row.status == OutboxStatus.PENDING
    assert row.delivery_id.startswith("pd-") and row.payload["delivery_id"] == row.delivery_id
    text = row.payload["text"]
    # Indonesian message: level, title, camera and location, WIB time (12:05 UTC = 19:05 WIB),
    # link to the alert page under the public base URL
    assert "[WASPADA] Genangan 35% di Simpang Charitas" in text
    assert "Peringatan baru" in text
    assert "Kamera: Simpang Charitas (PLG-CHARITAS)" in text
    assert "Kec. Ilir Timur I" in text
    assert "29 Nov 2026 19:05 WIB" in text
    assert f"https://pantau.example.go.id/peringatan/{a.id}" in text
    assert row.payload["alert"]["id"] == a.id


def test_rolled_back_alert_takes_its_outbox_row_with_it(db):
    with db.session() as s:
        add_channel(s)
        add_camera(s)
    with pytest.raises(RuntimeError), db.session() as s:
        cam = s.scalars(select(Camera)).one()
        s.add(_alert(cam))
        s.flush()  # the outbox row exists inside the transaction...
        assert len(s.execute(text("select id from outbox")).all()) == 1
        raise RuntimeError("the writer's batch fails after the alert was flushed")
    assert outbox_rows(db) == []  # ...and went with the alert
    with db.session() as s:
        assert s.scalar(text("select count(*) from alerts")) == 0


def test_alert_changes_are_events_once_each(db):
    with db.session() as s:
        add_channel(s)
        cam = add_camera(s)
        a = _alert(cam)
        s.add(a)
    with db.session() as s:
        a = s.get(Alert, a.id)
        a.value = 0.7  # not an event
    with db.session() as s:
        a = s.get(Alert, a.id)
        a.severity = "critical"
        a.title = "SIAGA: genangan 70%"
    with db.session() as s:
        a = s.get(Alert, a.id)
        a.ended_at = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
    with db.session() as s:  # an ended alert touched again: no new event
        a = s.get(Alert, a.id)
        a.detail = "catatan"
    kinds = [(r.event_type, r.event_key) for r in outbox_rows(db)]
    assert kinds == [
        ("alert.opened", f"alert:{a.id}:opened"),
        ("alert.escalated", f"alert:{a.id}:severity:critical"),
        ("alert.closed", f"alert:{a.id}:closed"),
    ]
    closed = outbox_rows(db)[-1]
    assert "Peringatan berakhir" in closed.payload["text"]
    assert "[SIAGA]" in closed.payload["text"]
    assert "29 Nov 2026 20:00 WIB" in closed.payload["text"]


def test_demo_alerts_and_unrouted_alerts_send_nothing(db):
    with db.session() as s:
        add_channel(s, rule="sensor_level", min_severity="critical")
        cam = add_camera(s)
        s.add(_alert(cam, is_demo=True, severity="critical"))
        s.add(_alert(cam, severity="critical"))  # flood, route is for sensors
        s.add(_alert(cam, rule="sensor_level", severity="warning"))  # below critical
    assert outbox_rows(db) == []


def test_routes_by_rule_and_min_severity(db):
    with db.session() as s:
        floods = add_channel(s, "floods", rule="flood_coverage", min_severity="warning")
        siaga = add_channel(s, "siaga-only", min_severity="critical")
        cam = add_camera(s)
        s.add(_alert(cam, severity="warning"))
        s.add(_alert(cam, rule="crowd_density", severity="critical"))
    got = sorted((r.channel_id, r.payload["alert"]["rule"]) for r in outbox_rows(db))
    assert got == sorted([(floods.id, "flood_coverage"), (siaga.id, "crowd_density")])


def test_enqueue_api_is_idempotent_per_key_and_channel(db):
    with db.session() as s:
        a = add_channel(s, "a", events=["briefing.*"])
        add_channel(s, "b", events=["alert.opened"])  # not for briefings
        ids = enqueue(
            s,
            "briefing.daily",
            {"title": "Ringkasan pagi", "text": "3 peringatan terbuka"},
            key="briefing:2026-11-30",
        )
        assert len(ids) == 1
        again = enqueue(s, "briefing.daily", {"title": "x"}, key="briefing:2026-11-30")
        assert again == []
    rows = outbox_rows(db)
    assert [(r.channel_id, r.payload["text"]) for r in rows] == [(a.id, "3 peringatan terbuka")]
    with db.session() as s:  # explicit channel (the test button), disabled routes ignored
        assert len(enqueue(s, "test", {"title": "Uji"}, key="test:1", channels=["b"])) == 1


def test_enqueue_refuses_bad_input_with_clear_errors(db):
    with db.session() as s:
        add_channel(s)
        with pytest.raises(OutboxError, match="key"):
            enqueue(s, "x", {}, key="")
        with pytest.raises(OutboxError, match="JSON object"):
            enqueue(s, "x", ["not", "a", "dict"], key="k")  # type: ignore[arg-type]
        with pytest.raises(OutboxError, match="at most"):
            enqueue(s, "x", {"t": "x" * 70_000}, key="k")
    assert outbox_rows(db) == []


def test_quiet_hours_hold_everything_but_critical(db):
    # 23:30 WIB is inside 22:00-06:00: a warning waits until 06:00 WIB (23:00 UTC), siaga goes
    now = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    with db.session() as s:
        add_channel(s, quiet=("22:00", "06:00"))
        enqueue(s, "alert.opened", {"title": "w"}, key="w", severity="warning", now=now)
        enqueue(s, "alert.opened", {"title": "c"}, key="c", severity="critical", now=now)
        enqueue(s, "alert.opened", {"title": "l"}, key="l", level="siaga", now=now)
    rows = {r.event_key: r for r in outbox_rows(db)}
    assert rows["w"].next_attempt_at == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert rows["w"].held_until == rows["w"].next_attempt_at
    assert rows["c"].next_attempt_at == now and rows["c"].held_until is None
    assert rows["l"].held_until is None
    with db.session() as s:  # a held row is not due before the end of the quiet hours
        got = claim(s, "d1", limit=10, lease_s=60, now=now + timedelta(hours=1))
    assert sorted(c.event_key for c in got) == ["c", "l"]


def test_leases_keep_two_dispatchers_apart_and_expire(db):
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with db.session() as s:
        add_channel(s)
        for i in range(4):
            enqueue(s, "test", {"title": str(i)}, key=f"k{i}", now=now)
    with db.session() as s1, db.session() as s2:
        a = claim(s1, "one", limit=3, lease_s=60, now=now)
        b = claim(s2, "two", limit=3, lease_s=60, now=now)
    assert len(a) == 3 and len(b) == 1
    assert not {c.id for c in a} & {c.id for c in b}
    with db.session() as s:  # nothing free while the leases hold
        assert claim(s, "three", limit=10, lease_s=60, now=now + timedelta(seconds=59)) == []
    with db.session() as s:
        mark_delivered(s, a[0], now=now)
    with db.session() as s:  # 'one' died: its two other rows come back after the lease
        again = claim(s, "three", limit=10, lease_s=60, now=now + timedelta(seconds=61))
    assert sorted(c.id for c in again) == sorted([a[1].id, a[2].id, b[0].id])
    assert all(c.attempts == 2 for c in again)
    assert {r.delivery_id for r in outbox_rows(db)} >= {c.delivery_id for c in again}


def test_failures_back_off_then_go_dead_and_admins_retry(db):
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with db.session() as s:
        add_channel(s)
        enqueue(s, "test", {"title": "x"}, key="x", now=now)
    t = now
    statuses = []
    for _ in range(3):
        with db.session() as s:
            (c,) = claim(s, "d", limit=1, lease_s=60, now=t)
            statuses.append(
                mark_failed(s, c, "HTTP 500", max_attempts=3, base_s=10, cap_s=15, now=t)
            )
        row = outbox_rows(db)[0]
        if row.status == OutboxStatus.PENDING:
            delay = (row.next_attempt_at - t).total_seconds()
            cap = min(15, 10 * 2 ** (c.attempts - 1))
            assert cap / 2 <= delay <= cap  # exponential, capped, jittered
            t = row.next_attempt_at
    assert statuses == ["pending", "pending", "dead"]
    row = outbox_rows(db)[0]
    assert row.status == OutboxStatus.DEAD and row.last_error == "HTTP 500" and row.attempts == 3
    with db.session() as s:
        assert retry(s) == 1
    row = outbox_rows(db)[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    with db.session() as s:
        assert outbox.counts(s) == {"pending": 1, "delivering": 0, "delivered": 0, "dead": 0}


def test_workflow_actions_are_one_message_each(db):
    from store.alert_workflow import Actor, acknowledge, assign, escalate, resolve
    from store.models import Opd
    from store.users import create_user

    with db.session() as s:
        add_channel(s)
        cam = add_camera(s)
        opd = Opd(code="BPBD", name="Badan Penanggulangan Bencana Daerah", short_name="BPBD")
        s.add(opd)
        create_user(s, "budi", "kata-sandi-panjang-1", "operator")
        a = _alert(cam)
        s.add(a)
    actor = Actor("operator1", role="operator")
    with db.session() as s:
        acknowledge(s, a.id, actor)
    with db.session() as s:
        assign(s, a.id, actor, user="budi", opd_id=opd.id)
    with db.session() as s:
        escalate(s, a.id, actor, severity="critical", to_pimpinan=True)
    rows = outbox_rows(db)
    kinds = [r.event_type for r in rows]
    assert kinds == ["alert.opened", "alert.status", "alert.assigned", "alert.escalated"]
    assert "Status: diterima" in rows[1].payload["text"]
    assert "Ditugaskan kepada: budi · BPBD" in rows[2].payload["text"]
    assert "[SIAGA]" in rows[3].payload["text"]
    with db.session() as s:
        resolve(s, a.id, actor, "handled")
    assert outbox_rows(db)[-1].event_type == "alert.status"
    assert "Status: selesai" in outbox_rows(db)[-1].payload["text"]


def test_prune_drops_only_old_delivered_rows(db):
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with db.session() as s:
        add_channel(s)
        for key in ("old", "new", "dead"):
            enqueue(s, "test", {"title": key}, key=key, now=now)
    with db.session() as s:
        claimed = {c.event_key: c for c in claim(s, "d", limit=10, lease_s=60, now=now)}
        mark_delivered(s, claimed["old"], now=now - timedelta(days=40))
        mark_delivered(s, claimed["new"], now=now - timedelta(days=2))
        mark_failed(s, claimed["dead"], "x", max_attempts=1, base_s=1, cap_s=1, now=now)
    with db.session() as s:
        assert outbox.prune(s, now - timedelta(days=30)) == 1
    assert sorted(r.event_key for r in outbox_rows(db)) == ["dead", "new"]


def test_a_sensor_reading_that_opens_an_alert_enqueues_in_the_ingest_transaction(db):
    """The real intake path: ingest_readings() opens a siaga alert for a water-level sensor and
    its outbox row commits with it (and not at all when the intake transaction fails)."""
    from ingestion.sensors import ingest_readings
    from store.models import Sensor

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with db.session() as s:
        add_channel(s, rule="sensor_level", min_severity="warning")
        s.add(
            Sensor(
                code="AWLR-MUSI-1",
                name="Pos Duga Air Musi Ampera",
                kind="water_level",
                unit="cm",
                kecamatan="Seberang Ulu I",
                warning_level=150,
                danger_level=200,
            )
        )
    reading = {"sensor": "AWLR-MUSI-1", "ts": "2026-11-29T11:58:00Z", "value": 212.5}
    with pytest.raises(RuntimeError), db.session() as s:
        ingest_readings(s, [reading], now=now)
        s.flush()
        raise RuntimeError("the database write after it fails")
    assert outbox_rows(db) == []
    with db.session() as s:
        ingest_readings(s, [reading], now=now)
    (row,) = outbox_rows(db)
    assert row.event_type == "alert.opened" and row.severity == "critical"
    assert (
        "Sensor: Pos Duga Air Musi Ampera (AWLR-MUSI-1) — Kec. Seberang Ulu I"
        in (row.payload["text"])
    )
    assert "29 Nov 2026 18:58 WIB" in row.payload["text"]


def test_a_lost_lease_cannot_be_renewed_and_a_release_is_not_an_attempt(db):
    from store.outbox import release, renew

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    with db.session() as s:
        add_channel(s)
        enqueue(s, "test", {"title": "x"}, key="x", now=now)
    with db.session() as s:
        (a,) = claim(s, "a", limit=1, lease_s=60, now=now)
    with db.session() as s:  # a's lease ran out while it sent other rows: b takes the row
        (b,) = claim(s, "b", limit=1, lease_s=60, now=now + timedelta(seconds=61))
    with db.session() as s:
        assert not renew(s, a, 60, now=now + timedelta(seconds=62))  # a must not send it
        assert renew(s, b, 60, now=now + timedelta(seconds=62))
        release(s, b, 5, "channel failed just before", now=now + timedelta(seconds=63))
    (row,) = outbox_rows(db)
    # a's claim counts (a may have sent it before losing track), b's released one does not
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == now + timedelta(seconds=68)
