"""Alert detail (``/peringatan/<id>``): the alert's state, the operator's actions (acknowledge,
assign, escalate, resolve), notes, the SOP checklist, the timeline and the evidence (the frame
kept when it opened, the readings around it, reports and cameras nearby).

Staff see every alert; OPD staff only the alerts assigned to their OPD (others answer "not
found"), without the camera pictures (``/snapshots`` and ``/evidence`` are staff routes).
Operators and admins act; OPD staff add notes and tick SOP steps; pimpinan and analis read."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import components, context
from dashboard.callbacks import alert_detail as cb
from dashboard.callbacks.alerts_common import OUTCOMES, WRITE_ROLES, current_actor, label
from dashboard.callbacks.evidence_record import record_controls, recordings_list
from dashboard.i18n import t
from dashboard.queries import alert_detail as q
from dashboard.queries import complaints as complaint_queries
from store.models import AlertSeverity, AlertStatus

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path_template="/peringatan/<alert_id>",
    path="/peringatan/1",
    title="Peringatan — Pantau",
    order=91,
    roles=(*STAFF, "opd"),
    id_prefix="alert",
    write_ids=("alert-act",),
)


def _not_found(raw: str) -> dbc.Container:
    return dbc.Container(
        [
            html.H1(t("404.title"), className="h3 mt-4"),
            html.P(t("alert.not_found", id=raw[:20]), className="lead", id="alert-missing"),
            dbc.Button(t("alert.back"), href="/peringatan", color="primary"),
        ],
        className="py-4",
    )


def _actions(status: str, users: list[str], opds: list[dict]) -> list:
    ack_off, assign_off, esc_off, res_off = cb._button_states(status)
    sev_options = [
        {"label": label("severity", s), "value": str(s)}
        for s in (AlertSeverity.WARNING, AlertSeverity.CRITICAL)
    ]
    return [
        dbc.Button(
            [html.I(className="bi bi-check2 me-1"), t("alert.ack")],
            id="alert-act-ack",
            color="primary",
            size="sm",
            disabled=ack_off,
            className="mb-2",
        ),  # fmt: skip
        html.Div(t("alert.assign"), className="pantau-eyebrow mt-1"),
        dbc.Row(
            [
                dbc.Col(
                    components.dropdown(
                        id="alert-act-user",
                        options=[{"label": u, "value": u} for u in users],
                        placeholder=t("alert.assign_user"),
                        clearable=True,
                    ),
                    xs=12,
                    sm=5,
                ),  # fmt: skip
                dbc.Col(
                    components.dropdown(
                        id="alert-act-opd",
                        options=opds,
                        placeholder=t("alert.assign_opd"),
                        clearable=True,
                    ),
                    xs=12,
                    sm=5,
                ),  # fmt: skip
                dbc.Col(
                    dbc.Button(
                        t("alert.assign"),
                        id="alert-act-assign",
                        size="sm",
                        color="secondary",
                        disabled=assign_off,
                    ),
                    xs=12,
                    sm=2,
                ),  # fmt: skip
            ],
            className="g-1 mb-2",
        ),
        html.Div(t("alert.escalate"), className="pantau-eyebrow"),
        dbc.Row(
            [
                dbc.Col(
                    components.dropdown(
                        id="alert-act-severity",
                        options=sev_options,
                        placeholder=t("alert.escalate_severity"),
                        clearable=True,
                    ),
                    xs=12,
                    sm=5,
                ),  # fmt: skip
                dbc.Col(
                    dbc.Checkbox(
                        id="alert-act-pimpinan", label=t("alert.escalate_pimpinan"), value=False
                    ),
                    xs=12,
                    sm=5,
                    className="pt-1",
                ),  # fmt: skip
                dbc.Col(
                    dbc.Button(
                        t("alert.escalate"),
                        id="alert-act-escalate",
                        size="sm",
                        color="warning",
                        disabled=esc_off,
                    ),
                    xs=12,
                    sm=2,
                ),  # fmt: skip
            ],
            className="g-1",
        ),
        dbc.Input(
            id="alert-act-esc-note",
            placeholder=t("alert.note_optional"),
            size="sm",
            maxLength=2000,
            className="mt-1 mb-2",
        ),  # fmt: skip
        html.Div(t("alert.resolve"), className="pantau-eyebrow"),
        dbc.Row(
            [
                dbc.Col(
                    components.dropdown(
                        id="alert-act-outcome",
                        options=[{"label": label("outcome", o), "value": o} for o in OUTCOMES],
                        placeholder=t("alert.outcome"),
                        clearable=True,
                    ),
                    xs=12,
                    sm=5,
                ),  # fmt: skip
                dbc.Col(
                    dbc.Input(
                        id="alert-act-res-note",
                        placeholder=t("alert.note_optional"),
                        size="sm",
                        maxLength=2000,
                    ),
                    xs=12,
                    sm=5,
                ),  # fmt: skip
                dbc.Col(
                    dbc.Button(
                        t("alert.resolve"),
                        id="alert-act-resolve",
                        size="sm",
                        color="success",
                        disabled=res_off,
                    ),
                    xs=12,
                    sm=2,
                ),  # fmt: skip
            ],
            className="g-1",
        ),
        html.Div(id="alert-act-msg", className="mt-2"),
    ]


def _note_form() -> list:
    return [
        dbc.Textarea(
            id="alert-opd-note",
            placeholder=t("alert.note"),
            maxLength=2000,
            rows=2,
            className="mb-1",
        ),  # fmt: skip
        dbc.Button(t("alert.add_note"), id="alert-opd-note-save", size="sm", color="secondary"),
        html.Div(id="alert-opd-msg", className="mt-2"),
    ]


def layout(alert_id: str | None = None, **_kwargs):
    raw = str(alert_id or "")
    actor = current_actor()
    settings = context.settings()
    radius = settings.alert_nearby_radius_m
    if not raw.isdigit():
        return _not_found(raw)
    with context.db().session() as s:
        d = q.load(s, int(raw))
        if not cb.visible(d, actor):
            return _not_found(raw)
        staff = not actor.is_opd
        can_act = actor.role in WRITE_ROLES
        can_note = can_act or actor.is_opd
        users = q.assignable_users(s) if can_act else []
        opds = complaint_queries.opd_options(s) if can_act else []
        readings = q.readings(s, d)
        reports = q.nearby_reports(s, d, radius, opd_id=actor.opd_id if actor.is_opd else None)
        cams = q.nearby_cameras(s, d, radius) if staff else []
        state = cb.state_table(d)
        sop = cb.sop_list(d, can_note)
        timeline = cb.timeline(d)
        title = cb.display_title(d)
        status = d.alert.status or AlertStatus.OPEN
        has_place = d.lat is not None
        frame = cb.evidence_frame(d) if staff else None
        recordings = recordings_list(s, alert_id=d.alert.id) if staff else None
        recordable = can_act and d.alert.camera_id is not None
    left = [
        components.card(
            t("alert.state"), html.Div(state, id="alert-state"), fill=False, className="mb-3"
        ),  # fmt: skip
    ]
    if can_act:
        left.append(components.card(t("alert.actions"), _actions(status, users, opds),
                                    fill=False, className="mb-3"))  # fmt: skip
    left.append(components.card(t("alert.sop"), html.Div(sop, id="alert-sop"), fill=False,
                                className="mb-3"))  # fmt: skip
    left.append(
        components.card(
            t("alert.timeline"),
            [
                html.Div(_note_form(), className="mb-2") if can_note else None,
                html.Div(timeline, id="alert-timeline", className="pantau-feed"),
            ],
            fill=False,
            className="mb-3",
        )
    )
    right = []
    if staff:
        right.append(components.card(t("alert.snapshot"), frame, fill=False, className="mb-3"))
        right.append(
            components.card(
                t("rec.list"),
                [
                    record_controls("alert-act-record") if recordable else None,
                    html.Div(recordings, className="mt-2"),
                ],
                fill=False,
                className="mb-3",
                card_id="alert-recordings",
            )
        )
    right.append(
        components.card(
            t("alert.readings"), cb.readings_figure(readings), fill=False, className="mb-3"
        )  # fmt: skip
    )
    where = None if has_place else html.P(t("alert.no_location"), className="small text-secondary")
    right.append(
        components.card(
            t("alert.nearby_reports", m=int(radius)),
            where or cb.reports_list(reports),
            fill=False,
            className="mb-3",
        )  # fmt: skip
    )
    if staff:
        right.append(
            components.card(
                t("alert.nearby_cameras", m=int(radius)),
                where or cb.cameras_grid(cams),
                fill=False,
                className="mb-3",
            )  # fmt: skip
        )
    back = dbc.Button(
        [html.I(className="bi bi-arrow-left me-1"), t("alert.back")],
        href="/peringatan", size="sm", color="secondary", outline=True,
    )  # fmt: skip
    return dbc.Container(
        [
            components.page_header(t("alert.title", id=raw), title, right=back, page="alert"),
            dbc.Row([dbc.Col(left, lg=6), dbc.Col(right, lg=6)], className="g-3"),
            dcc.Store(id="alert-id", data=int(raw)),
            dcc.Store(id="alert-version"),
        ],
        fluid=True,
        className="pb-3",
    )
