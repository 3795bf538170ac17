"""Callbacks of the SOP checklist editor (``/admin/sop``, admins, ``admin-sop-*``): load a
kind's steps as text, save them (validated by ``store.alert_sop``; nothing is stored on an
error), or drop the stored list so data/sop_templates.json applies again."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, no_update

from dashboard import auth, context
from dashboard.callbacks.alerts_common import as_text, label
from dashboard.i18n import current_lang, local_time, t
from dashboard.i18n import register as register_strings
from store import alert_sop

register_strings(
    {
        "nav.sop": {"id": "SOP Peringatan", "en": "Alert SOPs"},
        "sop.title": {"id": "SOP per jenis peringatan", "en": "SOP per alert kind"},
        "sop.lead": {
            "id": "Langkah yang dicentang operator pada setiap peringatan. Satu langkah per baris: "
            "kunci | teks Indonesia | teks Inggris. Kunci tetap sama agar centang lama tetap "
            "berlaku; teks boleh diubah.",
            "en": "The steps operators tick on each alert. One step a line: key | Indonesian "
            "text | English text. Keep the keys so earlier ticks still match; texts may change.",
        },
        "sop.kind": {"id": "Jenis peringatan", "en": "Alert kind"},
        "sop.steps": {"id": "Langkah", "en": "Steps"},
        "sop.save": {"id": "Simpan", "en": "Save"},
        "sop.reset": {"id": "Kembalikan ke bawaan", "en": "Back to the default"},
        "sop.source_db": {
            "id": "Daftar tersimpan, diubah {who} pada {at}.",
            "en": "Stored list, changed by {who} at {at}.",
        },
        "sop.source_file": {
            "id": "Daftar bawaan (data/sop_templates.json).",
            "en": "Default list (data/sop_templates.json).",
        },
        "sop.saved": {"id": "Tersimpan: {n} langkah.", "en": "Saved: {n} steps."},
        "sop.was_reset": {
            "id": "Daftar bawaan berlaku lagi.",
            "en": "The default list applies again.",
        },
        "sop.error": {"id": "Tidak disimpan: {why}", "en": "Not saved: {why}"},
    }
)


def kind_options(session) -> list[dict[str, str]]:
    from dashboard.queries.alerts import alert_kinds

    return [
        {"label": f"{label('kind', k)} ({k})" if k != "default" else k, "value": k}
        for k in alert_sop.known_kinds(session, alert_kinds(session))
    ]


def load_kind(kind: str | None) -> tuple[Any, Any]:
    kind = as_text(kind, 64)
    if not kind:
        return "", ""
    tz = context.settings().timezone
    with context.db().session() as s:
        steps = alert_sop.steps_for(s, kind)
        row = alert_sop.stored_template(s, kind)
        source = (
            t("sop.source_db", who=row.updated_by or "?", at=local_time(row.updated_at, tz))
            if row is not None
            else t("sop.source_file")
        )
    return alert_sop.steps_to_lines(steps), source


def save(kind: str | None, text: str | None, action: str, who: str) -> tuple[Any, Any, Any]:
    """(message, new text, source line) after saving or resetting ``kind``."""
    kind, text = as_text(kind, 64), as_text(text, 20000)
    if not kind:
        return no_update, no_update, no_update
    try:
        with context.db().session() as s:
            if action == "reset":
                alert_sop.reset_template(s, kind)
                msg = t("sop.was_reset")
            else:
                steps = alert_sop.save_template(s, kind, alert_sop.lines_to_steps(text or ""), who)
                msg = t("sop.saved", n=len(steps))
    except alert_sop.SopError as exc:
        return dbc.Alert(t("sop.error", why=exc.text(current_lang())), color="danger", className="py-1 mb-0",
                         id="admin-sop-feedback"), no_update, no_update  # fmt: skip
    lines, source = load_kind(kind)
    return (
        dbc.Alert(msg, color="success", className="py-1 mb-0", id="admin-sop-feedback"),
        lines,
        source,
    )


def _act(_save, _reset, kind, text):
    if not ctx.triggered or not any(x["value"] for x in ctx.triggered):
        return no_update, no_update, no_update
    action = "reset" if ctx.triggered_id == "admin-sop-reset" else "save"
    return save(kind, text, action, auth.current_username() or "admin")


def register(app) -> None:
    app.callback(
        Output("admin-sop-text", "value"),
        Output("admin-sop-source", "children"),
        Input("admin-sop-kind", "value"),
    )(load_kind)
    app.callback(
        Output("admin-sop-msg", "children"),
        Output("admin-sop-text", "value", allow_duplicate=True),
        Output("admin-sop-source", "children", allow_duplicate=True),
        Input("admin-sop-save", "n_clicks"),
        Input("admin-sop-reset", "n_clicks"),
        State("admin-sop-kind", "value"),
        State("admin-sop-text", "value"),
        prevent_initial_call=True,
    )(_act)
