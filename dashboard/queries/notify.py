"""Read side of the notifications admin page: outbox counts, channels with their last
delivery, recent messages and dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import NotificationChannel, OutboxMessage, OutboxStatus
from store.outbox import counts


@dataclass(frozen=True)
class ChannelRow:
    id: int
    name: str
    kind: str
    enabled: bool
    source: str
    config: dict[str, Any]
    quiet: str | None
    routes: list[dict[str, Any]]
    last_status: str | None
    last_at: datetime | None
    dead: int


@dataclass(frozen=True)
class MessageRow:
    id: int
    channel: str
    event_type: str
    title: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    held_until: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    delivery_id: str


def outbox_counts(session: Session) -> dict[str, int]:
    return counts(session)


def channels(session: Session) -> list[ChannelRow]:
    last = (
        select(OutboxMessage.channel_id, func.max(OutboxMessage.id).label("last_id"))
        .group_by(OutboxMessage.channel_id)
        .subquery()
    )
    last_rows = {
        r.channel_id: r
        for r in session.execute(
            select(
                OutboxMessage.channel_id,
                OutboxMessage.status,
                func.coalesce(OutboxMessage.delivered_at, OutboxMessage.created_at).label("at"),
            ).join(last, last.c.last_id == OutboxMessage.id)
        )
    }
    dead = dict(
        session.execute(
            select(OutboxMessage.channel_id, func.count())
            .where(OutboxMessage.status == OutboxStatus.DEAD.value)
            .group_by(OutboxMessage.channel_id)
        ).all()
    )
    out = []
    for c in session.scalars(select(NotificationChannel).order_by(NotificationChannel.id)):
        lr = last_rows.get(c.id)
        out.append(
            ChannelRow(
                c.id,
                c.name,
                c.kind,
                c.enabled,
                c.source,
                dict(c.config or {}),
                f"{c.quiet_start}–{c.quiet_end}" if c.quiet_start and c.quiet_end else None,
                [
                    {
                        "rule": r.rule,
                        "min_severity": r.min_severity,
                        "events": list(r.events or []),
                        "enabled": r.enabled,
                    }
                    for r in c.routes
                ],
                lr.status if lr else None,
                lr.at if lr else None,
                int(dead.get(c.id, 0)),
            )
        )
    return out


def messages(session: Session, *, status: str | None = None, limit: int = 40) -> list[MessageRow]:
    q = (
        select(OutboxMessage, NotificationChannel.name)
        .join(NotificationChannel, NotificationChannel.id == OutboxMessage.channel_id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if status:
        q = q.where(OutboxMessage.status == status)
    return [
        MessageRow(
            m.id,
            name,
            m.event_type,
            str((m.payload or {}).get("title") or m.event_key)[:200],
            m.status,
            m.attempts,
            m.created_at,
            m.next_attempt_at,
            m.held_until,
            m.delivered_at,
            m.last_error,
            m.delivery_id,
        )
        for m, name in session.execute(q)
    ]


def rule_names(session: Session) -> list[str]:
    """Names of the alert rules (``alert_rules``), for routes to one named rule."""
    from store.models import AlertRule

    return list(session.scalars(select(AlertRule.name).order_by(AlertRule.name)))
