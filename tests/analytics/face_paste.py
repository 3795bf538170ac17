"""Faces pasted into real CCTV frames at known places and sizes, for the privacy-blur tests and
bench (``bench/bench_privacy.py``).

Held-out faces (never used to choose the CenterFace scale or threshold; that was done with
``face_messi5_crop.png`` only): two other people, both cropped as head and shoulders, their
face boxes (brow/hairline to chin, cheek to cheek) marked by eye on a zoomed grid:

* ``face_astronaut_crop.png``: Eileen Collins, colour studio portrait (scikit-image's
  ``astronaut.png``, NASA, public domain; Debian ``python3-skimage``);
* ``face_basketball1_crop.png``: the left player of OpenCV's ``basketball1.png`` (Debian
  ``opencv-doc``), grey, soft, 3/4 view, a real indoor-camera face.

A face of "size S" is pasted with its marked box S px wide; the patch around it (hair,
shoulders, background of the original photo) is scaled alike and pasted as a rectangle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data"
VIDEO = DATA / "vtest_trim.avi"


@dataclass(frozen=True)
class FacePhoto:
    file: str
    box: tuple[int, int, int, int]
    """x, y, w, h of the face in the file (marked by eye)."""


HELD_OUT = (
    FacePhoto("face_astronaut_crop.png", (50, 55, 82, 88)),
    FacePhoto("face_basketball1_crop.png", (26, 36, 36, 40)),
)
TUNING = FacePhoto("face_messi5_crop.png", (70, 50, 40, 45))
SIZES = (24, 32, 48, 64)
POSITIONS = ((30, 40), (360, 60), (650, 80), (40, 300), (330, 260), (600, 330))
"""Top-left corners of the pasted patches in 768x576 frames: corners, middle, the busy
pavement (vtest's walkers) and the plain walls."""
FRAMES = (3, 60, 120, 180, 240, 300)
"""vtest_trim.avi frames used (one per position)."""


def vtest_frames(indices=FRAMES) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(VIDEO))
    out: dict[int, np.ndarray] = {}
    i = 0
    wanted = set(indices)
    while len(out) < len(wanted):
        ok, frame = cap.read()
        if not ok:
            break
        if i in wanted:
            out[i] = frame
        i += 1
    cap.release()
    if len(out) != len(wanted):
        raise RuntimeError(f"{VIDEO}: frames {sorted(wanted - set(out))} missing")
    return out


def paste(
    frame: np.ndarray, photo: FacePhoto, size: int, at: tuple[int, int], flip: bool = False
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Copy of ``frame`` with ``photo`` pasted so that its face is ``size`` px wide, the patch's
    top-left corner at ``at`` (clipped to the frame); returns (frame, face box)."""
    img = cv2.imread(str(DATA / photo.file))
    if img is None:
        raise RuntimeError(f"missing {DATA / photo.file}")
    fx, fy, fw, fh = photo.box
    if flip:
        img = cv2.flip(img, 1)
        fx = img.shape[1] - fx - fw
    k = size / fw
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(img, None, fx=k, fy=k, interpolation=interp)
    ph, pw = patch.shape[:2]
    h, w = frame.shape[:2]
    x = min(max(0, at[0]), w - pw)
    y = min(max(0, at[1]), h - ph)
    out = frame.copy()
    out[y : y + ph, x : x + pw] = patch
    box = (x + round(fx * k), y + round(fy * k), round(fw * k), round(fh * k))
    return out, box


def cases(photos=HELD_OUT, sizes=SIZES, flips=(False, True)):
    """(photo, size, position index, flip) for every combination."""
    return [
        (p, s, i, f) for p in photos for s in sizes for i in range(len(POSITIONS)) for f in flips
    ]


def detail(img: np.ndarray) -> float:
    """Fine detail: variance of the Laplacian of the grey image."""
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def covered(box, boxes, pad: float = 0.15) -> float:
    """Share of ``box`` inside the union of ``boxes`` grown by ``pad`` per side (what
    ``blur_boxes`` pixelates)."""
    x, y, w, h = box
    mask = np.zeros((y + h + 1, x + w + 1), np.uint8)
    for bx, by, bw, bh in boxes:
        px, py = int(bw * pad), int(bh * pad)
        mask[max(0, by - py) : max(0, by + bh + py), max(0, bx - px) : max(0, bx + bw + px)] = 1
    return float(mask[y : y + h, x : x + w].mean())


def detail_kept(before: np.ndarray, after: np.ndarray) -> float:
    """How much of ``before``'s fine detail is still in ``after`` (same-size BGR crops): the
    correlation of their high-pass images (grey minus a 1 px Gaussian). 1 = untouched; a
    pixelated copy keeps ~0-0.3 (block edges are new detail, not the face's)."""

    def high(img: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return (g - cv2.GaussianBlur(g, (0, 0), 1.0)).ravel()

    a, b = high(before), high(after)
    if a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
