"""Lalu lintas (traffic): vehicle trends with comparison, top locations and a map layer."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import dcc, html

from dashboard import components, context
from dashboard.i18n import t
from dashboard.queries import cameras as camera_queries

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/lalu-lintas",
    title="Lalu Lintas — Pantau",
    order=1,
    nav_key="nav.traffic",
    icon="bi-car-front",
    roles=STAFF,
    kiosk=True,  # part of the wall-screen rotation
)


METRICS = ("flow", "vehicles", "people")


def layout(**_kwargs) -> dbc.Container:
    with context.db().session() as s:
        kec = camera_queries.kecamatan_options(s)
        cams = camera_queries.camera_options(s)
    metric = dbc.Col(
        [
            dbc.Label(t("ui.metric"), className="pantau-eyebrow"),
            dcc.Dropdown(
                id="traffic-metric",
                options=[{"label": t(f"metric.{m}"), "value": m} for m in METRICS],
                value="flow",
                clearable=False,
            ),
        ],
        className="col-12 col-sm-6 col-lg",
    )
    return dbc.Container(
        [
            components.page_header(t("nav.traffic"), t("traffic.sub"), page="traffic"),
            components.filter_bar("traffic", kec, cams, extra=[metric]),
            dbc.Row(id="traffic-kpis", className="g-2 mb-1"),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(t("traffic.trend"), components.graph("traffic-trend", 360)),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        components.card(
                            t("ui.top"), components.graph("traffic-top", 330, modebar=False)
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                ],
                className="g-3",
            ),
            components.card(
                t("traffic.map"),
                components.base_map(
                    "traffic-map",
                    [
                        dl.GeoJSON(
                            id="traffic-map-layer",
                            pointToLayer={"variable": "pantau.map.value"},
                            hideout={"max": 1},
                        )
                    ],
                    "pantau-map pantau-map-sm",
                ),
            ),
            html.Div(id="traffic-note", className="pantau-footnote my-2"),
            dcc.Store(id="traffic-data"),
            dcc.Store(id="traffic-data-top"),
        ],
        fluid=True,
        className="pb-4",
    )
