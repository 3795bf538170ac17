"""The daily briefing (/laporan-harian) and its 07:00 message.

Expected values come from the brief and the README: "yesterday" is a WIB calendar day
(midnight to midnight at UTC+7); "the usual" is the mean of the same weekday over the four
weeks before (weeks without data left out); open alerts are those not ended and not resolved;
complaints overdue follow-up are dispatched reports past their 5-working-day deadline; the
message is sent once a day at 07:00 WIB through the outbox, whatever restarts or processes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.briefing_job import BriefingSchedule, briefing_key, enqueue_briefing
from dashboard.queries.briefing import briefing, day_bounds, yesterday
from store.models import (
    Alert,
    Camera,
    Complaint,
    ComplaintStatus,
    Incident,
    ObservationRollup,
    Opd,
    OutboxMessage,
)
from store.notify_channels import save_channel

TZ = "Asia/Jakarta"
DAY = date(2026, 11, 28)  # a Saturday
# 28 Nov 2026 00:00 WIB = 27 Nov 17:00 UTC
START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 0, 30, tzinfo=UTC)  # 07:30 WIB on the 29th


def test_day_bounds_are_wib_midnights():
    assert day_bounds(DAY, TZ) == (START, START + timedelta(days=1))
    # 06:59 WIB on the 29th is still "the 29th": yesterday is the 28th
    assert yesterday(datetime(2026, 11, 28, 23, 59, tzinfo=UTC), TZ) == DAY
    # 16:59 UTC on the 28th is 23:59 WIB on the 28th: yesterday is the 27th
    assert yesterday(datetime(2026, 11, 28, 16, 59, tzinfo=UTC), TZ) == date(2026, 11, 27)


def _camera(s, code: str) -> Camera:
    cam = Camera(code=code, name=f"Kamera {code}", lat=-2.98, lon=104.76)
    s.add(cam)
    s.flush()
    return cam


def _day_rollup(s, cam: Camera, day_start: datetime, flow: int, people: float) -> None:
    s.add(
        ObservationRollup(
            camera_id=cam.id,
            period="day",
            bucket=day_start,
            samples=100,
            people_avg=people,
            flow_in_sum=flow // 2,
            flow_out_sum=flow - flow // 2,
            people_n=100,
        )
    )


def _complaint(s, n: int, created: datetime, **kw) -> Complaint:
    c = Complaint(
        tracking_id=f"PLG-T{n:05d}",
        category="jalan",
        description="Jalan berlubang",
        created_at=created,
        **kw,
    )
    s.add(c)
    return c


@pytest.fixture
def briefing_db(sqlite_db):
    with sqlite_db.session() as s:
        a, b = _camera(s, "CAM-A"), _camera(s, "CAM-B")
        # the day: 1,000 + 500 vehicles, 10 + 5 people
        _day_rollup(s, a, START, 1000, 10.0)
        _day_rollup(s, b, START, 500, 5.0)
        # usual: Saturdays 1, 2, 3 weeks before (4 weeks before has no data): 1,200, 900, 900
        for weeks, flow in ((1, 1200), (2, 900), (3, 900)):
            _day_rollup(s, a, START - timedelta(weeks=weeks), flow, 6.0)
        # a Friday (not the same weekday) never counts
        _day_rollup(s, a, START - timedelta(days=1), 99999, 999.0)
        opd = Opd(code="DISHUB", name="Dinas Perhubungan", short_name="Dishub")
        s.add(opd)
        s.flush()
        # complaints received on the day: 23:59 WIB of the day before does not count,
        # 00:00 WIB does, 23:59 WIB does
        _complaint(s, 1, START - timedelta(minutes=1))
        _complaint(s, 2, START)
        _complaint(s, 3, START + timedelta(hours=23, minutes=59))
        # same weekday a week before: 2 received; two weeks before: 0 (mean (2+0+0+0)/4)
        _complaint(s, 4, START - timedelta(weeks=1) + timedelta(hours=3))
        _complaint(s, 5, START - timedelta(weeks=1) + timedelta(hours=4))
        # with the OPD: one dispatched past its follow-up deadline, one dispatched in time,
        # one in progress
        _complaint(
            s, 6, START - timedelta(days=20), status=ComplaintStatus.DISPATCHED, opd_id=opd.id,
            followup_due=NOW - timedelta(days=1),
        )  # fmt: skip
        _complaint(
            s, 7, START - timedelta(days=20), status=ComplaintStatus.DISPATCHED, opd_id=opd.id,
            followup_due=NOW + timedelta(days=2),
        )  # fmt: skip
        _complaint(
            s, 8, START - timedelta(days=20), status=ComplaintStatus.IN_PROGRESS, opd_id=opd.id
        )
        # incidents: 3 fires on the day, 1 a week before
        for h in (1, 5, 9):
            s.add(Incident(kind="fire", source="damkar", title="Kebakaran", occurred_at=START + timedelta(hours=h)))  # fmt: skip
        s.add(Incident(kind="fire", source="damkar", title="Kebakaran", occurred_at=START - timedelta(weeks=1)))  # fmt: skip
        # alerts: one open, one ended, one resolved
        s.add(Alert(rule="camera_offline", subject_type="camera", subject_id="CAM-A",
                    camera_id=a.id, title="Kamera Kamera CAM-A offline", started_at=START))  # fmt: skip
        s.add(Alert(rule="camera_offline", subject_type="camera", subject_id="CAM-B",
                    camera_id=b.id, title="x", started_at=START, ended_at=START + timedelta(hours=1)))  # fmt: skip
        s.add(Alert(rule="camera_offline", subject_type="camera", subject_id="CAM-B",
                    camera_id=b.id, title="y", started_at=START, status="resolved"))  # fmt: skip
    return sqlite_db


def test_briefing_figures(briefing_db):
    with briefing_db.session() as s:
        b = briefing(s, DAY, TZ, now=NOW)
    assert b.vehicles.value == 1500
    assert b.vehicles.usual == pytest.approx((1200 + 900 + 900) / 3)
    assert b.vehicles.change_pct == pytest.approx(50.0)
    assert b.people.value == 15
    assert b.cameras_reporting.value == 2 and b.cameras_reporting.usual == 1
    assert b.complaints_new.value == 2
    assert b.complaints_new.usual == pytest.approx(0.5)
    assert b.incidents["fire"].value == 3 and b.incidents["fire"].usual == pytest.approx(0.25)
    assert [(o.short_name, o.waiting, o.in_progress, o.overdue) for o in b.opd] == [
        ("Dishub", 2, 1, 1)
    ]
    assert b.overdue_followup == 1
    assert [a.camera_code for a in b.alerts] == ["CAM-A"]


def _channel(s, name="pimpinan-hook"):
    return save_channel(
        s,
        name=name,
        kind="webhook",
        config={"url": "http://127.0.0.1:9/hook"},
        rule="*",
        min_severity="info",
        events=["briefing.daily"],
    )


def test_message_goes_out_once_per_day(briefing_db, settings):
    with briefing_db.session() as s:
        _channel(s)
    first = enqueue_briefing(briefing_db, settings, DAY, now=NOW)
    again = enqueue_briefing(briefing_db, settings, DAY, now=NOW + timedelta(hours=1))
    assert len(first) == 1 and again == []
    with briefing_db.session() as s:
        rows = list(s.scalars(select(OutboxMessage)))
    assert len(rows) == 1
    row = rows[0]
    assert row.event_type == "briefing.daily" and row.event_key == briefing_key(DAY)
    text = row.payload["text"]
    assert "Sabtu, 28 Nov 2026" in text  # the reported day, in Indonesian
    assert "Pengaduan masuk: 2 (biasanya 0,5" in text
    assert "Dishub: 2 menunggu, 1 dikerjakan, 1 terlambat" in text
    assert "[WASPADA] Kamera Kamera CAM-A offline" in text
    assert "/laporan-harian?tanggal=2026-11-28" in row.payload["url"]


def test_schedule_sends_at_seven_wib_once_across_processes(briefing_db, settings):
    with briefing_db.session() as s:
        _channel(s)
    clock = {"now": datetime(2026, 11, 28, 23, 59, tzinfo=UTC)}  # 06:59 WIB on the 29th
    one = BriefingSchedule(briefing_db, settings, clock=lambda: clock["now"])
    two = BriefingSchedule(briefing_db, settings, clock=lambda: clock["now"])  # a 2nd process
    assert one.step() is False
    clock["now"] = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # 07:00 WIB
    assert one.step() is True and two.step() is True
    assert one.step() is False  # once a process a day
    # a restart later that morning: a new schedule object tries again, the key stops it
    three = BriefingSchedule(briefing_db, settings, clock=lambda: clock["now"] + timedelta(hours=3))
    assert three.step() is True
    with briefing_db.session() as s:
        keys = [r.event_key for r in s.scalars(select(OutboxMessage))]
    assert keys == [briefing_key(DAY)]
