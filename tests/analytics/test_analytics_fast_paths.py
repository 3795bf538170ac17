"""The cheap paths: shared downscale, quiet samples, and the fast privacy mode."""

from __future__ import annotations

import cv2
import numpy as np

from analytics import privacy
from analytics.detectors import BackgroundBlobDetector
from analytics.imaging import downscale
from analytics.pipeline import Analyser
from analytics.synthetic import SyntheticScene
from analytics.types import Detection


def test_downscale_sizes_and_exact_halving():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (576, 768, 3), dtype=np.uint8)
    # exact 2x keeps OpenCV's INTER_AREA result (the blob detector's vtest accuracy depends on it)
    assert np.array_equal(
        downscale(img, 384, 288), cv2.resize(img, (384, 288), interpolation=cv2.INTER_AREA)
    )
    assert downscale(img, 240).shape == (180, 240, 3)
    assert downscale(img[:360, :640], 384).shape == (216, 384, 3)
    assert downscale(img, 768) is img
    # close to INTER_AREA for non-integer factors
    blur = cv2.GaussianBlur(img[:360, :640], (0, 0), 3)
    ref = cv2.resize(blur, (240, 135), interpolation=cv2.INTER_AREA).astype(float)
    assert np.abs(downscale(blur, 240).astype(float) - ref).mean() < 2.0


class _CountingBlob(BackgroundBlobDetector):
    def __init__(self) -> None:
        super().__init__()
        self.observed = 0

    def observe(self, frame: np.ndarray) -> None:
        self.observed += 1
        super().observe(frame)


def test_quiet_samples_feed_the_background_every_nth():
    scene = SyntheticScene("quiet", seed=5)
    det = _CountingBlob()
    analyser = Analyser(scene.analytics_config(), detector=det, quiet_observe_every=2)
    # warm first (a cold analyser measures every sample until it can count)
    analyser.warm_up([scene.frame_at(float(i))[0] for i in range(3)])
    for i in range(9):
        r = analyser.analyse(scene.frame_at(60.0 + i * 60.0)[0], ts=i * 60.0)
    assert r.reused_from_previous
    assert det.observed == 4  # 8 quiet samples after the first, every 2nd learned


def _street_with_face(data_dir):
    face = cv2.imread(str(data_dir / "face_messi5_crop.png"))
    frame = SyntheticScene("street", seed=2, width=640, height=360).frame_at(0)[0]
    frame[20:200, 100:300] = face
    return frame


def test_fast_privacy_finds_small_faces_on_detected_people(data_dir):
    frame = _street_with_face(data_dir)
    strict = privacy.detect_faces(frame)
    assert strict, "the strict full-resolution search finds the face"
    person = Detection("person", 0.8, (100, 20, 200, 340))
    out, n_faces, _ = privacy.blur_private(frame, detections=[person])
    assert n_faces >= 1
    x, y, w, h = strict[0]
    assert np.abs(out[y : y + h, x : x + w].astype(float) - frame[y : y + h, x : x + w]).mean() > 5
    assert np.array_equal(out[:, 420:], frame[:, 420:])  # far from the person: untouched


def test_fast_privacy_pixelates_heads_even_without_a_face():
    frame = SyntheticScene("street", seed=3, width=640, height=360).frame_at(4.0)[0]
    rng = np.random.default_rng(1)
    frame[100:200, 300:340] = rng.integers(0, 255, (100, 40, 3), dtype=np.uint8)  # sharp texture
    person = Detection("person", 0.8, (300, 100, 40, 100))
    car = Detection("car", 0.8, (40, 250, 120, 60))
    out, _, _ = privacy.blur_private(frame, plates=False, detections=[person, car])
    head = (slice(100, 126), slice(300, 340))
    assert (
        cv2.Laplacian(out[head], cv2.CV_64F).var()
        < 0.2 * cv2.Laplacian(frame[head], cv2.CV_64F).var()
    )
    assert np.array_equal(out[150:200, 300:340], frame[150:200, 300:340])  # body untouched
    assert np.array_equal(out[250:310, 40:160], frame[250:310, 40:160])  # cars have no head


def test_fast_privacy_small_frame_is_searched_at_full_size(data_dir):
    img = cv2.imread(str(data_dir / "face_messi5_crop.png"))
    out, n_faces, _ = privacy.blur_private(img, detections=[])
    assert n_faces == 1 and not np.array_equal(out, img)


def test_fast_privacy_fails_closed(monkeypatch, data_dir):
    frame = _street_with_face(data_dir)

    def boom(*a, **k):
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(privacy, "detect_faces", boom)
    out, n_faces, n_plates = privacy.blur_private(frame, detections=[])
    assert (n_faces, n_plates) == (-1, -1)
    assert cv2.Laplacian(out, cv2.CV_64F).var() < 0.3 * cv2.Laplacian(frame, cv2.CV_64F).var()
