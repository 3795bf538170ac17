"""A demo that tells the truth: the headline compares like with like, and the simulated scenes
and the seeded history follow one clock (analytics/demo_model.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from analytics import demo_model
from analytics.synthetic import SyntheticScene
from dashboard.queries import trends
from store.models import Camera, ObservationRollup
from store.rollups import refresh_area_rollups


def test_vs_usual_compares_the_same_cameras(db):
    """Only camera A reports now; B reported in the past weeks: the usual is A's alone."""
    now = datetime(2026, 11, 30, 5, 20, tzinfo=UTC)
    latest = now.replace(minute=0)
    with db.session() as s:
        a = Camera(code="A", name="A", lat=0, lon=0, kecamatan="K1")
        b = Camera(code="B", name="B", lat=0, lon=0, kecamatan="K2")
        s.add_all([a, b])
        s.flush()
        rows = [
            {
                "camera_id": a.id,
                "period": "hour",
                "bucket": latest,
                "samples": 20,
                "vehicles_avg": 10.0,
                "people_avg": 4.0,
                "vehicles_n": 20,
                "people_n": 20,
            }
        ]
        for k, (va, vb) in enumerate([(8.0, 100.0), (12.0, 100.0), (8.0, 90.0), (12.0, 90.0)]):
            bucket = latest - timedelta(weeks=k + 1)
            for cam, v in ((a, va), (b, vb)):
                rows.append({"camera_id": cam.id, "period": "hour", "bucket": bucket,
                             "samples": 60, "vehicles_avg": v, "people_avg": 2.0,
                             "vehicles_n": 60, "people_n": 60})  # fmt: skip
        s.execute(insert(ObservationRollup.__table__), rows)
        refresh_area_rollups(s)
        trends._area_checked.clear()
        out = trends.now_vs_usual(s, now)
    assert out["vehicles"][0] == 10.0
    assert out["vehicles"][1] == pytest.approx((8 + 12 + 8 + 12) / 4)  # A only: 10
    assert out["people"][1] == pytest.approx(2.0)


def _truth_mean(scene: SyntheticScene, t0: float, seconds: float = 600) -> tuple[float, float]:
    v, p = [], []
    for t in np.arange(t0, t0 + seconds, 7.0):
        _img, truth = scene.frame_at(float(t))
        v.append(sum(truth.vehicles.values()))
        p.append(truth.people)
    return float(np.mean(v)), float(np.mean(p))


def _epoch(local: datetime) -> float:
    return (local - timedelta(hours=7)).replace(tzinfo=UTC).timestamp()


def test_simulated_street_follows_the_city_clock():
    """Monday 17:15 WIB (evening peak) against Monday 03:15 WIB: the scene empties at night."""
    clock = demo_model.activity_clock(_epoch(datetime(2026, 11, 30, 17, 15)), 7)
    peak = _truth_mean(SyntheticScene("street", 1001, activity=clock), 0)
    clock = demo_model.activity_clock(_epoch(datetime(2026, 11, 30, 3, 15)), 7)
    night = _truth_mean(SyntheticScene("street", 1001, activity=clock), 0)
    full = _truth_mean(SyntheticScene("street", 1001), 0)
    assert peak[0] > 0.8 * full[0]  # the evening peak is close to the full scene
    assert night[0] < 0.25 * peak[0] and night[1] < 0.25 * peak[1]


def test_seeded_history_follows_the_same_shares_as_the_scene():
    """The seed's expected value for a street camera is the measured full scene times the share
    of the scene's movers shown at that hour: peak/night ratio as in the scene's ground truth."""
    scene = SyntheticScene("street", 1001)
    shown = demo_model.shown_shares(*scene.mover_ranks())
    v_peak, _p, _f = demo_model.expected("street", 17.25, 0, shown)
    v_night, _p, _f = demo_model.expected("street", 3.25, 0, shown)
    labels, ranks = scene.mover_ranks()
    vehicles = [r for r, lb in zip(ranks, labels, strict=True) if lb != "person"]
    lv_peak = demo_model.traffic_level(17.25, 0)
    lv_night = demo_model.traffic_level(3.25, 0)
    share_peak = sum(r < lv_peak for r in vehicles) / len(vehicles)
    share_night = sum(r < lv_night for r in vehicles) / len(vehicles)
    full = demo_model.MEASURED_FULL["street"][0]
    assert float(v_peak) == pytest.approx(full * share_peak)
    assert float(v_night) == pytest.approx(full * share_night)


def test_simulator_and_seed_give_each_camera_the_same_scene():
    tags = [["crowd", "flood"], ["traffic"], ["crowd", "traffic"], ["traffic", "flood"]]
    assert demo_model.scene_kinds(tags) == ["flood", "street", "crowd", "street"]
    assert demo_model.scene_kinds(tags + [["crowd"]], has_video=True)[4] == "video"


def test_flood_scene_and_seeded_water_share_one_weather():
    """A simulated flood camera shows the water the seeded history holds for that hour: wet
    in a storm's aftermath, dry otherwise (no more flooding every 15 minutes)."""
    end = datetime(2026, 11, 29, 19, tzinfo=UTC)
    hours = [end - timedelta(hours=i) for i in range(24 * 30, 0, -1)]
    water = demo_model.water_from_rain(demo_model.rain_series(hours), demo_model.susceptibility(4))
    wet = int(np.argmax(water > 0.5))
    dry = int(np.argmax(water == 0))
    assert water[wet] > 0.5 and water[dry] == 0
    for i in (wet, dry):
        clock = demo_model.water_clock(hours[i].timestamp(), 4)
        _img, truth = SyntheticScene("flood", 1004, water=clock).frame_at(600.0)
        assert truth.water_fraction == pytest.approx(water[i], abs=0.1)
