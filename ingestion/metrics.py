"""Ingestion metrics: what the local pool and the Celery workers did, in a shape the dashboard
(``/metrics``, the admin page "Ingestion") and ``pantau ingest`` read.

Recording (cheap, inside the ingestion processes):

* :class:`IngestMetrics` — in-process counters and fixed-bucket histograms plus a per-minute
  window of the last :data:`WINDOW_MINUTES` minutes. The local supervisor owns one, feeds it
  from the Success/Failure messages its workers send (they carry the timings) and from the
  writer's batches, and every 5 s writes :meth:`IngestMetrics.to_dict` with
  :func:`supervisor_status` (per-process pid/RSS/heartbeat, scheduler and writer backlog) into
  ``var/ingest_metrics.json`` (:func:`write_metrics_file`, a few KiB, what the dashboard reads)
  and into ``var/ingest_status.json`` (which also lists every camera: megabytes at city scale).
* :class:`RedisMetricsSink` — Celery workers: one sample is one pipelined round trip of
  ``HINCRBY``/``HINCRBYFLOAT`` on a totals hash and on a per-minute hash (with a TTL), and the
  process's RSS and heartbeat are a field of the hash ``pantau:metrics:procs`` (``host:pid``);
  readers drop rows older than :data:`PROCESS_TTL_S` (no key scans on a busy broker).

Both sides use the same flat field names (``samples|<outcome>|<reason>``,
``<histogram>|le|<bound>``, ``<histogram>|sum``, ``<histogram>|count``), so a status file and
a Redis hash are read, merged and summarised by the same code (:func:`merge`,
:func:`summarize`).

Outcomes of a due sample (:data:`OUTCOMES`): ``stored`` (analysed and handed to the writer),
``failed`` with a reason (the health kind: ``connect``, ``timeout``, ``http``, ``corrupt``,
``eof``, ``stall``, ``analysis``, ``error``...), ``expired`` (never run: a Celery task past
its expiry, a slot skipped because the camera fell behind) and ``late`` (an answer that came
after the local watchdog had already failed its sample as ``stall``: discarded; the sample is
counted under both, so outcomes can add up to a little more than the samples due). A stored sample whose count
is unknown (a camera's first sample without history) is also counted in ``unknown_count``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

OUTCOMES = ("stored", "failed", "expired", "late")
#: Histograms: name -> upper bounds in seconds (Prometheus ``le``; +Inf is implicit).
BUCKETS: dict[str, tuple[float, ...]] = {
    "lateness": (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600),
    "fetch": (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
    "analyse": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    "write": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
}
HISTOGRAMS = tuple(BUCKETS)
WINDOW_MINUTES = 15
#: Celery queues whose length the dashboard reports (``ingestion.celery_app`` FETCH_QUEUE and
#: ANALYSE_QUEUE; not imported, so the dashboard does not load Celery).
CELERY_QUEUES = ("pantau.fetch", "pantau.analyse")
#: kombu's Redis transport keeps one list per queue and priority step
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
REDIS_PREFIX = "pantau:metrics"
#: The local supervisor's metrics, beside var/ingest_status.json (which also carries them) but
#: small (a few KiB whatever the camera count): what the dashboard reads on every scrape.
METRICS_FILE = "ingest_metrics.json"
PROCESS_TTL_S = 60
_REASON_RE = re.compile(r"[^a-z0-9_]+")


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


def bucket_field(hist: str, seconds: float) -> str:
    """The field counting ``seconds`` in histogram ``hist`` (non-cumulative bucket)."""
    for bound in BUCKETS[hist]:
        if seconds <= bound:
            return f"{hist}|le|{_le(bound)}"
    return f"{hist}|le|+Inf"


def clean_reason(reason: str | None) -> str:
    """A failure reason as a short label value (lower case, ``[a-z0-9_]``, ≤ 32 chars)."""
    if not reason:
        return ""
    return _REASON_RE.sub("_", str(reason).lower()).strip("_")[:32] or "error"


def sample_fields(
    outcome: str,
    reason: str | None = None,
    lateness_s: float | None = None,
    fetch_s: float | None = None,
    analyse_s: float | None = None,
    write_s: float | None = None,
    unknown_count: bool = False,
) -> dict[str, float]:
    """The increments one sample makes (field -> amount)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown sample outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
    fields: dict[str, float] = {
        f"samples|{outcome}|{clean_reason(reason) if outcome == 'failed' else ''}": 1
    }
    if unknown_count and outcome == "stored":
        fields["unknown_count"] = 1
    for hist, value in (
        ("lateness", lateness_s),
        ("fetch", fetch_s),
        ("analyse", analyse_s),
        ("write", write_s),
    ):
        if value is None or not math.isfinite(value):
            continue
        value = max(0.0, float(value))
        fields[bucket_field(hist, value)] = 1
        fields[f"{hist}|sum"] = value
        fields[f"{hist}|count"] = 1
    return fields


def write_fields(seconds: float) -> dict[str, float]:
    """The increments of one writer batch (local mode writes in batches, not per sample)."""
    seconds = max(0.0, float(seconds))
    return {bucket_field("write", seconds): 1, "write|sum": seconds, "write|count": 1}


def _add(into: dict[str, float], fields: Mapping[str, float]) -> None:
    for key, value in fields.items():
        into[key] = into.get(key, 0) + value


def minute_of(ts: float) -> int:
    return int(ts // 60)


# --------------------------------------------------------------------------------------------
# process facts
def rss_bytes(pid: int | None = None) -> int | None:
    """Resident memory of a process (this one by default); None when it is gone."""
    import psutil

    try:
        return int(psutil.Process(pid or os.getpid()).memory_info().rss)
    except (psutil.Error, OSError):
        return None


def process_info(role: str, pid: int | None = None, **extra: Any) -> dict[str, Any]:
    """One row of the process table: role, host, pid, RSS, heartbeat time (epoch s)."""
    pid = pid or os.getpid()
    row = {
        "role": role,
        "host": socket.gethostname(),
        "pid": pid,
        "rss_bytes": rss_bytes(pid),
        "heartbeat_at": time.time(),
    }
    row.update(extra)
    return row


class SampleRecorder:
    """What both recorders share: a due sample's outcome and timings become flat fields that
    ``_record`` adds to the totals and the current minute."""

    def _record(self, fields: Mapping[str, float], now: float | None) -> None:
        raise NotImplementedError

    def observe_sample(
        self,
        outcome: str,
        lateness_s: float | None = None,
        fetch_s: float | None = None,
        analyse_s: float | None = None,
        write_s: float | None = None,
        *,
        reason: str | None = None,
        unknown_count: bool = False,
        now: float | None = None,
    ) -> None:
        """Count one due sample with its outcome and whatever timings it has (seconds)."""
        self._record(
            sample_fields(outcome, reason, lateness_s, fetch_s, analyse_s, write_s, unknown_count),
            now,
        )

    def observe_expired(self, n: int, now: float | None = None) -> None:
        """Count ``n`` due samples never run (skipped for lack of room, past their expiry)."""
        if n > 0:
            self._record({"samples|expired|": n}, now)


# --------------------------------------------------------------------------------------------
# in-process recorder (local pool)
class IngestMetrics(SampleRecorder):
    """Counters and histograms of one ingestion process (thread-safe)."""

    def __init__(self, window_minutes: int = WINDOW_MINUTES) -> None:
        self.window_minutes = window_minutes
        self.totals: dict[str, float] = {}
        self.minutes: dict[int, dict[str, float]] = {}
        self.started_at = time.time()
        self._lock = threading.Lock()

    def _record(self, fields: Mapping[str, float], now: float | None) -> None:
        minute = minute_of(time.time() if now is None else now)
        with self._lock:
            _add(self.totals, fields)
            _add(self.minutes.setdefault(minute, {}), fields)
            if len(self.minutes) > self.window_minutes:
                for old in sorted(self.minutes)[: len(self.minutes) - self.window_minutes]:
                    del self.minutes[old]

    def observe_write(self, seconds: float, now: float | None = None) -> None:
        """Count one writer batch that took ``seconds`` to commit."""
        self._record(write_fields(seconds), now)

    def observe_message(self, msg: Any, now: float | None = None) -> None:
        """Count a local worker's answer: a ``Success`` (has ``result``) or a ``Failure`` (has
        ``kind``), with lateness = frame time (or now) − the sample's slot."""
        now = time.time() if now is None else now
        fetch_ms = getattr(msg, "fetch_ms", None)
        fetch_s = fetch_ms / 1000 if fetch_ms is not None else None
        result = getattr(msg, "result", None)
        if result is None:
            self.observe_sample(
                "failed", fetch_s=fetch_s, reason=getattr(msg, "kind", "error"), now=now
            )
            return
        timings = getattr(result, "timings_ms", None) or {}
        analyse_ms = timings.get("process")
        self.observe_sample(
            "stored",
            lateness_s=frame_lateness(result, getattr(msg, "due", None), now),
            fetch_s=fetch_s,
            analyse_s=analyse_ms / 1000 if analyse_ms is not None else None,
            unknown_count=count_unknown(result),
            now=now,
        )

    def observe_skipped(
        self, interval_s: float, done_due: float, next_due: float, now: float | None = None
    ) -> int:
        """Count as ``expired`` the slots a camera that fell behind skips: those strictly
        between the slot just done and the next one scheduled. Returns how many."""
        if interval_s <= 0:
            return 0
        skipped = max(0, round((next_due - done_due) / interval_s) - 1)
        if skipped:
            self._record({"samples|expired|": skipped}, now)
        return skipped

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "started_at": self.started_at,
                "totals": dict(self.totals),
                "minutes": {str(m): dict(v) for m, v in self.minutes.items()},
            }


def frame_lateness(result: Any, due: float | None, now: float) -> float | None:
    """Seconds between a sample's schedule slot ``due`` and the time its frame was taken
    (``SampleResult.ts``; the time it came back when there is none)."""
    if due is None:
        return None
    frame = getattr(result, "ts", None)
    if frame is not None and hasattr(frame, "timestamp"):
        frame = frame.timestamp()
    try:
        return max(0.0, float(frame if frame is not None else now) - float(due))
    except (TypeError, ValueError):
        return None


def count_unknown(result: Any) -> bool:
    """Whether a stored sample carries no count (a cold camera: ``SampleResult.cold``, the
    observation's ``extra.cold``)."""
    if getattr(result, "cold", False):
        return True
    obs = getattr(result, "observation", None) or {}
    return bool((obs.get("extra") or {}).get("cold"))


# --------------------------------------------------------------------------------------------
# the local supervisor's part of var/ingest_status.json
def supervisor_status(sup: Any) -> dict[str, Any]:
    """Metrics, processes (pid, RSS, heartbeat), scheduler queue and writer backlog of a local
    :class:`ingestion.local.Supervisor` for its status file."""
    now_wall, now_mono = time.time(), time.monotonic()
    procs = [process_info("supervisor", started_at=getattr(sup, "started_at", None))]
    beats = getattr(sup, "_beats", {}) or {}
    for index, proc in enumerate(list(getattr(sup, "_procs", []) or [])):
        pid = getattr(proc, "pid", None)
        if pid is None:
            continue
        beat = beats.get(index)
        procs.append(
            {
                "role": "worker",
                "index": index,
                "host": procs[0]["host"],
                "pid": pid,
                "alive": bool(proc.is_alive()) if hasattr(proc, "is_alive") else None,
                "rss_bytes": rss_bytes(pid),
                # the supervisor grants a grace period by setting a beat in the future
                "heartbeat_at": now_wall - max(0.0, now_mono - beat) if beat else None,
            }
        )
    due = inflight = 0
    lock = getattr(sup, "_lock", None)
    slots = getattr(sup, "slots", {}) or {}
    if lock is not None:
        with lock:
            for slot in slots.values():
                if getattr(slot, "inflight_since", None) is not None:
                    inflight += 1
                elif getattr(slot, "due", now_wall + 1) <= now_wall:
                    due += 1
    writer = getattr(sup, "writer", None)
    metrics = getattr(sup, "metrics", None)
    return {
        "updated_at": datetime.fromtimestamp(now_wall, UTC).isoformat(),
        "mode": "local",
        "processes": procs,
        "scheduler": {"due": due, "inflight": inflight, "cameras": len(slots)},
        "writer_backlog": writer._q.qsize() if writer is not None and hasattr(writer, "_q") else 0,
        "worker_restarts": getattr(sup, "worker_restarts", 0),
        "metrics": metrics.to_dict() if metrics is not None else None,
    }


def write_metrics_file(sup: Any) -> dict[str, Any]:
    """Write :func:`supervisor_status` to ``var_dir/ingest_metrics.json`` (atomically) and return
    it, for the supervisor's status file too."""
    from ingestion.process import atomic_write

    doc = supervisor_status(sup)
    atomic_write(Path(sup.settings.var_dir) / METRICS_FILE, json.dumps(doc, default=str).encode())
    return doc


# --------------------------------------------------------------------------------------------
# Redis sink (Celery workers) and reader (dashboard)
class RedisMetricsSink(SampleRecorder):
    """Records samples of Celery worker processes into Redis and reads them back.

    ``observe_sample`` costs one pipelined round trip; a Redis outage is logged (once a minute)
    and never fails the sample."""

    def __init__(
        self,
        url_or_client: Any,
        prefix: str | None = None,
        role: str = "celery-worker",
        window_minutes: int = WINDOW_MINUTES,
        namespace: str = "",
    ) -> None:
        if isinstance(url_or_client, str):
            import redis

            self.redis = redis.Redis.from_url(
                url_or_client, socket_connect_timeout=1.0, socket_timeout=2.0
            )
        else:
            self.redis = url_or_client
        self.namespace = namespace  # settings.celery_namespace: queues and keys carry it
        self.prefix = prefix or namespace + REDIS_PREFIX
        self.role = role
        self.window_minutes = window_minutes
        self._last_beat = 0.0
        self._last_error_log = 0.0

    # keys
    @property
    def totals_key(self) -> str:
        return f"{self.prefix}:totals"

    def minute_key(self, minute: int) -> str:
        return f"{self.prefix}:min:{minute}"

    @property
    def processes_key(self) -> str:
        return f"{self.prefix}:procs"

    # writing
    def _push(self, fields: Mapping[str, float], now: float | None, extra=None) -> None:  # noqa: ANN001
        now = time.time() if now is None else now
        mkey = self.minute_key(minute_of(now))
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in (self.totals_key, mkey):
                for field, amount in fields.items():
                    if field.endswith("|sum"):  # seconds: floats
                        pipe.hincrbyfloat(key, field, float(amount))
                    else:
                        pipe.hincrby(key, field, int(amount))
            pipe.expire(mkey, (self.window_minutes + 1) * 60)
            if extra is not None:
                extra(pipe)
            if now - self._last_beat >= 5.0:
                self._last_beat = now
                row = process_info(self.role)
                pipe.hset(self.processes_key, f"{row['host']}:{row['pid']}", json.dumps(row))
            pipe.execute()
        except Exception as exc:  # metrics never break ingestion
            if now - self._last_error_log > 60:
                self._last_error_log = now
                logger.warning("cannot record ingestion metrics in Redis: %s", exc)

    def _record(self, fields: Mapping[str, float], now: float | None) -> None:
        self._push(fields, now)

    def observe_result(
        self, result: Any, slot: float, fetch_ms: float | None, write_s: float | None
    ) -> None:
        """Count a stored ``SampleResult``: lateness = frame time − ``slot``, its timings."""
        now = time.time()
        analyse_ms = (getattr(result, "timings_ms", None) or {}).get("process")
        self.observe_sample(
            "stored",
            frame_lateness(result, slot, now),
            fetch_ms / 1000 if fetch_ms is not None else None,
            analyse_ms / 1000 if analyse_ms is not None else None,
            write_s,
            unknown_count=count_unknown(result),
            now=now,
        )

    def beat(self, now: float | None = None) -> None:
        """Refresh this process's row if the last one is older than 5 s (cheap to call in a
        loop: the Celery scheduler calls it every tick)."""
        now = time.time() if now is None else now
        if now - self._last_beat >= 5.0:
            self._push({}, now)

    def heartbeat(self, now: float | None = None) -> None:
        """Refresh this process's row (RSS, heartbeat) now."""
        self._last_beat = 0.0
        self._push({}, now)

    # reading
    def read(self, now: float | None = None, queues: Iterable[str] = CELERY_QUEUES) -> dict:
        """Totals, the last minutes, live processes and queue lengths (raises on Redis errors)."""
        now = time.time() if now is None else now
        current = minute_of(now)
        minutes = list(range(current - self.window_minutes + 1, current + 1))
        queues = tuple(queues)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.totals_key)
        for m in minutes:
            pipe.hgetall(self.minute_key(m))
        for q in queues:  # kombu's Redis transport: one list per queue and priority step
            for suffix in PRIORITY_SUFFIXES:
                pipe.llen(self.namespace + q + suffix)
        pipe.hgetall(self.processes_key)
        pipe.hlen(self.namespace + "unacked")
        out = pipe.execute()
        totals = _decode_hash(out[0])
        by_minute = {
            str(m): _decode_hash(h) for m, h in zip(minutes, out[1 : 1 + len(minutes)], strict=True)
        }
        lengths = out[1 + len(minutes) : -2]
        n = len(PRIORITY_SUFFIXES)
        queue_len = {q: int(sum(lengths[i * n : i * n + n])) for i, q in enumerate(queues)}
        processes, gone = [], []
        for field, raw in (out[-2] or {}).items():
            try:
                row = json.loads(raw)
                fresh = now - float(row.get("heartbeat_at") or 0) <= PROCESS_TTL_S
            except (ValueError, TypeError, AttributeError):
                fresh = False
            if fresh:
                processes.append(row)
            else:  # a process that stopped (or was killed) PROCESS_TTL_S ago
                gone.append(field)
        if gone:
            self.redis.hdel(self.processes_key, *gone)
        return {
            "mode": "celery",
            "metrics": {
                "totals": totals,
                "minutes": {k: v for k, v in by_minute.items() if v},
            },
            "processes": sorted(processes, key=lambda p: (p.get("host", ""), p.get("pid", 0))),
            "queues": queue_len,
            "unacked": int(out[-1] or 0),
        }

    def reset(self) -> None:
        """Delete every metrics key under the prefix (tests, `pantau` maintenance)."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=500))
        if keys:
            self.redis.delete(*keys)


_sinks: dict[tuple[str, str, str], RedisMetricsSink] = {}
_sinks_lock = threading.Lock()


def celery_sink(settings: Any, role: str = "celery-worker") -> RedisMetricsSink:
    """The process's sink on the Celery broker's Redis (``settings.celery_namespace`` applied),
    for the one-line hooks in ``ingestion/tasks.py``."""
    from ingestion.celery_app import redis_client

    k = (settings.celery_broker_url, settings.celery_namespace, role)
    with _sinks_lock:
        sink = _sinks.get(k)
        if sink is None:
            sink = RedisMetricsSink(
                redis_client(settings), role=role, namespace=settings.celery_namespace
            )
            _sinks[k] = sink
        return sink


def count_expired_celery_tasks(settings: Any) -> None:
    """Count tasks Celery drops because they expired before a worker took them (the signal
    ``task_revoked`` with ``expired=True``, sent in the worker that received the message)."""
    from celery.signals import task_revoked

    def _on_revoked(sender: Any = None, request: Any = None, expired: bool = False, **_: Any):  # noqa: ANN202
        if expired:
            celery_sink(settings).observe_sample("expired")

    task_revoked.connect(_on_revoked, weak=False)


def _decode_hash(raw: Mapping[Any, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in (raw or {}).items():
        key = k.decode() if isinstance(k, bytes) else str(k)
        try:
            out[key] = float(v)
        except (TypeError, ValueError):
            continue
    return out


# --------------------------------------------------------------------------------------------
# reading side: merge and summarise
def merge(*metric_dicts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Sum the ``totals`` and ``minutes`` of several metric dicts (local + Celery)."""
    totals: dict[str, float] = {}
    minutes: dict[str, dict[str, float]] = {}
    starts = []
    for doc in metric_dicts:
        if not doc:
            continue
        _add(totals, doc.get("totals") or {})
        for m, fields in (doc.get("minutes") or {}).items():
            _add(minutes.setdefault(str(m), {}), fields)
        starts.append(doc.get("started_at"))
    # when every source says since when it counts (a fresh supervisor), rates use that
    started = min(starts) if starts and None not in starts else None
    return {"totals": totals, "minutes": minutes, "started_at": started}


def outcome_counts(fields: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """(outcome, reason) -> count from flat fields."""
    out: dict[tuple[str, str], float] = {}
    for key, value in fields.items():
        if key.startswith("samples|"):
            _, outcome, reason = key.split("|", 2)
            out[(outcome, reason)] = out.get((outcome, reason), 0) + value
    return out


def histogram(fields: Mapping[str, float], hist: str) -> tuple[list[tuple[str, float]], float]:
    """Cumulative Prometheus buckets [(le, count)...] ending with +Inf, and the sum."""
    from prometheus_client.utils import floatToGoString  # "2.0", "+Inf" as Prometheus writes

    running = 0.0
    buckets = []
    for bound in (*BUCKETS[hist], math.inf):
        running += fields.get(f"{hist}|le|{_le(bound)}", 0)
        buckets.append((floatToGoString(bound), running))
    return buckets, float(fields.get(f"{hist}|sum", 0.0))


def quantile(fields: Mapping[str, float], hist: str, q: float) -> float | None:
    """The ``q`` quantile of a histogram, interpolated inside its bucket as Prometheus's
    ``histogram_quantile`` does (None without observations; the highest finite bound when it
    falls in +Inf)."""
    buckets, _ = histogram(fields, hist)
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for le, count in buckets:
        bound = math.inf if le == "+Inf" else float(le)
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def window(metrics: Mapping[str, Any], now: float, minutes: int) -> dict[str, float]:
    """Fields summed over the last ``minutes`` whole and current minutes."""
    current = minute_of(now)
    out: dict[str, float] = {}
    for m, fields in (metrics.get("minutes") or {}).items():
        if current - minutes < int(m) <= current:
            _add(out, fields)
    return out


def summarize(metrics: Mapping[str, Any], now: float | None = None, minutes: int = 5) -> dict:
    """What people read: lateness p50/p95 (s) and samples per minute by outcome over the last
    ``minutes`` minutes, plus all-time totals per outcome."""
    now = time.time() if now is None else now
    recent = window(metrics, now, minutes)
    # rates divide by the time actually covered: the window (its current minute is partial),
    # or less when the counting process started within it
    start = (minute_of(now) - minutes + 1) * 60
    if metrics.get("started_at"):
        start = max(start, float(metrics["started_at"]))
    covered = max(1 / 6, (now - start) / 60)  # at least 10 s: no wild rates at start-up
    per_minute: dict[str, float] = {}
    for (outcome, _reason), count in outcome_counts(recent).items():
        per_minute[outcome] = per_minute.get(outcome, 0) + count / covered
    totals: dict[str, float] = {}
    failed_by_reason: dict[str, float] = {}
    for (outcome, reason), count in outcome_counts(metrics.get("totals") or {}).items():
        totals[outcome] = totals.get(outcome, 0) + count
        if outcome == "failed":
            failed_by_reason[reason or "error"] = count
    return {
        "window_minutes": minutes,
        "lateness_p50_s": quantile(recent, "lateness", 0.5),
        "lateness_p95_s": quantile(recent, "lateness", 0.95),
        "per_minute": per_minute,
        "totals": totals,
        "failed_by_reason": failed_by_reason,
        "unknown_count": float((metrics.get("totals") or {}).get("unknown_count", 0)),
    }


def per_minute_series(
    metrics: Mapping[str, Any], now: float | None = None, minutes: int = WINDOW_MINUTES
) -> list[tuple[int, dict[str, float]]]:
    """[(minute start epoch s, {outcome: count})] for the last ``minutes`` minutes, oldest
    first (minutes with nothing are zeros)."""
    now = time.time() if now is None else now
    current = minute_of(now)
    by_minute = metrics.get("minutes") or {}
    series = []
    for m in range(current - minutes + 1, current + 1):
        counts: dict[str, float] = {}
        for (outcome, _r), count in outcome_counts(by_minute.get(str(m)) or {}).items():
            counts[outcome] = counts.get(outcome, 0) + count
        series.append((m * 60, counts))
    return series
