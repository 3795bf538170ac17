"""Perspective per camera: how tall a person (and how long a metre) is at each image row.

A camera's ground plane seen through a pinhole makes an upright object's height in pixels grow
linearly with its foot row below the horizon, so one line describes the view::

    pixels per metre at foot row y:   ppm(y) = k * (y - y_horizon)
    expected person height (px):      1.7 m * ppm(y)
    metres per pixel at row y:        1 / ppm(y)

Three sources, best first:

- ``marks``: two calibration marks set in the camera editor, each a vertical segment from the
  foot to the top of something standing on the ground whose real height is known (a person
  ~1.7 m, a bollard, a door). Stored in the camera's analytics JSON under ``perspective``.
- ``learned``: a robust fit (Theil-Sen over the median of each of ``N_BANDS`` bands of rows) of
  pixels per metre against foot row over the camera's own foreground blobs: tall narrow blobs are taken as people (1.7 m), wide ones as cars
  (1.5 m). It replaces the default only with enough evidence (``MIN_OBSERVATIONS`` blobs whose
  foot rows span at least ``MIN_ROW_SPAN`` of the frame, rising scale down the picture).
- ``default``: the pole-camera model of :class:`analytics.detectors.PersonSizeModel`.

The learner's samples are a small JSON section of the camera's portable state (a few KiB).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PERSON_HEIGHT_M = 1.7
CAR_HEIGHT_M = 1.5
MIN_OBSERVATIONS = 40
MIN_ROW_SPAN = 0.12
MAX_SAMPLES = 160
N_BANDS = 6
BAND_QUANTILE = 50
PERSPECTIVE_VERSION = 1
"""Part of the state fingerprint: bump when the learner's samples change meaning."""

SOURCES = ("marks", "learned", "default")


@dataclass(frozen=True)
class Mark:
    """A vertical segment on the picture: ``foot`` on the ground, ``top`` above it, and the
    real height in metres of what stands there."""

    foot: tuple[float, float]
    top: tuple[float, float]
    height_m: float


def _point(raw: Any, what: str) -> tuple[float, float]:
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)) or len(raw) != 2:
        raise ValueError(f"{what}: must be [x, y], got {raw!r}")
    try:
        x, y = float(raw[0]), float(raw[1])
    except (TypeError, ValueError):
        raise ValueError(f"{what}: must be two numbers, got {raw!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        raise ValueError(f"{what}: coordinates must be finite and >= 0, got {raw!r}")
    return x, y


@dataclass(frozen=True)
class PerspectiveMarks:
    """Two calibration marks (``analytics`` JSON ``"perspective": {"marks": [...]}``).
    Coordinates are pixels, or fractions of width/height when every value is in [0, 1] (or
    ``"normalized": true``), like ROIs."""

    marks: tuple[Mark, Mark]
    normalized: bool

    @classmethod
    def from_dict(cls, raw: Any) -> PerspectiveMarks:
        """Parse and check; raises ValueError naming the problem (``perspective.marks.1...``)."""
        if not isinstance(raw, Mapping):
            raise ValueError("perspective: must be an object with two marks")
        items = raw.get("marks")
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)) or len(items) != 2:
            raise ValueError(
                "perspective.marks: exactly two marks, each "
                '{"foot": [x, y], "top": [x, y], "height_m": metres}'
            )
        marks = []
        for i, m in enumerate(items):
            what = f"perspective.marks.{i}"
            if not isinstance(m, Mapping):
                raise ValueError(f"{what}: must be an object with foot, top and height_m")
            foot = _point(m.get("foot"), f"{what}.foot")
            top = _point(m.get("top"), f"{what}.top")
            try:
                height = float(m.get("height_m"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValueError(f"{what}.height_m: a height in metres, e.g. 1.7") from None
            if not (math.isfinite(height) and 0.2 <= height <= 50):
                raise ValueError(f"{what}.height_m: between 0.2 and 50 m, got {height}")
            if top[1] >= foot[1]:
                raise ValueError(f"{what}: the top must be above the foot (smaller y)")
            marks.append(Mark(foot, top, height))
        coords = [v for m in marks for v in (*m.foot, *m.top)]
        flag = raw.get("normalized")
        normalized = bool(flag) if flag is not None else all(0 <= v <= 1 for v in coords)
        a, b = sorted(marks, key=lambda m: m.foot[1])
        gap = b.foot[1] - a.foot[1]
        if gap < (0.05 if normalized else 8):
            raise ValueError(
                "perspective.marks: the two feet must be on clearly different rows "
                "(one near, low in the picture; one far, higher up)"
            )
        if _ppm(b) <= _ppm(a):
            raise ValueError(
                "perspective.marks: the lower (nearer) mark must be larger per metre than the "
                "higher (farther) one; check the heights in metres"
            )
        return cls(marks=(a, b), normalized=normalized)

    def to_dict(self) -> dict[str, Any]:
        return {
            "marks": [
                {"foot": list(m.foot), "top": list(m.top), "height_m": m.height_m}
                for m in self.marks
            ],
            "normalized": self.normalized,
        }

    def perspective(self, frame_w: int, frame_h: int) -> Perspective:
        sy = float(frame_h) if self.normalized else 1.0
        (y1, p1), (y2, p2) = ((m.foot[1] * sy, _ppm(m) * sy) for m in self.marks)
        slope = (p2 - p1) / (y2 - y1)  # pixels per metre per row
        return Perspective.from_ppm_line(p1 - slope * y1, slope, frame_h, "marks")


def _ppm(m: Mark) -> float:
    return (m.foot[1] - m.top[1]) / m.height_m


@dataclass(frozen=True)
class Perspective:
    """A resolved perspective. ``a``, ``b``: :class:`PersonSizeModel` parameters (expected
    person height ``frame_h * (a + b * y / frame_h)`` px at foot row ``y``)."""

    source: str
    a: float
    b: float
    observations: int = 0

    @classmethod
    def from_ppm_line(
        cls, intercept: float, slope: float, frame_h: int, source: str, observations: int = 0
    ) -> Perspective:
        """From pixels-per-metre = ``intercept + slope * y`` (y in pixels of a ``frame_h``
        tall frame)."""
        return cls(
            source=source,
            a=PERSON_HEIGHT_M * intercept / frame_h,
            b=PERSON_HEIGHT_M * slope,
            observations=observations,
        )

    def person_px(self, y: float, frame_h: int) -> float:
        """Expected standing-person height in pixels with the feet at row ``y`` (>= 8 px)."""
        return max(8.0, frame_h * (self.a + self.b * y / frame_h))

    def metres_per_px(self, y: float, frame_h: int) -> float:
        """Ground scale at row ``y``: metres per pixel (across the picture)."""
        return PERSON_HEIGHT_M / self.person_px(y, frame_h)

    def describe(self, frame_h: int) -> dict[str, Any]:
        """What the camera is calibrated with: source, evidence and the person height in
        pixels with the feet on the top and on the bottom row."""
        return {
            "source": self.source,
            "observations": self.observations,
            "person_px_top": round(self.person_px(0, frame_h), 1),
            "person_px_bottom": round(self.person_px(frame_h - 1, frame_h), 1),
        }


class PerspectiveLearner:
    """Collects (foot row, pixels per metre) samples from a camera's foreground blobs and fits
    a line with Theil-Sen. Samples are fractions of the frame height (the state is about the
    view, not one resolution). Keeps at most ``MAX_SAMPLES`` by reservoir sampling."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.seen = 0
        self._fit: tuple[float, float] | None = None
        self._dirty = False

    def reset(self) -> None:
        self.samples, self.seen, self._fit, self._dirty = [], 0, None, False

    def observe(self, boxes: Iterable[Sequence[float]], frame_w: int, frame_h: int) -> int:
        """Take the person- or car-shaped blobs among ``boxes`` (x, y, w, h in frame px) that
        are whole (not cut by the frame edge); returns how many were taken."""
        taken = 0
        for x, y, w, h in boxes:
            if h < 0.06 * frame_h or w < 3 or y <= 1 or y + h >= frame_h - 1:
                continue
            if x <= 1 or x + w >= frame_w - 1:
                continue
            if 1.8 <= h / w <= 4.5:
                metres = PERSON_HEIGHT_M
            elif 1.4 <= w / h <= 3.5:
                metres = CAR_HEIGHT_M
            else:
                continue
            sample = (round((y + h) / frame_h, 4), round(h / metres / frame_h, 5))
            self.seen += 1
            taken += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(sample)
            else:
                j = random.Random(self.seen).randrange(self.seen)
                if j < MAX_SAMPLES:
                    self.samples[j] = sample
            self._dirty = True
        return taken

    def fit(self) -> tuple[float, float] | None:
        """(intercept, slope) of pixels-per-metre / frame height against foot row / frame
        height, or None without enough evidence."""
        if self._dirty:
            self._fit, self._dirty = self._compute(), False
        return self._fit

    def _compute(self) -> tuple[float, float] | None:
        if len(self.samples) < MIN_OBSERVATIONS:
            return None
        arr = np.asarray(self.samples, dtype=np.float64)
        ys, ppm = arr[:, 0], arr[:, 1]
        lo, hi = np.percentile(ys, 5), np.percentile(ys, 95)
        if hi - lo < MIN_ROW_SPAN:
            return None
        # the median per band of rows, then a robust line through those (bands weigh the
        # rows equally however busy each is)
        edges = np.linspace(lo, hi, N_BANDS + 1)
        band = np.clip(np.searchsorted(edges, ys, side="right") - 1, 0, N_BANDS - 1)
        px, py = [], []
        for k in range(N_BANDS):
            sel = band == k
            if sel.sum() >= 3:
                px.append(float(np.median(ys[sel])))
                py.append(float(np.percentile(ppm[sel], BAND_QUANTILE)))
        if len(px) < 3:
            return None
        from scipy.stats import theilslopes

        slope, intercept, _, _ = theilslopes(py, px)
        if not (slope > 0 and intercept + slope * 1.0 > 0):
            return None  # scale must grow down the picture and be positive at the bottom
        return float(intercept), float(slope)

    def perspective(self, frame_h: int) -> Perspective | None:
        f = self.fit()
        if f is None:
            return None
        intercept, slope = f
        # fractions of the height -> pixels: ppm_px(y_px) = H * (i + s * y_px / H)
        return Perspective.from_ppm_line(
            intercept * frame_h, slope, frame_h, "learned", observations=self.seen
        )

    def to_state(self) -> dict[str, Any]:
        return {"n": self.seen, "s": [list(s) for s in self.samples]}

    def load(self, raw: Mapping[str, Any] | None) -> None:
        """Restore :meth:`to_state`; raises ValueError/TypeError on junk."""
        self.reset()
        if not raw:
            return
        samples = [(float(y), float(p)) for y, p in raw.get("s", [])][:MAX_SAMPLES]
        if not all(math.isfinite(y) and math.isfinite(p) for y, p in samples):
            raise ValueError("perspective samples must be finite")
        self.samples = samples
        self.seen = max(int(raw.get("n", len(samples))), len(samples))
        self._dirty = bool(samples)


def resolve(
    marks: PerspectiveMarks | None,
    learner: PerspectiveLearner | None,
    default: Perspective,
    frame_w: int,
    frame_h: int,
) -> Perspective:
    """Marks win; then the learned fit once it has enough evidence; else ``default``."""
    if marks is not None:
        return marks.perspective(frame_w, frame_h)
    if learner is not None:
        learned = learner.perspective(frame_h)
        if learned is not None:
            return learned
    return default
