"""Things that stand still (issue 13 item 3): a person standing still, a parked car, a bag
dropped in a no-dumping zone stay counted at the production cadence (one sample a minute) and
their dwell grows; a global lighting change does not invent standing people; the long-term
background travels with the portable state.

Truth comes from the synthetic scene's spec (``SyntheticScene(still=...)``: what stands where
from when), never from the analyser. Before the long-term background the blob detector
absorbed anything that stayed put within ~15 samples (``static_after=4``, then the
background's rate), so every "still counted after 30 samples" check below failed.
"""

from __future__ import annotations

import math

import pytest

from analytics.pipeline import Analyser
from analytics.synthetic import SceneTruth, StillObject, SyntheticScene
from analytics.types import AnalyticsConfig

T0 = 1_764_000_000.0  # epoch seconds of the first sample
STEP = 60.0  # one sample a minute (production cadence)
NO_PARKING = {
    "name": "bahu",
    "kind": "no_parking",
    "points": [[0.40, 0.62], [0.85, 0.62], [0.85, 0.80], [0.40, 0.80]],
}
NO_DUMPING = {
    "name": "sampah",
    "kind": "no_dumping",
    "points": [[0.70, 0.84], [0.95, 0.84], [0.95, 1.0], [0.70, 1.0]],
}


def _config(scene: SyntheticScene) -> dict:
    cfg = scene.analytics_config()
    cfg["rois"] = [*cfg["rois"], NO_PARKING, NO_DUMPING]
    return cfg


def _run(scene: SyntheticScene, n: int, analyser: Analyser | None = None, portable=False):
    """n samples a minute apart; ``portable``: the state moves to a new Analyser each time."""
    cfg = _config(scene)
    a = analyser or Analyser(cfg, detector="blob")
    out: list[tuple[SceneTruth, object]] = []
    for i in range(n):
        frame, truth = scene.frame_at(i * STEP)
        if portable and i:
            blob = a.export_state()
            a = Analyser(cfg, detector="blob")
            assert a.load_state(blob, (frame.shape[1], frame.shape[0]))
        out.append((truth, a.analyse(frame, ts=T0 + i * STEP)))
    return out


def _roi(result, name):
    return next(r for r in result.rois if r.name == name)


def test_person_standing_still_for_30_samples_stays_counted():
    # a quiet street; someone stands on the near pavement from minute 10 to minute 45
    scene = SyntheticScene("quiet", seed=5, still=[StillObject("person", 0.3, 0.9, 600, 2700)])
    rows = _run(scene, 50)
    during = [(t, r) for t, r in rows[12:45] if r.counts_known]  # 2 samples after arriving
    assert len(during) >= 30  # 30+ samples at one a minute
    assert all(t.people == 1 and t.people_standing == 1 for t, _ in during)
    counted = sum(1 for _, r in during if r.people >= 1)
    standing = sum(1 for _, r in during if r.people_standing >= 1)
    assert counted >= 0.9 * len(during), [r.people for _, r in during]
    assert standing >= 0.9 * len(during)
    assert all(r.people <= 2 for _, r in during)
    # the last samples of the stay (30+ minutes in): still there; before and after: nobody
    assert all(r.people >= 1 and r.people_standing >= 1 for _, r in during[-5:])
    before = [r for _, r in rows[8:10] if r.counts_known]
    after = [r for _, r in rows[47:] if r.counts_known]
    assert before and all(r.people == 0 for r in before)
    assert after and all(r.people == 0 for r in after)
    d = rows[30][1].to_dict()
    assert d["people_standing"] + d["people_moving"] == d["people"]


def test_parked_car_stays_parked_and_its_dwell_grows():
    # a car parks in the no-parking ROI at minute 10 and leaves at minute 40
    scene = SyntheticScene(
        "quiet", seed=6, still=[StillObject("car", 0.62, 0.76, 600, 2400, (40, 160, 40))]
    )
    rows = _run(scene, 46)
    parked = [(i, r) for i, (_, r) in enumerate(rows) if 12 <= i < 40]
    assert sum(1 for _, r in parked if r.vehicles_parked == 1) >= 0.9 * len(parked)
    dwell = [_roi(r, "bahu").dwell_s for _, r in parked]
    assert all(b >= a for a, b in zip(dwell, dwell[1:], strict=False)), dwell  # never shrinks
    for i, r in parked[-5:]:
        truth = i * STEP - 600  # seconds since it parked
        assert abs(_roi(r, "bahu").dwell_s - truth) <= 2 * STEP, (i, _roi(r, "bahu").dwell_s)
        assert _roi(r, "bahu").parked == 1
    # 12 minutes in: "a vehicle dwelled 12 minutes in the no-parking ROI"
    assert abs(_roi(rows[22][1], "bahu").dwell_s - 720) <= 2 * STEP
    # gone: no parked vehicle, no dwell, within two samples
    for _, r in rows[42:]:
        assert r.vehicles_total == 0 and _roi(r, "bahu").dwell_s == 0


def test_bag_dropped_in_a_no_dumping_roi_is_a_new_static_object():
    scene = SyntheticScene(
        "street", seed=7, still=[StillObject("object", 0.82, 0.95, 900, math.inf, (25, 25, 25))]
    )
    rows = _run(scene, 45)
    before = [r for _, r in rows[8:15] if r.counts_known]
    assert before and all(_roi(r, "sampah").objects == 0 for r in before)
    after = [(i, r) for i, (_, r) in enumerate(rows) if i >= 18]
    seen = [_roi(r, "sampah").objects >= 1 for _, r in after]
    assert sum(seen) >= 0.9 * len(seen), seen
    i, last = after[-1]
    truth = i * STEP - 900
    assert abs(_roi(last, "sampah").object_dwell_s - truth) <= 3 * STEP
    assert _roi(last, "sampah").object_dwell_s >= 20 * 60  # "stayed N minutes"
    # a bag is neither a person nor a vehicle
    assert all(_roi(r, "sampah").people == 0 for _, r in after[-5:])


@pytest.mark.parametrize("gain", [0.6, 1.35])
def test_lighting_change_invents_no_standing_people(gain):
    # quiet street; a car parks at minute 15; at minute 40 the light changes at once (dusk,
    # clouds, auto exposure): nobody appears standing, nothing appears dumped, the car stays
    # parked
    scene = SyntheticScene(
        "quiet",
        seed=8,
        still=[StillObject("car", 0.62, 0.76, 900, math.inf, (40, 40, 160))],
        gain=lambda t: 1.0 if t < 2400 else gain,
    )
    rows = _run(scene, 70)
    known_after = [r for _, r in rows[40:] if r.counts_known]
    assert len(known_after) >= 20
    assert all(r.people == 0 and r.people_standing == 0 for r in known_after)
    assert all(r.static_objects == 0 for r in known_after)
    assert all(r.vehicles_total <= 1 for r in known_after)
    parked = sum(1 for r in known_after if r.vehicles_parked == 1)
    assert parked >= 0.9 * len(known_after)


def test_state_round_trip_keeps_standing_counts_and_dwell():
    still = [
        StillObject("person", 0.25, 0.9, 300, 2000),
        StillObject("car", 0.62, 0.76, 420, math.inf, (40, 160, 40)),
    ]
    scene = SyntheticScene("quiet", seed=9, still=still)
    live = _run(scene, 30)
    moved = _run(scene, 30, portable=True)
    for (_, a), (_, b) in zip(live, moved, strict=True):
        assert (a.people, a.people_standing, a.vehicles_total, a.vehicles_parked) == (
            b.people,
            b.people_standing,
            b.vehicles_total,
            b.vehicles_parked,
        )
        assert _roi(a, "bahu").dwell_s == _roi(b, "bahu").dwell_s
    assert live[-1][1].vehicles_parked == 1 and _roi(live[-1][1], "bahu").dwell_s > 15 * 60


def test_roi_kinds_are_validated_with_clear_errors():
    ok = AnalyticsConfig.from_dict({"rois": [NO_PARKING, NO_DUMPING]})
    assert [r.kind for r in ok.rois] == ["no_parking", "no_dumping"]
    bad = {**NO_PARKING, "kind": "no-parking"}
    with pytest.raises(ValueError, match="underscore"):
        AnalyticsConfig.from_dict({"rois": [bad]})
    with pytest.raises(ValueError, match="no_dumping"):
        AnalyticsConfig.from_dict({"rois": [{**NO_PARKING, "kind": "parkir"}]})
