"""Ruang Situasi (overview): the live map of every camera, headline numbers against the usual
for this hour, the alert feed and the selected camera's latest snapshot."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import dcc, html

from dashboard import components, context
from dashboard.i18n import register, t

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/",
    title="Ruang Situasi — Pantau",
    order=0,
    nav_key="nav.overview",
    icon="bi-grid-1x2",
    roles=STAFF,
    write_ids=("overview-ack",),
)

register(
    {
        "overview.sub": {"id": "{center} · {city}", "en": "{center} · {city}"},
        "overview.live": {"id": "LANGSUNG", "en": "LIVE"},
        "overview.map": {"id": "Peta kamera", "en": "Camera map"},
        "overview.alerts": {"id": "Peringatan aktif", "en": "Active alerts"},
        "overview.no_alerts": {"id": "Tidak ada peringatan aktif.", "en": "No active alerts."},
        "overview.ack": {"id": "Tandai diterima", "en": "Acknowledge"},
        "overview.acked": {"id": "Diterima {who} · {time}", "en": "Acknowledged by {who} · {time}"},
        "overview.since": {"id": "sejak {time}", "en": "since {time}"},
        "overview.selected": {"id": "Kamera terpilih", "en": "Selected camera"},
        "overview.select_hint": {
            "id": "Klik titik kamera di peta untuk melihat gambar terakhirnya.",
            "en": "Click a camera point on the map to see its latest picture.",
        },
        "overview.open_camera": {"id": "Buka detail kamera", "en": "Open camera details"},
        "overview.tile.cameras": {"id": "Kamera online", "en": "Cameras online"},
        "overview.tile.people": {"id": "Orang terlihat", "en": "People in view"},
        "overview.tile.vehicles": {"id": "Kendaraan terlihat", "en": "Vehicles in view"},
        "overview.tile.flood": {"id": "Peringatan banjir", "en": "Flood alerts"},
        "overview.tile.complaints": {"id": "Pengaduan terbuka", "en": "Open complaints"},
        "overview.tile.incidents": {"id": "Kejadian hari ini", "en": "Incidents today"},
        "overview.offline": {"id": "{n} offline", "en": "{n} offline"},
        "overview.hour": {"id": "jam {time}", "en": "hour {time}"},
        "overview.sensors_high": {
            "id": "{n} sensor di atas waspada",
            "en": "{n} sensors above warning",
        },
        "overview.since_midnight": {"id": "sejak 00:00 {tz}", "en": "since 00:00 {tz}"},
        "overview.legend.alert": {"id": "cincin = peringatan", "en": "ring = alert"},
        "overview.rule.flood_coverage": {"id": "Genangan", "en": "Flooding"},
        "overview.rule.crowd_density": {"id": "Kerumunan", "en": "Crowd"},
        "overview.rule.camera_offline": {"id": "Kamera offline", "en": "Camera offline"},
        "overview.severity.critical": {"id": "SIAGA", "en": "CRITICAL"},
        "overview.severity.warning": {"id": "WASPADA", "en": "WARNING"},
        "overview.severity.info": {"id": "INFO", "en": "INFO"},
    }
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
                        className="mb-3",
                    ),
                ],
                className="g-3 mt-0",
            ),
            dcc.Interval(id="overview-interval", interval=cfg.refresh_seconds * 1000),
            dcc.Store(id="overview-alert-ids", data=[]),
        ],
        fluid=True,
        className="pb-3",
    )
