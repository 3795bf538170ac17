"""What the analyst compares with, and how numbers are labelled on the trend pages.

- ``compare_days``: the compared range for a mode — the previous period (same length just
  before), the same period last month, or the same period last year (calendar months: 31 Mar
  compares with 28/29 Feb, 29 Feb with 28 Feb a year earlier);
- ``unit``: every number's unit says what was counted and over what time ("kendaraan/jam",
  "orang rata-rata per kamera per sampel", "% waktu tergenang");
- ``change_badge``: the % change with a colour that means what it says for the metric (more
  flooding is bad; more traffic is neither good nor bad);
- ``period_label``: calendar-correct labels of a local period (``Nov 2026``, ``Mg 47 · 16/11``).

Plain functions, unit-tested directly.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from dash import html

from dashboard.i18n import current_lang, fmt_number, t
from dashboard.i18n import register as register_strings

COMPARE_MODES = ("previous", "month", "year")

#: metrics where a rise is bad (+1) or good (-1); others are neutral (0)
POLARITY = {"wet": 1, "water_max": 1, "incidents": 1}

register_strings(
    {
        "ui.compare": {"id": "Bandingkan dengan", "en": "Compare with"},
        "ui.compare.previous": {"id": "Periode sebelumnya", "en": "Previous period"},
        "ui.compare.month": {"id": "Periode sama bulan lalu", "en": "Same period last month"},
        "ui.compare.year": {"id": "Periode sama tahun lalu", "en": "Same period last year"},
        "ui.compare.short.previous": {"id": "periode sebelumnya", "en": "previous period"},
        "ui.compare.short.month": {"id": "bulan lalu", "en": "last month"},
        "ui.compare.short.year": {"id": "tahun lalu", "en": "last year"},
        "ui.vs": {"id": "vs {what}", "en": "vs {what}"},
        "ui.week_label": {"id": "Mg {week} · {day}", "en": "Wk {week} · {day}"},
        # units: what is counted, per what time
        "unit.flow.hour": {"id": "kendaraan/jam", "en": "vehicles/hour"},
        "unit.flow.day": {"id": "kendaraan/hari", "en": "vehicles/day"},
        "unit.flow.week": {"id": "kendaraan/minggu", "en": "vehicles/week"},
        "unit.flow.month": {"id": "kendaraan/bulan", "en": "vehicles/month"},
        "unit.vehicles.avg": {
            "id": "kendaraan rata-rata per kamera per sampel",
            "en": "vehicles, mean per camera per sample",
        },
        "unit.people.avg": {
            "id": "orang rata-rata per kamera per sampel",
            "en": "people, mean per camera per sample",
        },
        "unit.people.max": {
            "id": "orang (terbanyak dalam satu sampel)",
            "en": "people (most in one sample)",
        },
        "unit.water.max": {
            "id": "% jalan tergenang (tertinggi)",
            "en": "% of road under water (highest)",
        },
        "unit.wet.share": {"id": "% waktu tergenang", "en": "% of time flooded"},
        "unit.flow.per_hour": {"id": "kendaraan/jam (rata-rata)", "en": "vehicles/hour (mean)"},
    }
)

#: short unit (charts, tiles) per metric; ``flow`` depends on the granularity
_UNITS = {
    "vehicles": "unit.vehicles.avg",
    "people": "unit.people.avg",
    "people_max": "unit.people.max",
    "water_max": "unit.water.max",
    "wet": "unit.wet.share",
}


def unit(metric: str, granularity: str = "day") -> str:
    """The unit of ``metric``'s numbers at ``granularity`` (flow: vehicles per period)."""
    if metric == "flow":
        return t(
            f"unit.flow.{granularity if granularity in ('hour', 'day', 'week', 'month') else 'day'}"
        )
    return t(_UNITS.get(metric, "unit.vehicles.avg"))


def profile_unit(metric: str) -> str:
    """The unit of an hour-of-day profile cell (one local hour)."""
    return t("unit.flow.per_hour") if metric == "flow" else unit(metric, "hour")


def _shift_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


def compare_days(start_day: date, end_day: date, mode: str | None) -> tuple[date, date]:
    """The local days (first, last; both included) the range is compared with."""
    if mode == "month":
        return _shift_months(start_day, 1), _shift_months(end_day, 1)
    if mode == "year":
        return _shift_months(start_day, 12), _shift_months(end_day, 12)
    n = (end_day - start_day).days + 1
    return start_day - pd.Timedelta(days=n).to_pytimedelta(), start_day - pd.Timedelta(
        days=1
    ).to_pytimedelta()


def compare_mode(value: str | None) -> str:
    return value if value in COMPARE_MODES else "previous"


def change_badge(
    current: float | None,
    reference: float | None,
    label: str,
    metric: str,
    min_abs: float = 0.0,
) -> html.Span:
    """``+12 % vs bulan lalu``: red when the change is bad for ``metric`` (more flooding),
    green when good, blue-grey when the metric has no good direction (traffic, crowds).
    Changes under 5 %, or smaller than ``min_abs`` in the metric's own unit (one person more
    than 0.9 is not "+111 %" worth a colour), are grey."""
    if current is None or reference is None or reference == 0:
        return html.Span(f"— {label}", className="pantau-delta-flat")
    change = (current - reference) / abs(reference) * 100
    polarity = POLARITY.get(metric, 0)
    flat = abs(change) < 5 or abs(current - reference) < min_abs
    if flat:
        cls, arrow = "pantau-delta-flat", "bi-arrow-right"
    else:
        arrow = "bi-arrow-up-right" if change > 0 else "bi-arrow-down-right"
        if polarity == 0:
            cls = "pantau-delta-neutral"
        else:
            cls = "pantau-delta-bad" if change * polarity > 0 else "pantau-delta-good"
    sign = "+" if change > 0 else ("−" if change < 0 else "")
    return html.Span(
        [html.I(className=f"bi {arrow} me-1"), f"{sign}{fmt_number(abs(change), 0)} % {label}"],
        className=cls,
        **{"data-change": f"{change:.1f}"},
    )


_MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
WEEKDAYS = {
    "id": ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}


def period_label(period: datetime | pd.Timestamp, granularity: str) -> str:
    """A local period as a reader names it: ``Nov 2026`` (month), ``Mg 47 · 16/11`` (ISO
    week and its Monday), ``16/11/2026`` (day), ``16/11 14:00`` (hour)."""
    ts = pd.Timestamp(period)
    lang = "en" if current_lang() == "en" else "id"
    if granularity == "month":
        return f"{_MONTHS[lang][ts.month - 1]} {ts.year}"
    if granularity == "week":
        return t("ui.week_label", week=ts.isocalendar()[1], day=f"{ts:%d/%m/%Y}")
    if granularity == "day":
        return f"{ts:%d/%m/%Y}"
    return f"{ts:%d/%m %H:00}"


def weekday_names() -> list[str]:
    return WEEKDAYS["en" if current_lang() == "en" else "id"]
