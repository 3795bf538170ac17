"""Webhook delivery against a real loopback receiver: retries with backoff through 500s and a
hang, signatures, dead letters and admin retry, two dispatchers sharing one database."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from notify_helpers import Receiver, add_camera, outbox_rows, verify, wait_for

from ingestion.notify.dispatcher import Dispatcher
from ingestion.notify.seed import seed_channels
from store import outbox
from store.db import Database
from store.models import Alert, OutboxStatus

SECRET = "rahasia-kota-palembang"


@pytest.fixture
def receiver():
    rec = Receiver().start()
    yield rec
    rec.stop()


def _settings(settings, rec: Receiver, **kw):
    base = dict(
        notify_webhooks=rec.url,
        notify_webhook_secret=SECRET,
        notify_timeout_s=1.0,
        notify_retry_base_s=0.05,
        notify_retry_cap_s=0.2,
        notify_lease_s=5.0,
        notify_poll_s=0.05,
        notify_min_severity="warning",
        public_base_url="https://pantau.example.go.id",
    )
    base.update(kw)
    return settings.model_copy(update=base)


def _open_alert(db, severity="critical") -> Alert:
    with db.session() as s:
        cam = add_camera(s)
        alert = Alert(
            rule="flood_coverage",
            severity=severity,
            subject_type="camera",
            subject_id=cam.code,
            camera_id=cam.id,
            title="Genangan 62% di Simpang Charitas",
            started_at=datetime(2026, 11, 29, 12, 5, tzinfo=UTC),
        )
        s.add(alert)
    return alert


def _deliver_until(dispatcher: Dispatcher, db, status: str, timeout: float = 20) -> None:
    def done() -> bool:
        dispatcher.run_once()
        return all(r.status == status for r in outbox_rows(db))

    assert wait_for(done, timeout), [(r.status, r.attempts, r.last_error) for r in outbox_rows(db)]


def test_fails_first_then_exactly_one_acknowledged_signed_delivery(db, settings, receiver):
    receiver.script = [500, 500, "hang", 200]
    cfg = _settings(settings, receiver)
    assert seed_channels(db, cfg) == ["Webhook 127.0.0.1"]
    outbox.use_settings(cfg)
    alert = _open_alert(db)
    d = Dispatcher(cfg, db, worker_id="notify-test-1")
    try:
        _deliver_until(d, db, OutboxStatus.DELIVERED)
    finally:
        d.stop()
        outbox.use_settings(None)
    (row,) = outbox_rows(db)
    assert row.attempts == 4 and row.delivered_at is not None and row.last_error is None
    reqs = receiver.requests
    assert len(reqs) == 4  # 500, 500, timeout, 200
    assert {r.headers["X-Pantau-Delivery"] for r in reqs} == {row.delivery_id}
    assert len({r.body for r in reqs}) == 1  # the same bytes every time
    for r in reqs:
        assert verify(SECRET, r.body, r.headers.get("X-Pantau-Signature"))
        assert r.headers["Content-Type"].startswith("application/json")
    assert receiver.processed == [row.delivery_id]  # exactly one acknowledged delivery
    body = json.loads(reqs[0].body)
    assert body["event"] == "alert.opened" and body["delivery_id"] == row.delivery_id
    assert body["alert"]["id"] == alert.id and body["severity"] == "critical"
    assert body["url"] == f"https://pantau.example.go.id/peringatan/{alert.id}"
    assert body["text"].startswith("[SIAGA] Genangan 62% di Simpang Charitas")
    assert not verify("wrong-secret", reqs[0].body, reqs[0].headers["X-Pantau-Signature"])


def test_dead_letter_after_max_attempts_then_admin_retry(db, settings, receiver):
    receiver.script = [503, 503, 503]
    cfg = _settings(settings, receiver, notify_max_attempts=3)
    seed_channels(db, cfg)
    outbox.use_settings(cfg)
    _open_alert(db)
    d = Dispatcher(cfg, db, worker_id="notify-test-dead")
    try:
        _deliver_until(d, db, OutboxStatus.DEAD)
        (row,) = outbox_rows(db)
        assert row.attempts == 3 and row.last_error.startswith("HTTP 503")
        assert receiver.processed == []
        time.sleep(0.3)
        assert d.run_once() == 0  # dead rows stay put
        with db.session() as s:  # what the admin page's retry button calls
            assert outbox.retry(s, [row.id]) == 1
        _deliver_until(d, db, OutboxStatus.DELIVERED)
    finally:
        d.stop()
        outbox.use_settings(None)
    assert receiver.processed == [row.delivery_id]
    assert len(receiver.requests) == 4


def test_a_4xx_answer_is_dead_at_once(db, settings, receiver):
    receiver.script = [404]
    cfg = _settings(settings, receiver)
    seed_channels(db, cfg)
    outbox.use_settings(cfg)
    _open_alert(db)
    d = Dispatcher(cfg, db, worker_id="notify-test-404")
    try:
        _deliver_until(d, db, OutboxStatus.DEAD)
    finally:
        d.stop()
        outbox.use_settings(None)
    (row,) = outbox_rows(db)
    assert row.attempts == 1 and row.last_error.startswith("HTTP 404")


def test_two_dispatchers_never_send_one_row_twice(db, settings, receiver):
    cfg = _settings(settings, receiver)
    seed_channels(db, cfg)
    with db.session() as s:
        for i in range(40):
            outbox.enqueue(s, "test", {"title": f"pesan {i}"}, key=f"k{i}", channels=[1])
    second = Database(db.url)  # its own engine and connections, as another process has
    a = Dispatcher(cfg, db, worker_id="notify-a", batch=3)
    b = Dispatcher(cfg, second, worker_id="notify-b", batch=3)
    try:
        threads = [threading.Thread(target=x.drain, kwargs={"timeout": 60}) for x in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    finally:
        a.stop()
        b.stop()
        second.dispose()
    rows = outbox_rows(db)
    assert all(r.status == OutboxStatus.DELIVERED and r.attempts == 1 for r in rows)
    ids = [r.headers["X-Pantau-Delivery"] for r in receiver.requests]
    assert len(ids) == 40 and len(set(ids)) == 40  # nobody sent a row another one held
    assert a.stats["delivered"] + b.stats["delivered"] == 40


def test_a_channel_that_times_out_does_not_hold_the_batch(db, settings, receiver):
    receiver.script = ["hang"] * 10
    receiver.hang_s = 2.0
    cfg = _settings(settings, receiver, notify_timeout_s=0.5, notify_retry_base_s=30)
    seed_channels(db, cfg)
    with db.session() as s:
        for i in range(5):
            outbox.enqueue(s, "test", {"title": f"pesan {i}"}, key=f"k{i}", channels=[1])
    d = Dispatcher(cfg, db, worker_id="notify-slow", batch=5)
    try:
        assert d.run_once() == 5
    finally:
        d.stop()
    assert len(receiver.requests) == 1  # one timeout, not five
    rows = outbox_rows(db)
    assert all(r.status == OutboxStatus.PENDING for r in rows)
    assert sorted(r.attempts for r in rows) == [0, 0, 0, 0, 1]
    assert sum("not tried" in (r.last_error or "") for r in rows) == 4
