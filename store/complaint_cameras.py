"""Snapshots of the cameras near a new report, attached when it arrives (staff only).

When a report with a location is stored, the latest snapshot of each enabled camera within
``settings.complaint_camera_radius_m`` (default 300 m; at most ``complaint_camera_max``, the
nearest) is copied under ``evidence_dir/complaints/`` with its SHA-256, and listed in
``complaint_camera_snapshots``. The operator sees at once what the place looked like when the
report came in; a later picture would show a later moment, so the file is a copy.

Staff only: nothing here is read by the public complaint pages (/lapor, /lapor/status) or by
Open311; the files are served under ``/evidence`` (staff roles, dashboard/auth.py).
A camera without a snapshot is listed without a file. A copy that fails (disk) is logged and
skipped: attaching never refuses or delays a report.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Complaint, ComplaintCameraSnapshot
from store.nearby import cameras_near

logger = logging.getLogger(__name__)

SUBDIR = "complaints"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def snapshot_file(snapshot_dir: Path, code: str) -> Path | None:
    """The latest (staff, unblurred) snapshot file of camera ``code``, if there is one."""
    if not _CODE.match(code):
        return None
    root = snapshot_dir.resolve()
    path = (root / f"{code}.jpg").resolve()
    return path if path.parent == root and path.is_file() else None


def attach_nearby_snapshots(
    session: Session, complaint: Complaint, settings, now: datetime | None = None
) -> list[ComplaintCameraSnapshot]:
    """Copy the nearby cameras' latest snapshots for ``complaint`` (flushed, with an id)."""
    radius = float(settings.complaint_camera_radius_m)
    if complaint.lat is None or complaint.lon is None or radius <= 0:
        return []
    now = now or datetime.now(UTC)
    cams = cameras_near(
        session, complaint.lat, complaint.lon, radius, limit=int(settings.complaint_camera_max)
    )
    rows = []
    folder = settings.evidence_dir / SUBDIR
    for cam in cams:
        name = sha = None
        src = snapshot_file(settings.snapshot_dir, cam.code)
        if src is not None:
            try:
                data = src.read_bytes()
                folder.mkdir(parents=True, exist_ok=True)
                name = f"{SUBDIR}/{complaint.tracking_id}-{cam.code}.jpg"
                tmp = settings.evidence_dir / (name + ".tmp")
                tmp.write_bytes(data)
                tmp.replace(settings.evidence_dir / name)
                sha = hashlib.sha256(data).hexdigest()
            except OSError as exc:
                logger.warning(
                    "report %s: snapshot of %s not copied: %s", complaint.tracking_id, cam.code, exc
                )
                name = sha = None
        row = ComplaintCameraSnapshot(
            complaint_id=complaint.id,
            camera_id=cam.id,
            camera_code=cam.code,
            camera_name=cam.name[:200],
            distance_m=round(cam.distance_m, 1),
            taken_at=cam.last_seen_at if name else None,
            path=name,
            sha256=sha,
            attached_at=now,
        )
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()
        logger.info(
            "report %s: %d nearby camera snapshot(s) attached", complaint.tracking_id, len(rows)
        )
    return rows


def snapshots_for(session: Session, complaint_id: int) -> list[ComplaintCameraSnapshot]:
    return list(
        session.scalars(
            select(ComplaintCameraSnapshot)
            .where(ComplaintCameraSnapshot.complaint_id == complaint_id)
            .order_by(ComplaintCameraSnapshot.distance_m)
        )
    )
