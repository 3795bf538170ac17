"""Sample slots: when each camera is due, shared by the local pool and the Celery scheduler.

A camera's slots are aligned to the clock at a fixed per-camera offset within its interval:
``offset + k * interval`` (epoch seconds). The offset comes from the camera id by Fibonacci
hashing (the fractional part of ``id * golden ratio``), so cameras with consecutive ids are
spread evenly over the whole interval — 1,000 cameras at 60 s fill every second of the minute
— and the same camera gets the same slots in every process: two schedulers, or the local pool
and Celery, pick identical slots and the store (unique camera + slot) keeps each sample once.
"""

from __future__ import annotations

import logging
import math

logger = logging.getLogger(__name__)

_PHI_FRACTION = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...: consecutive multiples spread evenly


def slot_offset(camera_id: int, interval_s: float) -> float:
    """The camera's offset within its interval, in [0, interval_s), to the millisecond."""
    interval = max(1.0, float(interval_s))
    frac = (int(camera_id) * _PHI_FRACTION) % 1.0
    return round(frac * interval, 3) % interval


def slot_for(camera_id: int, interval_s: float, now: float) -> float:
    """The camera's current slot: the latest slot at or before ``now`` (epoch seconds)."""
    interval = max(1.0, float(interval_s))
    offset = slot_offset(camera_id, interval)
    return round(math.floor((now - offset) / interval) * interval + offset, 3)


def next_slot(camera_id: int, interval_s: float, after: float) -> float:
    """The camera's first slot at or after ``after`` (epoch seconds)."""
    slot = slot_for(camera_id, interval_s, after)
    if slot < after:
        slot = round(slot + max(1.0, float(interval_s)), 3)
    return slot
