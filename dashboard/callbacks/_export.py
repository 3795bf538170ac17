"""Downloads of the trend pages (CSV and Excel) that say what made them.

The file name carries the page, metric, period (local days), granularity, compare mode and
the kecamatan/camera filters; the file starts with a header block (page, metric and unit,
period in the city's time zone, compare mode and range, kecamatan, cameras, granularity,
generated at, Pantau version), then the table exactly as on screen. CSV header lines start
with ``#`` (``pandas.read_csv(..., comment="#")`` skips them); in Excel the block heads the
"Tren" sheet and is repeated on "Keterangan".
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from importlib import metadata
from typing import Any

import pandas as pd
from dash import dcc

from dashboard import components, context
from dashboard.i18n import current_lang, local_time, t
from dashboard.i18n import register as register_strings

register_strings(
    {
        "export.page": {"id": "Halaman", "en": "Page"},
        "export.compare": {"id": "Dibandingkan dengan", "en": "Compared with"},
        "export.generated": {"id": "Dibuat", "en": "Generated"},
        "export.version": {"id": "Versi Pantau", "en": "Pantau version"},
        "export.all": {"id": "semua", "en": "all"},
    }
)

#: labels of the pages' own filters in the header block
FILTER_LABELS = {"jenis": "security.kind"}
#: longest file name stem (filters beyond it are in the header block only)
MAX_STEM = 150


def pantau_version() -> str:
    try:
        return metadata.version("pantau")
    except metadata.PackageNotFoundError:  # a source checkout without installation
        return "0.1.0"


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def file_stem(payload: dict[str, Any], basename: str) -> str:
    """``pantau-lalu-lintas-flow-2026-11-01_2026-11-29-day-vs-month-kec-plaju-cam-plg-chr-01``"""
    parts = [
        "pantau",
        basename,
        payload.get("metric") or "",
        f"{payload.get('start')}_{payload.get('end')}",
        payload.get("granularity") or "",
    ]
    if payload.get("compare"):
        parts.append(f"vs-{payload['compare']}")
    filters = payload.get("filters") or {}
    kec = [_slug(k) for k in filters.get("kecamatan") or []]
    cams = [_slug(c) for c in filters.get("kamera") or []]
    if kec:
        parts.append("kec-" + "-".join(kec))
    if cams:
        parts.append("cam-" + "-".join(cams))
    stem = "-".join(p for p in parts if p)
    return stem[:MAX_STEM].rstrip("-")


def header_rows(payload: dict[str, Any], page_title: str = "") -> list[tuple[str, str]]:
    """(label, value) lines saying which filters made the file."""
    tz = components.tz_label()
    unit = payload.get("unit", "")
    filters = payload.get("filters") or {}
    every = t("export.all")

    def listed(key: str) -> str:
        values = filters.get(key) or []
        return ", ".join(values) if values else every

    rows = [
        (t("export.page"), page_title or payload.get("page") or ""),
        (t("ui.metric"), f"{payload.get('metric_label', '')} ({unit})"),
        (t("ui.period"), f"{payload.get('start')} – {payload.get('end')} ({tz})"),
    ]
    if payload.get("compare"):
        rows.append(
            (
                t("export.compare"),
                f"{t('ui.compare.' + payload['compare'])}: "
                f"{payload.get('compare_start')} – {payload.get('compare_end')} ({tz})",
            )
        )
    rows += [
        (t("ui.kecamatan"), listed("kecamatan")),
        (t("ui.camera"), listed("kamera")),
        (t("ui.granularity"), t(f"ui.gran.{payload.get('granularity', 'day')}")),
    ]
    for key, value in filters.items():
        if key not in ("kecamatan", "kamera"):
            label = t(FILTER_LABELS[key]) if key in FILTER_LABELS else key
            if key == "jenis":  # incident kinds by their names
                value = [t(f"kind.{v}") for v in value] if value else every
            rows.append((label, ", ".join(value) if isinstance(value, list) else str(value)))
    generated = payload.get("generated")
    rows.append(
        (
            t("export.generated"),
            local_time(datetime.fromisoformat(generated), context.settings().timezone)
            if generated
            else "",
        )
    )
    rows.append((t("export.version"), pantau_version()))
    return rows


def download_frames(payload: dict[str, Any], top: dict[str, Any] | None) -> dict[str, pd.DataFrame]:
    """Sheets of a download with human column names, from the stores holding what is shown."""
    unit = payload.get("unit", "")
    tz = components.tz_label()
    if payload.get("table") is not None:  # pages that build their own wide table
        trend = pd.DataFrame(payload["table"], columns=payload.get("columns"))
    else:
        trend = pd.DataFrame(payload.get("rows") or [])
        if trend.empty:
            trend = pd.DataFrame(
                columns=["period", "value", "previous", "previous_period", "usual"]
            )
        compared = t(f"ui.compare.{payload.get('compare') or 'previous'}")
        trend = trend[["period", "value", "previous_period", "previous", "usual"]]
        trend.columns = [
            f"{t('ui.period')} ({tz})",
            f"{payload.get('metric_label', '')} ({unit})",
            f"{compared} ({tz})",
            f"{compared} ({unit})",
            f"{t('ui.usual.short')} ({unit})",
        ]
    sheets = {"trend": trend}
    if top and top.get("rows"):
        tops = pd.DataFrame(top["rows"])
        if "code" in tops.columns:
            tops = tops[["code", "name", "kecamatan", "value"]]
            tops.columns = [
                t("ui.camera"),
                "nama" if current_lang() == "id" else "name",
                t("ui.kecamatan"),
                f"{payload.get('metric_label', '')} ({top.get('unit') or unit})",
            ]
        sheets["top"] = tops
    sheets["meta"] = pd.DataFrame(header_rows(payload), columns=["key", "value"])
    return sheets


def csv_text(payload: dict[str, Any], trend: pd.DataFrame, page_title: str = "") -> str:
    """The header block as ``# label: value`` lines, a blank line, then the table."""
    out = io.StringIO()
    for label, value in header_rows(payload, page_title):
        out.write(f"# {label}: {value}\n")
    out.write("\n")
    trend.to_csv(out, index=False, quoting=csv.QUOTE_MINIMAL)
    return out.getvalue()


def download(
    trigger: str | None, payload: dict | None, top: dict | None, basename: str, title: str = ""
) -> Any:
    """``dcc.Download`` data for the CSV or Excel button of a trend page."""
    if not payload or not trigger:
        return None
    sheets = download_frames(payload, top)
    stem = file_stem(payload, basename)
    if trigger.endswith("csv"):
        return dcc.send_string(csv_text(payload, sheets["trend"], title), f"{stem}.csv")
    buf = io.BytesIO()
    names = {"trend": "Tren", "top": "Lokasi teratas", "meta": "Keterangan"}
    head = pd.DataFrame(header_rows(payload, title))
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        head.to_excel(writer, sheet_name=names["trend"], index=False, header=False)
        sheets["trend"].to_excel(
            writer, sheet_name=names["trend"], index=False, startrow=len(head) + 1
        )
        for key in ("top", "meta"):
            if key in sheets:
                sheets[key].to_excel(writer, sheet_name=names[key], index=False)
    return dcc.send_bytes(buf.getvalue(), f"{stem}.xlsx")
