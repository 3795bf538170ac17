"""Callbacks of the public status lookup (``/lapor/status``)."""

from __future__ import annotations

import logging
import math

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from dashboard import context
from dashboard.callback_boundary import text_or_none
from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.i18n import current_lang, local_time, t
from store.complaints import (
    category_label,
    find_by_tracking_id,
    normalise_tracking_id,
    public_history,
    status_label,
)
from store.models import ComplaintStatus, Opd, PrivacyMode

logger = logging.getLogger(__name__)

STATUS_COLORS = {
    ComplaintStatus.NEW: "secondary",
    ComplaintStatus.VERIFIED: "info",
    ComplaintStatus.DISPATCHED: "primary",
    ComplaintStatus.IN_PROGRESS: "warning",
    ComplaintStatus.RESOLVED: "success",
    ComplaintStatus.CLOSED: "dark",
    ComplaintStatus.REJECTED: "danger",
    ComplaintStatus.DUPLICATE: "light",
}


def status_badge(status: str, lang: str, **kw) -> html.Span:
    color = STATUS_COLORS.get(status, "secondary")
    text_cls = " text-dark" if color in ("light", "warning", "info") else ""
    return html.Span(status_label(status, lang), className=f"badge text-bg-{color}{text_cls}", **kw)


def render_status(raw_id: str | None):
    """The public view of one report (all text rendered as text, never as HTML)."""
    lang = current_lang()
    tz = context.settings().timezone
    from flask import has_request_context

    if has_request_context():
        from dashboard.api.intake import check_rate

        retry = check_rate("lookup")
        if retry is not None:
            return dbc.Alert(
                t("lapor.rate_limited", minutes=max(1, math.ceil(retry / 60))), color="warning"
            )
    if normalise_tracking_id(raw_id) is None:
        return dbc.Alert(t("laporstatus.malformed"), color="warning", id="laporstatus-malformed")
    with context.db().session() as s:
        c = find_by_tracking_id(s, raw_id)
        if c is None:
            return dbc.Alert(
                t("laporstatus.not_found"), color="warning", id="laporstatus-not-found"
            )
        head = [
            html.H2(c.tracking_id, className="h4 mb-2", id="laporstatus-tracking"),
            html.Dl(
                [
                    html.Dt(t("laporstatus.status"), className="col-sm-4"),
                    html.Dd(
                        status_badge(c.status, lang, id="laporstatus-status"), className="col-sm-8"
                    ),
                    html.Dt(t("laporstatus.received"), className="col-sm-4"),
                    html.Dd(local_time(c.created_at, tz), className="col-sm-8"),
                    html.Dt(t("laporstatus.updated"), className="col-sm-4"),
                    html.Dd(local_time(c.updated_at, tz), className="col-sm-8"),
                ],
                className="row mb-0",
            ),
        ]
        if c.privacy == PrivacyMode.CONFIDENTIAL:
            return dbc.Card(
                dbc.CardBody(
                    [
                        *head,
                        dbc.Alert(
                            t("laporstatus.confidential"),
                            color="secondary",
                            className="mt-3 mb-0",
                            id="laporstatus-confidential",
                        ),
                    ]
                ),
                id="laporstatus-card",
            )
        opd = s.get(Opd, c.opd_id) if c.opd_id else None
        location = c.address or (f"{c.lat:.5f}, {c.lon:.5f}" if c.lat is not None else "—")
        details = html.Dl(
            [
                html.Dt(t("laporstatus.category"), className="col-sm-4"),
                html.Dd(category_label(c.category, lang), className="col-sm-8"),
                html.Dt(t("laporstatus.opd"), className="col-sm-4"),
                html.Dd(opd.name if opd else "—", className="col-sm-8"),
                html.Dt(t("laporstatus.location"), className="col-sm-4"),
                html.Dd(location, className="col-sm-8"),
            ],
            className="row",
        )
        history = html.Ol(
            [
                html.Li(
                    [
                        html.Span(local_time(e["ts"], tz), className="text-secondary me-2"),
                        status_badge(e["status"], lang),
                        html.Div(e["note"], className="small mt-1") if e["note"] else None,
                    ],
                    className="mb-2",
                )
                for e in public_history(s, c)
            ],
            className="list-unstyled",
            id="laporstatus-history",
        )
        return dbc.Card(
            dbc.CardBody(
                [
                    *head,
                    html.Hr(),
                    details,
                    html.H3(t("laporstatus.description"), className="h6"),
                    # plain text child: Dash escapes it, markup shows as typed
                    html.P(c.description, id="laporstatus-description", className="pantau-text"),
                    html.H3(t("laporstatus.history"), className="h6 mt-3"),
                    history,
                ]
            ),
            id="laporstatus-card",
        )


def lookup(n_clicks: int | None, n_submit: int | None, value: str | None):
    if not (n_clicks or n_submit):
        return no_update
    return render_status(text_or_none(value, "laporstatus-id.value"))


def register(app: dash.Dash) -> None:
    app.callback(
        Output("laporstatus-result", "children"),
        Input("laporstatus-search", "n_clicks"),
        Input("laporstatus-id", "n_submit"),
        State("laporstatus-id", "value"),
        prevent_initial_call=True,
    )(lookup)
