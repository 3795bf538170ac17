"""``GET /metrics``: ingestion health in the Prometheus text format.

Access (machine-to-machine, no session): a request is answered when it

* carries ``Authorization: Bearer <PANTAU_METRICS_TOKEN>`` (compared in constant time; no
  token configured means no token works), or
* comes from loopback (127.0.0.0/8, ::1) and was not forwarded by a proxy (no
  ``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP`` header), unless
  ``PANTAU_METRICS_LOOPBACK=false``.

A database that cannot be reached is a ``503`` (JSON, ``Retry-After``), so the scrape fails
visibly. Everything else gets **404** (the endpoint is off for that caller: it does not tell a scanner
that there is something to guess a token for); a wrong token is logged. A signed-in staff
session grants nothing here.

Families (``mode`` is ``local`` for the local pool, ``celery`` for Celery workers):

* ``pantau_samples_total{mode,outcome,reason}`` — due samples by outcome: ``stored``,
  ``failed`` (``reason``: connect, timeout, http, corrupt, eof, stall, analysis, error...),
  ``expired``, ``late``;
* ``pantau_samples_unknown_count_total{mode}`` — stored samples without a count (no history);
* ``pantau_sample_lateness_seconds{mode}`` — histogram of frame time − schedule slot;
* ``pantau_fetch_duration_seconds``, ``pantau_analysis_duration_seconds``,
  ``pantau_write_duration_seconds`` ``{mode}`` — histograms (local writes: one per batch);
* ``pantau_cameras{status}`` — cameras by status, from the database;
* ``pantau_queue_length{queue}`` — Celery queue lengths in Redis;
  ``pantau_celery_unacked_tasks`` — delivered, not yet acknowledged tasks;
* ``pantau_scheduler_samples{state="due"|"inflight"}`` — the local scheduler;
* ``pantau_writer_backlog_samples`` — results waiting for the local writer;
* ``pantau_ingest_process_resident_memory_bytes{mode,role,host,pid}`` and
  ``pantau_ingest_process_heartbeat_timestamp_seconds{...}`` — per ingestion process;
* ``pantau_worker_restarts_total{mode="local"}`` — worker processes the supervisor replaced
  (Celery replaces its own children; a Celery worker shows as a new pid in the process
  families);
* ``pantau_notifications{status}`` — outbox rows by status: pending, delivering,
  delivered, dead (``store.outbox``; alert on ``dead`` > 0);
* ``pantau_ingest_up{mode}`` — 1 when that source reported recently;
  ``pantau_ingest_status_age_seconds`` — age of the local supervisor's metrics file.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from dashboard import auth, context
from dashboard.queries.ingestion import ingest_snapshot
from dashboard.queries.notify import outbox_counts
from ingestion import metrics as im

logger = logging.getLogger(__name__)

PATH = "/metrics"
FORWARD_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
HIST_NAMES = {
    "lateness": ("pantau_sample_lateness_seconds", "Frame time minus schedule slot of a sample."),
    "fetch": ("pantau_fetch_duration_seconds", "Time to fetch a camera's frame(s)."),
    "analyse": ("pantau_analysis_duration_seconds", "Time to analyse a sample."),
    "write": (
        "pantau_write_duration_seconds",
        "Time to write to the store (local: one writer batch; Celery: one sample).",
    ),
}

bp = Blueprint("pantau_metrics", __name__)
auth.allow_route(PATH, auth.PUBLIC)  # machine endpoint: its own check below, not a session


def _from_loopback() -> bool:
    if any(request.headers.get(h) for h in FORWARD_HEADERS):
        return False
    try:
        addr = ipaddress.ip_address((request.remote_addr or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool((mapped or addr).is_loopback)


def allowed() -> bool:
    """Whether this request may read /metrics (token or loopback, see the module doc)."""
    cfg = context.settings()
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and cfg.metrics_token:
        sent = header[7:].strip().encode("utf-8", "replace")
        if hmac.compare_digest(sent, cfg.metrics_token.encode("utf-8")):
            return True
        logger.warning("GET /metrics with a wrong token from %s", request.remote_addr)
    return bool(cfg.metrics_loopback) and _from_loopback()


class SnapshotCollector(Collector):
    """Prometheus families from one :func:`ingest_snapshot` (built per scrape)."""

    def __init__(self, snap: dict[str, Any]) -> None:
        self.snap = snap

    def collect(self):  # noqa: ANN201 - a generator of metric families
        snap = self.snap
        sources = [("local", snap.get("local_metrics")), ("celery", snap.get("celery_metrics"))]
        samples = CounterMetricFamily(
            "pantau_samples",
            "Due camera samples by outcome (stored, failed by reason, expired, late).",
            labels=["mode", "outcome", "reason"],
        )
        unknown = CounterMetricFamily(
            "pantau_samples_unknown_count",
            "Stored samples whose count is unknown (no analysis history yet).",
            labels=["mode"],
        )
        hists = {
            key: HistogramMetricFamily(name, doc, labels=["mode"], unit="")
            for key, (name, doc) in HIST_NAMES.items()
        }
        for mode, doc in sources:
            if not doc:
                continue
            totals = doc.get("totals") or {}
            for (outcome, reason), count in sorted(im.outcome_counts(totals).items()):
                samples.add_metric([mode, outcome, reason], count)
            unknown.add_metric([mode], float(totals.get("unknown_count", 0)))
            for key, fam in hists.items():
                buckets, total = im.histogram(totals, key)
                fam.add_metric([mode], buckets, total)
        yield samples
        yield unknown
        yield from hists.values()

        cams = GaugeMetricFamily("pantau_cameras", "Cameras by status.", labels=["status"])
        for status, n in sorted((snap.get("cameras_by_status") or {}).items()):
            cams.add_metric([status], n)
        yield cams

        queues = GaugeMetricFamily(
            "pantau_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"]
        )
        for name, n in sorted((snap.get("queues") or {}).items()):
            queues.add_metric([name], n)
        yield queues
        if snap.get("unacked") is not None:
            yield GaugeMetricFamily(
                "pantau_celery_unacked_tasks",
                "Celery tasks delivered to a worker and not yet acknowledged.",
                value=snap["unacked"],
            )
        sched = snap.get("scheduler")
        if sched:
            fam = GaugeMetricFamily(
                "pantau_scheduler_samples",
                "Local scheduler: samples due now and not dispatched, and in flight.",
                labels=["state"],
            )
            fam.add_metric(["due"], sched.get("due", 0))
            fam.add_metric(["inflight"], sched.get("inflight", 0))
            yield fam
        if snap.get("writer_backlog") is not None:
            yield GaugeMetricFamily(
                "pantau_writer_backlog_samples",
                "Results waiting for the local writer.",
                value=snap["writer_backlog"],
            )

        labels = ["mode", "role", "host", "pid"]
        rss = GaugeMetricFamily(
            "pantau_ingest_process_resident_memory_bytes",
            "Resident memory of an ingestion process.",
            labels=labels,
        )
        beat = GaugeMetricFamily(
            "pantau_ingest_process_heartbeat_timestamp_seconds",
            "Last heartbeat of an ingestion process (Unix time).",
            labels=labels,
        )
        for p in snap.get("processes") or []:
            values = [str(p.get(k, "")) for k in ("mode", "role", "host", "pid")]
            if p.get("rss_bytes") is not None:
                rss.add_metric(values, float(p["rss_bytes"]))
            if p.get("heartbeat_at") is not None:
                beat.add_metric(values, float(p["heartbeat_at"]))
        yield rss
        yield beat

        restarts = CounterMetricFamily(
            "pantau_worker_restarts",
            "Local worker processes the supervisor replaced (died or hung).",
            labels=["mode"],
        )
        if snap.get("local"):
            restarts.add_metric(["local"], snap.get("worker_restarts") or 0)
        yield restarts

        if snap.get("outbox") is not None:
            fam = GaugeMetricFamily(
                "pantau_notifications",
                "Outgoing notifications in the outbox by status (pending, delivering, "
                "delivered, dead).",
                labels=["status"],
            )
            for status, n in sorted(snap["outbox"].items()):
                fam.add_metric([status], n)
            yield fam

        up = GaugeMetricFamily(
            "pantau_ingest_up", "1 when an ingestion source reported recently.", labels=["mode"]
        )
        up.add_metric(["local"], 1.0 if snap.get("local_live") else 0.0)
        up.add_metric(["celery"], 1.0 if snap.get("celery") else 0.0)
        yield up
        if snap.get("local"):
            yield GaugeMetricFamily(
                "pantau_ingest_status_age_seconds",
                "Seconds since the local supervisor last wrote var/ingest_metrics.json.",
                value=snap["local"].get("age_s", 0.0),
            )


def render(snap: dict[str, Any]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    return generate_latest(registry)


@bp.get(PATH)
def metrics() -> Response:
    if not allowed():
        resp = jsonify(error="not found")
        resp.status_code = 404
        return resp
    t0 = time.perf_counter()
    try:
        snap = ingest_snapshot(context.settings(), context.db(), with_failing=False)
        with context.db().session() as session:
            snap["outbox"] = outbox_counts(session)
    except SQLAlchemyError as exc:  # the scrape fails visibly (up=0), never an HTML 500
        logger.error("/metrics: database unavailable: %s", exc)
        resp = jsonify(error="database_unavailable", message="The database is unavailable.")
        resp.status_code = 503
        resp.headers["Retry-After"] = "10"
        return resp
    body = render(snap)
    logger.debug("/metrics in %.1f ms", (time.perf_counter() - t0) * 1000)
    resp = Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
    resp.headers["Cache-Control"] = "no-store"
    return resp
