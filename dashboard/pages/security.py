"""Keamanan & kejadian (security and incidents): crime, fire, accidents and public-order
incidents over time, by kecamatan, on the map."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import dcc, html

from dashboard import components, context
from dashboard.analysis_layout import compare_control
from dashboard.callbacks import areas as _areas  # noqa: F401  - the card's strings
from dashboard.components import dropdown
from dashboard.i18n import t
from dashboard.queries import cameras as camera_queries
from dashboard.queries.security import KINDS

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/keamanan",
    title="Keamanan & Kejadian — Pantau",
    order=3,
    nav_key="nav.security",
    icon="bi-shield-exclamation",
    roles=STAFF,
    kiosk=True,  # part of the wall-screen rotation
)


def layout(**_kwargs) -> dbc.Container:
    with context.db().session() as s:
        kec = camera_queries.kecamatan_options(s)
        cams = camera_queries.camera_options(s)
    kinds = dbc.Col(
        [
            dbc.Label(t("security.kind"), className="pantau-eyebrow"),
            dropdown(
                id="security-kind",
                options=[{"label": t(f"kind.{k}"), "value": k} for k in KINDS],
                multi=True,
                placeholder=t("security.kind.all"),
            ),
        ],
        className="col-12 col-sm-6 col-lg",
    )
    return dbc.Container(
        [
            components.page_header(t("nav.security"), t("security.sub"), page="security"),
            components.filter_bar(
                "security", kec, cams, extra=[kinds, compare_control("security")]
            ),
            dbc.Row(id="security-kpis", className="g-2 mb-1"),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            t("security.trend"), components.graph("security-trend", 420)
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        components.card(
                            t("security.top"), components.graph("security-top", 330, modebar=False)
                        ),
                        lg=4,
                        className="mb-3",
                    ),
                ],
                className="g-3",
            ),
            components.card(
                t("security.map"),
                components.base_map(
                    "security-map",
                    [
                        dl.GeoJSON(
                            id="security-map-layer",
                            cluster=True,
                            zoomToBoundsOnClick=True,
                            pointToLayer={"variable": "pantau.map.incident"},
                            clusterToLayer={"variable": "pantau.map.cluster"},
                            superClusterOptions={"radius": 60},
                        )
                    ],
                    "pantau-map pantau-map-sm",
                ),
            ),
            html.Div(className="mb-3"),
            components.area_card("security", t("areas.security.title")),
            html.Div(id="security-note", className="pantau-footnote my-2"),
            dcc.Store(id="security-data"),
            dcc.Store(id="security-data-top"),
        ],
        fluid=True,
        className="pb-4",
    )
