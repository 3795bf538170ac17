"""People-count accuracy on the hand-counted vtest frames (fixture in tests/data).

Run: .venv/bin/python tests/analytics/vtest_eval.py [detector ...]
     .venv/bin/python tests/analytics/vtest_eval.py --sparse [detector ...]  (one sample per
     counted frame, one detector for the clip: the 1 sample/min production cadence)
     .venv/bin/python tests/analytics/vtest_eval.py --warmup [detector ...]  (a cold camera:
     ``Analyser.warm_up`` on k=3 frames ~1 s apart ending with the counted frame, then count)
     .venv/bin/python tests/analytics/vtest_eval.py --sparse-jpeg [detector ...]  (--sparse with
     every frame a JPEG, as snapshot cameras send them: decoded in full, and decoded at reduced
     scale as ingestion does for detectors that work from a reduced copy)
     .venv/bin/python tests/analytics/vtest_eval.py --single  (one image, no history: the
     history-free detector ``pantau analyze one.jpg`` uses)
Each counted frame is the last of a short segment (frames every 0.4 s over the preceding
~6 s) fed to a fresh detector, so background models start cold for every counted frame.
MAEs are printed for all counted frames and split into the tuning and held-out frames
(``split`` in vtest_people_counts.json: 38 tuning, 29 held out).
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


def load_segments(batch: int | None = None) -> list[tuple[int, int, list[np.ndarray]]]:
    """[(source frame index, true people count, frames ending with the counted frame)] in
    frame order; ``batch``: only the frames of that counting batch (1: the first 20)."""
    counts = {
        int(f["frame"]): int(f["people"])
        for f in json.loads((DATA / "vtest_people_counts.json").read_text())["frames"]
        if batch is None or f.get("batch", 1) == batch
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
    out = []
    for s in index["segments"]:
        if s["frame"] not in counts:
            continue
        pos = s.get("positions") or range(s["start"], s["start"] + s["length"])
        out.append((s["frame"], counts[s["frame"]], [frames[p] for p in pos]))
    return sorted(out, key=lambda seg: seg[0])


def split_segments(segments, split: str):
    """The segments whose counted frame is in ``split`` ("tune" or "holdout"), in frame order."""
    sp = frame_splits()
    return [s for s in segments if sp[s[0]] == split]


def frame_splits() -> dict[int, str]:
    """Source frame index -> "tune" (used while choosing parameters) or "holdout"."""
    doc = json.loads((DATA / "vtest_people_counts.json").read_text())
    return {int(f["frame"]): f.get("split", "tune") for f in doc["frames"]}


def mae_split(rows: list[tuple[int, int, int]]) -> tuple[float, float, float]:
    """(all, tune, holdout) MAE of ``[(frame, truth, counted)]``."""
    sp = frame_splits()
    err = {k: [abs(n - t) for f, t, n in rows if k in ("all", sp[f])] for k in ("all", "tune")}
    err["holdout"] = [abs(n - t) for f, t, n in rows if sp[f] == "holdout"]
    return tuple(float(np.mean(err[k])) if err[k] else float("nan") for k in err)  # type: ignore[return-value]


WARMUP_STRIDE = 3
"""Trim frames are 0.4 s apart: a stride of 3 = a warm-up burst with frames 1.2 s apart."""


def evaluate_warmup(
    name: str, segments, k: int = 3, stride: int = WARMUP_STRIDE
) -> list[tuple[int, int, int]]:
    """A cold camera per counted frame: ``Analyser.warm_up`` on ``k`` frames ``stride`` trim
    frames apart ending with the counted frame, then ``analyse`` it."""
    from analytics.pipeline import Analyser

    rows = []
    for frame_idx, truth, frames in segments:
        burst = frames[::-1][: (k - 1) * stride + 1 : stride][::-1]
        analyser = Analyser({}, detector=name)
        analyser.warm_up(burst)
        res = analyser.analyse(frames[-1])
        assert res.counts_known
        rows.append((frame_idx, truth, res.people))
    return rows


def evaluate_single(segments, model_path: str | None = None) -> list[tuple[int, int, int]]:
    """Each counted frame alone through the history-free path (no history at all)."""
    from analytics.pipeline import Analyser

    rows = []
    for frame_idx, truth, frames in segments:
        analyser = Analyser({}, detector="blob", model_path=model_path, cold_start="history-free")
        res = analyser.analyse(frames[-1])
        assert res.counts_known and res.count_path == "history-free"
        rows.append((frame_idx, truth, res.people))
    return rows


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


def sparse_rows(
    name: str, segments, burst: int = 1, warm_passes: int = 1
) -> list[tuple[int, int, int | None]]:
    """Production-like cadence: ONE detector for the whole clip, each counted frame analysed as
    a sample of ``burst`` consecutive frames (the others only observed), samples seconds apart
    so every sample sees a different scene. ``warm_passes`` earlier passes over the clip warm
    the background model (a camera that has been running). Rows of the last pass:
    ``(frame, truth, counted)``, counted ``None`` while the detector was not warm (the
    pipeline reports such a count as unknown)."""
    det = make_detector(name)
    rows: list[tuple[int, int, int | None]] = []
    for k, (frame_idx, truth, frames) in enumerate(list(segments) * (warm_passes + 1)):
        for f in frames[-burst:-1]:
            det.observe(f)
        warm = det.warm
        n = sum(1 for d in det.detect(frames[-1]) if d.label == "person")
        if k >= len(segments) * warm_passes:
            rows.append((frame_idx, truth, n if warm or not det.needs_history else None))
    return rows


def sparse_rows_by_split(
    name: str, segments, burst: int = 1, warm_passes: int = 1
) -> list[tuple[int, int, int | None]]:
    """:func:`sparse_rows` run as two cameras: one over the tuning frames, one over the
    held-out frames (each in frame order, samples 2-4 s apart), so a held-out sample's
    background never learnt from a tuning frame and vice versa."""
    return [
        row
        for split in ("tune", "holdout")
        for row in sparse_rows(name, split_segments(segments, split), burst, warm_passes)
    ]


def jpeg_segments(segments, scaled: bool, quality: int = 85):
    """``segments`` with every frame JPEG-encoded and decoded again: in full, or (``scaled``)
    as ingestion does it, a :class:`analytics.imaging.ScaledFrame` from a reduced-scale decode
    large enough for ``name``'s detector and the motion gate."""
    from analytics.pipeline import Analyser
    from ingestion.sources import decode_jpeg, decode_jpeg_scaled

    need = Analyser({}, detector="blob").reduced_size
    out = []
    for frame_idx, truth, frames in segments:
        decoded = []
        for f in frames:
            data = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
            decoded.append(decode_jpeg_scaled(data, 800, need) if scaled else decode_jpeg(data))
        out.append((frame_idx, truth, decoded))
    return out


def evaluate_sparse(name: str, segments, burst: int = 1, warm_passes: int = 1) -> float:
    """MAE of :func:`sparse_rows` over the samples that were counted."""
    rows = sparse_rows(name, segments, burst, warm_passes)
    return float(np.mean([abs(n - t) for _, t, n in rows if n is not None]))


def main(names: list[str]) -> None:
    cv2.setNumThreads(1)  # ms per frame as one worker process sees them
    segments = load_segments()

    def fmt(rows) -> str:
        known = [r for r in rows if r[2] is not None]
        a, t, h = mae_split(known)
        unknown = len(rows) - len(known)
        return f"MAE {a:.2f} (tune {t:.2f}, held-out {h:.2f})" + (
            f", {unknown} unknown" if unknown else ""
        )

    if names and names[0] == "--sparse":
        for name in names[1:] or ["blob"]:
            for burst in (1, 2, 3):
                cold = sparse_rows_by_split(name, segments, burst, warm_passes=0)
                warm = sparse_rows_by_split(name, segments, burst, warm_passes=1)
                print(f"{name:12s} sparse burst {burst}: cold {fmt(cold)}  warm {fmt(warm)}")
        return
    if names and names[0] == "--sparse-jpeg":
        for scaled in (False, True):
            segs = jpeg_segments(segments, scaled)
            for name in names[1:] or ["blob"]:
                for burst in (1, 2, 3):
                    cold = sparse_rows_by_split(name, segs, burst, warm_passes=0)
                    warm = sparse_rows_by_split(name, segs, burst, warm_passes=1)
                    how = "reduced decode" if scaled else "full decode   "
                    print(
                        f"{name:12s} JPEG {how} sparse burst {burst}: cold {fmt(cold)}  "
                        f"warm {fmt(warm)}"
                    )
        return
    if names and names[0] == "--warmup":
        for name in names[1:] or ["blob"]:
            for k, stride in ((3, WARMUP_STRIDE), (3, 2), (4, WARMUP_STRIDE), (4, 2), (5, 2)):
                rows = evaluate_warmup(name, segments, k, stride)
                print(
                    f"{name:12s} warm_up k={k} {stride * 0.4:.1f} s apart: {fmt(rows)}  "
                    + " ".join(f"{f}:{n}/{t}" for f, t, n in rows)
                )
        return
    if names and names[0] == "--single":
        t0 = time.process_time()
        rows = evaluate_single(segments, names[1] if len(names) > 1 else None)
        per = (time.process_time() - t0) / len(rows)
        print(
            f"single image, history-free: {fmt(rows)}  {per * 1000:.0f} CPU ms/frame  "
            + " ".join(f"{f}:{n}/{t}" for f, t, n in rows)
        )
        return
    for name in names or ["hog-default", "hog", "blob", "blob+hog"]:
        if name == "hog-default":
            # plain OpenCV HOG over the whole frame at default settings
            res = evaluate(lambda: make_detector("hog"), segments, use_motion=False)
        else:
            res = evaluate(lambda n=name: make_detector(n), segments)
        detail = " ".join(f"{r['frame']}:{r['counted']}/{r['truth']}" for r in res["rows"])
        rows = [(r["frame"], r["truth"], r["counted"]) for r in res["rows"]]
        print(f"{name:12s} {fmt(rows)}  bias {res['bias']:+.2f}  ({res['seconds']:.1f}s)  {detail}")


if __name__ == "__main__":
    main(sys.argv[1:])
