"""Plausible sensor readings: a range and a maximum rate of change per sensor.

A gateway with a broken probe or a bit flip sends ``1e308`` or jumps 3 m in a minute; such a
reading must not be stored as a water level nor open a *siaga* alert. Each sensor has a
plausible ``[plausible_min, plausible_max]`` and a ``max_rate_per_min`` (units a minute) in the
``sensors`` table; a column left NULL takes the default for the sensor's ``kind``
(:data:`KIND_DEFAULTS`); a kind not listed there only gets :data:`FALLBACK` (no rate limit).
Set them per sensor in ``data/sensors.csv`` (``pantau seed``) or in the table.

The rate is measured against the newest earlier reading Pantau knows of (the sensor's
``last_value`` at ``last_seen_at``, then each accepted reading of the same payload, in time
order), over at least one minute; it applies to readings newer than the sensor's last one
(live data, the only readings that move alerts). Backfilled older readings get the range
check only. After a rejected spike the next readings are compared with the last accepted
value; the allowed change grows with the time since, so a real step (a recalibrated gauge)
passes after a while.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from store.models import Sensor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlausibleRange:
    low: float | None
    high: float | None
    max_rate_per_min: float | None


#: Defaults by sensor kind, in the kind's unit: water level in cm against the gauge's zero (rivers
#: in Palembang move a few cm an hour, a flash flood tens of cm in minutes), rain in mm/h (the
#: world's one-hour record is ~300 mm), air quality (PM2.5/PM10) in µg/m³, humidity in %,
#: temperature in °C.
KIND_DEFAULTS: dict[str, PlausibleRange] = {
    "water_level": PlausibleRange(-500.0, 3000.0, 60.0),
    "rainfall": PlausibleRange(0.0, 500.0, None),
    "air_quality": PlausibleRange(0.0, 2000.0, None),
    "humidity": PlausibleRange(0.0, 100.0, None),
    "temperature": PlausibleRange(-10.0, 60.0, 5.0),
}
FALLBACK = PlausibleRange(-1e6, 1e6, None)


def _num(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:g}"


def plausible_range(sensor: Sensor) -> PlausibleRange:
    """The sensor's own limits, each missing one from its kind's default."""
    default = KIND_DEFAULTS.get(sensor.kind or "", FALLBACK)
    return PlausibleRange(
        default.low if sensor.plausible_min is None else sensor.plausible_min,
        default.high if sensor.plausible_max is None else sensor.plausible_max,
        default.max_rate_per_min if sensor.max_rate_per_min is None else sensor.max_rate_per_min,
    )


def implausible(sensor: Sensor, items: list[tuple[int, datetime, float]]) -> dict[int, str]:
    """``items`` (payload index, UTC ts, value) of one sensor -> {index: reason} of the
    readings to reject. Pure: reads the sensor's limits and last reading, changes nothing."""
    limits = plausible_range(sensor)
    unit = sensor.unit or ""
    last_ts, last_value = sensor.last_seen_at, sensor.last_value
    if last_ts is not None and last_ts.tzinfo is None:
        last_ts = last_ts.replace(tzinfo=UTC)
    reasons: dict[int, str] = {}
    for index, ts, value in sorted(items, key=lambda item: (item[1], item[0])):
        low, high = limits.low, limits.high
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{_num(low, '-inf')}..{_num(high, 'inf')}"
            reasons[index] = (
                f"value {value:g} {unit} outside the plausible range {span} {unit} "
                f"of sensor {sensor.code}"
            )
            continue
        fresh = last_ts is None or ts > last_ts
        if fresh and limits.max_rate_per_min is not None and last_value is not None:
            minutes = max((ts - last_ts).total_seconds() / 60.0, 1.0)  # type: ignore[operator]
            rate = abs(value - last_value) / minutes
            if rate > limits.max_rate_per_min:
                reasons[index] = (
                    f"value {value:g} {unit} changes {rate:.4g} {unit}/min from {last_value:g} "
                    f"(at most {limits.max_rate_per_min:g} {unit}/min for sensor {sensor.code})"
                )
                continue
        if fresh:
            last_ts, last_value = ts, value
    return reasons
