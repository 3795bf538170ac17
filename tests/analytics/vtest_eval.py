"""People-count accuracy on the hand-counted vtest frames (fixture in tests/data).

Run: .venv/bin/python tests/analytics/vtest_eval.py [detector ...]
     .venv/bin/python tests/analytics/vtest_eval.py --sparse [detector ...]  (one sample per
     counted frame, one detector for the clip: the 1 sample/min production cadence)
Each counted frame is the last of a short segment (frames every 0.4 s over the preceding
~10 s) fed to a fresh detector, so background models start cold for every counted frame.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analytics.detectors import Detector, make_detector  # noqa: E402
from analytics.motion import MotionGate  # noqa: E402

DATA = ROOT / "tests" / "data"


def load_segments() -> list[tuple[int, int, list[np.ndarray]]]:
    """[(source frame index, true people count, frames ending with the counted frame)]."""
    counts = {
        int(f["frame"]): int(f["people"])
        for f in json.loads((DATA / "vtest_people_counts.json").read_text())["frames"]
    }
    index = json.loads((DATA / "vtest_trim_index.json").read_text())
    cap = cv2.VideoCapture(str(DATA / "vtest_trim.avi"))
    frames: list[np.ndarray] = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    if len(frames) != len(index["source_frames"]):
        raise RuntimeError(
            f"vtest_trim.avi decoded {len(frames)} frames, index expects {len(index['source_frames'])}"
        )
    return [
        (s["frame"], counts[s["frame"]], frames[s["start"] : s["start"] + s["length"]])
        for s in index["segments"]
    ]


def frame_splits() -> dict[int, str]:
    """Source frame index -> "tune" (used while choosing parameters) or "holdout"."""
    doc = json.loads((DATA / "vtest_people_counts.json").read_text())
    return {int(f["frame"]): f.get("split", "tune") for f in doc["frames"]}


def count_people(detector: Detector, frames: list[np.ndarray], use_motion: bool = True) -> int:
    gate = MotionGate()
    regions = None
    for f in frames[:-1]:
        detector.observe(f)
        if use_motion:
            gate.update(f)
    if use_motion:
        regions = gate.update(frames[-1]).regions
    dets = detector.detect(frames[-1], regions)
    return sum(1 for d in dets if d.label == "person")


def evaluate(factory: Callable[[], Detector], segments=None, use_motion: bool = True) -> dict:
    segments = segments if segments is not None else load_segments()
    rows = []
    t0 = time.perf_counter()
    for frame_idx, truth, frames in segments:
        n = count_people(factory(), frames, use_motion)
        rows.append({"frame": frame_idx, "truth": truth, "counted": n})
    errs = [abs(r["counted"] - r["truth"]) for r in rows]
    return {
        "mae": float(np.mean(errs)),
        "bias": float(np.mean([r["counted"] - r["truth"] for r in rows])),
        "rows": rows,
        "seconds": time.perf_counter() - t0,
    }


def evaluate_sparse(name: str, segments, burst: int = 1, warm_passes: int = 1) -> float:
    """Production-like cadence: ONE detector for the whole clip, each counted frame analysed as
    a sample of ``burst`` consecutive frames (the others only observed), samples seconds apart
    so every sample sees a different scene. ``warm_passes`` earlier passes over the clip warm
    the background model (a camera that has been running); returns the MAE after warm-up."""
    det = make_detector(name)
    errs = []
    for k, (_, truth, frames) in enumerate(list(segments) * (warm_passes + 1)):
        for f in frames[-burst:-1]:
            det.observe(f)
        n = sum(1 for d in det.detect(frames[-1]) if d.label == "person")
        if k >= len(segments) * warm_passes:
            errs.append(abs(n - truth))
    return float(np.mean(errs))


def main(names: list[str]) -> None:
    segments = load_segments()
    if names and names[0] == "--sparse":
        for name in names[1:] or ["blob"]:
            for burst in (1, 2, 3):
                cold = evaluate_sparse(name, segments, burst, warm_passes=0)
                warm = evaluate_sparse(name, segments, burst, warm_passes=1)
                print(f"{name:12s} sparse burst {burst}: MAE cold {cold:.2f}  warm {warm:.2f}")
        return
    for name in names or ["hog-default", "hog", "blob", "blob+hog"]:
        if name == "hog-default":
            # plain OpenCV HOG over the whole frame at default settings
            res = evaluate(lambda: make_detector("hog"), segments, use_motion=False)
        else:
            res = evaluate(lambda n=name: make_detector(n), segments)
        detail = " ".join(f"{r['frame']}:{r['counted']}/{r['truth']}" for r in res["rows"])
        print(
            f"{name:12s} MAE {res['mae']:.2f}  bias {res['bias']:+.2f}  ({res['seconds']:.1f}s)  {detail}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
