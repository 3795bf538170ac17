"""Ruang Situasi (overview): headline tiles. The dashboard issue grows this into the live map."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import context, queries
from dashboard.i18n import fmt_number, local_time, t

dash.register_page(
    __name__,
    path="/",
    title="Ruang Situasi — Pantau",
    order=0,
    nav_key="nav.overview",
    icon="bi-grid-1x2",
)


def _tile(label: str, value: str, unit: str, icon: str, tile_id: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(
                        [html.I(className=f"bi {icon} me-2"), label],
                        className="text-secondary small",
                    ),
                    html.Div(
                        [
                            html.Span(value, className="fs-2 fw-bold me-1"),
                            html.Span(unit, className="text-secondary"),
                        ]
                    ),
                ]
            ),
            className="h-100 shadow-sm",
        ),
        xs=6,
        lg=True,
        id=tile_id,
        className="mb-3",
    )


def layout(**_kwargs) -> dbc.Container:
    with context.db().session() as s:
        h = queries.headline(s)
    tz = context.settings().timezone
    return dbc.Container(
        [
            html.H1(t("nav.overview"), className="h3 my-3"),
            dbc.Row(
                [
                    _tile(
                        "Kamera online",
                        f"{fmt_number(h.cameras_online)}/{fmt_number(h.cameras_total)}",
                        t("unit.cameras"),
                        "bi-camera-video",
                        "tile-cameras",
                    ),
                    _tile(
                        "Peringatan aktif",
                        fmt_number(h.open_alerts),
                        "",
                        "bi-exclamation-triangle",
                        "tile-alerts",
                    ),
                    _tile(
                        "Pengaduan terbuka",
                        fmt_number(h.open_complaints),
                        t("unit.reports"),
                        "bi-chat-left-text",
                        "tile-complaints",
                    ),
                    _tile(
                        "Kejadian 24 jam",
                        fmt_number(h.incidents_24h),
                        t("unit.incidents"),
                        "bi-shield-exclamation",
                        "tile-incidents",
                    ),
                ]
            ),
            html.P(
                f"{t('app.updated')}: {local_time(h.as_of, tz)}", className="text-secondary small"
            ),
        ],
        fluid=True,
    )
