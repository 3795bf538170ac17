"""Banjir (flooding): water on roads seen by cameras, and river water levels from sensors
against their warning (waspada) and danger (siaga) levels."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import html

from dashboard import components, context
from dashboard.analysis_layout import profile_card
from dashboard.callbacks import areas as _areas  # noqa: F401  - the card's strings
from dashboard.i18n import t
from dashboard.queries import cameras as camera_queries

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/banjir",
    title="Banjir — Pantau",
    order=2,
    nav_key="nav.flood",
    icon="bi-water",
    roles=STAFF,
    kiosk=True,  # part of the wall-screen rotation
)


METRICS = ("water_max", "wet")


def layout(**_kwargs) -> dbc.Container:
    with context.db().session() as s:
        kec = camera_queries.kecamatan_options(s)
        cams = camera_queries.camera_options(s)
    return components.trend_page_layout(
        "flood",
        kec,
        cams,
        METRICS,
        "wet",
        [
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            t("flood.sensors"),
                            [
                                html.Div(id="flood-sensor-cards", className="row g-2 mb-2"),
                                components.graph("flood-sensors", 320),
                            ],
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        components.card(
                            t("flood.map"),
                            components.base_map(
                                "flood-map",
                                [
                                    dl.GeoJSON(
                                        id="flood-map-layer",
                                        pointToLayer={"variable": "pantau.map.value"},
                                        hideout={"max": 1},
                                    ),
                                    dl.GeoJSON(
                                        id="flood-map-sensors",
                                        pointToLayer={"variable": "pantau.map.sensor"},
                                    ),
                                ],
                                "pantau-map pantau-map-sm",
                            ),
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                ],
                className="g-3",
            ),
            components.area_card("flood", t("areas.flood.title")),
            profile_card("flood"),
        ],
    )
