"""Public status lookup by tracking ID (``/lapor/status?id=LPR-...``). Never shows identity;
confidential reports show their status only."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.i18n import t

dash.register_page(
    __name__,
    path="/lapor/status",
    title="Status laporan — Pantau",
    order=81,
    roles="public",
    id_prefix="laporstatus",
)


def layout(id: str | None = None, **_kwargs) -> dbc.Container:  # noqa: A002 - query param name
    from dashboard.callbacks.lapor_status import render_status

    return dbc.Container(
        dbc.Row(
            dbc.Col(
                [
                    html.H1(t("laporstatus.title"), className="h3 mt-3"),
                    html.P(t("laporstatus.intro"), className="text-secondary"),
                    dbc.InputGroup(
                        [
                            dbc.Input(
                                id="laporstatus-id",
                                value=id or "",
                                placeholder="LPR-2611-XXXXXXXX",
                                maxLength=40,
                                type="text",
                                debounce=True,
                            ),
                            dbc.Button(
                                [html.I(className="bi bi-search me-1"), t("laporstatus.search")],
                                id="laporstatus-search",
                                color="primary",
                                n_clicks=0,
                            ),
                        ],
                        className="mb-3",
                    ),
                    html.Div(render_status(id) if id else None, id="laporstatus-result"),
                ],
                lg=8,
                xl=7,
            ),
            justify="center",
        ),
        className="pb-5",
        id="laporstatus-page",
    )
