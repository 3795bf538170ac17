"""The analyst's questions, answered by the trend pages' callbacks on seeded rows.

Seeded here (local WIB times, stored as UTC like the pipeline does):

- Simpang Charitas (PLG-CHR-01, Ilir Timur I): every hour from 1 Oct to 29 Nov 2026, vehicles
  crossing = ``(hour + 1) * 10`` in October and ``(hour + 1) * 12`` in November on weekdays,
  plus 5 more on weekends; Nov 2025 for the year comparison: 100 an hour.
- Two flood cameras: CAM-P in Plaju is under water (water_max 0.6) for 5 hours of November,
  CAM-K in Kemuning for 2 hours; dry otherwise.

Every expected value below is computed in the test from the rows it seeded (plain loops), never
read back from the query code.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import insert

from dashboard.callbacks import _compare, _trend, areas, flood, traffic
from dashboard.queries import trends
from store.models import Camera, ObservationRollup
from store.rollups import refresh_area_rollups

WIB = timedelta(hours=7)
NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)  # after the data: nothing is partial
WET = {"CAM-P": [(date(2026, 11, 3), h) for h in (14, 15, 16)] + [(date(2026, 11, 20), 9),
                                                                   (date(2026, 11, 20), 10)],
       "CAM-K": [(date(2026, 11, 7), 22), (date(2026, 11, 7), 23)]}  # fmt: skip


def charitas_flow(local: datetime) -> int:
    if local.year == 2025:
        return 100
    per = 10 if local.month == 10 else 12
    return (local.hour + 1) * per + (5 if local.weekday() >= 5 else 0)


def local_hours(first: date, last: date):
    t = datetime(first.year, first.month, first.day)
    while t.date() <= last:
        yield t
        t += timedelta(hours=1)


def seed(db) -> dict[str, list[tuple[datetime, int]]]:
    """Insert the rows; return the local (hour, flow) rows of Charitas for the expectations."""
    seeded: dict[str, list] = {"CHR": []}
    with db.session() as s:
        chr_ = Camera(code="PLG-CHR-01", name="Simpang Charitas", lat=-2.9756, lon=104.7513,
                      kecamatan="Ilir Timur I", tags=["traffic"], status="online")  # fmt: skip
        p = Camera(code="CAM-P", name="Jalan Plaju", lat=-3.0, lon=104.78, kecamatan="Plaju",
                   tags=["flood"], status="online")  # fmt: skip
        k = Camera(code="CAM-K", name="Jalan Kemuning", lat=-2.96, lon=104.74,
                   kecamatan="Kemuning", tags=["flood"], status="online")  # fmt: skip
        s.add_all([chr_, p, k])
        s.flush()
        rows = []
        days: dict[tuple[int, datetime], dict] = {}
        spans = [(date(2025, 11, 1), date(2025, 11, 29)), (date(2026, 10, 1), date(2026, 11, 29))]
        for first, last in spans:
            for local in local_hours(first, last):
                flow = charitas_flow(local)
                seeded["CHR"].append((local, flow))
                for cam, fl, water in (
                    (chr_, flow, 0.0),
                    (p, 0, 0.6 if (local.date(), local.hour) in WET["CAM-P"] else 0.0),
                    (k, 0, 0.6 if (local.date(), local.hour) in WET["CAM-K"] else 0.0),
                ):
                    bucket = (local - WIB).replace(tzinfo=UTC)
                    rows.append(
                        {"camera_id": cam.id, "period": "hour", "bucket": bucket, "samples": 60,
                         "flow_in_sum": fl, "flow_out_sum": 0, "vehicles_avg": fl / 10,
                         "water_avg": water, "water_max": water, "vehicles_n": 60,
                         "water_n": 60}
                    )  # fmt: skip
                    day = (datetime(local.year, local.month, local.day) - WIB).replace(tzinfo=UTC)
                    d = days.setdefault(
                        (cam.id, day),
                        {"camera_id": cam.id, "period": "day", "bucket": day, "samples": 0,
                         "flow_in_sum": 0, "flow_out_sum": 0, "vehicles_avg": 0.0,
                         "water_avg": 0.0, "water_max": 0.0, "vehicles_n": 0, "water_n": 0},
                    )  # fmt: skip
                    d["samples"] += 60
                    d["flow_in_sum"] += fl
                    d["vehicles_avg"] += fl / 10 / 24
                    d["water_max"] = max(d["water_max"], water)
                    d["vehicles_n"] += 60
                    d["water_n"] += 60
        s.execute(insert(ObservationRollup.__table__), rows + list(days.values()))
        refresh_area_rollups(s)
    return seeded


@pytest.fixture
def analyst_db(db):
    trends._area_checked.clear()
    return db, seed(db)


def _by_name(fig: dict, part: str) -> dict:
    return next(tr for tr in fig["data"] if part in (tr.get("name") or ""))


def test_charitas_this_month_vs_last_month_by_hour(analyst_db):
    """'How did traffic at Simpang Charitas change this month vs last month, by hour?'"""
    db, seeded = analyst_db
    heat, hours, _title, hours_title, _note = traffic.update_traffic_profile(
        "2026-11-01", "2026-11-29", None, ["PLG-CHR-01"], "flow", "month", db=db
    )
    assert "bulan lalu" in hours_title

    def mean_by_hour(first: date, last: date) -> list[float]:
        acc = defaultdict(list)
        for local, flow in seeded["CHR"]:
            if first <= local.date() <= last:
                acc[local.hour].append(flow)
        return [sum(v) / len(v) for h, v in sorted(acc.items())]

    nov = mean_by_hour(date(2026, 11, 1), date(2026, 11, 29))
    octo = mean_by_hour(date(2026, 10, 1), date(2026, 10, 29))  # same days last month
    assert _by_name(hours, "Periode ini")["y"] == pytest.approx(nov, abs=0.005)
    assert _by_name(hours, "bulan lalu")["y"] == pytest.approx(octo, abs=0.005)
    # 07:00: 8 x 12 on weekdays, +5 at weekends: 1-29 Nov 2026 has 9 weekend days
    # (Sun 1, Sat-Sun 7-8, 14-15, 21-22, 28-29) and 20 weekdays
    assert nov[7] == pytest.approx((20 * 96 + 9 * 101) / 29)
    # the heatmap: Monday 07:00 in November = 8 * 12 (no weekend bonus); Sunday 23:00 = 24*12+5
    z = heat["data"][0]["z"]
    assert heat["data"][0]["y"][0] == "Sen" and heat["data"][0]["x"][7] == "07"
    assert z[0][7] == pytest.approx(96.0)
    assert z[6][23] == pytest.approx(24 * 12 + 5)


def test_heatmap_counts_hours_with_data(analyst_db):
    db, _ = analyst_db
    heat, *_ = traffic.update_traffic_profile(
        "2026-11-01", "2026-11-29", None, ["PLG-CHR-01"], "flow", "previous", db=db
    )
    mondays = sum(1 for d in range(1, 30) if date(2026, 11, d).weekday() == 0)
    sundays = sum(1 for d in range(1, 30) if date(2026, 11, d).weekday() == 6)
    counts = heat["data"][0]["customdata"]
    assert counts[0] == [mondays] * 24 and counts[6] == [sundays] * 24


def test_which_kecamatan_floods_most(analyst_db):
    """'Which kecamatan floods most?': the flood page's ranking, hours flooded per kecamatan."""
    db, _ = analyst_db
    fig, geo, note = areas.update_flood_areas("2026-11-01", "2026-11-29", db=db)
    bars = fig["data"][0]
    expected = sorted(
        ((kec, len(WET[code])) for code, kec in (("CAM-P", "Plaju"), ("CAM-K", "Kemuning"))),
        key=lambda kv: -kv[1],
    )
    assert [y.strip() for y in bars["y"]] == [k for k, _ in expected]
    assert list(bars["x"]) == [n for _, n in expected]
    assert "jam genangan" in fig["layout"]["xaxis"]["title"]["text"]
    assert "01/11/2026–29/11/2026" in fig["layout"]["xaxis"]["title"]["text"]


def test_flood_share_of_time_by_kecamatan_trend(analyst_db):
    db, _ = analyst_db
    fig, *_ = flood.update_flood(
        "2026-11-01", "2026-11-29", "month", ["Plaju"], None, "wet", "previous", db=db, now=NOW
    )
    # 5 wet hours of CAM-P's 29 x 24 hours in Plaju
    assert _by_name(fig, "Periode ini")["y"] == pytest.approx([5 / (29 * 24) * 100])
    assert _by_name(fig, "Periode ini")["x"] == ["Nov 2026"]


def test_traffic_ranking_by_kecamatan(analyst_db):
    db, seeded = analyst_db
    fig, _geo, _note = areas.update_traffic_areas("2026-11-01", "2026-11-29", db=db)
    nov = [f for t, f in seeded["CHR"] if t.year == 2026 and t.month == 11]
    # Charitas is the only camera with traffic: vehicles per camera-hour = its mean per hour;
    # the flood cameras count 0 vehicles over their camera-hours
    bars = fig["data"][0]
    assert [y.strip() for y in bars["y"]] == ["Ilir Timur I"]
    assert bars["x"] == [round(sum(nov) / len(nov), 1)]
    assert "kendaraan/jam per kamera" in fig["layout"]["xaxis"]["title"]["text"]


@pytest.mark.parametrize(
    ("mode", "first", "last"),
    [
        ("month", date(2026, 10, 1), date(2026, 10, 29)),
        ("year", date(2025, 11, 1), date(2025, 11, 29)),
    ],
)
def test_month_compare_totals_and_change(analyst_db, mode, first, last):
    """'Bulan' for 1-29 Nov: one named month; compared with the same days a month/year before."""
    db, seeded = analyst_db
    fig, kpis, payload, _note, gran = traffic.update_traffic(
        "2026-11-01", "2026-11-29", "month", None, ["PLG-CHR-01"], "flow", mode, db=db, now=NOW
    )
    cur = sum(f for t, f in seeded["CHR"] if date(2026, 11, 1) <= t.date() <= date(2026, 11, 29))
    ref = sum(f for t, f in seeded["CHR"] if first <= t.date() <= last)
    assert gran == "month"
    current = _by_name(fig, "Periode ini")
    assert current["x"] == ["Nov 2026"] and current["y"] == [cur]
    assert _by_name(fig, _compare.t(f"ui.compare.{mode}"))["y"] == [ref]
    assert payload["compare_start"] == first.isoformat()
    badge = kpis[1].children.children.children[2].children
    change = (cur - ref) / ref * 100
    assert float(badge.__dict__["data-change"]) == pytest.approx(change, abs=0.05)
    assert badge.className == "pantau-delta-neutral"  # more traffic: neither good nor bad


def test_month_buckets_follow_wib_not_utc(db):
    """1 Nov 00:00 WIB is 31 Oct 17:00 UTC: that day belongs to November."""
    with db.session() as s:
        cam = Camera(code="C1", name="C1", lat=0, lon=0, kecamatan="K", tags=["traffic"])
        s.add(cam)
        s.flush()
        rows = []
        for day, flow in ((date(2026, 10, 31), 7), (date(2026, 11, 1), 1000)):
            bucket = (datetime(day.year, day.month, day.day) - WIB).replace(tzinfo=UTC)
            rows.append({"camera_id": cam.id, "period": "day", "bucket": bucket, "samples": 1,
                         "flow_in_sum": flow, "flow_out_sum": 0})  # fmt: skip
        s.execute(insert(ObservationRollup.__table__), rows)
        refresh_area_rollups(s)
        trends._area_checked.clear()
        start, end = trends.local_range(date(2026, 10, 1), date(2026, 11, 30))
        for cams in ((), ("C1",)):  # area table and camera table
            f = trends.TrendFilter(start, end, "month", cameras=cams)
            df = trends.trend(s, f)
            assert df["period"].dt.strftime("%Y-%m").tolist() == ["2026-10", "2026-11"]
            assert df["flow"].tolist() == [7.0, 1000.0]


def test_iso_week_across_the_year_end(db):
    """Mon 28 Dec 2026 - Sun 3 Jan 2027 is ISO week 53 of 2026: one week, one label."""
    with db.session() as s:
        cam = Camera(code="C1", name="C1", lat=0, lon=0, kecamatan="K", tags=["traffic"])
        s.add(cam)
        s.flush()
        rows = []
        for i in range(9):  # 27 Dec 2026 .. 4 Jan 2027
            day = date(2026, 12, 27) + timedelta(days=i)
            bucket = (datetime(day.year, day.month, day.day) - WIB).replace(tzinfo=UTC)
            rows.append({"camera_id": cam.id, "period": "day", "bucket": bucket, "samples": 1,
                         "flow_in_sum": 10 ** (1 if i == 0 else 2 if i < 8 else 3),
                         "flow_out_sum": 0})  # fmt: skip
        s.execute(insert(ObservationRollup.__table__), rows)
        refresh_area_rollups(s)
        trends._area_checked.clear()
        start, end = trends.local_range(date(2026, 12, 27), date(2027, 1, 4))
        df = trends.trend(s, trends.TrendFilter(start, end, "week"))
    assert df["period"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
    ]
    assert df["flow"].tolist() == [10.0, 700.0, 1000.0]
    assert [_compare.period_label(p, "week") for p in df["period"]] == [
        "Mg 52 · 21/12/2026",
        "Mg 53 · 28/12/2026",
        "Mg 1 · 04/01/2027",
    ]


@pytest.mark.parametrize(
    ("first", "last", "mode", "expected"),
    [
        # leap day: a year earlier there is no 29 Feb
        (date(2028, 2, 29), date(2028, 2, 29), "year", (date(2027, 2, 28), date(2027, 2, 28))),
        # the end of March a month earlier is the end of February (leap year)
        (date(2028, 3, 29), date(2028, 3, 31), "month", (date(2028, 2, 29), date(2028, 2, 29))),
        (date(2026, 3, 1), date(2026, 3, 31), "month", (date(2026, 2, 1), date(2026, 2, 28))),
        (
            date(2026, 11, 1),
            date(2026, 11, 29),
            "previous",
            (date(2026, 10, 3), date(2026, 10, 31)),
        ),
        (date(2027, 1, 1), date(2027, 1, 7), "year", (date(2026, 1, 1), date(2026, 1, 7))),
    ],
)
def test_compare_ranges(first, last, mode, expected):
    assert _compare.compare_days(first, last, mode) == expected


def test_change_colour_follows_the_metric():
    assert _compare.change_badge(130, 100, "vs", "wet").className == "pantau-delta-bad"
    assert _compare.change_badge(70, 100, "vs", "wet").className == "pantau-delta-good"
    assert _compare.change_badge(130, 100, "vs", "flow").className == "pantau-delta-neutral"
    assert _compare.change_badge(70, 100, "vs", "people").className == "pantau-delta-neutral"
    assert _compare.change_badge(102, 100, "vs", "wet").className == "pantau-delta-flat"
    # +89 % but less than one vehicle more in view: not worth a colour when asked so
    quiet = _compare.change_badge(1.7, 0.9, "vs", "vehicles", min_abs=1.0)
    assert quiet.className == "pantau-delta-flat" and "+89 %" in str(quiet.children)


def test_units_say_what_and_per_what_time():
    assert _compare.unit("flow", "hour") == "kendaraan/jam"
    assert _compare.unit("flow", "month") == "kendaraan/bulan"
    assert _compare.unit("people") == "orang rata-rata per kamera per sampel"
    assert _compare.unit("wet") == "% waktu tergenang"
    assert "kamera-periode" not in {_compare.unit(m, g) for m in trends.METRICS for g in
                                    trends.GRANULARITIES}  # fmt: skip


def test_export_name_and_header_carry_the_filters(analyst_db):
    db, _ = analyst_db
    _fig, _k, payload, *_ = traffic.update_traffic(
        "2026-11-01", "2026-11-29", "day", ["Ilir Timur I"], ["PLG-CHR-01"], "flow", "year",
        db=db, now=NOW,
    )  # fmt: skip
    out = _trend.download("traffic-download-csv", payload, None, "lalu-lintas")
    assert out["filename"] == (
        "pantau-lalu-lintas-flow-2026-11-01_2026-11-29-day-vs-year-kec-ilir-timur-i"
        "-cam-plg-chr-01.csv"
    )
    lines = out["content"].splitlines()
    header = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    assert header["Halaman"] == "Lalu Lintas"
    assert header["Ukuran"] == "Kendaraan melintas (kendaraan/hari)"
    assert header["Periode"] == "2026-11-01 – 2026-11-29 (WIB)"
    assert header["Dibandingkan dengan"] == (
        "Periode sama tahun lalu: 2025-11-01 – 2025-11-29 (WIB)"
    )
    assert header["Kecamatan"] == "Ilir Timur I" and header["Kamera"] == "PLG-CHR-01"
    assert header["Rincian"] == "Hari"
    assert header["Dibuat"].endswith("WIB") and header["Versi Pantau"]
    table = pd.read_csv(io.StringIO(out["content"]), comment="#")
    assert len(table) == 29


@pytest.mark.parametrize(("mode", "expected_prev"), [("month", 2), ("previous", 3)])
def test_incidents_compared_with_last_month(db, mode, expected_prev):
    """More incidents is bad: red. Nov 1-29: 3; Oct 1-29: 2; 30 Oct adds one to the previous
    period (3-31 Oct) but not to the same days last month."""
    from dashboard.callbacks import security
    from store.models import Incident

    days = [date(2026, 11, 2), date(2026, 11, 15), date(2026, 11, 29),  # this period
            date(2026, 10, 5), date(2026, 10, 29), date(2026, 10, 30)]  # fmt: skip
    with db.session() as s:
        for d in days:
            at = (datetime(d.year, d.month, d.day, 10) - WIB).replace(tzinfo=UTC)
            s.add(Incident(kind="crime", source="police", title="Uji", lat=-2.98, lon=104.75,
                           kecamatan="Plaju", occurred_at=at))  # fmt: skip
    _fig, tiles, payload, *_ = security.update_security(
        "2026-11-01", "2026-11-29", "month", None, None, None, mode, db=db
    )
    current = sum(1 for d in days if date(2026, 11, 1) <= d <= date(2026, 11, 29))
    assert current == 3
    assert payload["table"][0][-2] == expected_prev  # the compared column
    badge = tiles[1].children.children.children[2].children
    change = (current - expected_prev) / expected_prev * 100
    assert float(badge.__dict__["data-change"]) == pytest.approx(change, abs=0.05)
    assert badge.className == ("pantau-delta-bad" if change >= 5 else "pantau-delta-flat")
    assert payload["table"][0][0] == "2026-11"


def test_camera_page_profile_and_daily_means(analyst_db):
    """The camera page: Charitas' hour x weekday profile over the last 28 days (2-29 Nov), and
    the 30-day counts as one mean per day instead of 720 hourly points."""
    from dashboard.callbacks import camera

    db, seeded = analyst_db
    heat, note = camera.update_profile("PLG-CHR-01", db=db, today=date(2026, 11, 29))
    z = heat["data"][0]["z"]
    sat_14 = [f for t, f in seeded["CHR"] if t.year == 2026 and date(2026, 11, 2) <= t.date()
              and t.weekday() == 5 and t.hour == 14]  # fmt: skip
    assert z[5][14] == pytest.approx(sum(sat_14) / len(sat_14))
    assert "kendaraan/jam" in note and "02/11/2026–29/11/2026" in note
    fig = camera.update_counts(
        30, "PLG-CHR-01", db=db, now=datetime(2026, 11, 29, 17, tzinfo=UTC) - WIB
    )
    vehicles = next(tr for tr in fig.data if tr.name == "Kendaraan terlihat")
    # 30 x 24 hours back from 29 Nov 17:00 WIB start on 30 Oct 17:00 WIB: the local days
    # 30 Oct .. 29 Nov, 31 of them (the first and last partial)
    first, last = date(2026, 10, 30), date(2026, 11, 29)
    assert len(vehicles.x) == (last - first).days + 1 == 31
