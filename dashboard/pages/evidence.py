"""Recorded evidence (``/bukti``, staff): every recording with its status, length, size,
camera, who or what started it, its hold for a case and the download of its package."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import components
from dashboard.callbacks.evidence import items_table, summary_line
from dashboard.i18n import t
from store.models import EvidenceStatus

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/bukti",
    title="Bukti rekaman — Pantau",
    order=6,
    nav_key="nav.bukti",
    icon="bi-camera-reels",
    roles=STAFF,
    id_prefix="bukti",
)


def layout(**_kwargs) -> dbc.Container:
    filters = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(t("ev.status"), html_for="bukti-status", className="pantau-eyebrow"),
                    components.dropdown(
                        id="bukti-status",
                        options=[
                            {"label": t(f"ev.status.{s.value}"), "value": s.value}
                            for s in EvidenceStatus
                        ],
                        placeholder=t("ev.all"),
                        clearable=True,
                    ),
                ],
                xs=6,
                lg=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("ev.camera"), html_for="bukti-camera", className="pantau-eyebrow"),
                    dbc.Input(
                        id="bukti-camera",
                        type="search",
                        debounce=True,
                        maxLength=64,
                        placeholder=t("ev.camera_ph"),
                    ),
                ],
                xs=6,
                lg=3,
            ),
        ],
        className="g-2 mb-2",
    )
    return dbc.Container(
        [
            components.page_header(t("ev.title"), t("ev.lead"), page="bukti"),
            filters,
            html.Div(summary_line(), id="bukti-summary", className="pantau-footnote mb-2"),
            dbc.Card(
                dbc.CardBody(items_table(), id="bukti-table", className="p-0"),
                className="shadow-sm pantau-evidence-list",
            ),
            dcc.Interval(id="bukti-interval", interval=5000),
        ],
        fluid=True,
        className="pb-3",
    )
