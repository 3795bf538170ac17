"""Alerts from observations: flooding, crowds well above usual, cameras offline too long.

Rules open an ``Alert`` row when a condition starts and close it (``ended_at``) when it clears,
with hysteresis so a value hovering at the threshold does not flap. At most one open alert per
(rule, camera). The frame behind an alert is kept as evidence under ``settings.evidence_dir``
with its SHA-256 in ``Alert.evidence_sha256`` (chain of custody for Satpol PP / BPBD follow-up).

All functions take an open session and never commit: the writer commits them with the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingestion.process import SampleResult, atomic_write, sha256_hex
from pantau.settings import Settings
from store.models import (
    Alert,
    AlertSeverity,
    Camera,
    CameraStatus,
    CameraStatusEvent,
    ObservationRollup,
    RollupPeriod,
    Sensor,
)

logger = logging.getLogger(__name__)

FLOOD = "flood_coverage"
CROWD = "crowd_density"
OFFLINE = "camera_offline"
SENSOR = "sensor_level"  # a sensor reading at/above its warning (waspada) or danger (siaga) level
FLOOD_CLEAR_FACTOR = 0.6  # closes below 60% of the opening threshold
CROWD_CLEAR_FACTOR = 0.7
#: A sensor alert closes this fraction of (danger - warning) below the opening level (10 cm for
#: 150/200 cm); with a single level, this fraction of that level's magnitude.
SENSOR_CLEAR_FRACTION = 0.1
MIN_WATER_CONFIDENCE = 0.2


def open_alert(session: Session, rule: str, camera_id: int) -> Alert | None:
    return session.scalars(
        select(Alert)
        .where(
            Alert.rule == rule,
            Alert.camera_id == camera_id,
            Alert.ended_at.is_(None),
            Alert.is_demo.is_(False),
        )
        .order_by(Alert.started_at.desc())
        .limit(1)
    ).first()


def save_evidence(
    settings: Settings, code: str, rule: str, ts: datetime, jpeg: bytes
) -> tuple[str, str]:
    """Write the evidence JPEG; returns (path relative to evidence_dir, sha256)."""
    name = f"{code}-{rule}-{ts.astimezone(UTC):%Y%m%dT%H%M%S}Z.jpg"
    atomic_write(settings.evidence_dir / name, jpeg)
    return name, sha256_hex(jpeg)


_LABEL = {AlertSeverity.CRITICAL: "SIAGA", AlertSeverity.WARNING: "WASPADA"}


def step_level_alert(
    current: Alert | None,
    value: float,
    ts: datetime,
    *,
    open_at: float,
    siaga_at: float | None,
    clear_below: float,
    title: Callable[[str], str],
    open_new: Callable[[str], Alert],
    may_open: bool = True,
) -> list[Alert]:
    """One step of a level rule (camera flood coverage, sensor water level) for one subject.

    No open alert: opens one (``open_new(severity)``) when ``value >= open_at`` (waspada;
    siaga at ``siaga_at``). Open alert: closes it when ``value < clear_below`` (hysteresis,
    so a value hovering at the threshold does not flap); otherwise keeps the peak value and
    escalates waspada -> siaga (never back down until it clears). Returns the alerts changed."""
    critical = siaga_at is not None and value >= siaga_at
    severity = AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING
    if current is None:
        if value >= open_at and may_open:
            return [open_new(severity)]
        return []
    if value < clear_below:
        current.ended_at = ts
        logger.info("alert closed: %s", current.title)
        return [current]
    if current.value is None or value > current.value:
        current.value = value
        if critical and current.severity != AlertSeverity.CRITICAL:
            current.severity = AlertSeverity.CRITICAL
            current.title = title(severity)[:300]
        return [current]
    return []


class AlertEngine:
    """Evaluates the rules; keeps a small cache of each camera's usual crowd per hour."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._usual: dict[
            tuple[int, int], tuple[float | None, float]
        ] = {}  # (cam, hour)->(avg, at)
        self._open_map: dict[tuple[str, int], Alert] = {}

    def usual_people(self, session: Session, camera_id: int, ts: datetime) -> float | None:
        """Average people at this hour of day over the last 4 weeks of hourly rollups."""
        hour = ts.astimezone(UTC).hour
        key = (camera_id, hour)
        cached = self._usual.get(key)
        now = datetime.now(UTC).timestamp()
        if cached is not None and now - cached[1] < 3600:
            return cached[0]
        since = ts - timedelta(days=28)
        rows = session.execute(
            select(ObservationRollup.bucket, ObservationRollup.people_avg).where(
                ObservationRollup.camera_id == camera_id,
                ObservationRollup.period == RollupPeriod.HOUR,
                ObservationRollup.bucket >= since,
                ObservationRollup.bucket < ts - timedelta(hours=1),
                ObservationRollup.people_avg.is_not(None),
            )
        ).all()
        vals = [float(p) for b, p in rows if b.astimezone(UTC).hour == hour]
        usual = sum(vals) / len(vals) if len(vals) >= 3 else None
        self._usual[key] = (usual, now)
        return usual

    # -------------------------------------------------------------------------- observations
    def evaluate(self, session: Session, results: Iterable[SampleResult]) -> list[Alert]:
        """Apply the flood and crowd rules to freshly written samples (latest per camera)."""
        latest: dict[int, SampleResult] = {}
        for r in results:
            if r.camera_id not in latest or r.ts >= latest[r.camera_id].ts:
                latest[r.camera_id] = r
        changed: list[Alert] = []
        # one query for the open alerts of the whole batch (not two per sample)
        self._open_map = {
            (a.rule, a.camera_id): a
            for a in session.scalars(
                select(Alert)
                .where(
                    Alert.rule.in_((FLOOD, CROWD)),
                    Alert.camera_id.in_(list(latest)),
                    Alert.ended_at.is_(None),
                    Alert.is_demo.is_(False),
                )
                .order_by(Alert.started_at)
            )
        }
        for r in latest.values():
            changed += self._flood(session, r)
            changed += self._crowd(session, r)
        return changed

    def _current(self, rule: str, camera_id: int) -> Alert | None:
        return self._open_map.get((rule, camera_id))

    def _open(
        self,
        session: Session,
        r: SampleResult,
        rule: str,
        severity: str,
        title: str,
        value: float,
        detail: str,
    ) -> Alert:
        alert = Alert(
            rule=rule,
            severity=severity,
            subject_type="camera",
            subject_id=r.code,
            camera_id=r.camera_id,
            title=title[:300],
            detail=detail,
            value=value,
            started_at=r.ts,
        )
        if r.evidence_jpeg:
            try:
                alert.evidence_path, alert.evidence_sha256 = save_evidence(
                    self.settings, r.code, rule, r.ts, r.evidence_jpeg
                )
            except OSError:
                logger.exception("cannot keep evidence for %s %s", rule, r.code)
        session.add(alert)
        self._open_map[(rule, r.camera_id)] = alert
        logger.warning("alert opened: %s", title)
        return alert

    def _flood(self, session: Session, r: SampleResult) -> list[Alert]:
        s = self.settings
        water = r.observation.get("water_coverage")
        conf = r.observation.get("water_confidence") or 0.0
        if water is None:
            return []

        def title(severity: str) -> str:
            name = _camera_name(session, r.camera_id, r.code)
            return f"{_LABEL[severity]}: genangan {water * 100:.0f}% di {name}"

        return step_level_alert(
            self._current(FLOOD, r.camera_id),
            float(water),
            r.ts,
            open_at=s.flood_alert_coverage,
            siaga_at=s.flood_siaga_coverage,
            clear_below=s.flood_alert_coverage * FLOOD_CLEAR_FACTOR,
            may_open=conf >= MIN_WATER_CONFIDENCE,
            title=title,
            open_new=lambda severity: self._open(
                session,
                r,
                FLOOD,
                severity,
                title(severity),
                float(water),
                f"Water covers {water * 100:.0f}% of the road ROI (confidence {conf:.2f}).",
            ),
        )

    def _crowd(self, session: Session, r: SampleResult) -> list[Alert]:
        s = self.settings
        people = r.observation.get("people")
        if people is None or r.observation.get("reused"):
            return []
        usual = self.usual_people(session, r.camera_id, r.ts)
        threshold = max(float(s.crowd_alert_min_people), (usual or 0.0) * s.crowd_alert_factor)
        current = self._current(CROWD, r.camera_id)
        if current is None:
            if usual is not None and people >= threshold:
                name = _camera_name(session, r.camera_id, r.code)
                return [
                    self._open(
                        session,
                        r,
                        CROWD,
                        AlertSeverity.WARNING,
                        f"Kerumunan di atas biasa di {name}: {people} orang",
                        float(people),
                        f"{people} people vs usual {usual:.1f} at this hour "
                        f"(threshold {threshold:.0f}).",
                    )
                ]
            return []
        if people < threshold * CROWD_CLEAR_FACTOR:
            current.ended_at = r.ts
            return [current]
        if people > (current.value or 0):
            current.value = float(people)
        return []

    # -------------------------------------------------------------------------- offline
    def evaluate_offline(self, session: Session, now: datetime | None = None) -> list[Alert]:
        """Open an alert for cameras offline longer than ``offline_alert_minutes``; close the
        alert of cameras that came back."""
        now = now or datetime.now(UTC)
        limit = now - timedelta(minutes=self.settings.offline_alert_minutes)
        changed: list[Alert] = []
        open_rows = {
            a.camera_id: a
            for a in session.scalars(
                select(Alert).where(
                    Alert.rule == OFFLINE, Alert.ended_at.is_(None), Alert.is_demo.is_(False)
                )
            )
        }
        offline = session.execute(
            select(Camera.id, Camera.code, Camera.name, Camera.status_reason).where(
                Camera.status == CameraStatus.OFFLINE,
                Camera.enabled.is_(True),
                Camera.is_demo.is_(False) | Camera.stream_url.is_not(None),
            )
        ).all()
        offline_ids = set()
        for cam_id, code, name, reason in offline:
            offline_ids.add(cam_id)
            if cam_id in open_rows:
                continue
            since = session.scalar(
                select(func.max(CameraStatusEvent.ts)).where(
                    CameraStatusEvent.camera_id == cam_id,
                    CameraStatusEvent.status != CameraStatus.OFFLINE,
                )
            )
            went = session.scalar(
                select(func.min(CameraStatusEvent.ts)).where(
                    CameraStatusEvent.camera_id == cam_id,
                    CameraStatusEvent.status == CameraStatus.OFFLINE,
                    *([CameraStatusEvent.ts > since] if since is not None else []),
                )
            )
            if went is None or went > limit:
                continue
            alert = Alert(
                rule=OFFLINE,
                severity=AlertSeverity.WARNING,
                subject_type="camera",
                subject_id=code,
                camera_id=cam_id,
                title=f"Kamera {name} offline",
                detail=reason,
                started_at=went,
            )
            session.add(alert)
            changed.append(alert)
        for cam_id, alert in open_rows.items():
            if cam_id not in offline_ids:
                alert.ended_at = now
                changed.append(alert)
        return changed


# ------------------------------------------------------------------------------ sensors
def sensor_levels(sensor: Sensor) -> tuple[float, float | None, float] | None:
    """(open_at, siaga_at, clear_below) of a sensor's level rule; None without levels."""
    warn, danger = sensor.warning_level, sensor.danger_level
    if warn is None and danger is None:
        return None
    open_at = warn if warn is not None else danger
    assert open_at is not None
    if warn is not None and danger is not None and danger > warn:
        margin = (danger - warn) * SENSOR_CLEAR_FRACTION
    else:
        margin = abs(open_at) * SENSOR_CLEAR_FRACTION / 2
    return open_at, danger, open_at - margin


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def evaluate_sensors(
    session: Session, readings: dict[int, tuple[Sensor, list[tuple[datetime, float]]]]
) -> list[Alert]:
    """Apply the level rule to new readings: ``{sensor_id: (sensor, [(ts, value), ...])}``
    with each sensor's readings in time order and newer than what it had before (late or
    re-sent readings do not open or close alerts). At most one open alert per sensor (rule
    ``sensor_level``, subject ``sensor``/code); the flood rule's step logic (open, escalate,
    close with hysteresis) is shared. Never commits."""
    subjects = {sensor.code: sensor for sensor, rows in readings.values() if rows}
    rules = {code: sensor_levels(sensor) for code, sensor in subjects.items()}
    codes = [code for code, levels in rules.items() if levels is not None]
    if not codes:
        return []
    current = {
        a.subject_id: a
        for a in session.scalars(
            select(Alert)
            .where(
                Alert.rule == SENSOR,
                Alert.subject_type == "sensor",
                Alert.subject_id.in_(codes),
                Alert.ended_at.is_(None),
                Alert.is_demo.is_(False),
            )
            .order_by(Alert.started_at)
        )
    }
    changed: dict[int, Alert] = {}
    for code in codes:
        sensor = subjects[code]
        for ts, value in readings[sensor.id][1]:
            for alert in _sensor_step(session, sensor, rules[code], current.get(code), ts, value):  # type: ignore[arg-type]
                changed[id(alert)] = alert
                current[code] = alert if alert.ended_at is None else None  # type: ignore[assignment]
    return list(changed.values())


def _sensor_step(
    session: Session,
    sensor: Sensor,
    levels: tuple[float, float | None, float],
    current: Alert | None,
    ts: datetime,
    value: float,
) -> list[Alert]:
    open_at, siaga_at, clear_below = levels

    def title(severity: str) -> str:
        return f"{_LABEL[severity]}: {sensor.name} {_fmt(value)} {sensor.unit}"

    def open_new(severity: str) -> Alert:
        critical = severity == AlertSeverity.CRITICAL
        limit = siaga_at if critical and siaga_at is not None else open_at
        alert = Alert(
            rule=SENSOR,
            severity=severity,
            subject_type="sensor",
            subject_id=sensor.code,
            title=title(severity)[:300],
            detail=f"{sensor.name} ({sensor.code}) read {_fmt(value)} {sensor.unit}, at or "
            f"above its {'danger (siaga)' if critical else 'warning (waspada)'} level "
            f"{_fmt(limit)} {sensor.unit}.",
            value=value,
            started_at=ts,
        )
        session.add(alert)
        logger.warning("alert opened: %s", alert.title)
        return alert

    return step_level_alert(
        current,
        value,
        ts,
        open_at=open_at,
        siaga_at=siaga_at,
        clear_below=clear_below,
        title=title,
        open_new=open_new,
    )


def _camera_name(session: Session, camera_id: int, fallback: str) -> str:
    name = session.scalar(select(Camera.name).where(Camera.id == camera_id))
    return name or fallback


def describe(alert: Alert) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "severity": alert.severity,
        "camera_id": alert.camera_id,
        "title": alert.title,
        "value": alert.value,
        "open": alert.ended_at is None,
        "evidence": alert.evidence_path,
        "sha256": alert.evidence_sha256,
    }
