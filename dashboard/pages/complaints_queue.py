"""Operator queue (``/pengaduan/antrian``): filter and sort reports, see deadlines and
overdue flags, verify / reject / mark duplicate / dispatch to an OPD (in bulk), follow the OPD's
work to resolved; and the SMS triage list."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from dashboard import auth
from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.callbacks import complaints_queue as queue_callbacks
from dashboard.callbacks.complaints_common import category_options
from dashboard.components import TABLE_STYLE, dropdown
from dashboard.i18n import current_lang, t
from store.complaints import OPEN_STATUSES, STATUS_LABELS, status_label

dash.register_page(
    __name__,
    path="/pengaduan/antrian",
    title="Antrean pengaduan — Pantau",
    order=51,
    roles=("pimpinan", "operator", "admin"),  # README: pimpinan sees every staff page
    id_prefix="queue",
    # every state change answers in one of these: the pimpinan reads the queue, changes nothing
    write_ids=("queue-feedback", "queue-sms-feedback"),
    write_roles=queue_callbacks.WRITERS,
)
WRITERS = queue_callbacks.WRITERS


def _columns(keys: list[str]) -> list[dict]:
    return [{"name": t(f"queue.col.{k}"), "id": k} for k in keys]


def reports_tab(lang: str, read_only: bool = False) -> html.Div:
    filters = dbc.Row(
        [
            dbc.Col(
                dropdown(
                    id="queue-status",
                    options=[{"label": status_label(s, lang), "value": s} for s in STATUS_LABELS],
                    value=list(OPEN_STATUSES),
                    multi=True,
                    placeholder=t("queue.status"),
                ),
                lg=3,
            ),
            dbc.Col(
                dbc.Select(
                    id="queue-category",
                    options=[
                        {"label": t("complaints.all_categories"), "value": "all"},
                        *category_options(lang),
                    ],  # fmt: skip
                    value="all",
                ),
                lg=2,
            ),
            dbc.Col(dbc.Select(id="queue-opd", options=[], value="all"), lg=2),
            dbc.Col(
                dbc.Input(id="queue-search", placeholder=t("queue.search"), debounce=True),
                lg=2,
            ),
            dbc.Col(
                dbc.Select(
                    id="queue-sort",
                    options=[
                        {"label": t("queue.sort_oldest"), "value": "oldest"},
                        {"label": t("queue.sort_newest"), "value": "newest"},
                        {"label": t("queue.sort_due"), "value": "due"},
                    ],
                    value="oldest",
                ),
                lg=1,
            ),
            dbc.Col(
                dbc.Switch(id="queue-overdue", label=t("queue.overdue_only"), value=False),
                lg=2,
                className="pt-1 text-nowrap",
            ),
        ],
        className="g-2 mb-2",
    )
    table = dash_table.DataTable(
        id="queue-table",
        columns=_columns(
            ["tracking", "created", "category", "status", "opd", "due", "overdue", "summary"]
        ),  # fmt: skip
        data=[],
        row_selectable="multi",
        selected_rows=[],
        style_data_conditional=[
            {"if": {"filter_query": '{overdue} != ""'}, "backgroundColor": "#fde2e1"},
        ],
        **TABLE_STYLE,
    )
    actions = dbc.Card(
        [
            dbc.CardHeader(html.Span(t("queue.select_hint"), id="queue-selected")),
            dbc.CardBody(
                [
                    html.Div(id="queue-detail", className="mb-3"),
                    html.Div(
                        [
                            dbc.Textarea(
                                id="queue-note",
                                placeholder=t("queue.note"),
                                rows=2,
                                className="mb-2",
                                maxLength=2000,
                            ),  # fmt: skip
                            html.Div(
                                [
                                    dbc.Button(
                                        t("queue.verify"),
                                        id="queue-verify",
                                        color="info",
                                        size="sm",
                                        className="me-1 mb-1",
                                    ),  # fmt: skip
                                    dbc.Button(
                                        t("queue.reject"),
                                        id="queue-reject",
                                        color="danger",
                                        outline=True,
                                        size="sm",
                                        className="me-1 mb-1",
                                    ),  # fmt: skip
                                ]
                            ),
                            dbc.InputGroup(
                                [
                                    dbc.Select(
                                        id="queue-dispatch-opd",
                                        options=[],
                                        value="",
                                        placeholder=t("queue.dispatch_opd_ph"),
                                    ),
                                    dbc.Button(
                                        t("queue.dispatch"), id="queue-dispatch", color="primary"
                                    ),
                                ],
                                size="sm",
                                className="mb-2",
                            ),
                            dbc.InputGroup(
                                [
                                    dbc.Input(
                                        id="queue-dup-target", placeholder=t("queue.duplicate_ph")
                                    ),
                                    dbc.Button(
                                        t("queue.duplicate"),
                                        id="queue-duplicate",
                                        color="secondary",
                                    ),  # fmt: skip
                                ],
                                size="sm",
                                className="mb-2",
                            ),
                            html.Div(
                                [
                                    dbc.Button(
                                        t("queue.progress"),
                                        id="queue-progress",
                                        color="warning",
                                        size="sm",
                                        className="me-1 mb-1",
                                    ),  # fmt: skip
                                    dbc.Button(
                                        t("queue.resolve"),
                                        id="queue-resolve",
                                        color="success",
                                        size="sm",
                                        className="me-1 mb-1",
                                    ),  # fmt: skip
                                    dbc.Button(
                                        t("queue.close"),
                                        id="queue-close",
                                        color="dark",
                                        size="sm",
                                        className="me-1 mb-1",
                                    ),  # fmt: skip
                                    dbc.Button(
                                        t("queue.reopen"),
                                        id="queue-reopen",
                                        color="secondary",
                                        outline=True,
                                        size="sm",
                                        className="me-1 mb-1",
                                    ),  # fmt: skip
                                ]
                            ),
                        ],
                        className="d-none" if read_only else None,
                    ),
                    html.Div(id="queue-feedback", className="mt-2"),
                ]
            ),
        ],
        className="shadow-sm",
    )
    return html.Div(
        [
            filters,
            dbc.Row(
                [
                    dbc.Col(
                        [html.Div(id="queue-count", className="small text-secondary mb-1"), table],
                        xl=8,
                        className="mb-3",
                    ),
                    dbc.Col(actions, xl=4),
                ]
            ),
        ],
        className="pt-3",
    )


def sms_tab(lang: str, read_only: bool = False) -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dash_table.DataTable(
                            id="queue-sms-table",
                            columns=_columns(["received", "sender", "text"]),
                            data=[],
                            row_selectable="single",
                            selected_rows=[],
                            **TABLE_STYLE,
                        ),
                        xl=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.Div(
                                        [
                                            dbc.Select(
                                                id="queue-sms-category",
                                                options=category_options(lang),
                                                placeholder=t("lapor.category_ph"),
                                                className="mb-2",
                                            ),
                                            dbc.Input(
                                                id="queue-sms-address",
                                                placeholder=t("lapor.address_ph"),
                                                className="mb-2",
                                            ),  # fmt: skip
                                            dbc.Button(
                                                t("queue.sms_convert"),
                                                id="queue-sms-convert",
                                                color="primary",
                                                size="sm",
                                                className="me-1",
                                            ),  # fmt: skip
                                            dbc.Button(
                                                t("queue.sms_discard"),
                                                id="queue-sms-discard",
                                                color="secondary",
                                                outline=True,
                                                size="sm",
                                            ),  # fmt: skip
                                        ],
                                        className="d-none" if read_only else None,
                                    ),
                                    html.Div(id="queue-sms-feedback", className="mt-2"),
                                ]
                            ),
                            className="shadow-sm",
                        ),
                        xl=4,
                    ),
                ]
            ),
        ],
        className="pt-3",
    )


def layout(**_kwargs) -> dbc.Container:
    lang = current_lang()
    # the pimpinan reads the queue: the state-changing controls are hidden (and refused by the
    # guard, write_ids above)
    read_only = auth.current_role() not in WRITERS
    return dbc.Container(
        [
            html.H1(t("queue.title"), className="h3 my-3"),
            dbc.Tabs(
                [
                    dbc.Tab(
                        reports_tab(lang, read_only),
                        label=t("queue.tab_reports"),
                        tab_id="queue-tab-reports",
                    ),
                    dbc.Tab(
                        sms_tab(lang, read_only), label=t("queue.tab_sms"), tab_id="queue-tab-sms"
                    ),
                ],
                id="queue-tabs",
                active_tab="queue-tab-reports",
            ),
            dcc.Store(id="queue-version", data=0),
            dcc.Interval(id="queue-refresh", interval=60_000, n_intervals=0),
        ],
        fluid=True,
        className="pb-4",
        id="queue-page",
    )
