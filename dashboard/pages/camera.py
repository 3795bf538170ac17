"""Camera detail (``/camera/<code>``): latest annotated snapshot with its ROIs and counting
lines drawn over the frame, health history and counts over time."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, components, context
from dashboard.callbacks.evidence_record import record_controls, recordings_list
from dashboard.i18n import fmt_number, local_time, t
from dashboard.labels import tags_text
from dashboard.queries import cameras as camera_queries

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path_template="/camera/<code>",
    path="/camera/PLG-BKB-01",
    title="Kamera — Pantau",
    order=90,
    roles=STAFF,
)


def _info_row(label: str, value) -> html.Tr:
    return html.Tr([html.Th(label, className="text-secondary fw-normal small"), html.Td(value)])


def layout(code: str | None = None, **_kwargs):
    code = (code or "").strip()
    with context.db().session() as s:
        cam = camera_queries.camera_info(s, code) if camera_queries.valid_code(code) else None
        recordings = recordings_list(s, camera_id=cam.id) if cam is not None else None
    if cam is None:
        return dbc.Container(
            [
                html.H1(t("404.title"), className="h3 mt-4"),
                html.P(
                    t("camera.not_found", code=code[:64]), className="lead", id="camera-missing"
                ),
                dbc.Button(t("camera.back"), href="/", color="primary"),
            ],
            className="py-4",
        )
    tz = context.settings().timezone
    status_cls = {"online": "success", "degraded": "warning", "offline": "danger"}.get(
        cam.status, "secondary"
    )
    info = dbc.Table(
        html.Tbody(
            [
                _info_row(
                    t("camera.status"),
                    [
                        html.Span(
                            t(f"status.{cam.status}"), className=f"badge text-bg-{status_cls} me-2"
                        ),
                        html.Span(cam.status_reason or "", className="small text-secondary"),
                    ],
                ),
                _info_row(t("camera.last_seen"), local_time(cam.last_seen_at, tz)),
                _info_row(t("camera.kecamatan"), cam.kecamatan or "—"),
                _info_row(t("camera.address"), cam.address or "—"),
                _info_row(t("camera.owner"), cam.owner),
                _info_row(t("camera.public"), t("camera.yes" if cam.is_public else "camera.no")),
                _info_row(t("camera.tags"), tags_text(cam.tags)),
                _info_row("Lat, lon", f"{fmt_number(cam.lat, 5)}, {fmt_number(cam.lon, 5)}"),
            ]
        ),
        size="sm",
        borderless=True,
        className="mb-0",
    )
    return dbc.Container(
        [
            components.page_header(
                cam.name,
                f"{cam.code} · {cam.kecamatan or ''}",
                right=dbc.Button(
                    [html.I(className="bi bi-map me-1"), t("camera.back")],
                    href="/",
                    color="secondary",
                    outline=True,
                    size="sm",
                    className="pantau-no-kiosk",
                ),
                page="camera",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            html.Div(
                                [
                                    t("camera.snapshot"),
                                    dbc.Switch(
                                        id="camera-overlay",
                                        label=t("camera.overlay"),
                                        value=True,
                                        className="ms-auto small mb-0",
                                    ),
                                ],
                                className="d-flex align-items-center",
                            ),
                            [
                                html.Div(
                                    [
                                        html.Img(
                                            id="camera-snapshot",
                                            src=f"/snapshots/{cam.code}.jpg",
                                            alt=cam.name,
                                        ),
                                        html.Div(id="camera-shapes"),
                                    ],
                                    className="pantau-frame",
                                ),
                                html.Div(
                                    id="camera-snapshot-time", className="pantau-footnote mt-1"
                                ),
                                html.Div(id="camera-sample", className="pantau-footnote"),
                            ],
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            components.card(t("camera.info"), info, fill=False, className="mb-3"),
                            components.card(
                                t("camera.health"), html.Div(id="camera-health"), fill=False
                            ),
                            components.card(
                                t("rec.list"),
                                [
                                    record_controls("camera-record")
                                    if auth.current_role() in auth.WRITE_DEFAULT
                                    else None,
                                    html.Div(recordings, className="mt-2"),
                                ],
                                fill=False,
                                className="mt-3",
                                card_id="camera-recordings",
                            ),
                        ],
                        lg=5,
                        className="mb-3",
                    ),
                ],
                className="g-3",
            ),
            components.card(
                html.Div(
                    [
                        t("camera.counts"),
                        dbc.RadioItems(
                            id="camera-range",
                            options=[
                                {"label": t(f"camera.range.{d}"), "value": d} for d in (1, 7, 30)
                            ],
                            value=7,
                            inline=True,
                            className="btn-group btn-group-sm ms-auto",
                            inputClassName="btn-check",
                            labelClassName="btn btn-outline-secondary",
                            labelCheckedClassName="active",
                        ),
                    ],
                    className="d-flex align-items-center",
                ),
                components.graph("camera-counts", 320),
            ),
            components.card(
                t("camera.profile"),
                [
                    components.graph("camera-profile", 300, modebar=False),
                    html.Div(id="camera-profile-note", className="pantau-footnote mt-1"),
                ],
                fill=False,
                className="mt-3 pantau-profile",
            ),
            dcc.Store(id="camera-code", data=cam.code),
            dcc.Interval(id="camera-interval", interval=context.settings().refresh_seconds * 1000),
        ],
        fluid=True,
        className="pb-4",
    )
