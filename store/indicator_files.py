"""Reading OPD indicator value files (CSV or XLSX) into rows for :mod:`store.indicators`.

CSV: UTF-8 (a BOM is fine), ``,`` or ``;`` between cells; XLSX: the first sheet. Row 1 is the
header and must name ``opd``, ``indicator``, ``period`` and ``value`` (``note`` optional; case
and order do not matter). Rows are numbered as the file's lines, so an error names the line a
person sees in a spreadsheet. Bounded: :data:`~store.indicators.MAX_FILE_BYTES` and
:data:`~store.indicators.MAX_ROWS`.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from store.indicators import (
    COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    Actor,
    Applied,
    IndicatorImportError,
    RowError,
    write_rows,
)

logger = logging.getLogger(__name__)


def _clean(row: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if k is None:
            continue
        key = str(k).strip().lower()
        if isinstance(v, str) and not v.strip():
            v = None
        out[key] = v
    return out


def _check_header(header: list[str], name: str) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise IndicatorImportError(
            [
                RowError(
                    1,
                    ", ".join(missing),
                    ",".join(h for h in header if h)[:80],
                    f"header must name the columns {', '.join(COLUMNS)} (optional: note); "
                    f"missing {', '.join(missing)}",
                    "header",
                )
            ]
        )


def read_rows(data: bytes, name: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows (line number, cells) of an indicator file: CSV (UTF-8, ``,`` or ``;``) or XLSX."""
    if len(data) > MAX_FILE_BYTES:
        raise IndicatorImportError(
            [
                RowError(
                    0,
                    "file",
                    name,
                    f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                    "too_large",
                    {"mib": MAX_FILE_BYTES // (1024 * 1024)},
                )
            ]
        )
    suffix = Path(name).suffix.lower()
    rows: list[tuple[int, dict[str, Any]]] = []
    try:
        if suffix == ".csv":
            textdata = data.decode("utf-8-sig")
            first = textdata.split("\n", 1)[0]
            delimiter = ";" if first.count(";") > first.count(",") else ","
            reader = csv.DictReader(io.StringIO(textdata, newline=""), delimiter=delimiter)
            _check_header([(f or "").strip().lower() for f in reader.fieldnames or []], name)
            for number, raw in enumerate(reader, start=2):
                if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                    continue
                rows.append((number, _clean(raw)))
                if len(rows) > MAX_ROWS:
                    break
        elif suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            ws = wb.active
            it = ws.iter_rows(values_only=True)
            header = [str(h).strip().lower() if h is not None else "" for h in next(it, ())]
            _check_header(header, name)
            for number, values in enumerate(it, start=2):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                rows.append((number, _clean(dict(zip(header, values, strict=False)))))
                if len(rows) > MAX_ROWS:
                    break
            wb.close()
        else:
            raise IndicatorImportError(
                [
                    RowError(
                        0,
                        "file",
                        name,
                        f"unsupported file type {suffix!r}: use .csv or .xlsx",
                        "file_type",
                    )
                ]
            )
    except IndicatorImportError:
        raise
    except UnicodeDecodeError:
        raise IndicatorImportError(
            [RowError(0, "file", name, "not UTF-8 text: save the CSV as UTF-8", "encoding")]
        ) from None
    except Exception as exc:  # a broken XLSX, a CSV the csv module refuses
        raise IndicatorImportError(
            [
                RowError(
                    0, "file", name, f"cannot be read ({type(exc).__name__}: {exc})", "unreadable"
                )
            ]
        ) from None
    if len(rows) > MAX_ROWS:
        raise IndicatorImportError(
            [
                RowError(
                    0,
                    "file",
                    name,
                    f"more than {MAX_ROWS:,} rows: split the file",
                    "too_many",
                    {"rows": MAX_ROWS},
                )
            ]
        )
    if not rows:
        raise IndicatorImportError([RowError(0, "file", name, "the file has no rows", "empty")])
    return rows


def import_file(session: Session, path: Path, actor: Actor) -> Applied:
    """``pantau import indicators FILE``: read, validate every row, write all or none."""
    if not path.exists():
        raise IndicatorImportError([RowError(0, "file", str(path), "file not found")])
    rows = read_rows(path.read_bytes(), path.name)
    return write_rows(session, rows, actor)
