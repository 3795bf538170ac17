"""The "Rekam" (record) controls on the camera page (``camera-record-*``) and on an alert
(``alert-act-record-*``): operators and admins queue a recording; the recorder service
(ingestion.evidence_recorder) records it. Each request is in the custody log and the audit log.
Also the short list of an alert's or a camera's recordings shown beside them (staff)."""

from __future__ import annotations

import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from sqlalchemy import select

from dashboard import auth, context
from dashboard.callbacks.alerts_common import as_id
from dashboard.i18n import fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from store.evidence import EvidenceError, create_item
from store.models import Alert, Camera, EvidenceItem, EvidenceTrigger

logger = logging.getLogger(__name__)

WRITE = auth.WRITE_DEFAULT  # operators and admins
auth.mark_write("camera-record")  # the alert page's alert-act-* ids are write ids already

register_strings(
    {
        "rec.button": {"id": "Rekam", "en": "Record"},
        "rec.seconds": {"id": "Durasi (detik)", "en": "Length (s)"},
        "rec.queued": {
            "id": "Rekaman #{id} diantrekan ({s} detik); lihat di Bukti.",
            "en": "Recording #{id} queued ({s} s); see Evidence.",
        },
        "rec.bad_seconds": {
            "id": "Durasi harus 1–{max} detik.",
            "en": "The length must be 1–{max} seconds.",
        },
        "rec.no_camera": {
            "id": "Tidak ada kamera untuk direkam.",
            "en": "There is no camera to record.",
        },
        "rec.error": {"id": "Tidak dapat merekam: {why}", "en": "Cannot record: {why}"},
        "rec.no_stream": {
            "id": "Kamera {code} tidak punya URL aliran untuk direkam.",
            "en": "Camera {code} has no stream URL to record from.",
        },
        "rec.list": {"id": "Rekaman", "en": "Recordings"},
        "rec.none": {"id": "Belum ada rekaman.", "en": "No recordings yet."},
        "rec.hint": {
            "id": "Klip dari aliran kamera, disimpan dengan SHA-256 dan rantai penguasaan.",
            "en": "A clip from the camera's stream, kept with its SHA-256 and chain of custody.",
        },
    }
)


def record_controls(prefix: str) -> html.Div:
    """Length input, Rekam button and a message line; ids ``{prefix}-seconds|-btn|-msg``."""
    s = context.settings()
    return html.Div(
        [
            dbc.InputGroup(
                [
                    dbc.InputGroupText(t("rec.seconds")),
                    dbc.Input(
                        id=f"{prefix}-seconds",
                        type="number",
                        min=1,
                        max=s.evidence_max_seconds,
                        step=1,
                        value=s.evidence_default_seconds,
                        style={"maxWidth": "6rem"},
                    ),
                    dbc.Button(
                        [html.I(className="bi bi-record-circle me-1"), t("rec.button")],
                        id=f"{prefix}-btn",
                        color="danger",
                    ),
                ],
                size="sm",
            ),
            html.Div(t("rec.hint"), className="pantau-footnote mt-1"),
            html.Div(id=f"{prefix}-msg", className="small mt-1", role="status"),
        ],
        className="pantau-record",
    )


def recordings_list(session, *, camera_id: int | None = None, alert_id: int | None = None) -> Any:  # noqa: ANN001
    """The newest recordings of a camera or an alert, each a link to /bukti/<id>."""
    q = select(EvidenceItem).order_by(EvidenceItem.created_at.desc()).limit(5)
    if alert_id is not None:
        q = q.where(EvidenceItem.alert_id == alert_id)
    elif camera_id is not None:
        q = q.where(EvidenceItem.camera_id == camera_id)
    else:
        return None
    tz = context.settings().timezone
    items = list(session.scalars(q))
    if not items:
        return html.Div(t("rec.none"), className="small text-secondary")
    return html.Ul(
        [
            html.Li(
                [
                    html.A(f"#{i.id}", href=f"/bukti/{i.id}"),
                    f" · {local_time(i.created_at, tz)} · {t('ev.status.' + i.status)}",
                    f" · {fmt_number(i.stream_duration_s, 1)} s" if i.stream_duration_s else "",
                ]
            )
            for i in items
        ],
        className="small mb-0 ps-3",
    )


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    if n != n or not n.is_integer():  # NaN, fractions
        return None
    n = int(n)
    return n if 1 <= n <= context.settings().evidence_max_seconds else None


def start(camera_code: Any = None, alert_id: Any = None, seconds: Any = None) -> Any:
    """Queue a recording for the current user; the message to show."""
    auth.require_role(*WRITE)
    settings = context.settings()
    n = _seconds(seconds)
    if n is None:
        return dbc.Alert(t("rec.bad_seconds", max=settings.evidence_max_seconds), color="warning",
                         className="py-1 px-2 mb-0")  # fmt: skip
    with context.db().session() as s:
        cam = None
        aid = None
        if alert_id is not None:
            aid = as_id(alert_id)
            alert = s.get(Alert, aid) if aid else None
            cam = s.get(Camera, alert.camera_id) if alert and alert.camera_id else None
        elif isinstance(camera_code, str) and 0 < len(camera_code) <= 64:
            cam = s.scalar(select(Camera).where(Camera.code == camera_code))
        if cam is None:
            return dbc.Alert(t("rec.no_camera"), color="warning", className="py-1 px-2 mb-0")
        if not cam.stream_url:
            return dbc.Alert(t("rec.no_stream", code=cam.code), color="warning",
                             className="py-1 px-2 mb-0")  # fmt: skip
        try:
            item = create_item(s, cam, n, trigger=EvidenceTrigger.USER,
                               started_by=auth.current_username() or "?", settings=settings,
                               alert_id=aid, ip=auth.client_ip())  # fmt: skip
        except EvidenceError as exc:
            return dbc.Alert(
                t("rec.error", why=str(exc)), color="danger", className="py-1 px-2 mb-0"
            )
        item_id = item.id
    return html.Span(
        [html.I(className="bi bi-record-circle text-danger me-1"),
         html.A(t("rec.queued", id=item_id, s=n), href=f"/bukti/{item_id}")]
    )  # fmt: skip


def record_camera(n_clicks, seconds, code):  # noqa: ANN001, ANN201
    if not n_clicks:
        from dash.exceptions import PreventUpdate

        raise PreventUpdate
    return start(camera_code=code, seconds=seconds)


def record_alert(n_clicks, seconds, alert_id):  # noqa: ANN001, ANN201
    if not n_clicks:
        from dash.exceptions import PreventUpdate

        raise PreventUpdate
    if as_id(alert_id) is None:
        return dbc.Alert(t("rec.no_camera"), color="warning", className="py-1 px-2 mb-0")
    return start(alert_id=alert_id, seconds=seconds)


def register(app) -> None:  # noqa: ANN001
    app.callback(
        Output("camera-record-msg", "children"),
        Input("camera-record-btn", "n_clicks"),
        State("camera-record-seconds", "value"),
        State("camera-code", "data"),
        prevent_initial_call=True,
    )(record_camera)
    app.callback(
        Output("alert-act-record-msg", "children"),
        Input("alert-act-record-btn", "n_clicks"),
        State("alert-act-record-seconds", "value"),
        State("alert-id", "data"),
        prevent_initial_call=True,
    )(record_alert)
