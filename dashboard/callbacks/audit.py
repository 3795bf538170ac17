"""Callbacks of the audit log page (``/admin/audit``)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dashboard import auth, context
from dashboard.audit_text import fields, sentence
from dashboard.i18n import local_time, t
from dashboard.i18n import register as register_strings
from store import audit
from store.audit import AuditAction

logger = logging.getLogger(__name__)

LIMIT = 300

register_strings(
    {
        "audit.what": {"id": "Apa yang terjadi", "en": "What happened"},
        "audit.a.login": {"id": "Masuk", "en": "Signed in"},
        "audit.a.login_failed": {"id": "Gagal masuk", "en": "Sign-in failed"},
        "audit.a.login_locked": {"id": "Masuk saat terkunci", "en": "Sign-in while locked"},
        "audit.a.logout": {"id": "Keluar", "en": "Signed out"},
        "audit.a.export": {"id": "Ekspor / unduh", "en": "Export / download"},
        "audit.a.view_camera": {"id": "Lihat kamera non-publik", "en": "Viewed non-public camera"},
        "audit.a.user_create": {"id": "Buat pengguna", "en": "User created"},
        "audit.a.user_role": {"id": "Ubah peran", "en": "Role changed"},
        "audit.a.user_password": {"id": "Atur ulang kata sandi", "en": "Password reset"},
        "audit.a.user_active": {"id": "Aktif/nonaktif", "en": "Activated/deactivated"},
        "audit.a.user_unlock": {"id": "Buka kunci", "en": "Unlocked"},
        "audit.a.access_denied": {"id": "Akses ditolak", "en": "Access denied"},
        "audit.a.camera_create": {"id": "Tambah kamera", "en": "Camera added"},
        "audit.a.camera_update": {"id": "Ubah kamera", "en": "Camera changed"},
        "audit.a.camera_enable": {"id": "Aktifkan kamera", "en": "Camera enabled"},
        "audit.a.camera_disable": {"id": "Nonaktifkan kamera", "en": "Camera disabled"},
        "audit.a.camera_import": {"id": "Unggah registri kamera", "en": "Camera registry upload"},
        "audit.a.api_key_create": {"id": "Buat kunci API", "en": "API key created"},
        "audit.a.api_key_revoke": {"id": "Cabut kunci API", "en": "API key revoked"},
        "audit.a.incident_write": {
            "id": "Kejadian dari instansi (berkas/API)",
            "en": "Incidents from an agency (file/API)",
        },
    }
)

BADGE = {
    AuditAction.LOGIN_FAILED: "danger",
    AuditAction.LOGIN_LOCKED: "danger",
    AuditAction.ACCESS_DENIED: "danger",
    AuditAction.EXPORT: "info",
    AuditAction.VIEW_CAMERA: "primary",
    AuditAction.LOGIN: "success",
}


def _label(action: str) -> str:
    key = f"audit.a.{action}"
    text = t(key)
    return action if text == key else text


def _what(r) -> list:  # type: ignore[no-untyped-def]
    """The entry as a sentence, then its details as labelled fields (never raw JSON)."""
    out: list = [
        html.Div(sentence(r.action, r.username, r.target, r.detail), className="audit-sentence")
    ]
    pairs = fields(r.action, r.detail)
    if pairs:
        out.append(
            html.Dl(
                [
                    part
                    for label, value in pairs[:12]
                    for part in (
                        html.Dt(label, className="col-sm-4 fw-normal text-secondary"),
                        html.Dd(value, className="col-sm-8 mb-0 text-break"),
                    )
                ],
                className="row small mb-0 mt-1 audit-fields",
            )
        )
    return out


def action_options() -> list[dict[str, str]]:
    return [{"label": t(f"audit.a.{a.value}"), "value": a.value} for a in AuditAction]


def _day_bounds(
    start: str | None, end: str | None, tz: str
) -> tuple[datetime | None, datetime | None]:
    zone = ZoneInfo(tz)
    since = until = None
    if start:
        since = datetime.combine(date.fromisoformat(start[:10]), datetime.min.time(), zone)
    if end:
        until = datetime.combine(date.fromisoformat(end[:10]), datetime.min.time(), zone)
        until += timedelta(days=1)
    return since, until


def audit_table(
    action: str | None = None,
    username: str | None = None,
    target: str | None = None,
    start: str | None = None,
    end: str | None = None,
):
    """(table, summary) for the filters; every value is rendered as text."""
    tz = context.settings().timezone
    try:
        since, until = _day_bounds(start, end, tz)
    except ValueError:
        since = until = None
    with context.db().session() as s:
        page = audit.search(
            s,
            action=action or None,
            username=(username or "").strip()[:64] or None,
            target=(target or "").strip()[:200] or None,
            since=since,
            until=until,
            limit=LIMIT,
        )
    if not page.rows:
        return dbc.Alert(t("audit.empty"), color="light", className="m-3"), ""
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(k))
                for k in ("audit.time", "audit.user", "audit.action", "audit.what", "audit.ip")
            ]
        )
    )
    body = [
        html.Tr(
            [
                html.Td(local_time(r.ts, tz), className="text-nowrap"),
                html.Td(r.username or "—"),
                html.Td(dbc.Badge(_label(r.action), color=BADGE.get(r.action, "secondary"))),
                html.Td(_what(r), className="audit-what"),
                html.Td(r.ip or "—", className="text-nowrap"),
            ]
        )
        for r in page.rows
    ]
    table = dbc.Table(
        [head, html.Tbody(body)], hover=True, responsive=True, size="sm", className="mb-0"
    )
    return table, t("audit.shown", n=len(page.rows), total=page.total)


def refresh(action, username, target, start, end):
    auth.require_role("admin")
    return audit_table(action, username, target, start, end)


def register(app: dash.Dash) -> None:
    app.callback(
        Output("audit-table", "children"),
        Output("audit-summary", "children"),
        Input("audit-action", "value"),
        Input("audit-user", "value"),
        Input("audit-target", "value"),
        Input("audit-dates", "start_date"),
        Input("audit-dates", "end_date"),
        prevent_initial_call=True,
    )(refresh)
