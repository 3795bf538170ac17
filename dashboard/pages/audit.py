"""Audit log (``/admin/audit``, admins only): sign-ins, sign-outs, exports, user management
and views of non-public cameras, newest first, filterable."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard.callbacks.audit import action_options, audit_table
from dashboard.components import date_range, dropdown
from dashboard.i18n import register, t

dash.register_page(
    __name__,
    path="/admin/audit",
    title="Log audit — Pantau",
    order=96,
    nav_key="nav.audit",
    nav_group="admin",
    icon="bi-journal-text",
    roles=("admin",),
    id_prefix="audit",
)

register(
    {
        "nav.audit": {"id": "Audit", "en": "Audit"},
        "audit.title": {"id": "Log audit", "en": "Audit log"},
        "audit.lead": {
            "id": "Siapa masuk, keluar, mengekspor data, mengelola pengguna, dan melihat kamera "
            "non-publik — kapan dan dari mana.",
            "en": "Who signed in, signed out, exported data, managed users and viewed non-public "
            "cameras — when and from where.",
        },
        "audit.action": {"id": "Aksi", "en": "Action"},
        "audit.user": {"id": "Pengguna", "en": "User"},
        "audit.target": {"id": "Sasaran", "en": "Target"},
        "audit.period": {"id": "Periode", "en": "Period"},
        "audit.all": {"id": "Semua aksi", "en": "All actions"},
        "audit.time": {"id": "Waktu", "en": "Time"},
        "audit.ip": {"id": "Alamat IP", "en": "IP address"},
        "audit.detail": {"id": "Rincian", "en": "Detail"},
        "audit.shown": {"id": "{n} dari {total} entri", "en": "{n} of {total} entries"},
        "audit.empty": {"id": "Tidak ada entri yang cocok.", "en": "No matching entries."},
    }
)


def layout(**_kwargs) -> dbc.Container:
    table, summary = audit_table()
    filters = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(t("audit.action"), html_for="audit-action"),
                    dropdown(
                        id="audit-action", options=action_options(), placeholder=t("audit.all")
                    ),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("audit.user"), html_for="audit-user"),
                    dbc.Input(id="audit-user", type="search", debounce=True, maxLength=64),
                ],
                md=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("audit.target"), html_for="audit-target"),
                    dbc.Input(id="audit-target", type="search", debounce=True, maxLength=200),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("audit.period"), html_for="audit-dates"),
                    html.Div(date_range(id="audit-dates", clearable=True)),
                ],
                md=4,
            ),
        ],
        className="g-2 mb-3",
    )
    return dbc.Container(
        [
            html.H1(t("audit.title"), className="h3 mt-3 mb-1"),
            html.P(t("audit.lead"), className="text-secondary"),
            filters,
            html.Div(summary, id="audit-summary", className="text-secondary small mb-2"),
            dbc.Card(dbc.CardBody(table, id="audit-table", className="p-0"), className="shadow-sm"),
        ],
        fluid=True,
        id="audit-page",
    )
