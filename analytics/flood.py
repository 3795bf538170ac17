"""Flood (genangan air) estimate: share of a road polygon covered by water, vs. a dry reference.

Per small cell of the road polygon (on a ``width``-px copy of the frame) three cues are mixed
into a water probability:

- colour change from the dry reference (CIELAB distance);
- smoothness: standing water is less textured than dry asphalt (local std ratio to reference);
- water colour: muddy brown or grey, low-to-moderate saturation (vivid colours are vehicles,
  clothes, paint).

Light is taken out twice before the cues are read (so a cloud, dusk, an auto-exposure step, a
cast shadow or a wet sheen does not flood the road):

1. globally: each colour channel's histogram *outside* the polygon is matched to the
   reference's there (a static camera sees the same buildings and grass), which undoes a gain,
   a gamma or a colour cast;
2. locally: a cell counts as water only if it still looks like water after dividing out the
   local gain against the reference (ratio of grey levels blurred over ~9 px): its
   chromaticity (gain-free channel shares) changed, or its texture fell below half the dry
   road's. A shadow or a sheen changes brightness but keeps colour and texture.

Over-exposed pixels (any channel >= 250) give no evidence either way. ``coverage`` is the
polygon's share of cells with probability > 0.5; ``confidence`` is how decisive the cells are
(mean |2p - 1|), reduced when the light differs a lot from the reference or when no reference
is available (then only the colour/texture cues are used). Figures (tuning vs test cases):
``tests/analytics/flood_eval.py`` and analytics/README.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from analytics.imaging import downscale
from analytics.types import Polygon, validate_frame

logger = logging.getLogger(__name__)

DEFAULT_WIDTH = 192
CELL = 6
LOCAL_CHROMA = 0.02
"""Chromaticity change (share of a channel) that counts as a change of colour."""
LOCAL_TEXTURE_KEPT = 0.5
"""Texture below this share of the dry road's (after the local gain) counts as smoothed."""


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
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    """Reference-side arrays of the lighting normalisation, computed once on first use."""

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
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _cells(a: np.ndarray, cell: int) -> np.ndarray:
    """Mean over cell x cell blocks (crops the ragged edge)."""
    h, w = a.shape[:2]
    hh, ww = h // cell, w // cell
    a = a[: hh * cell, : ww * cell]
    return a.reshape(hh, cell, ww, cell, *a.shape[2:]).mean(axis=(1, 3))


def _cdfs(img: np.ndarray, where: np.ndarray) -> list[np.ndarray]:
    """Per channel, the cumulative histogram (0..1) of ``img`` over ``where``."""
    sel = where.ravel()
    out = []
    for c in range(img.shape[2]):
        cdf = np.cumsum(np.bincount(img[..., c].ravel()[sel], minlength=256)[:256])
        out.append(cdf / max(float(cdf[-1]), 1.0))
    return out


_LEVELS = np.arange(256, dtype=np.float64)


def _match_tones(img: np.ndarray, ref_cdfs: list[np.ndarray], where: np.ndarray) -> np.ndarray:
    """``img`` with each channel's tone curve mapped so its histogram over ``where`` matches
    the reference's (``ref_cdfs``; histogram matching: undoes a global gain, gamma or
    colour cast)."""
    out = np.empty_like(img)
    for c, (src, ref) in enumerate(zip(_cdfs(img, where), ref_cdfs, strict=True)):
        lut = np.interp(src, ref + _LEVELS * 1e-9, _LEVELS)  # xp strictly increasing
        out[..., c] = cv2.LUT(img[..., c], np.clip(lut + 0.5, 0, 255).astype(np.uint8))
    return out


_ONES = np.ones((1, 3), np.float32)


def _chromaticity(bgr: np.ndarray) -> np.ndarray:
    """Each channel's share of the pixel's sum (a gain does not change it), blurred 3x3."""
    f = bgr.astype(np.float32) + 4.0
    total = cv2.transform(f, _ONES)
    return cv2.blur(f / total[..., None], (3, 3))


def _local_gain_cues(img: np.ndarray, reference: DryReference) -> np.ndarray:
    """Per-pixel 0..1 evidence of water that a local change of light cannot explain: the
    chromaticity change and the loss of texture after dividing out the local gain (ratio of
    grey levels blurred over 9 px at the analysis width)."""
    d = reference.derived
    if "grey" not in d:
        ref_tex = reference.texture
        d["grey"] = cv2.blur(cv2.cvtColor(reference.image, cv2.COLOR_BGR2GRAY), (9, 9)).astype(
            np.float32
        ) + np.float32(4.0)
        d["chroma"] = _chromaticity(reference.image)
        d["kept"] = (LOCAL_TEXTURE_KEPT * ref_tex).astype(np.float32)
        d["spread"] = (0.1 * ref_tex + 0.5).astype(np.float32)
        d["textured"] = _sigmoid((ref_tex - 2.0) / 0.5).astype(np.float32)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gain = np.maximum((cv2.blur(grey, (9, 9)) + np.float32(4.0)) / d["grey"], np.float32(0.05))
    diff = _chromaticity(img) - d["chroma"]
    d_chroma = np.sqrt(cv2.transform(diff * diff, _ONES))
    chroma = _sigmoid((d_chroma - LOCAL_CHROMA) / (0.25 * LOCAL_CHROMA))
    # texture relative to the reference's, once the local gain is divided out
    flat = grey / gain
    mu = cv2.blur(flat, (5, 5))
    tex = np.sqrt(np.maximum(cv2.blur(flat * flat, (5, 5)) - mu * mu, 0))
    loss = _sigmoid((d["kept"] - tex) / d["spread"])
    return np.maximum(chroma, loss * d["textured"]).astype(np.float32)


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

    light_factor = 1.0
    local = None
    if reference is not None:
        outside = mask == 0
        if np.count_nonzero(outside) < 0.05 * mask.size:
            outside = np.ones_like(outside)
        key = ("outside", outside.shape, hash(outside.tobytes()))
        if key not in reference.derived:
            reference.derived.clear()  # another region: start over
            reference.derived[key] = (
                float(reference.lab[..., 0][outside].mean()),
                _cdfs(reference.image, outside),
            )
        ref_l, ref_cdfs = reference.derived[key]
        cur_l = float(cv2.cvtColor(small, cv2.COLOR_BGR2Lab)[..., 0][outside].mean()) / 2.55
        light_factor = float(np.clip(1.0 - abs(ref_l - cur_l) / 40.0, 0.3, 1.0))
        # 1) global light (gain, gamma, colour cast): map each channel's distribution outside
        #    the road onto the reference's (a static camera sees the same things there)
        clipped = small.max(axis=2) >= 250  # over-exposed: no evidence either way
        small = _match_tones(small, ref_cdfs, outside)
        lab = _lab(small)
        tex = _texture(small)
        d_e = np.linalg.norm(lab - reference.lab, axis=2)
        change = _sigmoid((d_e - 9.0) / 2.5)
        smooth = _sigmoid((reference.texture * 0.95 - tex) / (0.15 * reference.texture + 1.0))
        # 2) local light (a cast shadow, a sunlit patch, a wet sheen): the same cues after
        #    dividing out the local gain against the reference; a cell is water only if it
        #    still looks like water then
        local = _local_gain_cues(small, reference)
    else:
        tex = _texture(small)
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
    if local is not None:
        p_pix = np.minimum(p_pix, local * (0.3 + 0.7 * colour_ok))
        p_pix[clipped] = 0.0
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
