"""Camera management writes (the admin page ``/admin/kamera``): add, edit, disable/enable a
camera, save its ROIs and counting lines, preview and commit a registry file.

Every function validates first with the registry import's rules
(:class:`ingestion.importers.CameraRecord` and the camera URL policy), then changes the rows in
the caller's session and writes one audit row per camera with the admin's name and a readable
diff (credentials in stream URLs are redacted). The caller's transaction makes a registry commit
all-or-nothing. A camera's kecamatan is located from the boundaries by ``store.areas`` (ORM
insert/update events, point-in-polygon; the typed one kept as the fallback), so nothing here
assigns it. Ingestion picks the changes up by itself: the local scheduler re-reads enabled
cameras every ``reload_every_s`` (30 s), the Celery scheduler likewise.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestion.importers import CameraRecord, RegistryImportError
from ingestion.url_policy import UrlPolicy, UrlRejected, default_policy
from store import audit
from store.audit import AuditAction
from store.models import Camera, CameraStatus

logger = logging.getLogger(__name__)

#: The editable fields, in form order (``CameraRecord``'s fields).
FIELDS: tuple[str, ...] = tuple(CameraRecord.model_fields)
#: Geometry limits: a browser may send anything; these keep a camera row small.
MAX_SHAPES = 32
MAX_POINTS = 64
MAX_NAME = 60
ROI_KINDS = ("crowd", "road", "any", "no_parking", "no_dumping")  # analytics.types.ROI_KINDS


class CameraError(ValueError):
    """A camera that cannot be saved: ``errors`` maps a field name to why (``"_"``: the row)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _redact(url: Any) -> Any:
    if isinstance(url, str):
        return re.sub(r"//[^/@]*@", "//***@", url)
    return url


def _plain(value: Any) -> Any:
    """A JSON-able, comparable form of a field value (enums as their string)."""
    if isinstance(value, Enum):
        return value.value
    return value


def record_of(camera: Camera) -> dict[str, Any]:
    """The camera's editable fields as plain values (what a form or a registry row holds).
    ``kecamatan`` is the one the admin or registry gave (``kecamatan_input``), not the one
    resolved from the boundaries, so an unchanged registry row compares equal."""
    out = {f: _plain(getattr(camera, f)) for f in FIELDS}
    typed = getattr(camera, "kecamatan_input", None)
    if typed is not None or getattr(camera, "area_source", None) is not None:
        out["kecamatan"] = typed
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"old": ..., "new": ...}} of the fields that differ (stream URLs redacted)."""
    out: dict[str, dict[str, Any]] = {}
    for key in new:
        a, b = _plain(old.get(key)), _plain(new.get(key))
        if not _same(a, b):
            if key == "stream_url":
                a, b = _redact(a), _redact(b)
            out[key] = {"old": a, "new": b}
    return out


def summary(changes: dict[str, dict[str, Any]], limit: int = 400) -> str:
    """A readable one-line diff: ``name: 'A' → 'B'; is_public: False → True``."""

    def show(v: Any) -> str:
        text = repr(v) if not isinstance(v, (list, dict)) else f"{len(v)} item(s)"
        return text if len(text) <= 80 else text[:77] + "..."

    text = "; ".join(f"{k}: {show(v['old'])} → {show(v['new'])}" for k, v in changes.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_geometry(rois: Any, lines: Any) -> None:
    """ROIs and lines as the analytics parse them (``analytics.types.AnalyticsConfig``)."""
    from analytics.types import AnalyticsConfig

    if not isinstance(rois, list) or not isinstance(lines, list):
        raise ValueError("rois and lines must be lists")
    if len(rois) > MAX_SHAPES or len(lines) > MAX_SHAPES:
        raise ValueError(f"at most {MAX_SHAPES} ROIs and {MAX_SHAPES} lines")
    for shape in [*rois, *lines]:
        if not isinstance(shape, dict):
            raise ValueError("each ROI and line must be an object")
        if len(str(shape.get("name") or "")) > MAX_NAME:
            raise ValueError(f"names are at most {MAX_NAME} characters")
        if len(shape.get("points") or []) > MAX_POINTS:
            raise ValueError(f"a polygon has at most {MAX_POINTS} points")
    AnalyticsConfig.from_dict({"rois": rois, "lines": lines})


def validate(data: dict[str, Any], policy: UrlPolicy | None = None) -> CameraRecord:
    """A form's values as a CameraRecord, with the registry import's rules (field types and
    ranges, code pattern, URL policy for the protocol, ROIs/lines the analytics accept).
    Raises CameraError naming each bad field."""
    errors: dict[str, str] = {}
    try:
        rec = CameraRecord.model_validate(
            {k: v for k, v in data.items() if k in FIELDS and v is not None}
        )
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "_"
            empty = err["type"] == "missing" or err.get("input") is None
            msg = "required" if empty else str(err["msg"]).removeprefix("Value error, ")
            errors.setdefault(key, msg)
        raise CameraError(errors) from None
    if rec.stream_url:
        try:
            (policy or default_policy()).check(
                rec.stream_url, rec.protocol.value, resolve="lenient"
            )
        except UrlRejected as exc:
            errors["stream_url"] = f"{exc.message} (rule: {exc.rule})"
    try:
        _check_geometry(rec.rois, rec.lines)
    except (ValueError, TypeError) as exc:
        errors["rois"] = str(exc)
    if errors:
        raise CameraError(errors)
    return rec


def get(session: Session, code: str) -> Camera | None:
    return session.scalar(select(Camera).where(Camera.code == code))


def create(
    session: Session, data: dict[str, Any], *, actor: str | None, policy: UrlPolicy | None = None
) -> Camera:
    """Add a camera (enabled, status unknown). Raises CameraError."""
    rec = validate(data, policy)
    if get(session, rec.code) is not None:
        raise CameraError({"code": f"code {rec.code} is already used by another camera"})
    cam = Camera(**rec.model_dump(), enabled=True, status=CameraStatus.UNKNOWN)
    session.add(cam)
    session.flush()
    new = record_of(cam)
    changes = diff(dict.fromkeys(new), new)
    audit.record(
        session,
        AuditAction.CAMERA_CREATE,
        username=actor,
        target=cam.code,
        detail={"changes": changes, "summary": summary(changes)},
    )
    return cam


def update(
    session: Session,
    code: str,
    data: dict[str, Any],
    *,
    actor: str | None,
    policy: UrlPolicy | None = None,
) -> dict[str, dict[str, Any]]:
    """Change a camera's fields (the code stays); returns the diff (empty: nothing changed,
    nothing audited). Raises CameraError (``_``: no such camera)."""
    cam = get(session, code)
    if cam is None:
        raise CameraError({"_": f"no camera with code {code}"})
    old = record_of(cam)
    merged = {**old, **{k: v for k, v in data.items() if k in FIELDS}, "code": cam.code}
    rec = validate(merged, policy)
    new = rec.model_dump()
    changes = diff(old, new)
    if not changes:
        return {}
    for key in changes:
        setattr(cam, key, new[key])
    session.flush()
    audit.record(
        session,
        AuditAction.CAMERA_UPDATE,
        username=actor,
        target=cam.code,
        detail={"changes": changes, "summary": summary(changes)},
    )
    return changes


def set_enabled(session: Session, code: str, enabled: bool, *, actor: str | None) -> bool:
    """Enable or disable a camera (a disabled one is no longer sampled after the next reload).
    Returns whether anything changed."""
    cam = get(session, code)
    if cam is None:
        raise CameraError({"_": f"no camera with code {code}"})
    if bool(cam.enabled) == bool(enabled):
        return False
    cam.enabled = bool(enabled)
    cam.status = CameraStatus.UNKNOWN if enabled else CameraStatus.DISABLED
    cam.status_reason = None if enabled else "dinonaktifkan admin / disabled by an admin"
    session.flush()
    changes = {"enabled": {"old": not enabled, "new": bool(enabled)}}
    audit.record(
        session,
        AuditAction.CAMERA_ENABLE if enabled else AuditAction.CAMERA_DISABLE,
        username=actor,
        target=cam.code,
        detail={"changes": changes, "summary": summary(changes)},
    )
    return True


def save_perspective(
    session: Session, code: str, perspective: dict[str, Any] | None, *, actor: str | None
) -> bool:
    """Set (or with ``None`` remove) a camera's two perspective calibration marks, kept in its
    analytics config (``config["perspective"]``, :mod:`analytics.perspective`); audited like
    every camera change. Returns whether anything changed. Raises CameraError (``perspective``)
    for marks the analytics refuse."""
    from analytics.perspective import PerspectiveMarks

    cam = get(session, code)
    if cam is None:
        raise CameraError({"_": f"no camera with code {code}"})
    new = None
    if perspective is not None:
        try:
            new = PerspectiveMarks.from_dict(perspective).to_dict()
        except ValueError as exc:
            raise CameraError({"perspective": str(exc)}) from None
    config = dict(cam.config or {})
    old = config.get("perspective")
    if old == new:
        return False
    if new is None:
        config.pop("perspective", None)
    else:
        config["perspective"] = new
    cam.config = config
    session.flush()
    changes = {"perspective": {"old": old, "new": new}}
    audit.record(
        session,
        AuditAction.CAMERA_UPDATE,
        username=actor,
        target=cam.code,
        detail={"changes": changes, "summary": summary(changes)},
    )
    return True


def save_geometry(
    session: Session,
    code: str,
    rois: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    *,
    actor: str | None,
) -> dict[str, dict[str, Any]]:
    """Replace a camera's ROIs and counting lines (normalised 0..1 frame coordinates, as the
    analytics read them). Raises CameraError (field ``rois``)."""
    return update(session, code, {"rois": rois, "lines": lines}, actor=actor)


# -- registry files: preview, then commit -------------------------------------------------------


@dataclass
class RowChange:
    code: str
    row: int
    kind: str  # "new", "changed", "unchanged"
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RegistryPreview:
    rows: list[RowChange]
    errors: list[str]
    records: list[CameraRecord]

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if r.kind == kind)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.records)


def preview_registry(
    session: Session,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    policy: UrlPolicy | None = None,
) -> RegistryPreview:
    """Validate every row (the import's rules plus ROIs/lines the analytics accept) and compare
    with the cameras in the database: new, changed (with field diffs) or unchanged. Writes
    nothing."""
    from ingestion.importers import validate_cameras

    errors: list[str] = []
    records: list[CameraRecord] = []
    try:
        records = validate_cameras(rows, policy=policy)
    except RegistryImportError as exc:
        errors = list(exc.errors)
    numbers = {}
    for number, raw in rows:
        code = str(raw.get("code") or "").strip()
        numbers.setdefault(code, number)
    for rec in records:
        try:
            _check_geometry(rec.rois, rec.lines)
        except (ValueError, TypeError) as exc:
            errors.append(f"row {numbers.get(rec.code, '?')}, field 'rois': {exc}")
    if errors:
        return RegistryPreview([], errors, [])
    existing = {
        c.code: c
        for c in session.scalars(select(Camera).where(Camera.code.in_([r.code for r in records])))
    }
    out: list[RowChange] = []
    for rec in records:
        cam = existing.get(rec.code)
        number = numbers.get(rec.code, 0)
        if cam is None:
            out.append(RowChange(rec.code, number, "new"))
            continue
        changes = diff(record_of(cam), rec.model_dump())
        out.append(RowChange(rec.code, number, "changed" if changes else "unchanged", changes))
    return RegistryPreview(out, [], records)


def commit_registry(
    session: Session,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    actor: str | None,
    filename: str = "",
    policy: UrlPolicy | None = None,
) -> RegistryPreview:
    """Validate again (the database may have changed since the preview), then create and update
    every camera of the file in the caller's transaction (all or nothing), one audit row per
    created or changed camera and one for the file. Raises RegistryImportError on any bad row."""
    preview = preview_registry(session, rows, policy=policy)
    if preview.errors:
        raise RegistryImportError(preview.errors)
    if not preview.records:
        raise RegistryImportError(["the file has no camera rows"])
    by_code = {c.code: c for c in preview.rows}
    existing = {
        c.code: c
        for c in session.scalars(
            select(Camera).where(Camera.code.in_([r.code for r in preview.records]))
        )
    }
    for rec in preview.records:
        change = by_code[rec.code]
        if change.kind == "unchanged":
            continue
        data = rec.model_dump()
        if change.kind == "new":
            cam = Camera(**data, enabled=True, status=CameraStatus.UNKNOWN)
            session.add(cam)
            changes = diff(dict.fromkeys(data), data)
            action = AuditAction.CAMERA_CREATE
        else:
            cam = existing[rec.code]
            for key in change.changes:
                setattr(cam, key, data[key])
            changes = change.changes
            action = AuditAction.CAMERA_UPDATE
        audit.record(
            session,
            action,
            username=actor,
            target=rec.code,
            detail={"changes": changes, "summary": summary(changes), "file": filename[:200]},
        )
    audit.record(
        session,
        AuditAction.CAMERA_IMPORT,
        username=actor,
        target=filename[:200] or "registry",
        detail={
            "new": preview.count("new"),
            "changed": preview.count("changed"),
            "unchanged": preview.count("unchanged"),
            "summary": f"{preview.count('new')} new, {preview.count('changed')} changed, "
            f"{preview.count('unchanged')} unchanged",
        },
    )
    session.flush()
    return preview
