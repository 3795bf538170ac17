"""Rules for OPD indicator values: periods by frequency and plausible ranges.

* ``parse_period``: ``YYYY-MM`` (monthly), ``YYYY-Qn`` (quarterly), ``YYYY`` (yearly), 2000..2100,
  mapped to the first day of the period; ``period_label`` writes it back.
* ``plausible_range``/``check_plausible``: the indicator's ``plausible_min``/``plausible_max``,
  else its unit's default (:data:`UNIT_RANGES`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from store.models import IndicatorFrequency, OpdIndicator

#: No indicator value is larger than this (keeps floats away from 1e308 and friends).
ABSOLUTE_MAX = 1e15

#: Default plausible range by unit (lower-cased) when the indicator sets none: percentages up to
#: 1,000 (a realisation can exceed its target, ten times cannot), counts, durations, speeds and
#: prices never negative. Units not listed: any finite number up to :data:`ABSOLUTE_MAX`.
UNIT_RANGES: dict[str, tuple[float | None, float | None]] = {
    "%": (0.0, 1000.0),
    "% target": (0.0, 1000.0),
    "persen": (0.0, 1000.0),
    "kegiatan": (0.0, None),
    "kasus": (0.0, None),
    "kejadian": (0.0, None),
    "orang": (0.0, None),
    "unit": (0.0, None),
    "laporan": (0.0, None),
    "izin": (0.0, None),
    "menit": (0.0, None),
    "jam": (0.0, None),
    "hari": (0.0, None),
    "km/jam": (0.0, None),
    "rp": (0.0, None),
    "rp/kg": (0.0, None),
    "rp miliar": (0.0, None),
    "rp juta": (0.0, None),
    "ton": (0.0, None),
}


# --------------------------------------------------------------------------------------------
# periods
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
PERIOD_FORMAT = {
    IndicatorFrequency.MONTHLY: "YYYY-MM",
    IndicatorFrequency.QUARTERLY: "YYYY-Qn",
    IndicatorFrequency.YEARLY: "YYYY",
}


def parse_period(raw: Any, frequency: str) -> date:
    """The first day of the period ``raw`` names, for an indicator of ``frequency``; raises
    ValueError with the reason when the text does not match that frequency."""
    s = str(raw if raw is not None else "").strip()
    if isinstance(raw, datetime | date):  # a spreadsheet cell typed as a date
        s = f"{raw.year:04d}-{raw.month:02d}" if frequency == IndicatorFrequency.MONTHLY else s
    try:
        freq = IndicatorFrequency(frequency)
    except ValueError:
        raise ValueError(f"the indicator's frequency {frequency!r} is not supported") from None
    expected = PERIOD_FORMAT[freq]
    if freq == IndicatorFrequency.MONTHLY and (m := _MONTH.match(s)):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} does not exist (use {expected}, e.g. 2026-10)")
        start = date(year, month, 1)
    elif freq == IndicatorFrequency.QUARTERLY and (m := _QUARTER.match(s)):
        start = date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1)
    elif freq == IndicatorFrequency.YEARLY and (m := _YEAR.match(s)):
        start = date(int(m.group(1)), 1, 1)
    else:
        raise ValueError(
            f"the indicator is {freq.value}: the period must be {expected} "
            f"(e.g. {example_period(freq)})"
        )
    if not 2000 <= start.year <= 2100:
        raise ValueError(f"year {start.year} is outside 2000..2100")
    return start


def example_period(frequency: str) -> str:
    return {"monthly": "2026-10", "quarterly": "2026-Q3", "yearly": "2026"}.get(frequency, "?")


def period_label(start: date, frequency: str) -> str:
    """The period as written in files and URLs (``2026-10``, ``2026-Q4``, ``2026``)."""
    if frequency == IndicatorFrequency.QUARTERLY:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if frequency == IndicatorFrequency.YEARLY:
        return f"{start.year}"
    return f"{start.year:04d}-{start.month:02d}"


# --------------------------------------------------------------------------------------------
# plausibility
def plausible_range(indicator: OpdIndicator) -> tuple[float | None, float | None]:
    """(min, max) for ``indicator``: its own columns, else its unit's default."""
    low, high = UNIT_RANGES.get((indicator.unit or "").strip().lower(), (None, None))
    if indicator.plausible_min is not None:
        low = indicator.plausible_min
    if indicator.plausible_max is not None:
        high = indicator.plausible_max
    return low, high


def check_plausible(value: float, indicator: OpdIndicator) -> str | None:
    """None when ``value`` is plausible for ``indicator``, else the reason."""
    low, high = plausible_range(indicator)
    unit = indicator.unit
    if low is not None and value < low:
        if low == 0:
            return f"a negative value is not plausible for {unit!r} (at least 0)"
        return f"below the plausible minimum {low:g} {unit}"
    if high is not None and value > high:
        return f"above the plausible maximum {high:g} {unit}"
    return None
