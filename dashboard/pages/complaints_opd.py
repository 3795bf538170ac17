"""OPD follow-up (``/opd/pengaduan``): for role ``opd`` the reports the command center sent
to the user's own OPD (``pimpinan`` and ``admin`` see every OPD's, read-only), with follow-up deadlines and overdue flags; start the follow-up and mark
it resolved with a mandatory note. Which OPD comes from the signed-in account, never from the
browser (see dashboard/callbacks/complaints_opd.py)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from dashboard.callbacks.complaints_opd import heading, is_overseer
from dashboard.components import TABLE_STYLE
from dashboard.i18n import t

dash.register_page(
    __name__,
    path="/opd/pengaduan",
    title="Tindak lanjut OPD — Pantau",
    order=52,
    nav_key="nav.followup",
    icon="bi-clipboard-check",
    roles=("opd", "pimpinan", "admin"),
    id_prefix="followup",
    write_ids=("followup-feedback",),
    write_roles=("opd",),
)

COLUMNS = ("tracking", "created", "category", "status", "due", "overdue", "summary")


def layout(**_kwargs) -> dbc.Container:
    title, lead = heading()
    overseer = is_overseer()
    keys = ("opd", *COLUMNS) if overseer else COLUMNS
    filters = dbc.Row(
        [
            dbc.Col(
                dbc.RadioItems(
                    id="followup-view",
                    options=[
                        {"label": t("followup.view_open"), "value": "open"},
                        {"label": t("followup.view_done"), "value": "done"},
                        {"label": t("followup.view_all"), "value": "all"},
                    ],
                    value="open",
                    inline=True,
                ),
                lg=5,
                className="pt-1",
            ),
            dbc.Col(
                dbc.Switch(id="followup-overdue", label=t("followup.overdue_only"), value=False),
                lg=3,
                className="pt-1",
            ),
            dbc.Col(
                dbc.Input(id="followup-search", placeholder=t("followup.search"), debounce=True),
                lg=4,
            ),
        ],
        className="g-2 mb-2",
    )
    table = dash_table.DataTable(
        id="followup-table",
        columns=[{"name": t(f"followup.col.{k}"), "id": k} for k in keys],
        data=[],
        row_selectable="single",
        selected_rows=[],
        style_data_conditional=[
            {"if": {"filter_query": '{overdue} != ""'}, "backgroundColor": "#fde2e1"},
        ],
        style_cell_conditional=[  # empty columns would shrink to nothing under fixed headers
            {"if": {"column_id": "due"}, "minWidth": "150px"},
            {"if": {"column_id": "overdue"}, "minWidth": "90px"},
            {"if": {"column_id": "summary"}, "minWidth": "220px"},
        ],
        **TABLE_STYLE,
    )
    # overseers read only: the controls stay in the tree (the callback's inputs exist) but hidden;
    # the guard refuses their use anyway (write_ids)
    write = html.Div(_write_controls(), className="d-none" if overseer else None)
    actions = dbc.Card(
        dbc.CardBody(
            [
                html.Div(t("followup.select_hint"), id="followup-detail", className="mb-3"),
                write,
                html.Div(
                    t("followup.read_only") if overseer else None,
                    id="followup-feedback",
                    className="mt-2 small text-secondary",
                ),
            ]
        ),
        className="shadow-sm",
    )
    return dbc.Container(
        [
            html.H1(title, className="h3 mt-3 mb-1", id="followup-title"),
            html.P(lead, className="text-secondary"),
            filters,
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(id="followup-count", className="small text-secondary mb-1"),
                            table,
                        ],
                        xl=8,
                        className="mb-3",
                    ),
                    dbc.Col(actions, xl=4),
                ]
            ),
            dcc.Store(id="followup-version", data=0),
            dcc.Interval(id="followup-refresh", interval=60_000, n_intervals=0),
        ],
        fluid=True,
        className="pb-4",
        id="followup-page",
    )


def _write_controls() -> list:
    return [
        dbc.Textarea(
            id="followup-note",
            placeholder=t("followup.note"),
            rows=3,
            className="mb-2",
            maxLength=2000,
        ),
        dbc.Button(
            [html.I(className="bi bi-play-circle me-1"), t("followup.start")],
            id="followup-start",
            color="warning",
            size="sm",
            className="me-1 mb-1",
        ),
        dbc.Button(
            [html.I(className="bi bi-check2-circle me-1"), t("followup.resolve")],
            id="followup-resolve",
            color="success",
            size="sm",
            className="me-1 mb-1",
        ),
    ]
