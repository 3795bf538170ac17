"""What operators do with an alert: acknowledge, assign, note, escalate, resolve, tick SOP steps.

The status moves open -> acknowledged -> assigned -> resolved (:data:`TRANSITIONS`); notes and
SOP ticks do not move it. Every action:

* locks the alert row first (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite has no row locks, so
  the database's write lock is taken with ``BEGIN IMMEDIATE``) and re-reads it, so of two
  operators acknowledging at once exactly one wins and the other gets
  :class:`AlreadyDone` ("already acknowledged by X at T");
* changes the ``Alert`` through ORM attributes (never a Core ``update()``), so the flush hooks see
  it: the notification outbox and ``store.alert_timeline``;
* appends its own ``AlertEvent`` with the actor (and tells the timeline hook which changes that
  event covers);
* refuses what the state machine does not allow with a :class:`WorkflowError` whose message
  exists in Indonesian and English (``.text(lang)``); nothing is changed then.

OPD staff (role ``opd``) see only alerts assigned to their OPD (:func:`opd_can_see`); on those
they may add notes and tick SOP steps (:data:`OPD_ACTIONS`), nothing else. The functions take an
open session and flush; the caller commits.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.alert_sop import steps_for
from store.alert_timeline import recorded
from store.bilingual import BilingualError, pick
from store.models import (
    Alert,
    AlertEvent,
    AlertOutcome,
    AlertSeverity,
    AlertSopTick,
    AlertStatus,
    Opd,
    Role,
    User,
)

logger = logging.getLogger(__name__)

S = AlertStatus
#: Status -> the actions that may start from it.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({"acknowledge", "assign", "note", "escalate", "resolve", "sop"}),
    S.ACKNOWLEDGED: frozenset({"assign", "note", "escalate", "resolve", "sop"}),
    S.ASSIGNED: frozenset({"assign", "note", "escalate", "resolve", "sop"}),
    S.RESOLVED: frozenset({"note"}),
}
#: What OPD staff may do on an alert assigned to their OPD.
OPD_ACTIONS = frozenset({"note", "sop"})
SEVERITY_ORDER = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
PIMPINAN = "pimpinan"
NOTE_MAX = 2000
#: Roles an alert can be assigned to as a person (pimpinan are escalated to, not assigned).
ASSIGNABLE_ROLES = (Role.OPERATOR, Role.ADMIN)

MESSAGES: dict[str, tuple[str, str]] = {
    "not_found": ("Peringatan tidak ditemukan.", "Alert not found."),
    "already_acknowledged": (
        "Peringatan ini sudah diterima oleh {who} pada {at}.",
        "This alert was already acknowledged by {who} at {at}.",
    ),
    "resolved": (
        "Peringatan ini sudah diselesaikan oleh {who} pada {at}; tidak dapat diubah lagi.",
        "This alert was resolved by {who} at {at}; it can no longer change.",
    ),
    "not_allowed": (
        "Tindakan '{action}' tidak diperbolehkan pada status '{status}'.",
        "Action '{action}' is not allowed in status '{status}'.",
    ),
    "opd_forbidden": (
        "Staf OPD hanya dapat menambah catatan dan mencentang langkah SOP.",
        "Agency (OPD) staff can only add notes and tick SOP steps.",
    ),
    "assign_target": (
        "Pilih operator atau OPD yang ditugasi.",
        "Choose the operator or the agency (OPD) to assign.",
    ),
    "assign_same": (
        "Peringatan ini sudah ditugaskan kepada {target}.",
        "This alert is already assigned to {target}.",
    ),
    "unknown_user": (
        "Pengguna '{user}' tidak ada, tidak aktif, atau bukan operator.",
        "User '{user}' does not exist, is inactive or is not an operator.",
    ),
    "unknown_opd": ("OPD tidak dikenal.", "Unknown agency (OPD)."),
    "note_required": ("Catatan wajib diisi.", "A note is required."),
    "note_long": (
        "Catatan terlalu panjang (maksimal {n} karakter).",
        "The note is too long (at most {n} characters).",
    ),
    "escalate_nothing": (
        "Pilih tingkat yang lebih tinggi atau eskalasi ke pimpinan.",
        "Choose a higher severity or escalate to the leadership.",
    ),
    "escalate_lower": (
        "Tingkat '{to}' tidak lebih tinggi dari tingkat sekarang '{current}'.",
        "Severity '{to}' is not higher than the current '{current}'.",
    ),
    "escalate_pimpinan_done": (
        "Peringatan ini sudah dieskalasi ke pimpinan.",
        "This alert was already escalated to the leadership.",
    ),
    "unknown_severity": ("Tingkat '{severity}' tidak dikenal.", "Unknown severity '{severity}'."),
    "unknown_outcome": (
        "Pilih hasil penanganan dari daftar: {allowed}.",
        "Choose an outcome from the list: {allowed}.",
    ),
    "unknown_step": (
        "Langkah SOP '{step}' tidak ada untuk jenis peringatan ini.",
        "SOP step '{step}' does not exist for this kind of alert.",
    ),
    "step_done": (
        "Langkah ini sudah dicentang oleh {who} pada {at}.",
        "This step was already ticked by {who} at {at}.",
    ),
    "step_open": ("Langkah ini belum dicentang.", "This step is not ticked."),
}


def message(key: str, lang: str = "id", **fmt: Any) -> str:
    return pick(MESSAGES, key, lang, **fmt)


class WorkflowError(BilingualError):
    """A refused action with a message in both languages (``.text(lang)``)."""

    MESSAGES = MESSAGES


class AlertNotFound(WorkflowError):
    def __init__(self) -> None:
        super().__init__("not_found")


class InvalidTransition(WorkflowError):
    """The state machine does not allow the action now."""


class AlreadyDone(InvalidTransition):
    """Someone else did it first (acknowledged, ticked the step)."""


class InvalidInput(WorkflowError):
    """A missing or malformed value (no target, unknown outcome, note too long)."""


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    """Who acts: a username, and for OPD staff the OPD they belong to (``opd`` role)."""

    username: str
    role: str | None = None
    opd_id: int | None = None

    @property
    def is_opd(self) -> bool:
        return self.role == Role.OPD

    @property
    def name(self) -> str:
        return (self.username or "?")[:100]


def opd_can_see(alert: Alert | None, opd_id: int | None) -> bool:
    """OPD staff see an alert while it is assigned to their own OPD (no OPD: nothing)."""
    return alert is not None and opd_id is not None and alert.assigned_opd_id == opd_id


def _stamp(ts: datetime | None) -> str:
    if ts is None:
        return "?"
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%d-%m-%Y %H:%M WIB")


def _lock(session: Session, alert_id: int) -> Alert:
    """The alert, locked for this transaction and read fresh from the database."""
    if session.get_bind().dialect.name == "sqlite":
        raw = session.connection().connection.driver_connection
        if not raw.in_transaction:  # pysqlite begins lazily: take the write lock now
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        stmt = select(Alert).where(Alert.id == alert_id)
    else:
        stmt = select(Alert).where(Alert.id == alert_id).with_for_update()
    alert = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if alert is None:
        raise AlertNotFound()
    return alert


def _load(session: Session, alert_id: int, actor: Actor, action: str) -> Alert:
    try:
        alert_id = int(alert_id)
    except (TypeError, ValueError):
        raise AlertNotFound() from None
    alert = _lock(session, alert_id)
    if actor.is_opd:
        if not opd_can_see(alert, actor.opd_id):
            raise AlertNotFound()  # another OPD's alert: the same answer as a missing one
        if action not in OPD_ACTIONS:
            raise InvalidTransition("opd_forbidden")
    status = alert.status or S.OPEN
    if action not in TRANSITIONS.get(status, frozenset()):
        if status == S.RESOLVED:
            raise InvalidTransition(
                "resolved", who=alert.resolved_by or "?", at=_stamp(alert.resolved_at)
            )
        if action == "acknowledge":
            raise AlreadyDone(
                "already_acknowledged",
                who=alert.acknowledged_by or "?",
                at=_stamp(alert.acknowledged_at),
            )
        raise InvalidTransition("not_allowed", action=action, status=status)
    return alert


def _event(
    session: Session, alert: Alert, actor: Actor, kind: str, now: datetime, **data: Any
) -> AlertEvent:
    ev = AlertEvent(
        alert_id=alert.id,
        at=now,
        actor=actor.name,
        type=kind,
        data={k: v for k, v in data.items() if v is not None} or None,
    )
    session.add(ev)
    return ev


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_note(text: Any, *, required: bool) -> str | None:
    value = _CONTROL.sub("", unicodedata.normalize("NFC", str(text or ""))).strip()
    if not value:
        if required:
            raise InvalidInput("note_required")
        return None
    if len(value) > NOTE_MAX:
        raise InvalidInput("note_long", n=NOTE_MAX)
    return value


def _ack(alert: Alert, actor: Actor, now: datetime) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = actor.name


# --------------------------------------------------------------------------------------------
# actions
def acknowledge(
    session: Session, alert_id: int, actor: Actor, *, now: datetime | None = None
) -> Alert:
    """open -> acknowledged (only the first operator wins; the next gets :class:`AlreadyDone`)."""
    now = now or datetime.now(UTC)
    alert = _load(session, alert_id, actor, "acknowledge")
    _ack(alert, actor, now)
    alert.status = S.ACKNOWLEDGED
    _event(session, alert, actor, "acknowledged", now)
    session.flush()
    logger.info("alert %s acknowledged by %s", alert.id, actor.name)
    return alert


def assign(
    session: Session,
    alert_id: int,
    actor: Actor,
    *,
    user: str | None = None,
    opd_id: int | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """Assign to an operator and/or an OPD (re-assigning is allowed until resolved). Assigning
    an open alert acknowledges it too."""
    now = now or datetime.now(UTC)
    user = (user or "").strip() or None
    if user is None and opd_id in (None, ""):
        raise InvalidInput("assign_target")
    alert = _load(session, alert_id, actor, "assign")
    text = clean_note(note, required=False)
    opd = None
    if opd_id not in (None, ""):
        try:
            opd = session.get(Opd, int(opd_id))
        except (TypeError, ValueError):
            opd = None
        if opd is None:
            raise InvalidInput("unknown_opd")
    if user is not None:
        row = session.scalar(select(User).where(User.username == user))
        if row is None or not row.is_active or row.role not in ASSIGNABLE_ROLES:
            raise InvalidInput("unknown_user", user=user[:64])
    new_user = user if user is not None else alert.assigned_user
    new_opd = opd.id if opd is not None else alert.assigned_opd_id
    if (
        alert.status == S.ASSIGNED
        and new_user == alert.assigned_user
        and new_opd == alert.assigned_opd_id
    ):
        target = ", ".join(x for x in (alert.assigned_user, opd.short_name if opd else None) if x)
        raise InvalidTransition("assign_same", target=target or "?")
    data = {
        "user": new_user,
        "opd_id": new_opd,
        "opd": opd.short_name if opd is not None else None,
        "from_user": alert.assigned_user,
        "from_opd_id": alert.assigned_opd_id,
        "note": text,
    }
    if new_opd is not None and opd is None:  # kept the OPD: name it on the timeline too
        kept = session.get(Opd, new_opd)
        data["opd"] = kept.short_name if kept else None
    if alert.acknowledged_at is None:
        _event(session, alert, actor, "acknowledged", now)
    _ack(alert, actor, now)
    alert.assigned_user = new_user
    alert.assigned_opd_id = new_opd
    alert.assigned_at = now
    alert.status = S.ASSIGNED
    _event(session, alert, actor, "assigned", now, **data)
    session.flush()
    logger.info("alert %s assigned to %s/%s by %s", alert.id, new_user, new_opd, actor.name)
    return alert


def add_note(
    session: Session, alert_id: int, actor: Actor, text: str, *, now: datetime | None = None
) -> AlertEvent:
    """A free note on the timeline (allowed in every status, also after resolving)."""
    now = now or datetime.now(UTC)
    value = clean_note(text, required=True)
    alert = _load(session, alert_id, actor, "note")
    ev = _event(session, alert, actor, "note", now, text=value)
    session.flush()
    return ev


def escalate(
    session: Session,
    alert_id: int,
    actor: Actor,
    *,
    severity: str | None = None,
    to_pimpinan: bool = False,
    note: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """Raise the severity and/or call in the leadership (pimpinan); never downwards."""
    now = now or datetime.now(UTC)
    severity = (severity or "").strip() or None
    if severity is not None and severity not in SEVERITY_ORDER:
        raise InvalidInput("unknown_severity", severity=severity[:32])
    if severity is None and not to_pimpinan:
        raise InvalidInput("escalate_nothing")
    text = clean_note(note, required=False)
    alert = _load(session, alert_id, actor, "escalate")
    current = alert.severity or AlertSeverity.WARNING
    if severity is not None and SEVERITY_ORDER[severity] <= SEVERITY_ORDER.get(current, 0):
        raise InvalidInput("escalate_lower", to=severity, current=current)
    targets = [x for x in (alert.escalated_to or "").split(",") if x]
    if to_pimpinan:
        if PIMPINAN in targets:
            raise InvalidTransition("escalate_pimpinan_done")
        targets.insert(0, PIMPINAN)
    if severity is not None:
        targets = [x for x in targets if x not in SEVERITY_ORDER] + [severity]
        alert.severity = severity
        recorded(session, alert, "severity")
    alert.escalated_at = now
    alert.escalated_to = ",".join(targets)[:64]
    _event(
        session,
        alert,
        actor,
        "escalated",
        now,
        severity_from=current if severity else None,
        severity_to=severity,
        pimpinan=True if to_pimpinan else None,
        note=text,
    )
    session.flush()
    logger.info("alert %s escalated to %s by %s", alert.id, alert.escalated_to, actor.name)
    return alert


def resolve(
    session: Session,
    alert_id: int,
    actor: Actor,
    outcome: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """Close the alert with an outcome from :class:`AlertOutcome` and an optional note.
    Resolving an alert nobody acknowledged acknowledges it at the same moment."""
    now = now or datetime.now(UTC)
    allowed = [str(o) for o in AlertOutcome]
    if outcome not in allowed:
        raise InvalidInput("unknown_outcome", allowed=", ".join(allowed))
    text = clean_note(note, required=False)
    alert = _load(session, alert_id, actor, "resolve")
    if alert.acknowledged_at is None:
        _event(session, alert, actor, "acknowledged", now)
    _ack(alert, actor, now)
    alert.status = S.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = actor.name
    alert.outcome = outcome
    alert.outcome_note = text
    _event(session, alert, actor, "resolved", now, outcome=outcome, note=text)
    session.flush()
    logger.info("alert %s resolved (%s) by %s", alert.id, outcome, actor.name)
    return alert


def tick_step(
    session: Session,
    alert_id: int,
    actor: Actor,
    step_key: str,
    *,
    done: bool = True,
    now: datetime | None = None,
) -> AlertSopTick | None:
    """Tick (``done=True``) or untick one SOP step of the alert's kind; who and when are kept
    on the tick and on the timeline."""
    now = now or datetime.now(UTC)
    alert = _load(session, alert_id, actor, "sop")
    step = next((s for s in steps_for(session, alert.rule) if s.key == step_key), None)
    if step is None:
        raise InvalidInput("unknown_step", step=str(step_key)[:64])
    tick = session.scalar(
        select(AlertSopTick).where(
            AlertSopTick.alert_id == alert.id, AlertSopTick.step_key == step.key
        )
    )
    if done:
        if tick is not None:
            raise AlreadyDone("step_done", who=tick.ticked_by, at=_stamp(tick.ticked_at))
        tick = AlertSopTick(
            alert_id=alert.id,
            step_key=step.key,
            step_text=step.text_id[:500],
            ticked_at=now,
            ticked_by=actor.name,
        )
        session.add(tick)
        _event(session, alert, actor, "sop_tick", now, step=step.key, text=step.text_id)
    else:
        if tick is None:
            raise InvalidTransition("step_open")
        session.delete(tick)
        _event(session, alert, actor, "sop_untick", now, step=step.key, text=step.text_id)
        tick = None
    session.flush()
    return tick
