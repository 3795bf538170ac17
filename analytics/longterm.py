"""The long-term background: what the scene looks like empty, over hours, beside the blob
detector's short-term model (:mod:`analytics.background`), which absorbs whatever stays put
within a few samples.

What differs from the long-term background is *present* (moving or standing); what differs
from it but not from the short-term picture has been standing for a while. The blob detector
(:class:`analytics.blobs.BackgroundBlobDetector`) adds those standing blobs to its
foreground, so a person standing still, a parked car or a dumped bag stays counted.

Kept at half the short-term model's size (luma at <= 96x72, chroma at a quarter, ``uint8``)
plus a coarse "occupied since" map (cells of 4x4 long-term pixels, whole seconds): about
11 KiB raw at 4:3, part of the camera's portable state.

Learning, one step per sample the detector learns from (the production cadence: one a
minute):

- where the frame (lighting-normalised, below) matches the long-term background, the model
  follows it with a time constant of ``tau_track_s`` seconds of the samples' own clock (480:
  eight samples at one a minute; a fast camera does not learn faster per second), so slow
  changes of the empty scene (dirt, wet patches, dusk) are followed;
- where it does not match (something is there), the model is *frozen*: a car parked for 20
  minutes, or 2 hours, is never learnt as background ...
- ... until that spot has been occupied without a break for ``absorb_after_s`` seconds
  (3 hours): then it is learnt at once (a new kiosk, a car left for the night stops counting
  as parked after 3 hours);
- a difference whose outline is in the long-term background and not in the frame is a
  *ghost* (the model learnt something that has since left, e.g. a person who stood there
  when the model started): it is copied from the frame at once -- but only where the
  short-term model agrees that the frame shows the empty scene (most of the difference is
  not short-term foreground). A person walking over textured ground (a railing, paving
  joints) can have a weaker outline than the background behind them; without that check
  such a walker was copied into the long-term background and, once gone, stood there as a
  false standing person for hours (vtest, left edge). A true ghost is still healed, a few
  samples later, once the short-term model has healed it too.

Lighting: before comparing, the frame is divided by a smooth gain map (the median ratio
frame / background over 3x3 blocks, each held within +-30 % of the whole frame's gain): a
cloud, dusk or auto-exposure changes the gain, not what is there. A darker pixel of the same
colour (ratio 0.6-1) is a shadow, not an object. When more than ``reset_share`` (55 %) of
the picture still differs after that (camera moved, IR mode switch), the long-term background
restarts from the short-term one and the dwell times with it.

For ``mature_s`` (600 s: ten minutes) after seeding the model only learns and keeps the dwell
map (ghosts of the short-term model's start heal); the detector adds standing blobs and
objects from it after that.

Dwell: each cell remembers since when it has been occupied without a break (``since``, epoch
seconds); an object's dwell is the time since its footprint's cells were first occupied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from analytics.background import _dither

logger = logging.getLogger(__name__)

CELL = 4
"""Long-term pixels per side of one dwell cell."""
_NO_SINCE = 0xFFFFFF
_SPREAD_UNIT = 8.0  # as analytics.background.SPREAD_UNIT


@dataclass
class LongTermStep:
    """What one step found, at the long-term model's size (``None`` while it learns)."""

    present: np.ndarray
    """bool: differs from the empty scene (cleaned; ghosts removed)."""
    gain: float
    """Whole-frame gain, frame / long-term background (1.0: same light)."""


def _half(img: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


class LongTermBackground:
    """See the module docstring. Works on the short-term model's planes (luma at the model's
    size, chroma and spread at half that), never on full frames."""

    def __init__(
        self,
        var_threshold: float = 26.0,
        rel_noise: float = 0.02,
        chroma_weight: float = 1.5,
        shadow_tau: float = 0.6,
        tau_track_s: float = 480.0,
        absorb_after_s: float = 3 * 3600.0,
        ghost_ratio: float = 1.25,
        reset_share: float = 0.55,
        min_area: int = 4,
        mature_s: float = 600.0,
    ) -> None:
        self.var_threshold = float(var_threshold)
        self.rel_noise = float(rel_noise)
        self.chroma_weight = float(chroma_weight)
        self.shadow_tau = float(shadow_tau)
        self.tau_track_s = float(tau_track_s)
        self.absorb_after_s = float(absorb_after_s)
        self.ghost_ratio = float(ghost_ratio)
        self.reset_share = float(reset_share)
        self.min_area = int(min_area)
        self.mature_s = float(mature_s)
        self.seeded_at: float | None = None
        self.luma: np.ndarray | None = None
        self.chroma: np.ndarray | None = None
        self.since: np.ndarray | None = None  # float64 epoch s per cell, NaN = free
        self.steps = 0
        self.last_ts: float | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._open = cv2.getStructuringElement(cv2.MORPH_RECT, (2, 2))
        self._close = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 5))

    def params(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "var_threshold",
                "rel_noise",
                "chroma_weight",
                "shadow_tau",
                "tau_track_s",
                "absorb_after_s",
                "ghost_ratio",
                "reset_share",
                "min_area",
                "mature_s",
            )
        }

    def reset(self) -> None:
        self.luma = self.chroma = self.since = None
        self.steps = 0
        self.last_ts = None
        self.seeded_at = None

    @property
    def ready(self) -> bool:
        return self.luma is not None

    def mature(self, now: float) -> bool:
        """Seeded at least ``mature_s`` seconds (of the samples' clock) ago and stepped twice:
        only then does the detector add what it sees standing (what the short-term model
        still held of the scene's start has been told apart from what stands)."""
        return (
            self.luma is not None
            and self.steps >= 2
            and self.seeded_at is not None
            and now - self.seeded_at >= self.mature_s
        )

    @staticmethod
    def sizes(model_w: int, model_h: int) -> tuple[tuple[int, int], tuple[int, int], tuple]:
        """((w, h) luma, (w, h) chroma, since shape) for a short-term model of that size."""
        lw, lh = max(8, model_w // 2), max(8, model_h // 2)
        cw, ch = max(4, lw // 2), max(4, lh // 2)
        return (lw, lh), (cw, ch), (-(-lh // CELL), -(-lw // CELL), 3)

    # ------------------------------------------------------------------ one step

    def seed(self, st_luma: np.ndarray, st_chroma: np.ndarray, ts: float) -> None:
        """Start from the short-term background (when it is warm: its ghosts have healed)."""
        sh, sw = st_luma.shape
        (lw, lh), (cw, ch), cells = self.sizes(sw, sh)
        self.luma = _half(st_luma, lw, lh)
        self.chroma = _half(st_chroma, cw, ch)
        self.since = np.full(cells[:2], np.nan)
        self.steps = 0
        self.seeded_at = float(ts)
        self.last_ts = float(ts)

    def step(
        self,
        luma: np.ndarray,
        chroma: np.ndarray,
        spread: np.ndarray,
        ts: float,
        learn: bool = True,
        moving: np.ndarray | None = None,
    ) -> LongTermStep | None:
        """Compare a frame's planes (luma at the short-term model's size, chroma at half) with
        the long-term background, update the dwell map and (``learn``) the model. ``moving``:
        the short-term foreground (at the short-term model's size; None: unknown), where a
        difference is not healed as a ghost. Returns None while there is no model yet."""
        if self.luma is None or self.chroma is None or self.since is None:
            return None
        sh, sw = luma.shape
        (lw, lh), (cw, ch), cells = self.sizes(sw, sh)
        if self.luma.shape != (lh, lw) or self.since.shape != cells[:2]:
            self.reset()
            return None
        fy = _half(luma, lw, lh).astype(np.float32)
        fc = _half(chroma, cw, ch).astype(np.float32)
        bg = self.luma.astype(np.float32)
        # lighting: smooth gain map from 3x3 blocks of medians, clipped around the global gain
        ratio = (fy + 4.0) / (bg + 4.0)
        bh, bw = lh // 3, lw // 3  # 3x3 blocks, every other pixel (medians are the cost)
        sub = ratio[: 3 * bh : 2, : 3 * bw : 2]
        g_all = float(np.median(sub))
        blk = ratio[: 3 * bh, : 3 * bw].reshape(3, bh, 3, bw)[:, ::2, :, ::2]
        blocks = np.median(blk.transpose(0, 2, 1, 3).reshape(9, -1), axis=1).reshape(3, 3)
        blocks = np.clip(blocks.astype(np.float32), 0.7 * g_all, 1.3 * g_all)
        gain = cv2.resize(blocks, (lw, lh), interpolation=cv2.INTER_LINEAR)
        fy_n = (fy + 4.0) / gain - 4.0
        dy = fy_n - bg
        dc = fc - self.chroma.astype(np.float32)
        dc2 = cv2.resize(np.einsum("ijk,ijk->ij", dc, dc), (lw, lh), interpolation=cv2.INTER_LINEAR)
        sigma = np.maximum(spread.astype(np.float32) / _SPREAD_UNIT, 2.0)
        if sigma.shape != (lh, lw):
            sigma = cv2.resize(sigma, (lw, lh), interpolation=cv2.INTER_LINEAR)
        thr = self.var_threshold * (sigma * sigma + (self.rel_noise * bg) ** 2)
        raw = dy * dy + self.chroma_weight * dc2 > thr
        rl = (fy_n + 1.0) / (bg + 1.0)
        shadow = (rl >= self.shadow_tau) & (rl < 1.0) & (self.chroma_weight * dc2 < thr)
        raw &= ~shadow
        if float(raw.mean()) > self.reset_share:
            logger.info(
                "long-term background: %.0f%% of the picture differs after lighting "
                "normalisation (camera moved or IR switch): restarts",
                100 * float(raw.mean()),
            )
            self.luma = np.clip(np.rint(fy), 0, 255).astype(np.uint8)
            self.chroma = np.clip(np.rint(fc), 0, 255).astype(np.uint8)
            self.since = np.full(cells[:2], np.nan)
            self.steps = 0
            self.seeded_at = float(ts)
            return LongTermStep(np.zeros((lh, lw), bool), g_all)
        mask = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_CLOSE, self._close)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        st_fg = None
        if moving is not None:
            st_fg = cv2.resize(moving.astype(np.uint8), (lw, lh), interpolation=cv2.INTER_AREA) > 0
        present = self._drop_ghosts(mask, fy_n, bg, st_fg)
        # dwell map: a cell is occupied when a fifth of it is present
        occ = self._cells(present, cells[:2])
        self.since[~occ] = np.nan
        new = occ & np.isnan(self.since)
        self.since[new] = float(ts)
        if learn:
            dt = 60.0 if self.last_ts is None else min(max(float(ts) - self.last_ts, 0.0), 3600.0)
            self._learn(fy_n, fc, present, cells, ts, raw, min(0.5, dt / self.tau_track_s))
            self.last_ts = float(ts)
        self.steps += 1
        return LongTermStep(present, g_all)

    def differs(
        self, luma: np.ndarray, chroma: np.ndarray, spread: np.ndarray | None, gain: float
    ) -> np.ndarray:
        """bool at the long-term size: where a picture (short-term model planes: luma at the
        model's size, chroma at half) differs from the long-term background under ``gain``,
        by the same test as :meth:`step` (no shadow exclusion, no clean-up)."""
        assert self.luma is not None and self.chroma is not None
        lh, lw = self.luma.shape
        ch, cw = self.chroma.shape[:2]
        fy = (_half(luma, lw, lh).astype(np.float32) + 4.0) / gain - 4.0
        bg = self.luma.astype(np.float32)
        dc = _half(chroma, cw, ch).astype(np.float32) - self.chroma.astype(np.float32)
        dc2 = cv2.resize(np.einsum("ijk,ijk->ij", dc, dc), (lw, lh), interpolation=cv2.INTER_LINEAR)
        sigma = np.full((lh, lw), 4.0, np.float32) if spread is None else spread / _SPREAD_UNIT
        sigma = np.maximum(sigma.astype(np.float32), 2.0)
        if sigma.shape != (lh, lw):
            sigma = cv2.resize(sigma, (lw, lh), interpolation=cv2.INTER_LINEAR)
        thr = self.var_threshold * (sigma * sigma + (self.rel_noise * bg) ** 2)
        return (fy - bg) ** 2 + self.chroma_weight * dc2 > thr

    @staticmethod
    def _cells(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        gh, gw = shape
        h, w = mask.shape
        pad = np.zeros((gh * CELL, gw * CELL), np.float32)
        pad[:h, :w] = mask
        return pad.reshape(gh, CELL, gw, CELL).mean(axis=(1, 3)) >= 0.2

    def _drop_ghosts(
        self,
        mask: np.ndarray,
        fy_n: np.ndarray,
        bg: np.ndarray,
        st_fg: np.ndarray | None = None,
    ) -> np.ndarray:
        """Components whose outline is in the background but not in the frame (something the
        model learnt that has left): healed at once and not reported -- unless most of the
        component is short-term foreground (``st_fg``): something is there now."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if n <= 1:
            return mask.astype(bool)
        keep = stats[:, cv2.CC_STAT_AREA] >= self.min_area
        keep[0] = False
        inner = mask.astype(bool) & ~cv2.erode(mask, self._kernel).astype(bool)
        gf = cv2.magnitude(
            cv2.Sobel(fy_n, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(fy_n, cv2.CV_32F, 0, 1, ksize=3)
        )
        gb = cv2.magnitude(
            cv2.Sobel(bg, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(bg, cv2.CV_32F, 0, 1, ksize=3)
        )
        lab = labels[inner]
        ef = np.bincount(lab, weights=gf[inner], minlength=n)
        eb = np.bincount(lab, weights=gb[inner], minlength=n)
        ghost = keep & (eb > self.ghost_ratio * ef)
        if st_fg is not None and ghost.any():
            held = np.bincount(labels[st_fg], minlength=n)
            ghost &= held < 0.5 * stats[:, cv2.CC_STAT_AREA]
        if ghost.any():
            gmask = ghost[labels]
            assert self.luma is not None
            self.luma[gmask] = np.clip(np.rint(fy_n[gmask]), 0, 255).astype(np.uint8)
            keep &= ~ghost
        return keep[labels]

    def _learn(
        self,
        fy_n: np.ndarray,
        fc: np.ndarray,
        present: np.ndarray,
        cells: tuple,
        ts: float,
        raw: np.ndarray,
        track: float,
    ) -> None:
        assert self.luma is not None and self.chroma is not None and self.since is not None
        lh, lw = self.luma.shape
        ch, cw = self.chroma.shape[:2]
        guard = cv2.dilate((present | raw).astype(np.uint8), self._kernel).astype(bool)
        rate = np.where(guard, 0.0, track).astype(np.float32)
        # occupied for longer than absorb_after_s: becomes part of the empty scene
        with np.errstate(invalid="ignore"):
            old = (float(ts) - self.since) >= self.absorb_after_s  # NaN (free): False
        if old.any():
            old_px = np.kron(old, np.ones((CELL, CELL), bool))[:lh, :lw] & present
            rate[old_px] = 0.5
            self.since[old] = np.nan
        rnd = _dither((lh, lw), self.steps * 7)
        bg = self.luma.astype(np.float32)
        self.luma = np.clip(np.floor(bg + (fy_n - bg) * rate + rnd), 0, 255).astype(np.uint8)
        rate_c = _half(rate, cw, ch)[..., None]
        bc = self.chroma.astype(np.float32)
        self.chroma = np.clip(
            np.floor(bc + (fc - bc) * rate_c + _dither((ch, cw), self.steps * 7)[..., None]), 0, 255
        ).astype(np.uint8)

    def dwell_since(self, box_small: tuple[float, float, float, float]) -> float | None:
        """Earliest 'occupied since' (epoch s) under a footprint given in long-term pixels
        (x0, y0, x1, y1); None when none of its cells is occupied."""
        if self.since is None:
            return None
        gh, gw = self.since.shape
        x0, y0, x1, y1 = box_small
        c0, c1 = max(0, int(x0 // CELL)), min(gw, int(np.ceil(x1 / CELL)))
        r0, r1 = max(0, int(y0 // CELL)), min(gh, int(np.ceil(y1 / CELL)))
        if c1 <= c0 or r1 <= r0:
            return None
        vals = self.since[r0:r1, c0:c1]
        vals = vals[~np.isnan(vals)]
        return float(np.median(vals)) if vals.size else None

    # ------------------------------------------------------------------ state

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.luma is None or self.chroma is None or self.since is None:
            return {}, {}
        meta: dict[str, Any] = {"steps": self.steps, "t": self.last_ts, "s0": self.seeded_at}
        occupied = ~np.isnan(self.since)
        base = int(np.floor(self.since[occupied].min())) if occupied.any() else 0
        off = np.full(self.since.shape, _NO_SINCE, np.int64)
        off[occupied] = np.clip(np.floor(self.since[occupied]) - base, 0, _NO_SINCE - 1)
        packed = np.stack([(off >> s) & 0xFF for s in (16, 8, 0)], axis=-1).astype(np.uint8)
        meta["base"] = base
        return meta, {"lt_luma": self.luma, "lt_chroma": self.chroma, "lt_since": packed}

    def load(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray], model_w: int, model_h: int
    ) -> None:
        """Restore :meth:`state` output for a short-term model of ``model_w`` x ``model_h``;
        raises ValueError when it does not fit."""
        if "lt_luma" not in arrays:
            self.reset()
            return
        (lw, lh), (cw, ch), cells = self.sizes(model_w, model_h)
        want = {"lt_luma": (lh, lw), "lt_chroma": (ch, cw, 2), "lt_since": cells}
        for name, shape in want.items():
            a = arrays.get(name)
            if a is None or a.shape != tuple(shape) or a.dtype != np.uint8:
                raise ValueError(f"long-term background {name} does not fit")
        self.luma = arrays["lt_luma"].copy()
        self.chroma = arrays["lt_chroma"].copy()
        p = arrays["lt_since"].astype(np.int64)
        off = (p[..., 0] << 16) | (p[..., 1] << 8) | p[..., 2]
        self.since = np.where(off == _NO_SINCE, np.nan, float(int(meta.get("base", 0))) + off)
        self.steps = int(meta.get("steps", 0))
        t, s0 = meta.get("t"), meta.get("s0")
        self.last_ts = None if t is None else float(t)
        self.seeded_at = None if s0 is None else float(s0)
