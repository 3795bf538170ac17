"""The rule engine's recorded river sequence (tests/rules) sends one message per event: opened
(waspada), escalated to siaga, escalated to awas, closed, and the second flood opened -- each
delivered once to a webhook receiver, in order."""

from __future__ import annotations

import json

from notify_helpers import Receiver, outbox_rows

from ingestion.alerts import AlertEngine
from ingestion.notify.dispatcher import Dispatcher
from ingestion.notify.seed import seed_channels
from store import outbox
from tests.rules.rule_helpers import FLOOD_RULE, RIVER, camera, install
from tests.rules.rule_helpers import run_water as _run


def test_river_sequence_sends_one_message_per_event(db, settings):
    rec = Receiver().start()
    cfg = settings.model_copy(
        update={
            "notify_webhooks": rec.url,
            "notify_webhook_secret": "k",
            "notify_min_severity": "warning",
        }
    )
    try:
        seed_channels(db, cfg)
        outbox.use_settings(cfg)
        install(db, FLOOD_RULE)
        cam_id = camera(db, "FL-1", "Simpang Charitas", kecamatan="Ilir Timur I")
        _run(db, AlertEngine(cfg, rules_ttl_s=0), cam_id, "FL-1", RIVER)
        rows = outbox_rows(db)
        assert [(r.event_type, r.payload["label"]) for r in rows] == [
            ("alert.opened", "WASPADA"),
            ("alert.escalated", "SIAGA"),
            ("alert.escalated", "AWAS"),
            ("alert.closed", "AWAS"),
            ("alert.opened", "WASPADA"),
        ]
        first = rows[0].payload
        assert first["text"].startswith("[WASPADA] Genangan")
        assert "Kamera: Simpang Charitas (FL-1) — Kec. Ilir Timur I" in first["text"]
        d = Dispatcher(cfg, db, worker_id="notify-river")
        try:
            d.drain(timeout=30)
        finally:
            d.stop()
    finally:
        outbox.use_settings(None)
        rec.stop()
    got = [json.loads(r.body) for r in rec.requests]
    assert [g["event"] for g in got] == [r.event_type for r in rows]
    assert rec.processed == [r.delivery_id for r in rows]  # each once, in order


def test_a_route_for_one_named_rule(db, settings):
    from notify_helpers import add_channel

    with db.session() as s:
        mine = add_channel(s, "banjir-charitas", rule="rule:banjir-uji", min_severity="warning")
        add_channel(s, "aturan-lain", rule="rule:banjir-lain", min_severity="info")
    outbox.use_settings(settings)
    try:
        install(db, FLOOD_RULE)
        cam_id = camera(db, "FL-1", "Simpang Charitas")
        _run(db, AlertEngine(settings, rules_ttl_s=0), cam_id, "FL-1", RIVER[:5])
    finally:
        outbox.use_settings(None)
    rows = outbox_rows(db)
    assert [(r.channel_id, r.event_type) for r in rows] == [
        (mine.id, "alert.opened"),
        (mine.id, "alert.escalated"),
    ]
    assert rows[0].payload["rule_name"] == "banjir-uji"
