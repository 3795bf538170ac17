"""Perspective per camera (analytics/perspective.py): calibration marks, the learned fit, the
state round trip, and the low camera of tests/data/bikes_trim.mp4 (hand counts in
tests/data/bikes_counts.json; limits set on the held-out frames with margin)."""

from __future__ import annotations

import json

import pytest

from analytics.perspective import MIN_OBSERVATIONS, PerspectiveLearner, PerspectiveMarks
from analytics.pipeline import Analyser
from analytics.state import STATE_MAX_BYTES
from analytics.synthetic import SyntheticScene
from analytics.types import AnalyticsConfig


def _marks(near=(200, 140), far=(100, 80), h_near=1.7, h_far=1.7):
    return {
        "marks": [
            {"foot": [300, far[0]], "top": [300, far[1]], "height_m": h_far},
            {"foot": [100, near[0]], "top": [100, near[1]], "height_m": h_near},
        ]
    }


def test_marks_give_person_height_and_scale_per_row():
    # far person: feet at row 100, 20 px tall; near person: feet at row 200, 60 px tall
    p = PerspectiveMarks.from_dict(_marks()).perspective(640, 360)
    assert p.source == "marks"
    assert p.person_px(100, 360) == pytest.approx(20, abs=0.01)
    assert p.person_px(200, 360) == pytest.approx(60, abs=0.01)
    assert p.person_px(150, 360) == pytest.approx(40, abs=0.01)  # linear between
    assert p.metres_per_px(200, 360) == pytest.approx(1.7 / 60, rel=1e-3)
    # a 0.85 m mark says the same as a 1.7 m person twice its pixel height
    half = _marks(near=(200, 170), h_near=0.85)
    q = PerspectiveMarks.from_dict(half).perspective(640, 360)
    assert q.person_px(200, 360) == pytest.approx(60, abs=0.01)


def test_normalised_marks_match_pixel_marks():
    px = PerspectiveMarks.from_dict(_marks()).perspective(640, 360)
    norm = {
        "marks": [
            {"foot": [300 / 640, 100 / 360], "top": [300 / 640, 80 / 360], "height_m": 1.7},
            {"foot": [100 / 640, 200 / 360], "top": [100 / 640, 140 / 360], "height_m": 1.7},
        ]
    }
    p = PerspectiveMarks.from_dict(norm).perspective(640, 360)
    assert p.person_px(300, 360) == pytest.approx(px.person_px(300, 360), rel=1e-6)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x", "perspective: must be an object"),
        ({"marks": []}, "exactly two marks"),
        ({"marks": [{"foot": [1, 2], "top": [1, 1], "height_m": 1.7}]}, "exactly two marks"),
        (_marks(h_near=0), "height_m: between 0.2 and 50"),
        (_marks(h_near="tall"), "height_m: a height in metres"),
        (_marks(near=(200, 210)), "top must be above the foot"),
        (_marks(near=(102, 60)), "clearly different rows"),
        (_marks(near=(200, 190)), "lower (nearer) mark must be larger"),
        ({"marks": [{"foot": "a", "top": [1, 1], "height_m": 1}, {}]}, "foot: must be [x, y]"),
        ({"marks": [{"foot": [float("nan"), 3], "top": [1, 1], "height_m": 1}, {}]}, "finite"),
    ],
)
def test_bad_marks_are_refused_with_the_field_named(raw, message):
    with pytest.raises(ValueError, match=None) as exc:
        AnalyticsConfig.from_dict({"perspective": raw})
    assert message in str(exc.value)


def test_learned_fit_recovers_a_known_synthetic_perspective():
    # a low camera: persons are H * (-0.05 + 0.45 y / H) px tall (the default is 0.03 + 0.22 y/H)
    truth = (-0.05, 0.45)
    scene = SyntheticScene("street", seed=3, width=480, height=270, perspective=truth)
    an = Analyser({}, detector="blob")
    an.warm_up([scene.frame_at(t)[0] for t in (0, 1.3, 2.6)])
    assert an.calibration(480, 270)["source"] == "default"
    for k in range(60):
        an.analyse(scene.frame_at(3 + k * 0.7)[0])
    cal = an.calibration(480, 270)
    assert cal["source"] == "learned" and cal["observations"] >= MIN_OBSERVATIONS
    p = an.perspective(480, 270)
    for frac, tol in ((0.5, 0.2), (0.9, 0.45)):
        expected = 270 * (truth[0] + truth[1] * frac)
        assert p.person_px(frac * 270, 270) == pytest.approx(expected, rel=tol)


def test_learner_keeps_the_default_without_enough_evidence():
    lr = PerspectiveLearner()
    # person-shaped boxes (h = 2.5 w) all on one row: no spread of rows, no fit
    for _ in range(100):
        lr.observe([(100, 100, 20, 50)], 640, 360)
    assert lr.fit() is None
    lr2 = PerspectiveLearner()
    for y in range(120, 340, 12):  # spread, but fewer than MIN_OBSERVATIONS
        lr2.observe([(100, y - 50, 20, 50)], 640, 360)
    assert lr2.seen < MIN_OBSERVATIONS and lr2.fit() is None


def test_learned_perspective_survives_the_state_round_trip():
    scene = SyntheticScene("street", seed=3, width=480, height=270, perspective=(-0.05, 0.45))
    an = Analyser({}, detector="blob")
    an.warm_up([scene.frame_at(t)[0] for t in (0, 1.3, 2.6)])
    for k in range(60):
        an.analyse(scene.frame_at(3 + k * 0.7)[0])
    blob = an.export_state()
    assert len(blob) <= STATE_MAX_BYTES
    other = Analyser({}, detector="blob")
    assert other.load_state(blob, frame_size=(480, 270))
    assert other.calibration(480, 270) == an.calibration(480, 270)
    assert other.calibration(480, 270)["source"] == "learned"
    other.reset()  # camera moved: start over
    assert other.calibration(480, 270)["source"] == "default"


def test_marks_win_over_a_learned_fit():
    lr_state = {"n": 100, "s": [[y / 100, 0.2 * y / 100] for y in range(20, 100)]}
    an = Analyser({"perspective": _marks()}, detector="blob")
    an.perspective_learner.load(lr_state)
    assert an.perspective_learner.fit() is not None
    assert an.calibration(640, 360)["source"] == "marks"


# --------------------------------------------------------------------------- real footage


@pytest.fixture(scope="module")
def bikes():
    from bikes_eval import load_truth, read_clip

    return load_truth(), read_clip()


def _mae(counts, camera, use, what):
    frames = [int(k) for k, v in camera["frames"].items() if v["use"] == use]
    key = {"people": 0, "cars": 1}[what]
    return sum(abs(counts[f][key] - camera["frames"][str(f)][what]) for f in frames) / len(frames)


def test_low_camera_with_marks_no_longer_reports_crowds(bikes):
    """Before this change (pole-camera default) the held-out frames read 2-9 people on the
    street (truth 1) and 5-21 on the pavement (truth 0-1): MAE 5.2 and 13.5."""
    from bikes_eval import run_camera

    truth, frames = bikes
    street, pavement = truth["cameras"]["street"], truth["cameras"]["pavement"]
    counts, cal = run_camera(frames, street, "marks")
    assert cal["source"] == "marks"
    assert _mae(counts, street, "test", "people") <= 3.0  # measured 1.6, then 2.4 (23:20)
    counts, cal = run_camera(frames, pavement, "marks")
    assert _mae(counts, pavement, "test", "people") <= 1.5  # measured 0.5, then 1.0
    # before: 5-21 on the held-out frames; with marks at most 3 measured
    assert max(counts[int(f)][0] for f in pavement["frames"]) <= 4
    assert _mae(counts, pavement, "test", "cars") <= 0.5  # no cars there; measured 0


def test_cli_analyze_reports_the_calibration(tmp_path, data_dir):
    from typer.testing import CliRunner

    from pantau.cli import app

    cfg = tmp_path / "cam.json"
    cam = json.loads((data_dir / "bikes_counts.json").read_text())["cameras"]["pavement"]
    cfg.write_text(json.dumps({"perspective": cam["perspective"]}))
    runner = CliRunner()
    clip = str(data_dir / "bikes_trim.mp4")
    res = runner.invoke(
        app, ["analyze", clip, "--frames", "50-53", "--detector", "blob", "--config", str(cfg)]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    cal = rows[-1]["calibration"]
    assert cal["source"] == "marks"
    # the marks: wheel 100 px / 0.7 m at row 195, wrist 220 px / 0.8 m at row 245
    ppm = (100 / 0.7, 220 / 0.8)
    slope = (ppm[1] - ppm[0]) / 50
    assert cal["person_px_bottom"] == pytest.approx(1.7 * (ppm[0] + slope * (271 - 195)), rel=0.01)
    res = runner.invoke(
        app, ["analyze", clip, "--frames", "50-53", "--detector", "blob", "--table"]
    )
    assert res.exit_code == 0, res.output
    assert "perspective: default (pole camera)" in " ".join(res.output.split())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"perspective": {"marks": [1]}}))
    res = runner.invoke(app, ["analyze", clip, "--config", str(bad)])
    assert res.exit_code != 0 and "exactly two marks" in res.output
