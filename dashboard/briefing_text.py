"""Words of the daily briefing: the strings of the page (``dashboard/pages/briefing.py``) and
the plain-text message sent at 07:00 (:func:`briefing_message`), from one
:class:`dashboard.queries.briefing.Briefing`."""

from __future__ import annotations

from datetime import date

from dashboard.alert_text import level_text, row_title
from dashboard.callbacks import security as _security  # noqa: F401  (the kind.* strings)
from dashboard.i18n import MONTHS_ID, fmt_number, local_time, register, t
from dashboard.queries.briefing import Briefing, Compared

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS_EN = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

register(
    {
        "nav.briefing": {"id": "Laporan Harian", "en": "Daily Briefing"},
        "briefing.title": {"id": "Laporan harian — {day}", "en": "Daily briefing — {day}"},
        "briefing.lead": {
            "id": "{city}: ringkasan satu hari kalender WIB. Dibuat {time}.",
            "en": "{city}: one WIB calendar day in brief. Made {time}.",
        },
        "briefing.prev": {"id": "Hari sebelumnya", "en": "Day before"},
        "briefing.next": {"id": "Hari berikutnya", "en": "Next day"},
        "briefing.print": {"id": "Cetak", "en": "Print"},
        "briefing.s.yesterday": {"id": "Dibanding biasanya", "en": "Against the usual"},
        "briefing.usual_note": {
            "id": "Biasanya: rata-rata hari {weekday} pada 4 minggu sebelumnya. Perubahan "
            "25% atau lebih ditebalkan warna.",
            "en": "Usual: the mean of the 4 {weekday}s before. Changes of 25% or more are "
            "coloured.",
        },
        "briefing.col.measure": {"id": "Ukuran", "en": "Measure"},
        "briefing.col.usual": {"id": "Biasanya", "en": "Usual"},
        "briefing.col.change": {"id": "Perubahan", "en": "Change"},
        "briefing.m.vehicles": {
            "id": "Kendaraan melintas garis hitung (semua kamera)",
            "en": "Vehicles crossing the counting lines (all cameras)",
        },
        "briefing.m.people": {
            "id": "Orang terlihat (rata-rata harian per kamera, dijumlah)",
            "en": "People in view (daily mean per camera, summed)",
        },
        "briefing.m.cameras": {"id": "Kamera yang mengirim data", "en": "Cameras reporting"},
        "briefing.m.complaints_new": {"id": "Pengaduan masuk", "en": "Complaints received"},
        "briefing.m.complaints_resolved": {
            "id": "Pengaduan selesai ditangani",
            "en": "Complaints resolved",
        },
        "briefing.s.alerts": {
            "id": "Peringatan terbuka saat ini ({n})",
            "en": "Open alerts now ({n})",
        },
        "briefing.no_alerts": {"id": "Tidak ada peringatan terbuka.", "en": "No open alerts."},
        "briefing.col.level": {"id": "Tingkat", "en": "Level"},
        "briefing.col.alert": {"id": "Peringatan", "en": "Alert"},
        "briefing.col.since": {"id": "Sejak", "en": "Since"},
        "briefing.col.status": {"id": "Status", "en": "Status"},
        "briefing.alert_status.open": {"id": "baru", "en": "new"},
        "briefing.alert_status.acknowledged": {"id": "diketahui", "en": "acknowledged"},
        "briefing.alert_status.assigned": {"id": "ditugaskan", "en": "assigned"},
        "briefing.alert_status.resolved": {"id": "selesai", "en": "resolved"},
        "briefing.s.opd": {"id": "Pengaduan per OPD", "en": "Complaints by agency (OPD)"},
        "briefing.overdue_summary": {
            "id": "Terlambat saat ini: {dispatch} belum diverifikasi/diteruskan command center "
            "dalam 3 hari kerja; {followup} belum ditindaklanjuti OPD dalam 5 hari kerja "
            "(tenggat LAPOR!).",
            "en": "Overdue now: {dispatch} not verified/sent on by the command center within "
            "3 working days; {followup} not followed up by the agency within 5 working days "
            "(LAPOR! deadlines).",
        },
        "briefing.no_opd": {
            "id": "Tidak ada pengaduan yang sedang di OPD.",
            "en": "No complaints with the agencies.",
        },
        "briefing.col.opd": {"id": "OPD", "en": "Agency"},
        "briefing.col.waiting": {"id": "Menunggu tindak lanjut", "en": "Awaiting follow-up"},
        "briefing.col.in_progress": {"id": "Sedang dikerjakan", "en": "In progress"},
        "briefing.col.overdue": {"id": "Terlambat", "en": "Overdue"},
        "briefing.col.resolved_day": {"id": "Selesai {day}", "en": "Resolved {day}"},
        "briefing.s.incidents": {"id": "Kejadian", "en": "Incidents"},
        "briefing.no_incidents": {
            "id": "Tidak ada kejadian tercatat.",
            "en": "No incidents recorded.",
        },
        "briefing.col.kind": {"id": "Jenis", "en": "Type"},
        "briefing.footer": {
            "id": "Pantau — laporan ini juga dikirim setiap pukul 07.00 WIB lewat kanal "
            "notifikasi yang diatur admin.",
            "en": "Pantau — this briefing is also sent at 07:00 WIB through the notification "
            "channels the admin set up.",
        },
        "briefing.weekday.mon": {"id": "Senin", "en": "Monday"},
        "briefing.weekday.tue": {"id": "Selasa", "en": "Tuesday"},
        "briefing.weekday.wed": {"id": "Rabu", "en": "Wednesday"},
        "briefing.weekday.thu": {"id": "Kamis", "en": "Thursday"},
        "briefing.weekday.fri": {"id": "Jumat", "en": "Friday"},
        "briefing.weekday.sat": {"id": "Sabtu", "en": "Saturday"},
        "briefing.weekday.sun": {"id": "Minggu", "en": "Sunday"},
        "briefing.msg.title": {"id": "Laporan harian {day}", "en": "Daily briefing {day}"},
        "briefing.msg.line": {
            "id": "{label}: {value} (biasanya {usual}, {change})",
            "en": "{label}: {value} (usual {usual}, {change})",
        },
        "briefing.msg.opd_line": {
            "id": "{opd}: {waiting} menunggu, {in_progress} dikerjakan, {overdue} terlambat",
            "en": "{opd}: {waiting} awaiting, {in_progress} in progress, {overdue} overdue",
        },
        "briefing.msg.link": {"id": "Selengkapnya: {url}", "en": "Full briefing: {url}"},
    }
)


def day_label(
    day: date, *, weekday: bool = False, short: bool = False, lang: str | None = None
) -> str:
    """``Sabtu, 28 Nov 2026`` / ``28 Nov`` in the reader's language."""
    from dashboard.i18n import current_lang

    lang = lang or current_lang()
    month = (MONTHS_ID if lang == "id" else MONTHS_EN)[day.month - 1]
    text = f"{day.day} {month}" if short else f"{day.day} {month} {day.year}"
    if weekday:
        text = f"{t(f'briefing.weekday.{DAYS[day.weekday()]}', lang)}, {text}"
    return text


def pct_text(pct: float) -> str:
    """``+12%`` / ``−8%`` (a real minus sign)."""
    sign = "+" if pct > 0 else "−" if pct < 0 else "±"
    return f"{sign}{fmt_number(abs(pct))}%"


def metric_rows(b: Briefing) -> list[tuple[str, Compared]]:
    return [
        (t("briefing.m.vehicles"), b.vehicles),
        (t("briefing.m.people"), b.people),
        (t("briefing.m.cameras"), b.cameras_reporting),
        (t("briefing.m.complaints_new"), b.complaints_new),
        (t("briefing.m.complaints_resolved"), b.complaints_resolved),
    ]


def num_text(value: float | None) -> str:
    """Counts as integers; a usual below 10 with one decimal (2,5 kejadian a day)."""
    if value is None:
        return "—"
    return fmt_number(value, 1 if value != int(value) and abs(value) < 10 else 0)


def _line(label: str, c: Compared, lang: str) -> str:
    change = pct_text(c.change_pct) if c.change_pct is not None else "—"
    return t(
        "briefing.msg.line",
        lang,
        label=label,
        value=num_text(c.value),
        usual=num_text(c.usual),
        change=change,
    )


def briefing_message(b: Briefing, tz: str, lang: str, url: str | None) -> tuple[str, str]:
    """(title, text) of the 07:00 message: the page's sections as plain lines."""
    day = day_label(b.day, weekday=True, lang=lang)
    lines = [t("briefing.title", lang, day=day), ""]
    lines.append(t("briefing.s.yesterday", lang))
    lines += [f"- {_line(label, c, lang)}" for label, c in metric_rows(b)]
    lines += ["", t("briefing.s.alerts", lang, n=len(b.alerts))]
    lines += [
        f"- [{level_text(a, lang)}] {row_title(a, lang)} ({local_time(a.started_at, tz)})"
        for a in b.alerts[:10]
    ]
    if not b.alerts:
        lines.append(f"- {t('briefing.no_alerts', lang)}")
    lines += ["", t("briefing.s.opd", lang)]
    lines.append(
        t(
            "briefing.overdue_summary",
            lang,
            dispatch=fmt_number(b.overdue_dispatch),
            followup=fmt_number(b.overdue_followup),
        )
    )
    lines += [
        "- "
        + t(
            "briefing.msg.opd_line",
            lang,
            opd=o.short_name,
            waiting=o.waiting,
            in_progress=o.in_progress,
            overdue=o.overdue,
        )
        for o in b.opd[:10]
    ]
    lines += ["", t("briefing.s.incidents", lang)]
    lines += [
        f"- {_line(t(f'kind.{kind}', lang), c, lang)}" for kind, c in list(b.incidents.items())[:10]
    ]
    if not b.incidents:
        lines.append(f"- {t('briefing.no_incidents', lang)}")
    if url:
        lines += ["", t("briefing.msg.link", lang, url=url)]
    return t("briefing.msg.title", lang, day=day), "\n".join(lines)
