"""Trend callbacks (traffic, flood) on a real store filled with known rollups."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from known_data import NOW

from dashboard.callbacks import _trend, flood, traffic
from dashboard.queries import trends


def _fig(fig) -> go.Figure:
    """Trend figures are plain dicts (fast); wrap them to read them like Plotly figures."""
    return go.Figure(fig) if isinstance(fig, dict) else fig


def _trace(fig, name_part: str):
    fig = _fig(fig)
    for trace in fig.data:
        if name_part in (trace.name or ""):
            return trace
    raise AssertionError(f"no trace named like {name_part!r}: {[t.name for t in _fig(fig).data]}")


def test_daily_flow_current_previous_and_usual(known_any_db):
    fig, kpis, payload, _note, gran = traffic.update_traffic(
        "2026-11-10", "2026-11-16", "day", None, None, "flow", db=known_any_db, now=NOW
    )
    assert gran == "day"
    current = _trace(fig, "Periode ini")
    assert list(current.y) == [720.0] * 7
    assert [pd.Timestamp(x).strftime("%Y-%m-%d") for x in current.x][0] == "2026-11-10"
    assert list(_trace(fig, "sebelumnya").y) == [720.0] * 7
    assert list(_trace(fig, "Biasanya").y) == [720.0] * 7
    assert len(payload["rows"]) == 7
    assert payload["rows"][0]["previous_period"] == "2026-11-03 00:00"
    # the total tile says 7 x 720 = 5.040 vehicles
    assert "5.040" in str(kpis[0])


def test_hourly_flow_is_per_local_hour(known_db):
    fig, *_rest, gran = traffic.update_traffic(
        "2026-11-12", "2026-11-13", "hour", None, None, "flow", db=known_db, now=NOW
    )
    current = _trace(fig, "Periode ini")
    assert gran == "hour"
    assert len(current.y) == 48 and set(current.y) == {30.0}
    assert pd.Timestamp(current.x[0]).strftime("%Y-%m-%d %H:%M") == "2026-11-12 00:00"


def test_week_and_month_are_summed_from_daily_rollups(known_any_db):
    fig, *_ = traffic.update_traffic(
        "2026-11-02", "2026-11-15", "week", None, None, "flow", db=known_any_db, now=NOW
    )
    current = _trace(fig, "Periode ini")
    # ISO weeks named by number and Monday; 2 Nov 2026 is the Monday of ISO week 45
    assert list(current.x) == ["Mg 45 · 02/11/2026", "Mg 46 · 09/11/2026"]
    assert list(current.y) == [7 * 720.0, 7 * 720.0]
    fig, *_ = traffic.update_traffic(
        "2026-09-01", "2026-10-31", "month", None, None, "flow", db=known_any_db, now=NOW
    )
    current = _trace(fig, "Periode ini")
    assert list(current.x) == ["Sep 2026", "Okt 2026"]
    assert list(current.y) == [30 * 720.0, 31 * 720.0]


def test_kecamatan_and_camera_filters(known_db):
    fig, *_ = traffic.update_traffic(
        "2026-11-10", "2026-11-11", "day", ["Kemuning"], None, "flow", db=known_db, now=NOW
    )
    assert list(_trace(fig, "Periode ini").y) == [240.0, 240.0]
    fig, *_ = traffic.update_traffic(
        "2026-11-10", "2026-11-11", "day", None, ["CAM-B"], "flow", db=known_db, now=NOW
    )
    assert list(_trace(fig, "Periode ini").y) == [480.0, 480.0]


def test_average_metric_is_mean_per_camera(known_db):
    fig, *_ = traffic.update_traffic(
        "2026-11-10", "2026-11-12", "day", None, None, "vehicles", db=known_db, now=NOW
    )
    assert list(_trace(fig, "Periode ini").y) == [6.0, 6.0, 6.0]


def test_area_table_and_camera_table_agree(known_any_db):
    start, end = trends.local_range(
        pd.Timestamp("2026-11-01").date(), pd.Timestamp("2026-11-20").date()
    )
    base = trends.TrendFilter(start, end, "day", metrics=("flow", "people", "water_max"))
    with known_any_db.session() as s:
        area = trends.trend(s, base)
        per_camera = trends.trend(
            s,
            trends.TrendFilter(start, end, "day", cameras=("CAM-A", "CAM-B"), metrics=base.metrics),
        )
    pd.testing.assert_frame_equal(area.drop(columns="samples"), per_camera.drop(columns="samples"))


def test_hourly_is_refused_for_long_ranges(known_db):
    _fig, _k, payload, note, gran = traffic.update_traffic(
        "2026-09-01", "2026-11-20", "hour", None, None, "flow", db=known_db, now=NOW
    )
    assert gran == "day"
    assert len(payload["rows"]) == 81
    assert "31 hari" in str(note)


def test_partial_period_is_marked(known_db):
    fig, *_ = traffic.update_traffic(
        "2026-11-10", "2026-11-12", "day", None, None, "flow", db=known_db,
        now=pd.Timestamp("2026-11-12T05:00Z").to_pydatetime(),
    )  # fmt: skip
    assert any("sementara" in (a.text or "") for a in _fig(fig).layout.annotations)


def test_top_locations_and_map_layer(known_db):
    top, geo, hideout, payload = traffic.update_traffic_locations(
        "2026-11-10", "2026-11-16", "day", None, None, "flow", db=known_db
    )
    assert [r["code"] for r in payload["rows"]] == ["CAM-B", "CAM-A"]
    assert [r["value"] for r in payload["rows"]] == [7 * 480.0, 7 * 240.0]
    assert hideout == {"max": 7 * 480.0}
    values = {f["properties"]["c"]: f["properties"]["v"] for f in geo["features"]}
    assert values == {"CAM-A": 1680.0, "CAM-B": 3360.0}
    assert list(_fig(top).data[0].x) == [
        1680.0,
        3360.0,
    ]  # bars drawn smallest first (top at the top)


def test_flood_counts_flooded_camera_hours_and_days(known_any_db):
    fig, *_ = flood.update_flood(
        "2026-11-12", "2026-11-12", "hour", None, None, "wet", db=known_any_db, now=NOW
    )
    # % of camera-hours flooded: CAM-B (1 of the 2 cameras) is wet 15:00-17:59 WIB on 12 Nov
    wet = list(_trace(fig, "Periode ini").y)
    assert wet[15:18] == [50.0, 50.0, 50.0] and sum(wet) == 150.0
    fig, *_ = flood.update_flood(
        "2026-11-11", "2026-11-13", "day", None, None, "wet", db=known_any_db, now=NOW
    )
    # 3 wet camera-hours of 2 cameras x 24 hours on 12 Nov = 6.25 % of the time
    assert list(_trace(fig, "Periode ini").y) == [0.0, 6.25, 0.0]
    fig, *_ = flood.update_flood(
        "2026-11-11", "2026-11-13", "day", None, None, "water_max", db=known_any_db, now=NOW
    )
    assert list(_trace(fig, "Periode ini").y) == [0.0, 50.0, 0.0]


def test_csv_download_is_the_table_on_screen(known_db):
    _fig, _k, payload, *_ = traffic.update_traffic(
        "2026-11-10", "2026-11-12", "day", ["Plaju"], None, "flow", db=known_db, now=NOW
    )
    out = _trend.download("traffic-download-csv", payload, None, "lalu-lintas")
    assert out["filename"] == (
        "pantau-lalu-lintas-flow-2026-11-10_2026-11-12-day-vs-previous-kec-plaju.csv"
    )
    frame = pd.read_csv(io.StringIO(out["content"]), comment="#")
    assert list(frame.iloc[:, 0]) == ["2026-11-10 00:00", "2026-11-11 00:00", "2026-11-12 00:00"]
    assert list(frame.iloc[:, 1]) == [480.0, 480.0, 480.0]
    assert "kendaraan" in frame.columns[1]


def test_excel_download_has_trend_top_and_notes(known_db):
    args = ("2026-11-10", "2026-11-12", "day", None, None, "flow")
    _fig, _k, payload, *_ = traffic.update_traffic(*args, db=known_db, now=NOW)
    *_x, top_payload = traffic.update_traffic_locations(*args, db=known_db)
    out = _trend.download("traffic-download-xlsx", payload, top_payload, "lalu-lintas")
    import base64

    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(out["content"])))
    assert book.sheetnames == ["Tren", "Lokasi teratas", "Keterangan"]
    trend_rows = list(book["Tren"].iter_rows(values_only=True))
    assert trend_rows[0][:2] == ("Halaman", "Lalu Lintas")
    head = [i for i, r in enumerate(trend_rows) if str(r[0]).startswith("Periode (")][0]
    assert [r[1] for r in trend_rows[head + 1 :]] == [720, 720, 720]
    top_rows = list(book["Lokasi teratas"].iter_rows(values_only=True))
    assert [r[0] for r in top_rows[1:]] == ["CAM-B", "CAM-A"]


@pytest.mark.parametrize("gran", ["hour", "day", "week", "month"])
def test_every_granularity_renders(known_db, gran):
    fig, kpis, payload, _note, shown = traffic.update_traffic(
        "2026-11-01", "2026-11-20", gran, None, None, "people", db=known_db, now=NOW
    )
    assert shown == gran
    assert len(kpis) == 4
    assert payload["rows"] and all(r["value"] == 8.0 / 2 for r in payload["rows"])


def test_flood_top_locations_count_days_flooded(known_db):
    _top, geo, _hideout, payload = flood.update_flood_locations(
        "2026-11-10", "2026-11-16", "hour", None, None, "wet", db=known_db
    )
    assert payload["rows"] == [
        {"code": "CAM-B", "name": "Jalan Uji B", "kecamatan": "Plaju", "value": 1.0}
    ]
    labels = {f["properties"]["c"]: f["properties"]["label"] for f in geo["features"]}
    assert labels["CAM-B"] == "1 hari tergenang" and labels["CAM-A"] == "0 hari tergenang"


@pytest.mark.parametrize(
    ("gran", "first", "last"),
    [("hour", "2026-11-12", "2026-11-13"), ("day", "2026-10-20", "2026-11-16")],
)
def test_one_query_window_matches_separate_queries(known_db, gran, first, last):
    start, end = trends.local_range(pd.Timestamp(first).date(), pd.Timestamp(last).date())
    f = trends.TrendFilter(start, end, gran, metrics=("flow", "wet"))
    with known_db.session() as s:
        current, previous, usual = trends.trend_with_context(s, f)
        pd.testing.assert_frame_equal(current, trends.trend(s, f))
        pd.testing.assert_frame_equal(previous, trends.previous_period(s, f))
        pd.testing.assert_frame_equal(usual, trends.usual_profile(s, f))


@pytest.mark.parametrize(
    ("first", "last"),
    [("2026-09-01", "2026-11-30"), ("2026-09-10", "2026-11-20"), ("2026-09-15", "2026-11-15")],
)
def test_monthly_camera_ranking_equals_daily(known_any_db, monkeypatch, first, last):
    """Long ranges rank cameras from monthly sums plus edge days: same numbers as days only."""
    start, end = trends.local_range(pd.Timestamp(first).date(), pd.Timestamp(last).date())
    f = trends.TrendFilter(start, end, "day")
    with known_any_db.session() as s:
        monthly = {m: trends.camera_values(s, f, m) for m in trends.METRICS}
        monkeypatch.setattr(trends, "MONTHLY_RANKING_DAYS", 10_000)
        for metric, frame in monthly.items():
            daily = trends.camera_values(s, f, metric)
            pd.testing.assert_frame_equal(frame, daily, check_dtype=False, obj=metric)
    days = (pd.Timestamp(last) - pd.Timestamp(first)).days + 1
    assert monthly["flow"]["value"].tolist() == [480.0 * days, 240.0 * days]
    assert monthly["wet"]["value"].tolist()[0] == 1.0


def test_database_made_before_the_derived_tables_gets_them(known_db):
    """An older database (initial migration without the derived tables) is completed once."""
    from sqlalchemy import inspect, text

    with known_db.engine.begin() as conn:
        conn.execute(text("DROP TABLE camera_month_rollups"))
        conn.execute(text("DROP TABLE area_rollups"))
    trends._area_checked.clear()
    fig, *_ = traffic.update_traffic(
        "2026-09-01", "2026-11-30", "month", None, None, "flow", db=known_db, now=NOW
    )
    assert list(_trace(fig, "Periode ini").y) == [30 * 720.0, 31 * 720.0, 30 * 720.0]
    assert {"area_rollups", "camera_month_rollups"} <= set(
        inspect(known_db.engine).get_table_names()
    )
    *_x, payload = traffic.update_traffic_locations(
        "2026-09-01", "2026-11-30", "month", None, None, "flow", db=known_db
    )
    assert [r["value"] for r in payload["rows"]] == [91 * 480.0, 91 * 240.0]
