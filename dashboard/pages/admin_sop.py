"""SOP checklists per alert kind (``/admin/sop``, admins): edit the steps operators tick on an
alert; the stored list replaces data/sop_templates.json for its kind."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import components, context
from dashboard.callbacks.admin_sop import kind_options
from dashboard.i18n import t

dash.register_page(
    __name__,
    path="/admin/sop",
    title="SOP peringatan — Pantau",
    order=98,
    nav_key="nav.sop",
    nav_group="admin",
    icon="bi-list-check",
    roles=("admin",),
    id_prefix="admin-sop",
    write_ids=("admin-sop",),
    write_roles=("admin",),
)


def layout(**_kwargs) -> dbc.Container:
    with context.db().session() as s:
        options = kind_options(s)
    first = next((o["value"] for o in options if o["value"] == "flood_coverage"), None)
    return dbc.Container(
        [
            components.page_header(t("sop.title"), t("sop.lead"), page="admin-sop"),
            components.card(
                t("sop.steps"),
                [
                    dbc.Label(t("sop.kind"), className="pantau-eyebrow"),
                    components.dropdown(
                        id="admin-sop-kind",
                        options=options,
                        value=first,
                        clearable=False,
                        className="mb-2",
                    ),  # fmt: skip
                    dbc.Textarea(
                        id="admin-sop-text",
                        rows=10,
                        maxLength=20000,
                        className="font-monospace small mb-1",
                    ),  # fmt: skip
                    html.Div(id="admin-sop-source", className="pantau-footnote mb-2"),
                    html.Div(
                        [
                            dbc.Button(
                                t("sop.save"), id="admin-sop-save", color="primary", size="sm"
                            ),  # fmt: skip
                            dbc.Button(
                                t("sop.reset"),
                                id="admin-sop-reset",
                                color="secondary",
                                outline=True,
                                size="sm",
                            ),  # fmt: skip
                        ],
                        className="d-flex gap-2 mb-2",
                    ),
                    html.Div(id="admin-sop-msg"),
                ],
                fill=False,
            ),
        ],
        fluid=True,
        className="pb-3",
    )
