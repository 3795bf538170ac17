"""People-count accuracy at the production cadence, on the held-out hand counts only.

The fixture (tests/data/vtest_people_counts.json, tests/data/README.md): 67 frames of
vtest.avi counted by eye, 38 "tune" (used while choosing detector parameters) and 29
"holdout" (never used for that). A camera sampled once a minute sees a different scene at
every sample; ``vtest_eval.sparse_rows`` feeds one persistent ``blob`` detector one sample
per counted frame (held-out frames only, in frame order, samples 2-4 s apart of video), after
one warming pass over the same samples, and compares every count with the hand count.

Measured (2026-11-29, ``vtest_eval.py --sparse blob``, burst 1, with the long-term background,
per-camera perspective, and the long-term ghost rule limited to what the short-term model
does not hold):
held-out MAE 0.55, worst frame off by 2; tuning frames 0.66. Goal of issue 13: <= 0.6 (met on
the held-out frames by 0.05). Limits: an earlier measurement (0.66) + margin, not tightened.
"""

from __future__ import annotations

import json

import numpy as np

SPARSE_HELDOUT_MAE = 0.9  # measured 0.55 (0.66 when the limit was set)
SPARSE_HELDOUT_WORST = 3  # measured 2


def test_hand_counts_are_split_before_use(data_dir):
    """The fixture itself: enough frames, a fixed split, no frame in both sets, and every
    segment of the trimmed clip ends with its counted frame."""
    doc = json.loads((data_dir / "vtest_people_counts.json").read_text())
    frames = doc["frames"]
    idx = [f["frame"] for f in frames]
    assert len(idx) == len(set(idx)) >= 60
    assert all(isinstance(f["people"], int) and 0 <= f["people"] <= 30 for f in frames)
    split = {f["frame"]: f["split"] for f in frames}
    assert set(split.values()) == {"tune", "holdout"}
    assert sum(1 for s in split.values() if s == "holdout") >= 25
    # batch 2: in frame order, every second frame is held out (fixed before counting)
    second = sorted(f["frame"] for f in frames if f.get("batch") == 2)
    assert len(second) >= 40
    assert [split[f] for f in second] == ["tune", "holdout"] * (len(second) // 2) + (
        ["tune"] if len(second) % 2 else []
    )
    index = json.loads((data_dir / "vtest_trim_index.json").read_text())
    src = index["source_frames"]
    assert {s["frame"] for s in index["segments"]} == set(idx)
    for s in index["segments"]:
        pos = s.get("positions") or list(range(s["start"], s["start"] + s["length"]))
        assert src[pos[-1]] == s["frame"]
        assert all(b - a == index["stride"] for a, b in zip(
            [src[p] for p in pos], [src[p] for p in pos[1:]], strict=False))  # fmt: skip


def test_production_cadence_counts_held_out_frames(vtest_segments):
    from vtest_eval import sparse_rows, split_segments

    held = split_segments(vtest_segments, "holdout")
    assert len(held) == 29
    rows = sparse_rows("blob", held, burst=1, warm_passes=1)
    assert all(n is not None for _, _, n in rows)  # warm after one pass
    errs = [abs(n - t) for _, t, n in rows]
    detail = " ".join(f"{f}:{n}/{t}" for f, t, n in rows)
    assert max(errs) <= SPARSE_HELDOUT_WORST, detail
    assert np.mean(errs) <= SPARSE_HELDOUT_MAE, (np.mean(errs), detail)
