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

``--state`` (also part of the default run) measures the per-camera portable state (issue 9):
the JPEG decode floor of a 768x576 frame, CPU ms of a quiet ``analyse()`` (motion gate says
nothing moved: counts reused), ``export_state()`` after a quiet and after a busy sample,
``load_state()`` into a fresh analyser, serialised sizes at 768x576 and 1920x1080, and live
memory of many analysers each fed a frame (tracemalloc and RSS growth; ``blob-mog2`` = the
MOG2 detector it replaced, measured on fewer cameras: ~7.6 MiB each). ``--state-only`` runs
just that.
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
from analytics.privacy import blur_private  # noqa: E402
from analytics.privacy_stream import StreamBlur  # noqa: E402
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
    analyser.warm_up(frames[:3])  # a running camera: counts from the first frame on
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


def _cpu_ms(fn, reps: int) -> float:
    t = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - t) * 1000 / reps


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def state_bench(cameras: int = 1000, mog2_cameras: int = 40) -> None:
    import gc
    import tracemalloc

    from vtest_eval import load_segments

    samples = [fr[-1] for _, _, fr in load_segments()]
    print("\nper-camera state (cv2 threads=1, CPU ms per call, mean of many calls)")
    frame = samples[0]
    jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    decode = _cpu_ms(lambda: cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), 200)
    print(f"  JPEG decode 768x576 ({len(jpeg) // 1024} KiB, q85): {decode:.2f} ms  <- the floor")
    rng = np.random.default_rng(0)
    for w, h in ((768, 576), (1920, 1080)):
        frames = [f if (w, h) == (768, 576) else cv2.resize(f, (w, h)) for f in samples]
        a = Analyser({}, detector="blob")
        for f in frames * 2:  # a camera that has been running: warm
            a.analyse(f)
        cycle = iter(frames * 4)  # busy: every sample a different scene
        busy_an = _cpu_ms(lambda a=a, c=cycle: a.analyse(next(c)), 20)
        busy_export = _cpu_ms(lambda a=a, c=cycle: (a.analyse(next(c)), a.export_state()), 20)
        blob = a.export_state()
        quiet = [
            np.clip(frames[-1] + rng.normal(0, 2, frames[-1].shape), 0, 255).astype(np.uint8)
            for _ in range(8)
        ]
        for q in quiet[:3]:
            a.analyse(q)
        reused, n = 0, 0
        t = time.process_time()
        for i in range(200):
            reused += a.analyse(quiet[i % len(quiet)]).reused_from_previous
            n += 1
        quiet_ms = (time.process_time() - t) * 1000 / n
        t = time.process_time()
        for i in range(200):
            a.analyse(quiet[i % len(quiet)])
            a.export_state()
        quiet_export = (time.process_time() - t) * 1000 / 200 - quiet_ms
        blob = a.export_state()
        load = _cpu_ms(lambda b=blob, s=(w, h): Analyser({}, detector="blob").load_state(b, s), 200)
        # a worker that keeps states as bytes: new analyser, load, analyse, export per sample
        held = [blob]

        def hop(held=held, s=(w, h), quiet=quiet, k=iter(range(10**9))) -> None:
            b = Analyser({}, detector="blob")
            b.load_state(held[0], s)
            b.analyse(quiet[next(k) % len(quiet)])
            held[0] = b.export_state()

        hop_ms = _cpu_ms(hop, 200)
        print(
            f"  {w}x{h}: state {len(blob) / 1024:.1f} KiB; quiet analyse() {quiet_ms:.2f} ms "
            f"({reused / n:.0%} reused); export after a quiet sample {quiet_export:.2f} ms, "
            f"after a busy one {busy_export - busy_an:.2f} ms; load_state (new analyser) "
            f"{load:.2f} ms; busy analyse() {busy_an:.2f} ms; a quiet sample from bytes to "
            f"bytes (new Analyser + load_state + analyse + export_state) {hop_ms:.2f} ms"
        )
    for det, n in (("blob", cameras), ("blob-mog2", mog2_cameras)):
        gc.collect()
        rss0 = _rss()
        tracemalloc.start()
        keep = []
        for i in range(n):
            an = Analyser({}, detector=det)
            an.analyse(samples[i % len(samples)])
            keep.append(an)
        traced, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = _rss() - rss0
        print(
            f"  live memory, {n} analysers ({det}) fed one 768x576 frame each: "
            f"{traced / n / 1024:.0f} KiB (tracemalloc) / {rss / n / 1024:.0f} KiB (RSS) per camera"
        )
        del keep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--detectors", default="blob,blob+hog,hog")
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--state", action="store_true", help="only the per-camera state figures")
    ap.add_argument("--state-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.state or args.state_only:
        state_bench()
        return
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
    state_bench()
    if args.accuracy:
        from vtest_eval import main as eval_main

        print("\npeople-count accuracy on hand-counted vtest frames (tests/data):")
        eval_main(["hog-default", "hog", "blob", "blob+hog"])


if __name__ == "__main__":
    main()
