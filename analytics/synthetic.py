"""Deterministic synthetic CCTV scenes with ground truth (for tests, benchmarks and the camera
simulator).

    scene = SyntheticScene(kind="street", seed=7, width=640, height=360)
    bgr, truth = scene.frame_at(12.5)          # any t >= 0, same (seed, t) -> same pixels
    scene.analytics_config()                    # ROIs / line / flood polygon matching the scene

Kinds: ``street`` (vehicles in two lanes, people on both pavements), ``crowd`` (a plaza full
of people milling about), ``flood`` (a quiet street whose road fills with muddy water over
``flood_seconds``), ``quiet`` (nothing moves; sensor noise and slow light drift only).

The camera looks down a street from a pole: the far pavement is near the top, the road in the
middle, the near pavement at the bottom. Object sizes follow the same perspective model as the
blob detector's default (a standing person is ``H * (0.03 + 0.22 * y / H)`` px tall at row y),
and vehicles are sized in metres relative to a 1.7 m person.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from analytics.demo_model import thinning_rank
from analytics.types import VEHICLE_CLASSES, Box

logger = logging.getLogger(__name__)

KINDS = ("street", "crowd", "flood", "quiet")

# vertical layout, as fractions of the frame height
FAR_PAVEMENT = (0.30, 0.42)
ROAD = (0.42, 0.80)
NEAR_PAVEMENT = (0.80, 1.00)

# vehicle (length, height) in metres
VEHICLE_SIZE_M: dict[str, tuple[float, float]] = {
    "car": (4.4, 1.5),
    "motorcycle": (1.9, 1.4),
    "bus": (11.5, 3.1),
    "truck": (7.5, 3.2),
}


@dataclass(frozen=True)
class SceneObject:
    id: int
    label: str
    box: Box


@dataclass
class SceneTruth:
    """Ground truth of one synthetic frame."""

    t: float
    people: int
    vehicles: dict[str, int]
    objects: list[SceneObject] = field(default_factory=list)
    water_fraction: float = 0.0
    """Share of the road polygon under water (flood scenes)."""
    lighting_gain: float = 1.0
    people_standing: int = 0
    """Of ``people``: the scene's still objects that are people (``SyntheticScene(still=)``)."""
    vehicles_parked: int = 0
    """Of the vehicles: the still ones."""
    static_objects: int = 0
    """Still objects that are neither people nor vehicles (a dropped bag)."""


@dataclass(frozen=True)
class StillObject:
    """Something that stands still in a synthetic scene from ``t0`` to ``t1`` seconds:
    ``label`` ``person``, a vehicle class, or ``object`` (a bag ~0.5 m wide, 0.35 m high);
    bottom-centre at (``x``, ``y``), fractions of the frame."""

    label: str
    x: float
    y: float
    t0: float = 0.0
    t1: float = math.inf
    color: tuple[int, int, int] = (40, 40, 150)


def person_height(
    y_bottom: float, height: int, perspective: tuple[float, float] = (0.03, 0.22)
) -> float:
    """A standing person's height in px with the feet at row ``y_bottom``:
    ``height * (a + b * y_bottom / height)`` for ``perspective = (a, b)``."""
    a, b = perspective
    return max(4.0, height * (a + b * y_bottom / height))


@dataclass
class _Mover:
    id: int
    label: str
    color: tuple[int, int, int]
    lane_y: float  # bottom row, fraction of H
    speed: float  # px/s (signed)
    phase: float  # s
    wobble: float = 0.0
    extra: tuple[int, int, int] = (0, 0, 0)  # second colour (legs / windows)
    ox: float = 0.0  # crowd: centre x fraction
    ax: float = 0.0  # crowd: amplitude x fraction
    ay: float = 0.0  # crowd: amplitude y fraction
    w: float = 0.0  # crowd: angular speed


class SyntheticScene:
    """A seeded synthetic camera. ``frame_at(t)`` is a pure function of (kind, seed, size, t)."""

    def __init__(
        self,
        kind: str = "street",
        seed: int = 0,
        width: int = 640,
        height: int = 360,
        flood_seconds: float = 600.0,
        noise_sigma: float = 2.5,
        crowd_size: int = 24,
        activity: Callable[[float], tuple[float, float]] | None = None,
        water: Callable[[float], float] | None = None,
        perspective: tuple[float, float] = (0.03, 0.22),
        still: Sequence[StillObject] = (),
        gain: Callable[[float], float] | None = None,
    ) -> None:
        """``perspective``: (a, b) of :func:`person_height`; the default is the pole camera
        the blob detector assumes, others make scenes a camera has to learn."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if width < 160 or height < 90:
            raise ValueError("synthetic scenes need at least 160x90 pixels")
        self.kind, self.seed, self.width, self.height = kind, seed, width, height
        self.flood_seconds = flood_seconds
        self.noise_sigma = noise_sigma
        self.crowd_size = crowd_size
        self.perspective = (float(perspective[0]), float(perspective[1]))
        self._rng = np.random.default_rng(seed)
        self._background = self._render_background()
        self._movers = self._make_movers()
        #: ``t -> (vehicle level, people level)`` in 0..1: the share of the scene's movers
        #: shown at ``t`` (analytics.demo_model.activity_clock); None shows all of them
        self.activity = activity
        #: flood scenes: ``t -> share of the road under water``; None: a ramp over
        #: ``flood_seconds`` (analytics.demo_model.water_clock follows the demo weather)
        self.water = water
        #: objects that stand still over a time span (standing people, parked cars, bags)
        self.still = tuple(still)
        for o in self.still:
            if o.label not in ("person", "object", *VEHICLE_SIZE_M):
                raise ValueError(f"still object label {o.label!r} is not person/object/vehicle")
        #: ``t -> global light gain`` replacing the slow drift (e.g. a step for a lighting test)
        self.gain = gain
        self._ranks = thinning_rank(seed, len(self._movers))
        h, w = height, width
        self.road_polygon_px = np.array(
            [
                [0, int(ROAD[0] * h)],
                [w - 1, int(ROAD[0] * h)],
                [w - 1, int(ROAD[1] * h)],
                [0, int(ROAD[1] * h)],
            ],
            np.int32,
        )

    def mover_ranks(self) -> tuple[list[str], list[float]]:
        """(labels, thinning ranks) of the scene's movers (analytics.demo_model)."""
        return [m.label for m in self._movers], list(self._ranks)

    # ------------------------------------------------------------------ config for the pipeline

    def analytics_config(self) -> dict[str, Any]:
        """The camera-row JSON (normalised coordinates) that fits this scene."""
        top, bot = ROAD
        if self.kind == "crowd":
            return {
                "rois": [
                    {
                        "name": "plaza",
                        "kind": "crowd",
                        "area_m2": 400.0,
                        "points": [
                            [0.0, FAR_PAVEMENT[0]],
                            [1.0, FAR_PAVEMENT[0]],
                            [1.0, 1.0],
                            [0.0, 1.0],
                        ],
                    }
                ],
                "lines": [
                    {
                        "name": "tengah",
                        "a": [0.5, 0.0],
                        "b": [0.5, 1.0],
                        "directions": ["kiri", "kanan"],
                    }
                ],
            }
        return {
            "rois": [
                {
                    "name": "trotoar_jauh",
                    "kind": "crowd",
                    "area_m2": 60.0,
                    "points": [
                        [0.0, FAR_PAVEMENT[0]],
                        [1.0, FAR_PAVEMENT[0]],
                        [1.0, top],
                        [0.0, top],
                    ],
                },
                {
                    "name": "jalan",
                    "kind": "road",
                    "area_m2": 350.0,
                    "points": [[0.0, top], [1.0, top], [1.0, bot], [0.0, bot]],
                },
                {
                    "name": "trotoar_dekat",
                    "kind": "crowd",
                    "area_m2": 40.0,
                    "points": [[0.0, bot], [1.0, bot], [1.0, 1.0], [0.0, 1.0]],
                },
            ],
            "lines": [
                {
                    "name": "tengah",
                    "a": [0.5, 0.0],
                    "b": [0.5, 1.0],
                    "directions": ["kiri", "kanan"],
                }
            ],
            "flood": {"points": [[0.0, top], [1.0, top], [1.0, bot], [0.0, bot]]},
        }

    # ------------------------------------------------------------------ static background

    def _render_background(self) -> np.ndarray:
        h, w = self.height, self.width
        rng = self._rng
        img = np.zeros((h, w, 3), np.float32)
        # sky + buildings
        img[: int(0.30 * h)] = (200, 185, 170)
        x = 0
        while x < w:
            bw = int(rng.integers(w // 10, w // 4))
            top = int(rng.uniform(0.02, 0.18) * h)
            col = np.array(
                rng.choice([(90, 110, 150), (150, 150, 145), (70, 90, 120), (170, 175, 180)]),
                np.float32,
            )
            img[top : int(0.30 * h), x : x + bw] = col
            for wy in range(top + 6, int(0.28 * h) - 6, 12):
                for wx in range(x + 5, x + bw - 8, 14):
                    img[wy : wy + 6, wx : wx + 7] = (60, 50, 40)
            x += bw
        # pavements (light paving with joints), road (asphalt)
        y0, y1 = int(FAR_PAVEMENT[0] * h), int(FAR_PAVEMENT[1] * h)
        img[y0:y1] = (150, 155, 160)
        r0, r1 = int(ROAD[0] * h), int(ROAD[1] * h)
        img[r0:r1] = (88, 90, 92)
        n0 = int(NEAR_PAVEMENT[0] * h)
        img[n0:] = (140, 148, 155)
        img[int(0.93 * h) :] = (60, 120, 70)  # verge grass
        tex = rng.normal(0, 7, (h, w, 1)).astype(np.float32)
        img += cv2.GaussianBlur(tex, (3, 3), 0)[..., None]
        for yy in range(y0, y1, 9):
            img[yy, :] *= 0.85
        # kerbs and lane markings
        img[r0 : r0 + 2] = (200, 200, 200)
        img[r1 - 2 : r1] = (200, 200, 200)
        mid = int((ROAD[0] + ROAD[1]) / 2 * h)
        for xx in range(0, w, 48):
            img[mid - 1 : mid + 2, xx : xx + 26] = (225, 225, 225)
        return np.clip(img, 0, 255).astype(np.uint8)

    # ------------------------------------------------------------------ moving objects

    def _make_movers(self) -> list[_Mover]:
        rng = np.random.default_rng(self.seed + 1000)
        h, w = self.height, self.width
        movers: list[_Mover] = []
        clothes = [
            (40, 40, 160),
            (160, 60, 40),
            (30, 30, 30),
            (200, 200, 200),
            (40, 140, 200),
            (120, 40, 120),
            (60, 90, 60),
        ]
        legs = [(40, 30, 20), (90, 60, 30), (20, 20, 20), (120, 110, 100)]

        def person(i: int, lane: float, speed: float, phase: float) -> _Mover:
            return _Mover(
                i,
                "person",
                tuple(int(c) for c in clothes[rng.integers(len(clothes))]),
                lane,
                speed,
                phase,
                wobble=float(rng.uniform(0, 6)),
                extra=tuple(int(c) for c in legs[rng.integers(len(legs))]),
            )

        if self.kind == "quiet":
            return []
        if self.kind in ("street", "flood"):
            n_people = 6 if self.kind == "street" else 2
            for i in range(n_people):
                far = i % 2 == 0
                lane = rng.uniform(0.37, 0.41) if far else rng.uniform(0.86, 0.92)
                speed = float(rng.uniform(18, 35) * (w / 640) * rng.choice([-1, 1]))
                movers.append(person(i, lane, speed, float(rng.uniform(0, 60))))
        if self.kind == "street":
            # two lanes; vehicles in a lane share its speed and keep gaps, so they never overlap
            lanes = [
                (0.58, -float(rng.uniform(50, 70)) * (w / 640)),
                (0.77, float(rng.uniform(55, 80)) * (w / 640)),
            ]
            pool = [
                "car",
                "car",
                "motorcycle",
                "car",
                "motorcycle",
                "bus",
                "car",
                "truck",
                "motorcycle",
                "car",
            ]
            j = 0
            for lane_y, speed in lanes:
                offset = 0.0
                for _ in range(5):
                    cls = pool[int(rng.integers(len(pool)))]
                    col = tuple(int(c) for c in rng.integers(30, 230, 3))
                    m = _Mover(100 + j, cls, col, lane_y, speed, 0.0, extra=(70, 60, 50))
                    length, _ = self._size(m, lane_y * h)
                    m.ox = offset  # distance ahead of the lane's first vehicle, px
                    offset += length + float(rng.uniform(0.15, 0.9)) * w
                    movers.append(m)
                    j += 1
                for m in movers:
                    if m.label != "person" and m.lane_y == lane_y:
                        m.ax = offset  # loop length of the lane, px
        if self.kind == "crowd":
            for i in range(self.crowd_size):
                m = person(i, float(rng.uniform(0.45, 0.97)), 0.0, float(rng.uniform(0, 100)))
                m.ox = float(rng.uniform(0.08, 0.92))
                m.ax = float(rng.uniform(0.02, 0.07))
                m.ay = float(rng.uniform(0.01, 0.03))
                m.w = float(rng.uniform(0.15, 0.5))
                movers.append(m)
        return movers

    def _size(self, m: _Mover, y_bottom: float) -> tuple[float, float]:
        hp = person_height(y_bottom, self.height, self.perspective)
        if m.label == "person":
            return 0.40 * hp, hp
        if m.label == "object":
            return 0.5 / 1.7 * hp, 0.35 / 1.7 * hp
        length, height = VEHICLE_SIZE_M[m.label]
        return length / 1.7 * hp, height / 1.7 * hp

    def _position(self, m: _Mover, t: float) -> tuple[float, float]:
        """Bottom-centre (x, y) in pixels at time t."""
        h, w = self.height, self.width
        if self.kind == "crowd":
            x = (m.ox + m.ax * math.sin(m.w * t + m.phase)) * w
            y = (m.lane_y + m.ay * math.sin(0.7 * m.w * t + 2 * m.phase)) * h
            return x, min(y, h - 1.0)
        y = m.lane_y * h
        bw, _ = self._size(m, y)
        if m.label != "person":
            loop = max(m.ax, w + 2 * bw)
            d = (abs(m.speed) * t - m.ox) % loop
            x = -bw / 2 + d if m.speed > 0 else w + bw / 2 - d
            return x, y
        span = w + 2 * bw + abs(m.speed) * 4.0  # a pause off-screen between passes
        d = (abs(m.speed) * (t + m.phase)) % span
        x = -bw + d if m.speed > 0 else w + bw - d
        return x, y + m.wobble * math.sin(0.5 * t + m.phase) * 0.2

    def _draw(self, img: np.ndarray, m: _Mover, x: float, y: float, t: float) -> Box:
        bw, bh = self._size(m, y)
        if m.label == "object":  # a dumped bag: a dark rounded lump
            x0, y0 = int(round(x - bw / 2)), int(round(y - bh))
            cv2.ellipse(
                img,
                (int(round(x)), int(round(y - bh / 2))),
                (max(2, int(bw / 2)), max(2, int(bh / 2))),
                0, 0, 360, m.color, -1, cv2.LINE_AA,
            )  # fmt: skip
            return (x0, y0, int(round(bw)), int(round(bh)))
        x0, y0 = int(round(x - bw / 2)), int(round(y - bh))
        x1, y1 = int(round(x + bw / 2)), int(round(y))
        if m.label == "person":
            head_r = max(2, int(bh * 0.09))
            cx = int(round(x))
            cv2.circle(img, (cx, y0 + head_r), head_r, (120, 150, 190), -1, cv2.LINE_AA)
            torso_top, torso_bot = y0 + 2 * head_r, int(y0 + bh * 0.58)
            tw = max(2, int(bw * 0.45))
            cv2.rectangle(img, (cx - tw, torso_top), (cx + tw, torso_bot), m.color, -1)
            swing = (
                int(bw * 0.25 * math.sin(6.0 * t + m.phase))
                if (m.speed or self.kind == "crowd")
                else 0
            )
            lw = max(1, int(bw * 0.16))
            cv2.line(
                img,
                (cx - lw, torso_bot),
                (cx - lw + swing, y1),
                m.extra,
                max(2, lw * 2),
                cv2.LINE_AA,
            )
            cv2.line(
                img,
                (cx + lw, torso_bot),
                (cx + lw - swing, y1),
                m.extra,
                max(2, lw * 2),
                cv2.LINE_AA,
            )
            cv2.line(
                img,
                (cx - tw, torso_top + 2),
                (cx - tw - swing // 2, torso_bot),
                m.color,
                max(1, lw),
                cv2.LINE_AA,
            )
            cv2.line(
                img,
                (cx + tw, torso_top + 2),
                (cx + tw + swing // 2, torso_bot),
                m.color,
                max(1, lw),
                cv2.LINE_AA,
            )
        else:
            wheel_r = max(2, int(bh * (0.22 if m.label == "motorcycle" else 0.17)))
            body_bot = y1 - wheel_r
            if m.label == "motorcycle":
                cv2.rectangle(
                    img, (x0 + wheel_r, int(y0 + bh * 0.45)), (x1 - wheel_r, body_bot), m.color, -1
                )
                cx = int(x)
                cv2.rectangle(
                    img,
                    (cx - int(bw * 0.12), y0),
                    (cx + int(bw * 0.12), int(y0 + bh * 0.5)),
                    (40, 40, 160),
                    -1,
                )
                cv2.circle(img, (cx, y0 + int(bh * 0.08)), max(2, int(bh * 0.1)), (30, 30, 30), -1)
            else:
                roof = y0 if m.label in ("bus", "truck") else int(y0 + bh * 0.05)
                cv2.rectangle(
                    img,
                    (x0, int(y0 + bh * 0.35) if m.label == "car" else roof),
                    (x1, body_bot),
                    m.color,
                    -1,
                )
                if m.label == "car":
                    cv2.rectangle(
                        img,
                        (int(x0 + bw * 0.2), roof),
                        (int(x1 - bw * 0.2), int(y0 + bh * 0.4)),
                        m.color,
                        -1,
                    )
                    cv2.rectangle(
                        img,
                        (int(x0 + bw * 0.25), roof + 2),
                        (int(x1 - bw * 0.25), int(y0 + bh * 0.33)),
                        m.extra,
                        -1,
                    )
                elif m.label == "bus":
                    for wx in range(x0 + 4, x1 - 8, max(6, int(bw / 8))):
                        cv2.rectangle(
                            img,
                            (wx, int(y0 + bh * 0.15)),
                            (wx + max(3, int(bw / 12)), int(y0 + bh * 0.45)),
                            m.extra,
                            -1,
                        )
                else:
                    cab = (x1 - int(bw * 0.22), x1) if m.speed > 0 else (x0, x0 + int(bw * 0.22))
                    cv2.rectangle(
                        img, (cab[0], int(y0 + bh * 0.3)), (cab[1], int(y0 + bh * 0.5)), m.extra, -1
                    )
            for wx in (x0 + int(bw * 0.18), x1 - int(bw * 0.18)):
                cv2.circle(img, (wx, y1 - wheel_r), wheel_r, (25, 25, 25), -1, cv2.LINE_AA)
        return (x0, y0, x1 - x0, y1 - y0)

    # ------------------------------------------------------------------ water

    def water_level_at(self, t: float) -> float:
        """Flood scenes: share of the road height under water at time t (0..1)."""
        if self.kind != "flood":
            return 0.0
        if self.water is not None:
            return float(np.clip(self.water(t), 0.0, 1.0))
        return float(np.clip(t / self.flood_seconds, 0.0, 1.0))

    def _water_mask(self, level: float) -> np.ndarray:
        h, w = self.height, self.width
        mask = np.zeros((h, w), np.uint8)
        if level <= 0:
            return mask
        r0, r1 = int(ROAD[0] * h), int(ROAD[1] * h)
        depth = level * (r1 - r0)
        xs = np.arange(w)
        edge = (
            r1 - depth + 0.06 * (r1 - r0) * np.sin(xs / w * 9.0 + self.seed) * min(1.0, level * 4)
        )
        edge = np.clip(edge, r0, r1)
        rows = np.arange(h)[:, None]
        mask[(rows >= edge[None, :]) & (rows < r1)] = 255
        return mask

    def _apply_water(self, img: np.ndarray, mask: np.ndarray, t: float) -> None:
        if not mask.any():
            return
        h, w = self.height, self.width
        water = np.empty_like(img, dtype=np.float32)
        # muddy brown-grey, brighter further away (sky reflection), gentle ripples
        rows = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        base = np.array([95, 118, 130], np.float32)
        water[:] = base
        water += (1.0 - rows)[..., None] * np.array([35, 30, 25], np.float32)
        xs = np.arange(w, dtype=np.float32)[None, :]
        ripple = 3.0 * np.sin(xs / 11.0 + rows * 60.0 + t * 1.7)
        water += ripple[..., None]
        sel = mask > 0
        img[sel] = np.clip(0.12 * img[sel].astype(np.float32) + 0.88 * water[sel], 0, 255).astype(
            np.uint8
        )

    # ------------------------------------------------------------------ frames

    def lighting_gain(self, t: float) -> float:
        """Slow global light drift (clouds): +-6% over a few minutes."""
        return 1.0 + 0.06 * math.sin(2 * math.pi * t / 240.0 + self.seed)

    def frame_at(self, t: float) -> tuple[np.ndarray, SceneTruth]:
        """(BGR uint8 frame, ground truth) at ``t`` seconds."""
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"t must be a finite number >= 0, got {t!r}")
        img = self._background.copy()
        level = self.water_level_at(t)
        wmask = self._water_mask(level)
        self._apply_water(img, wmask, t)
        road = np.zeros_like(wmask)
        cv2.fillPoly(road, [self.road_polygon_px], 255)
        water_fraction = float(np.count_nonzero(wmask & road)) / max(1, np.count_nonzero(road))

        h, w = self.height, self.width
        placed = []
        v_level, p_level = self.activity(t) if self.activity is not None else (1.0, 1.0)
        for m, rank in zip(self._movers, self._ranks, strict=True):
            if rank >= (p_level if m.label == "person" else v_level):
                continue  # a quiet hour: this mover is not out now
            x, y = self._position(m, t)
            placed.append((y, m, x))
        for k, o in enumerate(self.still):
            if o.t0 <= t < o.t1:
                m = _Mover(900 + k, o.label, o.color, o.y, 0.0, 0.0, extra=(40, 30, 20))
                placed.append((o.y * h, m, o.x * w))
        placed.sort(key=lambda p: p[0])  # painter's order: far first
        objects: list[SceneObject] = []
        for y, m, x in placed:
            box = self._draw(img, m, x, y, t)
            bx, by, bw, bh = box
            cx0, cy0, cx1, cy1 = max(0, bx), max(0, by), min(w, bx + bw), min(h, by + bh)
            vis = max(0, cx1 - cx0) * max(0, cy1 - cy0) / float(max(1, bw * bh))
            if vis >= 0.6:
                objects.append(SceneObject(m.id, m.label, (cx0, cy0, cx1 - cx0, cy1 - cy0)))

        gain = self.gain(t) if self.gain is not None else self.lighting_gain(t)
        frame_no = int(round(t * 1000))
        nrng = np.random.default_rng((self.seed * 1_000_003 + frame_no) & 0x7FFFFFFF)
        noisy = img.astype(np.float32) * gain + nrng.normal(0, self.noise_sigma, img.shape).astype(
            np.float32
        )
        out = np.clip(noisy, 0, 255).astype(np.uint8)
        vehicles = {c: sum(1 for o in objects if o.label == c) for c in VEHICLE_CLASSES}
        still_ids = {900 + k for k in range(len(self.still))}
        still = [o for o in objects if o.id in still_ids]
        truth = SceneTruth(
            people_standing=sum(1 for o in still if o.label == "person"),
            vehicles_parked=sum(1 for o in still if o.label in VEHICLE_CLASSES),
            static_objects=sum(1 for o in still if o.label == "object"),
            t=t,
            people=sum(1 for o in objects if o.label == "person"),
            vehicles=vehicles,
            objects=objects,
            water_fraction=round(water_fraction, 4),
            lighting_gain=gain,
        )
        return out, truth

    def frames(self, t0: float, n: int, fps: float) -> list[tuple[np.ndarray, SceneTruth]]:
        """``n`` consecutive frames from ``t0`` at ``fps``."""
        return [self.frame_at(t0 + i / fps) for i in range(n)]
