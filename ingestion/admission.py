"""Admission control for the Celery scheduler: enqueue no more than the workers can do in time.

Without it, a city larger than its workers collapses instead of degrading: the scheduler
enqueues every slot, the queue grows, each task waits past the point where its frame is too old
to analyse (or past its expiry), and the workers spend their time discarding stale work — a
full-size run with 10,693 cameras on two overloaded cores stored 784 samples in 10 minutes.

The gate measures how many tasks the workers actually finish (the fall of the queue lengths
plus what was enqueued meanwhile), smooths it, and lets the queues hold at most that rate times
``target_wait_s`` (never less than ``floor``). A slot that finds no room is skipped — counted
as ``expired`` in the metrics and logged with the measured capacity — so what the workers do
take is fresh and the city gets as many samples as its workers can analyse.

The local pool has the same idea in ``PANTAU_DISPATCH_MAX_INFLIGHT``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ingestion.metrics import PRIORITY_SUFFIXES

logger = logging.getLogger(__name__)


@dataclass
class QueueGate:
    """Pure bookkeeping: feed it queue lengths with :meth:`observe`, ask :meth:`room`."""

    target_wait_s: float = 20.0
    floor: int = 200
    alpha: float = 0.3  # weight of the newest rate measurement
    min_dt_s: float = 1.0  # shortest span a rate is measured over
    rate: float | None = None  # tasks the workers finish per second (smoothed)
    queued: int = 0  # tasks waiting at the last observation
    _last_t: float | None = None
    _last_fetch: int = 0
    _last_analyse: int = 0
    _enqueued_since: int = 0  # by this scheduler since the rate was last measured
    _enqueued_since_read: int = 0  # by this scheduler since the queues were last read

    def observe(self, now: float, fetch_len: int, analyse_len: int) -> None:
        """Record the queue lengths read at ``now`` (monotonic seconds). The rate is measured
        over spans of at least ``min_dt_s``; readings in between only update ``queued``."""
        self.queued = fetch_len + analyse_len
        self._enqueued_since_read = 0
        if self._last_t is not None and now - self._last_t < self.min_dt_s:
            return
        if self._last_t is not None:
            dt = now - self._last_t
            fetched = max(0, self._enqueued_since + self._last_fetch - fetch_len)
            analysed = max(0, fetched + self._last_analyse - analyse_len)
            busy = self._last_fetch + self._last_analyse > 0 or self._enqueued_since > 0
            if busy:  # an empty pipeline says nothing about its capacity
                measured = min(fetched, analysed) / dt
                self.rate = (
                    measured
                    if self.rate is None
                    else (1 - self.alpha) * self.rate + self.alpha * measured
                )
        self._last_t = now
        self._last_fetch, self._last_analyse = fetch_len, analyse_len
        self._enqueued_since = 0

    @property
    def limit(self) -> int:
        """Most tasks the queues may hold."""
        if self.rate is None:
            return self.floor
        return max(self.floor, int(self.rate * self.target_wait_s))

    def room(self) -> int:
        """How many more tasks may be enqueued now."""
        return max(0, self.limit - self.queued - self._enqueued_since_read)

    def enqueued(self, n: int = 1) -> None:
        self._enqueued_since += n
        self._enqueued_since_read += n


def queue_lengths(redis: Any, namespace: str, fetch_queue: str, analyse_queue: str) -> tuple:
    """(fetch, analyse) lengths on the broker (all priority steps), in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for q in (fetch_queue, analyse_queue):
        for suffix in PRIORITY_SUFFIXES:
            pipe.llen(namespace + q + suffix)
    out = pipe.execute()
    n = len(PRIORITY_SUFFIXES)
    return int(sum(out[:n])), int(sum(out[n:]))
