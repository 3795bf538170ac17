"""Callbacks of the alert list (``/peringatan``, ``alerts-*``): the filtered table.

OPD staff get their own OPD's assignments only: the OPD comes from the server session
(``auth.current_opd_id``), never from the filter the browser sends."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dashboard import auth, context
from dashboard.alert_text import row_title
from dashboard.callbacks.alerts_common import as_id, as_text, label, severity_badge, status_badge
from dashboard.i18n import local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import alerts as q

register_strings(
    {
        "alerts.title": {"id": "Peringatan", "en": "Alerts"},
        "alerts.lead": {
            "id": "Semua peringatan dengan status penanganannya. Buka satu untuk menerima, "
            "menugaskan, mengeskalasi atau menyelesaikannya.",
            "en": "Every alert with where its response stands. Open one to acknowledge, "
            "assign, escalate or resolve it.",
        },
        "alerts.lead_opd": {
            "id": "Peringatan yang ditugaskan kepada OPD Anda.",
            "en": "Alerts assigned to your agency (OPD).",
        },
        "alerts.filter.status": {"id": "Status", "en": "Status"},
        "alerts.filter.kind": {"id": "Jenis", "en": "Kind"},
        "alerts.filter.severity": {"id": "Tingkat", "en": "Severity"},
        "alerts.filter.opd": {"id": "OPD", "en": "Agency (OPD)"},
        "alerts.filter.active": {"id": "Belum selesai", "en": "Not resolved"},
        "alerts.filter.all": {"id": "Semua", "en": "All"},
        "alerts.filter.pimpinan": {
            "id": "Dieskalasi ke pimpinan",
            "en": "Escalated to leadership",
        },
        "alerts.col.id": {"id": "#", "en": "#"},
        "alerts.col.title": {"id": "Peringatan", "en": "Alert"},
        "alerts.col.started": {"id": "Mulai", "en": "Started"},
        "alerts.col.status": {"id": "Status", "en": "Status"},
        "alerts.col.assigned": {"id": "Ditugaskan", "en": "Assigned"},
        "alerts.count": {"id": "{n} peringatan", "en": "{n} alerts"},
        "alerts.none": {"id": "Tidak ada peringatan untuk filter ini.", "en": "No alerts match."},
        "alerts.response_link": {"id": "Waktu respons", "en": "Response times"},
        "alerts.escalated_pimpinan": {"id": "ke pimpinan", "en": "to leadership"},
    }
)


def table(rows: list[q.AlertListRow]) -> Any:
    if not rows:
        return html.P(t("alerts.none"), className="text-secondary small mb-0")
    tz = context.settings().timezone
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("alerts.col.id")),
                html.Th(t("alerts.col.title")),
                html.Th(t("alerts.col.started"), className="d-none d-md-table-cell"),
                html.Th(t("alerts.col.status")),
                html.Th(t("alerts.col.assigned"), className="d-none d-md-table-cell"),
            ]
        )
    )
    body = []
    for r in rows:
        pimpinan = "pimpinan" in (r.escalated_to or "")
        body.append(
            html.Tr(
                [
                    html.Td(html.A(f"#{r.id}", href=f"/peringatan/{r.id}")),
                    html.Td(
                        [
                            html.A(
                                row_title(r), href=f"/peringatan/{r.id}", className="fw-semibold"
                            ),
                            html.Div(
                                [
                                    severity_badge(r.severity, r.level),
                                    label("kind", r.rule),
                                    f" · {r.place}" if r.place else "",
                                    html.Span(
                                        f" · {local_time(r.started_at, tz)}", className="d-md-none"
                                    ),
                                ],
                                className="pantau-footnote",
                            ),  # fmt: skip
                        ]
                    ),
                    html.Td(local_time(r.started_at, tz), className="d-none d-md-table-cell small"),
                    html.Td(
                        [
                            status_badge(r.status),
                            html.Span(
                                t("alerts.escalated_pimpinan"), className="badge text-bg-dark"
                            )
                            if pimpinan
                            else None,
                        ]
                    ),
                    html.Td(
                        ", ".join(x for x in (r.assigned_user, r.assigned_opd) if x) or "—",
                        className="d-none d-md-table-cell small",
                    ),
                ],
                id=f"alerts-row-{r.id}",
            )
        )
    # its own phone layout (columns hidden below md), not the generic "table as cards" of
    # .table-responsive (assets/pantau.css)
    return html.Div(
        dbc.Table(
            [head, html.Tbody(body)],
            size="sm",
            hover=True,
            className="mb-0 align-middle",
            id="alerts-table-el",
        ),
        className="overflow-x-auto",
    )


def load(status, kind, severity, opd) -> tuple[Any, str]:
    status, kind, severity = as_text(status, 32), as_text(kind, 64), as_text(severity, 32)
    opd = as_id(opd)
    only_opd = None
    if auth.current_role() == auth.OPD_ROLE:
        only_opd = auth.current_opd_id()
        opd = None
    with context.db().session() as s:
        rows = q.list_alerts(
            s,
            status=status or "active",
            kind=kind or None,
            severity=severity or None,
            opd_id=opd,
            only_opd=only_opd if only_opd is not None else None,
        )
    return table(rows), t("alerts.count", n=len(rows))


def register(app) -> None:
    app.callback(
        Output("alerts-table", "children"),
        Output("alerts-count", "children"),
        Input("alerts-status", "value"),
        Input("alerts-kind", "value"),
        Input("alerts-severity", "value"),
        Input("alerts-opd", "value"),
    )(load)
