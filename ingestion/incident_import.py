"""``pantau import incidents FILE``: an agency's incident file (CSV or XLSX), all rows or none.

Columns (header row, any order, case-insensitive): ``source, external_id, kind, occurred_at,
lat, lon, description, status``; optional ``address, kecamatan, ended_at`` (format in
data/README.md). Every row is validated first (``store.incidents.validate_incident``); one bad
row rejects the whole file with its row number, column, value and why, and nothing is written.
A valid file is upserted in ONE transaction on (source, external_id): importing it again
changes nothing, a changed row updates its incident.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from store.incidents import (
    COLUMNS,
    MAX_BATCH,
    OPTIONAL_COLUMNS,
    IncidentInvalid,
    IncidentRecord,
    UpsertResult,
    upsert_incidents,
    validate_incident,
)
from store.rejections import AllOrNothingError

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
assert MAX_ROWS >= MAX_BATCH


class IncidentFileError(AllOrNothingError):
    """A file that cannot be imported; ``errors`` lists every problem (row, column, value, why).
    Nothing of the file was written."""


def _cell(value: Any) -> str | None:
    """A cell as text (XLSX numbers and dates included); empty -> None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        # an Excel date cell has no time zone: kept as its text so validation names it
        return value.isoformat(sep=" ")
    text = str(value).strip()
    return text or None


def _check_header(name: str, header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    problems = []
    if missing:
        problems.append(
            f"{name}: header row lacks column(s) {', '.join(missing)} "
            f"(required: {', '.join(COLUMNS)}; optional: {', '.join(OPTIONAL_COLUMNS)})"
        )
    seen = set()
    for column in header:
        if column and column in seen:
            problems.append(f"{name}: column {column!r} appears twice in the header row")
        seen.add(column)
    if problems:
        raise IncidentFileError(problems)


def _row(header: list[str], values: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in zip(header, values, strict=False):
        text = _cell(value)
        if column and text is not None:
            out[column] = text
    if len(values) > len(header) and any(_cell(v) for v in values[len(header) :]):
        out["(cells beyond the header)"] = [_cell(v) for v in values[len(header) :] if _cell(v)]
    return out


def read_incident_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number as a spreadsheet shows it, raw row) of a CSV or XLSX file; bounded."""
    if not path.exists():
        raise IncidentFileError([f"{path}: file not found"])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise IncidentFileError(
            [f"{path.name}: {size:,} bytes; at most {MAX_FILE_BYTES:,} (split the file)"]
        )
    suffix = path.suffix.lower()
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                header = [h.strip().lower() for h in next(reader, [])]
                _check_header(path.name, header)
                for number, values in enumerate(reader, start=2):
                    if not any(v.strip() for v in values):
                        continue
                    rows.append((number, _row(header, values)))
                    if len(rows) > MAX_ROWS:
                        break
        elif suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            try:
                it = wb.active.iter_rows(values_only=True)
                header = [str(h).strip().lower() if h is not None else "" for h in next(it, ())]
                _check_header(path.name, header)
                for number, values in enumerate(it, start=2):
                    if all(_cell(v) is None for v in values):
                        continue
                    rows.append((number, _row(header, list(values))))
                    if len(rows) > MAX_ROWS:
                        break
            finally:
                wb.close()
        else:
            raise IncidentFileError(
                [f"{path.name}: unsupported file type {suffix!r} (use .csv or .xlsx)"]
            )
    except IncidentFileError:
        raise
    except (UnicodeDecodeError, csv.Error, OSError, ValueError, KeyError) as exc:
        raise IncidentFileError([f"{path.name}: cannot be read ({exc})"[:300]]) from exc
    except Exception as exc:  # openpyxl: a file that is not a workbook (zip/xml errors)
        raise IncidentFileError([f"{path.name}: not a readable XLSX file ({exc})"[:300]]) from exc
    if len(rows) > MAX_ROWS:
        raise IncidentFileError([f"{path.name}: more than {MAX_ROWS:,} rows (split the file)"])
    if not rows:
        raise IncidentFileError([f"{path.name}: the file has no incident rows"])
    return rows


def validate_rows(
    rows: list[tuple[int, dict[str, Any]]],
    bounds: tuple[float, float, float, float] | None = None,
) -> list[tuple[int, IncidentRecord]]:
    """Validate every row; raise IncidentFileError listing every problem, or the records."""
    errors: list[str] = []
    records: list[tuple[int, IncidentRecord]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in rows:
        try:
            rec = validate_incident(row, bounds=bounds)
        except IncidentInvalid as exc:
            errors.extend(f"row {number}, {p}" for p in exc.problems)
            continue
        if rec.key in seen:
            errors.append(
                f"row {number}, column 'external_id', value {rec.external_id!r}: "
                f"source {rec.source} has it already on row {seen[rec.key]}"
            )
            continue
        seen[rec.key] = number
        records.append((number, rec))
    if errors:
        raise IncidentFileError(errors)
    return records


@dataclass
class FileImport:
    rows: int
    result: UpsertResult | None  # None: validated only (dry run)


def import_incidents(
    session: Session | None,
    path: Path,
    *,
    actor: str,
    bounds: tuple[float, float, float, float] | None = None,
    dry_run: bool = False,
) -> FileImport:
    """Validate the whole file, then upsert it in the caller's transaction (all or none);
    ``dry_run`` (or no session): validate only."""
    records = validate_rows(read_incident_rows(path), bounds)
    if dry_run or session is None:
        return FileImport(len(records), None)
    result = upsert_incidents(session, records, actor=actor, channel=f"file:{path.name}"[:64])
    logger.info(
        "incidents from %s: %d inserted, %d updated, %d unchanged",
        path.name,
        result.inserted,
        result.updated,
        result.unchanged,
    )
    return FileImport(len(records), result)
