"""The dispatcher's side of the outbox (:mod:`store.outbox`): leasing due rows, renewing and
releasing a lease, recording delivered/failed/dead, admin retries, counts and pruning.

Every function commits or says that the caller does; none sends anything (that is
:mod:`ingestion.notify.dispatcher`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from store.models import OutboxMessage, OutboxStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    id: int
    channel_id: int
    delivery_id: str
    event_type: str
    event_key: str
    severity: str
    payload: dict[str, Any]
    attempts: int  # including this one
    token: str


def backoff_s(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay after failed attempt ``attempt`` (1, 2, ...): ``base * 2**(attempt-1)`` capped at
    ``cap``, then "equal jitter": half of it fixed, half random (two dispatchers that failed
    together do not retry together)."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def claim(
    session: Session, worker: str, *, limit: int, lease_s: float, now: datetime | None = None
) -> list[Claimed]:
    """Lease up to ``limit`` due rows for ``worker`` and commit. PostgreSQL skips rows another
    dispatcher has locked (``FOR UPDATE SKIP LOCKED``); on both databases the lease is taken by
    a conditional ``UPDATE`` (only when nobody holds an unexpired lease), so two dispatchers
    never hold the same row at once. Each claim counts as an attempt."""
    now = now or utcnow()
    lease_free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    active = OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.DELIVERING.value])
    due = (
        select(OutboxMessage.id)
        .where(active, OutboxMessage.next_attempt_at <= now, lease_free)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    token = f"{worker}/{uuid.uuid4().hex[:12]}"[:100]
    until = now + timedelta(seconds=lease_s)
    taken: list[int] = []
    for row_id in session.scalars(due).all():
        res = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, active, lease_free)
            .values(
                status=OutboxStatus.DELIVERING.value,
                lease_until=until,
                leased_by=token,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if res.rowcount == 1:
            taken.append(row_id)
    session.commit()
    if not taken:
        return []
    rows = session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(taken))).scalars()
    out = [
        Claimed(
            r.id,
            r.channel_id,
            r.delivery_id,
            r.event_type,
            r.event_key,
            r.severity,
            dict(r.payload or {}),
            r.attempts,
            token,
        )
        for r in rows
        if r.leased_by == token
    ]
    session.commit()
    return sorted(out, key=lambda c: c.id)


def mark_delivered(session: Session, msg: Claimed, now: datetime | None = None) -> None:
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg.id,
            OutboxMessage.status == OutboxStatus.DELIVERING.value,
        )
        .values(
            status=OutboxStatus.DELIVERED.value,
            delivered_at=now or utcnow(),
            lease_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def mark_failed(
    session: Session,
    msg: Claimed,
    error: str,
    *,
    max_attempts: int,
    base_s: float,
    cap_s: float,
    permanent: bool = False,
    now: datetime | None = None,
) -> str:
    """Back to pending with a backoff, or dead (max attempts, or a permanent refusal).
    Returns the new status. A row someone else has delivered meanwhile stays delivered."""
    now = now or utcnow()
    dead = permanent or msg.attempts >= max_attempts
    values: dict[str, Any] = {"lease_until": None, "last_error": error[:2000]}
    if dead:
        values["status"] = OutboxStatus.DEAD.value
    else:
        values["status"] = OutboxStatus.PENDING.value
        values["next_attempt_at"] = now + timedelta(seconds=backoff_s(msg.attempts, base_s, cap_s))
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg.id,
            OutboxMessage.status == OutboxStatus.DELIVERING.value,
            OutboxMessage.leased_by == msg.token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return values["status"]


def retry(session: Session, ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Send dead rows again (``ids``, or every dead row): pending now, attempts from zero.
    Returns how many. The caller commits (the admin page does it with the audit entry)."""
    cond = [OutboxMessage.status == OutboxStatus.DEAD.value]
    if ids is not None:
        cond.append(OutboxMessage.id.in_(list(ids)))
    res = session.execute(
        update(OutboxMessage)
        .where(*cond)
        .values(
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now or utcnow(),
            held_until=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if res.rowcount:
        session.info["pantau_outbox_new"] = True
    return int(res.rowcount or 0)


def counts(session: Session) -> dict[str, int]:
    """Rows by status (every status present, zero when none)."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    out = {s.value: 0 for s in OutboxStatus}
    out.update({str(status): int(n) for status, n in rows})
    return out


def recent(session: Session, *, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        q = q.where(OutboxMessage.status == status)
    return list(session.scalars(q))


def prune(session: Session, older_than: datetime) -> int:
    """Delete delivered rows delivered before ``older_than`` (dead and waiting rows are kept).
    Returns how many. The caller commits."""
    res = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.DELIVERED.value,
            OutboxMessage.delivered_at < older_than,
        )
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)


def renew(session: Session, msg: Claimed, lease_s: float, now: datetime | None = None) -> bool:
    """Extend this dispatcher's lease on ``msg`` right before sending it; False when the lease
    is gone (it expired and another dispatcher took the row, or it was delivered): then this
    dispatcher must not send it. Commits."""
    now = now or utcnow()
    res = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg.id,
            OutboxMessage.status == OutboxStatus.DELIVERING.value,
            OutboxMessage.leased_by == msg.token,
        )
        .values(lease_until=now + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return res.rowcount == 1


def release(
    session: Session, msg: Claimed, delay_s: float, reason: str, now: datetime | None = None
) -> None:
    """Give a claimed row back unsent (its channel just failed in this batch): pending again
    after ``delay_s``, the claim not counted as an attempt. Commits."""
    now = now or utcnow()
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg.id,
            OutboxMessage.status == OutboxStatus.DELIVERING.value,
            OutboxMessage.leased_by == msg.token,
        )
        .values(
            status=OutboxStatus.PENDING.value,
            lease_until=None,
            attempts=OutboxMessage.attempts - 1,
            next_attempt_at=now + timedelta(seconds=delay_s),
            last_error=reason[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
