"""Recorded evidence: items, their files with SHA-256, the chain of custody, holds and pruning.

An evidence item is one recording of one camera (``ingestion.evidence_recorder`` makes the
files). Everything here is append-only in spirit: an item row is never deleted, custody rows are
only added, a file's hash is written once when the file is complete. Pruning (retention days,
then the disk quota, oldest first) deletes *files* of items that are not held for a case and
records that in the custody log; the item, its hashes and its history stay.

Every custody row that a person causes (view, export, download, hold, release) is also written
to the audit log (``store.audit``) by the caller's session, in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pantau.settings import Settings
from store import audit
from store.db import Database
from store.models import (
    Camera,
    CustodyAction,
    EvidenceCustody,
    EvidenceFile,
    EvidenceItem,
    EvidenceStatus,
    EvidenceTrigger,
)

logger = logging.getLogger(__name__)

SYSTEM = "sistem"
RECORDINGS = "recordings"  # evidence_dir/recordings/<id>/...
CASE_REF_MAX = 100
ACTIVE = (EvidenceStatus.QUEUED, EvidenceStatus.RECORDING)


class EvidenceError(ValueError):
    """A request about evidence that cannot be done; ``str()`` says why."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def item_dir(settings: Settings, item_id: int) -> Path:
    return settings.evidence_dir / RECORDINGS / f"{int(item_id):06d}"


def file_path(settings: Settings, f: EvidenceFile) -> Path:
    """The file's absolute path; never outside ``evidence_dir``."""
    root = settings.evidence_dir.resolve()
    path = (root / f.path).resolve()
    if not path.is_relative_to(root):
        raise EvidenceError(f"evidence file path {f.path!r} leaves the evidence folder")
    return path


def custody(
    session: Session,
    item_id: int,
    action: str,
    actor: str,
    *,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    audit_too: bool = False,
) -> EvidenceCustody:
    """Append one custody row (and, for what a person did, the same to the audit log)."""
    row = EvidenceCustody(
        item_id=item_id, action=str(action), actor=actor[:100], ip=ip, detail=detail
    )
    session.add(row)
    if audit_too:
        audit.record(
            session,
            f"evidence_{action}",
            username=actor,
            target=f"evidence:{item_id}",
            ip=ip,
            detail=detail,
        )
    return row


def location_of(cam: Camera) -> str:
    return cam.address or f"{cam.lat:.5f}, {cam.lon:.5f}"


def create_item(
    session: Session,
    cam: Camera,
    seconds: int,
    *,
    trigger: str,
    started_by: str,
    settings: Settings | None,
    alert_id: int | None = None,
    ip: str | None = None,
) -> EvidenceItem:
    """A queued evidence item for ``cam`` (custody: created; audited when a person asked).
    Without ``settings`` (an alert rule's action) the length is only checked against the rule
    schema's bound; the recorder caps it at ``evidence_max_seconds``."""
    if trigger not in set(EvidenceTrigger):
        raise EvidenceError(f"unknown trigger {trigger!r}")
    most = settings.evidence_max_seconds if settings is not None else 3600
    if not 1 <= int(seconds) <= most:
        raise EvidenceError(
            f"seconds must be between 1 and {most} (PANTAU_EVIDENCE_MAX_SECONDS), not {seconds}"
        )
    if not cam.stream_url:
        raise EvidenceError(f"camera {cam.code} has no stream URL to record from")
    item = EvidenceItem(
        camera_id=cam.id,
        camera_code=cam.code,
        camera_name=cam.name,
        kecamatan=cam.kecamatan,
        location=location_of(cam)[:300],
        lat=cam.lat,
        lon=cam.lon,
        stream_kind=cam.protocol,
        requested_seconds=int(seconds),
        trigger=trigger,
        started_by=started_by[:100],
        alert_id=alert_id,
        status=EvidenceStatus.QUEUED,
    )
    session.add(item)
    session.flush()
    detail = {"camera": cam.code, "seconds": int(seconds), "trigger": trigger}
    if alert_id is not None:
        detail["alert"] = alert_id
    custody(
        session,
        item.id,
        CustodyAction.CREATED,
        started_by,
        ip=ip,
        detail=detail,
        audit_too=trigger != EvidenceTrigger.RULE,
    )
    return item


def add_file(
    session: Session,
    settings: Settings,
    item: EvidenceItem,
    path: Path,
    kind: str,
    mime: str,
    duration_s: float | None = None,
) -> EvidenceFile:
    """Hash a finished file of ``item`` and record it."""
    rel = path.resolve().relative_to(settings.evidence_dir.resolve())
    f = EvidenceFile(
        item_id=item.id,
        path=str(rel),
        kind=kind,
        mime=mime,
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        duration_s=duration_s,
    )
    session.add(f)
    item.bytes_total = (item.bytes_total or 0) + f.bytes
    return f


def get_item(session: Session, item_id: int) -> EvidenceItem:
    item = session.get(EvidenceItem, int(item_id))
    if item is None:
        raise EvidenceError(f"no evidence item {item_id}")
    return item


def hold(session: Session, item_id: int, case_ref: str, actor: str, ip: str | None = None) -> None:
    """Hold an item for a case: it is never pruned until released."""
    case_ref = (case_ref or "").strip()
    if not case_ref or len(case_ref) > CASE_REF_MAX or any(ord(c) < 32 for c in case_ref):
        raise EvidenceError(f"case reference: 1 to {CASE_REF_MAX} printable characters")
    item = get_item(session, item_id)
    if item.pruned_at is not None:
        raise EvidenceError(f"evidence {item_id} was pruned on {item.pruned_at:%Y-%m-%d}")
    item.held_for_case, item.case_ref = True, case_ref
    custody(
        session,
        item.id,
        CustodyAction.HELD,
        actor,
        ip=ip,
        detail={"case": case_ref},
        audit_too=True,
    )


def release(session: Session, item_id: int, actor: str, ip: str | None = None) -> None:
    item = get_item(session, item_id)
    if not item.held_for_case:
        raise EvidenceError(f"evidence {item_id} is not held")
    detail = {"case": item.case_ref}
    item.held_for_case = False
    custody(session, item.id, CustodyAction.RELEASED, actor, ip=ip, detail=detail, audit_too=True)


def check_files(settings: Settings, item: EvidenceItem) -> list[str]:
    """Problems with the item's files on disk against the recorded sizes and hashes."""
    problems = []
    for f in item.files:
        if f.deleted_at is not None:
            continue
        path = file_path(settings, f)
        if not path.is_file():
            problems.append(f"{f.path}: missing")
        elif sha256_file(path) != f.sha256:
            problems.append(f"{f.path}: SHA-256 differs from the record")
    return problems


# -------------------------------------------------------------------------------------- pruning
@dataclass
class PruneResult:
    by_retention: list[int]
    by_quota: list[int]
    freed_bytes: int
    held_skipped: int  # held items that would otherwise have gone
    over_quota_bytes: int  # still above the quota afterwards (everything left is held/active)


def stored_bytes(session: Session) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(EvidenceFile.bytes), 0)).where(
                EvidenceFile.deleted_at.is_(None)
            )
        )
        or 0
    )


def _prune_item(session: Session, settings: Settings, item: EvidenceItem, why: str) -> int:
    freed = 0
    now = datetime.now(UTC)
    for f in item.files:
        if f.deleted_at is not None:
            continue
        try:
            file_path(settings, f).unlink(missing_ok=True)
        except OSError:
            logger.exception("cannot delete evidence file %s", f.path)
            continue
        f.deleted_at = now
        freed += f.bytes
    folder = item_dir(settings, item.id)
    if folder.is_dir() and not any(folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)
    item.pruned_at = now
    custody(
        session,
        item.id,
        CustodyAction.PRUNED,
        SYSTEM,
        detail={"why": why, "bytes": freed, "files": len(item.files)},
    )
    return freed


def prune(db: Database, settings: Settings, now: datetime | None = None) -> PruneResult:
    """Retention first (items older than ``evidence_retention_days``), then the quota (oldest
    first until the stored bytes fit ``evidence_quota_mb``). Held, queued and recording items
    are never touched."""
    now = now or datetime.now(UTC)
    out = PruneResult([], [], 0, 0, 0)
    candidates = (
        select(EvidenceItem)
        .where(EvidenceItem.pruned_at.is_(None), EvidenceItem.status.not_in(list(ACTIVE)))
        .order_by(EvidenceItem.created_at, EvidenceItem.id)
    )
    with db.session() as s:
        if settings.evidence_retention_days > 0:
            cutoff = now - timedelta(days=settings.evidence_retention_days)
            for item in s.scalars(candidates.where(EvidenceItem.created_at < cutoff)):
                if item.held_for_case:
                    out.held_skipped += 1
                    continue
                out.freed_bytes += _prune_item(s, settings, item, "retention")
                out.by_retention.append(item.id)
    if settings.evidence_quota_mb > 0:
        quota = settings.evidence_quota_mb * 1_000_000
        with db.session() as s:
            used = stored_bytes(s)
            if used > quota:
                for item in s.scalars(candidates):
                    if used <= quota:
                        break
                    if item.held_for_case:
                        out.held_skipped += 1
                        continue
                    freed = _prune_item(s, settings, item, "quota")
                    used -= freed
                    out.freed_bytes += freed
                    out.by_quota.append(item.id)
            out.over_quota_bytes = max(0, used - quota)
    if out.by_retention or out.by_quota:
        logger.info(
            "evidence pruned: %d by retention, %d by quota, %.1f MB freed",
            len(out.by_retention),
            len(out.by_quota),
            out.freed_bytes / 1e6,
        )
    if out.over_quota_bytes:
        logger.warning(
            "evidence still %.1f MB over the quota: the rest is held for cases or recording",
            out.over_quota_bytes / 1e6,
        )
    return out


# -------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class ItemRow:
    id: int
    created_at: datetime
    camera_code: str
    camera_name: str
    kecamatan: str | None
    status: str
    reason: str | None
    requested_seconds: int
    duration_s: float | None
    bytes_total: int
    trigger: str
    started_by: str
    alert_id: int | None
    held_for_case: bool
    case_ref: str | None
    pruned: bool


def list_items(
    session: Session, *, limit: int = 200, status: str | None = None, camera: str | None = None
) -> list[ItemRow]:
    q = select(EvidenceItem).order_by(EvidenceItem.created_at.desc(), EvidenceItem.id.desc())
    if status:
        q = q.where(EvidenceItem.status == status)
    if camera:
        q = q.where(EvidenceItem.camera_code == camera)
    return [
        ItemRow(
            id=i.id,
            created_at=i.created_at,
            camera_code=i.camera_code,
            camera_name=i.camera_name,
            kecamatan=i.kecamatan,
            status=i.status,
            reason=i.reason,
            requested_seconds=i.requested_seconds,
            duration_s=i.stream_duration_s,
            bytes_total=i.bytes_total or 0,
            trigger=i.trigger,
            started_by=i.started_by,
            alert_id=i.alert_id,
            held_for_case=i.held_for_case,
            case_ref=i.case_ref,
            pruned=i.pruned_at is not None,
        )
        for i in session.scalars(q.limit(max(1, min(limit, 2000))))
    ]


def custody_rows(session: Session, item_id: int) -> list[EvidenceCustody]:
    return list(
        session.scalars(
            select(EvidenceCustody)
            .where(EvidenceCustody.item_id == item_id)
            .order_by(EvidenceCustody.at, EvidenceCustody.id)
        )
    )
