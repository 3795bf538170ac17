"""Importers for a city's own registries (CSV, GeoJSON, XLSX): validate everything, then write.

An import either writes every row or none: all rows are validated first and errors are reported
with the row number and field, so a city never ends up with half a registry.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestion.url_policy import UrlPolicy, UrlRejected, default_policy
from store.models import Camera, CameraOwner, CameraProtocol
from store.rejections import AllOrNothingError

logger = logging.getLogger(__name__)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_TRUE = {"1", "true", "yes", "ya", "y"}
_FALSE = {"0", "false", "no", "tidak", "n", ""}


class RegistryImportError(AllOrNothingError):
    """A camera registry that cannot be imported; ``errors`` lists every problem found."""


class CameraRecord(BaseModel):
    """One validated row of a camera registry."""

    code: str
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kecamatan: str | None = None
    address: str | None = None
    owner: CameraOwner = CameraOwner.DISKOMINFO
    protocol: CameraProtocol = CameraProtocol.SNAPSHOT
    stream_url: str | None = None
    is_public: bool = False
    sample_interval_s: int = Field(default=60, ge=1, le=86400)
    tags: list[str] = Field(default_factory=list)
    rois: list[dict[str, Any]] = Field(default_factory=list)
    lines: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        v = v.strip()
        if not _CODE.match(v):
            raise ValueError("use 1-64 letters, digits, '-' or '_' (e.g. PLG-BKB-01)")
        return v

    @field_validator("name", "kecamatan", "address", "stream_url", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip()
            return v or None
        return v

    @field_validator("owner", "protocol", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().lower()
            return v or None
        return v

    @field_validator("is_public", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        if isinstance(v, str):
            s = v.strip().lower()
            if s in _TRUE:
                return True
            if s in _FALSE:
                return False
            raise ValueError("use true or false")
        return v

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [t.strip() for t in v.split(";") if t.strip()]
        return v or []

    @field_validator("rois", "lines", mode="before")
    @classmethod
    def _json(cls, v: Any) -> Any:
        if isinstance(v, str):
            if not v.strip():
                return []
            try:
                v = json.loads(v)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON: {exc.msg}") from exc
        return v or []


@dataclass
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


def _clean_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k is None:
            continue
        key = k.strip().lower()
        if isinstance(v, str) and v.strip() == "" and key not in {"is_public"}:
            continue  # empty cell: use the default
        out[key] = v
    return out


def read_camera_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read raw rows (row number, dict) from a CSV, GeoJSON or XLSX file."""
    if not path.exists():
        raise RegistryImportError([f"{path}: file not found"])
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or "code" not in [
                    f.strip().lower() for f in reader.fieldnames
                ]:
                    raise RegistryImportError(
                        [f"{path.name}: header row with at least code,name,lat,lon expected"]
                    )
                return [(i, _clean_row(r)) for i, r in enumerate(reader, start=2)]
        if suffix in {".geojson", ".json"}:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("type") != "FeatureCollection":
                raise RegistryImportError([f"{path.name}: a GeoJSON FeatureCollection is expected"])
            rows = []
            for i, feat in enumerate(doc.get("features", []), start=1):
                props = dict(feat.get("properties") or {})
                geom = feat.get("geometry") or {}
                if geom.get("type") == "Point" and len(geom.get("coordinates", [])) >= 2:
                    props.setdefault("lon", geom["coordinates"][0])
                    props.setdefault("lat", geom["coordinates"][1])
                rows.append((i, _clean_row(props)))
            return rows
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            ws = wb.active
            it = ws.iter_rows(values_only=True)
            header = [str(h).strip().lower() if h is not None else "" for h in next(it, [])]
            rows = []
            for i, values in enumerate(it, start=2):
                if all(v is None for v in values):
                    continue
                rows.append(
                    (
                        i,
                        _clean_row(
                            {
                                h: ("" if v is None else str(v))
                                for h, v in zip(header, values, strict=False)
                                if h
                            }
                        ),
                    )
                )
            return rows
    except RegistryImportError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error, OSError, ValueError) as exc:
        raise RegistryImportError([f"{path.name}: cannot be read ({exc})"]) from exc
    raise RegistryImportError(
        [f"{path.name}: unsupported file type {suffix!r} (use .csv, .geojson or .xlsx)"]
    )


def validate_cameras(
    rows: Iterable[tuple[int, dict[str, Any]]],
    label: str = "row",
    policy: UrlPolicy | None = None,
) -> list[CameraRecord]:
    """Validate all rows; raise RegistryImportError listing every problem, or return the records.

    ``stream_url`` must pass the camera URL rules (:mod:`ingestion.url_policy`, ``policy`` or
    the process settings' rules) for the row's protocol; a host name that does not resolve
    here is accepted and checked again at every fetch."""
    policy = policy or default_policy()
    records: list[CameraRecord] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            rec = CameraRecord.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append(f"{label} {number}, field '{field}': {err['msg']}")
            continue
        if rec.stream_url:
            try:
                policy.check(rec.stream_url, rec.protocol.value, resolve="lenient")
            except UrlRejected as exc:
                errors.append(
                    f"{label} {number}, field 'stream_url' (protocol {rec.protocol.value}): "
                    f"{exc.message} (rule: {exc.rule})"
                )
                continue
        if rec.code in seen:
            errors.append(
                f"{label} {number}: code {rec.code} already used on {label} {seen[rec.code]}"
            )
            continue
        seen[rec.code] = number
        records.append(rec)
    if errors:
        raise RegistryImportError(errors)
    if not records:
        raise RegistryImportError(["the file has no camera rows"])
    return records


def upsert_cameras(
    session: Session, records: list[CameraRecord], *, is_demo: bool = False
) -> ImportResult:
    """Create or update cameras by code (the caller's transaction makes it all-or-nothing)."""
    existing = {
        c.code: c
        for c in session.scalars(select(Camera).where(Camera.code.in_([r.code for r in records])))
    }
    created = updated = 0
    for rec in records:
        data = rec.model_dump()
        cam = existing.get(rec.code)
        if cam is None:
            session.add(Camera(**data, is_demo=is_demo))
            created += 1
        else:
            for key, value in data.items():
                setattr(cam, key, value)
            updated += 1
    session.flush()
    return ImportResult(created=created, updated=updated)


def import_cameras(
    session: Session, path: Path, *, is_demo: bool = False, policy: UrlPolicy | None = None
) -> ImportResult:
    """Validate a registry file completely, then create/update its cameras."""
    records = validate_cameras(read_camera_rows(path), policy=policy)
    return upsert_cameras(session, records, is_demo=is_demo)
