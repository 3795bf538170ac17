"""Read queries of the video wall (``/dinding``): group choices, a group's cameras, cameras
with open (and new) alerts, and what each tile says about its camera."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.wall_layout import GroupSpec
from store.models import Alert, AlertStatus, Camera, WallGroup
from store.types import utcnow

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def group_values(session: Session, kind: str) -> list[tuple[str, str]]:
    """(value, label) choices for a group kind, from the enabled cameras (custom: the saved
    groups, value = id)."""
    enabled = Camera.enabled.is_(True)
    if kind == "kecamatan":
        rows = session.scalars(
            select(Camera.kecamatan)
            .where(enabled, Camera.kecamatan.is_not(None))
            .distinct()
            .order_by(Camera.kecamatan)
        )
        return [(k, k) for k in rows if k]
    if kind == "owner":
        rows = session.scalars(
            select(Camera.owner).where(enabled).distinct().order_by(Camera.owner)
        )
        return [(o, o) for o in rows if o]
    if kind == "tag":
        tags: set[str] = set()
        for row in session.scalars(select(Camera.tags).where(enabled)):
            tags.update(str(t) for t in row or [] if isinstance(t, str) and t)
        return [(t, t) for t in sorted(tags)]
    if kind == "custom":
        return [
            (str(g.id), g.name) for g in session.scalars(select(WallGroup).order_by(WallGroup.name))
        ]
    return []


def open_alert_cameras(session: Session) -> dict[str, tuple[str, str | None, datetime, int]]:
    """Cameras with an open alert (not ended, not resolved): code -> (severity, level,
    started_at, alert id) of the most severe, then newest, alert."""
    rows = session.execute(
        select(Camera.code, Alert.severity, Alert.level, Alert.started_at, Alert.id)
        .join(Camera, Camera.id == Alert.camera_id)
        .where(
            Alert.ended_at.is_(None),
            Alert.status != str(AlertStatus.RESOLVED),
            Camera.enabled.is_(True),
        )
    ).all()
    best: dict[str, tuple[str, str | None, datetime, int]] = {}
    for code, severity, level, started, alert_id in rows:
        cur = best.get(code)
        key = (SEVERITY_RANK.get(severity, 3), -started.timestamp())
        if cur is None or key < (SEVERITY_RANK.get(cur[0], 3), -cur[2].timestamp()):
            best[code] = (severity, level, started, alert_id)
    return best


def new_alert_cameras(
    alerts: dict[str, tuple[str, str | None, datetime, int]],
    minutes: int,
    now: datetime | None = None,
) -> list[str]:
    """Cameras whose open alert began within ``minutes``, newest first (the takeover)."""
    since = (now or utcnow()) - timedelta(minutes=minutes)
    fresh = [(a[2], code) for code, a in alerts.items() if a[2] >= since]
    return [code for _started, code in sorted(fresh, reverse=True)]


def group_cameras(session: Session, spec: GroupSpec) -> list[str]:
    """The codes of a group's enabled cameras, by name (custom groups: in their saved order)."""
    q = select(Camera.code).where(Camera.enabled.is_(True)).order_by(Camera.name, Camera.code)
    if spec.kind == "kecamatan":
        return list(session.scalars(q.where(Camera.kecamatan == spec.value)))
    if spec.kind == "owner":
        return list(session.scalars(q.where(Camera.owner == spec.value)))
    if spec.kind == "tag":
        rows = session.execute(
            select(Camera.code, Camera.tags)
            .where(Camera.enabled.is_(True))
            .order_by(Camera.name, Camera.code)
        ).all()
        return [code for code, tags in rows if spec.value in (tags or [])]
    if spec.kind == "alert":
        alerts = open_alert_cameras(session)
        return [c for c in session.scalars(q) if c in alerts]
    if spec.kind == "custom":
        try:
            gid = int(spec.value or "")
        except (TypeError, ValueError, OverflowError):
            return []
        group = session.get(WallGroup, gid) if 0 < gid < 2**31 else None
        if group is None:
            return []
        saved = [c for c in group.cameras or [] if isinstance(c, str)]
        live = set(
            session.scalars(select(Camera.code).where(Camera.code.in_(saved), Camera.enabled))
        )
        return [c for c in saved if c in live]
    return list(session.scalars(q))


@dataclass(frozen=True)
class TileInfo:
    code: str
    name: str
    kecamatan: str | None
    status: str
    last_seen_at: datetime | None
    is_public: bool


def tile_info(session: Session, codes: list[str]) -> dict[str, TileInfo]:
    if not codes:
        return {}
    rows = session.execute(
        select(
            Camera.code,
            Camera.name,
            Camera.kecamatan,
            Camera.status,
            Camera.last_seen_at,
            Camera.is_public,
        ).where(Camera.code.in_(codes), Camera.enabled.is_(True))
    ).all()
    return {r.code: TileInfo(*r) for r in rows}


def camera_choices(session: Session) -> list[tuple[str, str]]:
    """(code, 'name · kecamatan') of every enabled camera, for building a custom group."""
    rows = session.execute(
        select(Camera.code, Camera.name, Camera.kecamatan)
        .where(Camera.enabled.is_(True))
        .order_by(Camera.name)
    ).all()
    return [(c, f"{n} · {k}" if k else n) for c, n, k in rows]
