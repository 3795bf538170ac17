"""Read side of ingestion health, for ``/metrics`` and the admin page "Ingestion".

Three sources, each optional:

* the local supervisor's ``var_dir/ingest_metrics.json`` (written every 5 s: metrics,
  processes with pid/RSS/heartbeat, scheduler due/in-flight, writer backlog, worker restarts;
  the same as in ``ingest_status.json`` without the per-camera rows);
* Redis (the Celery broker): what Celery workers recorded with
  ``ingestion.metrics.RedisMetricsSink``, their processes, the queue lengths;
* the database: cameras by status, failing cameras with reason and since when.

:func:`ingest_snapshot` gathers them into one dict; nothing here raises because a source is
missing (a local-only install has no Redis, a Celery install no status file).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ingestion import metrics as im
from pantau.settings import Settings
from store.db import Database
from store.models import Camera, CameraStatus, CameraStatusEvent

logger = logging.getLogger(__name__)

METRICS_FILE = im.METRICS_FILE
#: A metrics file older than this means the local supervisor is not running.
STALE_AFTER_S = 30.0
#: After a failed Redis read, wait this long before trying again (each scrape would pay it).
REDIS_RETRY_S = 30.0
FAILING = (str(CameraStatus.DEGRADED), str(CameraStatus.OFFLINE))
STATUSES = tuple(str(s) for s in CameraStatus)

_redis_lock = threading.Lock()
_redis_down_until: dict[str, float] = {}


# --------------------------------------------------------------------------------------------
# sources
def read_local(var_dir: Path, now: float | None = None) -> dict[str, Any] | None:
    """The local supervisor's metrics document with ``age_s`` and ``fresh`` added (None when
    there is none or it cannot be parsed)."""
    path = Path(var_dir) / METRICS_FILE
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("cannot read %s: %s", path, exc)
        return None
    if not isinstance(doc, dict):
        return None
    now = time.time() if now is None else now
    try:
        updated = datetime.fromisoformat(str(doc.get("updated_at"))).timestamp()
    except ValueError:
        updated = path.stat().st_mtime
    doc["updated_ts"] = updated
    doc["age_s"] = max(0.0, now - updated)
    doc["fresh"] = doc["age_s"] <= STALE_AFTER_S
    return doc


def read_redis(url: str, now: float | None = None, namespace: str = "") -> dict[str, Any] | None:
    """What Celery workers recorded (None: no Redis broker, unreachable, or nothing there)."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    with _redis_lock:
        if _redis_down_until.get(url, 0) > time.monotonic():
            return None
    try:
        doc = im.RedisMetricsSink(url, namespace=namespace).read(now)
    except Exception as exc:
        logger.info("no Celery metrics from %s: %s", url.split("@")[-1], exc)
        with _redis_lock:
            _redis_down_until[url] = time.monotonic() + REDIS_RETRY_S
        return None
    if not doc["metrics"]["totals"] and not doc["processes"] and not any(doc["queues"].values()):
        return None  # a Redis without Celery ingestion
    return doc


def cameras_by_status(session: Session) -> dict[str, int]:
    """Camera counts per status; disabled cameras count as ``disabled`` whatever they last had."""
    counts = {s: 0 for s in STATUSES}
    for enabled, status, n in session.execute(
        select(Camera.enabled, Camera.status, func.count()).group_by(Camera.enabled, Camera.status)
    ):
        key = str(status) if enabled else str(CameraStatus.DISABLED)
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def reason_kind(reason: str | None) -> str:
    """The kind of trouble in a status reason (``"Tidak merespons / not responding: timed out
    after 10s"`` -> ``"Tidak merespons / not responding"``)."""
    return (reason or "").split(":", 1)[0].strip() or "—"


def failing_cameras(session: Session) -> list[dict[str, Any]]:
    """Enabled cameras that are degraded or offline: code, name, status, reason and since when
    (the first status event after their last ``online`` one), longest failing first."""
    failing_ids = (
        select(Camera.id).where(Camera.enabled.is_(True), Camera.status.in_(FAILING)).subquery()
    )
    ev = CameraStatusEvent
    last_ok = (
        select(ev.camera_id, func.max(ev.ts).label("ok_ts"))
        .where(ev.status == str(CameraStatus.ONLINE), ev.camera_id.in_(select(failing_ids.c.id)))
        .group_by(ev.camera_id)
        .subquery()
    )
    since_q = (
        select(ev.camera_id, func.min(ev.ts))
        .outerjoin(last_ok, last_ok.c.camera_id == ev.camera_id)
        .where(
            ev.camera_id.in_(select(failing_ids.c.id)),
            ev.status != str(CameraStatus.ONLINE),
            or_(last_ok.c.ok_ts.is_(None), ev.ts > last_ok.c.ok_ts),
        )
        .group_by(ev.camera_id)
    )
    since = {cam_id: ts for cam_id, ts in session.execute(since_q)}
    rows = []
    for cam_id, code, name, status, reason in session.execute(
        select(Camera.id, Camera.code, Camera.name, Camera.status, Camera.status_reason).where(
            Camera.id.in_(select(failing_ids.c.id))
        )
    ):
        ts = since.get(cam_id)
        if ts is not None and ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        rows.append(
            {
                "id": cam_id,
                "code": code,
                "name": name,
                "status": str(status),
                "reason": reason,
                "kind": reason_kind(reason),
                "since": ts,
            }
        )
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (r["since"] or far, r["code"]))
    return rows


def failing_by_reason(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failing cameras grouped by the kind of trouble: cameras, offline among them, earliest
    since, a few codes; most cameras first."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(
            r["kind"], {"kind": r["kind"], "cameras": 0, "offline": 0, "since": None, "codes": []}
        )
        g["cameras"] += 1
        g["offline"] += r["status"] == str(CameraStatus.OFFLINE)
        if r["since"] is not None and (g["since"] is None or r["since"] < g["since"]):
            g["since"] = r["since"]
        if len(g["codes"]) < 4:
            g["codes"].append(r["code"])
    return sorted(groups.values(), key=lambda g: (-g["cameras"], g["kind"]))


def _writer_backlog(local: dict[str, Any] | None) -> int | None:
    if not local or local.get("writer_backlog") is None:
        return None
    return int(local["writer_backlog"])


# --------------------------------------------------------------------------------------------
# everything together
def ingest_snapshot(
    settings: Settings, database: Database, now: float | None = None, with_failing: bool = True
) -> dict[str, Any]:
    """Local status file + Celery metrics in Redis + database facts, merged for display."""
    now = time.time() if now is None else now
    local = read_local(settings.var_dir, now)
    celery = read_redis(settings.celery_broker_url, now, settings.celery_namespace)
    local_live = local is not None and local["fresh"]
    processes: list[dict[str, Any]] = []
    if local_live:
        processes += [dict(p, mode="local") for p in local.get("processes") or []]
    if celery is not None:
        processes += [dict(p, mode="celery") for p in celery["processes"]]
    merged = im.merge(
        (local or {}).get("metrics") if local else None,
        celery["metrics"] if celery else None,
    )
    with database.session() as s:
        by_status = cameras_by_status(s)
        failing = failing_cameras(s) if with_failing else []
    return {
        "now": now,
        "local": local,
        "local_live": local_live,
        "celery": celery,
        "metrics": merged,
        "local_metrics": (local or {}).get("metrics") or None,
        "celery_metrics": celery["metrics"] if celery else None,
        "processes": processes,
        "summary": im.summarize(merged, now),
        "cameras_by_status": by_status,
        "failing": failing,
        "failing_by_reason": failing_by_reason(failing),
        "queues": (celery or {}).get("queues") or {},
        "unacked": (celery or {}).get("unacked"),
        "scheduler": (local or {}).get("scheduler") if local_live else None,
        "writer_backlog": _writer_backlog(local) if local_live else None,
        "worker_restarts": int((local or {}).get("worker_restarts") or 0),
    }
