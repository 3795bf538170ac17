"""Shared UI bits of the E-Lapor pages (public form, status lookup, statistics, operator
queue, OPD follow-up): their strings, the category options, the base map and the parts of a
report's detail panel that the operator queue and the OPD follow-up page both show.

Kept in one module that pages and callbacks both import (pages must not import each other:
Dash Pages would load a page module twice), so the strings are registered with
``dashboard.i18n`` whichever is imported first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_leaflet as dl
from dash import html
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import context, i18n
from store.complaints import CATEGORIES, category_label, status_label
from store.models import Complaint, ComplaintEvent

STRINGS: dict[str, dict[str, str]] = {
    # public form
    "lapor.nav": {"id": "Lapor", "en": "Report"},
    "lapor.title": {"id": "Laporkan masalah di kota", "en": "Report a problem in the city"},
    "lapor.intro": {
        "id": "Laporan Anda diverifikasi petugas command center dan diteruskan ke OPD yang "
        "bertanggung jawab paling lambat 3 hari kerja. Simpan nomor pelacakan untuk memantau "
        "tindak lanjutnya.",
        "en": "Command center staff verify your report and send it to the responsible agency "
        "(OPD) within 3 working days. Keep the tracking ID to follow it up.",
    },
    "lapor.category": {"id": "Kategori", "en": "Category"},
    "lapor.category_ph": {"id": "Pilih kategori…", "en": "Choose a category…"},
    "lapor.title_field": {"id": "Judul singkat (opsional)", "en": "Short title (optional)"},
    "lapor.description": {"id": "Isi laporan", "en": "Description"},
    "lapor.description_ph": {
        "id": "Apa yang terjadi, sejak kapan, seberapa parah…",
        "en": "What happened, since when, how serious…",
    },
    "lapor.location": {"id": "Lokasi", "en": "Location"},
    "lapor.map_hint": {
        "id": "Klik peta untuk menandai lokasi, atau tulis alamatnya di bawah.",
        "en": "Click the map to mark the place, or type the address below.",
    },
    "lapor.no_point": {"id": "Belum ada titik di peta.", "en": "No point on the map yet."},
    "lapor.point": {"id": "Titik: {lat}, {lon}", "en": "Point: {lat}, {lon}"},
    "lapor.address": {"id": "Alamat / patokan", "en": "Address / landmark"},
    "lapor.address_ph": {
        "id": "mis. Jl. Jend. Sudirman depan Masjid Agung",
        "en": "e.g. Jl. Jend. Sudirman in front of Masjid Agung",
    },
    "lapor.photo": {"id": "Foto (opsional)", "en": "Photo (optional)"},
    "lapor.photo_hint": {
        "id": "JPEG atau PNG, maksimal {mb} MB. Metadata (lokasi kamera, dll.) dihapus.",
        "en": "JPEG or PNG, at most {mb} MB. Metadata (camera location etc.) is removed.",
    },
    "lapor.photo_drop": {"id": "Seret foto ke sini atau klik", "en": "Drop a photo here or click"},
    "lapor.photo_chosen": {"id": "Foto dipilih: {name}", "en": "Photo chosen: {name}"},
    "lapor.privacy": {"id": "Privasi", "en": "Privacy"},
    "lapor.privacy_normal": {
        "id": "Biasa — laporan tampil publik tanpa identitas Anda",
        "en": "Normal — the report is public, without your identity",
    },
    "lapor.privacy_anonymous": {
        "id": "Anonim — identitas Anda tidak diteruskan ke OPD",
        "en": "Anonymous — your identity is not passed to the agency",
    },
    "lapor.privacy_confidential": {
        "id": "Rahasia — laporan tidak ditampilkan ke publik",
        "en": "Confidential — the report is not shown publicly",
    },
    "lapor.name": {"id": "Nama (opsional)", "en": "Name (optional)"},
    "lapor.contact": {"id": "No. HP atau e-mail (opsional)", "en": "Mobile or e-mail (optional)"},
    "lapor.submit": {"id": "Kirim laporan", "en": "Submit report"},
    "lapor.errors": {
        "id": "Laporan belum dapat dikirim. Periksa isian berikut:",
        "en": "The report could not be sent. Please check:",
    },
    "lapor.sent": {"id": "Laporan terkirim", "en": "Report sent"},
    "lapor.tracking": {"id": "Nomor pelacakan Anda:", "en": "Your tracking ID:"},
    "lapor.tracking_hint": {
        "id": "Catat nomor ini. Batas waktu verifikasi dan penerusan: {due}.",
        "en": "Write this number down. Verification and dispatch deadline: {due}.",
    },
    "lapor.check_status": {"id": "Lihat status laporan", "en": "Check the report status"},
    "lapor.new": {"id": "Buat laporan lain", "en": "Report something else"},
    "lapor.rate_limited": {
        "id": "Terlalu banyak laporan dari alamat Anda. Coba lagi dalam {minutes} menit.",
        "en": "Too many reports from your address. Try again in {minutes} minutes.",
    },
    "lapor.failed": {
        "id": "Maaf, laporan gagal disimpan. Silakan coba lagi.",
        "en": "Sorry, the report could not be saved. Please try again.",
    },
    "lapor.field.category": {"id": "Kategori", "en": "Category"},
    "lapor.field.description": {"id": "Isi laporan", "en": "Description"},
    "lapor.field.title": {"id": "Judul", "en": "Title"},
    "lapor.field.location": {"id": "Lokasi", "en": "Location"},
    "lapor.field.address": {"id": "Alamat", "en": "Address"},
    "lapor.field.privacy": {"id": "Privasi", "en": "Privacy"},
    "lapor.field.reporter_name": {"id": "Nama", "en": "Name"},
    "lapor.field.reporter_contact": {"id": "Kontak", "en": "Contact"},
    "lapor.field.photo": {"id": "Foto", "en": "Photo"},
    # public status
    "laporstatus.title": {"id": "Cek status laporan", "en": "Check a report's status"},
    "laporstatus.intro": {
        "id": "Masukkan nomor pelacakan (mis. LPR-2611-7KQ4M9XA).",
        "en": "Enter the tracking ID (e.g. LPR-2611-7KQ4M9XA).",
    },
    "laporstatus.search": {"id": "Cari", "en": "Look up"},
    "laporstatus.not_found": {
        "id": "Laporan dengan nomor itu tidak ditemukan. Periksa kembali penulisannya.",
        "en": "No report has that tracking ID. Please check the spelling.",
    },
    "laporstatus.malformed": {
        "id": "Format nomor pelacakan tidak dikenali (contoh: LPR-2611-7KQ4M9XA).",
        "en": "The tracking ID format is not recognised (example: LPR-2611-7KQ4M9XA).",
    },
    "laporstatus.confidential": {
        "id": "Laporan ini bersifat rahasia: hanya statusnya yang ditampilkan.",
        "en": "This report is confidential: only its status is shown.",
    },
    "laporstatus.status": {"id": "Status", "en": "Status"},
    "laporstatus.received": {"id": "Diterima", "en": "Received"},
    "laporstatus.updated": {"id": "Pembaruan terakhir", "en": "Last update"},
    "laporstatus.category": {"id": "Kategori", "en": "Category"},
    "laporstatus.opd": {"id": "OPD penanggung jawab", "en": "Responsible agency"},
    "laporstatus.location": {"id": "Lokasi", "en": "Location"},
    "laporstatus.history": {"id": "Riwayat", "en": "History"},
    "laporstatus.description": {"id": "Isi laporan", "en": "Description"},
    # statistics
    "complaints.title": {"id": "Pengaduan warga (E-Lapor)", "en": "Citizen complaints (E-Lapor)"},
    "complaints.period": {"id": "Periode", "en": "Period"},
    "complaints.days": {"id": "{n} hari terakhir", "en": "last {n} days"},
    "complaints.category": {"id": "Kategori", "en": "Category"},
    "complaints.all_categories": {"id": "Semua kategori", "en": "All categories"},
    "complaints.view": {"id": "Tampilan peta", "en": "Map view"},
    "complaints.view_live": {
        "id": "Langsung (yang selesai memudar)",
        "en": "Live (resolved ones fade)",
    },
    "complaints.view_all": {"id": "Semua laporan", "en": "All reports"},
    "complaints.view_closed": {"id": "Selesai/ditutup", "en": "Resolved/closed"},
    "complaints.kpi_total": {"id": "Laporan masuk", "en": "Reports received"},
    "complaints.kpi_open": {"id": "Masih terbuka", "en": "Still open"},
    "complaints.kpi_overdue_dispatch": {
        "id": "Terlambat diteruskan",
        "en": "Late to dispatch",
    },
    "complaints.kpi_overdue_followup": {
        "id": "OPD terlambat menindaklanjuti",
        "en": "Agency follow-up late",
    },
    "complaints.kpi_dispatch_ontime": {
        "id": "Diteruskan ≤ 3 hari kerja",
        "en": "Dispatched ≤ 3 working days",
    },
    "complaints.kpi_followup_ontime": {
        "id": "Ditindaklanjuti ≤ 5 hari kerja",
        "en": "Followed up ≤ 5 working days",
    },
    "complaints.map_title": {
        "id": "Kepadatan laporan per sel grid (~{m} m)",
        "en": "Report density per grid cell (~{m} m)",
    },
    "complaints.cell_tip": {
        "id": "{total} laporan, {open} terbuka",
        "en": "{total} reports, {open} open",
    },
    "complaints.daily": {"id": "Laporan per hari", "en": "Reports per day"},
    "complaints.by_category": {"id": "Laporan per kategori", "en": "Reports by category"},
    "complaints.opd_table": {
        "id": "Kinerja OPD (laporan yang diteruskan, periode terpilih)",
        "en": "Agency performance (dispatched reports, selected period)",
    },
    "complaints.col.opd": {"id": "OPD", "en": "Agency"},
    "complaints.col.reports": {"id": "Laporan", "en": "Reports"},
    "complaints.col.open": {"id": "Terbuka", "en": "Open"},
    "complaints.col.median_dispatch": {
        "id": "Median ke diteruskan (jam)",
        "en": "Median to dispatch (h)",
    },
    "complaints.col.median_resolve": {
        "id": "Median ke selesai (jam)",
        "en": "Median to resolve (h)",
    },
    "complaints.col.dispatch_ok": {
        "id": "Diteruskan tepat waktu (%)",
        "en": "Dispatched on time (%)",
    },
    "complaints.col.followup_ok": {
        "id": "Tindak lanjut tepat waktu (%)",
        "en": "Followed up on time (%)",
    },
    "complaints.col.late_now": {"id": "Terlambat saat ini", "en": "Late now"},
    "complaints.open_queue": {"id": "Buka antrean operator", "en": "Open the operator queue"},
    "complaints.public_form": {"id": "Formulir publik", "en": "Public form"},
    # operator queue
    "queue.title": {"id": "Antrean pengaduan", "en": "Complaint queue"},
    "queue.tab_reports": {"id": "Laporan", "en": "Reports"},
    "queue.tab_sms": {"id": "Triase SMS", "en": "SMS triage"},
    "queue.status": {"id": "Status", "en": "Status"},
    "queue.search": {"id": "Cari nomor/isi/alamat", "en": "Search ID/text/address"},
    "queue.overdue_only": {"id": "Hanya yang terlambat", "en": "Overdue only"},
    "queue.sort": {"id": "Urutkan", "en": "Sort"},
    "queue.sort_oldest": {"id": "Terlama dulu", "en": "Oldest first"},
    "queue.sort_newest": {"id": "Terbaru dulu", "en": "Newest first"},
    "queue.sort_due": {"id": "Tenggat terdekat", "en": "Nearest deadline"},
    "queue.all_opd": {"id": "Semua OPD", "en": "All agencies"},
    "queue.count": {
        "id": "{n} laporan ditampilkan ({overdue} terlambat) — {time}",
        "en": "{n} reports shown ({overdue} overdue) — {time}",
    },
    "queue.col.tracking": {"id": "Nomor", "en": "ID"},
    "queue.col.created": {"id": "Masuk (WIB)", "en": "Received (WIB)"},
    "queue.col.category": {"id": "Kategori", "en": "Category"},
    "queue.col.status": {"id": "Status", "en": "Status"},
    "queue.col.opd": {"id": "OPD", "en": "Agency"},
    "queue.col.due": {"id": "Tenggat (WIB)", "en": "Deadline (WIB)"},
    "queue.col.overdue": {"id": "Terlambat", "en": "Overdue"},
    "queue.col.summary": {"id": "Ringkasan", "en": "Summary"},
    "queue.overdue_dispatch": {"id": "penerusan", "en": "dispatch"},
    "queue.overdue_followup": {"id": "tindak lanjut OPD", "en": "agency follow-up"},
    "queue.selected": {"id": "{n} laporan dipilih", "en": "Selected: {n}"},
    "queue.select_hint": {
        "id": "Pilih laporan di tabel untuk melihat rincian dan mengambil tindakan.",
        "en": "Select reports in the table to see details and act on them.",
    },
    "queue.note": {
        "id": "Catatan (wajib untuk tolak/duplikat)",
        "en": "Note (required to reject/duplicate)",
    },
    "queue.verify": {"id": "Verifikasi", "en": "Verify"},
    "queue.reject": {"id": "Tolak", "en": "Reject"},
    "queue.duplicate": {"id": "Tandai duplikat dari", "en": "Mark duplicate of"},
    "queue.duplicate_ph": {"id": "Nomor laporan asli", "en": "Original report ID"},
    "queue.dispatch": {"id": "Teruskan ke OPD", "en": "Send to agency"},
    "queue.dispatch_opd_ph": {"id": "Pilih OPD tujuan…", "en": "Choose the agency…"},
    "queue.progress": {"id": "OPD menindaklanjuti", "en": "Agency working on it"},
    "queue.resolve": {"id": "Selesai", "en": "Resolved"},
    "queue.close": {"id": "Tutup", "en": "Close"},
    "queue.reopen": {"id": "Buka kembali", "en": "Reopen"},
    "queue.done": {
        "id": "{n} laporan diubah menjadi '{status}'.",
        "en": "Changed to '{status}': {n}.",
    },
    "queue.failed": {"id": "{tid}: {reason}", "en": "{tid}: {reason}"},
    "queue.nothing_selected": {
        "id": "Belum ada laporan yang dipilih.",
        "en": "No report selected.",
    },
    "queue.duplicates": {
        "id": "Kemungkinan duplikat (≤ {m} m, kategori sama, {d} hari)",
        "en": "Possible duplicates (≤ {m} m, same category, {d} days)",
    },
    "queue.no_duplicates": {"id": "Tidak ada kemungkinan duplikat.", "en": "No likely duplicates."},
    "queue.use_as_original": {"id": "Pakai sebagai asli", "en": "Use as original"},
    "queue.reporter": {"id": "Pelapor", "en": "Reporter"},
    "queue.hidden_identity": {
        "id": "Identitas disembunyikan (anonim)",
        "en": "Identity hidden (anonymous)",
    },
    "queue.history": {"id": "Riwayat", "en": "History"},
    "queue.channel": {"id": "Kanal", "en": "Channel"},
    "queue.privacy": {"id": "Privasi", "en": "Privacy"},
    "queue.sms_convert": {"id": "Jadikan laporan", "en": "Make a report"},
    "queue.sms_discard": {"id": "Abaikan (bukan laporan)", "en": "Discard (not a report)"},
    "queue.sms_empty": {"id": "Tidak ada SMS menunggu triase.", "en": "No SMS awaits triage."},
    "queue.sms_converted": {
        "id": "SMS dijadikan laporan {tid}.",
        "en": "SMS turned into report {tid}.",
    },
    "queue.sms_discarded": {"id": "SMS diabaikan.", "en": "SMS discarded."},
    "queue.sms_select": {"id": "Pilih satu SMS di tabel.", "en": "Select one SMS in the table."},
    "queue.col.received": {"id": "Diterima (WIB)", "en": "Received (WIB)"},
    "queue.col.sender": {"id": "Pengirim", "en": "Sender"},
    "queue.col.text": {"id": "Isi SMS", "en": "Text"},
}

i18n.register(STRINGS)


def category_options(lang: str) -> list[dict[str, str]]:
    opts = [{"label": category_label(c, lang), "value": c} for c in CATEGORIES if c != "other"]
    opts.sort(key=lambda o: o["label"])
    return [*opts, {"label": category_label("other", lang), "value": "other"}]


def base_map(map_id: str, layer_id: str, height: str = "340px", areas: bool = False) -> dl.Map:
    """The complaints maps; ``areas`` adds the kecamatan outlines (staff pages only: the
    public form's map must not call a staff route)."""
    cfg = context.settings()
    layers: list = []
    if cfg.map_tile_url:
        layers.append(dl.TileLayer(url=cfg.map_tile_url, attribution=cfg.map_tile_attribution))
    if areas:
        from dashboard.components import areas_layer

        layers.append(areas_layer(map_id))
    layers.append(dl.LayerGroup(id=layer_id))
    return dl.Map(
        layers,
        id=map_id,
        center=[cfg.map_center_lat, cfg.map_center_lon],
        zoom=cfg.map_zoom,
        trackViewport=False,  # nothing reads it back (see components.base_map)
        style={"height": height, "width": "100%"},
        className="rounded border",
    )


# --------------------------------------------------------------------------------------------
# detail panel of one report (operator queue and OPD follow-up)
def report_events(session: Session, complaint_id: int) -> Sequence[ComplaintEvent]:
    """The report's history, oldest first."""
    return session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.ts, ComplaintEvent.id)
    ).all()


def report_body(c: Complaint, description_id: str | None = None) -> list[Any]:
    """Title, text (plain-text children: markup typed by citizens is shown as typed), place and
    photo of a report."""
    location = c.address or ""
    if c.lat is not None:
        location = f"{location} ({c.lat:.5f}, {c.lon:.5f})".strip()
    description = html.P(c.description, className="mt-1 mb-1 pantau-text")
    if description_id:
        description.id = description_id
    return [
        html.P(c.title or "", className="fw-semibold mb-0 mt-1") if c.title else None,
        description,
        html.Div(location or "—", className="small"),
        html.Img(
            src=f"/api/pengaduan/foto/{c.photo_path}",
            style={"maxWidth": "100%", "maxHeight": "220px"},
            className="mt-2 rounded border",
        )
        if c.photo_path
        else None,
    ]


def work_list_row(r: Any, *, due: Any, overdue: str, lang: str, tz: str) -> dict[str, Any]:
    """One row of a complaints work list (operator queue, OPD follow-up) from a ``queue()``
    row: ``due`` is the deadline whose clock runs (None: none runs), ``overdue`` its label."""
    text = r.description or ""
    return {
        "id": int(r.id),
        "tracking": r.tracking_id,
        "created": i18n.local_time(r.created_at, tz),
        "category": category_label(r.category, lang),
        "status": status_label(r.status, lang),
        "due": i18n.local_time(due, tz) if due is not None else "—",  # no clock running
        "overdue": overdue,
        "summary": text[:90] + ("…" if len(text) > 90 else ""),
    }


def history_list(
    events: Sequence[ComplaintEvent], lang: str, tz: str, list_id: str | None = None
) -> html.Ul:
    """One line per status change: when (local time), to what, who, and the note."""
    ul = html.Ul(
        [
            html.Li(
                f"{i18n.local_time(e.ts, tz)} · {status_label(e.to_status, lang)} · {e.actor}"
                + (f" — {e.note}" if e.note else ""),
                className="small",
            )
            for e in events
        ],
        className="mb-0",
    )
    if list_id:
        ul.id = list_id
    return ul
