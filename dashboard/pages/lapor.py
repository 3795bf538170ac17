"""Public complaint form (no login): category, description, location on a map or typed,
optional photo, privacy choice. Returns a tracking ID."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.callbacks.complaints_common import base_map, category_options
from dashboard.i18n import current_lang, t
from store.complaints import megabytes

dash.register_page(
    __name__,
    path="/lapor",
    title="Lapor — Pantau",
    order=80,
    nav_group="public",
    nav_key="lapor.nav",
    icon="bi-megaphone",
    roles="public",
)


def layout(**_kwargs) -> dbc.Container:
    lang = current_lang()
    cfg = context.settings()
    field = "mb-3"
    form = dbc.Form(
        [
            html.Div(
                [
                    dbc.Label(t("lapor.category"), html_for="lapor-category"),
                    dbc.Select(
                        id="lapor-category",
                        options=category_options(lang),
                        placeholder=t("lapor.category_ph"),
                    ),
                ],
                className=field,
            ),
            html.Div(
                [
                    dbc.Label(t("lapor.title_field"), html_for="lapor-title"),
                    dbc.Input(id="lapor-title", maxLength=200, type="text"),
                ],
                className=field,
            ),
            html.Div(
                [
                    dbc.Label(t("lapor.description"), html_for="lapor-description"),
                    dbc.Textarea(
                        id="lapor-description",
                        placeholder=t("lapor.description_ph"),
                        rows=5,
                        maxLength=4000,
                    ),
                ],
                className=field,
            ),
            html.Div(
                [
                    dbc.Label(t("lapor.location")),
                    html.Div(t("lapor.map_hint"), className="form-text mb-1"),
                    base_map("lapor-map", "lapor-marker"),
                    html.Div(
                        t("lapor.no_point"), id="lapor-coords", className="small text-secondary"
                    ),
                    dcc.Store(id="lapor-latlon"),
                ],
                className=field,
            ),
            html.Div(
                [
                    dbc.Label(t("lapor.address"), html_for="lapor-address"),
                    dbc.Input(
                        id="lapor-address",
                        placeholder=t("lapor.address_ph"),
                        maxLength=300,
                        type="text",
                    ),
                ],
                className=field,
            ),
            html.Div(
                [
                    dbc.Label(t("lapor.photo")),
                    dcc.Upload(
                        html.Div([html.I(className="bi bi-camera me-2"), t("lapor.photo_drop")]),
                        id="lapor-photo",
                        accept="image/jpeg,image/png",
                        # larger files never leave the browser (a request over the server's
                        # body limit would be refused with 413); assets/pantau_lapor.js says so
                        max_size=cfg.upload_max_bytes,
                        multiple=False,
                        className="pantau-upload border rounded p-3 text-center text-secondary",
                        style={"borderStyle": "dashed", "cursor": "pointer"},
                    ),
                    html.Div(
                        t("lapor.photo_hint", mb=megabytes(cfg.upload_max_bytes)),
                        className="form-text",
                    ),
                    html.Div(id="lapor-photo-name", className="small"),
                    html.Div(id="lapor-photo-refused", className="small text-danger"),
                ],
                className=field,
                id="lapor-photo-box",
                **{
                    "data-max-bytes": str(cfg.upload_max_bytes),
                    "data-too-large": t(
                        "lapor.photo_too_large", mb=megabytes(cfg.upload_max_bytes)
                    ),
                },
            ),
            html.Div(
                [
                    dbc.Label(t("lapor.privacy")),
                    dbc.RadioItems(
                        id="lapor-privacy",
                        options=[
                            {"label": t("lapor.privacy_normal"), "value": "normal"},
                            {"label": t("lapor.privacy_anonymous"), "value": "anonymous"},
                            {"label": t("lapor.privacy_confidential"), "value": "confidential"},
                        ],
                        value="normal",
                    ),
                ],
                className=field,
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(t("lapor.name"), html_for="lapor-name"),
                            dbc.Input(id="lapor-name", maxLength=200, type="text"),
                        ],
                        md=6,
                        className=field,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(t("lapor.contact"), html_for="lapor-contact"),
                            dbc.Input(id="lapor-contact", maxLength=200, type="text"),
                        ],
                        md=6,
                        className=field,
                    ),
                ]
            ),
            html.Div(id="lapor-feedback"),
            dbc.Button(
                [html.I(className="bi bi-send me-2"), t("lapor.submit")],
                id="lapor-submit",
                color="primary",
                size="lg",
                n_clicks=0,
            ),
        ],
        id="lapor-form",
    )
    return dbc.Container(
        dbc.Row(
            dbc.Col(
                [
                    html.H1(t("lapor.title"), className="h3 mt-3"),
                    html.P(t("lapor.intro"), className="text-secondary"),
                    html.Div(id="lapor-result"),
                    form,
                    html.P(
                        html.A(t("lapor.check_status"), href="/lapor/status"),
                        className="mt-4 small",
                    ),
                ],
                lg=8,
                xl=7,
            ),
            justify="center",
        ),
        className="pb-5",
        id="lapor-page",
    )
