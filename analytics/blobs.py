"""Blob detectors: foreground of a background model -> people / vehicles by expected size.

- :class:`BackgroundBlobDetector` (``blob``): the per-camera sampling detector. Its background is
  a :class:`analytics.background.BackgroundModel` (per-pixel mean + spread at reduced size,
  ``uint8``), small enough to travel between workers with the camera's state.
- :class:`Mog2BlobDetector` (``blob-mog2``): OpenCV's MOG2 mixture, the older detector; used by
  the live-stream privacy blur, where a camera's frames come at video rate to one process.

Both feed the same splitting: a blob is split into people by the expected person size at its
image row (:class:`analytics.detectors.PersonSizeModel`), wide solid bands are vehicles classed
by size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from analytics.background import BackgroundModel, cleanup_kernels
from analytics.detectors import Detector, PersonSizeModel, _clip_box
from analytics.imaging import downscale
from analytics.longterm import LongTermBackground, LongTermStep
from analytics.perspective import PERSON_HEIGHT_M
from analytics.types import PERSON, STATIC_OBJECT, Box, Detection, validate_frame

logger = logging.getLogger(__name__)


_K3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def _inside(inner: Box, outer: Box) -> bool:
    """The centre of ``inner`` lies in ``outer``."""
    cx, cy = inner[0] + inner[2] / 2.0, inner[1] + inner[3] / 2.0
    return outer[0] <= cx <= outer[0] + outer[2] and outer[1] <= cy <= outer[1] + outer[3]


class BlobSplitter:
    """Turns a foreground mask into detections; needs ``size_model``, ``person_fill`` and
    ``min_person_frac`` attributes."""

    size_model: PersonSizeModel
    person_fill: float
    min_person_frac: float
    last_blobs: list[tuple[float, float, float, float]] = []
    """The foreground components of the last mask (x, y, w, h in frame px): what the camera's
    perspective learner (:mod:`analytics.perspective`) observes."""

    def blobs_to_detections(
        self, mask: np.ndarray, scale: float, fh: int, fw: int
    ) -> list[Detection]:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        out: list[Detection] = []
        self.last_blobs = [
            (float(st[0] * scale), float(st[1] * scale), float(st[2] * scale), float(st[3] * scale))
            for st in stats[1:]
        ]
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            comp = labels[y : y + h, x : x + w] == i
            vehicle = self._vehicle_part(comp, x, y, scale, fh)
            if vehicle is not None:
                vbox, rest = vehicle
                out.append(
                    Detection(
                        self._vehicle_class(
                            vbox[2], vbox[3], self.size_model.height(vbox[1] + vbox[3], fh)
                        ),
                        0.5,
                        _clip_box(vbox[0], vbox[1], vbox[0] + vbox[2], vbox[1] + vbox[3], fw, fh),
                    )
                )
                # what is left (people walking past the vehicle) is counted as people blobs
                m2, l2, st2, _ = cv2.connectedComponentsWithStats(
                    rest.astype(np.uint8), connectivity=8
                )
                for j in range(1, m2):
                    rx, ry, rw, rh, ra = (int(v) for v in st2[j])
                    out.extend(self._people_blob(x + rx, y + ry, rw, rh, ra, scale, fh, fw))
                continue
            out.extend(self._people_blob(x, y, w, h, area, scale, fh, fw))
        return out

    def _vehicle_part(
        self, comp: np.ndarray, x: int, y: int, scale: float, fh: int
    ) -> tuple[Box, np.ndarray] | None:
        """If the blob has a solid band much wider than a person (a vehicle body) at least
        ``0.35 * person height`` tall, return (vehicle box in full-frame px, remaining mask)."""
        h, w = comp.shape
        bottom = (y + h) * scale
        if not self.size_model.on_ground(bottom, fh):
            return None
        hp = self.size_model.height(bottom, fh)
        wp = hp * self.size_model.width_ratio
        if w * scale < 2.2 * wp:
            return None
        row_fill = comp.sum(axis=1) * scale
        wide = np.flatnonzero(row_fill > 2.2 * wp)
        if wide.size == 0 or wide.size * scale < 0.35 * hp:
            return None
        r0, r1 = int(wide[0]), int(wide[-1]) + 1
        # wheels/shadow below the body: extend down while rows stay at least half as wide
        while r1 < h and row_fill[r1] > 0.5 * row_fill[r0:r1].mean():
            r1 += 1
        cols = np.flatnonzero(comp[r0:r1].any(axis=0))
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        rest = comp.copy()
        rest[r0:r1, c0:c1] = False
        box = (
            int((x + c0) * scale),
            int((y + r0) * scale),
            int((c1 - c0) * scale),
            int((r1 - r0) * scale),
        )
        return box, rest

    def _people_blob(
        self, x: int, y: int, w: int, h: int, area: int, scale: float, fh: int, fw: int
    ) -> list[Detection]:
        X, Y, W, H = x * scale, y * scale, w * scale, h * scale
        if not self.size_model.on_ground(Y + H, fh):
            return []  # feet above the horizon (a low camera): not a person or vehicle
        hp = self.size_model.height(Y + H, fh)
        wp = hp * self.size_model.width_ratio
        fg_area = area * scale * scale
        person_area = self.person_fill * hp * wp
        if fg_area < self.min_person_frac * person_area or 0.3 * hp > H:
            return []
        box = _clip_box(X, Y, X + W, Y + H, fw, fh)
        if W > 2.2 * H and 0.8 * hp > H:
            return [Detection("motorcycle" if 1.6 * hp > W else "car", 0.4, box)]
        if self.size_model.calibrated:
            # a calibrated camera knows metres: a blob longer than 2.2 m and clearly wider than
            # tall, 0.8-4 m high, is a vehicle even when its mask is hollow or cut by a fence
            mpp = PERSON_HEIGHT_M / hp
            if W > 1.6 * H and W * mpp >= 2.2 and 0.8 <= H * mpp <= 4.0:
                return [Detection(self._vehicle_class(W, H, hp), 0.4, box)]
        return self._split_people(box, fg_area, hp, wp, person_area)

    @staticmethod
    def _vehicle_class(w: float, h: float, hp: float) -> str:
        """Class by real size: ``hp`` is a person's height (1.7 m) in pixels at the vehicle's
        row, from the camera's perspective (calibration marks, a learned fit or the default)."""
        length_m = PERSON_HEIGHT_M * w / hp
        height_m = PERSON_HEIGHT_M * h / hp
        if length_m < 2.6:
            return "motorcycle"
        if height_m > 2.4 or length_m > 7.5:
            return "bus" if w / h > 2.6 else "truck"
        return "car"

    def _split_people(
        self, box: Box, fg_area: float, hp: float, wp: float, person_area: float
    ) -> list[Detection]:
        x, y, w, h = box
        n_area = fg_area / person_area
        n_width = w / (1.05 * wp)
        n = int(
            max(
                1,
                round(min(n_area, max(n_width, n_area * 0.7)) if n_area >= 1.5 else round(n_area)),
            )
        )
        n = max(1, min(n, 40))
        score = float(np.clip(1.0 - abs(n_area - n) / max(n, 1), 0.2, 0.9))
        if n == 1:
            return [Detection(PERSON, score, box)]
        # split along the wider dimension relative to a person's box
        dets: list[Detection] = []
        if w / wp >= h / hp:
            step = w / n
            for k in range(n):
                dets.append(Detection(PERSON, score, (int(x + k * step), y, max(1, int(step)), h)))
        else:
            step = h / n
            for k in range(n):
                dets.append(Detection(PERSON, score, (x, int(y + k * step), w, max(1, int(step)))))
        return dets


class Mog2BlobDetector(BlobSplitter, Detector):
    """The first blob detector: OpenCV's MOG2 mixture on a 320 px copy (~7.6 MiB per camera at
    768x576, and not serialisable). Kept for live-stream privacy (``StreamBlur``) and as the
    accuracy reference (``blob-mog2``); per-camera sampling uses :class:`BackgroundBlobDetector`.

    Useful on static CCTV where people and vehicles are the only things that move. Needs a few
    frames to learn the background (``warm``); on the very first frame it returns nothing.
    Stationary objects fade into the background after roughly ``history`` samples.
    """

    name = "blob-mog2"
    needs_history = True

    def __init__(
        self,
        width: int = 320,
        history: int = 120,
        var_threshold: float = 24.0,
        size_model: PersonSizeModel | None = None,
        person_fill: float = 0.62,
        min_person_frac: float = 0.22,
        vehicle_aspect: float = 1.25,
        learning_rate: float = -1.0,
        background_ratio: float = 0.6,
    ) -> None:
        self.width = width
        self.background_ratio = background_ratio
        self.history = history
        self.var_threshold = var_threshold
        self.size_model = size_model or PersonSizeModel()
        self.person_fill = person_fill
        self.min_person_frac = min_person_frac
        self.vehicle_aspect = vehicle_aspect
        self.learning_rate = learning_rate
        self.frames_seen = 0
        self._mog: cv2.BackgroundSubtractorMOG2 | None = None
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 9))
        self.reset()

    def reset(self) -> None:
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=self.history, varThreshold=self.var_threshold, detectShadows=True
        )
        self._mog.setShadowThreshold(0.6)
        self._mog.setBackgroundRatio(self.background_ratio)
        self.frames_seen = 0

    @property
    def warm(self) -> bool:
        return self.frames_seen >= 3

    def foreground(self, frame: np.ndarray, want_mask: bool = True) -> tuple[np.ndarray, float]:
        """Update the model with ``frame``; return (clean foreground mask at small size, scale).
        ``want_mask=False`` only learns (the raw MOG2 output comes back, not cleaned)."""
        validate_frame(frame)
        h, w = frame.shape[:2]
        scale = w / float(self.width) if w > self.width else 1.0
        small = frame if scale == 1.0 else downscale(frame, self.width, max(1, round(h / scale)))
        assert self._mog is not None
        fg = self._mog.apply(small, learningRate=self.learning_rate)
        self.frames_seen += 1
        if not want_mask:
            return fg, scale
        mask = np.where(fg == 255, 255, 0).astype(np.uint8)  # 127 = shadow
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        return mask, scale

    def observe(self, frame: np.ndarray) -> None:
        self.foreground(frame, want_mask=False)  # learning only: no mask clean-up

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        mask, scale = self.foreground(frame)
        if self.frames_seen <= 1:
            return []
        return self.blobs_to_detections(mask, scale, frame.shape[0], frame.shape[1])


class BackgroundBlobDetector(BlobSplitter, Detector):
    """Foreground blobs against a small serialisable background model, split and classed by
    expected object size.

    Useful on static CCTV where people and vehicles are the only things that move. It counts
    only once its background is ``warm`` (``warm_frames`` frames seen, or :meth:`warm_up` on a
    short burst); before that :meth:`detect` returns nothing and ``warm`` is False, so the
    caller can report the count as unknown. Stationary objects fade into the background after
    a few tens of samples (``fg_alpha``).
    """

    name = "blob"
    needs_history = True
    accepts_scaled = True  # works on the background model's 192x144 copy only

    def __init__(
        self,
        width: int = 192,
        height: int | None = None,
        size_model: PersonSizeModel | None = None,
        person_fill: float = 0.62,
        min_person_frac: float = 0.22,
        long_term: LongTermBackground | None = None,
        object_max_height: float = 0.6,
        min_still_s: float = 45.0,
        **background: Any,
    ) -> None:
        """``width`` x ``height`` (default 3/4 of the width): the box the background model's
        copy of the frame fits in; ``background``: :class:`BackgroundModel` parameters;
        ``long_term``: the long-term background (default one; see
        :mod:`analytics.longterm`); ``object_max_height``: a standing blob lower than this
        share of a person's height at its row is a static *object* (a bag, a box), not a
        person or vehicle."""
        self.size_model = size_model or PersonSizeModel()
        sm = self.size_model
        self._size_params = [sm.a, sm.b, sm.width_ratio]  # the configured model (fingerprint)
        self.long_term = long_term or LongTermBackground()
        self.object_max_height = float(object_max_height)
        self.min_still_s = float(min_still_s)
        #: epoch seconds of the sample being analysed (the pipeline sets it; None: one
        #: sample a minute is assumed, counted from the long-term model's steps)
        self.clock: float | None = None
        self._lt_step: LongTermStep | None = None
        self.person_fill = person_fill
        self.min_person_frac = min_person_frac
        self.model = BackgroundModel(
            width=width,
            height=height if height is not None else round(width * 0.75),
            **background,
        )
        self._open, self._close = cleanup_kernels(width / 320.0)

    @property
    def width(self) -> int:
        return self.model.width

    @property
    def frames_seen(self) -> int:
        return self.model.frames_seen

    @property
    def warm(self) -> bool:
        return self.model.warm

    def params(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "background": self.model.params(),
            "size_model": list(self._size_params),
            "person_fill": self.person_fill,
            "min_person_frac": self.min_person_frac,
            "long_term": self.long_term.params(),
            "object_max_height": self.object_max_height,
            "min_still_s": self.min_still_s,
        }

    def reset(self) -> None:
        """Forget both backgrounds (camera moved, new frame size)."""
        self.model.reset()
        self.long_term.reset()
        self._lt_step = None

    def reset_short_term(self) -> None:
        """Forget the short-term background only (a global lighting change: the long-term
        one compares under a lighting gain, and keeps what has been parked for hours)."""
        self.model.reset()
        self._lt_step = None

    def reduced_size(self, width: int, height: int) -> tuple[int, int]:
        return self.model.scale_for(width, height)[0]

    def warm_up(self, frames: Sequence[np.ndarray]) -> None:
        self.model.warm_up(frames)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.model.state()
        lt_meta, lt_arrays = self.long_term.state()
        if lt_arrays:
            meta = {**meta, "lt": lt_meta}
            arrays = {**arrays, **lt_arrays}
        return meta, arrays

    def load(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.model.load(meta, arrays)
        self._lt_step = None
        size = self.model.frame_size
        if size is None or "lt_luma" not in arrays:
            self.long_term.reset()
            return
        sw, sh = self.model.scale_for(*size)[0]
        self.long_term.load(dict(meta.get("lt") or {}), arrays, sw, sh)

    def _now(self) -> float:
        return float(self.clock) if self.clock is not None else 60.0 * self.long_term.steps

    def _long_term_step(
        self, learn: bool = True, moving: np.ndarray | None = None
    ) -> LongTermStep | None:
        """Run the long-term background on the planes the short-term model just saw (seeded
        from the short-term model once that is warm)."""
        m, lt = self.model, self.long_term
        self._lt_step = None
        if not m.warm or m.last_planes is None or m.luma is None or m.chroma is None:
            return None
        if not lt.ready:
            lt.seed(m.luma, m.chroma, self._now())
            return None
        assert m.spread is not None
        luma, chroma = m.last_planes
        self._lt_step = lt.step(luma, chroma, m.spread, self._now(), learn=learn, moving=moving)
        return self._lt_step

    def foreground(self, frame: np.ndarray, learn: bool = True) -> tuple[np.ndarray | None, float]:
        """Clean foreground mask at model size (``None`` while there is no background yet) and
        the full/small scale; learns from ``frame`` unless ``learn=False``."""
        validate_frame(frame)
        mask, scale = self.model.apply(frame, learn=learn)
        if mask is None:
            return None, scale
        self._long_term_step(learn=learn, moving=mask)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        return mask, scale

    def observe(self, frame: np.ndarray) -> None:
        validate_frame(frame)
        mask = self.model.apply(frame, learn=True)[0]
        if mask is not None:
            self._long_term_step(moving=mask)

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        validate_frame(frame)
        was_warm = self.model.warm
        h, w = frame.shape[:2]
        if self.model.frame_size not in (None, (w, h)):
            was_warm = False  # the model restarts on a new frame size
        mask, scale = self.foreground(frame)
        if mask is None or not was_warm:
            return []
        step = self._lt_step
        if step is None:
            return self.blobs_to_detections(mask, scale, h, w)
        return self._with_standing(mask, scale, h, w, step, self.long_term.mature(self._now()))

    # ------------------------------------------------------------------ standing still

    def _fresh(self, mask: np.ndarray) -> np.ndarray:
        """Foreground pixels that were not foreground at the previous sample (bool)."""
        age = self.model.fg_age
        fg = mask > 0
        return fg if age is None or age.shape != fg.shape else fg & (age <= 1)

    def _with_standing(
        self,
        mask: np.ndarray,
        scale: float,
        fh: int,
        fw: int,
        step: LongTermStep,
        mature: bool = True,
    ) -> list[Detection]:
        """Detections of the short-term foreground plus what stands still in the long-term
        one (absorbed by the short-term model), each marked ``still`` or moving; low standing
        blobs are static objects. Before the long-term model is ``mature`` only the marking."""
        sh, sw = mask.shape
        present = step.present
        lh, lw = present.shape
        if not mature:
            present = np.zeros_like(present)
        m = self.model
        absorbed = (
            self.long_term.differs(m.luma, m.chroma, m.spread, step.gain)
            if mature and m.luma is not None and m.chroma is not None
            else np.zeros_like(present)
        )  # where the short-term background holds something the long-term one does not
        if mature:
            mask = self._drop_short_term_ghosts(mask, step, absorbed)
        fresh = self._fresh(mask)
        fresh_lt = cv2.resize(fresh.astype(np.uint8), (lw, lh), interpolation=cv2.INTER_AREA) > 0
        still_lt = present & ~fresh_lt
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            present.astype(np.uint8), connectivity=8
        )
        extra = np.zeros((sh, sw), np.uint8)
        objects: list[Detection] = []
        if n > 1:
            # standing blobs the short-term foreground has (mostly) absorbed; what it still
            # holds it counts itself (merging both would join people walking side by side)
            area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
            st_lt = cv2.resize((mask > 0).astype(np.uint8), (lw, lh), interpolation=cv2.INTER_AREA)
            held = np.bincount(labels[st_lt > 0], minlength=n)
            still_px = np.bincount(labels[still_lt & absorbed], minlength=n)
            fresh_px = np.bincount(labels[present & fresh_lt], minlength=n)
            sx, sy = sw / float(lw), sh / float(lh)
            now = self._now()
            for i in range(1, n):
                x, y, bw, bh = (int(v) for v in stats[i, :4])
                bottom = (y + bh) * sy * scale
                hp = self.size_model.height(bottom, fh)
                low = bh * sy * scale < self.object_max_height * hp
                # people and vehicles the short-term foreground still holds it counts itself
                # (merging both would join people walking side by side); a low lump it holds
                # is too small for its people filter: an object once it has stopped moving
                if (not low and held[i] >= 0.3 * area[i]) or fresh_px[i] >= 0.5 * area[i]:
                    continue
                since = self._since((x, y, bw, bh))
                if still_px[i] < 0.5 * area[i] and (
                    since is None or now - since < self.min_still_s
                ):
                    # not absorbed by the short-term model: standing only when its spot has
                    # been occupied for a while (a walker's trail at video rate is not)
                    continue
                if low:
                    box = _clip_box(x * sx * scale, y * sy * scale, (x + bw) * sx * scale,
                                    bottom, fw, fh)  # fmt: skip
                    objects.append(Detection(STATIC_OBJECT, 0.5, box, True, since))
                    continue
                comp = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
                big = cv2.resize(comp, (round(bw * sx), round(bh * sy)), interpolation=0)
                x0, y0 = round(x * sx), round(y * sy)
                tgt = extra[y0 : y0 + big.shape[0], x0 : x0 + big.shape[1]]
                tgt |= big[: tgt.shape[0], : tgt.shape[1]]
        union = mask | (extra * 255) if extra.any() else mask
        dets = self.blobs_to_detections(union, scale, fh, fw)
        if objects and dets:  # a low part of a standing person or vehicle is not an object
            objects = [o for o in objects if not any(_inside(o.box, d.box) for d in dets)]
        out = []
        for d in dets:
            bx, by, bw_, bh_ = d.box
            x0, y0 = int(bx / scale), int(by / scale)
            x1, y1 = max(x0 + 1, int((bx + bw_) / scale)), max(y0 + 1, int((by + bh_) / scale))
            fg = union[y0:y1, x0:x1] > 0
            n_fg = int(fg.sum())
            moving = n_fg > 0 and int(fresh[y0:y1, x0:x1][fg].sum()) >= 0.5 * n_fg
            if moving:
                out.append(d)
                continue
            # footprint: the lower third of the box, at the long-term model's size
            fx0, fx1 = (bx + 0.25 * bw_) / scale * lw / sw, (bx + 0.75 * bw_) / scale * lw / sw
            fy1 = (by + bh_) / scale * lh / sh
            fy0 = fy1 - bh_ / 3.0 / scale * lh / sh
            since = self.long_term.dwell_since((fx0, fy0, max(fx1, fx0 + 1), max(fy1, fy0 + 1)))
            out.append(Detection(d.label, d.score, d.box, True, since))
        return out + objects

    def _drop_short_term_ghosts(
        self, mask: np.ndarray, step: LongTermStep, differs: np.ndarray
    ) -> np.ndarray:
        """Short-term foreground where the frame matches the long-term background but the
        short-term background does not (it had absorbed something that has left: a car that
        drove off after parking, a person who walked away): removed, and the short-term
        background healed there at once."""
        m, lt = self.model, self.long_term
        if m.luma is None or m.chroma is None or lt.luma is None or m.last_planes is None:
            return mask
        sh, sw = mask.shape
        ghost_lt = differs & ~cv2.dilate(step.present.astype(np.uint8), _K3).astype(bool)
        if not ghost_lt.any():
            return mask
        ghost = cv2.resize(ghost_lt.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
        ghost = ghost.astype(bool) & (mask > 0)
        if not ghost.any():
            return mask
        # whole blobs only, when most of the blob is such a ghost: a person walking over a
        # spot the long-term model sees less sharply keeps every pixel
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        share = np.bincount(labels[ghost], minlength=n) / np.maximum(stats[:, 4], 1)
        drop = share >= 0.6
        drop[0] = False
        ghost &= drop[labels]
        if not ghost.any():
            return mask
        luma, chroma = m.last_planes
        m.luma[ghost] = luma[ghost]
        gh = cv2.resize(ghost.astype(np.uint8), (chroma.shape[1], chroma.shape[0]),
                        interpolation=cv2.INTER_NEAREST).astype(bool)  # fmt: skip
        m.chroma[gh] = chroma[gh]
        if m.fg_age is not None and m.fg_age.shape == ghost.shape:
            m.fg_age[ghost] = 0
        out = mask.copy()
        out[drop[labels]] = 0
        return out

    def _since(self, comp: tuple[int, int, int, int]) -> float | None:
        x, y, w, h = comp
        return self.long_term.dwell_since((x, y + 2 * h / 3.0, x + w, y + h))
