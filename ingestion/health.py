"""Camera health: online/degraded/offline with readable reasons, backoff, counters.

One :class:`CameraHealth` per camera, owned by the local supervisor. It is fed every sample's outcome and says (a) whether the status changed
(a :class:`Transition` to store as a ``CameraStatusEvent``) and (b) when to try next: on the
camera's own interval while healthy, with capped exponential backoff and jitter while failing.

Celery workers share :class:`SharedHealth` instead (Redis counters + the database status, see
below), so every worker process sees the same failure count and a transition is stored once.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

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


# --------------------------------------------------------------------------------------------
# health shared by every Celery worker: Redis (counters, next attempt) + the database (status)
_RECORD_LUA = """
local k = KEYS[1]
local ok = ARGV[1] == '1'
local consecutive
if ok then
  redis.call('HSET', k, 'consecutive', 0)
  redis.call('HDEL', k, 'next_at')
  consecutive = 0
else
  consecutive = redis.call('HINCRBY', k, 'consecutive', 1)
  local delay = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (consecutive - 1))
  redis.call('HSET', k, 'next_at', tostring(tonumber(ARGV[2]) + delay))
end
local recent = (redis.call('HGET', k, 'recent') or '') .. (ok and '1' or '0')
recent = string.sub(recent, -10)
redis.call('HSET', k, 'recent', recent)
redis.call('EXPIRE', k, tonumber(ARGV[5]))
return {consecutive, recent, redis.call('HGET', k, 'status') or '', redis.call('HGET', k, 'next_at') or ''}
"""


@dataclass(frozen=True)
class SharedOutcome:
    """What :meth:`SharedHealth.record` decided: the camera's status now, and the transition
    to store (None when the status and the kind of trouble did not change)."""

    status: str
    reason: str | None
    consecutive_failures: int
    next_attempt_at: float | None
    transition: Transition | None


def _kind(status: str, reason: str | None) -> str:
    return f"{status}|{(reason or '').split(':', 1)[0]}"


class SharedHealth:
    """Camera health for Celery workers: one record per camera in Redis
    (``pantau:health:<id>``: consecutive failures, the last 10 outcomes, next attempt, last
    status) updated atomically by a Lua script, so every worker process sees the same counts.

    After a failure of the sample at slot ``s`` the next attempt is ``s + min(reconnect_max_s,
    interval * 2**(n-1))`` (n = consecutive failures): the next slot after one failure, then 2, 4,
    ... intervals, capped. The scheduler skips a camera until then.

    A status change is written to the database by :func:`apply_transition` with a conditional
    UPDATE in the caller's transaction: only the worker whose UPDATE changed the row adds the
    ``CameraStatusEvent``, so two workers seeing the same failure write one event.
    """

    def __init__(self, settings: Any, redis: Any = None) -> None:
        from ingestion.celery_app import redis_client

        self.settings = settings
        self.redis = redis if redis is not None else redis_client(settings)
        self._script = self.redis.register_script(_RECORD_LUA)

    def _key(self, camera_id: int) -> str:
        from ingestion.celery_app import key

        return key(self.settings, "health", camera_id)

    def record(
        self,
        camera_id: int,
        slot: float,
        interval_s: float,
        ok: bool,
        *,
        kind: str = "error",
        message: str = "",
        fetch_ms: float | None = None,
        now: float | None = None,
    ) -> SharedOutcome:
        s = self.settings
        now = time.time() if now is None else now
        ttl = int(max(86400, s.reconnect_max_s * 4))
        consecutive, recent, cached, next_at = self._script(
            keys=[self._key(camera_id)],
            args=[
                1 if ok else 0,
                repr(float(slot)),
                repr(float(interval_s)),
                repr(float(s.reconnect_max_s)),
                ttl,
            ],
        )
        consecutive = int(consecutive)
        recent = recent.decode() if isinstance(recent, bytes) else str(recent)
        cached = cached.decode() if isinstance(cached, bytes) else str(cached)
        next_at_f = float(next_at) if next_at else None
        if ok:
            failed = recent.count("0")
            slow_s = max(1.0, s.read_timeout_s * 0.6)
            if fetch_ms is not None and fetch_ms > slow_s * 1000:
                status, reason = (
                    CameraStatus.DEGRADED,
                    f"Lambat / slow: frame took {fetch_ms / 1000:.1f}s",
                )
            elif len(recent) >= 5 and failed >= 3:
                status, reason = (
                    CameraStatus.DEGRADED,
                    f"Tidak stabil / unstable: {failed} of last {len(recent)} samples failed",
                )
            else:
                status, reason = CameraStatus.ONLINE, None
        else:
            label = KIND_LABEL.get(kind, KIND_LABEL["error"])
            reason = f"{label}: {message}"[:300]
            # a URL the camera URL rules refuse never gets better by retrying: offline at once
            offline = kind == "policy" or consecutive >= s.offline_after_failures
            status = CameraStatus.OFFLINE if offline else CameraStatus.DEGRADED
        transition = None
        if cached != _kind(status, reason):
            transition = Transition(camera_id, str(status), reason, now)
        return SharedOutcome(str(status), reason, consecutive, next_at_f, transition)

    def remember(self, camera_id: int, status: str, reason: str | None) -> None:
        """After the transaction that applied a transition committed: the status the database
        holds now, so the next samples with the same status skip the database round trip."""
        self.redis.hset(self._key(camera_id), "status", _kind(status, reason))

    def next_attempts(self, camera_ids: list[int]) -> dict[int, float]:
        """Next attempt time of each camera in backoff (others are absent)."""
        if not camera_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for cam_id in camera_ids:
            pipe.hget(self._key(cam_id), "next_at")
        out: dict[int, float] = {}
        for cam_id, value in zip(camera_ids, pipe.execute(), strict=True):
            if value:
                out[cam_id] = float(value)
        return out


def apply_transition(session: Any, transition: Transition) -> bool:
    """Set the camera's status in the caller's transaction if it differs (status, or kind of
    trouble); add a ``CameraStatusEvent`` only when this call changed the row. True if it did."""
    from datetime import UTC, datetime

    from sqlalchemy import and_, func, or_, update

    from store.models import Camera, CameraStatusEvent

    kind = (transition.reason or "").split(":", 1)[0] + ":"
    differs = or_(
        Camera.status != transition.status,
        and_(
            Camera.status != CameraStatus.ONLINE,
            or_(
                Camera.status_reason.is_(None),
                func.substr(Camera.status_reason, 1, len(kind)) != kind,
            ),
        ),
    )
    changed = session.execute(
        update(Camera)
        .where(Camera.id == transition.camera_id, differs)
        .values(status=transition.status, status_reason=transition.reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    session.add(
        CameraStatusEvent(
            camera_id=transition.camera_id,
            ts=datetime.fromtimestamp(transition.ts, UTC),
            status=transition.status,
            reason=transition.reason,
        )
    )
    logger.info(
        "camera %s -> %s (%s)", transition.camera_id, transition.status, transition.reason or "ok"
    )
    return True
