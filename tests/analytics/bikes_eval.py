"""Low-camera check on real street footage (tests/data/bikes_trim.mp4, hand counts in
tests/data/bikes_counts.json): each 'camera' is warmed up on 3 of its frames, then analyses
every frame in order, like a camera sampled at video rate.

    PYTHONPATH=$PWD .venv/bin/python tests/analytics/bikes_eval.py   # table: default/marks/learned
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import cv2

DATA = Path(__file__).resolve().parents[1] / "data"
CLIP = DATA / "bikes_trim.mp4"
FIRST_SOURCE_FRAME = 137


def load_truth() -> dict[str, Any]:
    return json.loads((DATA / "bikes_counts.json").read_text())


def read_clip() -> list[Any]:
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def run_camera(
    frames: list[Any], camera: dict[str, Any], mode: str
) -> tuple[dict[int, tuple[int, int]], dict[str, Any]]:
    """{source frame: (people, vehicles)} and the calibration, for ``mode`` default / marks /
    learned (learned: one pass over the camera's frames to learn, then the counting pass)."""
    from analytics.pipeline import Analyser

    s0, s1 = camera["source_frames"]
    seg = frames[s0 - FIRST_SOURCE_FRAME : s1 - FIRST_SOURCE_FRAME + 1]
    cfg = {"perspective": camera["perspective"]} if mode == "marks" else {}
    an = Analyser(cfg, detector="blob")
    warm = seg[:: max(1, len(seg) // 3)][:3]
    if mode == "learned":
        an.warm_up(warm)
        for f in seg:
            an.analyse(f)
        learned = an.perspective_learner.to_state()
        an = Analyser(cfg, detector="blob")
        an.perspective_learner.load(learned)
    an.warm_up(warm)
    out = {}
    for i, f in enumerate(seg):
        r = an.analyse(f)
        out[s0 + i] = (r.people, r.vehicles_total)
    h, w = seg[0].shape[:2]
    return out, an.calibration(w, h)


def main() -> int:
    truth, frames = load_truth(), read_clip()
    for name, cam in truth["cameras"].items():
        for mode in ("default", "marks", "learned"):
            counts, cal = run_camera(frames, cam, mode)
            rows = []
            for use in ("tune", "test"):
                fr = [int(k) for k, v in cam["frames"].items() if v["use"] == use]
                ep = sum(abs(counts[f][0] - cam["frames"][str(f)]["people"]) for f in fr) / len(fr)
                ev = sum(abs(counts[f][1] - cam["frames"][str(f)]["cars"]) for f in fr) / len(fr)
                got = [counts[f] for f in fr]
                rows.append(f"{use}: people MAE {ep:.2f} vehicles MAE {ev:.2f} {got}")
            print(f"{name:9s} {mode:8s} {cal}")
            for r in rows:
                print("    " + r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
