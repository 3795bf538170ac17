"""Public live CCTV (``/cctv``): public cameras only, on a map and a grid, no login.

Shows each camera's place name and its latest privacy-filtered picture (faces and licence
plates blurred); one camera at a time plays live (MJPEG) in a dialog, so a visitor holds at
most one stream (browsers allow only ~6 connections per host). Nothing about analytics,
operators or non-public cameras appears here.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import dcc, html
from sqlalchemy import select

from dashboard import context
from dashboard.i18n import register, t
from store.models import Camera

dash.register_page(
    __name__,
    path="/cctv",
    title="CCTV Publik — Pantau",
    order=90,
    nav_group="public",
    nav_key="nav.public",
    icon="bi-camera-video",
    roles="public",
    id_prefix="cctv",
)

register(
    {
        "cctv.title": {"id": "CCTV Publik", "en": "Public CCTV"},
        "cctv.lead": {
            "id": "Pantau kondisi kota secara langsung dari kamera publik {city}.",
            "en": "Watch {city} live through its public cameras.",
        },
        "cctv.privacy": {
            "id": "Wajah dan pelat nomor kendaraan disamarkan secara otomatis.",
            "en": "Faces and licence plates are blurred automatically.",
        },
        "cctv.count": {"id": "{n} kamera publik", "en": "{n} public cameras"},
        "cctv.live": {"id": "Tonton langsung", "en": "Watch live"},
        "cctv.search": {"id": "Cari lokasi atau kecamatan…", "en": "Search place or district…"},
        "cctv.none": {
            "id": "Belum ada kamera publik.",
            "en": "There are no public cameras yet.",
        },
        "cctv.close": {"id": "Tutup", "en": "Close"},
        "cctv.live_badge": {"id": "LANGSUNG", "en": "LIVE"},
        "cctv.refresh": {
            "id": "Gambar diperbarui setiap {s} detik.",
            "en": "Pictures refresh every {s} seconds.",
        },
        "cctv.report": {"id": "Lihat masalah? Laporkan", "en": "See a problem? Report it"},
    }
)

REFRESH_S = 15


def public_camera_rows() -> list[dict]:
    with context.db().session() as s:
        rows = s.execute(
            select(Camera.code, Camera.name, Camera.kecamatan, Camera.lat, Camera.lon)
            .where(Camera.is_public.is_(True), Camera.enabled.is_(True))
            .order_by(Camera.name)
        ).all()
    return [r._asdict() for r in rows]


def camera_card(cam: dict) -> dbc.Col:
    code = cam["code"]
    return dbc.Col(
        dbc.Card(
            [
                html.Div(
                    [
                        html.Img(
                            src=f"/api/public/snapshot/{code}.jpg",
                            id={"type": "cctv-img", "code": code},
                            alt=cam["name"],
                            className="card-img-top cctv-thumb",
                        ),
                        html.Span(
                            [html.I(className="bi bi-eye-slash me-1"), "blur"],
                            className="badge text-bg-dark position-absolute top-0 end-0 m-2 "
                            "opacity-75",
                        ),
                    ],
                    className="position-relative",
                ),
                dbc.CardBody(
                    [
                        # the whole name, wrapped (never cut off), and as a tooltip
                        html.Div(cam["name"], className="fw-semibold cctv-name", title=cam["name"]),
                        html.Div(
                            [html.I(className="bi bi-geo-alt me-1"), cam["kecamatan"] or "—"],
                            className="text-secondary small mb-2",
                        ),
                        dbc.Button(
                            [html.I(className="bi bi-play-circle me-1"), t("cctv.live")],
                            id={"type": "cctv-live", "code": code},
                            size="sm",
                            color="primary",
                            outline=True,
                        ),
                    ],
                    className="py-2",
                ),
            ],
            className="h-100 shadow-sm cctv-card",
        ),
        xs=12,
        sm=6,
        lg=4,
        xxl=3,
        className="mb-3 cctv-col",
        id={"type": "cctv-col", "code": code},
    )


def layout(**_kwargs) -> dbc.Container:
    cfg = context.settings()
    cams = public_camera_rows()
    tiles = (
        [dl.TileLayer(url=cfg.map_tile_url, attribution=cfg.map_tile_attribution)]
        if cfg.map_tile_url
        else []
    )
    cam_map = dl.Map(
        [
            *tiles,
            # the river keeps the map readable where no tile server is reachable
            dl.GeoJSON(
                url="/api/public/river.geojson",
                id="cctv-map-river",
                style={"variable": "pantau.map.river"},
                interactive=False,
            ),
            dl.GeoJSON(url="/api/public/cameras.geojson", id="cctv-map-points", zoomToBounds=True),
        ],
        center=[cfg.map_center_lat, cfg.map_center_lon],
        zoom=cfg.map_zoom,
        trackViewport=False,  # nothing reads it back (see components.base_map)
        style={"width": "100%"},
        className="rounded shadow-sm cctv-map",
        id="cctv-map",
    )
    grid = (
        dbc.Row([camera_card(c) for c in cams], id="cctv-grid")
        if cams
        else dbc.Alert(t("cctv.none"), color="secondary", id="cctv-grid")
    )
    modal = dbc.Modal(
        [
            dbc.ModalHeader(
                dbc.ModalTitle(
                    [
                        html.Span(t("cctv.live_badge"), className="badge text-bg-danger me-2"),
                        html.Span(id="cctv-modal-title"),
                    ]
                )
            ),
            dbc.ModalBody(
                [
                    html.Img(id="cctv-modal-img", className="w-100 rounded bg-dark", alt=""),
                    html.P(
                        [html.I(className="bi bi-eye-slash me-1"), t("cctv.privacy")],
                        className="text-secondary small mt-2 mb-0",
                    ),
                ]
            ),
        ],
        id="cctv-modal",
        size="xl",
        centered=True,
        is_open=False,
    )
    return dbc.Container(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H1(t("cctv.title"), className="h3 mb-1"),
                            html.P(
                                t("cctv.lead", city=cfg.city_name), className="text-secondary mb-1"
                            ),
                            html.P(
                                [
                                    html.I(className="bi bi-shield-check text-success me-1"),
                                    t("cctv.privacy"),
                                    " ",
                                    t("cctv.refresh", s=REFRESH_S),
                                ],
                                className="small mb-0",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Span(
                                t("cctv.count", n=len(cams)),
                                className="badge text-bg-primary fs-6 me-2",
                                id="cctv-count",
                            ),
                            dbc.Button(
                                [html.I(className="bi bi-megaphone me-1"), t("cctv.report")],
                                href="/lapor",
                                color="warning",
                                size="sm",
                            ),
                        ],
                        className="mt-2 mt-md-0",
                    ),
                ],
                className="d-md-flex justify-content-between align-items-end my-3",
            ),
            dbc.Row(
                [
                    dbc.Col(cam_map, lg=5, className="mb-3"),
                    dbc.Col(
                        [
                            dbc.Input(
                                id="cctv-search",
                                placeholder=t("cctv.search"),
                                type="search",
                                className="mb-3",
                                debounce=False,
                            ),
                            html.Div(grid, className="cctv-grid-scroll"),
                        ],
                        lg=7,
                    ),
                ]
            ),
            modal,
            dcc.Interval(id="cctv-refresh", interval=REFRESH_S * 1000),
            dcc.Store(
                id="cctv-index",
                data={c["code"]: f"{c['name']} {c['kecamatan'] or ''}".lower() for c in cams},
            ),
        ],
        fluid=True,
        id="cctv-page",
    )
