"""Celery tasks of scaled-out ingestion: ``pantau.fetch`` (I/O) and ``pantau.analyse`` (CPU).

``pantau.fetch(camera_id, slot)`` runs on a fetch worker (thread pool): it fetches the camera's
JPEG(s) under a hard deadline and hands them, in a short-lived Redis key, to
``pantau.analyse(camera_id, slot, frame_ts, fetch_ms, frames_key, warmup)`` on an analysis
process (a solo worker per core, or prefork children), which decodes, runs ``process_burst``
(the same code as the local pool, with the camera's analysis state loaded from and saved to
Redis) and writes the observation, camera status and alerts in one transaction. A camera
without a warm state gets ``cold_start_frames`` extra frames fetched first (``warmup``), fed
to its history only.

``slot`` is the sample's schedule slot chosen by the scheduler (``ingestion.celery_scheduler``)
and the observation's idempotency key, so a redelivered task writes nothing new; ``frame_ts``
is when the frame was read. A failed fetch or an undecodable frame updates the shared health
(:class:`ingestion.health.SharedHealth`), which sets when the scheduler tries the camera again.

Analyses of one camera are serialised by a Redis lock and never go back in time: an analysis
for a slot at or before the last one analysed for that camera is dropped (it was a duplicate
delivery, or it arrived after a newer sample had already moved the camera's state on).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingestion.celery_app import (
    ANALYSE_QUEUE,
    ANALYSE_TASK,
    FETCH_TASK,
    HARD_LIMIT_GRACE_S,
    key,
    make_celery,
    redis_client,
    solo_pool,
    time_limits,
)
from ingestion.celery_scheduler import run_scheduler, slot_for  # noqa: F401 - public API
from ingestion.metrics import celery_sink, count_expired_celery_tasks
from pantau.settings import Settings, get_settings

logger = logging.getLogger(__name__)

celery_app = make_celery(get_settings())
count_expired_celery_tasks(get_settings())  # expired tasks count in /metrics
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per camera request otherwise

#: a fetch started later than this many intervals after its slot is skipped (the camera's next
#: slot is already queued); a frame waiting longer than this for analysis is dropped. Tasks
#: redelivered after a worker died are exempt: they are late by design.
FETCH_MAX_LATE_INTERVALS = 1.0
ANALYSE_MAX_AGE_INTERVALS = 2.0
LOCK_WAIT_S = 10.0  # wait this long for another analysis of the same camera, then retry
ORDER_TTL_S = 7 * 86400


@dataclass
class _Worker:
    """What one worker process keeps between tasks (built lazily, after a prefork fork)."""

    settings: Settings
    database: Any
    specs: Any
    health: Any
    redis: Any
    alerts: Any = None
    _states: Any = None
    _fetcher: Any = None
    _processor: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def fetcher(self) -> Any:
        from ingestion.celery_fetch import Fetcher

        with self._lock:
            if self._fetcher is None:
                self._fetcher = Fetcher(self.settings)
            return self._fetcher

    @property
    def processor(self) -> Any:
        with self._lock:
            if self._processor is None:
                self._processor = _make_processor(self.settings, self.redis)
            return self._processor


def _make_processor(settings: Settings, redis: Any) -> Any:
    """The analysis processor of this process: each camera's analysis state is loaded from and
    saved to Redis around every sample, so it follows the camera to whichever worker takes it
    (a bounded in-process cache avoids re-reading a blob nobody changed)."""
    from ingestion.process import SampleProcessor

    return SampleProcessor(settings, states=state_store(settings, redis))


def state_store(settings: Settings, redis: Any) -> Any:
    """The shared per-camera analysis states (``analysis_state_redis_url`` or the broker)."""
    from ingestion.state_store import RedisStateStore

    client = settings.analysis_state_redis_url or redis
    return RedisStateStore(
        client, prefix=key(settings, "state") + ":", ttl_s=settings.analysis_state_ttl_s
    )


def _states_portable() -> bool:
    """The Analyser exports its state (until it does, states stay in the analysis process and
    the fetch stage cannot tell a cold camera: no warm-up frames, cold counts are unknown)."""
    from analytics.pipeline import Analyser

    return hasattr(Analyser, "export_state")


def _is_cold(w: _Worker, camera_id: int) -> bool:
    """No warm analysis state for the camera in Redis: fetch warm-up frames with the sample."""
    if w.settings.cold_start_frames <= 0 or not _states_portable():
        return False
    if w._states is None:
        w._states = state_store(w.settings, w.redis)
    try:
        return w._states.client.hget(w._states.key(camera_id), "warm") != b"1"
    except Exception as exc:  # Redis away: no warm-up (the analysis stores unknown counts)
        logger.debug("cannot read the state of camera %s: %s", camera_id, exc)
        return False


_workers: dict[tuple[str, str], _Worker] = {}
_workers_lock = threading.Lock()


def worker_state(settings: Settings | None = None) -> _Worker:
    from ingestion.alerts import AlertEngine
    from ingestion.celery_fetch import SpecCache
    from ingestion.health import SharedHealth
    from store.db import get_database

    settings = settings or get_settings()
    wkey = (settings.sqlalchemy_url, settings.celery_broker_url + settings.celery_namespace)
    with _workers_lock:
        w = _workers.get(wkey)
        if w is None:
            database = get_database(settings.sqlalchemy_url)
            redis = redis_client(settings)
            w = _Worker(
                settings=settings,
                database=database,
                specs=SpecCache(settings, database),
                health=SharedHealth(settings, redis),
                redis=redis,
                alerts=AlertEngine(settings),  # per process: keeps its usual-crowd cache
            )
            _workers[wkey] = w
        return w


def _write(w: _Worker, results: list, transition: Any, code: str) -> tuple[int, bool]:
    """Observation(s) and a status transition in one transaction, retrying database hiccups.
    Returns (observations inserted, transition applied)."""
    from ingestion.health import apply_transition
    from ingestion.writer import is_transient, write_batch

    for attempt in range(8):
        try:
            with w.database.session() as s:
                inserted = write_batch(s, results, [], w.alerts) if results else 0
                applied = apply_transition(s, transition) if transition is not None else False
            if transition is not None:
                _quietly(
                    w.health.remember, transition.camera_id, transition.status, transition.reason
                )
            return inserted, applied
        except Exception as exc:
            if not is_transient(exc) or attempt == 7:
                raise
            logger.warning("database hiccup writing %s: %s; retrying", code, exc)
            time.sleep(min(5.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Redis bookkeeping that must not fail a sample (the broker may be restarting)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        logger.warning("redis bookkeeping %s failed: %s", getattr(fn, "__name__", fn), exc)
        return None


def _failure(w: _Worker, spec: Any, slot: float, kind: str, message: str) -> dict[str, Any]:
    celery_sink(w.settings).observe_sample("failed", reason=kind)  # /metrics, admin page
    outcome = w.health.record(spec.id, slot, spec.interval_s, ok=False, kind=kind, message=message)
    _write(w, [], outcome.transition, spec.code)
    return {
        "camera_id": spec.id,
        "slot": slot,
        "ok": False,
        "status": outcome.status,
        "reason": outcome.reason,
        "next_attempt_at": outcome.next_attempt_at,
    }


# --------------------------------------------------------------------------------------------
def run_fetch(
    camera_id: int,
    slot: float,
    redelivered: bool = False,
    settings: Settings | None = None,
    warm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fetch one sample of one camera and queue its analysis (or record the failure).
    ``warm``: a later step of a cold snapshot camera's warm-up (see :func:`_warm_step`)."""
    from ingestion.celery_fetch import stash
    from ingestion.sources import SourceError

    w = worker_state(settings)
    spec = w.specs.get(camera_id)
    if spec is None:
        return {"camera_id": camera_id, "skipped": "unknown, disabled or without stream URL"}
    if warm is not None:
        return _warm_step(w, spec, slot, warm)
    late = time.time() - slot
    if not redelivered and late > spec.interval_s * FETCH_MAX_LATE_INTERVALS:
        logger.info("fetch of %s skipped: %.0fs after its slot", spec.code, late)
        celery_sink(w.settings).observe_sample("expired")
        return {"camera_id": camera_id, "slot": slot, "skipped": "late"}
    warmup = w.settings.cold_start_frames if _is_cold(w, camera_id) else 0
    if warmup and _stepwise_warmup(spec, w.settings):
        return _warm_step(w, spec, slot, {"left": warmup + 1, "ms": 0.0})
    t0 = time.perf_counter()
    try:
        got = w.fetcher.fetch_jpegs(spec, warmup)
    except SourceError as exc:
        return _failure(w, spec, slot, exc.kind, str(exc))
    except Exception as exc:
        logger.exception("fetch of %s crashed", spec.code)
        return _failure(w, spec, slot, "error", f"{type(exc).__name__}: {exc}")
    fetch_ms = round((time.perf_counter() - t0) * 1000, 3)
    # the frames outlive a redelivery of the analysis (its worker died)
    ttl = w.settings.celery_visibility_timeout_s + 2 * spec.interval_s
    name = stash(w.redis, w.settings, camera_id, slot, got.jpegs, ttl + 60)
    analyse_sample.apply_async(
        args=(camera_id, slot, got.frame_ts, fetch_ms, name, got.warmup),
        queue=ANALYSE_QUEUE,
        expires=ttl,
    )
    return {"camera_id": camera_id, "slot": slot, "ok": True, "fetch_ms": fetch_ms}


def _stepwise_warmup(spec: Any, settings: Settings) -> bool:
    """A cold snapshot camera's warm-up frames are fetched by separate tasks
    ``cold_start_interval_s`` apart (a countdown), not by one task sleeping between them: a
    city's first start would otherwise hold every fetch thread asleep (2 warm-up frames 1 s
    apart: ~2.5 s per cold camera) while warm cameras' samples wait. Streams (RTSP, HLS,
    MJPEG) read their warm-up from one open connection; bursts keep their own spacing."""
    return (
        spec.protocol == "snapshot"
        and spec.burst_frames <= 1
        and settings.cold_start_interval_s > 0
    )


def _warm_step(w: _Worker, spec: Any, slot: float, warm: dict[str, Any]) -> dict[str, Any]:
    """One frame of a cold snapshot camera's sample: ``warm["left"]`` frames are still to fetch
    (this one included); the first step starts the sample's Redis list, the last one queues the
    analysis with every earlier frame as warm-up. A redelivered step may add a frame twice: the
    analysis counts only the last frame either way."""
    from ingestion.celery_app import FETCH_QUEUE
    from ingestion.celery_fetch import append, stash
    from ingestion.sources import SourceError

    left, first = int(warm.get("left", 1)), warm.get("key") is None
    t0 = time.perf_counter()
    try:
        got = w.fetcher.fetch_jpegs(spec, 0)
    except SourceError as exc:
        return _failure(w, spec, slot, exc.kind, str(exc))
    except Exception as exc:
        logger.exception("fetch of %s crashed", spec.code)
        return _failure(w, spec, slot, "error", f"{type(exc).__name__}: {exc}")
    fetch_ms = round(float(warm.get("ms", 0.0)) + (time.perf_counter() - t0) * 1000, 3)
    ttl = w.settings.celery_visibility_timeout_s + 2 * spec.interval_s
    if first:
        name = stash(w.redis, w.settings, spec.id, slot, got.jpegs, ttl + 60)
        held = len(got.jpegs)
    else:
        name = str(warm["key"])
        held = append(w.redis, name, got.jpegs, ttl + 60)
    if left > 1:
        fetch_sample.apply_async(
            args=(spec.id, slot),
            kwargs={"warm": {"left": left - 1, "key": name, "ms": fetch_ms}},
            queue=FETCH_QUEUE,
            countdown=w.settings.cold_start_interval_s,
            expires=ttl,
        )
        return {"camera_id": spec.id, "slot": slot, "ok": True, "warming": left - 1}
    analyse_sample.apply_async(
        args=(spec.id, slot, got.frame_ts, fetch_ms, name, max(0, held - 1)),
        queue=ANALYSE_QUEUE,
        expires=ttl,
    )
    return {"camera_id": spec.id, "slot": slot, "ok": True, "fetch_ms": fetch_ms}


class CameraBusy(Exception):
    """Another analysis of the camera holds its lock."""


def run_analysis(
    camera_id: int,
    slot: float,
    frame_ts: float,
    fetch_ms: float | None,
    frames_key: str,
    warmup: int = 0,
    redelivered: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Decode, analyse and write one fetched sample (see the module docstring)."""
    from ingestion.celery_fetch import take
    from ingestion.sources import CorruptFrame, decode_jpeg, decode_jpeg_scaled

    w = worker_state(settings)
    s = w.settings
    spec = w.specs.get(camera_id)
    if spec is None:
        return {"camera_id": camera_id, "skipped": "unknown, disabled or without stream URL"}
    age = time.time() - frame_ts
    if not redelivered and age > spec.interval_s * ANALYSE_MAX_AGE_INTERVALS:
        logger.warning("analysis of %s dropped: frame %.0fs old", spec.code, age)
        celery_sink(s).observe_sample("expired")
        return {"camera_id": camera_id, "slot": slot, "skipped": "stale"}
    lock = w.redis.lock(
        key(s, "cam", camera_id, "lock"),
        timeout=s.celery_analyse_time_limit_s + HARD_LIMIT_GRACE_S,
        blocking_timeout=LOCK_WAIT_S,
    )
    order_key = key(s, "cam", camera_id, "slot")
    # the usual case in one round trip: take the lock (as Lock.acquire does), read the
    # camera's last slot and the frames; a camera busy elsewhere falls back to waiting
    token = uuid.uuid4().hex.encode()
    pipe = w.redis.pipeline(transaction=False)
    pipe.set(lock.name, token, nx=True, px=int(lock.timeout * 1000))
    pipe.get(order_key)
    pipe.lrange(frames_key, 0, -1)
    locked, last, jpegs = pipe.execute()
    if locked:
        lock.local.token = token
    elif lock.acquire():
        last, jpegs = w.redis.get(order_key), take(w.redis, frames_key)
    else:
        raise CameraBusy(f"camera {spec.code} is being analysed elsewhere")
    released = False
    try:
        if last is not None and float(last) >= slot:
            return {"camera_id": camera_id, "slot": slot, "skipped": "not newer than the state"}
        if not jpegs:  # expired (a very late redelivery) or lost with a broker restart
            logger.warning("analysis of %s: its frames are gone (%s)", spec.code, frames_key)
            return {"camera_id": camera_id, "slot": slot, "skipped": "frames gone"}
        try:
            # a quiet sample needs only a reduced-scale decode (the full one if a stage asks)
            need = w.processor.reduced_size(spec)
            images = [
                decode_jpeg_scaled(j, s.frame_max_width, need)
                if need is not None
                else decode_jpeg(j, s.frame_max_width)
                for j in jpegs
            ]
            result = w.processor.process_burst(
                spec,
                images[warmup:],
                datetime.fromtimestamp(frame_ts, UTC),  # ts: when the frame was read
                slot=datetime.fromtimestamp(slot, UTC),  # the idempotency key
                warmup=images[:warmup],
                jpeg=jpegs[-1],
            )
        except (CorruptFrame, ValueError) as exc:
            return _failure(w, spec, slot, "corrupt", str(exc))
        except Exception as exc:
            if type(exc).__name__ == "SoftTimeLimitExceeded":
                raise
            logger.exception("analysis of %s failed", spec.code)
            return _failure(w, spec, slot, "analysis", f"{type(exc).__name__}: {exc}"[:200])
        if fetch_ms is not None:
            result.timings_ms["fetch"] = fetch_ms
        slow_ms = fetch_ms if not warmup else None  # a warm-up fetch is long by design
        outcome = w.health.record(spec.id, slot, spec.interval_s, ok=True, fetch_ms=slow_ms)
        t_write = time.perf_counter()
        inserted, _ = _write(w, [result], outcome.transition, spec.code)
        celery_sink(s).observe_result(result, slot, fetch_ms, time.perf_counter() - t_write)
        # after the write: a worker dying before this line leaves the sample to be redone
        pipe = w.redis.pipeline(transaction=False)
        pipe.set(order_key, repr(float(slot)), ex=ORDER_TTL_S)
        pipe.delete(frames_key)
        # and the lock's release (its script by SHA: Script objects add a SCRIPT EXISTS
        # round trip in pipelines; a Redis that lost the script makes lock.release() below
        # load it)
        pipe.evalsha(lock.lua_release.sha, 1, lock.name, lock.local.token)
        done = pipe.execute(raise_on_error=False)
        for res in done[:2]:
            if isinstance(res, Exception):
                raise res
        released = not isinstance(done[2], Exception)
        return {
            "camera_id": camera_id,
            "code": spec.code,
            "slot": slot,
            "frame_ts": frame_ts,
            "ok": True,
            "inserted": inserted,
            "status": outcome.status,
        }
    finally:
        if not released:
            _quietly(lock.release)


# --------------------------------------------------------------------------------------------
def _redelivered(task: Any) -> bool:
    info = getattr(task.request, "delivery_info", None) or {}
    return bool(info.get("redelivered"))


@celery_app.task(name=FETCH_TASK, bind=True)
def fetch_sample(
    self: Any, camera_id: int, slot: float, warm: dict[str, Any] | None = None
) -> dict[str, Any]:
    return run_fetch(camera_id, slot, redelivered=_redelivered(self), warm=warm)


@celery_app.task(
    name=ANALYSE_TASK,
    bind=True,
    autoretry_for=(CameraBusy,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=12,
)
def analyse_sample(
    self: Any,
    camera_id: int,
    slot: float,
    frame_ts: float,
    fetch_ms: float | None,
    frames_key: str,
    warmup: int = 0,
) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        return run_analysis(
            camera_id, slot, frame_ts, fetch_ms, frames_key, warmup, redelivered=_redelivered(self)
        )

    if not solo_pool():  # the prefork pool enforces the task's time limits
        return run()
    s = get_settings()
    soft = s.celery_analyse_time_limit_s
    return time_limits.run(
        run, soft, soft + HARD_LIMIT_GRACE_S, _drop_redelivery(s, camera_id, slot)
    )


def _drop_redelivery(settings: Settings, camera_id: int, slot: float) -> Any:
    """At a solo worker's hard time limit: record the sample's slot as the camera's last, so
    the redelivery of the task (its process is ending, unacknowledged) is dropped instead of
    hanging the next process too; the prefork pool acknowledges a task past its hard limit."""

    def mark() -> None:
        r = redis_client(settings)
        order_key = key(settings, "cam", camera_id, "slot")
        last = r.get(order_key)
        if last is None or float(last) < slot:
            r.set(order_key, repr(float(slot)), ex=ORDER_TTL_S)
        logger.error("analysis of camera %s slot %s passed its hard time limit", camera_id, slot)

    return mark
