"""Alerts from observations: flooding, crowds well above usual, cameras offline too long.

Rules open an ``Alert`` row when a condition starts and close it (``ended_at``) when it clears,
with hysteresis so a value hovering at the threshold does not flap. At most one open alert per
(rule, camera). The frame behind an alert is kept as evidence under ``settings.evidence_dir``
with its SHA-256 in ``Alert.evidence_sha256`` (chain of custody for Satpol PP / BPBD follow-up).

All functions take an open session and never commit: the writer commits them with the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
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
)

logger = logging.getLogger(__name__)

FLOOD = "flood_coverage"
CROWD = "crowd_density"
OFFLINE = "camera_offline"
FLOOD_CLEAR_FACTOR = 0.6  # closes below 60% of the opening threshold
CROWD_CLEAR_FACTOR = 0.7
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
        current = self._current(FLOOD, r.camera_id)
        severity = (
            AlertSeverity.CRITICAL if water >= s.flood_siaga_coverage else AlertSeverity.WARNING
        )
        if current is None:
            if water >= s.flood_alert_coverage and conf >= MIN_WATER_CONFIDENCE:
                name = _camera_name(session, r.camera_id, r.code)
                label = "SIAGA" if severity == AlertSeverity.CRITICAL else "WASPADA"
                return [
                    self._open(
                        session,
                        r,
                        FLOOD,
                        severity,
                        f"{label}: genangan {water * 100:.0f}% di {name}",
                        float(water),
                        f"Water covers {water * 100:.0f}% of the road ROI (confidence {conf:.2f}).",
                    )
                ]
            return []
        if water < s.flood_alert_coverage * FLOOD_CLEAR_FACTOR:
            current.ended_at = r.ts
            logger.info("alert closed: %s", current.title)
            return [current]
        if water > (current.value or 0):
            current.value = float(water)
            if severity == AlertSeverity.CRITICAL and current.severity != AlertSeverity.CRITICAL:
                name = _camera_name(session, r.camera_id, r.code)
                current.severity = AlertSeverity.CRITICAL
                current.title = f"SIAGA: genangan {water * 100:.0f}% di {name}"[:300]
            return [current]
        return []

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
