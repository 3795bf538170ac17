"""Motion gate: is anything moving since the last sample, and where?

Works on a small grayscale copy of the frame (``width`` px wide, 160 by default); its
background is kept as ``uint8`` at that size (19 KiB at 4:3), part of the camera's portable
state (``state()`` / ``load()``). Each frame is
brightness/contrast normalised to the background's statistics before differencing, so a cloud,
auto-exposure step or street lights switching on does not read as motion; a change covering most
of the picture (lights, camera moved, IR mode switch) is reported as ``lighting_change`` and the
background restarts from the new frame instead of reporting motion everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from analytics.imaging import as_array, downscale
from analytics.types import Box, validate_frame

logger = logging.getLogger(__name__)


@dataclass
class MotionResult:
    """``ratio`` is the share of the (small) frame that changed, in [0, 1]."""

    ratio: float
    regions: list[Box] = field(default_factory=list)
    """Boxes around changed areas, in full-frame pixels."""
    lighting_change: bool = False
    first_frame: bool = False

    @property
    def moving(self) -> bool:
        return bool(self.regions) or self.first_frame or self.lighting_change


def small_gray_size(w: int, h: int, width: int, height: int | None = None) -> tuple[int, int]:
    """(w, h) of a ``w`` x ``h`` frame shrunk (never enlarged) to fit ``width`` x ``height``
    (``height`` defaults to 3/4 of ``width``: portrait frames stay as small as landscape)."""
    box_h = height if height is not None else max(1, round(width * 0.75))
    scale = max(w / float(width), h / float(box_h), 1.0)
    if scale == 1.0:
        return w, h
    return max(1, round(w / scale)), max(1, round(h / scale))


def to_small_gray(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """Shrink ``frame`` to fit ``width`` x 3/4 ``width``, grayscale; returns (image,
    full/small scale)."""
    h, w = frame.shape[:2]
    sw, sh = small_gray_size(w, h, width)
    scale = w / float(sw)
    small = downscale(frame, sw, sh) if (sw, sh) != (w, h) else as_array(frame)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return gray, scale


def _mean_std(gray: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation of a grey image in one pass (OpenCV;
    numpy's ``mean`` + ``std`` make four passes and a float copy)."""
    mean, std = cv2.meanStdDev(gray)
    return float(mean[0, 0]), float(std[0, 0])


class MotionGate:
    """Stateful motion detector over successive samples of one camera (no I/O).

    Parameters
    ----------
    width: processing width in pixels (160-320 is plenty).
    threshold: per-pixel absolute difference (0-255, after normalisation) counted as change.
    alpha: background update rate; 1.0 compares with the previous sample only.
    min_region_frac: smallest motion region kept, as a share of the small frame's area.
    lighting_ratio: a changed share above this is treated as a global change (lighting/camera).
    """

    def __init__(
        self,
        width: int = 160,
        threshold: int = 22,
        alpha: float = 0.6,
        min_region_frac: float = 0.0006,
        lighting_ratio: float = 0.55,
    ) -> None:
        if width < 32:
            raise ValueError("width must be >= 32")
        self.width = width
        self.threshold = threshold
        self.alpha = alpha
        self.min_region_frac = min_region_frac
        self.lighting_ratio = lighting_ratio
        self._bg: np.ndarray | None = None
        self._stats: tuple[float, float] | None = None
        # kernels were chosen at 240 px: scale them with the width
        k = max(3, int(round(5 * width / 240)) | 1)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        self._blur = (k, k)

    def params(self) -> dict[str, Any]:
        """What changes the meaning of the gate's state (part of the state fingerprint)."""
        return {
            "width": self.width,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "min_region_frac": self.min_region_frac,
            "lighting_ratio": self.lighting_ratio,
        }

    def reset(self) -> None:
        self._set_bg(None)

    def _set_bg(self, bg: np.ndarray | None) -> None:
        self._bg = bg
        self._stats: tuple[float, float] | None = None

    @property
    def background(self) -> np.ndarray | None:
        """The gate's background (``uint8`` grey, ``width`` px wide), ``None`` before a frame."""
        return self._bg

    def state(self) -> dict[str, np.ndarray]:
        return {} if self._bg is None else {"bg": self._bg}

    def load(self, arrays: dict[str, np.ndarray], frame_size: tuple[int, int] | None) -> None:
        """Restore :meth:`state` output for frames of ``frame_size`` (w, h); a missing
        background just restarts the gate. Raises ValueError when it does not fit."""
        bg = arrays.get("bg")
        if bg is None:
            self._set_bg(None)
            return
        if frame_size is None:
            raise ValueError("motion background without a frame size")
        w, h = frame_size
        sw, sh = small_gray_size(w, h, self.width)
        if bg.shape != (sh, sw) or bg.dtype != np.uint8:
            raise ValueError(f"motion background {bg.shape} does not fit a {w}x{h} frame")
        self._set_bg(bg.copy())

    @staticmethod
    def _normalise(gray: np.ndarray, ref_mean: float, ref_std: float) -> np.ndarray:
        mean, std = _mean_std(gray)
        gain = 1.0 if std < 1.0 else ref_std / std
        g = gray.astype(np.float32)
        g *= np.float32(gain)  # (g - mean) * gain + ref_mean, in place: one float copy
        g += np.float32(ref_mean - mean * gain)
        return g

    def update(self, frame: np.ndarray) -> MotionResult:
        """Compare ``frame`` with the background, update it, and report motion."""
        validate_frame(frame)
        gray, scale = to_small_gray(frame, self.width)
        gray = cv2.GaussianBlur(gray, self._blur, 0)
        if self._bg is None or self._bg.shape != gray.shape:
            self._set_bg(gray)
            return MotionResult(ratio=0.0, first_frame=True)

        if self._stats is None:
            self._stats = _mean_std(self._bg)
        bg = self._bg.astype(np.float32)
        norm = self._normalise(gray, *self._stats)
        diff = cv2.absdiff(norm, bg)
        mask = cv2.compare(diff, float(self.threshold), cv2.CMP_GT)  # 255 where changed
        ratio = float(np.count_nonzero(mask)) / mask.size

        if ratio > self.lighting_ratio:
            logger.debug(
                "global change (%.0f%% of frame): treating as lighting, resetting", ratio * 100
            )
            self._set_bg(gray)
            return MotionResult(ratio=0.0, lighting_change=True)

        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        ratio = float(np.count_nonzero(mask)) / mask.size
        regions: list[Box] = []
        if ratio > 0.0:
            mask = cv2.dilate(mask, self._kernel, iterations=2)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            min_area = self.min_region_frac * mask.size
            fh, fw = frame.shape[:2]
            for c in contours:
                if cv2.contourArea(c) < min_area:
                    continue
                x, y, w, h = cv2.boundingRect(c)
                x0, y0 = int(x * scale), int(y * scale)
                x1 = min(fw, int(np.ceil((x + w) * scale)))
                y1 = min(fh, int(np.ceil((y + h) * scale)))
                regions.append((x0, y0, x1 - x0, y1 - y0))
        if regions:
            # the background follows only when something moved: on a quiet scene it stays
            # as it is (nothing to learn, and the camera's exported state stays unchanged)
            cv2.accumulateWeighted(norm, bg, self.alpha)
            self._set_bg(np.clip(np.rint(bg), 0, 255).astype(np.uint8))
        return MotionResult(ratio=ratio, regions=regions)
