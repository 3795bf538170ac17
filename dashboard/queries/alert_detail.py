"""Everything the alert detail page (/peringatan/<id>) reads: the alert and its place, the SOP
checklist with ticks, the timeline, and the evidence around it — the frame kept when it opened,
the readings of its camera or sensor around that time, reports and cameras nearby."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.alert_sop import SopStep, steps_for
from store.models import (
    Alert,
    AlertEvent,
    AlertSopTick,
    Camera,
    Observation,
    Opd,
    Sensor,
    SensorReading,
    User,
)
from store.nearby import NearCamera, NearComplaint, cameras_near, complaints_near

#: Readings shown: from this long before the alert started ...
READINGS_BEFORE = timedelta(hours=2)
#: ... to when it cleared (or now), at most this long after it started.
READINGS_AFTER_MAX = timedelta(hours=6)
READINGS_MAX = 1000
#: Nearby reports: created from this long before the alert started until now.
REPORTS_BEFORE = timedelta(days=3)


@dataclass(frozen=True)
class StepState:
    step: SopStep
    ticked_by: str | None
    ticked_at: datetime | None


@dataclass
class AlertDetail:
    alert: Alert
    opd_name: str | None
    camera: Camera | None
    sensor: Sensor | None
    lat: float | None
    lon: float | None
    steps: list[StepState] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)


def load(session: Session, alert_id: int) -> AlertDetail | None:
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    camera = session.get(Camera, alert.camera_id) if alert.camera_id else None
    sensor = None
    if alert.subject_type == "sensor":
        sensor = session.scalar(select(Sensor).where(Sensor.code == alert.subject_id))
    if camera is None and alert.subject_type == "camera":
        camera = session.scalar(select(Camera).where(Camera.code == alert.subject_id))
    opd = session.get(Opd, alert.assigned_opd_id) if alert.assigned_opd_id else None
    place = camera or sensor
    detail = AlertDetail(
        alert=alert,
        opd_name=opd.short_name if opd else None,
        camera=camera,
        sensor=sensor,
        lat=getattr(place, "lat", None),
        lon=getattr(place, "lon", None),
    )
    ticks = {
        t.step_key: t
        for t in session.scalars(select(AlertSopTick).where(AlertSopTick.alert_id == alert.id))
    }
    detail.steps = [
        StepState(
            s,
            ticks[s.key].ticked_by if s.key in ticks else None,
            ticks[s.key].ticked_at if s.key in ticks else None,
        )
        for s in steps_for(session, alert.rule)
    ]
    detail.events = list(
        session.scalars(
            select(AlertEvent)
            .where(AlertEvent.alert_id == alert.id)
            .order_by(AlertEvent.at, AlertEvent.id)
        )
    )
    return detail


def readings_window(alert: Alert, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or datetime.now(UTC)
    end = min(alert.ended_at or now, alert.started_at + READINGS_AFTER_MAX)
    return alert.started_at - READINGS_BEFORE, max(end, alert.started_at)


def readings(
    session: Session, detail: AlertDetail, now: datetime | None = None
) -> dict[str, Any] | None:
    """The subject's values around the alert: ``{"name", "unit", "ts": [...], "values": [...]}``
    (camera: water coverage in % for flood alerts, people otherwise; sensor: its readings)."""
    lo, hi = readings_window(detail.alert, now)
    if detail.sensor is not None:
        rows = session.execute(
            select(SensorReading.ts, SensorReading.value)
            .where(
                SensorReading.sensor_id == detail.sensor.id,
                SensorReading.ts >= lo,
                SensorReading.ts <= hi,
            )
            .order_by(SensorReading.ts)
            .limit(READINGS_MAX)
        ).all()
        return {
            "name": detail.sensor.name,
            "unit": detail.sensor.unit,
            "ts": [r[0] for r in rows],
            "values": [r[1] for r in rows],
            "metric": "sensor",
        }
    if detail.camera is not None:
        flood = detail.alert.rule.startswith("flood")
        column = Observation.water_coverage if flood else Observation.people
        rows = session.execute(
            select(Observation.ts, column)
            .where(
                Observation.camera_id == detail.camera.id,
                Observation.ts >= lo,
                Observation.ts <= hi,
                column.is_not(None),
            )
            .order_by(Observation.ts)
            .limit(READINGS_MAX)
        ).all()
        return {
            "name": detail.camera.name,
            "unit": "%" if flood else "people",
            "ts": [r[0] for r in rows],
            "values": [round(r[1] * 100, 1) if flood else r[1] for r in rows],
            "metric": "water" if flood else "people",
        }
    return None


def nearby_cameras(
    session: Session, detail: AlertDetail, radius_m: float, limit: int = 6
) -> list[NearCamera]:
    if detail.lat is None or detail.lon is None:
        return []
    exclude = detail.camera.id if detail.camera is not None else None
    return cameras_near(session, detail.lat, detail.lon, radius_m, limit=limit, exclude_id=exclude)


def nearby_reports(
    session: Session,
    detail: AlertDetail,
    radius_m: float,
    *,
    opd_id: int | None = None,
    now: datetime | None = None,
) -> list[NearComplaint]:
    if detail.lat is None or detail.lon is None:
        return []
    now = now or datetime.now(UTC)
    return complaints_near(
        session,
        detail.lat,
        detail.lon,
        radius_m,
        detail.alert.started_at - REPORTS_BEFORE,
        max(now, detail.alert.started_at),
        opd_id=opd_id,
    )


def assignable_users(session: Session) -> list[str]:
    """Usernames an alert can be assigned to (active operators and admins)."""
    from store.alert_workflow import ASSIGNABLE_ROLES

    return list(
        session.scalars(
            select(User.username)
            .where(User.is_active.is_(True), User.role.in_([str(r) for r in ASSIGNABLE_ROLES]))
            .order_by(User.username)
        )
    )
