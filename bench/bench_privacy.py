"""Privacy blur benchmark (issue 13): face recall by size and CPU ms per 768x576 frame, for the
CenterFace model (``pantau models install centerface``) and the Haar fallback; plate recall on
a real plate picture. Plain script; prints tables.

    .venv/bin/python bench/bench_privacy.py [--model centerface.onnx] [--no-haar] [--repeat N]
                                             [--lfw lfw_subset.npy]

Faces: the held-out faces of tests/analytics/face_paste.py (two people the tuning never used)
pasted into real vtest frames at 24/32/48/64 px, six places, both orientations (24 cases per
size); a case counts when >= 90 % of the marked face box lies in the pixelated area. CPU:
``time.process_time`` per call, one OpenCV thread (one camera per core, as the workers run),
median over the vtest frames: the face search alone, ``blur_private`` without and with the
plate search, the fast mode (``detections=``), and ``StreamBlur`` over 48 successive frames
with two faces moving and standing (first frame excluded). Plates: OpenCV's
``licenseplate_motion.jpg`` (Debian opencv-doc; a real, motion-blurred plate, box marked by
eye) scaled so the plate is 48-160 px wide and pasted into six vtest frames. ``--lfw`` adds a
one-off check on scikit-image's ``lfw_subset.npy`` (100 tight 25x25 face crops of 100 people,
Debian python3-skimage), pasted bare at 24-64 px.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "analytics"))

cv2.setNumThreads(1)

from face_paste import FRAMES, POSITIONS, SIZES, cases, covered, paste, vtest_frames  # noqa: E402
from privacy_stream_eval import clip_frames, with_faces  # noqa: E402

from analytics.privacy import blur_private, detect_faces, detect_plates  # noqa: E402
from analytics.privacy_stream import StreamBlur  # noqa: E402

PLATE_PICTURE = Path("/usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg")
PLATE_BOX = (228, 225, 129, 72)
"""The plate in licenseplate_motion.jpg (600x482), marked by eye."""


def find_model(arg: Path | None) -> Path:
    if arg:
        return arg
    from pantau import models
    from pantau.settings import Settings

    face = Settings().face_model_path
    if face and Path(face).is_file():
        return Path(face)
    cache = Path.home() / ".cache" / "pantau-test-models"
    return models.install("centerface", cache, progress=print)


def cpu_ms(fn, frames: list[np.ndarray], repeat: int) -> float:
    fn(frames[0])  # warm-up: model load, first-size allocation
    times = []
    for _ in range(repeat):
        for f in frames:
            t0 = time.process_time()
            fn(f)
            times.append((time.process_time() - t0) * 1000)
    return statistics.median(times)


def face_recall(model: Path | None) -> dict[int, tuple[int, int]]:
    frames = vtest_frames()
    out: dict[int, list[int]] = {s: [0, 0] for s in SIZES}
    for photo, size, i, flip in cases():
        frame, box = paste(frames[FRAMES[i]], photo, size, POSITIONS[i], flip)
        out[size][0] += covered(box, detect_faces(frame, model)) >= 0.9
        out[size][1] += 1
    return {s: (h, n) for s, (h, n) in out.items()}


def plate_recall() -> dict[int, tuple[int, int]]:
    car = cv2.imread(str(PLATE_PICTURE))
    frames = vtest_frames()
    out = {}
    for pw in (48, 64, 96, 129, 160):
        k = pw / PLATE_BOX[2]
        img = cv2.resize(car, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        ox = max(0, (img.shape[1] - 760) // 2)
        oy = max(0, (img.shape[0] - 560) // 2)
        img = img[oy : oy + 560, ox : ox + 760]
        h, w = img.shape[:2]
        hit = 0
        for i in range(len(POSITIONS)):
            f = frames[FRAMES[i]].copy()
            x, y = min(POSITIONS[i][0], 768 - w), min(POSITIONS[i][1], 576 - h)
            f[y : y + h, x : x + w] = img
            box = (
                x + round(PLATE_BOX[0] * k) - ox,
                y + round(PLATE_BOX[1] * k) - oy,
                round(PLATE_BOX[2] * k),
                round(PLATE_BOX[3] * k),
            )
            hit += covered(box, detect_plates(f)) >= 0.9
        out[pw] = (hit, len(POSITIONS))
    return out


def lfw_recall(path: Path, model: Path | None) -> dict[int, tuple[int, int]]:
    faces = np.load(path)[:100]
    faces = (faces * 255).astype(np.uint8) if faces.max() <= 1 else faces.astype(np.uint8)
    frames = vtest_frames()
    out = {}
    for size in SIZES:
        hit = 0
        for k, face in enumerate(faces):
            i = (k + size) % len(POSITIONS)
            f = frames[FRAMES[i]].copy()
            x, y = POSITIONS[i]
            f[y : y + size, x : x + size] = cv2.cvtColor(
                cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR
            )
            hit += covered((x, y, size, size), detect_faces(f, model)) >= 0.9
        out[size] = (hit, len(faces))
    return out


def fmt(rec: dict[int, tuple[int, int]]) -> str:
    return "  ".join(f"{s}px {h}/{n}" for s, (h, n) in rec.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="centerface.onnx (default: installed one)")
    ap.add_argument("--no-haar", action="store_true", help="skip the slow Haar rows")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--lfw", type=Path, help="scikit-image lfw_subset.npy: one-off face check")
    args = ap.parse_args()
    model = find_model(args.model)
    frames = list(vtest_frames().values())
    print(f"model: {model}")
    print("\nCPU ms per 768x576 frame (median, one OpenCV thread)")
    rows = [
        ("centerface: faces only", lambda f: detect_faces(f, model)),
        ("centerface: blur_private, no plates", lambda f: blur_private(f, model, plates=False)),
        ("centerface: blur_private (+ Haar plates)", lambda f: blur_private(f, model)),
        ("centerface: fast mode (detections=[])", lambda f: blur_private(f, model, detections=[])),
    ]
    if not args.no_haar:
        rows.append(("haar: blur_private, no plates", lambda f: blur_private(f, plates=False)))
    for name, fn in rows:
        print(f"  {name:44} {cpu_ms(fn, frames, args.repeat):7.1f}")
    clip = with_faces(clip_frames(ROOT / "tests" / "data" / "vtest_trim.avi", 1, 48))
    blur = StreamBlur(model)
    times = []
    for f in clip:
        t0 = time.process_time()
        blur(f)
        times.append((time.process_time() - t0) * 1000)
    print(
        f"  {'centerface: StreamBlur, 47 frames after the 1st':44} "
        f"{statistics.median(times[1:]):7.1f} (mean {statistics.mean(times[1:]):.1f})"
    )
    print("\nFace recall, held-out faces (24 cases per size)")
    print(f"  centerface  {fmt(face_recall(model))}")
    if not args.no_haar:
        print(f"  haar        {fmt(face_recall(None))}")
    if args.lfw:
        print("\nFace recall, LFW subset (100 tight crops per size, no hair or context)")
        print(f"  centerface  {fmt(lfw_recall(args.lfw, model))}")
    if PLATE_PICTURE.is_file():
        print("\nPlate recall (Haar plate cascade), licenseplate_motion.jpg, plate width")
        print(f"  haar        {fmt(plate_recall())}")
    else:
        print(f"\n(no {PLATE_PICTURE}: apt install opencv-doc for the plate recall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
