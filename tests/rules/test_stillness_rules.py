"""Illegal parking (``vehicle_dwell``) and illegal dumping (``illegal_dumping``) rules on a
recorded sequence (issue 13): a synthetic quiet street, one sample a minute, where a car parks
in the no-parking ROI from minute 12 to minute 40 and a bag is dropped in the no-dumping ROI at
minute 18 and stays. The samples are what the analytics measured (``Analyser`` ->
``observation_row``, as ingestion stores them), fed to the alert engine one batch a sample.

Expected times come from the scene's spec (when the car parked and left, when the bag was
dropped) and the rules (10 / 15 minutes), with two samples of margin. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import functools
import math
from datetime import timedelta

import pytest

from analytics.pipeline import Analyser
from analytics.synthetic import StillObject, SyntheticScene
from ingestion.alerts import DUMPING, DWELL, AlertEngine
from ingestion.process import SampleResult, observation_row
from store.rules.schema import RuleInvalid, parse_rule
from tests.rules.rule_helpers import MIN, T0, alerts, camera, install

PARK_AT, LEAVE_AT, DROP_AT = 12, 40, 18  # minutes
SAMPLES = 50

PARKING = {
    "name": "parkir-uji",
    "kind": "vehicle_dwell",
    "scope": {"type": "city"},
    "levels": [{"name": "parkir_liar", "severity": "warning", "at": 10}],
    "hysteresis": {"ratio": 1.0, "clear_s": 120},
    "cooldown_s": 600,
    "title": "Kendaraan berhenti {value} di {name}",
    "detail": "Sejak {since} di {roi}.",
}
DUMPING_RULE = {
    "name": "sampah-uji",
    "kind": "illegal_dumping",
    "scope": {"type": "city"},
    "levels": [{"name": "sampah_liar", "severity": "warning", "at": 15}],
    "hysteresis": {"ratio": 1.0, "clear_s": 300},
    "title": "Benda diam {value} di {name}",
    "detail": "{objects} benda sejak {since} di {roi}.",
}


@functools.cache
def recording() -> tuple[tuple[int, dict], ...]:
    """(minute, observation row) of every sample, measured once per test session."""
    scene = SyntheticScene(
        "quiet",
        seed=11,
        still=[
            StillObject("car", 0.62, 0.76, PARK_AT * 60, LEAVE_AT * 60, (40, 160, 40)),
            StillObject("object", 0.82, 0.95, DROP_AT * 60, math.inf, (25, 25, 25)),
        ],
    )
    cfg = scene.analytics_config()
    cfg["rois"] += [
        {"name": "bahu", "kind": "no_parking",
         "points": [[0.40, 0.62], [0.85, 0.62], [0.85, 0.80], [0.40, 0.80]]},
        {"name": "sampah", "kind": "no_dumping",
         "points": [[0.70, 0.84], [0.95, 0.84], [0.95, 1.0], [0.70, 1.0]]},
    ]  # fmt: skip
    analyser = Analyser(cfg, detector="blob")
    rows = []
    for minute in range(SAMPLES):
        frame, _ = scene.frame_at(minute * 60.0)
        ts = T0 + minute * MIN
        result = analyser.analyse(frame, ts=ts.timestamp())
        rows.append(
            (minute, observation_row(0, ts, result, None, counts_known=result.counts_known))
        )
    return tuple(rows)


def _feed(db, engine, cam_id, code, upto, start=0):  # noqa: ANN001
    """Samples of minutes [start, upto), one batch each."""
    for minute, row in recording():
        if minute < start:
            continue
        if minute >= upto:
            break
        obs = {**row, "camera_id": cam_id}
        sample = SampleResult(
            cam_id, code, T0 + minute * MIN, obs, evidence_jpeg=b"\xff\xd8x\xff\xd9"
        )
        with db.session() as s:
            engine.evaluate(s, [sample])


def _near(got, minute: float, margin: float = 2.0) -> bool:
    return abs((got - T0) / timedelta(minutes=1) - minute) <= margin


def test_recording_measures_the_parked_car_and_the_bag():
    rows = dict(recording())
    bahu = [next(r for r in rows[m]["extra"]["rois"] if r["name"] == "bahu") for m in (25, 35)]
    assert all(r["kind"] == "no_parking" and r["parked"] == 1 for r in bahu)
    assert abs(bahu[0]["dwell_s"] - (25 - PARK_AT) * 60) <= 120
    bag = next(r for r in rows[45]["extra"]["rois"] if r["name"] == "sampah")
    assert bag["objects"] >= 1 and abs(bag["object_dwell_s"] - (45 - DROP_AT) * 60) <= 180
    assert rows[45]["extra"]["static_objects"] >= 1


def test_car_parked_in_a_no_parking_roi_is_one_illegal_parking_alert(db, settings):
    install(db, PARKING)
    cam_id = camera(db, "PK-1", "Jl. Sudirman")
    engine = AlertEngine(settings, rules_ttl_s=0)
    _feed(db, engine, cam_id, "PK-1", PARK_AT + 8)
    assert alerts(db, DWELL) == []  # parked 8 minutes: below the 10-minute level
    _feed(db, engine, cam_id, "PK-1", PARK_AT + 13, PARK_AT + 8)
    [a] = alerts(db, DWELL)
    assert a.level == "parkir_liar" and a.severity == "warning" and a.ended_at is None
    assert a.dedup_key == "vehicle_dwell:roi:PK-1/bahu"  # the no_parking ROI, not 'jalan'
    assert _near(a.started_at, PARK_AT)  # started when the car parked, not at 10 minutes
    assert a.title.startswith("Kendaraan berhenti ") and "Jl. Sudirman (bahu)" in a.title
    assert a.evidence_path and a.evidence_sha256
    _feed(db, engine, cam_id, "PK-1", SAMPLES, PARK_AT + 13)
    [a] = alerts(db, DWELL)
    assert a.ended_at is not None and _near(a.ended_at, LEAVE_AT)  # closed when it left
    assert abs(a.value - (LEAVE_AT - PARK_AT)) <= 3  # peak dwell in minutes


def test_dwell_rule_for_other_classes_stays_quiet(db, settings):
    install(db, {**PARKING, "params": {"vehicle_classes": ["bus", "truck"]}})
    cam_id = camera(db, "PK-2", "Jl. Merdeka")
    _feed(db, AlertEngine(settings, rules_ttl_s=0), cam_id, "PK-2", SAMPLES)
    assert alerts(db, DWELL) == []  # a car stood there, not a bus or truck


def test_bag_dropped_in_a_no_dumping_roi_is_an_illegal_dumping_alert(db, settings):
    install(db, DUMPING_RULE)
    cam_id = camera(db, "SB-1", "Pasar 16")
    engine = AlertEngine(settings, rules_ttl_s=0)
    _feed(db, engine, cam_id, "SB-1", DROP_AT + 12)
    assert alerts(db, DUMPING) == []  # 12 minutes: below the 15-minute level
    _feed(db, engine, cam_id, "SB-1", SAMPLES, DROP_AT + 12)
    [a] = alerts(db, DUMPING)
    assert a.dedup_key == "illegal_dumping:roi:SB-1/sampah" and a.ended_at is None
    assert _near(a.started_at, DROP_AT)
    assert a.level == "sampah_liar" and "Pasar 16 (sampah)" in a.title
    assert a.detail.endswith("di sampah.") and a.detail[0].isdigit()
    assert abs(a.value - (SAMPLES - 1 - DROP_AT)) <= 3


def test_roi_scoped_rule_watches_only_its_roi(db, settings):
    install(db, {**PARKING, "scope": {"type": "roi", "value": "PK-3/jalan"}})
    cam_id = camera(db, "PK-3", "Jl. Veteran")
    _feed(db, AlertEngine(settings, rules_ttl_s=0), cam_id, "PK-3", SAMPLES)
    # the road ROI 'jalan' also holds the parked car: a ROI rule on it fires there only
    [a] = alerts(db, DWELL)
    assert a.dedup_key == "vehicle_dwell:roi:PK-3/jalan"


@pytest.mark.parametrize(
    "bad, field",
    [
        ({**PARKING, "levels": [{"name": "parkir_liar", "severity": "warning", "at": 0}]},
         "levels.0.at"),
        ({**DUMPING_RULE, "levels": [{"name": "sampah_liar", "severity": "info", "at": 2000}]},
         "levels.0.at"),
        ({**DUMPING_RULE, "levels": [{"name": "parkir_liar", "severity": "info", "at": 5}]},
         "levels.0.name"),
        ({**DUMPING_RULE, "params": {"min_objects": 0}}, "params.min_objects"),
        ({**DUMPING_RULE, "title": "{people} di {name}"}, "title"),
    ],
)  # fmt: skip
def test_bad_stillness_rules_name_the_field(bad, field):
    with pytest.raises(RuleInvalid) as exc:
        parse_rule(bad)
    assert any(p.startswith(field) for p in exc.value.problems), exc.value.problems
