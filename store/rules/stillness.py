"""Things that stand still (issue 13): the ``vehicle_dwell`` (illegal parking) and
``illegal_dumping`` rules, read from a camera sample's per-ROI measurements.

The analytics report per ROI how long the longest-parked vehicle has stood (``dwell_s``, per
class in ``dwell_by``) and how many static objects that are neither people nor vehicles are
there and for how long (``objects``, ``object_dwell_s``); ingestion keeps them in the
observation's ``extra.rois`` (``ingestion.process.observation_row``). Here each watched ROI
becomes one :class:`Reading` in minutes, subject ``roi:CAMERA/roi``, with ``since`` = when
the vehicle / object arrived, so an alert starts when it did, not when the threshold passed.

A whole-camera scope (city, tag, kecamatan, camera) watches the ROIs of kind ``no_parking``
(dwell) or ``no_dumping`` (dumping); a ROI-scoped rule watches its one ROI whatever its kind.
A sample without counts (a cold camera) gives no reading: an unknown is not an all-clear.
Pure: no session, no I/O; ``ingestion.alerts`` feeds the readings to the shared engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from store.rules.catalog import LoadedRule
from store.rules.engine import Reading, Threshold
from store.rules.schema import Kind
from store.rules.text import UNITS

DWELL = str(Kind.DWELL)
DUMPING = str(Kind.DUMPING)
#: the ROI kind a whole-camera rule of each kind watches
WATCHED = {DWELL: "no_parking", DUMPING: "no_dumping"}


def _local(ts: datetime, tz: str | None) -> str:
    if tz:
        from zoneinfo import ZoneInfo

        ts = ts.astimezone(ZoneInfo(tz))
    return ts.strftime("%H:%M")


def measure(lr: LoadedRule, roi: dict[str, Any]) -> tuple[float, int]:
    """(seconds, objects) the rule compares for one ROI's stored counts: the longest dwell of
    a parked vehicle of the rule's classes, or the longest stay of a static object when at
    least ``min_objects`` are there (else 0)."""
    if lr.kind == DWELL:
        classes = set(lr.rule.params.vehicle_classes)
        by = roi.get("dwell_by")
        if isinstance(by, dict) and by:
            secs = max((float(v) for k, v in by.items() if k in classes), default=0.0)
        elif len(classes) == 4:
            secs = float(roi.get("dwell_s") or 0.0)  # no breakdown stored: any class
        else:
            secs = 0.0
        return max(0.0, secs), int(roi.get("parked") or 0)
    objects = int(roi.get("objects") or 0)
    if objects < lr.rule.params.min_objects:
        return 0.0, objects
    return max(0.0, float(roi.get("object_dwell_s") or 0.0)), objects


def readings(
    lr: LoadedRule,
    thresholds: list[Threshold],
    camera: tuple[int, str, str],
    ts: datetime,
    observation: dict[str, Any],
    roi: str | None = None,
    on_open: Callable[[Any], None] | None = None,
    tz: str | None = None,
) -> list[Reading]:
    """Readings of one sample for a dwell or dumping rule. ``camera``: (id, code, name);
    ``roi``: the ROI of a ROI-scoped rule (None: the camera's ROIs of the watched kind)."""
    extra = observation.get("extra") or {}
    if extra.get("cold") or observation.get("people", 0) is None:
        return []
    cam_id, code, name = camera
    out = []
    for r in extra.get("rois") or []:
        if not isinstance(r, dict) or "name" not in r:
            continue
        if roi is not None and r["name"] != roi:
            continue
        if roi is None and r.get("kind") != WATCHED[lr.kind]:
            continue
        secs, n = measure(lr, r)
        label = f"{name} ({r['name']})"
        since = ts - timedelta(seconds=secs) if secs > 0 else None
        out.append(
            Reading(
                subject=f"roi:{code}/{r['name']}"[:200],
                ts=ts,
                measure=secs / 60.0,
                thresholds=thresholds,
                unit=UNITS[lr.kind],
                decimals=0,
                texts={
                    "name": label,
                    "roi": str(r["name"]),
                    "since": _local(since, tz) if since is not None else "—",
                    "objects": str(n),
                },
                since=since,
                alert={"subject_type": "camera", "subject_id": code, "camera_id": cam_id},
                on_open=on_open,
            )
        )
    return out
