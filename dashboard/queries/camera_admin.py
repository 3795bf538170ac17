"""Read queries of the camera management page (``/admin/kamera``): one page of the camera list,
filtered, sorted and counted in the database (a city has 10,693 cameras: never all of them sent
to a browser), and one camera's editable record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from store.models import Camera

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
SORTS = {
    "name": (Camera.name, Camera.code),
    "code": (Camera.code,),
    "status": (Camera.status, Camera.name),
}
MAX_SEARCH = 100


@dataclass(frozen=True)
class CameraFilter:
    search: str = ""
    status: str = ""
    owner: str = ""
    kecamatan: str = ""
    public: str = ""  # "", "yes", "no"
    enabled: str = ""  # "", "yes", "no"
    sort: str = "name"


@dataclass(frozen=True)
class CameraListPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def _conditions(f: CameraFilter) -> list[Any]:
    cond: list[Any] = []
    text = (f.search or "").strip()[:MAX_SEARCH].lower()
    if text:
        cond.append(
            or_(
                func.lower(Camera.code).contains(text, autoescape=True),
                func.lower(Camera.name).contains(text, autoescape=True),
                func.lower(func.coalesce(Camera.address, "")).contains(text, autoescape=True),
            )
        )
    if f.status:
        cond.append(Camera.status == f.status)
    if f.owner:
        cond.append(Camera.owner == f.owner)
    if f.kecamatan:
        cond.append(Camera.kecamatan == f.kecamatan)
    if f.public in ("yes", "no"):
        cond.append(Camera.is_public.is_(f.public == "yes"))
    if f.enabled in ("yes", "no"):
        cond.append(Camera.enabled.is_(f.enabled == "yes"))
    return cond


def camera_page(
    session: Session, f: CameraFilter, page: int = 1, per_page: int = PAGE_SIZE
) -> CameraListPage:
    """One page (1-based) of cameras matching ``f``; ``page`` is clamped to the last page."""
    cond = _conditions(f)
    total = session.scalar(select(func.count()).select_from(Camera).where(*cond)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, int(page or 1)), pages)
    cols = (
        Camera.code,
        Camera.name,
        Camera.kecamatan,
        Camera.owner,
        Camera.protocol,
        Camera.status,
        Camera.status_reason,
        Camera.is_public,
        Camera.enabled,
        Camera.sample_interval_s,
        Camera.last_seen_at,
    )
    order = SORTS.get(f.sort, SORTS["name"])
    q = select(*cols).where(*cond).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    rows = [dict(r._mapping) for r in session.execute(q)]
    return CameraListPage(rows=rows, total=total, page=page, pages=pages)


def kecamatan_choices(session: Session) -> list[str]:
    return [
        k
        for k in session.scalars(
            select(Camera.kecamatan)
            .where(Camera.kecamatan.is_not(None))
            .distinct()
            .order_by(Camera.kecamatan)
            .limit(2000)
        )
        if k
    ]


def camera_record(session: Session, code: str) -> dict[str, Any] | None:
    """The editable fields of one camera plus its state (enabled, status, snapshot)."""
    from store.cameras import record_of

    cam = session.scalar(select(Camera).where(Camera.code == code))
    if cam is None:
        return None
    out = record_of(cam)
    out.update(
        enabled=bool(cam.enabled),
        status=cam.status,
        status_reason=cam.status_reason,
        last_snapshot=cam.last_snapshot,
        last_seen_at=cam.last_seen_at,
    )
    return out
