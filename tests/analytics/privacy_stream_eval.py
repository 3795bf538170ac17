"""Live-stream privacy blur (``analytics.privacy_stream.StreamBlur``) against the strict full search.

For every frame of a clip the reference is what the strict full search finds there (faces and
plates: what ``blur_private(frame)`` pixelates); the stream mode runs over the same frames in
order, and each reference box counts as covered when at least ``COVER_SHARE`` of its pixels lie
inside what the stream mode pixelated on that frame. Also reported: CPU ms per frame
(``time.process_time``, all threads of this process) for both.

Run: .venv/bin/python tests/analytics/privacy_stream_eval.py [--clip PATH] [--step N]
         [--limit N] [--faces] [--reference CACHE.json] [--refresh N]
(the reference is computed and written to CACHE.json when it does not exist, else read)
``--faces`` pastes a real face photo (tests/data/face_messi5_crop.png) onto the footage,
walking across the picture and then standing still, so there is something for the full search
to find (on vtest itself it finds about one false face in 160 frames: its faces are ~8 px).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analytics.privacy import detect_faces, detect_plates  # noqa: E402
from analytics.privacy_stream import StreamBlur  # noqa: E402
from analytics.types import Box  # noqa: E402

DATA = ROOT / "tests" / "data"
FACE = DATA / "face_messi5_crop.png"
COVER_SHARE = 0.9
FIXTURE = DATA / "privacy_stream_reference.json"
FIXTURE_FRAMES = 48
"""The fixture: full-search boxes on the first 48 frames of vtest_trim.avi with the faces
pasted (``--faces --limit 48 --reference tests/data/privacy_stream_reference.json``)."""


def clip_frames(path: Path, step: int = 1, limit: int | None = None) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    i = 0
    while limit is None or len(frames) < limit:
        ok, img = cap.read()
        if not ok:
            break
        if i % step == 0:
            frames.append(img)
        i += 1
    cap.release()
    if not frames:
        raise RuntimeError(f"no frames decoded from {path}")
    return frames


def face_path(n: int, w: int, h: int, size: int, still_from: float = 0.6) -> Iterator[Box]:
    """Where the pasted face is in each of ``n`` frames: it walks left to right along a gentle
    slope (``~w/(0.6 n)`` px per frame) and then stands still."""
    stop = max(1, int(n * still_from))
    for i in range(n):
        t = min(i, stop) / stop
        x = int(20 + t * (w - size - 40))
        y = int(h * 0.35 + 0.15 * h * t)
        yield (x, y, size, size)


def with_faces(frames: list[np.ndarray], size: int = 40) -> list[np.ndarray]:
    """Copies of ``frames`` with the face photo (scaled to ``size`` px) pasted along
    :func:`face_path`; plus a still 'poster' face in the top left corner."""
    face = cv2.imread(str(FACE))
    if face is None:
        raise RuntimeError(f"missing {FACE}")
    # the photo's face is at ~(70..110, 50..95): crop a head-and-shoulders patch around it
    patch = face[30:130, 45:140]
    ph = size * patch.shape[0] // 40
    pw = size * patch.shape[1] // 40
    walker = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA)
    poster = cv2.resize(patch, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_AREA)
    out = []
    h, w = frames[0].shape[:2]
    for f, (x, y, _, _) in zip(frames, face_path(len(frames), w - pw, h - ph, size), strict=True):
        g = f.copy()
        g[y : y + ph, x : x + pw] = walker
        g[10 : 10 + poster.shape[0], 10 : 10 + poster.shape[1]] = poster
        out.append(g)
    return out


def reference(frames: list[np.ndarray]) -> tuple[list[list[Box]], float]:
    """Strict full-search boxes (faces + plates) per frame, and CPU ms per frame."""
    refs: list[list[Box]] = []
    t0 = time.process_time()
    for f in frames:
        refs.append([tuple(b) for b in detect_faces(f) + detect_plates(f)])  # type: ignore[misc]
    return refs, (time.process_time() - t0) * 1000 / len(frames)


def run_stream(
    frames: list[np.ndarray], blur: StreamBlur | None = None
) -> tuple[list[list[Box]], list[float], list[str]]:
    """Stream mode over ``frames`` in order: (pixelated boxes, CPU ms, mode) per frame."""
    blur = blur or StreamBlur()
    boxes, cpu, modes = [], [], []
    for f in frames:
        t0 = time.process_time()
        _, n_faces, _ = blur(f)
        cpu.append((time.process_time() - t0) * 1000)
        if n_faces < 0:
            raise RuntimeError("stream blur failed")
        boxes.append(list(blur.last_boxes))
        modes.append(blur.last_mode)
    return boxes, cpu, modes


def coverage(
    refs: list[list[Box]], blurred: list[list[Box]], shape: tuple[int, ...]
) -> tuple[int, int, list[int]]:
    """(reference boxes, covered ones, frame indices with an uncovered box)."""
    total = covered = 0
    missed: list[int] = []
    for i, (ref, got) in enumerate(zip(refs, blurred, strict=True)):
        if not ref:
            continue
        mask = np.zeros(shape[:2], np.uint8)
        for x, y, w, h in got:
            mask[y : y + h, x : x + w] = 1
        for x, y, w, h in ref:
            total += 1
            area = max(1, w * h)
            if mask[y : y + h, x : x + w].sum() >= COVER_SHARE * area:
                covered += 1
            elif not missed or missed[-1] != i:
                missed.append(i)
    return total, covered, missed


def blurred_share(boxes: list[Box], shape: tuple[int, ...]) -> float:
    mask = np.zeros(shape[:2], np.uint8)
    for x, y, w, h in boxes:
        mask[y : y + h, x : x + w] = 1
    return float(mask.mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=DATA / "vtest_trim.avi")
    ap.add_argument("--step", type=int, default=1, help="use every Nth frame")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--faces", action="store_true", help="paste a walking + a still face")
    ap.add_argument("--reference", type=Path, help="cache of the full-search boxes (JSON)")
    ap.add_argument("--refresh", type=int, default=120, help="full search every N frames")
    args = ap.parse_args()
    frames = clip_frames(args.clip, args.step, args.limit)
    if args.faces:
        frames = with_faces(frames)
    if args.reference and args.reference.is_file():
        cached = json.loads(args.reference.read_text())
        refs, ref_ms = [[tuple(b) for b in r] for r in cached["boxes"]], cached["cpu_ms"]
    else:
        refs, ref_ms = reference(frames)
        if args.reference:
            args.reference.write_text(json.dumps({"boxes": refs, "cpu_ms": ref_ms}))
    boxes, cpu, modes = run_stream(frames, StreamBlur(refresh_frames=args.refresh))
    total, covered, missed = coverage(refs, boxes, frames[0].shape)
    steady = sorted(cpu[1:]) or cpu
    print(f"clip {args.clip.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}")
    print(
        f"full search: {ref_ms:.0f} ms CPU/frame, {total} boxes in {sum(1 for r in refs if r)} frames"
    )
    print(
        f"stream mode: {np.mean(cpu):.0f} ms CPU/frame mean, median {np.median(steady):.0f}, "
        f"p95 {steady[int(0.95 * (len(steady) - 1))]:.0f}, max {max(cpu):.0f}; "
        f"full searches {modes.count('full')}"
    )
    share = covered / total if total else 1.0
    area = np.mean([blurred_share(b, frames[0].shape) for b in boxes])
    print(f"stream mode pixelates {area:.1%} of the picture on average (heads included)")
    print(
        f"coverage: {covered}/{total} reference boxes = {share:.1%}; missed in frames {missed[:20]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
