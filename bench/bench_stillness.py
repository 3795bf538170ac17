"""Things that stand still (issue 13): what the long-term background buys and costs.

    .venv/bin/python bench/bench_stillness.py [--samples N]

Prints (1) the synthetic ``crowd`` scene (24 people milling about a plaza, a few of them
nearly in place) counted as a share of its truth, at the production cadence (one sample a
minute) and at 2 frames/s, per seed; (2) a composed scene (a quiet street where a person
stands 35 minutes, a car parks 30 minutes, a bag stays) counted against its truth; (3) CPU ms
per ``analyse()`` (``time.process_time``, one core) for a quiet 768x576 camera, a busy one
(vtest, detection every sample) and the synthetic street at one sample a minute. Run it in an
older checkout to get the "before" column (the script only uses ``analytics``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
cv2.setNumThreads(1)

from analytics.pipeline import Analyser  # noqa: E402
from analytics.synthetic import SyntheticScene  # noqa: E402

try:  # the composed scene needs SyntheticScene(still=...) (issue 13)
    from analytics.synthetic import StillObject  # noqa: E402
except ImportError:  # an older checkout
    StillObject = None  # type: ignore[assignment,misc]


def crowd_share(seed: int, step_s: float, n: int) -> tuple[float, int]:
    scene = SyntheticScene("crowd", seed=seed)
    a = Analyser(scene.analytics_config(), detector="blob")
    got = truth = 0
    for i in range(n):
        frame, tr = scene.frame_at(i * step_s)
        r = a.analyse(frame, ts=1.7e9 + i * step_s)
        if i >= 10 and r.counts_known:
            got += r.people
            truth += tr.people
    return (got / truth if truth else float("nan")), truth


def composed(n: int) -> str:
    if StillObject is None:
        return "n/a (no SyntheticScene(still=...) in this checkout)"
    still = [
        StillObject("person", 0.3, 0.9, 600, 2700),
        StillObject("car", 0.62, 0.76, 900, 2700, (40, 160, 40)),
        StillObject("object", 0.82, 0.95, 1200, math.inf, (25, 25, 25)),
    ]
    scene = SyntheticScene("quiet", seed=5, still=still)
    a = Analyser(scene.analytics_config(), detector="blob")
    got_p = got_v = tru_p = tru_v = 0
    for i in range(n):
        frame, tr = scene.frame_at(i * 60.0)
        r = a.analyse(frame, ts=1.7e9 + i * 60.0)
        if i >= 10 and r.counts_known:
            got_p += r.people
            tru_p += tr.people
            got_v += r.vehicles_total
            tru_v += sum(tr.vehicles.values())
    return f"people {got_p}/{tru_p}, vehicles {got_v}/{tru_v} (sample-counts over the run)"


def cpu_ms(frames: list[np.ndarray], config: dict, step_s: float) -> float:
    a = Analyser(config, detector="blob")
    a.warm_up(frames[:3])
    a.analyse(frames[0], ts=1.7e9)
    t0 = time.process_time()
    for i, f in enumerate(frames):
        a.analyse(f, ts=1.7e9 + (i + 1) * step_s)
    return (time.process_time() - t0) * 1000 / len(frames)


def vtest(n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(ROOT / "tests" / "data" / "vtest_trim.avi"))
    out = []
    while len(out) < n:
        ok, img = cap.read()
        if not ok:
            break
        out.append(img)
    cap.release()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=60)
    args = ap.parse_args()
    n = args.samples
    print("synthetic crowd, people counted / truth (samples 10.. of", n, ")")
    for step, label in ((60.0, "1 sample/min"), (0.5, "2 frames/s")):
        shares = [crowd_share(seed, step, n)[0] for seed in (1, 2, 3)]
        print(
            f"  {label:13s} "
            + "  ".join(f"seed {s}: {x:.0%}" for s, x in zip((1, 2, 3), shares, strict=True))
        )
    print("composed quiet street (person 35 min, car 30 min, bag stays):", composed(n))
    frames = vtest(40)
    still = [frames[0]] * 40
    street = SyntheticScene("street", seed=3)
    st_frames = [street.frame_at(i * 60.0)[0] for i in range(40)]
    print("CPU ms per analyse() (one core):")
    print(f"  quiet 768x576 (nothing moves)      {cpu_ms(still, {}, 60.0):6.2f}")
    print(f"  busy vtest 768x576 (every sample)  {cpu_ms(frames, {}, 60.0):6.2f}")
    cfg = street.analytics_config()
    print(f"  synthetic street 640x360, 1/min    {cpu_ms(st_frames, cfg, 60.0):6.2f}")


if __name__ == "__main__":
    main()
