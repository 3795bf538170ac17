"""Lalu lintas (traffic): vehicle trends with comparison, top locations and a map layer."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl

from dashboard import components, context
from dashboard.analysis_layout import profile_card
from dashboard.callbacks import areas as _areas  # noqa: F401  - the card's strings
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
    return components.trend_page_layout(
        "traffic",
        kec,
        cams,
        METRICS,
        "flow",
        [
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
            profile_card("traffic"),
            components.area_card("traffic", t("areas.traffic.title")),
        ],
    )
