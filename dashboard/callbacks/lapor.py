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
from dashboard.callback_boundary import BadInput, number, text_or_none
from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.i18n import current_lang, local_time, t
from dashboard.i18n import register as register_strings

logger = logging.getLogger(__name__)

register_strings(
    {
        "lapor.photo_too_large": {
            "id": "Foto terlalu besar (maksimal {mb} MB) dan tidak dilampirkan. Pilih foto yang "
            "lebih kecil.",
            "en": "The photo is too large (at most {mb} MB) and was not attached. Choose a "
            "smaller one.",
        },
    }
)


def mark_point(click_data: dict | None):
    """Map click -> marker, stored point and its coordinates as text. A click that is not
    ``{"latlng": {"lat": number, "lng": number}}`` raises BadInput (a 400, never a 500)."""
    if not click_data:
        return no_update, no_update, no_update
    if not isinstance(click_data, dict) or not isinstance(click_data.get("latlng"), dict):
        raise BadInput("lapor-map.clickData must be {latlng: {lat, lng}}")
    latlng = click_data["latlng"]
    lat = round(number(latlng.get("lat"), "lapor-map.clickData.latlng.lat", -90, 90), 6)
    lon = round(number(latlng.get("lng"), "lapor-map.clickData.latlng.lng", -180, 180), 6)
    marker = dl.CircleMarker(
        center=[lat, lon], radius=9, color="#d63384", fillOpacity=0.7, id="lapor-point"
    )
    return [marker], {"lat": lat, "lon": lon}, t("lapor.point", lat=f"{lat:.5f}", lon=f"{lon:.5f}")


def stored_point(latlon: Any) -> tuple[float | None, float | None]:
    """``lapor-latlon.data`` -> (lat, lon): nothing yet, or the {lat, lon} mark_point stored."""
    if latlon is None:
        return None, None
    if not isinstance(latlon, dict):
        raise BadInput("lapor-latlon.data must be {lat, lon}")
    return (
        number(latlon.get("lat"), "lapor-latlon.data.lat", -90, 90),
        number(latlon.get("lon"), "lapor-latlon.data.lon", -180, 180),
    )


def photo_chosen(filename: str | None, contents: str | None):
    text_or_none(filename, "lapor-photo.filename")
    text_or_none(contents, "lapor-photo.contents")
    if not contents or not filename:
        return ""
    return html.Span(
        [html.I(className="bi bi-image me-1"), t("lapor.photo_chosen", name=filename)],
        className="text-success",
    )


def decode_upload(contents: str | None, max_bytes: int) -> bytes | None:
    """dcc.Upload data URL -> bytes; refuses oversize payloads before decoding them.

    A photo that was chosen but does not decode (not a base64 data URL, empty) raises the
    service's ``photo_corrupt`` ValidationError: the reporter is told and the form stays as it
    was (nothing is stored without the photo they meant to attach)."""
    from store.complaints import ValidationError

    if not contents:
        return None
    header, sep, b64 = contents.partition(",")
    if not sep or not header.startswith("data:") or ";base64" not in header:
        raise ValidationError({"photo": ("photo_corrupt", {})})
    if len(b64) * 3 // 4 > max_bytes + 3:
        # let the service produce the size message without decoding megabytes
        return b"\xff\xd8\xff" + b"\0" * (max_bytes + 1)
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({"photo": ("photo_corrupt", {})}) from None
    if not data:
        raise ValidationError({"photo": ("photo_corrupt", {})})
    return data


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
    lat, lon = stored_point(latlon)
    texts = {
        "lapor-category.value": category,
        "lapor-title.value": title,
        "lapor-description.value": description,
        "lapor-address.value": address,
        "lapor-privacy.value": privacy,
        "lapor-name.value": name,
        "lapor-contact.value": contact,
        "lapor-photo.contents": photo,
    }
    for prop, value in texts.items():
        text_or_none(value, prop)
    try:
        data = NewComplaint(
            category=category,
            description=description,
            lat=lat,
            lon=lon,
            address=address,
            title=title,
            privacy=privacy or "normal",
            reporter_name=name,
            reporter_contact=contact,
            channel="web",
            photo=decode_upload(photo, cfg.upload_max_bytes),
        )
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
