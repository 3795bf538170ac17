"""Callbacks of the OPD follow-up page (``/opd/pengaduan``: role ``opd``; ``pimpinan`` and
``admin`` oversee every OPD's follow-up read-only).

Every callback takes the user's OPD from the server session (``auth.current_opd_id``), never
from the browser: the table is queried for that OPD only, and the report ids the browser sends
back (table rows are client state, a forged request can put any id there) are checked again
with ``store.complaints.opd_can_see`` / ``check_opd_transition``. Another OPD's report gets the
same "not found" answer as an id that does not exist.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

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
from dashboard.callbacks.complaints_queue import _service
from dashboard.callbacks.lapor_status import status_badge
from dashboard.i18n import current_lang, local_time, register, t
from dashboard.queries import complaints as q
from store.complaints import (
    OPD_VISIBLE_STATUSES,
    ComplaintError,
    ComplaintNotFound,
    category_label,
    opd_can_see,
    status_label,
)
from store.models import Complaint, ComplaintStatus, Opd, PrivacyMode

logger = logging.getLogger(__name__)

S = ComplaintStatus

register(
    {
        "nav.followup": {"id": "Tindak Lanjut OPD", "en": "Agency Follow-up"},
        "followup.title": {
            "id": "Tindak lanjut pengaduan — {opd}",
            "en": "Complaint follow-up — {opd}",
        },
        "followup.lead": {
            "id": "Laporan warga yang diteruskan command center ke {name}. Tindak lanjuti paling "
            "lambat 5 hari kerja sejak diteruskan: mulai tindak lanjut, lalu tandai selesai "
            "dengan catatan apa yang sudah dikerjakan.",
            "en": "Citizen reports the command center sent to {name}. Follow them up within 5 "
            "working days of dispatch: start the follow-up, then mark it resolved with a note "
            "of what was done.",
        },
        "followup.no_opd": {
            "id": "Akun Anda belum dikaitkan ke OPD. Hubungi admin command center.",
            "en": "Your account is not linked to an agency (OPD). Ask the command center's admin.",
        },
        "followup.view": {"id": "Tampilkan", "en": "Show"},
        "followup.view_open": {"id": "Perlu ditindaklanjuti", "en": "To follow up"},
        "followup.view_done": {"id": "Selesai / ditutup", "en": "Resolved / closed"},
        "followup.view_all": {"id": "Semua", "en": "All"},
        "followup.overdue_only": {"id": "Hanya yang terlambat", "en": "Overdue only"},
        "followup.search": {"id": "Cari nomor/isi/alamat", "en": "Search ID/text/address"},
        "followup.count": {
            "id": "{n} laporan, {overdue} terlambat tindak lanjut (per {time})",
            "en": "{n} reports, {overdue} with follow-up overdue (as of {time})",
        },
        "followup.col.tracking": {"id": "Nomor", "en": "ID"},
        "followup.col.created": {"id": "Masuk (WIB)", "en": "Received (WIB)"},
        "followup.col.category": {"id": "Kategori", "en": "Category"},
        "followup.col.status": {"id": "Status", "en": "Status"},
        "followup.col.due": {"id": "Tenggat tindak lanjut (WIB)", "en": "Follow-up due (WIB)"},
        "followup.col.overdue": {"id": "Terlambat", "en": "Overdue"},
        "followup.col.summary": {"id": "Ringkasan", "en": "Summary"},
        "followup.overdue_yes": {"id": "terlambat", "en": "overdue"},
        "followup.select_hint": {
            "id": "Pilih satu laporan di tabel untuk melihat rinciannya.",
            "en": "Pick a report in the table to see its details.",
        },
        "followup.not_found": {"id": "Laporan tidak ditemukan.", "en": "Report not found."},
        "followup.dispatched": {"id": "Diteruskan", "en": "Sent to agency"},
        "followup.due": {"id": "Tenggat tindak lanjut", "en": "Follow-up due"},
        "followup.reporter": {"id": "Pelapor", "en": "Reporter"},
        "followup.hidden_identity": {
            "id": "dirahasiakan (laporan anonim/rahasia)",
            "en": "withheld (anonymous/confidential report)",
        },
        "followup.history": {"id": "Riwayat", "en": "History"},
        "followup.note": {
            "id": "Catatan tindak lanjut (wajib): apa yang sudah/akan dikerjakan",
            "en": "Follow-up note (required): what was or will be done",
        },
        "followup.start": {"id": "Mulai tindak lanjut", "en": "Start follow-up"},
        "followup.resolve": {"id": "Tandai selesai", "en": "Mark resolved"},
        "followup.done": {
            "id": "{tid}: status menjadi {status}.",
            "en": "{tid}: status is now {status}.",
        },
        "followup.all_opd": {"id": "semua OPD", "en": "all agencies"},
        "followup.lead_overseer": {
            "id": "Laporan warga yang diteruskan command center ke OPD dan tindak lanjutnya "
            "(tenggat 5 hari kerja sejak diteruskan). Halaman ini hanya untuk dibaca: "
            "tindak lanjut dikerjakan oleh petugas OPD masing-masing.",
            "en": "Citizen reports the command center sent to the agencies, and their "
            "follow-up (due 5 working days after dispatch). Read-only here: each agency's "
            "staff do the follow-up.",
        },
        "followup.col.opd": {"id": "OPD", "en": "Agency"},
        "followup.read_only": {
            "id": "Hanya baca: tindak lanjut dikerjakan oleh petugas OPD.",
            "en": "Read-only: agency staff do the follow-up.",
        },
        "followup.nothing_selected": {
            "id": "Pilih laporan dulu.",
            "en": "Pick a report first.",
        },
    }
)

#: button id -> target status
ACTIONS = {"followup-start": S.IN_PROGRESS, "followup-resolve": S.RESOLVED}
VIEWS: dict[str, tuple[str, ...]] = {
    "open": (S.DISPATCHED, S.IN_PROGRESS),
    "done": (S.RESOLVED, S.CLOSED),
    "all": OPD_VISIBLE_STATUSES,
}


#: Roles that see every OPD's follow-up, read-only (README role table).
OVERSEERS = ("pimpinan", "admin")


def is_overseer() -> bool:
    """Whether the user oversees every OPD's follow-up (read-only) instead of doing their own."""
    return auth.current_role() in OVERSEERS


def _may_see(c: Complaint | None) -> bool:
    if is_overseer():
        return c is not None and c.status in OPD_VISIBLE_STATUSES
    return opd_can_see(c, auth.current_opd_id())


def own_opd(session) -> Opd | None:  # type: ignore[no-untyped-def]
    """The signed-in user's OPD (None for anyone who is not OPD staff with an existing OPD)."""
    opd_id = auth.current_opd_id()
    return session.get(Opd, opd_id) if opd_id is not None else None


def heading() -> tuple[str, str]:
    """(title, lead) of the page for the user's OPD."""
    with context.db().session() as s:
        opd = own_opd(s)
        if opd is None and is_overseer():
            return t("followup.title", opd=t("followup.all_opd")), t("followup.lead_overseer")
        if opd is None:
            return t("followup.title", opd="—"), t("followup.no_opd")
        return t("followup.title", opd=opd.short_name), t("followup.lead", name=opd.name)


def _ids(selected: list[int] | None, rows: list[dict] | None) -> list[int]:
    out = []
    for i in selected or []:
        if rows and isinstance(i, int) and 0 <= i < len(rows):
            try:
                out.append(int(rows[i]["id"]))
            except (KeyError, TypeError, ValueError):
                continue
    return out


def load_table(
    view: str | None,
    overdue: bool | None,
    search: str | None,
    _version: int | None,
    _n: int | None,
):
    """The OPD's reports (from the server-side OPD of the session, nothing else)."""
    lang = current_lang()
    tz = context.settings().timezone
    now = datetime.now(UTC)
    opd_id = auth.current_opd_id()
    overseer = is_overseer()
    if opd_id is None and not overseer:  # fail closed: no OPD, no reports
        return [], t("followup.no_opd"), []
    with context.db().session() as s:
        df = q.queue(
            s,
            statuses=list(VIEWS.get(view or "open", VIEWS["open"])),
            opd_id=opd_id,
            overdue_only=bool(overdue),
            search=search,
            sort="followup_due",
            now=now,
        )
    rows = []
    for r in df.itertuples():
        due = r.followup_due if r.status == S.DISPATCHED else None
        overdue = t("followup.overdue_yes") if r.overdue == "followup" else ""
        row = work_list_row(r, due=due, overdue=overdue, lang=lang, tz=tz)
        if overseer:
            row["opd"] = r.opd or "—"
        rows.append(row)
    n_overdue = sum(1 for r in rows if r["overdue"])
    count = t("followup.count", n=len(rows), overdue=n_overdue, time=local_time(now, tz))
    return rows, count, []


def reporter_text(c: Complaint) -> str:
    """Who reported: never for anonymous or confidential reports (stricter than the operator
    queue, which shows confidential reporters to the command center)."""
    if c.privacy in (PrivacyMode.ANONYMOUS, PrivacyMode.CONFIDENTIAL):
        return t("followup.hidden_identity")
    return " · ".join(x for x in (c.reporter_name, c.reporter_contact) if x) or "—"


def show_detail(selected: list[int] | None, rows: list[dict] | None):
    """Details of the selected report, if it is this OPD's (else the same "not found" as for an
    id that does not exist)."""
    lang = current_lang()
    tz = context.settings().timezone
    ids = _ids(selected, rows)
    if not ids:
        return t("followup.select_hint")
    with context.db().session() as s:
        c = s.get(Complaint, ids[0])
        if not _may_see(c):
            return dbc.Alert(t("followup.not_found"), color="warning", id="followup-missing")
        events = report_events(s, c.id)
        overdue = c.status == S.DISPATCHED and c.followup_due and c.followup_due < datetime.now(UTC)
        return [
            html.Div(
                [
                    html.Strong(c.tracking_id, className="me-2", id="followup-detail-tracking"),
                    status_badge(c.status, lang, id="followup-detail-status"),
                    html.Span(t("followup.overdue_yes"), className="badge text-bg-danger ms-2")
                    if overdue
                    else None,
                ]
            ),
            html.Div(
                f"{category_label(c.category, lang)} · {local_time(c.created_at, tz)}",
                className="small text-secondary",
            ),
            html.Div(
                f"{t('followup.dispatched')}: {local_time(c.dispatched_at, tz)} · "
                f"{t('followup.due')}: {local_time(c.followup_due, tz)}",
                className="small text-secondary",
            ),
            html.Div(
                f"{t('followup.reporter')}: {reporter_text(c)}",
                className="small text-secondary",
                id="followup-detail-reporter",
            ),
            *report_body(c),
            html.Div(t("followup.history"), className="small fw-semibold mt-2"),
            history_list(events, lang, tz, list_id="followup-history"),
        ]


def act(
    _start: int | None,
    _resolve: int | None,
    selected: list[int] | None,
    rows: list[dict] | None,
    note: str | None,
    version: int | None,
):
    """Start or finish the follow-up of the selected report, as the user's OPD."""
    return apply_action(ctx.triggered_id if ctx else None, selected, rows, note, version)


def apply_action(
    trigger: str | None,
    selected: list[int] | None,
    rows: list[dict] | None,
    note: str | None,
    version: int | None,
):
    lang = current_lang()
    if trigger not in ACTIONS:
        return no_update, no_update, no_update
    auth.require_role(auth.OPD_ROLE)
    ids = _ids(selected, rows)
    if not ids:
        return dbc.Alert(t("followup.nothing_selected"), color="warning"), no_update, no_update
    target = ACTIONS[trigger]
    cid = ids[0]
    tracking = next((r.get("tracking") for r in rows or [] if r.get("id") == cid), None)
    try:
        c = _service().transition(
            cid,
            target,
            actor=auth.current_username() or "opd",
            note=note,
            as_opd=auth.current_opd_id(),
        )
    except ComplaintNotFound as exc:
        return dbc.Alert(exc.text(lang), color="danger", id="followup-result"), no_update, no_update
    except ComplaintError as exc:
        return dbc.Alert(
            f"{tracking or ''}: {exc.text(lang)}", color="danger", id="followup-result"
        ), no_update, no_update  # fmt: skip
    feedback = dbc.Alert(
        t("followup.done", tid=c.tracking_id, status=status_label(target, lang)),
        color="success",
        className="py-2",
        id="followup-result",
    )
    return feedback, (version or 0) + 1, ""


def register(app: dash.Dash) -> None:
    app.callback(
        Output("followup-table", "data"),
        Output("followup-count", "children"),
        Output("followup-table", "selected_rows"),
        Input("followup-view", "value"),
        Input("followup-overdue", "value"),
        Input("followup-search", "value"),
        Input("followup-version", "data"),
        Input("followup-refresh", "n_intervals"),
    )(load_table)
    app.callback(
        Output("followup-detail", "children"),
        Input("followup-table", "selected_rows"),
        State("followup-table", "data"),
    )(show_detail)
    app.callback(
        Output("followup-feedback", "children"),
        Output("followup-version", "data"),
        Output("followup-note", "value"),
        *(Input(b, "n_clicks") for b in ACTIONS),
        State("followup-table", "selected_rows"),
        State("followup-table", "data"),
        State("followup-note", "value"),
        State("followup-version", "data"),
        prevent_initial_call=True,
    )(act)
