"""Working days: weekends and configured holidays are skipped, in local (WIB) time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from store.workdays import WorkCalendar, load_holidays


def wib(y, m, d, h=10, mi=0) -> datetime:
    """A WIB wall-clock time as UTC."""
    return (
        datetime(y, m, d, h - 7, mi, tzinfo=UTC)
        if h >= 7
        else datetime(y, m, d - 1, h + 17, mi, tzinfo=UTC)
    )


def test_weekdays_only():
    cal = WorkCalendar()
    # Monday 23 Nov 2026 10:00 WIB + 3 working days = Thursday 26 Nov 10:00 WIB
    assert cal.add_working_days(wib(2026, 11, 23), 3) == wib(2026, 11, 26)
    # Friday + 1 = Monday
    assert cal.add_working_days(wib(2026, 11, 27), 1) == wib(2026, 11, 30)


def test_weekend_intake_counts_from_monday():
    cal = WorkCalendar()
    # Saturday 28 Nov 09:00 WIB + 3 -> Wednesday 2 Dec 09:00 WIB
    assert cal.add_working_days(wib(2026, 11, 28, 9), 3) == wib(2026, 12, 2, 9)


def test_local_date_not_utc_date():
    cal = WorkCalendar()
    # Saturday 28 Nov 01:30 WIB is still Friday 27 Nov in UTC: it must count as Saturday
    sat_early = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)
    due = cal.add_working_days(sat_early, 1)
    assert due == datetime(2026, 11, 29, 18, 30, tzinfo=UTC)  # Monday 30 Nov 01:30 WIB


def test_holidays_are_skipped():
    cal = WorkCalendar({date(2026, 12, 25)})
    # Thursday 24 Dec + 1 working day: Friday 25 is Christmas -> Monday 28 Dec
    assert cal.add_working_days(wib(2026, 12, 24), 1) == wib(2026, 12, 28)
    assert not cal.is_working_day(date(2026, 12, 25))
    assert cal.working_days_between(wib(2026, 12, 24), wib(2026, 12, 28)) == 1


def test_holiday_file_is_read(tmp_path, settings):
    real = load_holidays(settings.holidays_file)
    assert date(2026, 1, 1) in real  # Tahun Baru Masehi, from data/holidays_id.csv
    path = tmp_path / "h.csv"
    path.write_text("date,name\n2026-11-24,Libur kota\nbukan-tanggal,x\n", encoding="utf-8")
    cal = WorkCalendar(load_holidays(path))
    assert cal.add_working_days(wib(2026, 11, 23), 1) == wib(2026, 11, 25)
    assert load_holidays(tmp_path / "missing.csv") == frozenset()
