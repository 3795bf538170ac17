"""Every face of 24 px or more is blurred (issue 13): faces the tuning never saw
(``face_paste.HELD_OUT``: two people, colour and grey) pasted into real vtest frames at 24, 32,
48 and 64 px, six places, both orientations: 96 cases, all must come out pixelated, with the
real ``centerface.onnx`` installed by ``pantau models install centerface`` (fixture). The same
cases with the Haar fallback miss faces, so these checks can fail. CPU cost is measured in
``bench/bench_privacy.py``, not here."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from face_paste import (
    FRAMES,
    HELD_OUT,
    POSITIONS,
    VIDEO,
    cases,
    covered,
    detail,
    detail_kept,
    paste,
    vtest_frames,
)

from analytics.faces import CenterFace
from analytics.privacy import blur_private, detect_faces, face_backend
from analytics.privacy_stream import StreamBlur

COVER = 0.9
"""Share of the marked face box that must lie in the pixelated area."""
KEPT = 0.5
"""Fine detail of the face still in the output (high-pass correlation, 1 = untouched), at most:
pixelated faces keep ~0-0.3."""


@pytest.fixture(scope="module")
def frames():
    return vtest_frames()


def _check(out: np.ndarray, before: np.ndarray, box) -> tuple[bool, float]:
    x, y, w, h = box
    kept = detail_kept(before[y : y + h, x : x + w], out[y : y + h, x : x + w])
    return kept <= KEPT, kept


def test_every_held_out_face_from_24_px_is_blurred(centerface_model, frames):
    missed = []
    for photo, size, i, flip in cases():
        frame, box = paste(frames[FRAMES[i]], photo, size, POSITIONS[i], flip)
        boxes = detect_faces(frame, centerface_model)
        out, n_faces, _ = blur_private(frame, centerface_model, plates=False)
        assert n_faces >= 1, (photo.file, size, i, flip)
        share = covered(box, boxes)
        ok, left = _check(out, frame, box)
        if share < COVER or not ok:
            missed.append((photo.file, size, i, flip, round(share, 2), round(left, 2)))
    assert len(cases()) == 96
    assert not missed, missed


def test_haar_fallback_misses_small_held_out_faces(frames):
    """Without the model (Haar cascades) the same check fails on small faces: the test above
    is not a formality. 24 px faces on every position, one orientation."""
    missed = 0
    for photo in HELD_OUT:
        for i in range(len(POSITIONS)):
            frame, box = paste(frames[FRAMES[i]], photo, 24, POSITIONS[i])
            if covered(box, detect_faces(frame)) < COVER:
                missed += 1
    assert missed >= 2, missed  # 4 of the 12 when measured


def test_plain_frames_are_not_blurred_all_over(centerface_model, frames):
    """No pasted face: vtest's own faces are ~8 px; little of the picture is pixelated."""
    total = 0
    for frame in frames.values():
        out, n_faces, _ = blur_private(frame, centerface_model, plates=False)
        assert n_faces >= 0
        total += n_faces
        changed = np.any(out != frame, axis=2).mean()
        assert changed < 0.02, changed
    assert total <= 12, total  # 48 frames of the clip: 0.85 a frame, at most 5


def test_fast_mode_with_the_model_finds_a_24_px_face_nobody_detected(centerface_model, frames):
    """``detections=[]`` (the people detector saw nobody): the model still searches the whole
    frame, so a 24 px face is blurred."""
    photo = HELD_OUT[0]
    frame, box = paste(frames[FRAMES[4]], photo, 24, POSITIONS[4])
    out, n_faces, _ = blur_private(frame, centerface_model, plates=False, detections=[])
    assert n_faces >= 1
    assert _check(out, frame, box)[0]


def test_stream_blur_with_the_model_keeps_a_walking_24_px_face_pixelated(centerface_model, frames):
    """StreamBlur searches only what moves (the model on crops): a held-out face walking
    across real frames at 28 px is pixelated on every frame."""
    cap = cv2.VideoCapture(str(VIDEO))
    clip = []
    for _ in range(24):
        ok, f = cap.read()
        assert ok
        clip.append(f)
    cap.release()
    blur = StreamBlur(centerface_model)
    assert blur.face_backend == "centerface"
    for n, f in enumerate(clip):
        frame, box = paste(f, HELD_OUT[1], 28, (40 + 25 * n, 200 + 4 * n))
        out, n_faces, _ = blur(frame)
        assert n_faces >= 1, n
        assert covered(box, blur.last_boxes, pad=0.0) >= COVER, (n, blur.last_mode)
        assert _check(out, frame, box)[0], n


def test_missing_model_falls_back_to_haar_and_says_so(tmp_path, caplog, frames):
    missing = tmp_path / "models" / "centerface.onnx"
    with caplog.at_level(logging.WARNING, logger="analytics.privacy"):
        assert face_backend(missing) == "haar"
    assert "pantau models install centerface" in caplog.text
    assert face_backend(None) == "haar"
    out, n_faces, _ = blur_private(frames[FRAMES[0]], missing)
    assert n_faces >= 0  # Haar ran: no failure


def test_a_broken_model_file_fails_closed(tmp_path, frames):
    """An installed but broken model must not leave faces sharp: the whole frame is pixelated
    (as for any detector failure), not silently Haar."""
    bad = tmp_path / "centerface.onnx"
    bad.write_bytes(b"not an onnx model" * 100)
    frame, _ = paste(frames[FRAMES[1]], HELD_OUT[0], 48, POSITIONS[1])
    out, n_faces, n_plates = blur_private(frame, bad)
    assert (n_faces, n_plates) == (-1, -1)
    assert detail(out) < 0.3 * detail(frame)
    blur = StreamBlur(bad)
    out, n_faces, _ = blur(frame)
    assert n_faces == -1 and detail(out) < 0.3 * detail(frame)


def test_model_failure_mid_stream_fails_closed(centerface_model, frames, monkeypatch):
    frame, _ = paste(frames[FRAMES[2]], HELD_OUT[0], 48, POSITIONS[2])

    def boom(self, img):
        raise RuntimeError("dnn crashed")

    monkeypatch.setattr(CenterFace, "detect", boom)
    out, n_faces, n_plates = blur_private(frame, centerface_model)
    assert (n_faces, n_plates) == (-1, -1)
    assert detail(out) < 0.3 * detail(frame)


def test_centerface_sizes_rounding_and_threads(centerface_model, frames):
    """Crops of any size and frames of other sizes give the same face (a cv2.dnn Net keeps
    the layer shapes of its first input: each size needs its own), from two threads too."""
    import threading

    frame, box = paste(frames[FRAMES[3]], HELD_OUT[0], 40, POSITIONS[3])
    x, y, w, h = box
    results: dict[str, list] = {}

    def run(name: str) -> None:
        got = []
        for pad in (10, 37, 64, 120, 10):
            crop = np.ascontiguousarray(
                frame[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
            )
            got.append(
                covered((min(pad, x), min(pad, y), w, h), detect_faces(crop, centerface_model))
            )
        got.append(covered(box, detect_faces(frame, centerface_model)))
        results[name] = got

    threads = [threading.Thread(target=run, args=(str(i),)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    for got in results.values():
        assert min(got) >= COVER, got


def test_public_hub_uses_the_installed_model(centerface_model, frames, tmp_path, monkeypatch):
    """The wiring: settings pointing at a models folder with centerface.onnx give the public
    frame hub (/cctv snapshots and live streams) the CenterFace blur."""
    from dashboard.streaming import FrameHub
    from pantau.settings import Settings

    monkeypatch.delenv("PANTAU_FACE_MODEL_PATH", raising=False)
    cfg = Settings(var_dir=tmp_path / "var", models_dir=centerface_model.parent)
    assert cfg.face_model_path == centerface_model
    hub = FrameHub(snapshot_dir=tmp_path, face_model_path=cfg.face_model_path)
    try:
        assert hub.stream_blur().face_backend == "centerface"
        frame, box = paste(frames[FRAMES[4]], HELD_OUT[0], 24, POSITIONS[4])
        out, n_faces, _ = hub.blur(frame)
        assert n_faces >= 1 and _check(out, frame, box)[0]
    finally:
        hub.close()
