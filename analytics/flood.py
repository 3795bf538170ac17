"""Flood (genangan air) estimate: share of a road polygon covered by water, vs. a dry reference.

Per small cell of the road polygon (on a ``width``-px copy of the frame) three cues are mixed
into a water probability:

- colour change from the dry reference (CIELAB distance, after matching global brightness
  measured *outside* the polygon, so a cloud does not flood the road);
- smoothness: standing water is less textured than dry asphalt (local std ratio to reference);
- water colour: muddy brown or grey, low-to-moderate saturation (vivid colours are vehicles,
  clothes, paint).

``coverage`` is the polygon's share of cells with probability > 0.5; ``confidence`` is how
decisive the cells are (mean |2p - 1|), reduced when the light differs a lot from the reference
or when no reference is available (then only the colour/texture cues are used).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from analytics.imaging import downscale
from analytics.types import Polygon, validate_frame

logger = logging.getLogger(__name__)

DEFAULT_WIDTH = 192
CELL = 6


@dataclass
class FloodResult:
    coverage: float
    """Share of the road polygon under water, 0..1."""
    confidence: float
    """0..1: how clear-cut the evidence is."""


@dataclass
class DryReference:
    """The camera's view of the road when dry (small BGR image + derived features)."""

    image: np.ndarray
    lab: np.ndarray
    texture: np.ndarray

    @classmethod
    def from_image(cls, bgr: np.ndarray, width: int = DEFAULT_WIDTH) -> DryReference:
        """From one (ideally traffic-free) dry frame, any size."""
        validate_frame(bgr, name="dry reference")
        small = _resize(bgr, width)
        return cls(image=small, lab=_lab(small), texture=_texture(small))


def build_dry_reference(frames: Sequence[np.ndarray], width: int = DEFAULT_WIDTH) -> DryReference:
    """Per-pixel median of several dry frames (removes passing traffic); 5-15 frames spread
    over a few minutes of a dry day work well."""
    if not frames:
        raise ValueError("build_dry_reference needs at least one frame")
    smalls = [_resize(validate_frame(f, name="dry reference frame"), width) for f in frames]
    shapes = {s.shape for s in smalls}
    if len(shapes) != 1:
        raise ValueError(f"dry reference frames differ in size: {shapes}")
    med = np.median(np.stack(smalls), axis=0).astype(np.uint8)
    return DryReference(image=med, lab=_lab(med), texture=_texture(med))


def _resize(bgr: np.ndarray, width: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    if w == width:
        return bgr
    return downscale(bgr, width, max(1, round(h * width / w)))


def _lab(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)


def _texture(bgr: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mu = cv2.blur(g, (5, 5))
    var = cv2.blur(g * g, (5, 5)) - mu * mu
    return np.sqrt(np.maximum(var, 0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _cells(a: np.ndarray, cell: int) -> np.ndarray:
    """Mean over cell x cell blocks (crops the ragged edge)."""
    h, w = a.shape[:2]
    hh, ww = h // cell, w // cell
    a = a[: hh * cell, : ww * cell]
    return a.reshape(hh, cell, ww, cell, *a.shape[2:]).mean(axis=(1, 3))


def water_coverage(
    frame: np.ndarray,
    region: Polygon,
    reference: DryReference | None = None,
    width: int = DEFAULT_WIDTH,
) -> FloodResult:
    """Water share of ``region`` (road polygon, full-frame coords or normalised) in ``frame``."""
    validate_frame(frame)
    fh, fw = frame.shape[:2]
    small = _resize(frame, reference.image.shape[1] if reference is not None else width)
    sh, sw = small.shape[:2]
    if reference is not None and reference.image.shape != small.shape:
        raise ValueError(
            f"dry reference is {reference.image.shape[1]}x{reference.image.shape[0]} but the frame scales to "
            f"{sw}x{sh}: rebuild the reference (camera resolution or aspect changed?)"
        )
    # polygon in the small frame's pixels
    poly_px = region.to_pixels(fw, fh).astype(np.float64) * (sw / fw)
    mask = np.zeros((sh, sw), np.uint8)
    cv2.fillPoly(mask, [np.round(poly_px).astype(np.int32)], 255)
    if not mask.any():
        raise ValueError("flood region is empty or outside the frame")

    lab = _lab(small)
    tex = _texture(small)
    light_factor = 1.0
    if reference is not None:
        outside = mask == 0
        if np.count_nonzero(outside) > 0.05 * mask.size:
            cur_l, ref_l = (
                float(lab[..., 0][outside].mean()),
                float(reference.lab[..., 0][outside].mean()),
            )
        else:
            cur_l, ref_l = float(lab[..., 0].mean()), float(reference.lab[..., 0].mean())
        shift = ref_l - cur_l
        lab = lab.copy()
        lab[..., 0] += shift
        light_factor = float(np.clip(1.0 - abs(shift) / 40.0, 0.3, 1.0))
        d_e = np.linalg.norm(lab - reference.lab, axis=2)
        change = _sigmoid((d_e - 9.0) / 2.5)
        smooth = _sigmoid((reference.texture * 0.95 - tex) / (0.15 * reference.texture + 1.0))
    else:
        change = np.full((sh, sw), 0.5, np.float32)
        smooth = _sigmoid((4.0 - tex) / 1.5)
        light_factor = 0.5

    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV).astype(np.float32)
    hue, sat = hsv[..., 0], hsv[..., 1] / 255.0
    brownish = ((hue >= 5) & (hue <= 30)).astype(np.float32)
    colour_ok = np.clip(
        brownish * _sigmoid((0.55 - sat) / 0.08) + _sigmoid((0.18 - sat) / 0.05), 0, 1
    )

    p_pix = change * (0.35 + 0.65 * smooth) * (0.3 + 0.7 * colour_ok)
    if reference is None:  # grey water looks like asphalt: only muddy brown counts
        brown = brownish * _sigmoid((sat - 0.12) / 0.03) * _sigmoid((0.55 - sat) / 0.08)
        p_pix = smooth * brown * 0.8
    p = _cells(p_pix.astype(np.float32), CELL)
    m = _cells((mask > 0).astype(np.float32), CELL)
    weight = m * (m >= 0.5)
    total = float(weight.sum())
    if total <= 0:
        raise ValueError("flood region is smaller than one analysis cell; enlarge it")
    p = np.clip(p * 1.4, 0, 1)  # mixed cues rarely all saturate: rescale so clear water reaches ~1
    coverage = float((weight * (p > 0.5)).sum() / total)
    decisiveness = float((weight * np.abs(2 * p - 1)).sum() / total)
    confidence = float(np.clip(decisiveness * light_factor, 0.0, 1.0))
    return FloodResult(coverage=round(coverage, 4), confidence=round(confidence, 3))
