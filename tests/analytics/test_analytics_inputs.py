"""Bad input gives a clear ValueError, never a crash deep inside OpenCV."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.detectors import make_detector
from analytics.flood import DryReference, build_dry_reference, water_coverage
from analytics.motion import MotionGate
from analytics.pipeline import Analyser
from analytics.privacy import blur_private
from analytics.types import AnalyticsConfig, Polygon

BAD_FRAMES = [
    (None, "None"),
    (np.zeros((0, 0, 3), np.uint8), "empty"),
    (np.zeros((120, 160), np.uint8), "grayscale"),
    (np.zeros((120, 160, 1), np.uint8), "grayscale"),
    (np.zeros((120, 160, 3), np.float32), "uint8"),
    (np.zeros((120, 160, 4), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((8, 8, 3), np.uint8), "too small"),
    ("not an image", "numpy array"),
]


@pytest.mark.parametrize(("frame", "message"), BAD_FRAMES)
def test_every_entry_point_rejects_bad_frames(frame, message):
    poly = Polygon.from_dict({"points": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]})
    calls = [
        lambda: MotionGate().update(frame),
        lambda: make_detector("blob").detect(frame),
        lambda: make_detector("hog").detect(frame),
        lambda: Analyser(detector="blob").analyse(frame),
        lambda: blur_private(frame),
        lambda: water_coverage(frame, poly),
        lambda: DryReference.from_image(frame),
        lambda: build_dry_reference([frame]),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()


def test_burst_rejects_empty_and_mixed_sizes():
    a = Analyser(detector="blob")
    with pytest.raises(ValueError, match="at least one"):
        a.analyse_burst([])
    with pytest.raises(ValueError, match="burst started"):
        a.analyse_burst([np.zeros((120, 160, 3), np.uint8), np.zeros((100, 160, 3), np.uint8)])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"rois": [{"name": "a", "points": [[0, 0], [1, 1]]}]}, "at least 3 points"),
        (
            {"rois": [{"name": "a", "kind": "sky", "points": [[0, 0], [1, 0], [1, 1]]}]},
            "kind must be",
        ),
        ({"rois": [{"name": "a", "area_m2": -4, "points": [[0, 0], [1, 0], [1, 1]]}]}, "area_m2"),
        ({"lines": [{"name": "l", "a": [0, 0], "b": [0, 0]}]}, "must differ"),
        ({"lines": [{"name": "l", "a": [0, 0], "b": [1, 1], "directions": ["x"]}]}, "two distinct"),
        ({"rois": "nope"}, "ROI must be an object"),
        (
            {
                "rois": [
                    {"name": "a", "points": [[0, 0], [1, 0], [1, 1]]},
                    {"name": "a", "points": [[0, 0], [1, 0], [1, 1]]},
                ]
            },
            "unique",
        ),
    ],
)
def test_config_errors_are_clear(raw, message):
    with pytest.raises(ValueError, match=message):
        AnalyticsConfig.from_dict(raw)


def test_config_parses_normalised_and_pixel_shapes():
    cfg = AnalyticsConfig.from_dict(
        {
            "rois": [
                {
                    "name": "n",
                    "kind": "crowd",
                    "area_m2": 50,
                    "points": [[0, 0], [0.5, 0], [0.5, 0.5]],
                },
                {"name": "p", "kind": "road", "points": [[0, 0], [320, 0], [320, 240]]},
            ],
            "lines": [{"name": "l", "a": [0.5, 0], "b": [0.5, 1]}],
            "flood": {"points": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]},
        }
    )
    assert cfg.rois[0].polygon.normalized and not cfg.rois[1].polygon.normalized
    assert cfg.rois[0].polygon.to_pixels(640, 480).tolist() == [[0, 0], [320, 0], [320, 240]]
    assert cfg.rois[1].polygon.to_pixels(640, 480).tolist() == [[0, 0], [320, 0], [320, 240]]
    assert cfg.lines[0].to_pixels(640, 480) == ((320.0, 0.0), (320.0, 480.0))
    assert cfg.lines[0].directions == ("in", "out")
    assert cfg.flood_region is not None
