"""What is near a point: cameras and complaints within a distance, nearest first.

A bounding box in SQL narrows the rows (index-friendly), the great-circle distance
(``store.complaints.haversine_m``) decides. Used by the alert detail page (evidence around an
alert) and by complaint intake (snapshots of the cameras near a new report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.complaints import haversine_m
from store.models import Camera, Complaint

M_PER_DEG_LAT = 111_320.0


def bbox(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) of a box holding the circle."""
    dlat = radius_m / M_PER_DEG_LAT
    dlon = radius_m / (M_PER_DEG_LAT * max(0.05, math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@dataclass(frozen=True)
class NearCamera:
    id: int
    code: str
    name: str
    status: str
    last_seen_at: datetime | None
    last_snapshot: str | None
    is_public: bool
    distance_m: float


def cameras_near(
    session: Session,
    lat: float,
    lon: float,
    radius_m: float,
    *,
    limit: int = 8,
    exclude_id: int | None = None,
) -> list[NearCamera]:
    """Enabled cameras within ``radius_m`` metres, nearest first."""
    if radius_m <= 0 or limit <= 0:
        return []
    la0, la1, lo0, lo1 = bbox(lat, lon, radius_m)
    q = select(Camera).where(
        Camera.enabled.is_(True), Camera.lat.between(la0, la1), Camera.lon.between(lo0, lo1)
    )
    if exclude_id is not None:
        q = q.where(Camera.id != exclude_id)
    found = []
    for cam in session.scalars(q.limit(2000)):
        d = haversine_m(lat, lon, cam.lat, cam.lon)
        if d <= radius_m:
            found.append(
                NearCamera(
                    cam.id,
                    cam.code,
                    cam.name,
                    cam.status,
                    cam.last_seen_at,
                    cam.last_snapshot,
                    cam.is_public,
                    d,
                )
            )
    found.sort(key=lambda c: (c.distance_m, c.code))
    return found[:limit]


@dataclass(frozen=True)
class NearComplaint:
    id: int
    tracking_id: str
    category: str
    status: str
    created_at: datetime
    distance_m: float
    opd_id: int | None


def complaints_near(
    session: Session,
    lat: float,
    lon: float,
    radius_m: float,
    since: datetime,
    until: datetime,
    *,
    opd_id: int | None = None,
    limit: int = 20,
) -> list[NearComplaint]:
    """Reports created in [since, until] within ``radius_m`` metres, nearest first (only those
    dispatched to ``opd_id`` when given)."""
    la0, la1, lo0, lo1 = bbox(lat, lon, radius_m)
    q = select(
        Complaint.id,
        Complaint.tracking_id,
        Complaint.category,
        Complaint.status,
        Complaint.created_at,
        Complaint.lat,
        Complaint.lon,
        Complaint.opd_id,
    ).where(
        Complaint.created_at >= since,
        Complaint.created_at <= until,
        Complaint.lat.between(la0, la1),
        Complaint.lon.between(lo0, lo1),
    )
    if opd_id is not None:
        q = q.where(Complaint.opd_id == opd_id)
    found = []
    for r in session.execute(q.limit(2000)):
        d = haversine_m(lat, lon, r.lat, r.lon)
        if d <= radius_m:
            found.append(
                NearComplaint(r.id, r.tracking_id, r.category, r.status, r.created_at, d, r.opd_id)
            )
    found.sort(key=lambda c: (c.distance_m, c.created_at))
    return found[:limit]
