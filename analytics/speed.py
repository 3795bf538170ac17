"""Object speeds over a burst, in km/h, from the camera's per-row scale (balap liar signal).

Detections of consecutive burst frames are tracked with Norfair (bottom-centre points, like the
line-crossing counter); a track's speed is the median of its step speeds: the ground distance
between successive points (metres from the perspective's metres-per-pixel along the way, which
changes with the row) over the time between them (``frame_interval_s`` per frame).

The per-row scale holds across the picture; movement towards or away from the camera is
foreshortened, so speeds along the view direction are under-estimated (an alert on them errs
on the quiet side). Without a calibrated perspective (marks or a learned fit) no speed is
reported: the default pole-camera guess is not a measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from analytics.types import Detection

MIN_HITS = 3
"""A track needs this many detections in the burst before it has a speed."""
MAX_METRES_PER_PX = 0.07
"""Points where one pixel is more than this on the ground (a person under ~24 px: far away,
near the horizon) are not measured: a few pixels of box jitter there are metres."""
MIN_STRAIGHTNESS = 0.7
"""A track's net displacement over its path length: below it the track is jitter or jumps
between objects, not something driving through."""


class SpeedTracker:
    """Feed each frame's detections with :meth:`update`; read :meth:`speeds_kmh`."""

    def __init__(
        self,
        width: int,
        height: int,
        metres_per_px: Callable[[float], float],
        frame_interval_s: float,
        max_step: float = 0.2,
    ) -> None:
        from norfair import Tracker

        if not frame_interval_s > 0:
            raise ValueError("frame_interval_s must be > 0")
        self.width, self.height = width, height
        self.metres_per_px = metres_per_px
        self.dt = float(frame_interval_s)
        self._tracker = Tracker(
            distance_function="euclidean",
            distance_threshold=max_step * float(np.hypot(width, height)),
            hit_counter_max=3,
            initialization_delay=0,
        )
        self._frame = 0
        self._tracks: dict[int, list[tuple[int, float, float]]] = {}  # id -> (frame, x, y)

    def update(self, detections: Sequence[Detection]) -> None:
        from norfair import Detection as NfDetection

        nf = [
            NfDetection(points=np.array([d.bottom_center], dtype=np.float64), label=d.label)
            for d in detections
        ]
        for obj in self._tracker.update(detections=nf):
            last = obj.last_detection
            if last is None or obj.hit_counter <= 0 or last.points is None:
                continue
            x, y = (float(v) for v in last.points[0])
            if self.metres_per_px(y) > MAX_METRES_PER_PX:
                continue
            pts = self._tracks.setdefault(obj.id, [])
            if pts and pts[-1][0] == self._frame:
                continue
            if pts and (pts[-1][1], pts[-1][2]) == (x, y):
                continue  # not matched this frame (Norfair keeps its last detection)
            pts.append((self._frame, x, y))
        self._frame += 1

    def _metres(self, a: tuple[float, float], b: tuple[float, float], steps: int = 8) -> float:
        """Ground distance along the straight segment a->b (the scale changes with the row)."""
        ys = np.linspace(a[1], b[1], steps + 1)
        step = float(np.hypot(b[0] - a[0], b[1] - a[1])) / steps
        return sum(step * self.metres_per_px(0.5 * (ys[k] + ys[k + 1])) for k in range(steps))

    def speeds_kmh(self) -> list[float]:
        """Speeds of the straight tracks (``MIN_STRAIGHTNESS``) with at least ``MIN_HITS``
        measurable points (``MAX_METRES_PER_PX``), fastest first: the median
        of a track's step speeds (ground distance between successive points over the time
        between them), so one wrong association (a jump to another object) does not make a
        racer."""
        out = []
        for pts in self._tracks.values():
            if len(pts) < MIN_HITS:
                continue
            metres = [self._metres(a[1:], b[1:]) for a, b in zip(pts[:-1], pts[1:], strict=True)]
            if self._metres(pts[0][1:], pts[-1][1:]) < MIN_STRAIGHTNESS * sum(metres):
                continue
            steps = [
                m / ((b[0] - a[0]) * self.dt)
                for m, a, b in zip(metres, pts[:-1], pts[1:], strict=True)
            ]
            out.append(round(float(np.median(steps)) * 3.6, 1))
        return sorted(out, reverse=True)
