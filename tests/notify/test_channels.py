"""The other channels against real parts (Mosquitto, an SMTP sink, a loopback HTTP server),
templates that cannot run code, and the target allow-list."""

from __future__ import annotations

import email
import json
import threading
import uuid
from email import policy as email_policy
from pathlib import Path

import pytest
from notify_helpers import Receiver, add_channel, free_port, outbox_rows, wait_for

from ingestion.notify.channels import ChannelConfigError, check_config
from ingestion.notify.dispatcher import Dispatcher
from ingestion.notify.targets import TargetPolicy, TargetRefused, parse_allowed
from store import outbox
from store.models import NotificationChannel, OutboxStatus

TEXT = 'Banjir "siaga" di Jl. Sudirman\nBuka: https://pantau.example.go.id/peringatan/7 & cek'


def _cfg(settings, **kw):
    base = dict(notify_timeout_s=3.0, notify_retry_base_s=0.05, notify_retry_cap_s=0.2)
    base.update(kw)
    return settings.model_copy(update=base)


def _send_one(db, cfg, channel_name: str, worker: str) -> None:
    with db.session() as s:
        outbox.enqueue(
            s,
            "test",
            {"title": "[SIAGA] Uji kanal", "text": TEXT},
            key=f"test:{uuid.uuid4().hex}",
            channels=[channel_name],
        )
    d = Dispatcher(cfg, db, worker_id=worker, mqtt_client_id=f"{worker}-pub")
    try:
        assert wait_for(lambda: d.run_once() >= 0 and outbox_rows(db)[-1].status != "pending", 20)
    finally:
        d.stop()


@pytest.mark.mqtt
def test_mqtt_channel_publishes_qos1_json(db, settings, mqtt_broker):
    import paho.mqtt.client as mqtt

    host, port = mqtt_broker
    topic = f"notify-test/{uuid.uuid4().hex[:8]}"
    got: list[mqtt.MQTTMessage] = []
    subscribed = threading.Event()
    sub = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"notify-sub-{uuid.uuid4().hex[:6]}"
    )
    sub.on_message = lambda c, u, m: got.append(m)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
    sub.connect(host, port)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        cfg = _cfg(settings, notify_mqtt_url=f"mqtt://{host}:{port}")
        with db.session() as s:
            add_channel(s, "mqtt", "mqtt", check_config("mqtt", {"topic": topic}, cfg))
        _send_one(db, cfg, "mqtt", "notify-mqtt")
        (row,) = outbox_rows(db)
        assert row.status == OutboxStatus.DELIVERED, row.last_error
        assert wait_for(lambda: got, 10)
    finally:
        sub.loop_stop()
        sub.disconnect()
    msg = got[0]
    assert msg.topic == topic and msg.qos == 1
    body = json.loads(msg.payload)
    assert body["delivery_id"] == row.delivery_id and body["text"] == TEXT


def test_email_channel_through_a_local_smtp_sink(db, settings):
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self) -> None:
            self.messages: list[tuple[str, list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        cfg = _cfg(
            settings,
            notify_smtp_host="127.0.0.1",
            notify_smtp_port=port,
            notify_email_from="pantau@palembang.go.id",
        )
        with db.session() as s:
            conf = check_config("email", {"to": "piket@bpbd.go.id, walikota@palembang.go.id"}, cfg)
            add_channel(s, "mail", "email", conf)
        _send_one(db, cfg, "mail", "notify-mail")
    finally:
        controller.stop()
    (row,) = outbox_rows(db)
    assert row.status == OutboxStatus.DELIVERED, row.last_error
    (mail_from, rcpts, raw) = sink.messages[0]
    assert mail_from == "pantau@palembang.go.id"
    assert rcpts == ["piket@bpbd.go.id", "walikota@palembang.go.id"]
    mail = email.message_from_bytes(raw, policy=email_policy.default)
    assert mail["Subject"] == "[SIAGA] Uji kanal"
    assert mail["X-Pantau-Delivery"] == row.delivery_id
    assert mail["Message-ID"] == f"<{row.delivery_id}@palembang.go.id>"
    assert TEXT in mail.get_content().replace("\r\n", "\n")  # SMTP lines end in CRLF


def test_http_template_channel_like_a_telegram_bot(db, settings):
    rec = Receiver().start()
    try:
        cfg = _cfg(settings, notify_allowed_targets="127.0.0.1")
        conf = check_config(
            "http",
            {
                "url_template": f"http://127.0.0.1:{rec.port}/bot123:ABC/sendMessage",
                "body_template": '{"chat_id": "-100200", "text": "$text", "ref": "${delivery_id}"}',
            },
            cfg,
        )
        with db.session() as s:
            add_channel(s, "telegram", "http", conf)
        _send_one(db, cfg, "telegram", "notify-http")
    finally:
        rec.stop()
    (row,) = outbox_rows(db)
    assert row.status == OutboxStatus.DELIVERED, row.last_error
    (req,) = rec.requests
    assert req.path == "/bot123:ABC/sendMessage"
    body = json.loads(req.body)  # quotes, newline and & escaped for JSON: still valid JSON
    assert body == {"chat_id": "-100200", "text": TEXT, "ref": row.delivery_id}
    assert req.headers["X-Pantau-Delivery"] == row.delivery_id


@pytest.mark.parametrize(
    "template",
    [
        "${__import__('os').system('touch PWNED')}",
        "$__class__",
        "${title.__class__}",
        "$text $alert.__init__.__globals__",
    ],
)
def test_templates_that_try_to_run_code_are_refused(settings, template):
    cfg = _cfg(settings, notify_allowed_targets="127.0.0.1")
    with pytest.raises(ChannelConfigError, match="placeholder|unknown field"):
        check_config(
            "http",
            {"url_template": "http://127.0.0.1:9/x", "body_template": template},
            cfg,
        )


def test_a_code_template_smuggled_into_the_database_fails_safely(db, settings, tmp_path):
    """A row written around the validation (SQL) is refused again at send time: dead letter
    with a clear error, nothing executed, nothing sent."""
    rec = Receiver().start()
    marker = Path.cwd() / "PWNED"
    try:
        cfg = _cfg(settings, notify_allowed_targets="127.0.0.1")
        with db.session() as s:
            s.add(
                NotificationChannel(
                    name="evil",
                    kind="http",
                    config={
                        "url_template": f"http://127.0.0.1:{rec.port}/x",
                        "body_template": "${__import__('os').system('touch PWNED')}",
                    },
                )
            )
        _send_one(db, cfg, "evil", "notify-evil")
        # a Jinja-style template is not a template here: sent as the literal text
        with db.session() as s:
            ch = s.query(NotificationChannel).filter_by(name="evil").one()
            ch.config = {
                "url_template": f"http://127.0.0.1:{rec.port}/x",
                "body_template": "{{ cycler.__init__.__globals__.os.popen('id').read() }} $title",
                "content_type": "text/plain",
            }
        _send_one(db, cfg, "evil", "notify-evil2")
    finally:
        rec.stop()
    first, second = outbox_rows(db)
    assert first.status == OutboxStatus.DEAD and "placeholder" in first.last_error
    assert second.status == OutboxStatus.DELIVERED
    assert rec.requests[0].body.decode() == (
        "{{ cycler.__init__.__globals__.os.popen('id').read() }} [SIAGA] Uji kanal"
    )
    assert len(rec.requests) == 1 and not marker.exists()


def test_allow_list_refuses_other_targets_with_a_clear_error(settings):
    cfg = _cfg(settings, notify_allowed_targets="hooks.palembang.go.id, 10.20.0.0/16")
    fake_dns = {
        "hooks.palembang.go.id": ["10.20.1.5"],
        "meta.example": ["169.254.169.254"],
        "evil.example": ["203.0.113.9"],
    }
    policy = TargetPolicy.from_settings(cfg, resolver=lambda h, p: fake_dns[h])
    policy.check("https://hooks.palembang.go.id/pantau")  # listed by name
    policy.check("http://10.20.3.4:8080/hook")  # inside a listed network
    with pytest.raises(TargetRefused, match="PANTAU_NOTIFY_ALLOWED_TARGETS"):
        policy.check("https://evil.example/hook")
    with pytest.raises(TargetRefused, match="PANTAU_NOTIFY_ALLOWED_TARGETS"):
        policy.check("http://192.168.1.10/hook")
    with pytest.raises(TargetRefused, match="only http and https"):
        policy.check("file:///etc/passwd")
    with pytest.raises(TargetRefused, match="user info"):
        policy.check("http://hooks.palembang.go.id@169.254.169.254/")
    # a listed host name resolving to the metadata service is still refused...
    meta = TargetPolicy(frozenset({"meta.example"}), (), resolver=lambda h, p: fake_dns[h])
    with pytest.raises(TargetRefused, match="link-local/metadata"):
        meta.check("http://meta.example/latest")
    # ...unless a configured network contains it
    TargetPolicy(frozenset(), parse_allowed("169.254.169.254/32")[1]).check(
        "http://169.254.169.254/"
    )
    with pytest.raises(ChannelConfigError, match="not an allowed notification target"):
        check_config("webhook", {"url": "http://192.168.1.10/hook"}, cfg)
    with pytest.raises(ValueError, match="not a host name or network"):
        parse_allowed("hooks.palembang.go.id, ???")


def test_a_refused_target_is_dead_at_send_time_without_a_request(db, settings):
    rec = Receiver().start()
    try:
        cfg = _cfg(settings)  # 127.0.0.1 not allowed: not listed, not a PANTAU_NOTIFY_WEBHOOKS host
        with db.session() as s:  # written around the validation (e.g. the allow-list changed)
            s.add(NotificationChannel(name="old", kind="webhook", config={"url": rec.url}))
        _send_one(db, cfg, "old", "notify-refused")
    finally:
        rec.stop()
    (row,) = outbox_rows(db)
    assert row.status == OutboxStatus.DEAD and row.attempts == 1
    assert "target refused" in row.last_error and "PANTAU_NOTIFY_ALLOWED_TARGETS" in row.last_error
    assert rec.requests == []


def test_http_template_form_body_and_url_fields_like_a_whatsapp_gateway(db, settings):
    from urllib.parse import parse_qs, urlsplit

    rec = Receiver().start()
    try:
        cfg = _cfg(settings, notify_allowed_targets="127.0.0.1")
        conf = check_config(
            "http",
            {
                "url_template": f"http://127.0.0.1:{rec.port}/send?ref=$delivery_id&t=$title",
                "body_template": "phone=6281234567890&message=$text",
                "content_type": "application/x-www-form-urlencoded",
            },
            cfg,
        )
        with db.session() as s:
            add_channel(s, "wa", "http", conf)
        _send_one(db, cfg, "wa", "notify-wa")
    finally:
        rec.stop()
    (row,) = outbox_rows(db)
    assert row.status == OutboxStatus.DELIVERED, row.last_error
    (req,) = rec.requests
    query = parse_qs(urlsplit(req.path).query)
    assert query == {"ref": [row.delivery_id], "t": ["[SIAGA] Uji kanal"]}
    form = parse_qs(req.body.decode())
    assert form == {"phone": ["6281234567890"], "message": [TEXT]}
    assert req.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
