"""/admin/aturan: the defaults are listed, a rule is edited as JSON, a bad edit is refused
naming the field and changes nothing, a change is audited and reaches the engine; every
string of the page has Indonesian and English."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from dashboard.i18n import STRINGS
from store.models import AlertRule, AuditLog


def _app(db, settings) -> Flask:  # noqa: ANN001
    app = Flask(__name__)
    app.config.update(PANTAU_SETTINGS=settings, PANTAU_DB=db)
    return app


def test_rule_editor_lists_validates_saves_and_deletes(sqlite_db, settings):
    from dashboard.callbacks import admin_rules

    db = sqlite_db
    with _app(db, settings).test_request_context("/admin/aturan"):
        table = str(admin_rules.rules_table())  # seeds the defaults into an empty table
        assert "banjir-kota" in table and "waspada ≥ 25 %" in table and "Genangan (ROI)" in table
        with db.session() as s:
            flood_id = s.scalar(select(AlertRule.id).where(AlertRule.name == "banjir-kota"))
        text, source = admin_rules.load(f"rule:{flood_id}")
        data = json.loads(text)
        assert data["kind"] == "flood_coverage" and "seed" in source

        bad = {**data, "levels": [{"name": "waspada", "severity": "warning", "at": 140}]}
        msg, *rest = admin_rules.act("save", f"rule:{flood_id}", json.dumps(bad), "admin.uji")
        assert "Tidak disimpan" in str(msg) and "levels.0.at" in str(msg)
        msg, *_ = admin_rules.act("save", f"rule:{flood_id}", '{"name": ', "admin.uji")
        assert "JSON tidak valid (baris 1)" in str(msg)
        with db.session() as s:
            assert s.get(AlertRule, flood_id).definition["levels"][0]["at"] == 25

        good = {**data, "min_duration_s": 300}
        msg, *_ = admin_rules.act("check", f"rule:{flood_id}", json.dumps(good), "admin.uji")
        assert "Definisi valid" in str(msg)
        msg, table, _opts, pick, new_text = admin_rules.act(
            "save", f"rule:{flood_id}", json.dumps(good), "admin.uji"
        )
        assert "Tersimpan: banjir-kota" in str(msg) and pick == f"rule:{flood_id}"
        assert json.loads(new_text)["min_duration_s"] == 300 and "5 mnt" in str(table)

        msg, *_ = admin_rules.act("toggle", f"rule:{flood_id}", new_text, "admin.uji")
        with db.session() as s:
            row = s.get(AlertRule, flood_id)
            assert row.enabled is False and row.definition["enabled"] is False

        new_text, _ = admin_rules.load("new:vehicle_dwell")
        msg, _t, _o, pick, _x = admin_rules.act("save", "new:vehicle_dwell", new_text, "admin.uji")
        assert "parkir-liar-baru" in str(msg) and pick.startswith("rule:")
        msg, *_ = admin_rules.act("delete", pick, "", "admin.uji")
        assert "Dihapus: parkir-liar-baru" in str(msg)
        with db.session() as s:
            audits = s.scalars(select(AuditLog).where(AuditLog.action == "alert_rule")).all()
            assert [(a.target, a.detail["op"]) for a in audits] == [
                ("banjir-kota", "save"),
                ("banjir-kota", "toggle"),
                ("parkir-liar-baru", "save"),
                ("parkir-liar-baru", "delete"),
            ]


def test_every_rules_string_has_indonesian_and_english():
    import dashboard.callbacks.admin_rules  # noqa: F401

    keys = [k for k in STRINGS if k.startswith("rules.")]
    assert len(keys) > 30
    for k in keys:
        assert STRINGS[k].get("id") and STRINGS[k].get("en"), k
    for kind in ("flood_coverage", "crowd_density", "camera_offline", "sensor_level",
                 "complaint_surge", "incident_cluster", "vehicle_dwell"):  # fmt: skip
        assert f"rules.kind.{kind}" in STRINGS
