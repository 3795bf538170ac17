"""Camera health: online/degraded/offline with readable reasons, backoff, counters.

One :class:`CameraHealth` per camera, owned by whoever schedules it (the local supervisor, or a
Celery worker process). It is fed every sample's outcome and says (a) whether the status changed
(a :class:`Transition` to store as a ``CameraStatusEvent``) and (b) when to try next: on the
camera's own interval while healthy, with capped exponential backoff and jitter while failing.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field

from store.models import CameraStatus

logger = logging.getLogger(__name__)

#: Reason prefixes by error kind, in Indonesian first (operators' language) then English.
KIND_LABEL = {
    "connect": "Tidak terhubung / cannot connect",
    "timeout": "Tidak merespons / not responding",
    "corrupt": "Gambar rusak / corrupt image",
    "eof": "Aliran terputus / stream ended",
    "stall": "Pekerja macet / worker stalled",
    "analysis": "Analitik gagal / analysis failed",
    "policy": "URL ditolak / URL not allowed",
    "error": "Gangguan / error",
}


@dataclass(frozen=True)
class Transition:
    camera_id: int
    status: str
    reason: str | None
    ts: float  # epoch seconds


@dataclass
class CameraHealth:
    camera_id: int
    code: str = ""
    status: str = CameraStatus.UNKNOWN
    reason: str | None = None
    offline_after: int = 3
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    slow_fetch_s: float = 5.0
    samples: int = 0
    failures: int = 0
    corrupt: int = 0
    reconnects: int = 0
    consecutive_failures: int = 0
    last_frame_at: float | None = None  # epoch of the last good sample
    last_error: str | None = None
    last_fetch_ms: float | None = None
    last_process_ms: float | None = None
    _recent: deque = field(default_factory=lambda: deque(maxlen=10))  # True ok / False failed
    _ok_times: deque = field(default_factory=lambda: deque(maxlen=30))

    @property
    def fps(self) -> float:
        """Good samples per second over the recent window (0 when fewer than two)."""
        if len(self._ok_times) < 2:
            return 0.0
        span = self._ok_times[-1] - self._ok_times[0]
        return (len(self._ok_times) - 1) / span if span > 0 else 0.0

    def _set(self, status: str, reason: str | None, now: float) -> Transition | None:
        # a new event when the status changes, or the *kind* of trouble does (not its details,
        # e.g. a byte count, which would flood the event log)
        kind = (reason or "").split(":", 1)[0]
        old_kind = (self.reason or "").split(":", 1)[0]
        changed = status != self.status or (status != CameraStatus.ONLINE and kind != old_kind)
        old = self.status
        self.status, self.reason = status, reason
        if not changed:
            return None
        if old != status:
            logger.info(
                "camera %s: %s -> %s (%s)", self.code or self.camera_id, old, status, reason or "ok"
            )
        return Transition(self.camera_id, status, reason, now)

    def record_success(
        self,
        now: float | None = None,
        fetch_ms: float | None = None,
        process_ms: float | None = None,
    ) -> Transition | None:
        now = time.time() if now is None else now
        self.samples += 1
        self.consecutive_failures = 0
        self.last_frame_at = now
        self.last_fetch_ms, self.last_process_ms = fetch_ms, process_ms
        self._recent.append(True)
        self._ok_times.append(now)
        failed = self._recent.count(False)
        if fetch_ms is not None and fetch_ms > self.slow_fetch_s * 1000:
            return self._set(
                CameraStatus.DEGRADED, f"Lambat / slow: frame took {fetch_ms / 1000:.1f}s", now
            )
        if len(self._recent) >= 5 and failed >= 3:
            return self._set(
                CameraStatus.DEGRADED,
                f"Tidak stabil / unstable: {failed} of last {len(self._recent)} samples failed",
                now,
            )
        return self._set(CameraStatus.ONLINE, None, now)

    def record_failure(
        self, kind: str, message: str, now: float | None = None
    ) -> Transition | None:
        now = time.time() if now is None else now
        self.failures += 1
        if kind == "corrupt":
            self.corrupt += 1
        self.consecutive_failures += 1
        self._recent.append(False)
        label = KIND_LABEL.get(kind, KIND_LABEL["error"])
        reason = f"{label}: {message}"[:300]
        self.last_error = reason
        # a URL the camera URL rules refuse never gets better by retrying: offline at once
        if kind == "policy" or self.consecutive_failures >= self.offline_after:
            return self._set(CameraStatus.OFFLINE, reason, now)
        return self._set(CameraStatus.DEGRADED, reason, now)

    def retry_delay(self, interval_s: float) -> float:
        """Seconds until the next attempt after a failure: capped exponential with jitter.
        Never later than a healthy camera's interval would be... unless the backoff says so."""
        base = min(self.backoff_base_s, interval_s)
        n = max(1, self.consecutive_failures)
        delay = min(self.backoff_max_s, base * (2 ** (n - 1)))
        return delay * random.uniform(0.8, 1.2)

    def snapshot(self) -> dict:
        return {
            "camera_id": self.camera_id,
            "code": self.code,
            "status": str(self.status),
            "reason": self.reason,
            "samples": self.samples,
            "failures": self.failures,
            "corrupt": self.corrupt,
            "reconnects": self.reconnects,
            "consecutive_failures": self.consecutive_failures,
            "last_frame_at": self.last_frame_at,
            "fps": round(self.fps, 4),
            "last_fetch_ms": self.last_fetch_ms,
            "last_process_ms": self.last_process_ms,
        }
