"""Alert response times (``/waktu-respons``, staff): time to acknowledge and to resolve per
alert kind and per OPD, median and p90 with counts, for a calendar period in WIB."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import components
from dashboard.i18n import t

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/waktu-respons",
    title="Waktu respons — Pantau",
    order=92,
    roles=STAFF,
    id_prefix="response",
)


def layout(**_kwargs) -> dbc.Container:
    start, end = components.default_range(30)
    picker = components.date_range(
        id="response-range",
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        max_date_allowed=end.isoformat(),
        minimum_nights=0,
    )
    return dbc.Container(
        [
            components.page_header(t("response.title"), t("response.lead"), page="response"),
            html.Div(
                [
                    dbc.Label(t("ui.period"), className="pantau-eyebrow d-block"),
                    picker,
                    html.Div(id="response-period", className="pantau-footnote mt-1"),
                ],
                className="mb-3",
            ),  # fmt: skip
            components.card(
                t("response.by_kind"), html.Div(id="response-kind"), fill=False, className="mb-3"
            ),  # fmt: skip
            components.card(t("response.by_opd"), html.Div(id="response-opd"), fill=False),
        ],
        fluid=True,
        className="pb-3",
    )
