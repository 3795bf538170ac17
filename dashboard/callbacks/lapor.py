"""Callbacks of the public complaint form (``/lapor``)."""

from __future__ import annotations

import base64
import binascii
import logging
import math
from typing import Any

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
from dash import Input, Output, State, html, no_update

from dashboard import context
from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.i18n import current_lang, local_time, t

logger = logging.getLogger(__name__)


def mark_point(click_data: dict | None):
    """Map click -> marker, stored point and its coordinates as text."""
    if not click_data or "latlng" not in click_data:
        return no_update, no_update, no_update
    lat = round(float(click_data["latlng"]["lat"]), 6)
    lon = round(float(click_data["latlng"]["lng"]), 6)
    marker = dl.CircleMarker(
        center=[lat, lon], radius=9, color="#d63384", fillOpacity=0.7, id="lapor-point"
    )
    return [marker], {"lat": lat, "lon": lon}, t("lapor.point", lat=f"{lat:.5f}", lon=f"{lon:.5f}")


def photo_chosen(filename: str | None, contents: str | None):
    if not contents or not filename:
        return ""
    return html.Span(
        [html.I(className="bi bi-image me-1"), t("lapor.photo_chosen", name=filename)],
        className="text-success",
    )


def decode_upload(contents: str | None, max_bytes: int) -> bytes | None:
    """dcc.Upload data URL -> bytes; refuses oversize payloads before decoding them."""
    if not contents:
        return None
    _, _, b64 = contents.partition(",")
    if len(b64) * 3 // 4 > max_bytes + 3:
        # let the service produce the size message without decoding megabytes
        return b"\xff\xd8\xff" + b"\0" * (max_bytes + 1)
    try:
        return base64.b64decode(b64, validate=False)
    except (binascii.Error, ValueError):
        return b"invalid"


def _actor_ip() -> str:
    from flask import has_request_context

    if has_request_context():
        from dashboard.api.intake import client_ip

        return client_ip()
    return "local"


def submit(
    n_clicks: int | None,
    category: str | None,
    title: str | None,
    description: str | None,
    latlon: dict | None,
    address: str | None,
    photo: str | None,
    privacy: str | None,
    name: str | None,
    contact: str | None,
) -> tuple[Any, ...]:
    """Validate and store the report. Returns (feedback, result, submit disabled,
    category invalid, description invalid, address invalid, form style)."""
    if not n_clicks:
        return no_update, no_update, no_update, no_update, no_update, no_update, no_update
    lang = current_lang()
    from dashboard.api.intake import check_rate, service
    from store.complaints import NewComplaint, ValidationError, message

    retry = check_rate("submit")
    if retry is not None:
        alert = dbc.Alert(
            t("lapor.rate_limited", minutes=max(1, math.ceil(retry / 60))),
            color="warning",
            id="lapor-rate-limited",
        )
        return alert, no_update, False, False, False, False, no_update
    cfg = context.settings()
    data = NewComplaint(
        category=category,
        description=description,
        lat=(latlon or {}).get("lat"),
        lon=(latlon or {}).get("lon"),
        address=address,
        title=title,
        privacy=privacy or "normal",
        reporter_name=name,
        reporter_contact=contact,
        channel="web",
        photo=decode_upload(photo, cfg.upload_max_bytes),
    )
    try:
        result = service().submit(data, actor=f"warga@{_actor_ip()}")
    except ValidationError as exc:
        items = [
            html.Li([html.Strong(t(f"lapor.field.{f}") + ": "), message(k, lang, **fmt)])
            for f, (k, fmt) in exc.errors.items()
        ]
        alert = dbc.Alert(
            [html.Div(t("lapor.errors")), html.Ul(items, className="mb-0")],
            color="danger",
            id="lapor-errors",
        )
        bad = exc.errors.keys()
        return (
            alert,
            no_update,
            False,
            "category" in bad,
            "description" in bad,
            "address" in bad or "location" in bad,
            no_update,
        )
    except Exception:
        logger.exception("complaint submission failed")
        failed = dbc.Alert(t("lapor.failed"), color="danger")
        return failed, no_update, False, False, False, False, no_update
    c = result.complaint
    card = dbc.Alert(
        [
            html.H2([html.I(className="bi bi-check-circle me-2"), t("lapor.sent")], className="h4"),
            html.Div(t("lapor.tracking")),
            html.Div(c.tracking_id, id="lapor-tracking-id", className="display-6 fw-bold my-2"),
            html.P(t("lapor.tracking_hint", due=local_time(c.dispatch_due, cfg.timezone))),
            dbc.Button(
                t("lapor.check_status"),
                href=f"/lapor/status?id={c.tracking_id}",
                color="success",
                className="me-2",
                id="lapor-status-link",
            ),
            dbc.Button(t("lapor.new"), href="/lapor", color="secondary", outline=True),
        ],
        color="success",
        id="lapor-success",
    )
    # the form disappears (no second submission); the tracking ID is what is left on screen
    return None, card, True, False, False, False, {"display": "none"}


def register(app: dash.Dash) -> None:
    app.callback(
        Output("lapor-marker", "children"),
        Output("lapor-latlon", "data"),
        Output("lapor-coords", "children"),
        Input("lapor-map", "clickData"),
        prevent_initial_call=True,
    )(mark_point)
    app.callback(
        Output("lapor-photo-name", "children"),
        Input("lapor-photo", "filename"),
        State("lapor-photo", "contents"),
        prevent_initial_call=True,
    )(photo_chosen)
    app.callback(
        Output("lapor-feedback", "children"),
        Output("lapor-result", "children"),
        Output("lapor-submit", "disabled"),
        Output("lapor-category", "invalid"),
        Output("lapor-description", "invalid"),
        Output("lapor-address", "invalid"),
        Output("lapor-form", "style"),
        Input("lapor-submit", "n_clicks"),
        State("lapor-category", "value"),
        State("lapor-title", "value"),
        State("lapor-description", "value"),
        State("lapor-latlon", "data"),
        State("lapor-address", "value"),
        State("lapor-photo", "contents"),
        State("lapor-privacy", "value"),
        State("lapor-name", "value"),
        State("lapor-contact", "value"),
        prevent_initial_call=True,
    )(submit)
