"""A small, serialisable background model for the blob detector.

Kept on a reduced copy of the frame (fits a ``width`` x ``height`` box, 192x144 by default), in
YCrCb like a JPEG: the background's luma at that size, its chroma (Cr, Cb) and its spread (noise
std, 1/8 grey levels) at half that size, all ``uint8``. A pixel is foreground when its squared
distance to the background (luma + ``chroma_weight`` x chroma) exceeds ``var_threshold`` times
the spread's variance; a darker pixel of the same chromaticity is a shadow, not foreground.

Learning is an approximate running median: each sample moves a pixel at most ``step`` grey
levels toward the frame (``step0 / frames_seen``, never below ``step_min``; foreground pixels
at most ``fg_step``), so people crossing a pixel in some samples barely move it, and what
stays put (a parked car, the ghost of someone who stood there when the model started) is
absorbed after a few tens of samples. The first ``init_frames`` frames are averaged; the model
counts (``warm``) from ``warm_frames`` frames on, when the ghosts of that start have healed.
Fractional moves are rounded with a fixed dither, so the model stays deterministic: the same
state and frame give the same result on any worker.

``warm_up(frames)`` learns from a short burst at once: the per-pixel temporal median, so people
walking through the burst drop out, and the spread from the median absolute deviation.

The whole model is three small arrays and a counter: at 192x144, 48 KiB raw, whatever the
input's resolution. No I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from analytics.imaging import downscale
from analytics.types import validate_frame

logger = logging.getLogger(__name__)

SPREAD_UNIT = 8.0
"""Spread (noise std, grey levels) is stored as ``round(std * SPREAD_UNIT)``."""

# 4x4 Bayer matrix: the dither for rounding updates, in 16 phases (phase p adds p/16 mod 1)
_BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.int32)
_DITHER: dict[tuple[int, int], list[np.ndarray]] = {}
"""Per image shape, the 16 dither phases (shared by every model in the process)."""


def _dither(shape: tuple[int, int], phase: int) -> np.ndarray:
    phases = _DITHER.get(shape)
    if phases is None:
        h, w = shape
        tile = np.tile(_BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w]
        phases = [((tile + p) % 16 + 0.5).astype(np.float32) / 16.0 for p in range(16)]
        for a in phases:
            a.flags.writeable = False
        if len(_DITHER) > 64:
            _DITHER.clear()
        _DITHER[shape] = phases
    return phases[phase % 16]


def small_size(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """(w, h) of a ``width`` x ``height`` frame scaled down (never up) to fit ``box_w`` x
    ``box_h``, keeping the aspect ratio; both even (the chroma planes are half size)."""
    scale = max(width / box_w, height / box_h, 1.0)
    w = max(2, int(round(width / scale / 2)) * 2)
    h = max(2, int(round(height / scale / 2)) * 2)
    return min(w, box_w - box_w % 2), min(h, box_h - box_h % 2)


class BackgroundModel:
    """Luma + half-size chroma and spread, ``uint8``; see the module docstring."""

    def __init__(
        self,
        width: int = 192,
        height: int = 144,
        var_threshold: float = 26.0,
        chroma_weight: float = 1.5,
        sigma_init: float = 4.0,
        sigma_min: float = 2.0,
        sigma_max: float = 9.0,
        alpha_min: float = 1 / 32,
        step0: float = 128.0,
        step_min: float = 4.0,
        fg_step: float = 1.0,
        gain: float = 1.0,
        shadow_tau: float = 0.6,
        warm_frames: int = 8,
        init_frames: int = 3,
        static_after: int = 4,
    ) -> None:
        if width < 16 or height < 16:
            raise ValueError("background model needs at least 16x16 pixels")
        self.width, self.height = int(width), int(height)
        self.var_threshold = float(var_threshold)
        self.chroma_weight = float(chroma_weight)
        self.sigma_init = float(sigma_init)
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)
        self.alpha_min = float(alpha_min)
        self.step0, self.step_min, self.fg_step = float(step0), float(step_min), float(fg_step)
        self.gain = float(gain)
        self.shadow_tau = float(shadow_tau)
        self.warm_frames = int(warm_frames)
        self.init_frames = int(init_frames)
        self.static_after = int(static_after)
        self.fg_age: np.ndarray | None = None
        self.luma: np.ndarray | None = None
        self.chroma: np.ndarray | None = None
        self.spread: np.ndarray | None = None
        self.frames_seen = 0
        self.frame_size: tuple[int, int] | None = None
        #: (luma, chroma) of the last frame :meth:`apply` saw, at the model's size (the
        #: long-term background compares them without converting the frame again)
        self.last_planes: tuple[np.ndarray, np.ndarray] | None = None

    def params(self) -> dict[str, Any]:
        """Everything that changes what a state means (part of the state fingerprint)."""
        return {
            k: getattr(self, k)
            for k in (
                "width",
                "height",
                "var_threshold",
                "chroma_weight",
                "sigma_init",
                "sigma_min",
                "sigma_max",
                "alpha_min",
                "step0",
                "step_min",
                "fg_step",
                "gain",
                "shadow_tau",
                "warm_frames",
                "init_frames",
                "static_after",
            )
        }

    def reset(self) -> None:
        self.luma = self.chroma = self.spread = self.fg_age = None
        self.frames_seen = 0
        self.frame_size = None

    @property
    def warm(self) -> bool:
        return self.luma is not None and self.frames_seen >= self.warm_frames

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.luma, self.chroma, self.spread) if a is not None)

    def scale_for(self, frame_w: int, frame_h: int) -> tuple[tuple[int, int], float]:
        sw, sh = small_size(frame_w, frame_h, self.width, self.height)
        return (sw, sh), frame_w / float(sw)

    def shrink(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """``frame`` (BGR) at the model's size, and the full/small scale factor."""
        validate_frame(frame)
        h, w = frame.shape[:2]
        (sw, sh), scale = self.scale_for(w, h)
        return downscale(frame, sw, sh), scale

    def _planes(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ycc = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)
        h, w = ycc.shape[:2]
        chroma = cv2.resize(
            np.ascontiguousarray(ycc[:, :, 1:]), (w // 2, h // 2), interpolation=cv2.INTER_AREA
        )
        return np.ascontiguousarray(ycc[:, :, 0]), chroma

    def _check_size(self, frame_w: int, frame_h: int) -> None:
        if self.frame_size is not None and self.frame_size != (frame_w, frame_h):
            logger.info(
                "frame size changed %s -> %s: background restarts",
                self.frame_size,
                (frame_w, frame_h),
            )
            self.reset()

    # ------------------------------------------------------------------

    def _distances(
        self, luma: np.ndarray, chroma: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(luma diff, chroma squared distance at full size, threshold, luma ratio)."""
        assert self.luma is not None and self.chroma is not None and self.spread is not None
        h, w = luma.shape
        dy = luma.astype(np.float32) - self.luma
        dc = chroma.astype(np.float32) - self.chroma
        dc2 = cv2.resize(np.einsum("ijk,ijk->ij", dc, dc), (w, h), interpolation=cv2.INTER_LINEAR)
        sigma = cv2.resize(self.spread, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        sigma = np.maximum(sigma * (1.0 / SPREAD_UNIT), self.sigma_min)
        thr = self.var_threshold * sigma * sigma
        return dy, dc2, thr, sigma

    def classify(self, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(foreground, shadow) boolean masks of ``small`` (BGR at model size), no learning."""
        luma, chroma = self._planes(small)
        return self._classify(luma, chroma)[:2]

    def _classify(
        self, luma: np.ndarray, chroma: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        assert self.luma is not None
        dy, dc2, thr, _ = self._distances(luma, chroma)
        d2 = dy * dy + self.chroma_weight * dc2
        fg = d2 > thr
        shadow = np.zeros_like(fg)
        if self.shadow_tau < 1.0 and fg.any():
            ratio = luma.astype(np.float32) / (self.luma.astype(np.float32) + 1.0)
            shadow = fg & (ratio >= self.shadow_tau) & (ratio < 1.0)
            shadow &= self.chroma_weight * dc2 < thr
        return fg & ~shadow, shadow, dy, dc2

    def _init(self, luma: np.ndarray, chroma: np.ndarray) -> None:
        self.luma, self.chroma = luma.copy(), chroma.copy()
        self.spread = np.full(
            chroma.shape[:2], round(self.sigma_init * SPREAD_UNIT), dtype=np.uint8
        )
        self.frames_seen = 1

    def _learn(
        self,
        luma: np.ndarray,
        chroma: np.ndarray,
        fg: np.ndarray | None,
        dy: np.ndarray | None = None,
    ) -> None:
        assert self.luma is not None and self.chroma is not None and self.spread is not None
        n = self.frames_seen + 1
        if dy is None:
            dy = luma.astype(np.float32) - self.luma
        dc = chroma.astype(np.float32) - self.chroma
        hh, hw = chroma.shape[:2]
        fg_half = (
            cv2.resize(fg.astype(np.uint8), (hw, hh), interpolation=cv2.INTER_AREA) > 0
            if fg is not None
            else None
        )
        phase = (self.frames_seen * 7) % 16  # a different rounding pattern every sample
        if n <= self.init_frames:  # still building the first background: plain mean
            step_y, step_c = dy / n, dc / n
        else:
            delta = max(self.step_min, self.step0 / n)
            if fg is not None and self.static_after > 0:
                # foreground for ``static_after`` samples in a row: the ghost of something
                # that has left, or something that stays: learn it at the background's rate
                age = self.fg_age if self.fg_age is not None else np.zeros_like(self.luma)
                age = np.where(fg, np.minimum(age.astype(np.int16) + 1, 255), 0).astype(np.uint8)
                self.fg_age = age
                fg = fg & (age < self.static_after)
                fg_half = (
                    cv2.resize(fg.astype(np.uint8), (hw, hh), interpolation=cv2.INTER_AREA) > 0
                )
            if fg is not None:
                lim_y = np.where(fg, min(self.fg_step, delta), delta).astype(np.float32)
                lim_c = np.where(fg_half, min(self.fg_step, delta), delta).astype(np.float32)
                lim_c = lim_c[..., None]
            else:
                lim_y = lim_c = delta  # type: ignore[assignment]
            step_y = np.clip(dy * self.gain, -lim_y, lim_y)
            step_c = np.clip(dc * self.gain, -lim_c, lim_c)
        dith = _dither(luma.shape, phase)
        self.luma = np.clip(np.floor(self.luma + step_y + dith), 0, 255).astype(np.uint8)
        dith_h = _dither((hh, hw), phase)
        self.chroma = np.clip(np.floor(self.chroma + step_c + dith_h[..., None]), 0, 255).astype(
            np.uint8
        )
        # spread: running mean of the luma variance on background pixels (half size)
        dy2 = cv2.resize(dy * dy, (hw, hh), interpolation=cv2.INTER_AREA)
        var = (self.spread.astype(np.float32) / SPREAD_UNIT) ** 2
        if fg_half is not None:
            dy2 = np.where(fg_half, var, dy2)
        rate = max(1.0 / n, self.alpha_min)
        var += rate * (dy2 - var)
        sigma = np.clip(np.sqrt(var), self.sigma_min, self.sigma_max)
        self.spread = np.clip(np.floor(sigma * SPREAD_UNIT + dith_h), 0, 255).astype(np.uint8)
        self.frames_seen = n

    def apply(self, frame: np.ndarray, learn: bool = True) -> tuple[np.ndarray | None, float]:
        """Foreground mask (``uint8`` 0/255 at model size, before clean-up) of ``frame`` and the
        full/small scale; ``None`` as mask while the model has no background yet. Learns from
        the frame unless ``learn=False``."""
        h, w = frame.shape[:2]
        self._check_size(w, h)
        small, scale = self.shrink(frame)
        luma, chroma = self._planes(small)
        self.last_planes = (luma, chroma)
        if self.luma is None or self.luma.shape != luma.shape:
            if learn:
                self._init(luma, chroma)
                self.frame_size = (w, h)
            return None, scale
        fg, _, dy, _ = self._classify(luma, chroma)
        if learn:
            self._learn(luma, chroma, fg, dy)
        return fg.astype(np.uint8) * 255, scale

    def warm_up(self, frames: Sequence[np.ndarray]) -> None:
        """Learn a background from a short burst (temporal median: with >= 3 frames people who
        walk through it drop out). Replaces any earlier background."""
        if not frames:
            raise ValueError("warm_up needs at least one frame")
        first = validate_frame(frames[0], name="frames[0]")
        h, w = first.shape[:2]
        lumas, chromas = [], []
        for i, f in enumerate(frames):
            validate_frame(f, name=f"frames[{i}]")
            if f.shape[:2] != (h, w):
                raise ValueError(
                    f"frames[{i}] is {f.shape[1]}x{f.shape[0]}, burst started at {w}x{h}"
                )
            y, c = self._planes(self.shrink(f)[0])
            lumas.append(y)
            chromas.append(c)
        ys = np.stack(lumas)
        med_y = np.median(ys, axis=0)
        self.luma = np.round(med_y).astype(np.uint8)
        self.chroma = np.round(np.median(np.stack(chromas), axis=0)).astype(np.uint8)
        hh, hw = self.chroma.shape[:2]
        if len(lumas) >= 3:
            mad = np.median(np.abs(ys.astype(np.float32) - med_y), axis=0) * 1.4826
            mad = cv2.resize(mad, (hw, hh), interpolation=cv2.INTER_AREA)
            sigma = np.clip(np.maximum(mad, self.sigma_init), self.sigma_min, self.sigma_max)
        else:
            sigma = np.full((hh, hw), self.sigma_init, np.float32)
        self.spread = np.round(sigma * SPREAD_UNIT).astype(np.uint8)
        self.frames_seen = max(len(lumas), self.warm_frames)
        self.frame_size = (w, h)
        self.fg_age = None

    # ------------------------------------------------------------------ state

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(scalars, arrays) that restore this model with :meth:`load`."""
        meta: dict[str, Any] = {"frames_seen": self.frames_seen}
        if self.frame_size is not None:
            meta["frame_size"] = list(self.frame_size)
        arrays: dict[str, np.ndarray] = {}
        if self.luma is not None and self.chroma is not None and self.spread is not None:
            arrays = {"luma": self.luma, "chroma": self.chroma, "spread": self.spread}
            if self.fg_age is not None and self.fg_age.any():
                arrays["fg_age"] = self.fg_age
        return meta, arrays

    def load(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state` output; raises ValueError when it does not fit."""
        size = meta.get("frame_size")
        frames_seen = int(meta.get("frames_seen", 0))
        if not arrays:
            if frames_seen:
                raise ValueError("background arrays missing")
            self.reset()
            return
        if size is None:
            raise ValueError("background without a frame size")
        fw, fh = int(size[0]), int(size[1])
        sw, sh = small_size(fw, fh, self.width, self.height)
        want = {"luma": (sh, sw), "chroma": (sh // 2, sw // 2, 2), "spread": (sh // 2, sw // 2)}
        for name, shape in want.items():
            a = arrays.get(name)
            if a is None or a.shape != shape or a.dtype != np.uint8:
                raise ValueError(f"background {name} does not fit a {fw}x{fh} frame")
        self.luma = arrays["luma"].copy()
        self.chroma = arrays["chroma"].copy()
        self.spread = arrays["spread"].copy()
        age = arrays.get("fg_age")
        if age is not None and (age.shape != (sh, sw) or age.dtype != np.uint8):
            raise ValueError(f"background fg_age does not fit a {fw}x{fh} frame")
        self.fg_age = None if age is None else age.copy()
        self.frames_seen = frames_seen
        self.frame_size = (fw, fh)


def cleanup_kernels(scale_to_320: float) -> tuple[np.ndarray, np.ndarray]:
    """Open/close kernels for foreground clean-up, sized for a model ``scale_to_320`` times
    as wide as 320 px (the sizes were chosen at 320)."""
    o = max(3, int(round(3 * scale_to_320)) | 1)
    cw = max(3, int(round(5 * scale_to_320)) | 1)
    ch = max(5, int(round(9 * scale_to_320)) | 1)
    return (
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (o, o)),
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cw, ch)),
    )
