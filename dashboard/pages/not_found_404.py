"""A helpful 404 page (Dash Pages serves it for unknown paths)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard.i18n import t

dash.register_page(__name__, path="/404", title="404 — Pantau")


def layout(**_kwargs) -> dbc.Container:
    return dbc.Container(
        dbc.Row(
            dbc.Col(
                [
                    html.I(className="bi bi-signpost-split display-1 text-secondary"),
                    html.H1(t("404.title"), className="mt-3"),
                    html.P(t("404.body"), className="lead text-secondary"),
                    dbc.Button(t("404.home"), href="/", color="primary", className="mt-2"),
                ],
                md=8,
                lg=6,
                className="text-center py-5",
            ),
            justify="center",
        ),
        className="py-5",
        id="page-404",
    )
