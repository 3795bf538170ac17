"""Callbacks of the alert-rule editor (``/admin/aturan``, admins, ``admin-rules-*``): pick a
rule (or a new one from a kind's template), edit its definition as JSON, check it, save it
(validated by ``store.rules.schema``: nothing is stored on an error, the message names the
field), switch it on or off, delete it. Every write is audited."""

from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update

from dashboard import auth, context
from dashboard.i18n import local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries.rules import rule_definition, rule_rows
from store import audit
from store.audit import AuditAction
from store.rules.catalog import delete_rule, save_rule, seed_rules, template_for
from store.rules.schema import EVALUATED, Kind, RuleInvalid, parse_rule

register_strings(
    {
        "nav.rules": {"id": "Aturan Peringatan", "en": "Alert rules"},
        "rules.title": {"id": "Aturan peringatan", "en": "Alert rules"},
        "rules.lead": {
            "id": "Kapan Pantau membuka peringatan: lingkup, kondisi, tingkat (waspada/siaga/awas, "
            "gangguan/mati, ...), durasi minimum, histeresis, jeda, dan kunci deduplikasi. "
            "Perubahan berlaku di semua proses ingesti dalam 15 detik.",
            "en": "When Pantau opens an alert: scope, condition, levels (waspada/siaga/awas, "
            "gangguan/mati, ...), minimum duration, hysteresis, cooldown and deduplication key. "
            "Changes reach every ingestion process within 15 seconds.",
        },
        "rules.list": {"id": "Aturan", "en": "Rules"},
        "rules.edit": {"id": "Ubah aturan", "en": "Edit a rule"},
        "rules.pick": {"id": "Pilih aturan atau buat baru…", "en": "Pick a rule or start one…"},
        "rules.new": {"id": "Baru: {kind}", "en": "New: {kind}"},
        "rules.col.name": {"id": "Nama", "en": "Name"},
        "rules.col.kind": {"id": "Jenis", "en": "Kind"},
        "rules.col.scope": {"id": "Lingkup", "en": "Scope"},
        "rules.col.levels": {"id": "Tingkat", "en": "Levels"},
        "rules.col.timing": {
            "id": "Min. durasi / tutup / jeda",
            "en": "Min. duration / close / cooldown",
        },
        "rules.col.status": {"id": "Status", "en": "Status"},
        "rules.on": {"id": "Aktif", "en": "On"},
        "rules.off": {"id": "Nonaktif", "en": "Off"},
        "rules.waits": {"id": "menunggu issue 13", "en": "waits on issue 13"},
        "rules.definition": {"id": "Definisi (JSON)", "en": "Definition (JSON)"},
        "rules.help": {
            "id": "Bidang: name, kind, enabled, description, scope {type, value}, params, levels "
            "[{name, severity, at}], min_duration_s, hysteresis {ratio, band, clear_s}, "
            "cooldown_s, dedup, title, detail. Templat hanya mengisi {placeholder} (README: "
            "Aturan peringatan).",
            "en": "Fields: name, kind, enabled, description, scope {type, value}, params, levels "
            "[{name, severity, at}], min_duration_s, hysteresis {ratio, band, clear_s}, "
            "cooldown_s, dedup, title, detail. Templates only fill {placeholders} (README: "
            "Alert rules).",
        },
        "rules.check": {"id": "Periksa", "en": "Check"},
        "rules.save": {"id": "Simpan", "en": "Save"},
        "rules.toggle": {"id": "Aktifkan / nonaktifkan", "en": "Switch on / off"},
        "rules.delete": {"id": "Hapus", "en": "Delete"},
        "rules.valid": {"id": "Definisi valid.", "en": "The definition is valid."},
        "rules.saved": {"id": "Tersimpan: {name}.", "en": "Saved: {name}."},
        "rules.deleted": {"id": "Dihapus: {name}.", "en": "Deleted: {name}."},
        "rules.error": {"id": "Tidak disimpan:", "en": "Not saved:"},
        "rules.bad_json": {
            "id": "JSON tidak valid (baris {line}): {msg}",
            "en": "Not valid JSON (line {line}): {msg}",
        },
        "rules.need_pick": {"id": "Pilih aturan dulu.", "en": "Pick a rule first."},
        "rules.changed": {"id": "Diubah {who}, {at}", "en": "Changed by {who}, {at}"},
        "rules.kind.flood_coverage": {"id": "Genangan (ROI)", "en": "Flooding (ROI)"},
        "rules.kind.crowd_density": {"id": "Kerumunan", "en": "Crowd"},
        "rules.kind.camera_offline": {"id": "Kamera offline", "en": "Camera offline"},
        "rules.kind.sensor_level": {"id": "Ambang sensor", "en": "Sensor level"},
        "rules.kind.complaint_surge": {"id": "Lonjakan pengaduan", "en": "Complaint surge"},
        "rules.kind.incident_cluster": {"id": "Klaster kejadian", "en": "Incident cluster"},
        "rules.kind.vehicle_dwell": {"id": "Parkir liar (diam)", "en": "Vehicle dwell"},
        "rules.kind.racing": {"id": "Balap liar (malam)", "en": "Illegal racing (night)"},
        "rules.kind.illegal_dumping": {"id": "Buang sampah liar", "en": "Illegal dumping"},
        "rules.scope.city": {"id": "seluruh kota", "en": "whole city"},
        "rules.scope.camera": {"id": "kamera", "en": "camera"},
        "rules.scope.roi": {"id": "ROI", "en": "ROI"},
        "rules.scope.tag": {"id": "tag", "en": "tag"},
        "rules.scope.kecamatan": {"id": "kecamatan", "en": "kecamatan"},
        "rules.scope.sensor": {"id": "sensor", "en": "sensor"},
        "rules.s": {"id": "dtk", "en": "s"},
        "rules.min": {"id": "mnt", "en": "min"},
    }
)


def kind_label(kind: str) -> str:
    key = f"rules.kind.{kind}"
    text = t(key)
    return kind if text == key else text


def _scope(kind: str, value: str | None) -> str:
    key = f"rules.scope.{kind}"
    text = t(key)
    text = kind if text == key else text
    return f"{text}: {value}" if value else text


def _duration(seconds: int) -> str:
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} {t('rules.min')}"
    return f"{seconds} {t('rules.s')}"


def _rows() -> list[Any]:
    with context.db().session() as s:
        seed_rules(s)  # an installation that never evaluated a rule still sees the defaults
    with context.db().session() as s:
        return rule_rows(s)


def rules_table() -> Any:
    rows = _rows()
    heads = ("name", "kind", "scope", "levels", "timing", "status")
    body = []
    for r in rows:
        status = [
            dbc.Badge(t("rules.on") if r.enabled else t("rules.off"),
                      color="success" if r.enabled else "secondary", className="me-1")
        ]  # fmt: skip
        if r.kind not in EVALUATED:
            status.append(dbc.Badge(t("rules.waits"), color="warning", text_color="dark"))
        timing = " / ".join(_duration(x) for x in (r.min_duration_s, r.clear_s, r.cooldown_s))
        body.append(
            html.Tr(
                [
                    html.Td(html.Code(r.name)),
                    html.Td(kind_label(r.kind)),
                    html.Td(_scope(r.scope_type, r.scope_value), className="small"),
                    html.Td(r.levels, className="small"),
                    html.Td(timing, className="small text-nowrap"),
                    html.Td(status),
                ],
                id={"type": "admin-rules-row", "index": r.id},
            )
        )
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(t(f"rules.col.{h}")) for h in heads])), html.Tbody(body)],
        hover=True,
        responsive=True,
        size="sm",
        className="mb-0",
    )


def pick_options() -> list[dict[str, str]]:
    rows = _rows()
    out = [{"label": f"{r.name} — {kind_label(r.kind)}", "value": f"rule:{r.id}"} for r in rows]
    out += [{"label": t("rules.new", kind=kind_label(k)), "value": f"new:{k}"} for k in Kind]
    return out


def load(pick: str | None) -> tuple[Any, Any]:
    """(definition text, changed-by line) of the picked rule or template."""
    if not pick:
        return "", ""
    what, _, ref = pick.partition(":")
    if what == "new":
        return json.dumps(template_for(ref), ensure_ascii=False, indent=2), ""
    tz = context.settings().timezone
    with context.db().session() as s:
        data = rule_definition(s, int(ref))
        rows = {r.id: r for r in rule_rows(s)}
    if data is None:
        return "", ""
    row = rows[int(ref)]
    line = t("rules.changed", who=row.updated_by or "—", at=local_time(row.updated_at, tz))
    return json.dumps(data, ensure_ascii=False, indent=2), line


def _problems(problems: list[str]) -> Any:
    return dbc.Alert(
        [html.Strong(t("rules.error")), html.Ul([html.Li(p) for p in problems], className="mb-0")],
        color="danger",
        className="py-1 mb-0",
        id="admin-rules-feedback",
    )


def _ok(text: str) -> Any:
    return dbc.Alert(text, color="success", className="py-1 mb-0", id="admin-rules-feedback")


def act(action: str, pick: str | None, text: str | None, who: str) -> tuple[Any, ...]:
    """(message, table, options, pick, text) after ``action`` (check, save, toggle, delete)."""
    keep = (no_update, no_update, no_update, no_update)
    rule_id = int(pick.split(":", 1)[1]) if pick and pick.startswith("rule:") else None
    if action in ("toggle", "delete") and rule_id is None:
        return (dbc.Alert(t("rules.need_pick"), color="warning", className="py-1 mb-0"), *keep)
    data: Any = None
    if action in ("check", "save", "toggle"):
        try:
            data = json.loads(text or "")
        except json.JSONDecodeError as exc:
            return (_problems([t("rules.bad_json", line=exc.lineno, msg=exc.msg)]), *keep)
    try:
        if action == "check":
            parse_rule(data)
            return (_ok(t("rules.valid")), *keep)
        with context.db().session() as s:
            if action == "delete":
                assert rule_id is not None
                name = (rule_definition(s, rule_id) or {}).get("name", str(rule_id))
                delete_rule(s, rule_id)
                audit.record(s, AuditAction.ALERT_RULE, username=who, target=name,
                             detail={"op": "delete"})  # fmt: skip
                message, new_pick, new_text = t("rules.deleted", name=name), None, ""
            else:
                if action == "toggle" and isinstance(data, dict):
                    data = {**data, "enabled": not data.get("enabled", True)}
                row = save_rule(s, data, who, rule_id)
                audit.record(s, AuditAction.ALERT_RULE, username=who, target=row.name,
                             detail={"op": action, "enabled": row.enabled,
                                     "new": rule_id is None})  # fmt: skip
                message = t("rules.saved", name=row.name)
                new_pick = f"rule:{row.id}"
                new_text = json.dumps(row.definition, ensure_ascii=False, indent=2)
    except RuleInvalid as exc:
        return (_problems(exc.problems), *keep)
    return _ok(message), rules_table(), pick_options(), new_pick, new_text


def _act(_check, _save, _toggle, _delete, pick, text):
    if not ctx.triggered or not any(x["value"] for x in ctx.triggered):
        return (no_update,) * 5
    action = str(ctx.triggered_id).removeprefix("admin-rules-")
    auth.require_role("admin")
    return act(action, pick, text, auth.current_username() or "admin")


def register(app) -> None:
    app.callback(
        Output("admin-rules-text", "value"),
        Output("admin-rules-source", "children"),
        Input("admin-rules-pick", "value"),
    )(load)
    app.callback(
        Output("admin-rules-msg", "children"),
        Output("admin-rules-table", "children"),
        Output("admin-rules-pick", "options"),
        Output("admin-rules-pick", "value"),
        Output("admin-rules-text", "value", allow_duplicate=True),
        Input("admin-rules-check", "n_clicks"),
        Input("admin-rules-save", "n_clicks"),
        Input("admin-rules-toggle", "n_clicks"),
        Input("admin-rules-delete", "n_clicks"),
        State("admin-rules-pick", "value"),
        State("admin-rules-text", "value"),
        prevent_initial_call=True,
    )(_act)
