"""Plain data types shared by the analytics modules.

Everything here is a frozen-ish dataclass built from plain JSON-able dicts, so the camera row's
JSON config can be passed straight in. Shapes (see also ``analytics/README.md``)::

    {
      "rois": [
        {"name": "trotoar", "kind": "crowd", "area_m2": 120.0,
         "points": [[0.05, 0.55], [0.60, 0.55], [0.60, 0.98], [0.05, 0.98]]},
        {"name": "jalan", "kind": "road", "points": [[0, 300], [640, 300], [640, 360], [0, 360]]}
      ],
      "lines": [
        {"name": "zebra", "a": [0.1, 0.7], "b": [0.9, 0.7], "directions": ["in", "out"]}
      ],
      "flood": {"points": [[0.0, 0.6], [1.0, 0.6], [1.0, 1.0], [0.0, 1.0]]},
      "perspective": {"marks": [
        {"foot": [0.20, 0.95], "top": [0.20, 0.45], "height_m": 1.7},
        {"foot": [0.70, 0.40], "top": [0.70, 0.30], "height_m": 1.7}
      ]},
      "detector": "auto"
    }

Coordinates are pixels of the frame the camera delivers, or fractions of width/height when every
coordinate of the shape lies in [0, 1] (or when ``"normalized": true`` is given explicitly).
``kind`` is ``"crowd"`` (people counted, density reported), ``"road"`` (vehicles counted),
``"any"`` (both; the default), ``"no_parking"`` (a road zone where vehicles must not stand:
vehicles counted, parked vehicles' dwell reported) or ``"no_dumping"`` (static objects that
are neither people nor vehicles, and how long they have stayed, reported; not part of the
people/vehicle totals). A line's first direction name is used for crossings from the left
of the a->b arrow to its right (as seen on screen, y pointing down), the second for the reverse;
with a left-to-right line that means ``in`` = moving down the picture.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from analytics.imaging import ScaledFrame
from analytics.perspective import PerspectiveMarks

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
"""(x, y, w, h) in full-frame pixels."""

Point = tuple[float, float]

PERSON = "person"
VEHICLE_CLASSES: tuple[str, ...] = ("car", "motorcycle", "bus", "truck")
"""Vehicle classes reported in :attr:`FrameResult.vehicles` (bicycles are counted separately)."""

MIN_FRAME_SIDE = 16


def validate_frame(frame: Any, *, name: str = "frame") -> np.ndarray:
    """Check that ``frame`` is an 8-bit BGR image (H, W, 3) and return it.

    Raises ``ValueError`` with a clear message instead of letting OpenCV fail deep inside.
    """
    if frame is None:
        raise ValueError(f"{name} is None (the decoder returned no image)")
    if isinstance(frame, ScaledFrame):  # a frame whose full pixels load on demand
        validate_frame(frame.small, name=f"{name} (reduced copy)")
        if frame.shape[0] < MIN_FRAME_SIDE or frame.shape[1] < MIN_FRAME_SIDE:
            raise ValueError(f"{name} is too small ({frame.shape[1]}x{frame.shape[0]})")
        return frame  # type: ignore[return-value]
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(frame).__name__}")
    if frame.size == 0:
        raise ValueError(f"{name} is empty (shape {frame.shape})")
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        raise ValueError(
            f"{name} is grayscale (shape {frame.shape}); a BGR colour image is required"
        )
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) BGR, got {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8, got {frame.dtype}")
    if frame.shape[0] < MIN_FRAME_SIDE or frame.shape[1] < MIN_FRAME_SIDE:
        raise ValueError(f"{name} is too small ({frame.shape[1]}x{frame.shape[0]})")
    return frame


@dataclass(frozen=True)
class Detection:
    """One detected object. ``box`` is (x, y, w, h) in full-frame pixels."""

    label: str
    score: float
    box: Box
    still: bool = False
    """Standing / parked: it has not moved since the previous sample (or it is absorbed into
    the short-term background but not into the long-term one)."""
    since: float | None = None
    """Still objects: since when (epoch s) its footprint has been occupied without a break."""

    @property
    def bottom_center(self) -> Point:
        """Ground contact point (bottom-centre of the box), used for zones and tracking."""
        x, y, w, h = self.box
        return (x + w / 2.0, float(y + h))

    @property
    def area(self) -> int:
        return int(self.box[2] * self.box[3])


def _parse_points(raw: Any, what: str) -> list[tuple[float, float]]:
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise ValueError(f"{what}: points must be a list of [x, y] pairs")
    pts: list[tuple[float, float]] = []
    for p in raw:
        if not isinstance(p, Sequence) or len(p) != 2:
            raise ValueError(f"{what}: each point must be [x, y], got {p!r}")
        x, y = float(p[0]), float(p[1])
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError(f"{what}: non-finite coordinate {p!r}")
        pts.append((x, y))
    return pts


def _is_normalized(raw: Mapping[str, Any], pts: Iterable[tuple[float, float]]) -> bool:
    flag = raw.get("normalized")
    if flag is not None:
        return bool(flag)
    return all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y in pts)


@dataclass(frozen=True)
class Polygon:
    """A polygon in pixels or normalised [0, 1] coordinates."""

    points: tuple[Point, ...]
    normalized: bool = False

    def to_pixels(self, width: int, height: int) -> np.ndarray:
        """Vertices as an int32 (N, 2) array in pixels of a ``width`` x ``height`` frame."""
        arr = np.asarray(self.points, dtype=np.float64)
        if self.normalized:
            arr = arr * np.array([width, height], dtype=np.float64)
        return np.round(arr).astype(np.int32)

    def mask(self, width: int, height: int) -> np.ndarray:
        """uint8 mask (255 inside) of this polygon on a ``width`` x ``height`` frame."""
        import cv2

        m = np.zeros((height, width), np.uint8)
        cv2.fillPoly(m, [self.to_pixels(width, height)], 255)
        return m

    def contains(self, point: Point, width: int, height: int) -> bool:
        import cv2

        try:
            pts = _contour(self, width, height)
        except TypeError:  # built with unhashable (list) points: no cache
            pts = self.to_pixels(width, height).reshape(-1, 1, 2)
        return cv2.pointPolygonTest(pts, (float(point[0]), float(point[1])), False) >= 0

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], what: str = "polygon") -> Polygon:
        pts = _parse_points(raw.get("points", raw.get("polygon")), what)
        if len(pts) < 3:
            raise ValueError(f"{what}: a polygon needs at least 3 points, got {len(pts)}")
        return cls(points=tuple(pts), normalized=_is_normalized(raw, pts))


ROI_KINDS = ("crowd", "road", "any", "no_parking", "no_dumping")
PEOPLE_ROI_KINDS = ("crowd", "any")
"""ROI kinds whose people count towards the frame's total (when any ROI is configured)."""
VEHICLE_ROI_KINDS = ("road", "any", "no_parking")
"""ROI kinds whose vehicles count towards the frame's total."""
STATIC_OBJECT = "object"
"""Label of a static object that is neither a person nor a vehicle (a dumped bag, a box)."""


@dataclass(frozen=True)
class RegionOfInterest:
    """A named zone. ``area_m2`` (ground area) turns people counts into density per 100 m²."""

    name: str
    polygon: Polygon
    kind: str = "any"
    area_m2: float | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RegionOfInterest:
        if not isinstance(raw, Mapping):
            raise ValueError(f"ROI must be an object, got {type(raw).__name__}")
        name = str(raw.get("name") or "roi")
        kind = str(raw.get("kind", "any"))
        if kind not in ROI_KINDS:
            raise ValueError(
                f"ROI {name!r}: kind must be one of {', '.join(ROI_KINDS)}, got {kind!r}"
                + (" (write it with an underscore)" if kind.replace("-", "_") in ROI_KINDS else "")
            )
        area = raw.get("area_m2")
        if area is not None:
            area = float(area)
            if not area > 0:
                raise ValueError(f"ROI {name!r}: area_m2 must be > 0")
        return cls(
            name=name, polygon=Polygon.from_dict(raw, f"ROI {name!r}"), kind=kind, area_m2=area
        )


@dataclass(frozen=True)
class CountingLine:
    """A virtual tripwire from ``a`` to ``b``; see module docstring for direction names."""

    name: str
    a: Point
    b: Point
    normalized: bool = False
    directions: tuple[str, str] = ("in", "out")

    def to_pixels(self, width: int, height: int) -> tuple[Point, Point]:
        if self.normalized:
            return (
                (self.a[0] * width, self.a[1] * height),
                (self.b[0] * width, self.b[1] * height),
            )
        return self.a, self.b

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CountingLine:
        if not isinstance(raw, Mapping):
            raise ValueError(f"line must be an object, got {type(raw).__name__}")
        name = str(raw.get("name") or "line")
        pts = _parse_points([raw.get("a"), raw.get("b")], f"line {name!r}")
        if pts[0] == pts[1]:
            raise ValueError(f"line {name!r}: a and b must differ")
        dirs = raw.get("directions", ("in", "out"))
        if not isinstance(dirs, Sequence) or len(dirs) != 2 or dirs[0] == dirs[1]:
            raise ValueError(f"line {name!r}: directions must be two distinct names")
        return cls(
            name=name,
            a=pts[0],
            b=pts[1],
            normalized=_is_normalized(raw, pts),
            directions=(str(dirs[0]), str(dirs[1])),
        )


@dataclass(frozen=True)
class AnalyticsConfig:
    """Per-camera analytics config, parsed from the camera row's JSON (see module docstring)."""

    rois: tuple[RegionOfInterest, ...] = ()
    lines: tuple[CountingLine, ...] = ()
    flood_region: Polygon | None = None
    detector: str = "auto"
    model_path: str | None = None
    perspective: PerspectiveMarks | None = None
    """Two calibration marks (``"perspective": {"marks": [...]}``, see
    :mod:`analytics.perspective`); None: learned from the camera's own blobs, or the default."""

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> AnalyticsConfig:
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise ValueError(f"analytics config must be an object, got {type(raw).__name__}")
        rois = tuple(RegionOfInterest.from_dict(r) for r in raw.get("rois") or ())
        lines = tuple(CountingLine.from_dict(r) for r in raw.get("lines") or ())
        flood_raw = raw.get("flood")
        flood = Polygon.from_dict(flood_raw, "flood region") if flood_raw else None
        names = [r.name for r in rois]
        if len(set(names)) != len(names):
            raise ValueError(f"ROI names must be unique, got {names}")
        persp_raw = raw.get("perspective")
        perspective = PerspectiveMarks.from_dict(persp_raw) if persp_raw else None
        return cls(
            perspective=perspective,
            rois=rois,
            lines=lines,
            flood_region=flood,
            detector=str(raw.get("detector") or "auto"),
            model_path=raw.get("model_path"),
        )


@dataclass
class RoiCount:
    """People and vehicles whose bottom-centre lies in one ROI."""

    name: str
    people: int
    vehicles: int
    density: float
    """People per 100 m² when the ROI has ``area_m2``, else people in the ROI."""
    density_unit: str
    """``"people_per_100m2"`` or ``"people_per_roi"``."""
    standing: int = 0
    """Of ``people``: standing still."""
    parked: int = 0
    """Of ``vehicles``: parked (not moved since the previous sample, or for longer)."""
    dwell_s: float = 0.0
    """Longest dwell of a parked vehicle in the ROI, seconds (0: none parked)."""
    objects: int = 0
    """Static objects that are neither people nor vehicles (a dumped bag, a box)."""
    object_dwell_s: float = 0.0
    """Longest stay of such an object in the ROI, seconds (0: none)."""
    kind: str = "any"
    """The ROI's kind (``crowd``, ``road``, ``any``, ``no_parking``, ``no_dumping``)."""
    dwell_by_class: dict[str, float] = field(default_factory=dict)
    """Longest dwell (s) of a parked vehicle per class, classes with one parked only."""


@dataclass
class FrameResult:
    """Measurements of one frame (or one burst) of one camera."""

    ts: float | None
    analyser: str
    people: int = 0
    vehicles: dict[str, int] = field(default_factory=lambda: {c: 0 for c in VEHICLE_CLASSES})
    bicycles: int = 0
    people_standing: int = 0
    """Of ``people``: standing still (``people - people_standing`` are moving)."""
    vehicles_parked: int = 0
    """Of ``vehicles_total``: parked (``vehicles_total - vehicles_parked`` are moving)."""
    static_objects: int = 0
    """Static objects that are neither people nor vehicles (not in any total)."""
    rois: list[RoiCount] = field(default_factory=list)
    motion_ratio: float = 0.0
    lighting_change: bool = False
    water_coverage: float | None = None
    water_confidence: float | None = None
    line_crossings: dict[str, dict[str, int]] = field(default_factory=dict)
    reused_from_previous: bool = False
    detections: list[Detection] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    counts_known: bool = True
    """False when the analyser had no usable history to count people/vehicles (a cold camera
    without a warm-up): ``people``, ``vehicles``, ``bicycles`` and the ROI counts are then 0 as
    placeholders and must be stored as unknown (NULL). Flood coverage needs no history."""
    speeds_kmh: list[float] = field(default_factory=list)
    """Bursts with a calibrated perspective and a frame interval: speeds of the tracked objects
    in km/h, fastest first (at most 20; :mod:`analytics.speed`). Empty otherwise."""
    count_path: str = "warm"
    """How the counts were made: ``warm`` (the camera's detector, with its history when it
    needs one), ``history-free`` (a detector that needs no history, run on the whole frame
    because there was none), ``cold`` (not counted: ``counts_known`` is False)."""

    @property
    def vehicles_total(self) -> int:
        return int(sum(self.vehicles.values()))

    @property
    def max_speed_kmh(self) -> float | None:
        """The fastest tracked object of a burst in km/h (None: no speed measured)."""
        return self.speeds_kmh[0] if self.speeds_kmh else None

    def fast_tracks(self, kmh: float) -> int:
        """How many tracked objects of the burst went at least ``kmh``."""
        return sum(1 for v in self.speeds_kmh if v >= kmh)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (detections as lists) for storage or APIs."""
        return {
            "ts": self.ts,
            "analyser": self.analyser,
            "people": self.people,
            "vehicles": dict(self.vehicles),
            "vehicles_total": self.vehicles_total,
            "bicycles": self.bicycles,
            "people_moving": self.people - self.people_standing,
            "people_standing": self.people_standing,
            "vehicles_moving": self.vehicles_total - self.vehicles_parked,
            "vehicles_parked": self.vehicles_parked,
            "static_objects": self.static_objects,
            "rois": [r.__dict__.copy() for r in self.rois],
            "motion_ratio": self.motion_ratio,
            "lighting_change": self.lighting_change,
            "water_coverage": self.water_coverage,
            "water_confidence": self.water_confidence,
            "line_crossings": {k: dict(v) for k, v in self.line_crossings.items()},
            "reused_from_previous": self.reused_from_previous,
            "counts_known": self.counts_known,
            "count_path": self.count_path,
            "max_speed_kmh": self.max_speed_kmh,
            "speeds_kmh": list(self.speeds_kmh),
            "detections": [
                {"label": d.label, "score": round(d.score, 3), "box": list(d.box)}
                for d in self.detections
            ],
            "timings_ms": dict(self.timings_ms),
        }

    def to_state(self, max_detections: int = 200) -> dict[str, Any]:
        """Compact JSON-able form kept in a camera's analysis state (no timings; at most
        ``max_detections`` boxes, the best scores first)."""
        dets = sorted(self.detections, key=lambda d: -d.score)[: max(0, max_detections)]
        return {
            "ts": self.ts,
            "an": self.analyser,
            "p": self.people,
            "v": dict(self.vehicles),
            "b": self.bicycles,
            "r": [
                [r.name, r.people, r.vehicles, r.density, r.density_unit, r.standing, r.parked]
                + [round(r.dwell_s, 1), r.objects, round(r.object_dwell_s, 1), r.kind]
                + [dict(r.dwell_by_class)]
                for r in self.rois
            ],
            "m": self.motion_ratio,
            "l": self.lighting_change,
            "w": [self.water_coverage, self.water_confidence],
            "k": self.counts_known,
            "cp": self.count_path,
            "d": [_det_state(d) for d in dets],
            "s": [self.people_standing, self.vehicles_parked, self.static_objects],
        }

    @classmethod
    def from_state(cls, raw: Mapping[str, Any]) -> FrameResult:
        """Inverse of :meth:`to_state`; raises ValueError/TypeError/KeyError on bad input."""
        water = raw.get("w") or [None, None]
        still = list(raw.get("s") or [0, 0, 0])[:3] + [0, 0, 0]
        return cls(
            ts=None if raw.get("ts") is None else float(raw["ts"]),
            analyser=str(raw["an"]),
            people=int(raw["p"]),
            vehicles={str(k): int(v) for k, v in dict(raw["v"]).items()},
            bicycles=int(raw.get("b", 0)),
            rois=[_roi_from_state(r) for r in raw["r"]],
            motion_ratio=float(raw.get("m", 0.0)),
            lighting_change=bool(raw.get("l", False)),
            water_coverage=None if water[0] is None else float(water[0]),
            water_confidence=None if water[1] is None else float(water[1]),
            counts_known=bool(raw.get("k", True)),
            count_path=str(raw.get("cp", "warm")),
            detections=[_det_from_state(d) for d in raw.get("d", [])],
            people_standing=int(still[0]),
            vehicles_parked=int(still[1]),
            static_objects=int(still[2]),
        )


def _roi_from_state(r: Sequence[Any]) -> RoiCount:
    extra = list(r[5:10]) + [0] * (10 - len(r))
    kind = str(r[10]) if len(r) > 10 else "any"
    by = {str(k): float(v) for k, v in dict(r[11]).items()} if len(r) > 11 else {}
    return RoiCount(
        str(r[0]), int(r[1]), int(r[2]), float(r[3]), str(r[4]),
        int(extra[0]), int(extra[1]), float(extra[2]), int(extra[3]), float(extra[4]), kind, by,
    )  # fmt: skip


def _det_state(d: Detection) -> list[Any]:
    out: list[Any] = [d.label, round(float(d.score), 3), *map(int, d.box)]
    if d.still:
        out.append(None if d.since is None else int(d.since))
    return out


def _det_from_state(d: Sequence[Any]) -> Detection:
    still = len(d) > 6
    since = float(d[6]) if still and d[6] is not None else None
    return Detection(
        str(d[0]), float(d[1]), (int(d[2]), int(d[3]), int(d[4]), int(d[5])), still, since
    )


@lru_cache(maxsize=1024)
def _contour(polygon: Polygon, width: int, height: int) -> np.ndarray:
    """``polygon`` in pixels as a read-only OpenCV contour, cached: ``count_objects`` tests every
    detection against every zone, and rebuilding the array each time cost ~1 ms per sample."""
    pts = polygon.to_pixels(width, height).reshape(-1, 1, 2)
    pts.flags.writeable = False
    return pts
