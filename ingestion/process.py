"""``process_sample(camera, frame, ts)``: the one path from a fetched frame to stored measurements.

It runs unchanged in the local worker pool and in Celery tasks: analyse the frame with the
camera's :class:`analytics.pipeline.Analyser` (kept per camera, it holds motion/background
state), write the annotated snapshot (and a privacy-blurred public one for public cameras)
atomically, and return a picklable :class:`SampleResult` whose ``observation`` is a row for
``store.writes.write_observations``. No database access here: the caller writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

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
            burst_frames=max(1, min(frames, 25)) if cam.lines else 1,
            burst_interval_s=max(0.05, min(interval, 5.0)),
        )

    def analytics_key(self) -> str:
        import json

        return json.dumps(self.analytics, sort_keys=True, default=str)


@dataclass
class SampleResult:
    camera_id: int
    code: str
    ts: datetime
    observation: dict[str, Any]
    snapshot: str | None = None
    public_snapshot: str | None = None
    evidence_jpeg: bytes | None = None  # annotated frame, kept only when an alert may open
    timings_ms: dict[str, float] = field(default_factory=dict)


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
    camera_id: int, ts: datetime, result: Any, snapshot: str | None
) -> dict[str, Any]:
    """An ``observations`` row from an ``analytics.types.FrameResult``."""
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
    return {
        "camera_id": camera_id,
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
            "rois": [
                {"name": r.name, "people": r.people, "vehicles": r.vehicles, "density": r.density}
                for r in result.rois
            ],
            "line_crossings": result.line_crossings or {},
        },
    }


class SampleProcessor:
    """Keeps one Analyser per camera (bounded LRU) and turns frames into SampleResults."""

    def __init__(
        self, settings: Settings, max_cameras: int = 5000, public_every_s: float = 55.0
    ) -> None:
        self.settings = settings
        self.max_cameras = max_cameras
        #: the privacy blur (face + plate detection) costs ~1 s per frame on one core with the
        #: OpenCV cascades: public snapshots are refreshed at most this often per camera
        self.public_every_s = public_every_s
        self._public_at: dict[int, float] = {}
        self._snapshot_at: dict[int, float] = {}
        self._analysers: OrderedDict[int, tuple[str, Any]] = OrderedDict()
        self._tz = ZoneInfo(settings.timezone)
        self._tz_label = TZ_LABELS.get(settings.timezone, settings.timezone)

    def analyser_for(self, camera: CameraSpec) -> Any:
        from analytics.pipeline import Analyser

        key = camera.analytics_key()
        entry = self._analysers.get(camera.id)
        if entry is None or entry[0] != key:
            model = self.settings.mediapipe_model_path
            analyser = Analyser(
                camera.analytics,
                detector=camera.analytics.get("detector") or self.settings.detector,
                model_path=str(model) if model and Path(model).is_file() else None,
            )
            entry = (key, analyser)
            self._analysers[camera.id] = entry
        self._analysers.move_to_end(camera.id)
        while len(self._analysers) > self.max_cameras:
            self._analysers.popitem(last=False)
        return entry[1]

    def reset(self, camera_id: int) -> None:
        """Forget a camera's analysis state (stream restarted, camera moved)."""
        entry = self._analysers.get(camera_id)
        if entry is not None:
            entry[1].reset()

    def alert_candidate(self, result: Any) -> bool:
        s = self.settings
        water = result.water_coverage or 0.0
        return water >= s.flood_alert_coverage or result.people >= s.crowd_alert_min_people

    def process_sample(self, camera: CameraSpec, frame: np.ndarray, ts: datetime) -> SampleResult:
        """Analyse ``frame`` of ``camera`` taken at ``ts`` (UTC); write snapshots; return the
        observation. Raises ValueError for a frame that is not an image."""
        return self.process_burst(camera, [frame], ts)

    def process_burst(
        self, camera: CameraSpec, frames: list[np.ndarray], ts: datetime
    ) -> SampleResult:
        """Like :meth:`process_sample` for a short burst: counts from the last frame, line
        crossings (flow_in/flow_out) tracked over all of them."""
        from analytics.annotate import annotate
        from analytics.types import AnalyticsConfig

        if not frames:
            raise ValueError("no frames to process")
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        t0 = time.perf_counter()
        analyser = self.analyser_for(camera)
        if len(frames) > 1:
            result = analyser.analyse_burst(frames, ts.timestamp())
        else:
            result = analyser.analyse(frames[0], ts.timestamp())
        frame = frames[-1]
        timings = {k: float(v) for k, v in result.timings_ms.items()}
        t1 = time.perf_counter()
        config: AnalyticsConfig = analyser.config
        snap_dir = self.settings.snapshot_dir
        snapshot = f"{camera.code}.jpg"
        now = time.monotonic()
        last_snap = self._snapshot_at.get(camera.id)
        jpeg: bytes | None = None
        static = (
            result.reused_from_previous
            and last_snap is not None
            and now - last_snap < self.settings.static_snapshot_every_s
        )
        if not static or self.alert_candidate(result):
            annotated = annotate(frame, result, config, ts, tz_label=self._tz_label, tz=self._tz)
            jpeg = _encode(annotated)
            atomic_write(snap_dir / snapshot, jpeg)
            self._snapshot_at[camera.id] = now
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
                atomic_write(snap_dir / public, self.public_jpeg(frame, result, config, ts))
                self._public_at[camera.id] = now
        timings["snapshot"] = round((time.perf_counter() - t1) * 1000, 3)
        timings["process"] = round((time.perf_counter() - t0) * 1000, 3)
        row = observation_row(camera.id, ts, result, snapshot)
        return SampleResult(
            camera_id=camera.id,
            code=camera.code,
            ts=ts,
            observation=row,
            snapshot=snapshot,
            public_snapshot=public,
            evidence_jpeg=jpeg if jpeg is not None and self.alert_candidate(result) else None,
            timings_ms=timings,
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
