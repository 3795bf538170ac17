"""Celery application for scaled-out ingestion: two queues, two kinds of worker.

::

    pantau ingest --celery (scheduler)         pantau.fetch (thread pool, I/O)      pantau.analyse (solo processes, CPU)
    one task per camera slot  ───────────────> fetch JPEG(s), hard deadline ───────> decode, analyse, write
    skips cameras in backoff                   failure -> shared health              success -> shared health

A hanging camera holds one fetch *thread* until its deadline, never an analysis process; the
analysis processes only ever see frames that arrived. Both task kinds are acknowledged late and
rejected on worker loss, and Redis hands a task that a dead worker held to another worker after
``celery_visibility_timeout_s``; the write of a redone sample is a no-op because observations
are unique per (camera, slot). Camera health (failure count, next attempt) lives in Redis and
the database, shared by every worker; a camera's analysis is serialised by a short Redis lock.

Start workers with ``pantau worker`` (both roles) or ``pantau worker --role fetch|analyse``.
An analysis "process" is a solo Celery worker of its own by default (it consumes the queue
itself; :class:`TimeLimits` enforces the analysis time limits there), or a child of one prefork
worker with ``--pool prefork``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init

from pantau.settings import Settings

logger = logging.getLogger(__name__)

FETCH_QUEUE = "pantau.fetch"
ANALYSE_QUEUE = "pantau.analyse"
FETCH_TASK = "pantau.fetch"
ANALYSE_TASK = "pantau.analyse"
#: hard limit of an analysis = soft limit + this (the soft limit raises in the task first)
HARD_LIMIT_GRACE_S = 15.0


@worker_process_init.connect
def _one_opencv_thread_per_process(**_kwargs: Any) -> None:
    """Prefork children run one sample at a time each: OpenCV's own thread pool would only
    oversubscribe the cores (the local pool does the same in its workers)."""
    import cv2

    cv2.setNumThreads(1)


_pool = {"name": ""}


@worker_init.connect
def _remember_pool(sender: Any = None, **_kwargs: Any) -> None:
    _pool["name"] = str(getattr(sender, "pool_cls", "") or "")


def solo_pool() -> bool:
    """This process is a Celery worker with the solo pool: tasks run in its main thread and
    Celery enforces no time limits there (:class:`TimeLimits` does)."""
    return "solo" in _pool["name"].lower()


class TimeLimits:
    """Soft and hard time limits of a task run in a solo worker's main thread (the prefork
    pool's parent enforces them otherwise). At the soft limit SIGALRM raises Celery's
    ``SoftTimeLimitExceeded`` in the task, as the prefork pool's SIGUSR1 does; a task stuck
    past the hard limit (inside C code, where a signal waits) ends the process like the prefork
    parent kills its child: ``on_hard()`` runs first (e.g. marks the sample as done so its
    redelivery is dropped, as the prefork pool acknowledges a task past its hard limit), then
    ``os._exit(HARD_LIMIT_EXIT)``; ``pantau worker`` starts the process again. A watchdog
    thread per process looks at the running task's deadline every ``poll_s`` (a task only sets
    two attributes: no lock, no wake-up per task)."""

    def __init__(self, poll_s: float = 0.5) -> None:
        self.poll_s = poll_s
        self._task: tuple[float, Any] | None = None  # (hard deadline, on_hard) of the task
        self._thread: threading.Thread | None = None

    def _watch(self) -> None:
        import os
        import time

        while True:
            time.sleep(self.poll_s)
            task = self._task
            if task is None or time.monotonic() < task[0]:
                continue
            logger.error("analysis task past its hard time limit: ending this worker process")
            try:
                if task[1] is not None:
                    task[1]()
            except Exception as exc:
                logger.error("hard time limit bookkeeping failed: %s", exc)
            finally:
                logging.shutdown()
                os._exit(HARD_LIMIT_EXIT)

    def run(self, fn: Any, soft_s: float, hard_s: float, on_hard: Any = None) -> Any:
        """``fn()`` under the limits (in the main thread; elsewhere it just runs ``fn()``)."""
        import signal
        import time

        if threading.current_thread() is not threading.main_thread():
            return fn()
        from celery.exceptions import SoftTimeLimitExceeded

        def _soft(_signum: int, _frame: Any) -> None:
            raise SoftTimeLimitExceeded(f"soft time limit ({soft_s:g} s) exceeded")

        if self._thread is None:
            self._thread = threading.Thread(
                target=self._watch, name="pantau-hard-limit", daemon=True
            )
            self._thread.start()
        self._task = (time.monotonic() + hard_s, on_hard)
        previous = signal.signal(signal.SIGALRM, _soft)
        signal.setitimer(signal.ITIMER_REAL, soft_s)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self._task = None


#: exit status of a solo analysis worker that ended itself at a task's hard time limit
HARD_LIMIT_EXIT = 70
time_limits = TimeLimits()


def _lost_connection_is_a_connection_error() -> None:
    """kombu's Redis channel, once its connection is closed, fails with ``AttributeError``
    ('NoneType' object has no attribute 'hostname') when a fetch thread acknowledges a finished
    task, or when the consumer restores unacknowledged tasks, while the broker connection is
    being re-made (a broker restart). That error is not one of the connection errors kombu and
    Celery handle, so the whole fetch worker stopped with "Unrecoverable error". Raise the
    connection error it really is: the ack is retried by redelivery after the visibility
    timeout (writes are idempotent) and the worker reconnects like the analysis worker does."""
    import redis
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.Channel._connparams
    if getattr(original, "_pantau", False):
        return

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed")
        return original(self, asynchronous)

    _connparams._pantau = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = _connparams  # type: ignore[method-assign]


_lost_connection_is_a_connection_error()


def restore_interval_s(settings: Settings) -> float:
    """How often a worker looks for tasks whose visibility timeout passed (kombu's default
    sweep is every 100 s, far too slow for a timeout of two sample intervals)."""
    return max(1.0, min(10.0, settings.celery_visibility_timeout_s / 10))


def transport_options(settings: Settings) -> dict[str, Any]:
    return {
        "visibility_timeout": settings.celery_visibility_timeout_s,
        "unacked_restore_interval": restore_interval_s(settings),
        "unacked_restore_throttle": 1,
        "global_keyprefix": settings.celery_namespace,
        # a broker that vanishes without closing the socket must not block a publish forever
        "socket_timeout": 10.0,
        "socket_connect_timeout": 5.0,
        "socket_keepalive": True,
        "health_check_interval": 10,
    }


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "pantau",
        broker=settings.celery_broker_url,
        backend=settings.celery_result_backend or None,
        include=["ingestion.tasks"],
    )
    analyse_soft = settings.celery_analyse_time_limit_s
    app.conf.update(
        task_default_queue=FETCH_QUEUE,
        task_routes={
            FETCH_TASK: {"queue": FETCH_QUEUE},
            ANALYSE_TASK: {"queue": ANALYSE_QUEUE},
        },
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options(settings),
        result_backend_transport_options={"global_keyprefix": settings.celery_namespace},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a broker restart: keep trying, never give up
        task_annotations={
            # fetch workers use a thread pool, where Celery cannot enforce time limits: the
            # fetch enforces its own hard deadline (celery_fetch.fetch_jpegs)
            ANALYSE_TASK: {
                "soft_time_limit": analyse_soft,
                "time_limit": analyse_soft + HARD_LIMIT_GRACE_S,
            },
        },
        result_expires=3600,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


_redis_lock = threading.Lock()
_redis_clients: dict[str, Any] = {}


def redis_client(settings: Settings) -> Any:
    """The process's Redis client for shared health, locks and analysis order (the broker's
    Redis; thread-safe, one connection pool per process)."""
    import redis

    url = settings.celery_broker_url
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_timeout=5.0,
                socket_connect_timeout=3.0,
                health_check_interval=10,
                retry_on_timeout=True,
            )
            _redis_clients[url] = client
        return client


def key(settings: Settings, *parts: object) -> str:
    """A Redis key of the Celery path, e.g. ``key(s, "health", 12)`` -> ``pantau:health:12``."""
    return settings.celery_namespace + "pantau:" + ":".join(str(p) for p in parts)
