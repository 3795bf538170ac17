"""The alert timeline's engine side: a ``before_flush`` hook that appends an ``AlertEvent`` for
every alert the rules open, escalate or clear, whoever wrote it (the ingestion writer, sensor
ingest, a rule engine, the demo seed) — no caller has to remember to.

* a new ``Alert`` -> ``opened`` (at ``started_at``; severity, value, title);
* ``severity`` or ``level`` changed -> ``severity`` / ``level`` with ``from`` and ``to``;
* ``ended_at`` set -> ``cleared`` (at ``ended_at``); set back to NULL -> ``reopened``.

Operator actions (``store.alert_workflow``) write their own event with the actor and tell this
hook, through :func:`recorded`, which attribute changes their event already covers (an
escalation raises ``severity``: one ``escalated`` entry, not a second ``severity`` one).

Only ORM changes are seen: every write to alerts goes through Alert objects (a Core
``update()`` would bypass this hook and the notification outbox alike).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from store.models import Alert, AlertEvent

logger = logging.getLogger(__name__)

ENGINE_ACTOR = "sistem"
#: Attributes whose changes the engine makes and the timeline shows (``level`` once rules
#: define one; skipped while the column does not exist).
WATCHED = ("severity", "level")
_SKIP_KEY = "pantau_alert_timeline_recorded"


def recorded(session: Session, alert: Alert, *attrs: str) -> None:
    """Operator code wrote its own event for these attribute changes of ``alert`` in this
    flush: the hook does not add another one for them."""
    skip: dict[int, set[str]] = session.info.setdefault(_SKIP_KEY, {})
    skip.setdefault(id(alert), set()).update(attrs)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _change(alert: Alert, attr: str) -> tuple[bool, Any, Any]:
    state = inspect(alert)
    if attr not in state.attrs:
        return False, None, None
    hist = state.attrs[attr].history
    if not hist.added:
        return False, None, None
    old = hist.deleted[0] if hist.deleted else None
    new = hist.added[0]
    return old != new, old, new


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    now = datetime.now(UTC)
    skip: dict[int, set[str]] = session.info.get(_SKIP_KEY, {})
    for obj in list(session.new):
        if isinstance(obj, Alert):
            session.add(
                AlertEvent(
                    alert=obj,
                    at=obj.started_at or now,
                    actor=ENGINE_ACTOR,
                    type="opened",
                    data={
                        "severity": obj.severity,
                        "value": obj.value,
                        "title": obj.title,
                        **({"level": obj.level} if getattr(obj, "level", None) else {}),
                    },
                )
            )
    for obj in list(session.dirty):
        if not isinstance(obj, Alert) or not session.is_modified(obj):
            continue
        done = skip.get(id(obj), set())
        for attr in WATCHED:
            changed, old, new = _change(obj, attr)
            if changed and attr not in done:
                session.add(
                    AlertEvent(
                        alert=obj,
                        at=now,
                        actor=ENGINE_ACTOR,
                        type=attr,
                        data={"from": old, "to": new},
                    )
                )
        changed, old, new = _change(obj, "ended_at")
        if changed and "ended_at" not in done:
            if new is not None:
                session.add(
                    AlertEvent(
                        alert=obj,
                        at=new,
                        actor=ENGINE_ACTOR,
                        type="cleared",
                        data={"value": obj.value},
                    )
                )
            else:
                session.add(
                    AlertEvent(
                        alert=obj,
                        at=now,
                        actor=ENGINE_ACTOR,
                        type="reopened",
                        data={"cleared_at": _json(old)},
                    )
                )


def _after_flush(session: Session, _ctx: Any) -> None:
    session.info.pop(_SKIP_KEY, None)


event.listen(Session, "before_flush", _before_flush)
event.listen(Session, "after_flush", _after_flush)
