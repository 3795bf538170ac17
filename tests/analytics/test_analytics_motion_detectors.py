"""Motion gate, detector registry, MediaPipe availability, people-count accuracy on vtest."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.detectors import (
    BackgroundBlobDetector,
    DetectorUnavailable,
    HogPeopleDetector,
    MediaPipeObjectDetector,
    available_detectors,
    make_detector,
)
from analytics.motion import MotionGate
from analytics.synthetic import SyntheticScene

# Accuracy is judged on the 29 HELD-OUT frames of the fixture only (split "holdout" in
# tests/data/vtest_people_counts.json: 6 counted after the first tuning, 23 of the 47 frames of
# the second counting batch; never used to choose parameters). Measured there (2026-11-29,
# with the long-term background and per-camera perspective; this dense cold-start mode: ~6 s
# at 2.5 fps into a fresh detector): blob 0.76, blob+hog 0.55, hog on motion regions 1.55
# (tuning frames: 0.74 / 0.55 / 1.55). The production cadence (one sample a minute) is
# tested in test_analytics_vtest_accuracy.py.
# Limit = measured + HOLDOUT_MARGIN (0.25: seven more people miscounted over the 29 frames),
# so codec/OpenCV differences pass and real regressions fail. No single frame (tune or
# held-out) may be off by more than MAX_FRAME_ERROR (measured: blob 3, blob+hog 2, hog 4).
HOLDOUT_MARGIN = 0.25
HOLDOUT_MAE_MEASURED = {"blob": 22 / 29, "blob+hog": 16 / 29, "hog": 45 / 29}
MAX_FRAME_ERROR = {"blob": 4, "blob+hog": 3, "hog": 6}


def test_motion_gate_sees_moving_object_and_ignores_lighting():
    scene = SyntheticScene("quiet", seed=1)
    still, _ = scene.frame_at(0.0)
    gate = MotionGate()
    assert gate.update(still).first_frame
    same, _ = scene.frame_at(0.5)  # new sensor noise only
    r = gate.update(same)
    assert not r.moving and r.ratio < 0.002

    # global brightness change (+35% gain, +10 offset): no motion reported
    brighter = np.clip(same.astype(np.float32) * 1.35 + 10, 0, 255).astype(np.uint8)
    r = gate.update(brighter)
    assert not r.regions, r
    assert r.ratio < 0.01

    # a 40x80 dark object appears: motion, with a region around it in full-frame pixels
    moved = brighter.copy()
    moved[200:280, 300:340] = (20, 20, 20)
    r = gate.update(moved)
    assert r.moving and r.ratio > 0.005
    assert any(
        x <= 305 and x + w >= 335 and y <= 205 and y + h >= 275 for x, y, w, h in r.regions
    ), r.regions


def test_motion_gate_treats_whole_frame_change_as_lighting():
    scene = SyntheticScene("street", seed=2)
    gate = MotionGate()
    gate.update(scene.frame_at(1.0)[0])
    night = (255 - scene.frame_at(1.2)[0]) // 3  # IR switch / big exposure jump: inverted & dark
    r = gate.update(night)
    assert r.lighting_change and not r.regions and r.ratio == 0.0
    r = gate.update(night)  # background restarted from the new look
    assert not r.moving


def test_registry_and_auto_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("PANTAU_DETECTOR_MODEL", raising=False)
    avail = available_detectors()
    assert avail["blob"] is None and avail["hog"] is None and avail["blob+hog"] is None
    assert "no model path" in avail["mediapipe"]
    assert make_detector("auto").name == "blob"
    assert make_detector("auto", model_path=tmp_path / "missing.tflite").name == "blob"
    assert isinstance(make_detector("hog"), HogPeopleDetector)
    assert isinstance(make_detector("blob"), BackgroundBlobDetector)
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("yolo")
    with pytest.raises(DetectorUnavailable, match="not found"):
        make_detector("mediapipe", model_path=tmp_path / "missing.tflite")


def test_mediapipe_unavailable_reasons(tmp_path):
    with pytest.raises(DetectorUnavailable, match="no model path"):
        MediaPipeObjectDetector(None)
    with pytest.raises(DetectorUnavailable, match="model file not found"):
        MediaPipeObjectDetector(tmp_path / "efficientdet_lite0.tflite")
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"definitely not a flatbuffer" * 20)
    with pytest.raises(DetectorUnavailable, match="cannot load model"):
        MediaPipeObjectDetector(garbage)
    reason = available_detectors(model_path=garbage)["mediapipe"]
    assert reason and "cannot load model" in reason
    assert make_detector("auto", model_path=garbage).name == "blob"


@pytest.mark.parametrize("name", ["blob", "blob+hog", "hog"])
def test_people_count_mae_on_vtest_holdout(vtest_segments, name):
    from vtest_eval import evaluate, frame_splits

    splits = frame_splits()
    held = [s for s in vtest_segments if splits[s[0]] == "holdout"]
    assert len(held) == 29  # the fixture's held-out frames
    res = evaluate(lambda: make_detector(name), held)
    detail = ", ".join(f"{r['frame']}:{r['counted']}/{r['truth']}" for r in res["rows"])
    limit = HOLDOUT_MAE_MEASURED[name] + HOLDOUT_MARGIN
    assert res["mae"] <= limit + 1e-9, (
        f"{name} held-out MAE {res['mae']:.2f} > {limit:.2f} ({detail})"
    )


@pytest.mark.parametrize("name", ["blob", "blob+hog", "hog"])
def test_no_vtest_frame_is_far_off(vtest_segments, name):
    from vtest_eval import evaluate

    res = evaluate(lambda: make_detector(name), vtest_segments)
    worst = max(res["rows"], key=lambda r: abs(r["counted"] - r["truth"]))
    assert abs(worst["counted"] - worst["truth"]) <= MAX_FRAME_ERROR[name], worst


def test_blob_detector_is_silent_on_a_static_scene():
    scene = SyntheticScene("quiet", seed=4)
    det = BackgroundBlobDetector()
    found = []
    for i in range(12):
        found = det.detect(scene.frame_at(i * 0.5)[0])
    assert found == []
