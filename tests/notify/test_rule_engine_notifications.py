"""The rule engine's recorded river sequence (tests/rules) sends one message per event: opened
(waspada), escalated to siaga, escalated to awas, closed, and the second flood opened -- each
delivered once to a webhook receiver, in order."""

from __future__ import annotations

import json
from datetime import timedelta

from notify_helpers import Receiver, outbox_rows

from ingestion.alerts import AlertEngine
from ingestion.notify.dispatcher import Dispatcher
from ingestion.notify.seed import seed_channels
from store import outbox
from tests.rules.rule_helpers import T0, camera, install, sample

MIN = timedelta(minutes=1)
FLOOD_RULE = {
    "name": "banjir-uji",
    "kind": "flood_coverage",
    "levels": [
        {"name": "waspada", "severity": "warning", "at": 25},
        {"name": "siaga", "severity": "critical", "at": 50},
        {"name": "awas", "severity": "critical", "at": 75},
    ],
    "min_duration_s": 120,
    "hysteresis": {"ratio": 0.6, "clear_s": 180},
    "cooldown_s": 600,
    "title": "Genangan {value} di {name}",
    "detail": "Air menutupi {value} ROI jalan di {name}.",
}
# (minute, water coverage): rises through waspada, siaga, awas; falls and clears; comes back
# after the cooldown (the recorded sequence of tests/rules/test_camera_sequences.py)
RIVER = [
    (0, 0.10), (1, 0.30), (2, 0.32), (3, 0.35), (4, 0.55), (5, 0.8393), (6, 0.60),
    (7, 0.20), (8, 0.10), (9, 0.12), (10, 0.05), (11, 0.08),
    (12, 0.30), (13, 0.30), (14, 0.30), (15, 0.30), (18, 0.30), (19, 0.30),
]  # fmt: skip


def _run(db, engine, cam_id, code, series):  # noqa: ANN001
    for minute, water in series:
        with db.session() as s:
            engine.evaluate(
                s,
                [sample(cam_id, code, T0 + minute * MIN, water_coverage=water,
                        water_confidence=0.8)],
            )  # fmt: skip


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
