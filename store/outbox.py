"""The outbox: every message that leaves Pantau is first a row here, written in the same
transaction as the change that causes it; dispatchers (:mod:`ingestion.notify.dispatcher`)
deliver the rows with retries and park failures in a dead-letter state.

Enqueueing a message (the API for non-alert messages, e.g. the 07:00 daily briefing)::

    from store.outbox import enqueue

    with database.session() as session:  # your transaction; enqueue never commits
        enqueue(
            session,
            "briefing.daily",                       # event type (routes match on it)
            {"title": "Ringkasan pagi 30 Nov 2026",  # title: e-mail subject, first line
             "text": "…Indonesian text…",            # text: the message people read
             "url": "https://…/"},                   # any other JSON-able fields
            key="briefing:2026-11-30",              # idempotency key of the event
        )

* ``key`` identifies the event: enqueueing the same key again adds nothing (one row per
  (key, channel), a unique constraint), so a retried job or two schedulers cannot send twice.
* The channels are those with a route matching ``event_type`` (for ``alert.*`` events also
  ``rule`` and ``severity``/``level``); pass ``channels=[id or name, ...]`` to name them
  instead (the "send a test" button does).
* ``severity="critical"`` (or ``level`` siaga/awas) goes through quiet hours; anything else
  waits until the channel's quiet hours end (``held_until``); ``quiet_hours=False`` sends at
  once whatever the severity (the test button).
* The payload is stored as given, plus ``event``, ``event_key``, ``delivery_id`` and
  ``title``/``text`` defaults; at most :data:`MAX_PAYLOAD_BYTES` of JSON.
* It returns the new outbox row ids (empty when no channel matched or the key was there).

Alert changes enqueue themselves: a session ``after_flush`` listener (:func:`_alerts_to_outbox`,
registered on import, ``store.db`` imports this module) looks at every flushed ``Alert`` --
inserts and changes of ``severity``, ``ended_at`` and, when those columns exist, ``level``,
``status``, the assignment and the escalation columns -- and writes one row per matching
channel through the flush's own connection. The outbox row therefore commits or rolls back
with the alert change. Changes made with Core ``update()`` statements bypass it: change alerts
through ORM attributes. Demo alerts (``is_demo``) are never sent.

Delivery states: ``pending`` (waiting for ``next_attempt_at``) -> ``delivering`` (leased by a
dispatcher until ``lease_until``) -> ``delivered``, or back to ``pending`` with an exponential
backoff, or ``dead`` after ``notify_max_attempts`` (or at once for a refused target). Admins
retry dead rows (:func:`retry`). These functions live in :mod:`store.outbox_delivery` and are
importable from here. A dispatcher that dies mid-delivery leaves its lease to expire;
another dispatcher then sends the row again with the same ``delivery_id``: at-least-once
sending with a stable id is exactly-once for a receiver that deduplicates on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from store.models import Alert, AlertRule, OutboxMessage, OutboxStatus
from store.notify_channels import (
    LEVEL_ORDER,
    ChannelTarget,
    channel_targets,
    effective_rank,
    is_critical,
    matching_channels,
    quiet_until,
)
from store.outbox_delivery import (  # noqa: F401 - the dispatcher's side, one import for callers
    Claimed,
    backoff_s,
    claim,
    counts,
    mark_delivered,
    mark_failed,
    prune,
    recent,
    release,
    renew,
    retry,
    utcnow,
)

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024
#: Alert columns whose change is an event, when the model has them (other helpers add some).
ASSIGN_ATTRS = ("assigned_user", "assigned_opd_id", "assigned_to", "assignee")
ESCALATE_ATTRS = ("escalated_to", "escalation_level")

_wake_callbacks: list[Callable[[], None]] = []
_wake_lock = threading.Lock()


class OutboxError(ValueError):
    """A message that cannot be enqueued (bad key, payload not JSON or too large)."""


def delivery_id_for(event_key: str, channel_id: int) -> str:
    """The idempotency key receivers see: stable for one (event, channel)."""
    digest = hashlib.sha256(f"{event_key}\x00{channel_id}".encode()).hexdigest()
    return f"pd-{digest[:32]}"


_configured: Any = None


def use_settings(settings: Any) -> None:
    """The settings the alert listener builds messages with (time zone, base URL); default:
    :func:`pantau.settings.get_settings`. ``pantau run``, ``pantau notify`` and the dashboard
    call it with their settings."""
    global _configured
    _configured = settings


def _settings(settings: Any = None) -> Any:
    if settings is not None:
        return settings
    if _configured is not None:
        return _configured
    from pantau.settings import get_settings

    return get_settings()


def _connection(session_or_conn: Session | Connection) -> Connection:
    if isinstance(session_or_conn, Session):
        return session_or_conn.connection()
    return session_or_conn


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - Pantau runs on SQLite and PostgreSQL
        raise OutboxError(f"unsupported database {conn.dialect.name}")
    ids: list[int] = []
    for row in rows:
        stmt = (
            insert(OutboxMessage)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["event_key", "channel_id"])
            .returning(OutboxMessage.id)
        )
        new = conn.execute(stmt).scalar()
        if new is not None:
            ids.append(int(new))
    return ids


def enqueue(
    session: Session | Connection,
    event_type: str,
    payload: dict[str, Any],
    *,
    key: str,
    severity: str = "info",
    level: str | None = None,
    rule: str | None = None,
    channels: Iterable[int | str] | None = None,
    quiet_hours: bool = True,
    now: datetime | None = None,
    settings: Any = None,
) -> list[int]:
    """Write one outbox row per matching channel in the caller's transaction (never commits).
    See the module docstring. Returns the ids of the rows written."""
    if not key or len(key) > 200:
        raise OutboxError("an outbox key of 1 to 200 characters is required")
    if not event_type or len(event_type) > 64:
        raise OutboxError("an event type of 1 to 64 characters is required")
    if not isinstance(payload, dict):
        raise OutboxError("the payload must be a JSON object (a dict)")
    try:
        size = len(json.dumps(payload, default=str).encode())
    except (TypeError, ValueError) as exc:
        raise OutboxError(f"the payload is not JSON: {exc}") from exc
    if size > MAX_PAYLOAD_BYTES:
        raise OutboxError(f"the payload has {size:,} bytes of JSON, at most {MAX_PAYLOAD_BYTES:,}")
    conn = _connection(session)
    if channels is not None:
        targets = channel_targets(conn, list(channels))
    else:
        targets = matching_channels(conn, event_type, rule=rule, severity=severity, level=level)
    if not targets:
        return []
    now = now or utcnow()
    cfg = _settings(settings)
    urgent = is_critical(severity, level) or not quiet_hours
    rows = [_row(t, event_type, payload, key, severity, urgent, now, cfg) for t in targets]
    ids = _insert(conn, rows)
    if ids:
        owner = session if isinstance(session, Session) else None
        if owner is not None:
            owner.info["pantau_outbox_new"] = True
        logger.info("outbox: %s %s -> %d channel(s)", event_type, key, len(ids))
    return ids


def _row(
    target: ChannelTarget,
    event_type: str,
    payload: dict[str, Any],
    key: str,
    severity: str,
    critical: bool,
    now: datetime,
    cfg: Any,
) -> dict[str, Any]:
    did = delivery_id_for(key, target.id)
    held = None
    if not critical:
        held = quiet_until(target.quiet_start, target.quiet_end, now, cfg.timezone)
    body = dict(payload)
    body.setdefault("title", event_type)
    body.setdefault("text", body["title"])
    body.update(event=event_type, event_key=key, delivery_id=did)
    return {
        "event_key": key,
        "event_type": event_type,
        "channel_id": target.id,
        "delivery_id": did,
        "severity": severity,
        "payload": body,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": held or now,
        "held_until": held,
        "created_at": now,
    }


# -- alert changes -> outbox (same transaction) ------------------------------------------------
def _changed(state: Any, name: str) -> tuple[bool, Any, Any]:
    """(changed, old, new) of a mapped attribute in this flush."""
    if name not in state.mapper.column_attrs:
        return False, None, None
    hist = state.attrs[name].history
    if not hist.added:
        return False, None, None
    old = hist.deleted[0] if hist.deleted else None
    new = hist.added[0]
    return old != new, old, new


def level_rises(old: str | None, new: str, state: Any) -> bool:
    """Whether a level change is a rise: by the waspada < siaga < awas order when both are
    on it; otherwise by the severity that changed with it; a kind's own words (gangguan, mati,
    padat...) without a severity change count as a rise (the rule engine only moves up while an
    alert is open)."""
    if old in LEVEL_ORDER and new in LEVEL_ORDER:
        return LEVEL_ORDER[new] > LEVEL_ORDER[old]
    changed, sev_old, sev_new = _changed(state, "severity")
    if changed:
        return effective_rank(sev_new) > effective_rank(sev_old)
    return True


def alert_events(alert: Alert, *, new: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """(event type, event key, change) of one flushed alert: at most one event of each type
    per flush (an escalation that raises the severity and calls in the pimpinan is one
    message; an assignment that also sets the status to ``assigned`` is one message)."""
    if alert.is_demo or alert.id is None:
        return []
    key = f"alert:{alert.id}"
    if new:
        if alert.ended_at is not None:  # recorded after the fact (import): nothing to say
            return []
        return [("alert.opened", f"{key}:opened", {"field": None})]
    state = inspect(alert)
    found: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(kind: str, event_key: str, change: dict[str, Any]) -> None:
        found.setdefault(kind, (event_key, change))

    for field in ("severity", "level"):
        changed, old, value = _changed(state, field)
        if changed and value is not None:
            if field == "severity":
                up = effective_rank(value) > effective_rank(old)
            else:
                up = level_rises(old, value, state)
            kind = "alert.escalated" if up else "alert.deescalated"
            add(kind, f"{key}:{field}:{value}", {"field": field, "old": old, "new": value})
    for name in ESCALATE_ATTRS:
        changed, old, value = _changed(state, name)
        if changed and value is not None:
            stamp = value.isoformat() if isinstance(value, datetime) else str(value)
            add("alert.escalated", f"{key}:{name}:{stamp}", {"field": name, "new": stamp})
    changed, old, value = _changed(state, "ended_at")
    if changed and old is None and value is not None:
        add("alert.closed", f"{key}:closed", {"field": "ended_at"})
    assigned = []
    for name in ASSIGN_ATTRS:
        changed, old, value = _changed(state, name)
        if changed and value is not None:
            assigned.append((name, value))
    if assigned:
        stamp = ",".join(f"{n}={v}" for n, v in assigned)
        add("alert.assigned", f"{key}:assigned:{stamp}", {"field": "assignment", "new": stamp})
    changed, old, value = _changed(state, "status")
    if changed and value is not None and not (value == "assigned" and assigned):
        add("alert.status", f"{key}:status:{value}", {"field": "status", "old": old, "new": value})
    return [(kind, k, change) for kind, (k, change) in found.items()]


@event.listens_for(Session, "after_flush")
def _alerts_to_outbox(session: Session, _flush_context: Any) -> None:
    """Enqueue the flushed alert changes on the flush's connection (same transaction)."""
    todo: list[tuple[Alert, bool]] = [(o, True) for o in session.new if isinstance(o, Alert)]
    todo += [(o, False) for o in session.dirty if isinstance(o, Alert)]
    if not todo:
        return
    events = [(a, e) for a, is_new in todo for e in alert_events(a, new=is_new)]
    if not events:
        return
    from store.notify_messages import alert_payload

    conn = session.connection()
    cfg = _settings(session.info.get("pantau_settings"))
    now = utcnow()
    names: dict[int, str | None] = {}
    for alert, (event_type, key, change) in events:
        level = getattr(alert, "level", None)
        rule_id = getattr(alert, "rule_id", None)
        if rule_id and rule_id not in names:
            names[rule_id] = conn.execute(
                select(AlertRule.name).where(AlertRule.id == rule_id)
            ).scalar()
        rule_name = names.get(rule_id) if rule_id else None
        targets = matching_channels(
            conn,
            event_type,
            rule=alert.rule,
            severity=alert.severity,
            level=level,
            rule_name=rule_name,
        )
        if not targets:
            continue
        payload = alert_payload(conn, alert, event_type, change, cfg, now)
        payload["rule_name"] = payload["alert"]["rule_name"] = rule_name
        critical = is_critical(alert.severity, level)
        rows = [
            _row(t, event_type, payload, key, alert.severity, critical, now, cfg) for t in targets
        ]
        if _insert(conn, rows):
            session.info["pantau_outbox_new"] = True


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop("pantau_outbox_new", False):
        with _wake_lock:
            callbacks = list(_wake_callbacks)
        for cb in callbacks:
            cb()


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    session.info.pop("pantau_outbox_new", None)


def on_new_messages(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after a commit in this process that enqueued something (wakes the
    local dispatcher at once instead of at its next poll). Returns the unsubscribe."""
    with _wake_lock:
        _wake_callbacks.append(callback)

    def unsubscribe() -> None:
        with _wake_lock:
            if callback in _wake_callbacks:
                _wake_callbacks.remove(callback)

    return unsubscribe


def send_test(
    session: Session, channel_id: int, actor: str | None = None, now: datetime | None = None
) -> int | None:
    """Queue a test message for one channel (enabled or not, quiet hours or not). Returns the
    outbox row id (None: no such channel)."""
    import uuid

    from store.notify_channels import channel_targets
    from store.notify_messages import test_payload

    targets = channel_targets(session, [channel_id])
    if not targets:
        return None
    now = now or utcnow()
    payload = test_payload(targets[0].name, actor, _settings(), now)
    ids = enqueue(
        session,
        "test",
        payload,
        key=f"test:{channel_id}:{uuid.uuid4().hex[:12]}",
        channels=[channel_id],
        quiet_hours=False,
        now=now,
    )
    return ids[0] if ids else None
