"""Alerts (``/peringatan``): every alert with its response status, filtered by status, kind,
severity and OPD; each links to its detail page. OPD staff see their OPD's assignments."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import auth, components, context
from dashboard.callbacks.alerts_common import STATUSES, label
from dashboard.i18n import t
from dashboard.queries import alerts as alert_queries
from dashboard.queries import complaints as complaint_queries

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/peringatan",
    title="Peringatan — Pantau",
    order=1,
    nav_key="nav.alerts",
    icon="bi-bell",
    roles=(*STAFF, "opd"),
    id_prefix="alerts",
)


def _filter(label_key: str, component) -> dbc.Col:
    return dbc.Col([dbc.Label(t(label_key), className="pantau-eyebrow"), component], xs=6, lg=3)


def layout(**_kwargs) -> dbc.Container:
    is_opd = auth.current_role() == auth.OPD_ROLE
    with context.db().session() as s:
        kinds = alert_queries.alert_kinds(s)
        opds = [] if is_opd else complaint_queries.opd_options(s)
    status_opts = [{"label": t("alerts.filter.active"), "value": "active"}]
    status_opts += [{"label": label("status", x), "value": x} for x in STATUSES]
    status_opts += [{"label": t("alerts.filter.pimpinan"), "value": "pimpinan"}]
    status_opts += [{"label": t("alerts.filter.all"), "value": "all"}]
    filters = [
        _filter("alerts.filter.status", components.dropdown(
            id="alerts-status", options=status_opts, value="active", clearable=False)),
        _filter("alerts.filter.kind", components.dropdown(
            id="alerts-kind", options=[{"label": label("kind", k), "value": k} for k in kinds])),
        _filter("alerts.filter.severity", components.dropdown(
            id="alerts-severity",
            options=[{"label": label("severity", x), "value": x}
                     for x in ("critical", "warning", "info")])),
        _filter("alerts.filter.opd", components.dropdown(
            id="alerts-opd", options=opds, disabled=is_opd)),
    ]  # fmt: skip
    right = (
        None
        if is_opd
        else dbc.Button(
            [html.I(className="bi bi-stopwatch me-1"), t("alerts.response_link")],
            href="/waktu-respons",
            size="sm",
            color="secondary",
            outline=True,
            id="alerts-response-link",
        )  # fmt: skip
    )
    return dbc.Container(
        [
            components.page_header(
                t("alerts.title"),
                t("alerts.lead_opd" if is_opd else "alerts.lead"),
                right=right,
                page="alerts",
            ),
            dbc.Row(filters, className="g-2 mb-2"),
            components.card(
                html.Span(id="alerts-count"),
                html.Div(id="alerts-table"),
                fill=False,
            ),
        ],
        fluid=True,
        className="pb-3",
    )
