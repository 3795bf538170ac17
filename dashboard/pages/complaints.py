"""Complaint statistics and heatmap (``/pengaduan``): density aggregated on the server by
period, category and status; KPIs with deadlines; per-OPD performance."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.callbacks import areas as _areas  # noqa: F401  - the card's strings
from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.callbacks.complaints_common import base_map, category_options
from dashboard.components import area_card
from dashboard.i18n import current_lang, t

dash.register_page(
    __name__,
    path="/pengaduan",
    title="Pengaduan — Pantau",
    order=50,
    nav_key="nav.complaints",
    icon="bi-chat-left-text",
    roles=("pimpinan", "operator", "analis", "admin"),
    kiosk=True,  # part of the wall-screen rotation (fits it: tests/ui/test_wall_browser.py)
)

PERIODS = (7, 30, 90, 365)


def layout(**_kwargs) -> dbc.Container:
    lang = current_lang()
    filters = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(t("complaints.period"), html_for="complaints-period"),
                    dbc.Select(
                        id="complaints-period",
                        options=[
                            {"label": t("complaints.days", n=n), "value": str(n)} for n in PERIODS
                        ],
                        value="30",
                    ),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("complaints.category"), html_for="complaints-category"),
                    dbc.Select(
                        id="complaints-category",
                        options=[
                            {"label": t("complaints.all_categories"), "value": "all"},
                            *category_options(lang),
                        ],
                        value="all",
                    ),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("complaints.view")),
                    dbc.RadioItems(
                        id="complaints-view",
                        options=[
                            {"label": t("complaints.view_live"), "value": "live"},
                            {"label": t("complaints.view_all"), "value": "all"},
                            {"label": t("complaints.view_closed"), "value": "closed"},
                        ],
                        value="live",
                        inline=True,
                    ),
                ],
                md=6,
            ),
        ],
        className="g-3 mb-3 pantau-no-kiosk",
    )
    return dbc.Container(
        [
            html.Div(
                [
                    html.H1(t("complaints.title"), className="h3 my-3 me-auto"),
                    dbc.Button(
                        [html.I(className="bi bi-list-check me-1"), t("complaints.open_queue")],
                        href="/pengaduan/antrian",
                        color="primary",
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button(
                        [
                            html.I(className="bi bi-box-arrow-up-right me-1"),
                            t("complaints.public_form"),
                        ],
                        href="/lapor",
                        color="secondary",
                        outline=True,
                        size="sm",
                    ),
                ],
                className="d-flex align-items-center flex-wrap",
            ),
            filters,
            dcc.Loading(html.Div(id="complaints-kpis"), type="dot"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(id="complaints-map-title"),
                                dbc.CardBody(
                                    [
                                        base_map(
                                            "complaints-map", "complaints-heat", "460px", areas=True
                                        ),
                                        html.Div(id="complaints-legend", className="small mt-2"),
                                    ]
                                ),
                            ],
                            className="shadow-sm h-100",
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            dbc.Card(
                                [
                                    dbc.CardHeader(t("complaints.daily")),
                                    dbc.CardBody(
                                        dcc.Graph(
                                            id="complaints-daily",
                                            config={"displayModeBar": False},
                                            style={"height": "200px"},
                                        )
                                    ),
                                ],
                                className="shadow-sm mb-3",
                            ),
                            dbc.Card(
                                [
                                    dbc.CardHeader(t("complaints.by_category")),
                                    dbc.CardBody(
                                        dcc.Graph(
                                            id="complaints-categories",
                                            config={"displayModeBar": False},
                                            style={"height": "280px"},
                                        )
                                    ),
                                ],
                                className="shadow-sm",
                            ),
                        ],
                        lg=5,
                        className="mb-3",
                    ),
                ]
            ),
            area_card("complaints", t("areas.complaints.title")),
            dbc.Card(
                [
                    dbc.CardHeader(t("complaints.opd_table")),
                    dbc.CardBody(html.Div(id="complaints-opd"), className="p-0"),
                ],
                className="shadow-sm mb-3 pantau-no-kiosk",
            ),
            html.P(id="complaints-updated", className="text-secondary small"),
            dcc.Interval(id="complaints-refresh", interval=60_000, n_intervals=0),
        ],
        fluid=True,
        className="pb-4",
        id="complaints-page",
    )
