"""Working days for complaint deadlines: weekends and configured public holidays are skipped.

LAPOR! deadlines count *hari kerja* (working days) in the city's local time: a report that
arrives on Saturday morning has its first working day on Monday. ``add_working_days(ts, n)``
returns the same local clock time on the n-th working day after ``ts``.
"""

from __future__ import annotations

import csv
import logging
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _read_holidays(path: str, mtime: float) -> frozenset[date]:
    days: set[date] = set()
    with open(path, encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            raw = (row.get("date") or "").strip()
            if not raw:
                continue
            try:
                days.add(date.fromisoformat(raw))
            except ValueError:
                logger.warning("%s line %d: not a date (YYYY-MM-DD): %r", path, lineno, raw)
    return frozenset(days)


def load_holidays(path: Path | str | None) -> frozenset[date]:
    """Public holidays from a CSV with a ``date`` column (re-read when the file changes)."""
    if not path:
        return frozenset()
    p = Path(path)
    try:
        return _read_holidays(str(p), p.stat().st_mtime)
    except FileNotFoundError:
        logger.warning("holidays file %s not found: only weekends are skipped", p)
        return frozenset()


class WorkCalendar:
    """Working days of one city: Monday to Friday minus public holidays, in local time."""

    def __init__(
        self, holidays: frozenset[date] | set[date] = frozenset(), tz: str = "Asia/Jakarta"
    ):
        self.holidays = frozenset(holidays)
        self.zone = ZoneInfo(tz)

    @classmethod
    def from_settings(cls, settings) -> WorkCalendar:
        return cls(load_holidays(settings.holidays_file), settings.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, ts: datetime, days: int) -> datetime:
        """The same local clock time on the ``days``-th working day after ``ts`` (UTC out)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        local = ts.astimezone(self.zone)
        day = local.date()
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        naive = datetime.combine(day, local.time().replace(tzinfo=None))
        return naive.replace(tzinfo=self.zone).astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from ``start``'s local date (exclusive) to ``end``'s (inclusive)."""
        if end < start:
            return -self.working_days_between(end, start)
        a = start.astimezone(self.zone).date()
        b = end.astimezone(self.zone).date()
        n = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n += 1
        return n
