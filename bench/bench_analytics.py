"""Analytics benchmark: per-stage milliseconds and frames/s for static, busy (real vtest
footage) and synthetic mixed scenes. Plain script; prints a table.

    .venv/bin/python bench/bench_analytics.py [--frames N] [--detectors blob,blob+hog,hog]
                                              [--accuracy]

``--accuracy`` also prints the people-count MAE per detector on the hand-counted vtest
frames (tests/data). Stages: motion gate, detection, counting (incl. ROI tests), flood
coverage, privacy blur (Haar faces + plates, run on every frame here; production blurs only
frames it publishes), priv_fast = privacy blur in fast mode (``detections=``, what ingestion's
public snapshots use), priv_strm = the live-stream blur (``StreamBlur`` over the frames in order,
first frame a full search included: what public live streams use). Stage columns are wall ms (the pipeline's timings). ``cpu`` and
``cpu_all`` are CPU ms per analyse() call (time.process_time: robust on a shared, noisy
machine), motion-gated (frames with nothing moving reuse the last counts) and with detection
forced; ``fps`` = 1000 / cpu.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "analytics"))

cv2.setNumThreads(1)  # one camera per core: that is how the worker pool runs analytics

from analytics.flood import build_dry_reference  # noqa: E402
from analytics.pipeline import Analyser  # noqa: E402
from analytics.privacy import StreamBlur, blur_private  # noqa: E402
from analytics.synthetic import SyntheticScene  # noqa: E402

STAGES = ("motion", "detection", "counting", "flood", "privacy", "priv_fast", "priv_strm")


def vtest_frames(n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(ROOT / "tests" / "data" / "vtest_trim.avi"))
    frames = []
    while len(frames) < n:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


def scenes(n: int) -> dict[str, tuple[list[np.ndarray], dict, np.ndarray | None]]:
    out = {}
    quiet = SyntheticScene("quiet", seed=1, width=640, height=360)
    out["static 640x360"] = (
        [quiet.frame_at(i * 2.0)[0] for i in range(n)],
        quiet.analytics_config(),
        None,
    )
    street = SyntheticScene("street", seed=2, width=640, height=360)
    flood = SyntheticScene("flood", seed=2, width=640, height=360, flood_seconds=n * 1.0)
    mixed = []
    for i in range(n):  # alternate traffic and a flooding street: all stages busy
        mixed.append(street.frame_at(i * 0.5)[0] if i % 2 == 0 else flood.frame_at(i * 1.0)[0])
    ref = build_dry_reference([street.frame_at(t)[0] for t in (0.0, 3.0, 6.0)])
    out["synthetic mixed 640x360"] = (mixed, street.analytics_config(), ref.image)
    out["busy vtest 768x576"] = (
        vtest_frames(n),
        {"flood": {"points": [[0, 0.45], [1, 0.45], [1, 0.8], [0, 0.8]]}},
        None,
    )
    return out


def run(frames, cfg, ref, detector: str, always: bool, privacy: bool) -> dict[str, float]:
    analyser = Analyser(cfg, detector=detector, always_detect=always)
    if ref is not None:
        analyser.set_dry_reference(ref)
    else:
        analyser.set_dry_reference(frames[0])
    totals = dict.fromkeys(STAGES, 0.0)
    reused = 0
    cpu = 0.0
    stream_blur = StreamBlur()
    for i, f in enumerate(frames):
        c0 = time.process_time()
        r = analyser.analyse(f, ts=float(i))
        cpu += time.process_time() - c0
        reused += r.reused_from_previous
        for k in ("motion", "detection", "counting", "flood"):
            totals[k] += r.timings_ms.get(k, 0.0)
        if privacy:
            t = time.process_time()
            blur_private(f)
            totals["privacy"] += (time.process_time() - t) * 1000
            t = time.process_time()
            blur_private(f, detections=r.detections)
            totals["priv_fast"] += (time.process_time() - t) * 1000
            t = time.process_time()
            stream_blur(f)
            totals["priv_strm"] += (time.process_time() - t) * 1000
    n = len(frames)
    res = {k: v / n for k, v in totals.items()}
    res["cpu"] = cpu * 1000 / n
    res["reused"] = reused / n
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--detectors", default="blob,blob+hog,hog")
    ap.add_argument("--accuracy", action="store_true")
    args = ap.parse_args()
    data = scenes(args.frames)
    print(f"{args.frames} frames per scene, cv2 threads=1; mean ms per frame (privacy: CPU ms)\n")
    hdr = (
        f"{'scene':26s} {'detector':9s} "
        + " ".join(f"{s:>9s}" for s in STAGES)
        + f" {'cpu':>7s} {'cpu_all':>7s} {'fps':>7s} {'reused':>6s}"
    )
    print(hdr)
    print("-" * len(hdr))
    for scene, (frames, cfg, ref) in data.items():
        for det in args.detectors.split(","):
            gated = run(frames, cfg, ref, det, always=False, privacy=det == "blob")
            forced = run(frames, cfg, ref, det, always=True, privacy=False)
            priv = (
                f"{gated['privacy']:9.1f} {gated['priv_fast']:9.1f} {gated['priv_strm']:9.1f}"
                if det == "blob"
                else f"{'':>9s} {'':>9s} {'':>9s}"
            )
            print(
                f"{scene:26s} {det:9s} {forced['motion']:9.2f} {forced['detection']:9.2f} {forced['counting']:9.2f} "
                f"{forced['flood']:9.2f} {priv} {gated['cpu']:7.2f} {forced['cpu']:7.2f} "
                f"{1000 / gated['cpu']:7.0f} {gated['reused']:6.0%}",
                flush=True,
            )
    if args.accuracy:
        from vtest_eval import main as eval_main

        print("\npeople-count accuracy on hand-counted vtest frames (tests/data):")
        eval_main(["hog-default", "hog", "blob", "blob+hog"])


if __name__ == "__main__":
    main()
