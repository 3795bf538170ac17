"""The alert feed of the situation room and its one write: acknowledging an alert."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from store.models import Alert, AlertSeverity, Camera

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


def open_alerts(session: Session, limit: int = 30) -> list[AlertRow]:
    """Alerts not ended yet: unacknowledged first, then by severity and newest."""
    sev = case(
        (Alert.severity == str(AlertSeverity.CRITICAL), 0),
        (Alert.severity == str(AlertSeverity.WARNING), 1),
        else_=2,
    )
    rows = session.execute(
        select(Alert, Camera.code)
        .outerjoin(Camera, Camera.id == Alert.camera_id)
        .where(Alert.ended_at.is_(None))
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
        )
        for a, code in rows
    ]


def acknowledge(session: Session, alert_id: int, who: str, now: datetime | None = None) -> bool:
    """Mark an alert acknowledged by ``who``. Only the first acknowledgement counts; returns
    True when this call acknowledged it."""
    result = session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=now or datetime.now(UTC), acknowledged_by=who[:100])
    )
    done = (result.rowcount or 0) > 0
    if done:
        logger.info("alert %s acknowledged by %s", alert_id, who)
    return done
