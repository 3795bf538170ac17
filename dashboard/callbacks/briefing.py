"""Callbacks of the daily briefing (``/laporan-harian``): only the print button, in the browser
(the page itself is rendered on the server from ``dashboard.queries.briefing``)."""

from __future__ import annotations

import dash
from dash import Input, Output


def register(app: dash.Dash) -> None:
    app.clientside_callback(
        "function(n) { if (n) { window.print(); } return window.dash_clientside.no_update; }",
        Output("briefing-print", "title"),
        Input("briefing-print", "n_clicks"),
        prevent_initial_call=True,
    )
