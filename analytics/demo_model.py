"""The one model of the demo city: how busy each demo camera is at a local time.

Both halves of a demo read this module, so a fresh demo agrees with itself:

- the camera simulator's synthetic scenes (``analytics.synthetic``, served by
  ``ingestion.simulator``) show ``level × full scene`` movers at the wall-clock time;
- the seeded history (``store.seed``) writes, for every camera and hour, what the live
  pipeline measures from that camera's scene at that level (``MEASURED_FULL``), with noise.

``MEASURED_FULL`` are the hourly means the local pipeline stored from each scene kind shown at
full activity (``pantau run`` on this box, 12 simulated cameras, 60 s sampling, 14 samples a
camera; measured 2026-11-29, see README "Demo data"); ``WATER_VEHICLES`` is what it reads as
vehicles from water on the road whatever the activity (ripples in the flood scene; measured
over the old 15-minute flood cycle, about 60 % of the road under water on average). Re-measure them when
the detectors or the scenes change. The demo video is real footage: it plays the same at every
hour, so its history is flat.

Pure functions of (local hour, weekday): no clock, database or I/O here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

#: scene kinds a demo camera can be given (``video`` plays a file; counted as a crowd scene)
SCENE_KINDS = ("street", "crowd", "flood", "quiet", "video")

#: what the pipeline stores per hour from a scene at full activity:
#: (vehicles in view, people in view, line crossings per sample, in + out)
MEASURED_FULL: dict[str, tuple[float, float, float]] = {
    "street": (1.87, 4.67, 0.86),
    "crowd": (1.75, 15.64, 0.0),
    "flood": (0.0, 2.0, 0.0),
    "quiet": (0.0, 0.0, 0.0),
    "video": (0.0, 10.21, 0.0),
}
#: read from a scene at any activity: (vehicles, people)
WATER_VEHICLES = 0.75
#: the mean share of the road under water behind ``WATER_VEHICLES``
WATER_VEHICLES_AT = 0.6
#: scenes whose activity does not follow the clock
CONSTANT = frozenset({"video", "quiet"})


def _raw_traffic(h: np.ndarray, work: np.ndarray) -> np.ndarray:
    morning = np.exp(-0.5 * ((h - 7.5) / 1.2) ** 2)
    evening = np.exp(-0.5 * ((h - 17.3) / 1.6) ** 2)
    midday = 0.55 * np.exp(-0.5 * ((h - 12.5) / 3.0) ** 2)
    night = 0.08
    weekday_curve = night + 0.95 * morning + 1.0 * evening + midday
    weekend_curve = (
        night + 0.35 * morning + 0.55 * evening + 0.9 * np.exp(-0.5 * ((h - 14) / 3.5) ** 2)
    )
    return work * weekday_curve + (1 - work) * weekend_curve


def _raw_crowd(h: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    evening = np.exp(-0.5 * ((h - 19.5) / 2.0) ** 2)
    afternoon = 0.5 * np.exp(-0.5 * ((h - 16) / 2.0) ** 2)
    morning = 0.3 * np.exp(-0.5 * ((h - 6.5) / 1.0) ** 2)  # morning exercise at BKB
    return (0.05 + evening + afternoon + morning) * np.where(weekend, 1.7, 1.0)


_GRID_H = np.tile(np.arange(0, 24, 0.25), 7)
_GRID_W = np.repeat(np.arange(7), 96)
_TRAFFIC_PEAK = float(_raw_traffic(_GRID_H, (_GRID_W < 5).astype(float)).max())
_CROWD_PEAK = float(_raw_crowd(_GRID_H, _GRID_W >= 5).max())


def traffic_level(hour_local, weekday):
    """Relative traffic (0..1, 1 = the week's busiest moment) by local hour (may be
    fractional) and weekday (0 = Monday): commuter peaks on working days."""
    h = np.asarray(hour_local, dtype=float)
    work = (np.asarray(weekday) < 5).astype(float)
    out = _raw_traffic(h, work) / _TRAFFIC_PEAK
    return float(out) if out.ndim == 0 else out


def crowd_level(hour_local, weekday):
    """Relative crowd (0..1): evenings and weekends at the riverfront and plazas."""
    h = np.asarray(hour_local, dtype=float)
    out = _raw_crowd(h, np.asarray(weekday) >= 5) / _CROWD_PEAK
    return float(out) if out.ndim == 0 else out


def scene_kinds(tag_lists: list, has_video: bool = False) -> list[str]:
    """The scene each demo camera shows, for the cameras in code order (``tag_lists``: each
    camera's tags): flood cameras at even positions get the flood scene, crowd cameras a crowd
    (every second one the demo video when there is one), every seventh other one a quiet
    scene, the rest a street. ``pantau run``'s simulator and the seeded history both use it."""
    kinds = []
    crowd_seen = 0
    for i, tags in enumerate(tag_lists):
        tags = set(tags or [])
        if "flood" in tags and i % 2 == 0:
            kinds.append("flood")
        elif "crowd" in tags:
            kinds.append("video" if has_video and crowd_seen % 2 == 1 else "crowd")
            crowd_seen += 1
        else:
            kinds.append("quiet" if i % 7 == 6 else "street")
    return kinds


def levels(hour_local, weekday) -> tuple:
    """(vehicle level, people level) at a local hour and weekday."""
    return traffic_level(hour_local, weekday), crowd_level(hour_local, weekday)


def expected(kind: str, hour_local, weekday, shown=None, water=None) -> tuple:
    """What the live pipeline should store for a ``kind`` scene at that local time:
    (vehicles in view, people in view, line crossings per sample). ``shown``: a function
    (vehicle level, people level) -> (share of the scene's vehicles shown, share of its
    people shown) for a scene whose movers are few (``shown_shares``); default: the levels.
    ``water``: the share of the road under water (flood scenes read ripples as vehicles)."""
    v_full, p_full, flow_full = MEASURED_FULL[kind]
    v_floor = 0.0
    if kind == "flood" and water is not None:
        v_floor = WATER_VEHICLES * np.clip(np.asarray(water) / WATER_VEHICLES_AT, 0, 1)
    if kind in CONSTANT:
        one = np.ones_like(np.asarray(hour_local, dtype=float))
        return v_floor + v_full * one, p_full * one, flow_full * one
    tv, tp = levels(hour_local, weekday)
    sv, sp = shown(tv, tp) if shown is not None else (tv, tp)
    return v_floor + v_full * sv, p_full * sp, flow_full * sv


def shown_shares(labels: list[str], ranks: list[float]):
    """For a scene with movers ``labels`` and their thinning ``ranks``: a function of the
    (vehicle level, people level) arrays giving the share of its vehicles and of its people
    that are shown — few movers make steps (at night one person of 24, not 0.7)."""
    v_ranks = np.array([r for r, lb in zip(ranks, labels, strict=True) if lb != "person"])
    p_ranks = np.array([r for r, lb in zip(ranks, labels, strict=True) if lb == "person"])

    def share(level, pool: np.ndarray):
        level = np.asarray(level, dtype=float)
        if not len(pool):
            return np.zeros_like(level)
        return (pool[None, :] < level.reshape(-1, 1)).mean(axis=1).reshape(level.shape)

    def at(v_level, p_level):
        return share(v_level, v_ranks), share(p_level, p_ranks)

    return at


def activity_clock(
    epoch_s: float, utc_offset_hours: float = 7.0
) -> Callable[[float], tuple[float, float]]:
    """``t -> (vehicle level, people level)`` for a scene whose time 0 is the Unix time
    ``epoch_s``: what a simulated camera shows follows the city's clock."""

    def at(t: float) -> tuple[float, float]:
        local = datetime.fromtimestamp(epoch_s + t, UTC) + timedelta(hours=utc_offset_hours)
        hour = local.hour + local.minute / 60 + local.second / 3600
        v, p = levels(hour, local.weekday())
        return float(v), float(p)

    return at


# --------------------------------------------------------------------------------------------
# weather: one deterministic rain for the seeded history and the live flood scenes
WEATHER_SEED = 20261123
WET_MONTHS = (11, 12, 1, 2, 3, 4)
STORM_HOURS = 4  # a storm rains for 1-4 hours, decaying
_storms: dict[int, tuple[float, int]] = {}


def _storm(hour_index: int, offset_hours: float) -> tuple[float, int]:
    """(peak mm/h, hours) of the storm starting in the UTC hour ``hour_index`` (Unix hours),
    or (0, 0): a pure function of the hour (wet season Nov-Apr, afternoon convection)."""
    hit = _storms.get(hour_index)
    if hit is not None:
        return hit
    local = datetime.fromtimestamp(hour_index * 3600, UTC) + timedelta(hours=offset_hours)
    wet = local.month in WET_MONTHS
    p = (0.07 if wet else 0.025) * (1 + 1.5 * math.exp(-0.5 * ((local.hour - 15) / 2.5) ** 2))
    rng = np.random.default_rng((WEATHER_SEED, hour_index))
    out = (0.0, 0)
    if rng.random() < p:
        out = (float(rng.gamma(2.0, 12.0 if wet else 7.0)), int(rng.integers(1, STORM_HOURS + 1)))
    if len(_storms) > 200_000:
        _storms.clear()
    _storms[hour_index] = out
    return out


def rain_at(hour_index: int, offset_hours: float = 7.0) -> float:
    """Rain (mm/h) in the UTC hour ``hour_index``: the storms that started up to 3 h before."""
    total = 0.0
    for k in range(STORM_HOURS):
        peak, hours = _storm(hour_index - k, offset_hours)
        if k < hours:
            total += peak * (0.6**k)
    return total


def rain_series(hours_utc: list[datetime], offset_hours: float = 7.0) -> np.ndarray:
    """Hourly rain (mm/h) for UTC hour starts."""
    return np.array([rain_at(int(h.timestamp() // 3600), offset_hours) for h in hours_utc])


def water_from_rain(rain: np.ndarray, susceptibility: float) -> np.ndarray:
    """Share of a road under water: rain accumulates and drains with a ~3 h time constant."""
    level = np.zeros_like(rain, dtype=float)
    acc = 0.0
    for i, r in enumerate(rain):
        acc = acc * math.exp(-1 / 3.0) + r
        level[i] = acc
    return np.clip((level - 18.0) / 60.0 * susceptibility, 0, 1)


def susceptibility(index: int) -> float:
    """How readily a demo camera's road floods (0.8-1.6), fixed by its position."""
    return 0.8 + 0.8 * float(np.random.default_rng((WEATHER_SEED, 7, index)).random())


def water_clock(
    epoch_s: float, index: int, utc_offset_hours: float = 7.0
) -> Callable[[float], float]:
    """``t -> share of the road under water`` for a flood scene whose time 0 is the Unix time
    ``epoch_s``: the water of the same weather as the seeded history (the last 48 hours of
    rain, accumulated), constant within an hour."""
    sus = susceptibility(index)
    cache: dict[int, float] = {}

    def at(t: float) -> float:
        hour = int((epoch_s + t) // 3600)
        if hour not in cache:
            rain = np.array([rain_at(h, utc_offset_hours) for h in range(hour - 47, hour + 1)])
            cache.clear()
            cache[hour] = float(water_from_rain(rain, sus)[-1])
        return cache[hour]

    return at


def thinning_rank(seed: int, n: int) -> list[float]:
    """A fixed rank in [0, 1) per mover of a scene: a mover is shown while its rank is below
    the scene's level, so ``level × movers`` are shown on average and the same ones stay."""
    rng = np.random.default_rng(seed + 2000)
    ranks = rng.permutation(n).astype(float)
    return [(r + 0.5) / max(n, 1) for r in ranks] if n else []


__all__ = [
    "CONSTANT",
    "WATER_VEHICLES",
    "MEASURED_FULL",
    "SCENE_KINDS",
    "activity_clock",
    "crowd_level",
    "expected",
    "levels",
    "rain_series",
    "susceptibility",
    "water_clock",
    "water_from_rain",
    "scene_kinds",
    "shown_shares",
    "thinning_rank",
    "traffic_level",
]
