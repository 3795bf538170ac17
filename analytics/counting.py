"""Counting: people and vehicles per ROI (zone test on a box's bottom-centre, like Frigate),
crowd density, and line-crossing counts per direction over a short burst tracked with Norfair.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from analytics.types import (
    PEOPLE_ROI_KINDS,
    PERSON,
    STATIC_OBJECT,
    VEHICLE_CLASSES,
    VEHICLE_ROI_KINDS,
    CountingLine,
    Detection,
    RegionOfInterest,
    RoiCount,
)

logger = logging.getLogger(__name__)


@dataclass
class Counts:
    people: int
    vehicles: dict[str, int]
    bicycles: int
    rois: list[RoiCount] = field(default_factory=list)
    people_standing: int = 0
    vehicles_parked: int = 0
    static_objects: int = 0


def _in_roi(det: Detection, roi: RegionOfInterest, width: int, height: int) -> bool:
    return roi.polygon.contains(det.bottom_center, width, height)


def _dwell(det: Detection, ts: float | None) -> float:
    if not det.still or det.since is None or ts is None:
        return 0.0
    return max(0.0, float(ts) - det.since)


def _by_class(vehicles: list[Detection], ts: float | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for d in vehicles:
        if d.still:
            out[d.label] = round(max(out.get(d.label, 0.0), _dwell(d, ts)), 1)
    return out


def count_objects(
    detections: Sequence[Detection],
    rois: Sequence[RegionOfInterest],
    width: int,
    height: int,
    ts: float | None = None,
) -> Counts:
    """People (whole frame, or inside crowd/any ROIs when any are configured), vehicles by class
    (inside road/any/no_parking ROIs when configured), how many of them stand still / are
    parked (``Detection.still``), static objects (label ``object``), and per ROI the same with
    crowd density and the longest dwell (``ts - Detection.since``, seconds) of a parked
    vehicle and of a static object."""
    crowd_rois = [r for r in rois if r.kind in PEOPLE_ROI_KINDS]
    road_rois = [r for r in rois if r.kind in VEHICLE_ROI_KINDS]

    def counted(det: Detection, zones: list[RegionOfInterest]) -> bool:
        return not zones or any(_in_roi(det, z, width, height) for z in zones)

    people = [d for d in detections if d.label == PERSON and counted(d, crowd_rois)]
    vehicles = {c: 0 for c in VEHICLE_CLASSES}
    parked = 0
    for d in detections:
        if d.label in vehicles and counted(d, road_rois):
            vehicles[d.label] += 1
            parked += int(d.still)
    bicycles = sum(1 for d in detections if d.label == "bicycle" and counted(d, road_rois))

    roi_counts: list[RoiCount] = []
    for roi in rois:
        inside = [d for d in detections if _in_roi(d, roi, width, height)]
        in_people = [d for d in inside if d.label == PERSON]
        in_veh = [d for d in inside if d.label in VEHICLE_CLASSES]
        in_obj = [d for d in inside if d.label == STATIC_OBJECT]
        n_people = len(in_people)
        if roi.area_m2:
            density, unit = 100.0 * n_people / roi.area_m2, "people_per_100m2"
        else:
            density, unit = float(n_people), "people_per_roi"
        roi_counts.append(
            RoiCount(
                roi.name,
                n_people,
                len(in_veh),
                round(density, 3),
                unit,
                standing=sum(1 for d in in_people if d.still),
                parked=sum(1 for d in in_veh if d.still),
                dwell_s=round(max((_dwell(d, ts) for d in in_veh), default=0.0), 1),
                objects=len(in_obj),
                object_dwell_s=round(max((_dwell(d, ts) for d in in_obj), default=0.0), 1),
                kind=roi.kind,
                dwell_by_class=_by_class(in_veh, ts),
            )
        )
    return Counts(
        people=len(people),
        vehicles=vehicles,
        bicycles=bicycles,
        rois=roi_counts,
        people_standing=sum(1 for d in people if d.still),
        vehicles_parked=parked,
        static_objects=sum(1 for d in detections if d.label == STATIC_OBJECT),
    )


# --------------------------------------------------------------------------------------------
# line crossing


def _side(a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> float:
    """> 0 when p is right of a->b as seen on screen (y down), < 0 when left."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def _segments_intersect(p1, p2, a, b) -> bool:  # type: ignore[no-untyped-def]
    d1, d2 = _side(a, b, p1), _side(a, b, p2)
    d3, d4 = _side(p1, p2, a), _side(p1, p2, b)
    return (d1 * d2 < 0) and (d3 * d4 <= 0)


class LineCrossingCounter:
    """Tracks detections across the frames of one burst with Norfair and counts crossings.

    Feed each frame's detections in order with :meth:`update`; read :attr:`counts`
    (``{line name: {direction name: n}}``). Each track counts at most once per line and
    direction. Tracks follow the bottom-centre point; ``max_step`` (fraction of the frame
    diagonal) is how far an object may move between two frames of the burst.
    """

    def __init__(
        self,
        lines: Sequence[CountingLine],
        width: int,
        height: int,
        labels: Iterable[str] | None = None,
        max_step: float = 0.12,
    ) -> None:
        from norfair import Tracker

        self.lines = list(lines)
        self.width, self.height = width, height
        self.labels = set(labels) if labels is not None else None
        diag = float(np.hypot(width, height))
        self._tracker = Tracker(
            distance_function="euclidean",
            distance_threshold=max_step * diag,
            hit_counter_max=4,
            initialization_delay=0,
            pointwise_hit_counter_max=4,
        )
        self._px_lines = [ln.to_pixels(width, height) for ln in self.lines]
        self._last: dict[int, tuple[float, float]] = {}
        self._counted: set[tuple[int, int, int]] = set()
        self.counts: dict[str, dict[str, int]] = {
            ln.name: {ln.directions[0]: 0, ln.directions[1]: 0} for ln in self.lines
        }

    def update(self, detections: Sequence[Detection]) -> None:
        from norfair import Detection as NfDetection

        nf = [
            NfDetection(points=np.array([d.bottom_center], dtype=np.float64), label=d.label)
            for d in detections
            if self.labels is None or d.label in self.labels
        ]
        tracked = self._tracker.update(detections=nf)
        for obj in tracked:
            if obj.last_detection is None or obj.hit_counter <= 0:
                continue
            cur = tuple(float(v) for v in obj.last_detection.points[0])
            prev = self._last.get(obj.id)
            self._last[obj.id] = cur  # type: ignore[assignment]
            if prev is None or prev == cur:
                continue
            for li, (ln, (a, b)) in enumerate(zip(self.lines, self._px_lines, strict=True)):
                if not _segments_intersect(prev, cur, a, b):
                    continue
                direction = 0 if _side(a, b, prev) < 0 < _side(a, b, cur) else 1
                key = (obj.id, li, direction)
                if key in self._counted:
                    continue
                self._counted.add(key)
                self.counts[ln.name][ln.directions[direction]] += 1


def count_line_crossings(
    detections_per_frame: Sequence[Sequence[Detection]],
    lines: Sequence[CountingLine],
    width: int,
    height: int,
    labels: Iterable[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Crossings per line and direction over a burst (detections of consecutive frames)."""
    counter = LineCrossingCounter(lines, width, height, labels)
    for dets in detections_per_frame:
        counter.update(dets)
    return counter.counts
