"""Callbacks and view helpers of the evidence pages: the list (``/bukti``, ids ``bukti-*``) and
one item (``/bukti/<id>``, ids ``rekaman-*``: hold for a case, release)."""

from __future__ import annotations

import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from dashboard import auth, context
from dashboard.callbacks.alerts_common import as_id, as_text
from dashboard.i18n import fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from store import evidence as ev
from store.models import EvidenceStatus

logger = logging.getLogger(__name__)

LIMIT = 200
STATUS_COLOUR = {
    "queued": "secondary",
    "recording": "info",
    "complete": "success",
    "partial": "warning",
    "failed": "danger",
}

register_strings(
    {
        "nav.bukti": {"id": "Bukti", "en": "Evidence"},
        "ev.title": {"id": "Bukti rekaman", "en": "Recorded evidence"},
        "ev.lead": {
            "id": "Klip kamera dengan SHA-256 tiap berkas dan rantai penguasaan; paket unduhan "
            "untuk sidang yustisi. Hanya staf.",
            "en": "Camera clips with each file's SHA-256 and a chain of custody; download "
            "packages for a hearing. Staff only.",
        },
        "ev.summary": {
            "id": "{n} rekaman · {used} MB dari kuota {quota} MB · disimpan {days} hari "
            "(kecuali ditahan untuk perkara) · per {now}",
            "en": "{n} recordings · {used} MB of the {quota} MB quota · kept {days} days "
            "(unless held for a case) · as of {now}",
        },
        "ev.no_quota": {"id": "tanpa batas", "en": "no"},
        "ev.forever": {"id": "tanpa batas", "en": "unlimited"},
        "ev.status": {"id": "Status", "en": "Status"},
        "ev.all": {"id": "Semua status", "en": "All statuses"},
        "ev.camera": {"id": "Kamera", "en": "Camera"},
        "ev.camera_ph": {"id": "Kode kamera", "en": "Camera code"},
        "ev.col.id": {"id": "No.", "en": "No."},
        "ev.col.time": {"id": "Dibuat", "en": "Created"},
        "ev.col.length": {"id": "Durasi (detik)", "en": "Length (s)"},
        "ev.col.size": {"id": "Ukuran (MB)", "en": "Size (MB)"},
        "ev.col.by": {"id": "Dimulai oleh", "en": "Started by"},
        "ev.col.hold": {"id": "Perkara", "en": "Case"},
        "ev.col.get": {"id": "Unduh", "en": "Download"},
        "ev.empty": {"id": "Belum ada rekaman.", "en": "No recordings yet."},
        "ev.pruned": {"id": "dipangkas", "en": "pruned"},
        "ev.status.queued": {"id": "antre", "en": "queued"},
        "ev.status.recording": {"id": "merekam", "en": "recording"},
        "ev.status.complete": {"id": "lengkap", "en": "complete"},
        "ev.status.partial": {"id": "sebagian", "en": "partial"},
        "ev.status.failed": {"id": "gagal", "en": "failed"},
        "ev.trigger.user": {"id": "tombol", "en": "button"},
        "ev.trigger.rule": {"id": "aturan", "en": "rule"},
        "ev.trigger.cli": {"id": "CLI", "en": "CLI"},
        "ev.zip": {"id": "Paket ZIP", "en": "ZIP package"},
        # one item
        "ev.item": {"id": "Bukti #{id}", "en": "Evidence #{id}"},
        "ev.back": {"id": "Semua bukti", "en": "All evidence"},
        "ev.not_found": {"id": "Bukti {id} tidak ditemukan.", "en": "Evidence {id} not found."},
        "ev.details": {"id": "Keterangan", "en": "Details"},
        "ev.files": {"id": "Berkas dan SHA-256", "en": "Files and SHA-256"},
        "ev.custody": {"id": "Rantai penguasaan", "en": "Chain of custody"},
        "ev.clip": {"id": "Klip", "en": "Clip"},
        "ev.no_clip": {"id": "Tidak ada klip untuk diputar.", "en": "No clip to play."},
        "ev.f.location": {"id": "Lokasi", "en": "Location"},
        "ev.f.kecamatan": {"id": "Kecamatan", "en": "District"},
        "ev.f.stream": {"id": "Jenis aliran · cara", "en": "Stream kind · method"},
        "ev.f.wall": {"id": "Mulai – selesai", "en": "Started – ended"},
        "ev.f.stream_time": {"id": "Lini waktu klip (detik)", "en": "Clip timeline (s)"},
        "ev.f.preroll": {"id": "Pra-rekam (detik)", "en": "Pre-roll (s)"},
        "ev.f.asked": {"id": "Diminta (detik)", "en": "Requested (s)"},
        "ev.f.frames": {"id": "Bingkai (buah)", "en": "Frames (count)"},
        "ev.f.alert": {"id": "Peringatan", "en": "Alert"},
        "ev.f.reason": {"id": "Alasan", "en": "Reason"},
        "ev.f.kind": {"id": "Jenis", "en": "Kind"},
        "ev.f.file": {"id": "Berkas", "en": "File"},
        "ev.f.bytes": {"id": "Ukuran (bita)", "en": "Size (bytes)"},
        "ev.f.action": {"id": "Tindakan", "en": "Action"},
        "ev.f.actor": {"id": "Oleh", "en": "By"},
        "ev.hold": {"id": "Tahan untuk perkara", "en": "Hold for a case"},
        "ev.hold_ph": {"id": "Nomor perkara", "en": "Case reference"},
        "ev.release": {"id": "Lepas penahanan", "en": "Release hold"},
        "ev.held": {"id": "Ditahan untuk perkara {case}", "en": "Held for case {case}"},
        "ev.done": {"id": "Tersimpan.", "en": "Saved."},
        "ev.c.created": {"id": "dibuat", "en": "created"},
        "ev.c.recorded": {"id": "direkam", "en": "recorded"},
        "ev.c.viewed": {"id": "dilihat", "en": "viewed"},
        "ev.c.exported": {"id": "diekspor", "en": "exported"},
        "ev.c.downloaded": {"id": "diunduh", "en": "downloaded"},
        "ev.c.held": {"id": "ditahan", "en": "held"},
        "ev.c.released": {"id": "dilepas", "en": "released"},
        "ev.c.pruned": {"id": "dipangkas", "en": "pruned"},
        # the audit log page's names and sentences for the evidence actions
        "audit.a.evidence_created": {"id": "Minta rekaman", "en": "Recording requested"},
        "audit.s.evidence_created": {
            "id": "{user} meminta rekaman {target}.",
            "en": "{user} asked for recording {target}.",
        },
        "audit.a.evidence_viewed": {"id": "Lihat bukti", "en": "Evidence viewed"},
        "audit.s.evidence_viewed": {
            "id": "{user} melihat {target}.",
            "en": "{user} viewed {target}.",
        },
        "audit.a.evidence_exported": {"id": "Ekspor bukti", "en": "Evidence exported"},
        "audit.s.evidence_exported": {
            "id": "{user} mengekspor paket {target}.",
            "en": "{user} exported the package of {target}.",
        },
        "audit.a.evidence_downloaded": {"id": "Unduh bukti", "en": "Evidence downloaded"},
        "audit.s.evidence_downloaded": {
            "id": "{user} mengunduh paket {target}.",
            "en": "{user} downloaded the package of {target}.",
        },
        "audit.a.evidence_held": {"id": "Tahan bukti", "en": "Evidence held"},
        "audit.s.evidence_held": {
            "id": "{user} menahan {target} untuk perkara.",
            "en": "{user} held {target} for a case.",
        },
        "audit.a.evidence_released": {"id": "Lepas bukti", "en": "Evidence released"},
        "audit.s.evidence_released": {
            "id": "{user} melepas penahanan {target}.",
            "en": "{user} released the hold on {target}.",
        },
    }
)


def status_badge(status: str) -> Any:
    return dbc.Badge(t(f"ev.status.{status}"), color=STATUS_COLOUR.get(status, "secondary"))


def summary_line() -> str:
    s = context.settings()
    with context.db().session() as session:
        used = ev.stored_bytes(session)
        from sqlalchemy import func, select

        from store.models import EvidenceItem

        n = session.scalar(select(func.count()).select_from(EvidenceItem)) or 0
    from datetime import UTC, datetime

    return t(
        "ev.summary",
        n=fmt_number(n),
        used=fmt_number(used / 1e6, 1),
        quota=fmt_number(s.evidence_quota_mb) if s.evidence_quota_mb else t("ev.no_quota"),
        days=s.evidence_retention_days or t("ev.forever"),
        now=local_time(datetime.now(UTC), s.timezone),
    )


def items_table(status: Any = None, camera: Any = None) -> Any:
    status = status if status in set(EvidenceStatus) else None
    camera = (as_text(camera, 64) or "").strip() or None
    tz = context.settings().timezone
    with context.db().session() as s:
        rows = ev.list_items(s, limit=LIMIT, status=status, camera=camera)
    if not rows:
        return dbc.Alert(t("ev.empty"), color="light", className="m-3")
    head = html.Thead(html.Tr([html.Th(t(k)) for k in (
        "ev.col.id", "ev.col.time", "ev.camera", "ev.status", "ev.col.length", "ev.col.size",
        "ev.col.by", "ev.col.hold", "ev.col.get")]))  # fmt: skip
    body = []
    for r in rows:
        hold = r.case_ref if r.held_for_case else (t("ev.pruned") if r.pruned else "—")
        can_get = not r.pruned and r.status in ("complete", "partial") and r.bytes_total > 0
        body.append(
            html.Tr(
                [
                    html.Td(html.A(f"#{r.id}", href=f"/bukti/{r.id}")),
                    html.Td(local_time(r.created_at, tz), className="text-nowrap"),
                    # one child per cell: on a phone each cell is a label + value row
                    html.Td(
                        html.Div(
                            [
                                html.Span(r.camera_code, className="fw-semibold"),
                                html.Br(),
                                html.Small(r.camera_name, className="text-secondary"),
                            ]
                        )
                    ),  # fmt: skip
                    html.Td(
                        html.Div(
                            [
                                status_badge(r.status),
                                html.Div(
                                    r.reason or "", className="small text-secondary text-break"
                                ),
                            ]
                        )
                    ),  # fmt: skip
                    html.Td(
                        fmt_number(r.duration_s, 1) if r.duration_s is not None else "—",
                        className="text-end",
                    ),  # fmt: skip
                    html.Td(fmt_number(r.bytes_total / 1e6, 2), className="text-end"),
                    html.Td(
                        html.Div(
                            [
                                r.started_by,
                                html.Br(),
                                html.Small(
                                    t(f"ev.trigger.{r.trigger}"), className="text-secondary"
                                ),
                            ]
                        )
                    ),  # fmt: skip
                    html.Td(hold),
                    html.Td(
                        html.A(
                            [html.I(className="bi bi-download me-1"), "ZIP"],
                            href=f"/evidence/paket/{r.id}.zip",
                            className="btn btn-sm btn-outline-primary",
                        )
                        if can_get
                        else "—"
                    ),  # fmt: skip
                ]
            )
        )
    return dbc.Table([head, html.Tbody(body)], hover=True, responsive=True, size="sm",
                     className="mb-0 pantau-evidence-table")  # fmt: skip


def refresh(_n, status, camera):  # noqa: ANN001, ANN201
    return items_table(status, camera), summary_line()


# ------------------------------------------------------------------------------------ one item
def hold_item(n_clicks, case_ref, item_id):  # noqa: ANN001, ANN201
    if not n_clicks:
        raise PreventUpdate
    auth.require_role(*auth.WRITE_DEFAULT)
    iid = as_id(item_id)
    ref = as_text(case_ref, 200)
    if iid is None or ref is None:
        return dbc.Alert(t("ev.hold_ph"), color="warning", className="py-1 px-2 mb-0")
    try:
        with context.db().session() as s:
            ev.hold(s, iid, ref, auth.current_username() or "?", ip=auth.client_ip())
    except ev.EvidenceError as exc:
        return dbc.Alert(str(exc), color="warning", className="py-1 px-2 mb-0")
    return dbc.Alert(t("ev.held", case=ref.strip()), color="success", className="py-1 px-2 mb-0")


def release_item(n_clicks, item_id):  # noqa: ANN001, ANN201
    if not n_clicks:
        raise PreventUpdate
    auth.require_role(*auth.WRITE_DEFAULT)
    iid = as_id(item_id)
    if iid is None:
        raise PreventUpdate
    try:
        with context.db().session() as s:
            ev.release(s, iid, auth.current_username() or "?", ip=auth.client_ip())
    except ev.EvidenceError as exc:
        return dbc.Alert(str(exc), color="warning", className="py-1 px-2 mb-0")
    return dbc.Alert(t("ev.done"), color="success", className="py-1 px-2 mb-0")


def register(app) -> None:  # noqa: ANN001
    app.callback(
        Output("bukti-table", "children"),
        Output("bukti-summary", "children"),
        Input("bukti-interval", "n_intervals"),
        Input("bukti-status", "value"),
        Input("bukti-camera", "value"),
    )(refresh)
    app.callback(
        Output("rekaman-hold-msg", "children"),
        Input("rekaman-hold-btn", "n_clicks"),
        State("rekaman-hold-case", "value"),
        State("rekaman-id", "data"),
        prevent_initial_call=True,
    )(hold_item)
    app.callback(
        Output("rekaman-release-msg", "children"),
        Input("rekaman-release-btn", "n_clicks"),
        State("rekaman-id", "data"),
        prevent_initial_call=True,
    )(release_item)
