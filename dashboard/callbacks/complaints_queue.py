"""Callbacks of the operator queue (``/pengaduan/antrian``)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update

from dashboard import auth, context
from dashboard.callbacks.complaints_common import (
    history_list,
    report_body,
    report_events,
    work_list_row,
)
from dashboard.callbacks.lapor_status import status_badge
from dashboard.i18n import current_lang, local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import complaints as q
from store import complaint_cameras
from store.complaints import (
    ComplaintError,
    ComplaintService,
    category_label,
    default_opd,
    find_by_tracking_id,
    status_label,
)
from store.models import Complaint, ComplaintStatus, PrivacyMode

logger = logging.getLogger(__name__)

S = ComplaintStatus

register_strings(
    {
        "queue.nearby_cameras": {
            "id": "Kamera dalam {m} m saat laporan masuk (khusus petugas)",
            "en": "Cameras within {m} m when the report arrived (staff only)",
        },
        "queue.camera_no_snapshot": {"id": "Belum ada gambar.", "en": "No picture yet."},
    }
)

#: button id -> target status
ACTIONS = {
    "queue-verify": S.VERIFIED,
    "queue-reject": S.REJECTED,
    "queue-duplicate": S.DUPLICATE,
    "queue-dispatch": S.DISPATCHED,
    "queue-progress": S.IN_PROGRESS,
    "queue-resolve": S.RESOLVED,
    "queue-close": S.CLOSED,
    "queue-reopen": S.IN_PROGRESS,
}


#: Who may change complaints here (README: operators run the workflow, admins everything).
WRITERS = ("operator", "admin")


def actor() -> str:
    try:
        from dashboard.auth import current_username

        return current_username() or "operator"
    except Exception:  # outside a request (unit tests)
        return "operator"


def _service() -> ComplaintService:
    from flask import has_app_context

    if has_app_context():
        from dashboard.api.intake import service

        return service()
    return ComplaintService(context.db(), context.settings())


def opd_choices(_tab: str | None):
    with context.db().session() as s:
        opts = q.opd_options(s)
    all_opd = [{"label": t("queue.all_opd"), "value": "all"}, *opts]
    return all_opd, opts


_AUTOCLOSE_EVERY_S = 600.0
_last_autoclose = 0.0


def autoclose_due_reports() -> int:
    """Close resolved reports past their 10 working days, at most every 10 minutes (the queue
    is open all day in a command center, so this is the natural place to run it)."""
    global _last_autoclose
    now = time.monotonic()
    if now - _last_autoclose < _AUTOCLOSE_EVERY_S:
        return 0
    _last_autoclose = now
    try:
        closed = _service().auto_close()
    except Exception:  # never break the queue for it
        logger.exception("auto-close failed")
        return 0
    if closed:
        logger.info("auto-closed %d resolved reports without reply", closed)
    return closed


def load_table(
    statuses: list[str] | None,
    category: str | None,
    opd: str | None,
    search: str | None,
    sort: str | None,
    overdue: bool | None,
    _version: int | None,
    _n: int | None,
):
    """Rows for the table; selection is cleared so a refresh never shifts what is selected."""
    lang = current_lang()
    tz = context.settings().timezone
    autoclose_due_reports()
    now = datetime.now(UTC)
    with context.db().session() as s:
        df = q.queue(
            s,
            statuses=statuses or None,
            category=category if category and category != "all" else None,
            opd_id=int(opd) if opd and opd.isdigit() else None,
            overdue_only=bool(overdue),
            search=search,
            sort=sort or "oldest",
            now=now,
        )
    rows = []
    for r in df.itertuples():
        due = r.followup_due if r.status == S.DISPATCHED else r.dispatch_due
        if r.status not in (S.NEW, S.VERIFIED, S.DISPATCHED):
            due = None
        overdue = t(f"queue.overdue_{r.overdue}") if r.overdue else ""
        row = work_list_row(r, due=due, overdue=overdue, lang=lang, tz=tz)
        rows.append({**row, "opd": r.opd or ""})
    n_overdue = sum(1 for r in rows if r["overdue"])
    count = t("queue.count", n=len(rows), overdue=n_overdue, time=local_time(now, tz))
    return rows, count, []


def show_detail(selected: list[int] | None, rows: list[dict] | None):
    """Details of the first selected report, with duplicate hints; default OPD for dispatch."""
    lang = current_lang()
    tz = context.settings().timezone
    ids = [rows[i]["id"] for i in (selected or []) if rows and i < len(rows)]
    if not ids:
        return t("queue.select_hint"), None, no_update, ""
    header = t("queue.selected", n=len(ids))
    svc = _service()
    with context.db().session() as s:
        c = s.get(Complaint, ids[0])
        if c is None:
            return header, None, no_update, ""
        opd = default_opd(s, c.category) if c.opd_id is None else None
        hints = svc.duplicates_for(s, c)
        events = report_events(s, c.id)
        if c.privacy == PrivacyMode.ANONYMOUS:
            reporter = t("queue.hidden_identity")
        else:
            reporter = " · ".join(x for x in (c.reporter_name, c.reporter_contact) if x) or "—"
        detail = [
            html.Div(
                [
                    html.Strong(c.tracking_id, className="me-2", id="queue-detail-tracking"),
                    status_badge(c.status, lang, id="queue-detail-status"),
                ]
            ),
            html.Div(
                f"{category_label(c.category, lang)} · {local_time(c.created_at, tz)}",
                className="small text-secondary",
            ),
            html.Div(
                f"{t('queue.channel')}: {c.channel} · {t('queue.privacy')}: {c.privacy} · "
                f"{t('queue.reporter')}: {reporter}",
                className="small text-secondary",
            ),
            *report_body(c, description_id="queue-detail-description"),
            html.Div(
                t(
                    "queue.duplicates",
                    m=int(svc.settings.complaint_duplicate_radius_m),
                    d=svc.settings.complaint_duplicate_days,
                ),
                className="small fw-semibold mt-2",
            ),
            html.Ul(
                [
                    html.Li(
                        f"{h.tracking_id} · {h.distance_m:.0f} m · {status_label(h.status, lang)}"
                        f" · {local_time(h.created_at, tz)} — {h.description[:60]}",
                        className="small",
                    )
                    for h in hints
                ],
                id="queue-duplicates",
                className="mb-1",
            )
            if hints
            else html.Div(t("queue.no_duplicates"), className="small text-secondary"),
            *nearby_snapshots(s, c.id, svc.settings.complaint_camera_radius_m),
            html.Div(t("queue.history"), className="small fw-semibold mt-2"),
            history_list(events, lang, tz),
        ]
        dup_default = hints[0].tracking_id if hints else ""
    return header, detail, (str(opd.id) if opd else no_update), dup_default


def nearby_snapshots(session, complaint_id: int, radius_m: float) -> list[Any]:
    """The camera snapshots attached when the report arrived (store.complaint_cameras)."""
    shots = complaint_cameras.snapshots_for(session, complaint_id)
    if not shots:
        return []
    tz = context.settings().timezone
    cells = [
        dbc.Col(
            [
                html.A(
                    html.Img(src=f"/evidence/{x.path}", alt=x.camera_name, className="w-100"),
                    href=f"/evidence/{x.path}",
                    target="_blank",
                    className="pantau-frame d-block",
                )
                if x.path
                else html.Div(t("queue.camera_no_snapshot"), className="small text-secondary"),
                html.Div(
                    [
                        html.A(x.camera_name, href=f"/camera/{x.camera_code}"),
                        f" · {x.distance_m:.0f} m",
                    ],
                    className="small",
                ),
                html.Div(
                    local_time(x.taken_at, tz) if x.taken_at else "", className="pantau-footnote"
                ),
            ],
            xs=6,
            className="mb-1",
        )  # fmt: skip
        for x in shots
    ]
    return [
        html.Div(t("queue.nearby_cameras", m=int(radius_m)), className="small fw-semibold mt-2"),
        dbc.Row(cells, className="g-2", id="queue-nearby-cameras"),
    ]


def act(
    *args,
):
    """Apply one action to every selected report; report what changed and what was refused."""
    (
        _v, _r, _d, _dp, _p, _rs, _c, _ro,
        selected, rows, note, dup_target, opd_value, version,
    ) = args  # fmt: skip
    trigger = ctx.triggered_id if ctx else None
    return apply_action(trigger, selected, rows, note, dup_target, opd_value, version)


def apply_action(
    trigger: str | None,
    selected: list[int] | None,
    rows: list[dict] | None,
    note: str | None,
    dup_target: str | None,
    opd_value: str | None,
    version: int | None,
):
    lang = current_lang()
    if trigger not in ACTIONS:
        return no_update, no_update, no_update
    auth.require_role(*WRITERS)  # defence in depth: the guard refuses the pimpinan already
    ids = [rows[i]["id"] for i in (selected or []) if rows and i < len(rows)]
    if not ids:
        return dbc.Alert(t("queue.nothing_selected"), color="warning"), no_update, no_update
    target = ACTIONS[trigger]
    svc = _service()
    who = actor()
    done: list[int] = []
    failed: dict[int, ComplaintError] = {}
    if target == S.DISPATCHED:
        if not opd_value:
            from store.complaints import TransitionError

            failed = {cid: TransitionError("opd_required") for cid in ids}
        else:
            done, failed = svc.dispatch_many(ids, int(opd_value), actor=who, note=note)
    else:
        dup_id = None
        if target == S.DUPLICATE:
            with context.db().session() as s:
                original = find_by_tracking_id(s, dup_target)
                dup_id = original.id if original else None
        for cid in ids:
            try:
                svc.transition(cid, target, actor=who, note=note, duplicate_of_id=dup_id)
                done.append(cid)
            except ComplaintError as exc:
                failed[cid] = exc
    by_id = {r["id"]: r["tracking"] for r in rows or []}
    parts = []
    if done:
        parts.append(
            html.Div(
                t("queue.done", n=len(done), status=status_label(target, lang)),
                id="queue-done",
            )
        )
    if failed:
        parts.append(
            html.Ul(
                [
                    html.Li(t("queue.failed", tid=by_id.get(cid, cid), reason=exc.text(lang)))
                    for cid, exc in failed.items()
                ],
                className="mb-0",
                id="queue-refused",
            )
        )
    color = "success" if done and not failed else ("warning" if done else "danger")
    feedback = dbc.Alert(parts, color=color, className="py-2", id="queue-result")
    return feedback, (version or 0) + 1, "" if done else no_update


# --------------------------------------------------------------------------------------------
# SMS triage
def load_sms(_tab: str | None, _version: int | None):
    tz = context.settings().timezone
    with context.db().session() as s:
        df = q.sms_triage(s)
    return [
        {
            "id": int(r.id),
            "received": local_time(r.received_at, tz),
            "sender": r.sender,
            "text": r.text,
        }
        for r in df.itertuples()
    ], []


def sms_action(
    _convert: int | None,
    _discard: int | None,
    selected: list[int] | None,
    rows: list[dict] | None,
    category: str | None,
    address: str | None,
    version: int | None,
):
    from ingestion.sms import SmsIntake
    from store.complaints import ValidationError

    lang = current_lang()
    trigger = ctx.triggered_id if ctx else None
    auth.require_role(*WRITERS)
    ids = [rows[i]["id"] for i in (selected or []) if rows and i < len(rows)]
    if not ids:
        return dbc.Alert(t("queue.sms_select"), color="warning"), no_update
    intake = SmsIntake(_service())
    try:
        if trigger == "queue-sms-discard":
            intake.discard(ids[0], actor=actor())
            return dbc.Alert(t("queue.sms_discarded"), color="secondary"), (version or 0) + 1
        tid = intake.convert(ids[0], category=category or "", address=address, actor=actor())
    except ValidationError as exc:
        return dbc.Alert(list(exc.messages(lang).values()), color="danger"), no_update
    except ValueError as exc:
        return dbc.Alert(str(exc), color="danger"), (version or 0) + 1
    return dbc.Alert(t("queue.sms_converted", tid=tid), color="success"), (version or 0) + 1


def register(app: dash.Dash) -> None:
    app.callback(
        Output("queue-opd", "options"),
        Output("queue-dispatch-opd", "options"),
        Input("queue-tabs", "active_tab"),
    )(opd_choices)
    app.callback(
        Output("queue-table", "data"),
        Output("queue-count", "children"),
        Output("queue-table", "selected_rows"),
        Input("queue-status", "value"),
        Input("queue-category", "value"),
        Input("queue-opd", "value"),
        Input("queue-search", "value"),
        Input("queue-sort", "value"),
        Input("queue-overdue", "value"),
        Input("queue-version", "data"),
        Input("queue-refresh", "n_intervals"),
    )(load_table)
    app.callback(
        Output("queue-selected", "children"),
        Output("queue-detail", "children"),
        Output("queue-dispatch-opd", "value"),
        Output("queue-dup-target", "value"),
        Input("queue-table", "selected_rows"),
        State("queue-table", "data"),
    )(show_detail)
    app.callback(
        Output("queue-feedback", "children"),
        Output("queue-version", "data"),
        Output("queue-note", "value"),
        *(Input(b, "n_clicks") for b in ACTIONS),
        State("queue-table", "selected_rows"),
        State("queue-table", "data"),
        State("queue-note", "value"),
        State("queue-dup-target", "value"),
        State("queue-dispatch-opd", "value"),
        State("queue-version", "data"),
        prevent_initial_call=True,
    )(act)
    app.callback(
        Output("queue-sms-table", "data"),
        Output("queue-sms-table", "selected_rows"),
        Input("queue-tabs", "active_tab"),
        Input("queue-version", "data"),
    )(load_sms)
    app.callback(
        Output("queue-sms-feedback", "children"),
        Output("queue-version", "data", allow_duplicate=True),
        Input("queue-sms-convert", "n_clicks"),
        Input("queue-sms-discard", "n_clicks"),
        State("queue-sms-table", "selected_rows"),
        State("queue-sms-table", "data"),
        State("queue-sms-category", "value"),
        State("queue-sms-address", "value"),
        State("queue-version", "data"),
        prevent_initial_call=True,
    )(sms_action)
