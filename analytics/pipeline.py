"""Per-camera analyser: motion gate -> detector (only when something moved) -> counts per ROI,
flood coverage; bursts add line-crossing counts tracked with Norfair.

One ``Analyser`` per camera (it keeps the motion background, the detector's background model
and the last result). It does no I/O: the caller owns frames, timestamps and storage.

    analyser = Analyser(camera_json_config, dry_reference=ref_png_as_bgr)
    result = analyser.analyse(frame, ts=time.time())        # FrameResult
    burst = analyser.analyse_burst(frames, ts=time.time())  # + line_crossings

Portable state: everything carried from one sample of a camera to the next (motion-gate
background, the detector's background model, the last result, counters) serialises to at
most ``STATE_MAX_BYTES`` (64 KiB), so any worker can take a camera's next sample::

    blob = analyser.export_state()                 # bytes, versioned, no pickle
    other = Analyser(same_config)
    if not other.load_state(blob, frame_size=(w, h)):   # other version/config/size, corrupt
        other.warm_up(burst_of_3_frames_1s_apart)       # or count this sample as unknown

Frames may be :class:`analytics.imaging.ScaledFrame` (a reduced copy, full pixels on demand):
a quiet sample then never needs the full frame (the motion gate and the blob detector work from
a copy of at least :meth:`Analyser.reduced_size`); detection by other detectors, flood coverage
and bursts load it.

A detector that needs history (``blob``) counts nothing on a cold camera: the result has
``counts_known=False`` (store NULL counts), unless ``cold_start="history-free"``, which counts
with a detector that needs no history (MediaPipe or full-frame HOG; costly, ~0.1-1 s).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analytics.counting import LineCrossingCounter, count_objects
from analytics.detectors import Detector, make_detector, make_history_free_detector
from analytics.flood import DryReference, water_coverage
from analytics.imaging import ScaledFrame, as_array, shared_halvings
from analytics.motion import MotionGate, MotionResult, small_gray_size
from analytics.perspective import PERSPECTIVE_VERSION, Perspective, PerspectiveLearner, resolve
from analytics.speed import SpeedTracker
from analytics.state import (
    FORMAT_VERSION,
    STATE_MAX_BYTES,
    PackCache,
    StateError,
    decode_array,
    fingerprint,
    pack,
    peek,
    unpack,
)
from analytics.types import AnalyticsConfig, Detection, FrameResult, validate_frame

COLD_START_MODES = ("unknown", "history-free")
SETTLE_MIN_GAP_S = 10.0
"""A quiet sample right after one with motion is measured (not reused) only when samples
are at least this far apart (the sampling cadence, not the frames of a video)."""

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
    per camera per minute) 4 still re-learns slow light drift every few minutes (a drift big
    enough to read as motion is learnt at once), and the motion gate resets the model on a
    real lighting change.
    ``cold_start``: what a sample does when the detector has no usable history yet:
    ``"unknown"`` (default; cheap) reports ``counts_known=False``; ``"history-free"`` counts
    with :func:`analytics.detectors.make_history_free_detector` (``count_path``).
    """

    def __init__(
        self,
        config: AnalyticsConfig | Mapping[str, Any] | None = None,
        detector: Detector | str | None = None,
        model_path: str | os.PathLike[str] | None = None,
        dry_reference: DryReference | np.ndarray | None = None,
        motion_gate: MotionGate | None = None,
        always_detect: bool = False,
        quiet_observe_every: int = 4,
        cold_start: str = "unknown",
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
        self._settle = False
        if cold_start not in COLD_START_MODES:
            raise ValueError(f"cold_start must be one of {COLD_START_MODES}, got {cold_start!r}")
        self.cold_start = cold_start
        self.model_path = model_path or self.config.model_path
        self._history_free: Detector | None = None
        self.dry_reference: DryReference | None = None
        if dry_reference is not None:
            self.set_dry_reference(dry_reference)
        self._last: FrameResult | None = None
        self._frame_size: tuple[int, int] | None = None
        self._fingerprint: bytes | None = None
        self._pack_cache: PackCache = {}
        # a state loaded lazily: the detector's array sections, decoded on first use (a quiet
        # sample never touches the background model, so it never pays for decoding it)
        self._pending: dict[str, tuple[tuple[int, ...], int, bytes]] | None = None
        # perspective: marks from the config win, then what the camera's own blobs teach
        self.perspective_learner = PerspectiveLearner()
        self._size_models = _size_models(self.detector)
        sm = self._size_models[0] if self._size_models else None
        self._default_perspective = Perspective(
            "default", sm.a if sm else 0.03, sm.b if sm else 0.22
        )

    @property
    def name(self) -> str:
        return self.detector.name

    def perspective(self, frame_w: int, frame_h: int) -> Perspective:
        """The perspective this camera counts with now (marks > learned > default)."""
        return resolve(
            self.config.perspective,
            self.perspective_learner,
            self._default_perspective,
            frame_w,
            frame_h,
        )

    def calibration(self, frame_w: int, frame_h: int) -> dict[str, Any]:
        """What the camera is calibrated with (``source`` marks/learned/default, the
        learner's ``observations``, person height in px with the feet on the top and bottom
        rows)."""
        return self.perspective(frame_w, frame_h).describe(frame_h)

    def _apply_perspective(self, frame_w: int, frame_h: int) -> Perspective:
        p = self.perspective(frame_w, frame_h)
        for sm in self._size_models:
            sm.a, sm.b, sm.calibrated = p.a, p.b, p.source != "default"
        return p

    def _learn_perspective(self, frame_w: int, frame_h: int) -> None:
        """Feed the last detection's blobs to the learner: once per sample (a burst's frames
        at video rate are one observation of the scene, not many)."""
        src = _blob_source(self.detector)
        if src is not None and src.last_blobs:
            self.perspective_learner.observe(src.last_blobs, frame_w, frame_h)
            src.last_blobs = []

    @property
    def warm(self) -> bool:
        """True when the detector has enough history to count (always for detectors that
        need none)."""
        return not self.detector.needs_history or self.detector.warm

    @property
    def history_free_detector(self) -> Detector:
        if self._history_free is None:
            self._history_free = (
                self.detector
                if not self.detector.needs_history
                else make_history_free_detector(self.model_path)
            )
        return self._history_free

    def warm_up(self, frames: Sequence[np.ndarray]) -> None:
        """Learn a usable background from a short burst (e.g. 3 frames ~1 s apart: a
        temporal median, so people walking through drop out). The next :meth:`analyse`
        counts. Raises ValueError on bad frames or mixed sizes."""
        if not frames:
            raise ValueError("warm_up needs at least one frame")
        first = validate_frame(frames[0], name="frames[0]")
        size = (first.shape[1], first.shape[0])
        for i, f in enumerate(frames):
            validate_frame(f, name=f"frames[{i}]")
            if (f.shape[1], f.shape[0]) != size:
                raise ValueError(
                    f"frames[{i}] is {f.shape[1]}x{f.shape[0]}, burst started at {size[0]}x{size[1]}"
                )
        if self._frame_size not in (None, size):
            self.reset()
        self._materialize()
        self.detector.warm_up([self._det_frame(f) for f in frames])
        for f in frames:
            self.motion_gate.update(f)
        self._frame_size = size
        self._last = None  # the next sample measures

    def reduced_size(self, width: int, height: int) -> tuple[int, int]:
        """The smallest reduced copy (w, h) of a ``width`` x ``height`` frame from which a
        quiet sample is analysed exactly as from the full frame's own downscaled copies: what a
        :class:`ScaledFrame`'s ``small`` must at least be (the caller may decode a JPEG at
        1/2, 1/4 or 1/8 scale to get it)."""
        gw, gh = small_gray_size(width, height, self.motion_gate.width)
        dw, dh = (
            self.detector.reduced_size(width, height) if self.detector.accepts_scaled else (0, 0)
        )
        return max(gw, dw), max(gh, dh)

    def _det_frame(self, frame: np.ndarray | ScaledFrame) -> np.ndarray | ScaledFrame:
        """What the detector gets: a ScaledFrame only if it works from reduced copies."""
        return frame if self.detector.accepts_scaled else as_array(frame)

    # ------------------------------------------------------------------ portable state

    def state_fingerprint(self) -> bytes:
        """8 bytes naming everything that decides what a state means: the analytics config
        (ROIs, lines, flood, detector), detector and motion-gate parameters, format version."""
        if self._fingerprint is None:
            cfg = dataclasses.asdict(self.config)
            cfg.pop("model_path", None)
            self._fingerprint = fingerprint(
                {
                    "format": FORMAT_VERSION,
                    "perspective": PERSPECTIVE_VERSION,
                    "config": cfg,
                    "detector": self.detector.params(),
                    "gate": self.motion_gate.params(),
                    "quiet_observe_every": self.quiet_observe_every,
                    "always_detect": self.always_detect,
                }
            )
        return self._fingerprint

    def export_state(self) -> bytes:
        """Everything carried to this camera's next sample, as at most ``STATE_MAX_BYTES``
        bytes (format: :mod:`analytics.state`). Load it with :meth:`load_state` anywhere."""
        det_meta, det_arrays = self.detector.state()
        prepacked = dict(self._pending) if self._pending is not None else {}
        arrays = {} if self._pending is not None else {f"det.{k}": v for k, v in det_arrays.items()}
        gate = {f"gate.{k}": v for k, v in self.motion_gate.state().items()}
        meta: dict[str, Any] = {
            "an": {"quiet": self._quiet, "settle": self._settle},
            "det": det_meta,
            "last": self._last.to_state() if self._last is not None else None,
            "persp": self.perspective_learner.to_state(),
        }
        fp = self.state_fingerprint()
        blob = pack(
            fp,
            self._frame_size,
            meta,
            {**arrays, **gate},
            cache=self._pack_cache,
            prepacked=prepacked,
        )
        if len(blob) > STATE_MAX_BYTES:
            # only for pathological (noise-like) pictures: drop what is disposable: the motion
            # gate's background (its next sample just runs detection) and the foreground ages
            # (ghost healing restarts); then the last result's boxes
            arrays.pop("det.fg_age", None)
            prepacked.pop("det.fg_age", None)
            blob = pack(fp, self._frame_size, meta, arrays, prepacked=prepacked)
            if len(blob) > STATE_MAX_BYTES and meta["last"] is not None:
                meta["last"]["d"] = []
                blob = pack(fp, self._frame_size, meta, arrays, prepacked=prepacked)
            if len(blob) > STATE_MAX_BYTES:
                logger.warning("analysis state is %d bytes (> %d)", len(blob), STATE_MAX_BYTES)
        return blob

    def memory_bytes(self) -> int:
        """Rough bytes this analyser holds for its camera (background arrays, the export
        cache, the last result's boxes): what a per-process memory budget should count."""
        _, det = self.detector.state()
        n = sum(a.nbytes for a in det.values())
        n += sum(a.nbytes for a in self.motion_gate.state().values())
        n += sum(len(c[3]) for c in self._pack_cache.values())
        n += 2048 + (len(self._last.detections) * 120 if self._last is not None else 0)
        return n

    def load_state(self, blob: bytes, frame_size: tuple[int, int] | None = None) -> bool:
        """Restore a state from :meth:`export_state`. Returns False, leaving this analyser
        reset (cold), when the blob is of another format version, another config
        (fingerprint), other frame size (``frame_size`` = (w, h) of the frame about to be
        analysed, when known), or corrupt/truncated (logged as a warning; nothing raised)."""
        try:
            version, fp, size = peek(blob)
        except StateError as exc:
            logger.warning("analysis state ignored: %s", exc)
            self.reset()
            return False
        reason = None
        if version != FORMAT_VERSION:
            reason = f"format version {version} (this build: {FORMAT_VERSION})"
        elif fp != self.state_fingerprint():
            reason = "made under another analytics config"
        elif frame_size is not None and size is not None and tuple(frame_size) != size:
            reason = f"learned on {size[0]}x{size[1]} frames, now {frame_size[0]}x{frame_size[1]}"
        if reason is not None:
            logger.info("analysis state not applied: %s", reason)
            self.reset()
            return False
        try:
            st = unpack(blob, lazy=lambda name: name.startswith("det."))
            gate_arrays = {k[5:]: v for k, v in st.arrays.items() if k.startswith("gate.")}
            self.reset()
            # the detector checks the state's shapes and scalars on placeholders now; the real
            # arrays are decoded when the detector is first used (_materialize)
            placeholders = {k[4:]: np.zeros(v[0], np.uint8) for k, v in st.lazy.items()}
            self.detector.load(dict(st.meta.get("det") or {}), placeholders)
            self._pending = dict(st.lazy) if st.lazy else None
            self.motion_gate.load(gate_arrays, st.frame_size)
            last = st.meta.get("last")
            self._last = FrameResult.from_state(last) if last is not None else None
            self._quiet = int((st.meta.get("an") or {}).get("quiet", 0))
            self._settle = bool((st.meta.get("an") or {}).get("settle", False))
            self.perspective_learner.load(st.meta.get("persp"))
            self._frame_size = st.frame_size
            self._pack_cache = st.packed
        except (StateError, ValueError, TypeError, KeyError, IndexError) as exc:
            logger.warning("analysis state ignored: %s", exc)
            self.reset()
            return False
        return True

    def set_dry_reference(self, reference: DryReference | np.ndarray) -> None:
        self.dry_reference = (
            reference if isinstance(reference, DryReference) else DryReference.from_image(reference)
        )

    def _materialize(self) -> None:
        """Decode the detector's arrays of a lazily loaded state (before the detector runs)."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        meta, _ = self.detector.state()
        try:
            arrays = {}
            for name, (shape, codec, data) in pending.items():
                a = decode_array(name, shape, codec, data)
                arrays[name[4:]] = a
                self._pack_cache[name] = (zlib.crc32(a), shape, codec, data)
            self.detector.load(meta, arrays)
        except (StateError, ValueError, TypeError, KeyError) as exc:
            logger.warning("analysis state's background ignored: %s", exc)
            self.detector.reset()

    def reset(self) -> None:
        """Forget backgrounds and the last result (camera moved, stream restarted)."""
        self._pending = None
        self.motion_gate.reset()
        self.detector.reset()
        self._last = None
        self._quiet = 0
        self._settle = False
        self._frame_size = None
        self._pack_cache = {}
        self.perspective_learner.reset()

    # ------------------------------------------------------------------

    def _measure(
        self,
        frame: np.ndarray | ScaledFrame,
        ts: float | None,
        motion: MotionResult,
        timings: dict[str, float],
    ) -> FrameResult:
        h, w = frame.shape[:2]
        self._materialize()
        known, path, name = True, "warm", self.name
        with _Timer(timings, "detection"):
            det_frame = self._det_frame(frame)
            if self.warm:
                self._apply_perspective(w, h)
                dets = self.detector.detect(det_frame, motion.regions if motion.regions else None)
                self._learn_perspective(w, h)
            else:
                self.detector.observe(det_frame)  # learn: a later sample counts
                if self.cold_start == "history-free":
                    hf = self.history_free_detector
                    dets, path, name = hf.detect(as_array(frame)), "history-free", hf.name
                else:
                    dets, known, path = [], False, "cold"
        with _Timer(timings, "counting"):
            counts = count_objects(dets, self.config.rois, w, h, ts)
        result = FrameResult(
            ts=ts,
            analyser=name,
            people=counts.people,
            vehicles=counts.vehicles,
            bicycles=counts.bicycles,
            people_standing=counts.people_standing,
            vehicles_parked=counts.vehicles_parked,
            static_objects=counts.static_objects,
            rois=counts.rois,
            motion_ratio=round(motion.ratio, 5),
            lighting_change=motion.lighting_change,
            detections=dets,
            timings_ms=timings,
            counts_known=known,
            count_path=path,
        )
        if self.config.flood_region is not None:
            with _Timer(timings, "flood"):
                fr = water_coverage(as_array(frame), self.config.flood_region, self.dry_reference)
            result.water_coverage, result.water_confidence = fr.coverage, fr.confidence
        return result

    def analyse(self, frame: np.ndarray | ScaledFrame, ts: float | None = None) -> FrameResult:
        """Measure one sampled frame. If nothing moved since the previous sample the previous
        counts are returned with ``reused_from_previous=True`` (detection is skipped). A
        :class:`ScaledFrame` is loaded in full only when a stage needs full pixels."""
        with shared_halvings():  # gate and background model share the frame's 2x halvings
            return self._analyse(frame, ts)

    def _analyse(self, frame: np.ndarray | ScaledFrame, ts: float | None) -> FrameResult:
        t_start = time.perf_counter()
        validate_frame(frame)
        self._note_size(frame)
        timings: dict[str, float] = {}
        with _Timer(timings, "motion"):
            motion = self.motion_gate.update(frame)
        self._set_clock(ts)
        if motion.lighting_change:
            # the detector's background is stale too: it re-learns from this frame (a
            # detector that needs history is cold again: its next samples count as unknown);
            # a long-term background compares under a lighting gain and is kept
            self._materialize()
            getattr(self.detector, "reset_short_term", self.detector.reset)()
            self.detector.observe(self._det_frame(frame))
        settle, self._settle = self._settle, False
        if (
            self._last is not None
            and self._last.counts_known
            and (motion.lighting_change or (not motion.moving and not self.always_detect))
            and not (settle and not motion.lighting_change)
        ):
            if not motion.lighting_change:
                self._quiet += 1
                if self._quiet % self.quiet_observe_every == 0:
                    self._materialize()
                    # keeps the background model current
                    self.detector.observe(self._det_frame(frame))
            result = self._still_copy(self._last, ts, frame)
            result.motion_ratio = round(motion.ratio, 5)
            result.lighting_change = motion.lighting_change
            result.reused_from_previous = True
            result.line_crossings = {}
            result.speeds_kmh = []
            result.timings_ms = timings
        else:
            prev = self._last.ts if self._last is not None else None
            result = self._measure(frame, ts, motion, timings)
            self._last = result
            # something moved: the first quiet sample after it is measured too, so what
            # arrived and stopped (a dropped bag, a car that parked) is seen standing still;
            # only at the sampling cadence (frames of a video measure often enough anyway)
            self._settle = (
                motion.moving
                and not settle
                and hasattr(self.detector, "long_term")
                and ts is not None
                and (prev is None or ts - prev >= SETTLE_MIN_GAP_S)
            )
        timings["total"] = round((time.perf_counter() - t_start) * 1000, 3)
        return result

    def _set_clock(self, ts: float | None) -> None:
        if hasattr(self.detector, "clock"):
            self.detector.clock = ts  # dwell times are measured in the samples' own time

    def _still_copy(
        self, last: FrameResult, ts: float | None, frame: np.ndarray | ScaledFrame
    ) -> FrameResult:
        """The previous result for a sample where nothing moved: the same objects, all of
        them standing / parked now (a moving one stopped after the previous sample: it has
        stood since then at least), dwell times grown to ``ts``."""
        result = copy.copy(last)
        result.ts = ts
        if not last.counts_known:
            return result
        result.detections = [
            d
            if d.still
            else Detection(d.label, d.score, d.box, True, d.since if d.since else last.ts)
            for d in last.detections
        ]
        h, w = frame.shape[:2]
        still = count_objects(result.detections, self.config.rois, w, h, ts)
        result.people_standing = last.people
        result.vehicles_parked = last.vehicles_total
        result.static_objects = still.static_objects
        rois = []
        for prev, now in zip(last.rois, still.rois, strict=False):
            rois.append(
                dataclasses.replace(
                    prev,
                    standing=prev.people,
                    parked=prev.vehicles,
                    dwell_s=now.dwell_s,
                    objects=now.objects,
                    object_dwell_s=now.object_dwell_s,
                    dwell_by_class=now.dwell_by_class,
                )
            )
        result.rois = rois
        return result

    def _note_size(self, frame: np.ndarray) -> None:
        size = (frame.shape[1], frame.shape[0])
        if self._frame_size is not None and self._frame_size != size:
            logger.info("frame size changed %s -> %s: analyser restarts", self._frame_size, size)
            self.reset()
        self._frame_size = size

    def analyse_burst(
        self,
        frames: Sequence[np.ndarray],
        ts: float | None = None,
        frame_interval_s: float | None = None,
    ) -> FrameResult:
        """Analyse consecutive frames of a short burst (e.g. 2-5 s at 5-10 fps): counts come
        from the last frame, ``line_crossings`` from Norfair tracks across all of them. A
        cold detector first warms up on the burst itself (temporal median) when it has at
        least 3 frames. With ``frame_interval_s`` (seconds between the frames) and a
        calibrated perspective (marks or a learned fit), ``speeds_kmh`` has the tracked
        objects' speeds (:mod:`analytics.speed`)."""
        if not frames:
            raise ValueError("analyse_burst needs at least one frame")
        frames = [as_array(f) for f in frames]  # tracking and detection on every frame
        t_start = time.perf_counter()
        first = validate_frame(frames[0], name="frames[0]")
        h, w = first.shape[:2]
        self._note_size(first)
        self._materialize()
        self._set_clock(ts)
        if not self.warm and len(frames) >= 3:
            for i, frame in enumerate(frames):
                validate_frame(frame, name=f"frames[{i}]")
                if frame.shape[:2] != (h, w):
                    raise ValueError(
                        f"frames[{i}] is {frame.shape[1]}x{frame.shape[0]}, burst started at {w}x{h}"
                    )
            self.detector.warm_up(frames)
        counter = LineCrossingCounter(self.config.lines, w, h) if self.config.lines else None
        speed: SpeedTracker | None = None
        persp = self.perspective(w, h)
        if frame_interval_s is not None and frame_interval_s > 0 and persp.source != "default":
            speed = SpeedTracker(w, h, lambda y: persp.metres_per_px(y, h), float(frame_interval_s))
        timings: dict[str, float] = {}
        result: FrameResult | None = None
        for i, frame in enumerate(frames):
            validate_frame(frame, name=f"frames[{i}]")
            if frame.shape[:2] != (h, w):
                raise ValueError(
                    f"frames[{i}] is {frame.shape[1]}x{frame.shape[0]}, burst started at {w}x{h}"
                )
            with shared_halvings():
                with _Timer(timings, "motion"):
                    motion = self.motion_gate.update(frame)
                if motion.lighting_change:
                    getattr(self.detector, "reset_short_term", self.detector.reset)()
                last = i == len(frames) - 1
                result = self._measure(frame, ts, motion, timings) if last else None
                dets: list[Detection] = result.detections if result is not None else []
                if result is None:
                    with _Timer(timings, "detection"):
                        if self.warm:
                            self._apply_perspective(w, h)
                            dets = self.detector.detect(frame, motion.regions or None)
                        else:
                            self.detector.observe(frame)
            if counter is not None or speed is not None:
                with _Timer(timings, "tracking"):
                    if counter is not None:
                        counter.update(dets)
                    if speed is not None:
                        speed.update(dets)
        assert result is not None
        result.line_crossings = counter.counts if counter is not None else {}
        result.speeds_kmh = speed.speeds_kmh()[:20] if speed is not None else []
        result.timings_ms = timings
        timings["total"] = round((time.perf_counter() - t_start) * 1000, 3)
        self._last = result
        return result


def _size_models(detector: Detector) -> list[Any]:
    """The person-size models a detector (and its parts) split and class with."""
    out: list[Any] = []
    for d in (detector, getattr(detector, "blob", None), getattr(detector, "hog", None)):
        sm = getattr(d, "size_model", None)
        if sm is not None and all(sm is not o for o in out):
            out.append(sm)
    return out


def _blob_source(detector: Detector) -> Any:
    """The part of a detector that keeps ``last_blobs`` (blob detectors), or None."""
    for d in (detector, getattr(detector, "blob", None)):
        if d is not None and hasattr(d, "last_blobs"):
            return d
    return None
