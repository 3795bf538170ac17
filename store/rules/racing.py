"""The ``racing`` rule kind (balap liar): objects tracked faster than a speed at night.

A camera that takes fast bursts (``"burst": {"frames": 10, "interval_s": 0.1, "speed": true}``)
with a calibrated perspective stores the tracked objects' speeds in km/h with each sample
(``observations.extra.speeds_kmh``, fastest first; ``analytics.speed``). The rule compares the
fastest one with its levels (km/h) and opens only when

- the sample was taken in the night window (``params.night_start_hour`` to
  ``params.night_end_hour``, local hours of the city's time zone, ``PANTAU_TIMEZONE``), and
- at least ``params.min_tracks`` objects of the burst went at least the first level's speed.

Everything else (minimum duration, escalation, hysteresis, cooldown, one alert per key) is the
shared state machine (``store.rules.engine``). The model lives here; ``store.rules.schema``
lists it with the other kinds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from store.rules.schema import Kind, _RuleBase


class RacingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    night_start_hour: int = Field(
        default=22, ge=0, le=23, description="Local hour the night window starts (inclusive)."
    )
    night_end_hour: int = Field(
        default=4, ge=0, le=23, description="Local hour the night window ends (exclusive)."
    )
    min_tracks: int = Field(
        default=2,
        ge=1,
        le=50,
        description="At least this many objects of one burst at or above the first level.",
    )

    @model_validator(mode="after")
    def _window(self) -> RacingParams:
        if self.night_start_hour == self.night_end_hour:
            raise ValueError(
                "params.night_end_hour: the night window needs different start and end hours"
            )
        return self


class RacingRule(_RuleBase):
    """The fastest tracked object of a burst, in km/h (levels.at: km/h)."""

    kind: Literal[Kind.RACING] = Kind.RACING
    params: RacingParams = Field(default_factory=RacingParams)

    @model_validator(mode="after")
    def _range(self) -> RacingRule:
        for i, lv in enumerate(self.levels):
            if not 10 <= float(lv.at) <= 300:
                raise ValueError(f"levels.{i}.at: a speed in km/h between 10 and 300")
        return self


def at_night(params: RacingParams, ts: datetime, zone: ZoneInfo) -> bool:
    """Is ``ts`` inside the night window (local hours; the window may wrap past midnight)?"""
    hour = ts.astimezone(zone).hour
    start, end = params.night_start_hour, params.night_end_hour
    return start <= hour < end if start < end else hour >= start or hour < end


def racing_measure(
    params: RacingParams, first_level_kmh: float, extra: dict[str, Any] | None, ts: datetime,
    zone: ZoneInfo,
) -> tuple[float, bool, int] | None:  # fmt: skip
    """(fastest km/h, may open, objects at/above the first level) of one sample; None when the
    sample measured no speeds (no burst, no calibration, nothing tracked)."""
    speeds = (extra or {}).get("speeds_kmh")
    if not isinstance(speeds, list) or not speeds:
        return None
    try:
        values = sorted((float(v) for v in speeds), reverse=True)
    except (TypeError, ValueError):
        return None
    fast = sum(1 for v in values if v >= first_level_kmh)
    return values[0], fast >= params.min_tracks and at_night(params, ts, zone), fast
