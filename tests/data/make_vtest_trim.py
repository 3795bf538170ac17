"""Rebuild tests/data/vtest_trim.avi from OpenCV's vtest.avi (run once; output is committed).

For each counted frame i in vtest_people_counts.json the clip keeps the frames
i-WARMUP_SPAN .. i every STRIDE frames (so counted frame i is the last of its segment), giving
the background models a few seconds of history, like a camera sampled at 2.5 fps.

Batch-1 frames (the first 20 counted) are written first, each segment contiguous, exactly as
before, so the clip's first 334 frames (used by the privacy and ingestion tests) do not change.
Batch-2 frames are all multiples of 4, so their segments share frames: the clip then holds
every source frame they need once, in source order, and their index entries list clip
``positions`` instead of ``start``/``length``.
Usage: python tests/data/make_vtest_trim.py /path/to/vtest.avi
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
STRIDE = 4
WARMUP_SPAN = 64


def segment(i: int) -> list[int]:
    return [j for j in range(i - WARMUP_SPAN, i + 1, STRIDE) if j >= 0]


def main(src: str) -> None:
    spec = json.loads((HERE / "vtest_people_counts.json").read_text())
    first = [int(f["frame"]) for f in spec["frames"] if f.get("batch", 1) == 1]
    later = [int(f["frame"]) for f in spec["frames"] if f.get("batch", 1) != 1]
    wanted: list[int] = []
    segments: list[dict] = []
    for i in first:
        seg = segment(i)
        segments.append({"frame": i, "start": len(wanted), "length": len(seg)})
        wanted.extend(seg)
    shared = sorted({j for i in later for j in segment(i)})
    base = len(wanted)
    wanted.extend(shared)
    pos = {j: base + k for k, j in enumerate(shared)}
    for i in later:
        segments.append({"frame": i, "positions": [pos[j] for j in segment(i)]})
    cap = cv2.VideoCapture(src)
    frames = {}
    idx = 0
    need = set(wanted)
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if idx in need:
            frames[idx] = img
        idx += 1
    h, w = next(iter(frames.values())).shape[:2]
    out = cv2.VideoWriter(
        str(HERE / "vtest_trim.avi"), cv2.VideoWriter_fourcc(*"XVID"), 10.0, (w, h)
    )
    for j in wanted:
        out.write(frames[j])
    out.release()
    (HERE / "vtest_trim_index.json").write_text(
        json.dumps({"source_frames": wanted, "stride": STRIDE, "segments": segments}) + "\n"
    )
    print(f"wrote {len(wanted)} frames ({len(first)} + {len(later)} counted frames)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/vtest.avi")
