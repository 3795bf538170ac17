"""Interface language: Bahasa Indonesia by default, English on request.

The chosen language lives in a cookie (``pantau_lang``) set by ``/lang/<code>``, so layouts
rendered on the server and callbacks both read it from the request. Strings are looked up by
key with :func:`t`; a missing key falls back to Indonesian, then to the key itself (and a
test lists keys missing from either language).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import has_request_context, request

LANG_COOKIE = "pantau_lang"
LANGUAGES = ("id", "en")

STRINGS: dict[str, dict[str, str]] = {
    # shell
    "app.title": {"id": "Pantau — Ruang Situasi", "en": "Pantau — Situation Room"},
    "app.tagline": {"id": "Ruang situasi kota", "en": "City situation room"},
    "app.demo_badge": {"id": "DATA DEMO", "en": "DEMO DATA"},
    "app.demo_hint": {
        "id": "Data ini dibuat otomatis untuk demonstrasi, bukan data kota yang sebenarnya.",
        "en": "This data is generated for demonstration, not the city's real data.",
    },
    "app.updated": {"id": "Diperbarui", "en": "Updated"},
    "app.language": {"id": "Bahasa", "en": "Language"},
    "app.login": {"id": "Masuk", "en": "Sign in"},
    "app.logout": {"id": "Keluar", "en": "Sign out"},
    "app.footer": {
        "id": "Pantau — perangkat lunak sumber terbuka untuk command center kota.",
        "en": "Pantau — open-source software for city command centers.",
    },
    # navigation
    "nav.overview": {"id": "Ruang Situasi", "en": "Situation Room"},
    "nav.traffic": {"id": "Lalu Lintas", "en": "Traffic"},
    "nav.flood": {"id": "Banjir", "en": "Flooding"},
    "nav.security": {"id": "Keamanan & Kejadian", "en": "Security & Incidents"},
    "nav.opd": {"id": "Indikator OPD", "en": "OPD Indicators"},
    "nav.complaints": {"id": "Pengaduan", "en": "Complaints"},
    "nav.cameras": {"id": "Kamera", "en": "Cameras"},
    "nav.public": {"id": "CCTV Publik", "en": "Public CCTV"},
    "nav.admin": {"id": "Admin", "en": "Admin"},
    "nav.group.public": {"id": "Publik", "en": "Public"},
    # 404
    "404.title": {"id": "Halaman tidak ditemukan", "en": "Page not found"},
    "404.body": {
        "id": "Alamat yang Anda buka tidak ada. Mungkin tautannya sudah berubah.",
        "en": "The address you opened does not exist. The link may have changed.",
    },
    "404.home": {"id": "Kembali ke Ruang Situasi", "en": "Back to the Situation Room"},
    # units
    "unit.people": {"id": "orang", "en": "people"},
    "unit.vehicles": {"id": "kendaraan", "en": "vehicles"},
    "unit.cameras": {"id": "kamera", "en": "cameras"},
    "unit.reports": {"id": "laporan", "en": "reports"},
    "unit.incidents": {"id": "kejadian", "en": "incidents"},
}

MONTHS_ID = [
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
]  # fmt: skip


def current_lang() -> str:
    """The language of the request being served (cookie, then ?lang=, then the default)."""
    if has_request_context():
        lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
        if lang in LANGUAGES:
            return lang
    from pantau.settings import get_settings

    return get_settings().language


def t(key: str, lang: str | None = None, **fmt: object) -> str:
    """The text for ``key`` in ``lang`` (default: the request's language)."""
    lang = lang or current_lang()
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("id") or key
    return text.format(**fmt) if fmt else text


def register(strings: dict[str, dict[str, str]]) -> None:
    """Add a module's strings (pages and callbacks keep their own next to them)."""
    STRINGS.update(strings)


def local_time(ts: datetime | None, tz: str = "Asia/Jakarta", *, with_date: bool = True) -> str:
    """A timestamp as the command center reads it, e.g. ``23 Nov 2026 14:05 WIB``."""
    if ts is None:
        return "—"
    zone = ZoneInfo(tz)
    local = ts.astimezone(zone)
    abbrev = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(
        tz, local.tzname() or ""
    )
    if not with_date:
        return f"{local:%H:%M} {abbrev}"
    month = MONTHS_ID[local.month - 1] if current_lang() == "id" else f"{local:%b}"
    return f"{local.day} {month} {local.year} {local:%H:%M} {abbrev}"


def fmt_number(value: float | int | None, decimals: int = 0) -> str:
    """Numbers with the locale's separators (1.234,5 in Indonesian, 1,234.5 in English)."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    if current_lang() == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text
