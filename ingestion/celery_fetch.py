"""The fetch stage of the Celery path: camera specs and JPEG fetches under a hard deadline.

A fetch worker runs many fetches at once in threads (``celery_fetch_concurrency``); each one
returns the camera's JPEG bytes (snapshot and MJPEG cameras: as the camera sent them, no
decode; RTSP/HLS and bursts: decoded by the source and re-encoded once), which the analysis
stage decodes; they travel in a short-lived Redis key (:func:`stash`), not in the message. :func:`fetch_jpegs` runs the fetch in a helper thread and gives up at the hard
deadline whatever the camera does (a DNS lookup that hangs, a stream that trickles a byte a
second), closing the source so the helper thread ends soon after.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from ingestion.process import CameraSpec
from ingestion.sources import StreamTimeout
from pantau.settings import Settings

logger = logging.getLogger(__name__)

SPEC_TTL_S = 30.0  # camera edits reach the workers within this


class SpecCache:
    """Camera specs by id, all read from the database at once every ``SPEC_TTL_S`` seconds (a
    fetch or analysis task carries only the camera id: URLs with credentials stay out of the
    broker, and 10,000 cameras cost one query per process per ``SPEC_TTL_S``)."""

    def __init__(self, settings: Settings, database: Any) -> None:
        self.settings = settings
        self.database = database
        self._lock = threading.Lock()
        self._specs: dict[int, CameraSpec | None] = {}
        self._loaded_at = -SPEC_TTL_S

    def _usable(self, cam: Any) -> CameraSpec | None:
        if cam is None or not cam.enabled or not cam.stream_url:
            return None
        return CameraSpec.from_camera(cam, self.settings)

    def get(self, camera_id: int) -> CameraSpec | None:
        """The camera's spec; None if it is unknown, disabled or has no stream URL."""
        from sqlalchemy import select

        from store.models import Camera

        with self._lock:
            if time.monotonic() - self._loaded_at >= SPEC_TTL_S:
                with self.database.session() as s:
                    rows = s.scalars(
                        select(Camera).where(
                            Camera.enabled.is_(True), Camera.stream_url.is_not(None)
                        )
                    )
                    self._specs = {c.id: self._usable(c) for c in rows}
                self._loaded_at = time.monotonic()
            if camera_id in self._specs:
                return self._specs[camera_id]
        with self.database.session() as s:  # added since the last load (or unusable)
            spec = self._usable(s.get(Camera, camera_id))
        with self._lock:
            self._specs[camera_id] = spec
        return spec


def deadline_s(spec: CameraSpec, settings: Settings, warmup: int = 0) -> float:
    """The hard deadline of one fetch of ``spec``: the setting plus the burst's own length
    (and the warm-up frames' of a cold camera)."""
    burst = (spec.burst_frames - 1) * spec.burst_interval_s if spec.burst_frames > 1 else 0.0
    warm = warmup * (
        spec.burst_interval_s if spec.burst_frames > 1 else settings.cold_start_interval_s
    )
    return settings.celery_fetch_deadline_s + burst + warm


@dataclass
class Fetched:
    """A fetch's JPEGs: the first ``warmup`` ones only feed a cold camera's history."""

    jpegs: list[bytes]
    warmup: int
    frame_ts: float  # epoch seconds when the last frame was read


class _Fetch:
    """One fetch in a helper thread; ``close()`` aborts the source it is reading."""

    def __init__(
        self,
        spec: CameraSpec,
        settings: Settings,
        client: Any,
        files: dict,
        policy: Any,
        warmup: int = 0,
    ) -> None:
        self.spec, self.settings, self.client, self.files = spec, settings, client, files
        self.policy, self.warmup = policy, warmup
        self.done = threading.Event()
        self.result: Fetched | None = None
        self.error: BaseException | None = None
        self.source: Any = None

    def run(self) -> None:
        try:
            self.result = self._fetch()
        except BaseException as exc:  # handed to the waiting task
            self.error = exc
        finally:
            self.done.set()

    def _fetch(self) -> Fetched:
        from ingestion.fetch import fetch_sample
        from ingestion.sources import (
            MjpegSource,
            SnapshotSource,
            Timeouts,
            encode_jpeg,
        )

        spec, s = self.spec, self.settings
        timeouts = Timeouts(s.connect_timeout_s, s.read_timeout_s)
        if spec.burst_frames <= 1 and not self.warmup and spec.protocol in ("snapshot", "mjpeg"):
            # the camera's own JPEG, not decoded here: the analysis stage decodes it once
            if spec.protocol == "snapshot":
                src = SnapshotSource(
                    spec.url, timeouts, s.frame_max_width, client=self.client, policy=self.policy
                )
            else:
                src = MjpegSource(
                    spec.url, timeouts, s.frame_max_width, persistent=False, policy=self.policy
                )
            self.source = src
            try:
                return Fetched([src.read_jpeg()], 0, time.time())
            finally:
                src.close()
        # RTSP/HLS, bursts, warm-ups, files: the shared reader code, frames re-encoded once.
        # No persistent readers: any fetch worker may take any camera, so a kept-open stream
        # per worker would be one more connection per camera for nothing (files excepted: a
        # per-process cache keeps their playback position)
        no_keep = s.model_copy(update={"persistent_reader_max_interval_s": 0})
        got = fetch_sample(self.files, spec, no_keep, self.client, warmup=self.warmup)
        if got.jpegs is not None:  # snapshots (warm-up, burst): the camera's own JPEGs
            return Fetched(list(got.jpegs), len(got.jpegs) - got.counted, got.frame_ts)
        jpegs = [encode_jpeg(f, 90) for f in [*got.warmup, *got.frames]]
        return Fetched(jpegs, len(got.warmup), got.frame_ts)

    def close(self) -> None:
        if self.source is not None:
            with contextlib.suppress(Exception):
                self.source.close()


class Fetcher:
    """Per-process fetch machinery: one pooled HTTP client for snapshot cameras, file sources."""

    def __init__(self, settings: Settings) -> None:
        from ingestion.snapshot_http import SnapshotHttp
        from ingestion.sources import USER_AGENT, Timeouts
        from ingestion.url_policy import UrlPolicy

        self.settings = settings
        self.policy = UrlPolicy.from_settings(settings)  # camera URL rules, before any I/O
        timeouts = Timeouts(settings.connect_timeout_s, settings.read_timeout_s)
        # snapshot cameras' GETs (other protocols keep their own connections)
        self.client = SnapshotHttp(
            timeouts.connect_s,
            timeouts.read_s,
            max_connections=settings.celery_fetch_concurrency * 2,
            user_agent=USER_AGENT,
        )
        self.files: dict = {}
        self.abandoned = 0  # fetches left running past their deadline

    def fetch_jpegs(self, spec: CameraSpec, warmup: int = 0) -> Fetched:
        """The camera's frame(s) as JPEG bytes within the hard deadline, preceded by ``warmup``
        frames for a camera without analysis history. Raises SourceError (StreamTimeout at the
        deadline)."""
        limit = deadline_s(spec, self.settings, warmup)
        job = _Fetch(spec, self.settings, self.client, self.files, self.policy, warmup)
        thread = threading.Thread(target=job.run, name=f"fetch-{spec.id}", daemon=True)
        thread.start()
        if not job.done.wait(limit):
            job.close()
            self.abandoned += 1
            raise StreamTimeout(f"no whole frame within the {limit:.0f}s fetch deadline")
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def close(self) -> None:
        self.client.close()
        for _, src in list(self.files.values()):
            with contextlib.suppress(Exception):
                src.close()


def frame_key(settings: Settings, camera_id: int, slot: float) -> str:
    from ingestion.celery_app import key

    return key(settings, "frames", camera_id, repr(float(slot)))


def stash(
    redis: Any, settings: Settings, camera_id: int, slot: float, jpegs: list[bytes], ttl_s: float
) -> str:
    """Keep a sample's JPEGs in Redis for the analysis task (a short-lived key: the task
    message stays small, so the analysis worker's main process does not decode and copy
    ~50 KB per sample). ``ttl_s`` outlives a redelivery."""
    name = frame_key(settings, camera_id, slot)
    pipe = redis.pipeline(transaction=True)
    pipe.delete(name)
    pipe.rpush(name, *jpegs)
    pipe.expire(name, int(ttl_s) + 1)
    pipe.execute()
    return name


def append(redis: Any, name: str, jpegs: list[bytes], ttl_s: float) -> int:
    """Add a later frame (a cold camera's next warm-up step) to a stashed sample; returns how
    many frames it holds now."""
    pipe = redis.pipeline(transaction=True)
    pipe.rpush(name, *jpegs)
    pipe.expire(name, int(ttl_s) + 1)
    held, _ = pipe.execute()
    return int(held)


def take(redis: Any, name: str) -> list[bytes]:
    """The JPEGs stashed under ``name`` (empty if they expired or the broker lost them)."""
    return list(redis.lrange(name, 0, -1))


def pack(jpegs: list[bytes]) -> list[str]:
    """JPEG bytes for a JSON message (base64): for tools that hand frames over inline."""
    return [base64.b64encode(j).decode("ascii") for j in jpegs]


def unpack(frames: list[str]) -> list[bytes]:
    return [base64.b64decode(f) for f in frames]
