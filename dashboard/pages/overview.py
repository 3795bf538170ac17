"""Ruang Situasi (overview): the live map of every camera, headline numbers against the usual
for this hour, the alert feed and the selected camera's latest snapshot."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import dcc, html

from dashboard import components, context
from dashboard.i18n import t

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/",
    title="Ruang Situasi — Pantau",
    order=0,
    nav_key="nav.overview",
    icon="bi-grid-1x2",
    roles=STAFF,
    kiosk=True,  # part of the wall-screen rotation
    write_ids=("overview-ack",),
)


TILES = [
    ("overview-tile-cameras", "bi-camera-video", "overview.tile.cameras"),
    ("overview-tile-people", "bi-people", "overview.tile.people"),
    ("overview-tile-vehicles", "bi-car-front", "overview.tile.vehicles"),
    ("overview-tile-flood", "bi-water", "overview.tile.flood"),
    ("overview-tile-complaints", "bi-chat-left-text", "overview.tile.complaints"),
    ("overview-tile-incidents", "bi-shield-exclamation", "overview.tile.incidents"),
]


def tiles_placeholder() -> list:
    return [
        dbc.Col(components.tile(tid, icon, t(key)), xs=6, md=4, xl=2, className="mb-2")
        for tid, icon, key in TILES
    ]


def layout(**_kwargs) -> dbc.Container:
    cfg = context.settings()
    camera_layer = dl.GeoJSON(
        id="overview-cameras",
        url="/api/cameras.geojson",
        cluster=True,
        zoomToBoundsOnClick=True,
        superClusterOptions={"radius": 60, "maxZoom": 16},
        pointToLayer={"variable": "pantau.map.camera"},
        clusterToLayer={"variable": "pantau.map.cluster"},
    )
    return dbc.Container(
        [
            components.page_header(
                t("nav.overview"),
                t("overview.sub", center=cfg.command_center_name, city=cfg.city_name),
                right=html.Div(
                    [
                        html.Span(
                            [html.Span(className="pantau-live-dot me-1"), t("overview.live")],
                            className="badge text-bg-danger me-2",
                        ),
                        html.Span(id="overview-updated", className="pantau-footnote"),
                    ],
                    className="d-flex align-items-center",
                ),
                page="overview",
            ),
            dbc.Row(tiles_placeholder(), id="overview-tiles", className="g-2"),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            t("overview.map"),
                            [
                                components.base_map("overview-map", [camera_layer]),
                                components.status_legend(),
                            ],
                        ),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            components.card(
                                html.Div(
                                    [
                                        t("overview.alerts"),
                                        html.Span(
                                            id="overview-alert-count",
                                            className="badge text-bg-danger ms-2",
                                        ),
                                    ]
                                ),
                                html.Div(id="overview-alerts", className="pantau-feed"),
                                fill=False,
                                className="mb-3",
                            ),
                            components.card(
                                t("overview.selected"),
                                html.Div(
                                    html.P(
                                        t("overview.select_hint"),
                                        className="text-secondary small mb-0",
                                    ),
                                    id="overview-camera",
                                ),
                                fill=False,
                            ),
                        ],
                        lg=4,
                        className="mb-3 pantau-overview-alerts",  # first on phones
                    ),
                ],
                className="g-3 mt-0 pantau-overview-main",
            ),
            dcc.Interval(id="overview-interval", interval=cfg.refresh_seconds * 1000),
            dcc.Store(id="overview-alert-ids", data=[]),
        ],
        fluid=True,
        # phones: the alerts card comes before the tiles and the map (assets/pantau.css)
        className="pb-3 pantau-overview",
    )
