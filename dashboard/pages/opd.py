"""Indikator OPD: each city department's indicators against target, with history."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, components, context
from dashboard.callbacks.opd import own_opd_code
from dashboard.callbacks.opd_upload import UPLOAD_ROLES, upload_panel
from dashboard.components import dropdown
from dashboard.i18n import t
from dashboard.queries import opd as opd_queries

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path="/indikator-opd",
    title="Indikator OPD — Pantau",
    order=4,
    nav_key="nav.opd",
    icon="bi-speedometer2",
    roles=(*STAFF, "opd"),  # OPD staff: their own OPD's indicators only (callbacks/opd.py)
    kiosk=True,  # part of the wall-screen rotation
    # sending indicator values (the upload): OPD staff for their own OPD, admins for any
    write_ids=("opd-upload",),
    write_roles=UPLOAD_ROLES,
)


def layout(**_kwargs) -> dbc.Container:
    with context.db().session() as s:
        options = opd_queries.opd_options(s)
    own = own_opd_code()
    if own is not None:  # OPD staff: their OPD, fixed
        options = [o for o in options if o["value"] == own]
    return dbc.Container(
        [
            components.page_header(
                t("nav.opd"),
                t("opd.sub"),
                right=html.Div(
                    dropdown(
                        id="opd-filter",
                        options=options,
                        multi=True,
                        value=[own] if own else None,
                        disabled=own is not None,
                        placeholder=t("opd.filter.all"),
                        style={"minWidth": "260px"},
                    ),
                    className="pantau-no-kiosk",
                ),
                page="opd",
            ),
            upload_panel() if auth.current_role() in UPLOAD_ROLES else None,
            dcc.Store(id="opd-saved", data=0),  # bumped after a save: the cards reload
            html.Div(id="opd-summary", className="mb-2 pantau-page-sub"),
            dbc.Row(id="opd-cards", className="g-3"),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle(id="opd-modal-title")),
                    dbc.ModalBody(
                        [
                            html.Div(id="opd-modal-meta", className="mb-2"),
                            components.graph("opd-modal-graph", 320),
                            html.Div(id="opd-modal-table", className="mt-2"),
                            html.H6(t("opd.changes"), className="mt-3 mb-1"),
                            html.Div(id="opd-modal-changes", className="small"),
                        ]
                    ),
                    dbc.ModalFooter(
                        dbc.Button(t("opd.close"), id="opd-modal-close", color="secondary")
                    ),
                ],
                id="opd-modal",
                size="lg",
                is_open=False,
                scrollable=True,
            ),
        ],
        fluid=True,
        className="pb-4",
    )
