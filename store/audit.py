"""The audit log: who signed in (or failed to), signed out, exported data, managed users, and
who looked at which non-public camera, when and from where.

Writes go through :func:`record` (inside the caller's session) or :func:`record_now` (its own
session; never raises, so an audit write can not break the request it describes). Rows are
append-only: nothing in Pantau updates or deletes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.db import Database
from store.models import AuditLog

logger = logging.getLogger(__name__)


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LOCKED = "login_locked"  # attempt while the account (or name) is locked
    LOGOUT = "logout"
    EXPORT = "export"  # a download (dcc.Download or a file route)
    VIEW_CAMERA = "view_camera"  # camera detail page or snapshot of a non-public camera
    USER_CREATE = "user_create"
    USER_ROLE = "user_role"
    USER_PASSWORD = "user_password"
    USER_ACTIVE = "user_active"
    USER_UNLOCK = "user_unlock"
    ACCESS_DENIED = "access_denied"
    CAMERA_CREATE = "camera_create"  # store/cameras.py: the admin camera page and its uploads
    CAMERA_UPDATE = "camera_update"
    CAMERA_ENABLE = "camera_enable"
    CAMERA_DISABLE = "camera_disable"
    CAMERA_IMPORT = "camera_import"  # one registry file committed from the admin page
    API_KEY_CREATE = "api_key_create"  # store/api_keys.py (pantau keys create)
    API_KEY_REVOKE = "api_key_revoke"
    INCIDENT_WRITE = "incident_write"  # store/incidents.py: a batch of one source (file/API)
    NOTIFY_CHANNEL = "notify_channel"  # /admin/notifikasi: a channel created, changed, deleted
    NOTIFY_TEST = "notify_test"  # a test message sent to a channel
    NOTIFY_RETRY = "notify_retry"  # dead-letter notifications queued again
    ALERT_RULE = "alert_rule"  # /admin/aturan, pantau rules import: a rule saved or deleted
    # recorded evidence (store.evidence): the custody action with an "evidence_" prefix
    EVIDENCE_CREATED = "evidence_created"  # a recording asked for (button, CLI)
    EVIDENCE_VIEWED = "evidence_viewed"
    EVIDENCE_EXPORTED = "evidence_exported"
    EVIDENCE_DOWNLOADED = "evidence_downloaded"
    EVIDENCE_HELD = "evidence_held"
    EVIDENCE_RELEASED = "evidence_released"


MAX_TEXT = {"username": 64, "action": 64, "target": 200, "ip": 64}


def _clip(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    return str(value)[: MAX_TEXT[field]]


def record(
    session: Session,
    action: str,
    *,
    username: str | None = None,
    target: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    ts: datetime | None = None,
) -> AuditLog:
    """Add one audit row to ``session`` (committed with the caller's work)."""
    row = AuditLog(
        action=_clip(str(action), "action"),
        username=_clip(username, "username"),
        target=_clip(target, "target"),
        ip=_clip(ip, "ip"),
        detail=detail,
    )
    if ts is not None:
        row.ts = ts
    session.add(row)
    return row


def record_now(db: Database, action: str, **fields: Any) -> None:
    """Write one audit row in its own transaction. Logs (never raises) on failure."""
    try:
        with db.session() as s:
            record(s, action, **fields)
    except Exception:  # pragma: no cover - the database is down; the request goes on
        logger.exception("could not write audit row %s %s", action, fields.get("target"))


def count_recent(session: Session, action: str, target: str, since: datetime) -> int:
    """How many ``action`` rows about ``target`` were written since ``since``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == action, AuditLog.target == target, AuditLog.ts >= since)
        )
        or 0
    )


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditLog]
    total: int


def search(
    session: Session,
    *,
    action: str | None = None,
    username: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> AuditPage:
    """Audit rows, newest first, filtered. Text filters match case-insensitive substrings."""
    conditions = []
    if action:
        conditions.append(AuditLog.action == action)
    if username:
        conditions.append(func.lower(AuditLog.username).contains(username.lower(), autoescape=True))
    if target:
        conditions.append(func.lower(AuditLog.target).contains(target.lower(), autoescape=True))
    if since is not None:
        conditions.append(AuditLog.ts >= since)
    if until is not None:
        conditions.append(AuditLog.ts < until)
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conditions)) or 0
    rows = list(
        session.scalars(
            select(AuditLog)
            .where(*conditions)
            .order_by(AuditLog.ts.desc(), AuditLog.id.desc())
            .limit(max(1, min(limit, 5000)))
            .offset(max(0, offset))
        )
    )
    return AuditPage(rows=rows, total=total)
