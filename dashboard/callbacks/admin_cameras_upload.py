"""Callbacks of the camera management page's registry upload (``/admin/kamera``, tab "Unggah
registri"): a CSV/XLSX/GeoJSON file in the ``pantau import cameras`` format is read with the
import's own reader, previewed (new / changed with field diffs / unchanged, or every bad row),
and committed all or nothing by store/cameras.py (audited). Admin only, re-checked in each
callback."""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import auth, context
from dashboard.i18n import register, t
from ingestion.importers import RegistryImportError, read_camera_rows
from store import cameras

logger = logging.getLogger(__name__)

P = "admin-kamera"
UPLOAD_MAX_BYTES = 5 * 1024 * 1024

register(
    {
        "cam.up.summary": {
            "id": "{new} baru · {changed} berubah · {unchanged} tetap — belum ada yang disimpan.",
            "en": "{new} new · {changed} changed · {unchanged} unchanged — nothing saved yet.",
        },
        "cam.up.errors": {
            "id": "{n} masalah; berkas ini tidak bisa disimpan (tidak ada yang diubah):",
            "en": "{n} problem(s); this file cannot be saved (nothing was changed):",
        },
        "cam.up.kind.new": {"id": "baru", "en": "new"},
        "cam.up.kind.changed": {"id": "berubah", "en": "changed"},
        "cam.up.kind.unchanged": {"id": "tetap", "en": "unchanged"},
        "cam.up.row": {"id": "Baris", "en": "Row"},
        "cam.up.diff": {"id": "Perubahan", "en": "Changes"},
        "cam.up.done": {
            "id": "Registri {file} tersimpan: {new} baru, {changed} berubah.",
            "en": "Registry {file} saved: {new} new, {changed} changed.",
        },
        "cam.up.too_big": {"id": "Berkas lebih dari 5 MB.", "en": "The file is over 5 MB."},
        "cam.up.bad": {"id": "Berkas tidak terbaca.", "en": "The file cannot be read."},
    }
)


# -- registry upload ----------------------------------------------------------------------------


def _rows_of(contents: Any, filename: Any) -> list[tuple[int, dict[str, Any]]]:
    """dcc.Upload contents -> registry rows (the CLI import's reader). Raises
    RegistryImportError with a readable reason."""
    if not isinstance(contents, str) or not isinstance(filename, str):
        raise RegistryImportError([t("cam.up.bad")])
    header, sep, b64 = contents.partition(",")
    if not sep or ";base64" not in header:
        raise RegistryImportError([t("cam.up.bad")])
    if len(b64) * 3 // 4 > UPLOAD_MAX_BYTES + 3:
        raise RegistryImportError([t("cam.up.too_big")])
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise RegistryImportError([t("cam.up.bad")]) from None
    suffix = Path(filename).suffix.lower()[:10]
    with tempfile.TemporaryDirectory(prefix="pantau-registry-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return read_camera_rows(path)


def _show(v: Any) -> str:
    if isinstance(v, list):
        return f"{len(v)} item"
    text = "—" if v is None else str(v)
    return text if len(text) <= 60 else text[:57] + "…"


def preview_upload(contents: Any, filename: Any):
    """(preview, commit button disabled)."""
    auth.require_role("admin")
    if not contents:
        raise PreventUpdate
    try:
        rows = _rows_of(contents, filename)
        with context.db().session() as s:
            pv = cameras.preview_registry(s, rows)
    except RegistryImportError as exc:
        pv = cameras.RegistryPreview([], list(exc.errors), [])
    if pv.errors:
        return dbc.Alert(
            [
                html.Div(t("cam.up.errors", n=len(pv.errors)), className="fw-semibold"),
                html.Ul([html.Li(e) for e in pv.errors[:100]], className="mb-0 small"),
            ],
            color="danger",
            id=f"{P}-upload-errors",
        ), True
    summary = t(
        "cam.up.summary",
        new=pv.count("new"),
        changed=pv.count("changed"),
        unchanged=pv.count("unchanged"),
    )
    shown = [r for r in pv.rows if r.kind != "unchanged"][:200]
    colour = {"new": "success", "changed": "warning"}
    body = [
        html.Tr(
            [
                html.Td(r.row),
                html.Td(html.Code(r.code)),
                html.Td(dbc.Badge(t(f"cam.up.kind.{r.kind}"), color=colour.get(r.kind, "light"))),
                html.Td(
                    "; ".join(
                        f"{k}: {_show(v['old'])} → {_show(v['new'])}" for k, v in r.changes.items()
                    ),
                    className="small text-break",
                ),
            ]
        )
        for r in shown
    ]
    head = html.Thead(
        html.Tr([html.Th(t("cam.up.row")), html.Th(t("cam.col.code")), html.Th(""),
                 html.Th(t("cam.up.diff"))])
    )  # fmt: skip
    table = dbc.Table(
        [head, html.Tbody(body)], size="sm", responsive=True, className="mb-0",
        id=f"{P}-upload-table",
    )  # fmt: skip
    return html.Div(
        [html.Div(summary, className="fw-semibold mb-2", id=f"{P}-upload-summary"), table]
    ), False


def commit_upload(_n: Any, contents: Any, filename: Any, version: Any):
    """(feedback, commit disabled, version)."""
    auth.require_role("admin")
    if not contents:
        raise PreventUpdate
    version = version if isinstance(version, int) and not isinstance(version, bool) else 0
    try:
        rows = _rows_of(contents, filename)
        with context.db().session() as s:
            pv = cameras.commit_registry(
                s, rows, actor=auth.current_username(), filename=str(filename)[:200]
            )
    except RegistryImportError as exc:
        return (
            dbc.Alert(
                html.Ul([html.Li(e) for e in exc.errors[:100]], className="mb-0 small"),
                color="danger",
            ),
            False,
            no_update,
        )
    msg = t("cam.up.done", file=filename, new=pv.count("new"), changed=pv.count("changed"))
    return dbc.Alert(msg, color="success", className="py-2 small"), True, version + 1


def register(app: dash.Dash) -> None:
    app.callback(
        Output(f"{P}-upload-preview", "children"),
        Output(f"{P}-upload-commit", "disabled"),
        Input(f"{P}-upload", "contents"),
        State(f"{P}-upload", "filename"),
        prevent_initial_call=True,
    )(preview_upload)
    app.callback(
        Output(f"{P}-upload-feedback", "children"),
        Output(f"{P}-upload-commit", "disabled", allow_duplicate=True),
        Output(f"{P}-version", "data", allow_duplicate=True),
        Input(f"{P}-upload-commit", "n_clicks"),
        State(f"{P}-upload", "contents"),
        State(f"{P}-upload", "filename"),
        State(f"{P}-version", "data"),
        prevent_initial_call=True,
    )(commit_upload)
