"""``process_sample(camera, frame, ts)``: the one path from a fetched frame to stored measurements.

It runs unchanged in the local worker pool and in Celery tasks. Per sample: get the camera's
analysis state (process cache -> database or Redis, see ``ingestion.state_store``), restore it
into an :class:`analytics.pipeline.Analyser` built around the process's shared detector (HOG
descriptors, MediaPipe models and cascades are loaded once per process, not per camera), warm a
cold camera up with the extra frames the caller fetched, analyse, export the new state and put
it back. Then write the snapshot (the camera's own JPEG with its annotations as data, drawn when
viewed: ``ingestion.snapshots``; and a privacy-blurred public one for public cameras)
atomically and return a picklable :class:`SampleResult` whose ``observation`` is a row for
``store.writes.write_observations``: ``slot`` (the schedule slot, the idempotency key) and
``ts`` (when the frame was taken). A camera still without history is stored with its counts
unknown (NULL, ``extra.cold``), never as 0. No database access here but the state store.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ingestion.state_store import StateCache, StateStore, StoredState
from pantau.settings import Settings

logger = logging.getLogger(__name__)

TZ_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


@dataclass(frozen=True)
class CameraSpec:
    """What a worker needs to know about a camera (plain, picklable, JSON-able)."""

    id: int
    code: str
    url: str
    protocol: str
    interval_s: int = 60
    is_public: bool = False
    analytics: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    name: str = ""
    #: frames per sample: >1 takes a short burst and counts line crossings over it
    burst_frames: int = 1
    burst_interval_s: float = 0.5

    @classmethod
    def from_camera(cls, cam: Any, settings: Settings | None = None) -> CameraSpec:
        """From a ``store.models.Camera`` row (or anything with the same attributes)."""
        config = dict(cam.config or {})
        detector = (
            cam.detector or (settings.detector if settings else None) or config.get("detector")
        )
        analytics = {
            "rois": list(cam.rois or []),
            "lines": list(cam.lines or []),
            "detector": detector or "auto",
        }
        if config.get("flood"):
            analytics["flood"] = config["flood"]
        if config.get("perspective"):
            analytics["perspective"] = config["perspective"]
        burst = config.get("burst") or {}
        frames = int(burst.get("frames", 1) or 1) if isinstance(burst, dict) else 1
        interval = float(burst.get("interval_s", 0.5) or 0.5) if isinstance(burst, dict) else 0.5
        return cls(
            id=int(cam.id),
            code=str(cam.code),
            url=str(cam.stream_url or ""),
            protocol=str(cam.protocol or "snapshot"),
            interval_s=int(cam.sample_interval_s or 60),
            is_public=bool(cam.is_public),
            analytics=analytics,
            tags=tuple(cam.tags or ()),
            name=str(cam.name or ""),
            burst_frames=max(1, min(frames, 25))
            if cam.lines or (isinstance(burst, dict) and burst.get("speed"))
            else 1,
            burst_interval_s=max(0.05, min(interval, 5.0)),
        )

    def analytics_key(self) -> str:
        import json

        return json.dumps(self.analytics, sort_keys=True, default=str)


@dataclass
class SampleResult:
    camera_id: int
    code: str
    ts: datetime  # when the (last) frame was taken, UTC
    observation: dict[str, Any]
    snapshot: str | None = None
    public_snapshot: str | None = None
    evidence_jpeg: bytes | None = None  # annotated frame, kept only when an alert may open
    timings_ms: dict[str, float] = field(default_factory=dict)
    slot: datetime | None = None  # the schedule slot (idempotency key); None: same as ts
    cold: bool = False  # no analysis history yet: counts unknown

    def __post_init__(self) -> None:
        if self.slot is None:
            self.slot = self.ts


# --------------------------------------------------------------------------------------------
def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the web server must read it
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(frame: np.ndarray, quality: int = 82) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("cannot encode snapshot")
    return buf.tobytes()


def observation_row(
    camera_id: int,
    ts: datetime,
    result: Any,
    snapshot: str | None,
    *,
    slot: datetime | None = None,
    counts_known: bool = True,
) -> dict[str, Any]:
    """An ``observations`` row from an ``analytics.types.FrameResult``. ``ts``: frame time;
    ``slot``: schedule slot (default ``ts``). Without ``counts_known`` the people, vehicle,
    density and flow columns are NULL and ``extra.cold`` is true."""
    veh = result.vehicles or {}
    densities = [
        r.density for r in result.rois if getattr(r, "density_unit", "") == "people_per_100m2"
    ]
    flow_in = flow_out = None
    if result.line_crossings:
        flow_in = flow_out = 0
        for counts in result.line_crossings.values():
            vals = list(counts.values())
            flow_in += int(vals[0]) if vals else 0
            flow_out += int(vals[1]) if len(vals) > 1 else 0
    row = {
        "camera_id": camera_id,
        "slot": slot or ts,
        "ts": ts,
        "people": int(result.people),
        "crowd_density": round(max(densities), 3) if densities else None,
        "vehicles_car": int(veh.get("car", 0)),
        "vehicles_motorcycle": int(veh.get("motorcycle", 0)),
        "vehicles_bus": int(veh.get("bus", 0)),
        "vehicles_truck": int(veh.get("truck", 0)),
        "vehicles_total": int(result.vehicles_total),
        "flow_in": flow_in,
        "flow_out": flow_out,
        "motion_ratio": float(result.motion_ratio),
        "water_coverage": result.water_coverage,
        "water_confidence": result.water_confidence,
        "analyser": str(result.analyser)[:64],
        "reused": bool(result.reused_from_previous),
        "processing_ms": float(result.timings_ms.get("total", 0.0)),
        "snapshot": snapshot,
        "extra": {
            "bicycles": int(result.bicycles),
            "lighting_change": bool(result.lighting_change),
            "rois": [_roi_extra(r) for r in result.rois],
            "line_crossings": result.line_crossings or {},
            # what stands still (issue 13): of ``people`` standing, of ``vehicles_total``
            # parked, and static objects (neither, e.g. a dumped bag)
            "people_standing": int(getattr(result, "people_standing", 0)),
            "vehicles_parked": int(getattr(result, "vehicles_parked", 0)),
            "static_objects": int(getattr(result, "static_objects", 0)),
            **(
                {"speeds_kmh": list(result.speeds_kmh), "max_speed_kmh": result.max_speed_kmh}
                if getattr(result, "speeds_kmh", None)
                else {}
            ),
        },
    }
    if not counts_known:
        for col in UNKNOWN_WHEN_COLD:
            row[col] = None
        row["reused"] = False
        row["extra"] = {
            "cold": True,
            "lighting_change": bool(result.lighting_change),
            "rois": [{"name": r.name} for r in result.rois],
        }
    return row


def _roi_extra(r: Any) -> dict[str, Any]:
    """One ROI's counts for ``extra.rois``; the stillness keys only when there is something
    (parked / standing / objects), so quiet ROIs stay small."""
    out: dict[str, Any] = {
        "name": r.name, "people": r.people, "vehicles": r.vehicles, "density": r.density,
    }  # fmt: skip
    for key in ("standing", "parked", "dwell_s", "objects", "object_dwell_s"):
        value = getattr(r, key, 0)
        if value:
            out[key] = value
    if getattr(r, "kind", "any") in ("no_parking", "no_dumping"):
        out["kind"] = r.kind  # whole-camera dwell / dumping rules watch these ROIs
    if getattr(r, "dwell_by_class", None):
        out["dwell_by"] = dict(r.dwell_by_class)
    return out


#: columns stored as NULL (unknown) for a sample without analysis history
UNKNOWN_WHEN_COLD = (
    "people",
    "crowd_density",
    "vehicles_car",
    "vehicles_motorcycle",
    "vehicles_bus",
    "vehicles_truck",
    "vehicles_total",
    "flow_in",
    "flow_out",
)

#: bump when the meaning of stored states changes (older ones are then not loaded)
STATE_FORMAT = "2"
MIB = 1024 * 1024
#: Analyser objects a processor keeps (one per analytics configuration in use)
ANALYSERS_KEPT = 64


def resolved_detector(camera: CameraSpec, settings: Settings) -> str:
    """The detector a camera's samples run: its own, else the installation's; ``auto`` is
    MediaPipe when the model file exists, else the best OpenCV detector."""
    from analytics.detectors import BEST_OFFLINE

    name = str(camera.analytics.get("detector") or settings.detector or "auto")
    if name == "auto":
        model = settings.mediapipe_model_path
        name = "mediapipe" if model and _is_file(str(model)) else BEST_OFFLINE
    return name


_FILE_CHECKS: dict[str, tuple[float, bool]] = {}
FILE_CHECK_TTL_S = 30.0


def _is_file(path: str) -> bool:
    """``Path(path).is_file()``, remembered for ``FILE_CHECK_TTL_S`` (asked several times a
    sample: a model file installed by ``pantau models`` is picked up within that time)."""
    now = time.monotonic()
    hit = _FILE_CHECKS.get(path)
    if hit is not None and now - hit[0] < FILE_CHECK_TTL_S:
        return hit[1]
    ok = Path(path).is_file()
    if len(_FILE_CHECKS) > 64:
        _FILE_CHECKS.clear()
    _FILE_CHECKS[path] = (now, ok)
    return ok


_CONFIG_KEYS: dict[tuple[str, str], str] = {}


def state_config_key(camera: CameraSpec, settings: Settings) -> str:
    """The key a camera's stored analysis state is filed under: a state made under another
    analytics configuration (ROIs, lines, detector...) is not loaded."""
    detector = resolved_detector(camera, settings)
    analytics = camera.analytics_key()
    key = _CONFIG_KEYS.get((detector, analytics))
    if key is None:
        raw = f"{STATE_FORMAT}|{detector}|{analytics}"
        key = hashlib.sha1(raw.encode()).hexdigest()
        if len(_CONFIG_KEYS) > 4096:
            _CONFIG_KEYS.clear()
        _CONFIG_KEYS[(detector, analytics)] = key
    return key


def needs_warmup(camera: CameraSpec, settings: Settings, store: StateStore | None) -> bool:
    """For a fetch stage that has no processor (Celery): whether to fetch
    ``settings.cold_start_frames`` warm-up frames before the counted ones, from the state's
    head in ``store`` (no blob transferred)."""
    if settings.cold_start_frames <= 0:
        return False
    if store is None:
        return True
    head = store.head(camera.id)
    return head is None or not head.warm or head.config_key != state_config_key(camera, settings)


def _load_state(analyser: Any, blob: bytes, frame_size: tuple[int, int]) -> bool:
    """Restore ``blob``; False (analyser cold) for a state of another version, configuration
    or frame size, or a corrupt one — never an exception that fails the sample."""
    if not blob:
        return False
    try:
        return bool(analyser.load_state(blob, frame_size=frame_size if frame_size[0] else None))
    except Exception:
        logger.warning("cannot restore an analysis state; starting cold", exc_info=True)
        analyser.reset()
        return False


class SampleProcessor:
    """Turns frames into SampleResults; per-camera analysis state lives in a bounded
    :class:`StateCache` over ``states`` (a database or Redis store; None: process memory only).

    One analysis runs at a time per processor: the heavy detector objects are shared by all
    cameras of the process, and each sample restores its camera's state into them."""

    def __init__(
        self,
        settings: Settings,
        states: StateStore | None = None,
        *,
        public_every_s: float = 55.0,
    ) -> None:
        self.settings = settings
        self.states = StateCache(
            int(settings.analysis_state_budget_mb * MIB),
            states,
            flush_every_s=settings.analysis_state_flush_s,
        )
        #: the privacy blur (face + plate detection) costs ~1 s per frame on one core with the
        #: OpenCV cascades: public snapshots are refreshed at most this often per camera
        self.public_every_s = public_every_s
        self._public_at: dict[int, float] = {}
        self._snapshot_at: dict[int, float] = {}
        self._detectors: dict[str, Any] = {}  # detector name -> one shared instance
        self._reduced: dict[tuple[str, int, int], tuple[int, int]] = {}
        self._analysers: dict[tuple[str, str], Any] = {}  # (detector, analytics) -> Analyser
        self._lock = threading.RLock()
        self._tz = ZoneInfo(settings.timezone)
        self._tz_label = TZ_LABELS.get(settings.timezone, settings.timezone)

    def _model_path(self) -> str | None:
        model = self.settings.mediapipe_model_path
        return str(model) if model and Path(model).is_file() else None

    def _detector(self, camera: CameraSpec) -> Any:
        from analytics.detectors import DetectorUnavailable, make_detector

        name = resolved_detector(camera, self.settings)
        det = self._detectors.get(name)
        if det is None:
            try:
                det = make_detector(name, self._model_path())
            except DetectorUnavailable:
                if camera.analytics.get("detector") not in (None, "", "auto"):
                    raise
                det = make_detector("auto")  # the model file does not load: OpenCV
            self._detectors[name] = det
        return det

    def config_key(self, camera: CameraSpec) -> str:
        """Identifies the analytics configuration a camera's state was built for."""
        return state_config_key(camera, self.settings)

    def reduced_size(self, camera: CameraSpec) -> Callable[[int, int], tuple[int, int]] | None:
        """For ``Fetched.decode``/``decode_jpeg_scaled``: (w, h) of a frame -> the smallest
        reduced copy ``camera``'s analysis works from (quiet samples then skip the full
        decode); None for cameras whose every sample needs full frames (bursts)."""
        if camera.burst_frames > 1:
            return None
        name = resolved_detector(camera, self.settings)

        def need(w: int, h: int) -> tuple[int, int]:
            key = (name, w, h)
            got = self._reduced.get(key)
            if got is None:
                from analytics.pipeline import Analyser

                with self._lock:
                    got = Analyser(camera.analytics, detector=self._detector(camera)).reduced_size(
                        w, h
                    )
                if len(self._reduced) > 256:
                    self._reduced.clear()
                self._reduced[key] = got
            return got

        return need

    def analyser_for(self, camera: CameraSpec) -> Any:
        """A cold Analyser for ``camera`` around the process's shared detector. One Analyser
        per analytics configuration is kept and reset for each sample (building one parses the
        configuration and hashes its fingerprint: ~0.1 ms a sample at city scale); the
        per-camera part (backgrounds, last result) is what ``reset`` clears and the camera's
        state restores."""
        from analytics.pipeline import Analyser

        key = (resolved_detector(camera, self.settings), camera.analytics_key())
        analyser = self._analysers.get(key)
        if analyser is None:
            analyser = Analyser(camera.analytics, detector=self._detector(camera))
            if len(self._analysers) >= ANALYSERS_KEPT:
                self._analysers.pop(next(iter(self._analysers)))
            self._analysers[key] = analyser
        analyser.reset()  # the previous camera's state (and the shared detector's)
        return analyser

    def needs_warmup(self, camera: CameraSpec) -> bool:
        """True when the camera has no warm analysis state here: the caller should fetch
        ``settings.cold_start_frames`` extra frames before the counted ones (see
        :func:`needs_warmup` for a fetch stage without a processor)."""
        if self.settings.cold_start_frames <= 0:
            return False
        state = self.states.get(camera.id, self.config_key(camera))
        return state is None or not state.warm

    def reset(self, camera_id: int) -> None:
        """Forget a camera's analysis state (camera moved or re-aimed)."""
        self.states.discard(camera_id)

    def close(self) -> None:
        """Write changed states to the store (shutdown)."""
        self.states.close()

    def alert_candidate(self, result: Any, counts_known: bool = True) -> bool:
        s = self.settings
        water = result.water_coverage or 0.0
        crowd = counts_known and result.people >= s.crowd_alert_min_people
        # something standing in a no-parking / no-dumping ROI: a dwell rule may open
        still = counts_known and any(
            getattr(r, "dwell_s", 0) or getattr(r, "objects", 0)
            for r in result.rois
            if getattr(r, "kind", "any") in ("no_parking", "no_dumping")
        )
        return water >= s.flood_alert_coverage or crowd or still

    def process_sample(
        self,
        camera: CameraSpec,
        frame: np.ndarray,
        ts: datetime,
        *,
        slot: datetime | None = None,
        jpeg: bytes | None = None,
    ) -> SampleResult:
        """Analyse ``frame`` of ``camera`` taken at ``ts`` (UTC) for schedule ``slot`` (default
        ``ts``); write snapshots; return the observation. Raises ValueError for a frame that is
        not an image."""
        return self.process_burst(camera, [frame], ts, slot=slot, jpeg=jpeg)

    def process_burst(
        self,
        camera: CameraSpec,
        frames: list[np.ndarray],
        ts: datetime,
        *,
        slot: datetime | None = None,
        warmup: list[np.ndarray] | tuple = (),
        jpeg: bytes | None = None,
    ) -> SampleResult:
        """Like :meth:`process_sample` for a short burst: counts from the last frame, line
        crossings (flow_in/flow_out) tracked over all of them. ``warmup``: earlier frames of a
        cold camera, fed to the analyser's history before the counted ones. ``ts``: when the
        last frame was taken. ``jpeg``: the last frame as the camera sent it; when it is the
        analysed size it becomes the snapshot byte for byte (no decode or encode here)."""
        from analytics.annotate import draw, overlay_of
        from analytics.imaging import as_array
        from analytics.types import AnalyticsConfig
        from ingestion.snapshots import write_snapshot
        from ingestion.sources import jpeg_size

        if not frames:
            raise ValueError("no frames to process")
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        slot = slot or ts
        if slot.tzinfo is None:
            slot = slot.replace(tzinfo=UTC)
        t0 = time.perf_counter()
        key = self.config_key(camera)
        stored = self.states.get(camera.id, key)  # cache, else the store: outside the lock
        h, w = frames[0].shape[:2] if hasattr(frames[0], "shape") else (0, 0)
        with self._lock:
            analyser = self.analyser_for(camera)
            restored = stored is not None and _load_state(analyser, stored.blob, (w, h))
            if warmup:
                analyser.warm_up(list(warmup))
            if len(frames) > 1:
                result = analyser.analyse_burst(
                    frames, ts.timestamp(), frame_interval_s=camera.burst_interval_s
                )
            else:
                result = analyser.analyse(frames[0], ts.timestamp())
            known = bool(result.counts_known)
            t_state = time.perf_counter()
            blob = analyser.export_state()
            warm_after = bool(analyser.warm)
            config: AnalyticsConfig = analyser.config
        if blob:  # outside the lock: a write-behind batch may go to the database here
            self.states.put(camera.id, StoredState(key, blob, ts.timestamp(), warm=warm_after))
        self.states.maybe_flush()
        state_ms = (time.perf_counter() - t_state) * 1000
        frame = frames[-1]  # a ScaledFrame is decoded in full below only for a snapshot
        timings = {k: float(v) for k, v in result.timings_ms.items()}
        timings["state"] = round(state_ms, 3)
        t1 = time.perf_counter()
        snap_dir = self.settings.snapshot_dir
        snapshot = f"{camera.code}.jpg"
        now = time.monotonic()
        last_snap = self._snapshot_at.get(camera.id)
        candidate = self.alert_candidate(result, known)
        static = (
            result.reused_from_previous
            and last_snap is not None
            and now - last_snap < self.settings.static_snapshot_every_s
        )
        evidence: bytes | None = None
        if not static or candidate:
            # the camera's JPEG with the annotations as data: drawn when somebody views it
            fh, fw = frame.shape[:2]
            ov = overlay_of(result, config, ts, (fw, fh), tz_label=self._tz_label, tz=self._tz)
            own = jpeg is not None and jpeg_size(jpeg) == (fw, fh)
            write_snapshot(snap_dir / snapshot, jpeg if own else _encode(as_array(frame)), ov)
            self._snapshot_at[camera.id] = now
            if candidate:  # kept in case an alert opens on this sample: drawn now
                evidence = _encode(draw(as_array(frame), ov))
        public = None
        if camera.is_public:
            public = f"{camera.code}.public.jpg"
            last = self._public_at.get(camera.id)
            now = time.monotonic()
            if (
                last is None
                or now - last >= self.public_every_s
                or not (snap_dir / public).exists()
            ):
                atomic_write(
                    snap_dir / public, self.public_jpeg(as_array(frame), result, config, ts)
                )
                self._public_at[camera.id] = now
        timings["snapshot"] = round((time.perf_counter() - t1) * 1000, 3)
        timings["process"] = round((time.perf_counter() - t0) * 1000, 3)
        row = observation_row(camera.id, ts, result, snapshot, slot=slot, counts_known=known)
        if not known:
            logger.debug(
                "%s: no analysis history (restored=%s): counts stored as unknown",
                camera.code,
                restored,
            )
        return SampleResult(
            camera_id=camera.id,
            code=camera.code,
            ts=ts,
            observation=row,
            snapshot=snapshot,
            public_snapshot=public,
            evidence_jpeg=evidence,
            timings_ms=timings,
            slot=slot,
            cold=not known,
        )

    def public_jpeg(self, frame: np.ndarray, result: Any, config: Any, ts: datetime) -> bytes:
        """Faces and plates blurred first, then counts drawn (no boxes that outline people)."""
        from analytics.annotate import annotate
        from analytics.privacy import blur_private

        face_model = self.settings.face_model_path
        blurred, _, _ = blur_private(
            frame,
            str(face_model) if Path(face_model).is_file() else None,
            detections=result.detections,  # fast mode: coarse pass + detected objects + heads
        )
        public_result = type(result)(**{**result.__dict__, "detections": []})
        return _encode(
            annotate(blurred, public_result, None, ts, tz_label=self._tz_label, tz=self._tz)
        )
