"""Cameras on the map and on the camera detail page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import (
    Alert,
    AlertSeverity,
    Camera,
    CameraStatusEvent,
    Observation,
    ObservationRollup,
)

SEVERITY_RANK = {
    str(AlertSeverity.INFO): 1,
    str(AlertSeverity.WARNING): 2,
    str(AlertSeverity.CRITICAL): 3,
}


def camera_features(session: Session) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of every enabled camera with status and open alert level.

    Properties are short (the map may hold 10,000 points): ``c`` code, ``n`` name,
    ``k`` kecamatan, ``s`` status, ``a`` alert level (0 none, 1 info, 2 warning, 3 critical).
    """
    alerts: dict[int, int] = {}
    for cam_id, severity in session.execute(
        select(Alert.camera_id, Alert.severity).where(
            Alert.ended_at.is_(None), Alert.camera_id.is_not(None)
        )
    ):
        alerts[cam_id] = max(alerts.get(cam_id, 0), SEVERITY_RANK.get(severity, 1))
    from dashboard.queries import gc_paused

    with gc_paused():  # one feature per camera (10,693 in Semarang)
        rows = session.execute(
            select(
                Camera.id,
                Camera.code,
                Camera.name,
                Camera.kecamatan,
                Camera.status,
                Camera.lat,
                Camera.lon,
            ).where(Camera.enabled.is_(True))
        ).all()
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {"c": code, "n": name, "k": kec or "", "s": status,
                               "a": alerts.get(cam_id, 0)},
            }
            for cam_id, code, name, kec, status, lat, lon in rows
        ]  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def kecamatan_options(session: Session) -> list[str]:
    return [
        k
        for k in session.scalars(
            select(Camera.kecamatan)
            .where(Camera.kecamatan.is_not(None))
            .distinct()
            .order_by(Camera.kecamatan)
        )
        if k
    ]


def camera_options(session: Session, kecamatan: list[str] | None = None) -> list[dict[str, str]]:
    q = select(Camera.code, Camera.name).where(Camera.enabled.is_(True)).order_by(Camera.name)
    if kecamatan:
        q = q.where(Camera.kecamatan.in_(kecamatan))
    return [{"label": f"{name} ({code})", "value": code} for code, name in session.execute(q)]


@dataclass(frozen=True)
class CameraInfo:
    id: int
    code: str
    name: str
    kecamatan: str | None
    address: str | None
    owner: str
    status: str
    status_reason: str | None
    last_seen_at: datetime | None
    is_public: bool
    tags: list[str]
    rois: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    lat: float
    lon: float


def camera_info(session: Session, code: str) -> CameraInfo | None:
    cam = session.scalar(select(Camera).where(Camera.code == code))
    if cam is None:
        return None
    return CameraInfo(
        id=cam.id,
        code=cam.code,
        name=cam.name,
        kecamatan=cam.kecamatan,
        address=cam.address,
        owner=cam.owner,
        status=cam.status,
        status_reason=cam.status_reason,
        last_seen_at=cam.last_seen_at,
        is_public=cam.is_public,
        tags=list(cam.tags or []),
        rois=list(cam.rois or []),
        lines=list(cam.lines or []),
        lat=cam.lat,
        lon=cam.lon,
    )


def latest_sample(session: Session, camera_id: int) -> dict[str, Any] | None:
    """The camera's newest observation: ts, people, vehicles_total and ``extra`` (standing,
    parked, per-ROI dwell); None when it has none."""
    row = session.execute(
        select(Observation.ts, Observation.people, Observation.vehicles_total, Observation.extra)
        .where(Observation.camera_id == camera_id)
        .order_by(Observation.slot.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    ts, people, vehicles, extra = row
    return {"ts": ts, "people": people, "vehicles": vehicles, "extra": dict(extra or {})}


def status_history(
    session: Session, camera_id: int, since: datetime, until: datetime
) -> pd.DataFrame:
    """Status changes of one camera since ``since`` (with the state in force at ``since``)."""
    before = session.execute(
        select(CameraStatusEvent.ts, CameraStatusEvent.status, CameraStatusEvent.reason)
        .where(CameraStatusEvent.camera_id == camera_id, CameraStatusEvent.ts < since)
        .order_by(CameraStatusEvent.ts.desc())
        .limit(1)
    ).all()
    rows = session.execute(
        select(CameraStatusEvent.ts, CameraStatusEvent.status, CameraStatusEvent.reason)
        .where(
            CameraStatusEvent.camera_id == camera_id,
            CameraStatusEvent.ts >= since,
            CameraStatusEvent.ts < until,
        )
        .order_by(CameraStatusEvent.ts)
    ).all()
    df = pd.DataFrame([*before, *rows], columns=["ts", "status", "reason"])
    if len(df) and before:
        df.loc[0, "ts"] = since
    return df


def camera_counts(
    session: Session, camera_id: int, since: datetime, until: datetime
) -> pd.DataFrame:
    """Hourly rollups of one camera: bucket (UTC), people, vehicles, water coverage (%)."""
    r = ObservationRollup.__table__
    rows = session.execute(
        select(r.c.bucket, r.c.people_avg, r.c.vehicles_avg, r.c.water_max, r.c.samples)
        .where(
            r.c.camera_id == camera_id,
            r.c.period == "hour",
            r.c.bucket >= since,
            r.c.bucket < until,
        )
        .order_by(r.c.bucket)
    ).all()
    df = pd.DataFrame(rows, columns=["bucket", "people", "vehicles", "water", "samples"])
    df["water"] = pd.to_numeric(df["water"]) * 100.0
    return df


def uptime_share(
    session: Session, camera_id: int, since: datetime, until: datetime
) -> float | None:
    """Share of the hours in [since, until) with at least one analysed sample (0..1)."""
    r = ObservationRollup.__table__
    hours = session.scalar(
        select(func.count()).where(
            r.c.camera_id == camera_id,
            r.c.period == "hour",
            r.c.bucket >= since,
            r.c.bucket < until,
        )
    )
    total = (until - since) / timedelta(hours=1)
    return min(1.0, (hours or 0) / total) if total > 0 else None


CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def valid_code(code: str | None) -> bool:
    """Whether ``code`` is a well-formed camera code (letters, digits, - and _, max 64)."""
    return bool(CODE_RE.match(code or ""))


def camera_bounds(session: Session) -> list[list[float]] | None:
    """[[south, west], [north, east]] around every enabled camera (the map's first view)."""
    row = session.execute(
        select(
            func.min(Camera.lat), func.min(Camera.lon), func.max(Camera.lat), func.max(Camera.lon)
        ).where(Camera.enabled.is_(True))
    ).one()
    if row[0] is None:
        return None
    pad = 0.005
    return [[row[0] - pad, row[1] - pad], [row[2] + pad, row[3] + pad]]
