"""Portable per-camera analysis state (issue 9 items 1-2): size, round trips between
"workers", bad blobs, no made-up counts on a cold camera, warm-up bursts, single images.

Expected values come from the issue: a state is at most 64 KiB for frames up to 1920x1080; a
state moved between analysers after every sample gives the counts of one analyser kept alive;
a blob of another version/config/frame size or a damaged one is refused without an exception;
a cold camera's first count is unknown (never a made-up 0). Margins for the accuracy checks
were set from the held-out frames (tests/data/vtest_people_counts.json, ``split: holdout``),
above what was measured there.
"""

from __future__ import annotations

import json
import logging
import struct
import zlib

import cv2
import numpy as np
import pytest

from analytics import state as state_format
from analytics.pipeline import Analyser
from analytics.synthetic import SyntheticScene

LIMIT = 64 * 1024
ROIS = {
    "rois": [
        {"name": "jalan", "kind": "any", "points": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]},
        {"name": "rumput", "kind": "crowd", "area_m2": 300, "points": [[0, 0.6], [1, 0.6], [1, 1]]},
    ],
    "flood": {"points": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]},
}


def _holdout(data_dir) -> set[int]:
    raw = json.loads((data_dir / "vtest_people_counts.json").read_text())
    return {int(f["frame"]) for f in raw["frames"] if f["split"] == "holdout"}


def _run(analyser: Analyser, frames: list[np.ndarray]) -> Analyser:
    for i, f in enumerate(frames):
        analyser.analyse(f, ts=float(i))
    return analyser


def test_state_fits_64_kib_at_768x576_and_1080p(vtest_segments):
    frames = [fr[-1] for _, _, fr in vtest_segments]
    a = _run(Analyser(ROIS, detector="blob"), frames)
    assert a.warm
    size_vga = len(a.export_state())
    big = [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_LINEAR) for f in frames]
    b = _run(Analyser(ROIS, detector="blob"), big)
    size_hd = len(b.export_state())
    assert 0 < size_vga <= LIMIT and 0 < size_hd <= LIMIT, (size_vga, size_hd)
    # pathological pictures (pure noise: nothing compresses) stay within the budget too,
    # landscape and portrait
    rng = np.random.default_rng(3)
    for shape in ((1080, 1920, 3), (1920, 1080, 3), (576, 768, 3)):
        n = Analyser(ROIS, detector="blob")
        for i in range(10):
            n.analyse(rng.integers(0, 256, shape, dtype=np.uint8), ts=float(i))
        blob = n.export_state()
        assert len(blob) <= LIMIT, (shape, len(blob))
        assert Analyser(ROIS, detector="blob").load_state(blob, (shape[1], shape[0]))
    # worst case: every array of the state incompressible (a 4:3 frame, so the largest
    # arrays) and the last result full of boxes: still within the budget, still loadable
    m = a.detector.model
    for name in ("luma", "chroma", "spread", "fg_age"):
        arr = getattr(m, name)
        setattr(m, name, rng.integers(1, 256, arr.shape, dtype=np.uint8))
    lt = a.detector.long_term  # the long-term background and its dwell map too
    assert lt.luma is not None
    lt.luma = rng.integers(1, 256, lt.luma.shape, dtype=np.uint8)
    lt.chroma = rng.integers(1, 256, lt.chroma.shape, dtype=np.uint8)
    lt.since = 1.7e9 + rng.integers(0, 10**6, lt.since.shape).astype(np.float64)
    a.motion_gate._bg = rng.integers(0, 256, a.motion_gate._bg.shape, dtype=np.uint8)
    from analytics.types import Detection

    a._last.detections = [Detection("person", 0.5, (i, i, 10, 20)) for i in range(500)]
    blob = a.export_state()
    assert len(blob) <= LIMIT, len(blob)
    assert Analyser(ROIS, detector="blob").load_state(blob, (768, 576))


def test_state_moved_after_every_sample_keeps_the_counts(vtest_segments):
    """Production cadence, two passes over the counted frames (the second warm), some
    samples repeated so the quiet path (counts reused) is exercised too: an analyser rebuilt
    from the previous sample's exported state before every sample (a camera hopping between
    workers) gives exactly what one analyser kept alive gives."""
    samples = []
    for _, _, fr in vtest_segments * 2:
        # the gate's background follows at 0.6 per sample: the 3rd copy is quiet, and the
        # first quiet sample after motion is measured anyway (issue 13): the 4th reuses
        samples += [fr[-1]] * 4 if len(samples) % 4 == 0 else [fr[-1]]
    alive = Analyser(ROIS, detector="blob")
    blob: bytes | None = None
    got, want = [], []
    for i, frame in enumerate(samples):
        r1 = alive.analyse(frame, ts=float(i))
        hop = Analyser(ROIS, detector="blob")  # a fresh worker
        if blob is not None:
            assert hop.load_state(blob, frame_size=(frame.shape[1], frame.shape[0]))
        r2 = hop.analyse(frame, ts=float(i))
        blob = hop.export_state()
        want.append((r1.people, r1.vehicles, r1.counts_known, r1.reused_from_previous))
        got.append((r2.people, r2.vehicles, r2.counts_known, r2.reused_from_previous))
        want[-1] += (tuple((r.name, r.people, r.vehicles) for r in r1.rois),)
        got[-1] += (tuple((r.name, r.people, r.vehicles) for r in r2.rois),)
    assert got == want
    assert sum(1 for w in want if w[3]) >= 5  # quiet samples happened
    assert sum(1 for w in want if w[2] and w[0] > 0) >= 20  # and real counts


def test_bad_blobs_are_refused_without_exceptions(vtest_segments, caplog):
    frames = [fr[-1] for _, _, fr in vtest_segments][:12]
    a = _run(Analyser(ROIS, detector="blob"), frames)
    good = a.export_state()
    assert Analyser(ROIS, detector="blob").load_state(good, (768, 576))

    body = bytearray(good[:-4])
    body[4] = state_format.FORMAT_VERSION + 1  # other version, CRC fixed up: a real v2 blob
    other_version = bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x55
    cases = {
        "truncated": good[: len(good) // 2],
        "header only": good[:24],
        "empty": b"",
        "corrupt": bytes(flipped),
        "garbage": b"PNTS" + bytes(range(256)) * 3,
        "not a state": b'{"people": 3}',
        "other version": other_version,
        "not bytes": "PNTS",
    }
    caplog.set_level(logging.INFO, logger="analytics.pipeline")
    for what, blob in cases.items():
        b = Analyser(ROIS, detector="blob")
        assert b.load_state(blob) is False, what  # type: ignore[arg-type]
        assert not b.warm, what
        first = b.analyse(frames[-1], ts=0.0)
        assert not first.counts_known, what
    # another analytics config (ROIs moved) or detector parameters: not applied
    other_cfg = dict(ROIS, rois=ROIS["rois"][:1])
    assert Analyser(other_cfg, detector="blob").load_state(good) is False
    assert Analyser(ROIS, detector="blob+hog").load_state(good) is False
    # other frame size
    c = Analyser(ROIS, detector="blob")
    assert c.load_state(good, frame_size=(1280, 720)) is False and not c.warm
    # a warm analyser handed a bad blob does not keep half of it: it is cold afterwards
    d = _run(Analyser(ROIS, detector="blob"), frames)
    assert d.warm and d.load_state(good[:100]) is False and not d.warm
    assert "ignored" in caplog.text


def test_cold_camera_counts_are_unknown_not_zero():
    scene = SyntheticScene("street", seed=4)
    cfg = scene.analytics_config()
    a = Analyser(cfg, detector="blob")
    assert not a.warm
    first = a.analyse(scene.frame_at(10.0)[0], ts=0.0)
    assert first.counts_known is False and first.count_path == "cold"
    assert first.to_dict()["counts_known"] is False
    # flood coverage needs no history
    assert first.water_coverage is not None
    # a quiet second sample does not reuse an unknown count as if it were known
    second = a.analyse(scene.frame_at(10.0)[0], ts=60.0)
    assert second.counts_known is False and not second.reused_from_previous
    # a detector that needs no history counts from the first frame
    hog = Analyser(cfg, detector="hog")
    assert hog.warm and hog.analyse(scene.frame_at(10.0)[0]).counts_known


def test_state_of_a_cold_camera_stays_cold_on_the_next_worker():
    scene = SyntheticScene("quiet", seed=2)
    a = Analyser({}, detector="blob")
    a.analyse(scene.frame_at(0.0)[0], ts=0.0)
    b = Analyser({}, detector="blob")
    assert b.load_state(a.export_state())
    assert not b.warm and not b.analyse(scene.frame_at(1.0)[0]).counts_known


# measured on the 29 held-out frames (warm_up k=3, 1.2 s apart, 2026-11-29): MAE 1.48, worst
# frame off by 5 (people standing still through the burst are in its median)
WARMUP_HELDOUT_MAE = 1.8
WARMUP_HELDOUT_WORST = 6


def test_warm_up_on_a_short_burst_counts_held_out_frames(vtest_segments, data_dir):
    from vtest_eval import WARMUP_STRIDE

    held = _holdout(data_dir)
    errs = []
    for frame_idx, truth, frames in vtest_segments:
        if frame_idx not in held:
            continue
        a = Analyser({}, detector="blob")
        assert not a.warm
        a.warm_up(frames[::-1][: 2 * WARMUP_STRIDE + 1 : WARMUP_STRIDE][::-1])  # 3 frames
        assert a.warm
        r = a.analyse(frames[-1], ts=0.0)
        assert r.counts_known and r.count_path == "warm"
        errs.append(abs(r.people - truth))
    assert len(errs) == len(held) == 29
    assert max(errs) <= WARMUP_HELDOUT_WORST, errs
    assert np.mean(errs) <= WARMUP_HELDOUT_MAE, errs


def test_warm_up_rejects_bad_bursts():
    a = Analyser({}, detector="blob")
    with pytest.raises(ValueError):
        a.warm_up([])
    f = np.zeros((120, 160, 3), np.uint8)
    with pytest.raises(ValueError, match="burst started"):
        a.warm_up([f, np.zeros((100, 160, 3), np.uint8)])
    with pytest.raises(ValueError):
        a.warm_up([f, None])  # type: ignore[list-item]
    assert not a.warm


# measured on the 29 held-out frames as single cold images (HOG in 5 perspective bands,
# 2026-11-29): MAE 0.93, worst frame off by 3 (counting nobody, as before, scores 6.55 there)
SINGLE_HELDOUT_MAE = 1.2
SINGLE_HELDOUT_WORST = 4


def test_single_image_gets_a_real_count_from_the_history_free_path(vtest_segments, data_dir):
    held = _holdout(data_dir)
    errs = []
    for frame_idx, truth, frames in vtest_segments:
        if frame_idx not in held:
            continue
        a = Analyser({}, detector="blob", cold_start="history-free")
        r = a.analyse(frames[-1], ts=0.0)
        assert r.counts_known and r.count_path == "history-free" and r.analyser == "hog"
        assert r.people > 0
        errs.append(abs(r.people - truth))
    assert len(errs) == len(held) == 29
    assert max(errs) <= SINGLE_HELDOUT_WORST, errs
    assert np.mean(errs) <= SINGLE_HELDOUT_MAE, errs


def test_pantau_analyze_one_image_counts_people_and_says_how(vtest_segments, tmp_path):
    from typer.testing import CliRunner

    from pantau.cli import app

    frame_idx, truth, frames = next(s for s in vtest_segments if s[0] == 235)  # held out
    img = tmp_path / "one.jpg"
    cv2.imwrite(str(img), frames[-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    res = CliRunner().invoke(app, ["analyze", str(img), "--detector", "blob"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["count_path"] == "history-free" and out["counts_known"] is True
    assert out["people"] > 0 and abs(out["people"] - truth) <= SINGLE_HELDOUT_WORST
