"""Alert rules (``/admin/aturan``, admins): the rules as a table and an editor for one rule's
definition (validated per kind; README "Alert rules")."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import components
from dashboard.callbacks.admin_rules import pick_options, rules_table
from dashboard.i18n import t

dash.register_page(
    __name__,
    path="/admin/aturan",
    title="Aturan peringatan — Pantau",
    order=98,
    nav_key="nav.rules",
    nav_group="admin",
    icon="bi-sliders",
    roles=("admin",),
    id_prefix="admin-rules",
    write_ids=("admin-rules",),
    write_roles=("admin",),
)


def layout(**_kwargs) -> dbc.Container:
    buttons = html.Div(
        [
            dbc.Button(t("rules.check"), id="admin-rules-check", color="secondary",
                       outline=True, size="sm", n_clicks=0),
            dbc.Button(t("rules.save"), id="admin-rules-save", color="primary", size="sm",
                       n_clicks=0),
            dbc.Button(t("rules.toggle"), id="admin-rules-toggle", color="secondary",
                       outline=True, size="sm", n_clicks=0),
            dbc.Button(t("rules.delete"), id="admin-rules-delete", color="danger",
                       outline=True, size="sm", n_clicks=0),
        ],
        className="d-flex flex-wrap gap-2 mb-2",
    )  # fmt: skip
    editor = components.card(
        t("rules.edit"),
        [
            components.dropdown(
                id="admin-rules-pick",
                options=pick_options(),
                placeholder=t("rules.pick"),
                className="mb-2",
            ),
            dbc.Label(t("rules.definition"), html_for="admin-rules-text", className="mb-1"),
            dbc.Textarea(
                id="admin-rules-text",
                rows=14,
                maxLength=20000,
                spellCheck=False,
                className="font-monospace small mb-1",
            ),
            html.Div(id="admin-rules-source", className="pantau-footnote mb-1"),
            html.Div(t("rules.help"), className="pantau-footnote mb-2"),
            buttons,
            html.Div(id="admin-rules-msg"),
        ],
        fill=False,
    )
    return dbc.Container(
        [
            components.page_header(t("rules.title"), t("rules.lead"), page="admin-rules"),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            t("rules.list"),
                            html.Div(rules_table(), id="admin-rules-table"),
                            fill=False,
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(editor, lg=5, className="mb-3"),
                ]
            ),
        ],
        fluid=True,
        className="pb-3",
        id="admin-rules-page",
    )
