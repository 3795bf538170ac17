"""Fetching a sample's frames from a camera: one frame, a burst for line crossings, and a
cold camera's warm-up frames before them; persistent readers kept in a bounded cache.

Used by the local worker pool (``ingestion.local``) and the Celery fetch stage.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingestion.process import CameraSpec
from pantau.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Fetched:
    """What one sample's fetch brought back."""

    frames: list  # the frames counted (one, or a burst for line crossings)
    warmup: list  # earlier frames for a cold camera's analysis history (may be empty)
    frame_ts: float  # epoch seconds when the last frame was taken
    reopened: bool
    #: snapshots of a warm-up, still JPEG: ``decode()`` fills frames and warmup
    jpegs: list[bytes] | None = None
    counted: int = 1
    max_width: int | None = None
    #: the last counted frame as the camera sent it (JPEG), kept by ``decode()`` for the snapshot
    last_jpeg: bytes | None = None

    def decode(self, need: Callable[[int, int], tuple[int, int]] | None = None) -> Fetched:
        """Decode JPEGs kept for later (just before the analysis). Raises SourceError.
        ``need(w, h)``: the smallest copy of a ``w`` x ``h`` frame the analysis works from
        (``SampleProcessor.reduced_size``); given, JPEGs are decoded at a reduced scale into
        :class:`analytics.imaging.ScaledFrame` s whose full pixels are decoded only if a stage
        needs them (a quiet sample never does)."""
        if self.jpegs is not None:
            from ingestion.sources import decode_jpeg, decode_jpeg_scaled

            if need is not None:
                frames = [decode_jpeg_scaled(j, self.max_width, need) for j in self.jpegs]
            else:
                frames = [decode_jpeg(j, self.max_width) for j in self.jpegs]
            self.frames, self.warmup = frames[-self.counted :], frames[: -self.counted]
            self.last_jpeg = self.jpegs[-1] if self.jpegs else None
            self.jpegs = None
        return self


def fetch_frame(source_cache: dict, camera: CameraSpec, settings: Settings, client: Any = None):
    """Fetch one frame of ``camera`` (reusing a persistent reader when there is one).

    Returns (frame, reopened). Raises SourceError; a failing persistent reader is dropped so the
    next attempt reconnects.
    """
    frames, reopened = fetch_frames(source_cache, camera, settings, client)
    return frames[-1], reopened


def fetch_frames(source_cache: dict, camera: CameraSpec, settings: Settings, client: Any = None):
    """Fetch ``camera.burst_frames`` frames (one for most cameras); returns (frames, reopened)."""
    got = fetch_sample(source_cache, camera, settings, client).decode()
    return got.frames, got.reopened


def _cache_reader(source_cache: dict, key: int, entry: tuple, limit: int) -> None:
    """Keep a persistent reader, closing the least recently used beyond ``limit``."""
    source_cache[key] = entry
    while len(source_cache) > max(0, limit):
        oldest = next(iter(source_cache))
        _, src = source_cache.pop(oldest)
        with contextlib.suppress(Exception):
            src.close()


def fetch_sample(
    source_cache: dict,
    camera: CameraSpec,
    settings: Settings,
    client: Any = None,
    *,
    warmup: int = 0,
) -> Fetched:
    """Fetch ``camera.burst_frames`` frames, preceded by ``warmup`` frames for a camera without
    analysis history (from the open stream, or snapshots ``settings.cold_start_interval_s``
    apart). Persistent readers live in ``source_cache`` (at most
    ``settings.persistent_readers_max``, least recently used closed first). Raises SourceError;
    a failing persistent reader is dropped so the next attempt reconnects."""
    from ingestion.sources import SnapshotSource, Timeouts, open_source
    from ingestion.url_policy import UrlPolicy

    policy = UrlPolicy.from_settings(settings)  # camera URL rules, checked before any I/O
    timeouts = Timeouts(settings.connect_timeout_s, settings.read_timeout_s)
    persistent = (
        camera.protocol in ("rtsp", "hls", "mjpeg")
        and camera.interval_s <= settings.persistent_reader_max_interval_s
        and settings.persistent_readers_max > 0
    ) or camera.protocol == "file"
    key = camera.id
    cached = source_cache.pop(key, None)  # re-inserted below: most recently used last
    if cached is not None and (cached[0] != (camera.url, camera.protocol)):
        cached[1].close()
        cached = None
    reopened = False
    if cached is None:
        if camera.protocol == "snapshot" and client is not None:
            src = SnapshotSource(
                camera.url, timeouts, settings.frame_max_width, client=client, policy=policy
            )
        else:
            src = open_source(
                camera.url,
                camera.protocol,
                timeouts,
                max_width=settings.frame_max_width,
                persistent=persistent,
                policy=policy,
            )
        reopened = True
    else:
        src = cached[1]
    if persistent:
        limit = settings.persistent_readers_max if camera.protocol != "file" else 1 << 30
        _cache_reader(source_cache, key, ((camera.url, camera.protocol), src), limit)
    n = camera.burst_frames
    jpegs: list[bytes] | None = None
    try:
        if n + warmup > 1:
            interval = camera.burst_interval_s if n > 1 else settings.cold_start_interval_s
            if isinstance(src, SnapshotSource):
                # kept as JPEG (~50 KB, not ~700 KB decoded) while the sample waits between
                # fetches and for the analysis: many cold cameras warm up at once
                jpegs = [src.read_jpeg()]
                while len(jpegs) < n + warmup:
                    time.sleep(interval)
                    jpegs.append(src.read_jpeg())
                frames = []
            else:
                frames = src.read_burst(n + warmup, interval)
        elif isinstance(src, SnapshotSource):
            # kept as JPEG: the analysis may need only a reduced-scale decode (Fetched.decode)
            jpegs, frames = [src.read_jpeg()], []
        else:
            frames = [src.read()]
    except Exception:
        src.close()
        source_cache.pop(key, None)
        raise
    frame_ts = src.last_frame_at or time.time()
    if not persistent:
        src.close()
    if jpegs is not None:
        return Fetched([], [], frame_ts, reopened, jpegs, n, settings.frame_max_width)
    if len(frames) > n:  # the first ones warm the analysis up; the last n are counted
        return Fetched(frames[-n:], frames[:-n], frame_ts, reopened)
    return Fetched(frames, [], frame_ts, reopened)
