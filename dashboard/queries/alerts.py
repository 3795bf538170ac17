"""The alert feed of the situation room and its one write: acknowledging an alert."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from store import alert_workflow
from store.models import Alert, AlertSeverity, AlertStatus, Camera, Opd, Sensor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRow:
    id: int
    rule: str
    severity: str
    title: str
    camera_code: str | None
    value: float | None
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    sensor_code: str | None = None  # sensor alerts (subject_type "sensor") have no camera
    status: str = AlertStatus.OPEN
    assigned_user: str | None = None
    assigned_opd: str | None = None  # the OPD's short name
    camera_name: str | None = None  # for titles in the reader's language (dashboard.alert_text)
    sensor_name: str | None = None
    sensor_unit: str | None = None
    subject_id: str | None = None  # complaint surge / incident cluster titles (alert_text)
    level: str | None = None  # the word on the kind's scale (siaga, gangguan...)


def open_alerts(session: Session, limit: int = 30) -> list[AlertRow]:
    """Alerts not ended and not resolved yet: unacknowledged first, then by severity and
    newest."""
    sev = case(
        (Alert.severity == str(AlertSeverity.CRITICAL), 0),
        (Alert.severity == str(AlertSeverity.WARNING), 1),
        else_=2,
    )
    rows = session.execute(
        select(Alert, Camera.code, Opd.short_name, Camera.name, Sensor.name, Sensor.unit)
        .outerjoin(Camera, Camera.id == Alert.camera_id)
        .outerjoin(Opd, Opd.id == Alert.assigned_opd_id)
        .outerjoin(Sensor, and_(Alert.subject_type == "sensor", Sensor.code == Alert.subject_id))
        .where(Alert.ended_at.is_(None), Alert.status != str(AlertStatus.RESOLVED))
        .order_by(Alert.acknowledged_at.is_not(None), sev, Alert.started_at.desc())
        .limit(limit)
    ).all()
    return [
        AlertRow(
            id=a.id,
            rule=a.rule,
            severity=a.severity,
            title=a.title,
            camera_code=code,
            value=a.value,
            started_at=a.started_at,
            acknowledged_at=a.acknowledged_at,
            acknowledged_by=a.acknowledged_by,
            sensor_code=a.subject_id if a.subject_type == "sensor" else None,
            status=a.status or AlertStatus.OPEN,
            assigned_user=a.assigned_user,
            assigned_opd=opd,
            camera_name=camera_name,
            sensor_name=sensor_name,
            sensor_unit=sensor_unit,
            subject_id=a.subject_id,
            level=a.level,
        )
        for a, code, opd, camera_name, sensor_name, sensor_unit in rows
    ]


def acknowledge(session: Session, alert_id: int, who: str, now: datetime | None = None) -> bool:
    """Mark an alert acknowledged by ``who`` (``store.alert_workflow.acknowledge``: ORM change
    plus timeline entry). Only the first acknowledgement counts; returns True when this call
    acknowledged it, False when someone else already had (or it is resolved)."""
    try:
        alert_workflow.acknowledge(session, alert_id, alert_workflow.Actor(who), now=now)
    except alert_workflow.WorkflowError as exc:  # taken, resolved, or no such alert
        logger.info("alert %s not acknowledged by %s: %s", alert_id, who, exc)
        return False
    return True


@dataclass(frozen=True)
class AlertListRow:
    id: int
    rule: str
    severity: str
    status: str
    title: str
    place: str | None  # camera code or sensor code
    started_at: datetime
    ended_at: datetime | None
    assigned_user: str | None
    assigned_opd: str | None
    escalated_to: str | None
    value: float | None = None
    camera_name: str | None = None  # for titles in the reader's language (dashboard.alert_text)
    sensor_name: str | None = None
    sensor_unit: str | None = None
    subject_id: str | None = None  # complaint surge / incident cluster titles (alert_text)
    level: str | None = None  # the word on the kind's scale (siaga, gangguan...)


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    opd_id: int | None = None,
    only_opd: int | None = None,
    limit: int = 200,
) -> list[AlertListRow]:
    """Alerts for the list page, newest first. ``status``: an AlertStatus, or "active" (not
    resolved), "pimpinan" (escalated to the leadership, not resolved), "all"/None; ``only_opd``: an OPD user's view (their assignments only)."""
    q = (
        select(Alert, Camera.code, Opd.short_name, Camera.name, Sensor.name, Sensor.unit)
        .outerjoin(Camera, Camera.id == Alert.camera_id)
        .outerjoin(Opd, Opd.id == Alert.assigned_opd_id)
        .outerjoin(Sensor, and_(Alert.subject_type == "sensor", Sensor.code == Alert.subject_id))
    )
    if status == "active":
        q = q.where(Alert.status != str(AlertStatus.RESOLVED))
    elif status == "pimpinan":  # escalated to the leadership and not resolved yet
        q = q.where(
            Alert.status != str(AlertStatus.RESOLVED), Alert.escalated_to.like("%pimpinan%")
        )
    elif status and status != "all":
        q = q.where(Alert.status == status)
    if kind:
        q = q.where(Alert.rule == kind)
    if severity:
        q = q.where(Alert.severity == severity)
    if opd_id is not None:
        q = q.where(Alert.assigned_opd_id == opd_id)
    if only_opd is not None:
        q = q.where(Alert.assigned_opd_id == only_opd)
    rows = session.execute(q.order_by(Alert.started_at.desc(), Alert.id.desc()).limit(limit))
    return [
        AlertListRow(
            id=a.id,
            rule=a.rule,
            severity=a.severity,
            status=a.status or AlertStatus.OPEN,
            title=a.title,
            place=code or (a.subject_id if a.subject_type == "sensor" else None),
            started_at=a.started_at,
            ended_at=a.ended_at,
            assigned_user=a.assigned_user,
            assigned_opd=opd,
            escalated_to=a.escalated_to,
            value=a.value,
            camera_name=camera_name,
            sensor_name=sensor_name,
            sensor_unit=sensor_unit,
            subject_id=a.subject_id,
            level=a.level,
        )
        for a, code, opd, camera_name, sensor_name, sensor_unit in rows
    ]


def alert_kinds(session: Session) -> list[str]:
    """The kinds (rules) that have alerts, for the filter."""
    return sorted(k for (k,) in session.execute(select(Alert.rule).distinct()) if k)
