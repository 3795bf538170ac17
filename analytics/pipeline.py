"""Per-camera analyser: motion gate -> detector (only when something moved) -> counts per ROI,
flood coverage; bursts add line-crossing counts tracked with Norfair.

One ``Analyser`` per camera (it keeps the motion background, the detector's background model
and the last result). It does no I/O: the caller owns frames, timestamps and storage.

    analyser = Analyser(camera_json_config, dry_reference=ref_png_as_bgr)
    result = analyser.analyse(frame, ts=time.time())        # FrameResult
    burst = analyser.analyse_burst(frames, ts=time.time())  # + line_crossings
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analytics.counting import LineCrossingCounter, count_objects
from analytics.detectors import Detector, make_detector
from analytics.flood import DryReference, water_coverage
from analytics.motion import MotionGate, MotionResult
from analytics.types import AnalyticsConfig, Detection, FrameResult, validate_frame

logger = logging.getLogger(__name__)


class _Timer:
    def __init__(self, timings: dict[str, float], stage: str) -> None:
        self.timings, self.stage = timings, stage

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + round(
            (time.perf_counter() - self.t0) * 1000, 3
        )


class Analyser:
    """Analyses successive frames of one camera.

    ``config``: :class:`AnalyticsConfig` or the camera row's JSON dict (see ``analytics.types``).
    ``detector``: a :class:`Detector`, a registry name, or ``None`` for ``config.detector``.
    ``dry_reference``: :class:`DryReference` or a dry BGR frame, for flood coverage.
    ``always_detect``: skip the motion gate (benchmarks, or detectors that need every frame).
    ``quiet_observe_every``: on samples where nothing moved, the detector's background model
    learns from one in this many (1 = every quiet sample). Quiet frames match the background
    already, so learning from all of them buys little; at the production cadence (one sample
    per camera per minute) 2 still re-learns slow light drift every couple of minutes, and the
    motion gate resets the model on a real lighting change.
    """

    def __init__(
        self,
        config: AnalyticsConfig | Mapping[str, Any] | None = None,
        detector: Detector | str | None = None,
        model_path: str | os.PathLike[str] | None = None,
        dry_reference: DryReference | np.ndarray | None = None,
        motion_gate: MotionGate | None = None,
        always_detect: bool = False,
        quiet_observe_every: int = 2,
    ) -> None:
        self.config = (
            config if isinstance(config, AnalyticsConfig) else AnalyticsConfig.from_dict(config)
        )
        if isinstance(detector, Detector):
            self.detector = detector
        else:
            self.detector = make_detector(
                detector or self.config.detector, model_path or self.config.model_path
            )
        self.motion_gate = motion_gate or MotionGate()
        self.always_detect = always_detect
        self.quiet_observe_every = max(1, int(quiet_observe_every))
        self._quiet = 0
        self.dry_reference: DryReference | None = None
        if dry_reference is not None:
            self.set_dry_reference(dry_reference)
        self._last: FrameResult | None = None

    @property
    def name(self) -> str:
        return self.detector.name

    def set_dry_reference(self, reference: DryReference | np.ndarray) -> None:
        self.dry_reference = (
            reference if isinstance(reference, DryReference) else DryReference.from_image(reference)
        )

    def reset(self) -> None:
        """Forget backgrounds and the last result (camera moved, stream restarted)."""
        self.motion_gate.reset()
        self.detector.reset()
        self._last = None

    # ------------------------------------------------------------------

    def _measure(
        self, frame: np.ndarray, ts: float | None, motion: MotionResult, timings: dict[str, float]
    ) -> FrameResult:
        h, w = frame.shape[:2]
        with _Timer(timings, "detection"):
            dets = self.detector.detect(frame, motion.regions if motion.regions else None)
        with _Timer(timings, "counting"):
            counts = count_objects(dets, self.config.rois, w, h)
        result = FrameResult(
            ts=ts,
            analyser=self.name,
            people=counts.people,
            vehicles=counts.vehicles,
            bicycles=counts.bicycles,
            rois=counts.rois,
            motion_ratio=round(motion.ratio, 5),
            lighting_change=motion.lighting_change,
            detections=dets,
            timings_ms=timings,
        )
        if self.config.flood_region is not None:
            with _Timer(timings, "flood"):
                fr = water_coverage(frame, self.config.flood_region, self.dry_reference)
            result.water_coverage, result.water_confidence = fr.coverage, fr.confidence
        return result

    def analyse(self, frame: np.ndarray, ts: float | None = None) -> FrameResult:
        """Measure one sampled frame. If nothing moved since the previous sample the previous
        counts are returned with ``reused_from_previous=True`` (detection is skipped)."""
        t_start = time.perf_counter()
        validate_frame(frame)
        timings: dict[str, float] = {}
        with _Timer(timings, "motion"):
            motion = self.motion_gate.update(frame)
        if motion.lighting_change:
            # the detector's background is stale too; keep the last counts until it re-learns
            self.detector.reset()
            self.detector.observe(frame)
        if self._last is not None and (
            motion.lighting_change or (not motion.moving and not self.always_detect)
        ):
            if not motion.lighting_change:
                self._quiet += 1
                if self._quiet % self.quiet_observe_every == 0:
                    self.detector.observe(frame)  # keeps the background model current
            result = copy.copy(self._last)
            result.ts = ts
            result.motion_ratio = round(motion.ratio, 5)
            result.lighting_change = motion.lighting_change
            result.reused_from_previous = True
            result.line_crossings = {}
            result.timings_ms = timings
        else:
            result = self._measure(frame, ts, motion, timings)
            self._last = result
        timings["total"] = round((time.perf_counter() - t_start) * 1000, 3)
        return result

    def analyse_burst(self, frames: Sequence[np.ndarray], ts: float | None = None) -> FrameResult:
        """Analyse consecutive frames of a short burst (e.g. 2-5 s at 5-10 fps): counts come
        from the last frame, ``line_crossings`` from Norfair tracks across all of them."""
        if not frames:
            raise ValueError("analyse_burst needs at least one frame")
        t_start = time.perf_counter()
        first = validate_frame(frames[0], name="frames[0]")
        h, w = first.shape[:2]
        counter = LineCrossingCounter(self.config.lines, w, h) if self.config.lines else None
        timings: dict[str, float] = {}
        result: FrameResult | None = None
        for i, frame in enumerate(frames):
            validate_frame(frame, name=f"frames[{i}]")
            if frame.shape[:2] != (h, w):
                raise ValueError(
                    f"frames[{i}] is {frame.shape[1]}x{frame.shape[0]}, burst started at {w}x{h}"
                )
            with _Timer(timings, "motion"):
                motion = self.motion_gate.update(frame)
            if motion.lighting_change:
                self.detector.reset()
            result = self._measure(frame, ts, motion, timings) if i == len(frames) - 1 else None
            dets: list[Detection] = result.detections if result is not None else []
            if result is None:
                with _Timer(timings, "detection"):
                    dets = self.detector.detect(frame, motion.regions or None)
            if counter is not None:
                with _Timer(timings, "tracking"):
                    counter.update(dets)
        assert result is not None
        result.line_crossings = counter.counts if counter is not None else {}
        result.timings_ms = timings
        timings["total"] = round((time.perf_counter() - t_start) * 1000, 3)
        self._last = result
        return result
