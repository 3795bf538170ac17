"""The indicator upload on ``/indikator-opd`` (``opd-upload-*``): a CSV/XLSX of indicator values
is previewed (what will be inserted, updated old -> new, unchanged, and every row error) and
written only when the user presses *Simpan*.

Who may send what is decided here on the server, from the session, never from the browser:
OPD staff (role ``opd``) only their own OPD's rows (another OPD's row is a row error), admins
any OPD's. The save re-reads and re-validates the file (the preview is never trusted) and
writes all rows or none through ``store.indicators`` (history with the user's name, the file
name and the time).
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import auth, context
from dashboard.callbacks.opd import fmt_value, own_opd_code
from dashboard.i18n import fmt_number, t
from dashboard.i18n import register as register_strings
from store import indicators as store
from store.indicator_files import read_rows
from store.models import IndicatorActorKind, IndicatorSource

logger = logging.getLogger(__name__)

#: Roles that may send indicator values through the page (README role table).
UPLOAD_ROLES: tuple[str, ...] = ("admin", "opd")
#: Largest file the page accepts (a city's month of indicators is a few KB).
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
PREVIEW_ROWS = 200

register_strings(
    {
        "opd.upload.title": {"id": "Kirim nilai indikator", "en": "Send indicator values"},
        "opd.upload.hint": {
            "id": "Berkas CSV atau XLSX dengan kolom opd, indicator, period, value (note "
            "opsional). Periode: 2026-10 (bulanan), 2026-Q3 (triwulanan), 2026 (tahunan). "
            "Pratinjau dulu; tidak ada yang disimpan sebelum Anda menekan Simpan.",
            "en": "A CSV or XLSX file with columns opd, indicator, period, value (note "
            "optional). Period: 2026-10 (monthly), 2026-Q3 (quarterly), 2026 (yearly). "
            "Preview first; nothing is saved until you press Save.",
        },
        "opd.upload.own": {
            "id": "Anda hanya dapat mengirim nilai {opd}.",
            "en": "You can only send values of {opd}.",
        },
        "opd.upload.drop": {
            "id": "Seret berkas ke sini atau klik untuk memilih (.csv, .xlsx, maks. 2 MiB)",
            "en": "Drop a file here or click to choose (.csv, .xlsx, max. 2 MiB)",
        },
        "opd.upload.save": {"id": "Simpan", "en": "Save"},
        "opd.upload.file": {"id": "Berkas {name}", "en": "File {name}"},
        "opd.upload.counts": {
            "id": "{inserted} baru · {updated} diubah · {unchanged} tetap",
            "en": "{inserted} new · {updated} changed · {unchanged} unchanged",
        },
        "opd.upload.errors": {
            "id": "{n} masalah: berkas ditolak, tidak ada yang disimpan. Perbaiki lalu unggah lagi.",
            "en": "{n} problem(s): the file is refused, nothing was saved. Fix it and upload again.",
        },
        "opd.upload.nothing": {
            "id": "Semua nilai sudah tersimpan: tidak ada yang perlu disimpan.",
            "en": "Every value is stored already: nothing to save.",
        },
        "opd.upload.ready": {
            "id": "Periksa pratinjau, lalu tekan Simpan.",
            "en": "Check the preview, then press Save.",
        },
        "opd.upload.saved": {
            "id": "Tersimpan dari {name}: {inserted} baru, {updated} diubah, {unchanged} tetap.",
            "en": "Saved from {name}: {inserted} new, {updated} changed, {unchanged} unchanged.",
        },
        "opd.upload.more": {"id": "… dan {n} baris lagi", "en": "… and {n} more rows"},
        "opd.upload.col.row": {"id": "Baris", "en": "Row"},
        "opd.upload.col.column": {"id": "Kolom", "en": "Column"},
        "opd.upload.col.value": {"id": "Nilai", "en": "Value"},
        "opd.upload.col.reason": {"id": "Alasan", "en": "Reason"},
        "opd.upload.col.indicator": {"id": "Indikator", "en": "Indicator"},
        "opd.upload.col.period": {"id": "Periode", "en": "Period"},
        "opd.upload.col.status": {"id": "Status", "en": "Status"},
        "opd.upload.inserted": {"id": "Baru", "en": "New"},
        "opd.upload.updated": {"id": "Diubah", "en": "Changed"},
        "opd.upload.unchanged": {"id": "Tetap", "en": "Unchanged"},
        "opd.freq.monthly": {"id": "bulanan", "en": "monthly"},
        "opd.freq.quarterly": {"id": "triwulanan", "en": "quarterly"},
        "opd.freq.yearly": {"id": "tahunan", "en": "yearly"},
        # row errors by store.indicators.RowError.code
        "opd.err.scope": {
            "id": "Anda hanya boleh mengirim nilai {opd}",
            "en": "You may only send values of {opd}",
        },
        "opd.err.opd": {"id": "Tidak ada OPD dengan kode ini", "en": "No OPD has this code"},
        "opd.err.indicator": {
            "id": "{opd} tidak memiliki indikator dengan kode ini",
            "en": "{opd} has no indicator with this code",
        },
        "opd.err.other_opd": {
            "id": "Indikator ini milik {owners}, bukan {opd}",
            "en": "This indicator belongs to {owners}, not {opd}",
        },
        "opd.err.period": {
            "id": "Indikator ini {freq}: periode ditulis {format} (mis. {example})",
            "en": "This indicator is {freq}: write the period as {format} (e.g. {example})",
        },
        "opd.err.plausible": {
            "id": "Nilai tidak wajar untuk satuan {unit}: {range}",
            "en": "Not a plausible value for unit {unit}: {range}",
        },
        "opd.err.range.both": {"id": "harus {min}–{max}", "en": "must be {min}–{max}"},
        "opd.err.range.min": {"id": "paling sedikit {min}", "en": "at least {min}"},
        "opd.err.range.max": {"id": "paling banyak {max}", "en": "at most {max}"},
        "opd.err.duplicate": {
            "id": "Indikator dan periode yang sama sudah ada di baris {other}",
            "en": "The same indicator and period are on row {other} already",
        },
        "opd.err.too_large": {"id": "Berkas lebih dari {mib} MiB", "en": "File over {mib} MiB"},
        "opd.err.file_type": {
            "id": "Jenis berkas tidak didukung: gunakan .csv atau .xlsx",
            "en": "Unsupported file type: use .csv or .xlsx",
        },
        "opd.err.encoding": {
            "id": "Bukan teks UTF-8: simpan CSV sebagai UTF-8",
            "en": "Not UTF-8 text: save the CSV as UTF-8",
        },
        "opd.err.unreadable": {
            "id": "Berkas tidak dapat dibaca (rusak atau bukan CSV/XLSX)",
            "en": "The file cannot be read (damaged, or not CSV/XLSX)",
        },
        "opd.err.too_many": {
            "id": "Lebih dari {rows} baris: pecah berkasnya",
            "en": "More than {rows} rows: split the file",
        },
        "opd.err.empty": {"id": "Berkas tidak berisi baris data", "en": "The file has no rows"},
        "opd.err.header": {
            "id": "Baris judul harus memuat kolom opd, indicator, period, value (note opsional)",
            "en": "The header must name the columns opd, indicator, period, value (note optional)",
        },
        "opd.err.required": {"id": "Wajib diisi", "en": "Required"},
        "opd.err.number": {"id": "Bukan angka", "en": "Not a number"},
        "opd.err.comma": {
            "id": "Gunakan titik sebagai pemisah desimal, tanpa pemisah ribuan",
            "en": "Use a dot as the decimal separator and no thousands separator",
        },
    }
)

#: English reasons of generic value errors (store.indicators) -> translated keys
_GENERIC = {
    "required": "opd.err.required",
    "not a number": "opd.err.number",
    "not a finite number": "opd.err.number",
    "empty: a number is required": "opd.err.required",
    "use a dot as the decimal separator and no thousands separator": "opd.err.comma",
}
STATUS_CLASS = {
    store.Outcome.INSERTED: "text-bg-success",
    store.Outcome.UPDATED: "text-bg-warning",
    store.Outcome.UNCHANGED: "text-bg-secondary",
}


def upload_panel() -> Any:
    """The upload card (rendered only for :data:`UPLOAD_ROLES`)."""
    own = own_opd_code()
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(
                    [html.I(className="bi bi-cloud-upload me-2"), t("opd.upload.title")],
                    className="h6 mb-1",
                ),
                html.P(
                    [t("opd.upload.hint"), " ", t("opd.upload.own", opd=own) if own else ""],
                    className="pantau-footnote mb-2",
                ),
                dcc.Upload(
                    id="opd-upload",
                    children=html.Div(
                        [
                            html.I(className="bi bi-file-earmark-spreadsheet me-2"),
                            t("opd.upload.drop"),
                        ]
                    ),  # fmt: skip
                    accept=".csv,.xlsx",
                    max_size=UPLOAD_MAX_BYTES,
                    multiple=False,
                    className="pantau-upload border border-2 rounded p-3 text-center "
                    "text-secondary",
                    style={"borderStyle": "dashed", "cursor": "pointer"},
                ),
                dcc.Loading(html.Div(id="opd-upload-preview", className="mt-2"), type="dot"),
                html.Div(
                    [
                        dbc.Button(
                            [html.I(className="bi bi-check2-circle me-1"), t("opd.upload.save")],
                            id="opd-upload-save",
                            color="primary",
                            disabled=True,
                            n_clicks=0,
                        ),
                        html.Div(id="opd-upload-result", className="flex-grow-1"),
                    ],
                    className="d-flex flex-wrap gap-2 align-items-center mt-2",
                ),
            ],
            className="p-3",
        ),
        className="pantau-card mb-3 pantau-no-kiosk",
        id="opd-upload-panel",
    )


# --------------------------------------------------------------------------------------------
def error_text(err: store.RowError) -> str:
    """A row error in the page's language."""
    p = err.params
    code = err.code
    if code == "period":
        return t(
            "opd.err.period",
            freq=t(f"opd.freq.{p.get('frequency')}"),
            format=p.get("format", "?"),
            example=p.get("example", "?"),
        )
    if code == "plausible":
        low, high = p.get("min"), p.get("max")
        fmt = {"min": fmt_number(low, 0), "max": fmt_number(high, 0)}
        key = "both" if low is not None and high is not None else "min" if high is None else "max"
        return t(
            "opd.err.plausible", unit=p.get("unit", ""), range=t(f"opd.err.range.{key}", **fmt)
        )
    if code != "invalid" and f"opd.err.{code}" in _KNOWN:
        return t(f"opd.err.{code}", **{k: v for k, v in p.items() if v is not None})
    key = _GENERIC.get(err.reason)
    return t(key) if key else err.reason


_KNOWN = {
    f"opd.err.{c}"
    for c in ("scope", "opd", "indicator", "other_opd", "duplicate", "too_large", "file_type",
              "encoding", "unreadable", "too_many", "empty", "header")
}  # fmt: skip


def errors_view(errors: list[store.RowError]) -> Any:
    head = [t(f"opd.upload.col.{c}") for c in ("row", "column", "value", "reason")]
    rows = [
        html.Tr(
            [
                html.Td(e.row or "—"),
                html.Td(html.Code(e.column)),
                html.Td(e.value or "—", className="text-break"),
                html.Td(error_text(e)),
            ]
        )
        for e in errors[:PREVIEW_ROWS]
    ]
    more = len(errors) - PREVIEW_ROWS
    return html.Div(
        [
            dbc.Alert(
                [html.I(className="bi bi-x-octagon me-2"), t("opd.upload.errors", n=len(errors))],
                color="danger",
                className="py-2 mb-2",
                id="opd-upload-errors-title",
            ),
            html.Div(
                dbc.Table(
                    [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                    size="sm",
                    striped=True,
                    className="mb-0 small",
                    id="opd-upload-errors",
                ),
                className="table-responsive",
                style={"maxHeight": "340px", "overflowY": "auto"},
            ),
            html.Div(t("opd.upload.more", n=more), className="pantau-footnote")
            if more > 0
            else None,
        ]
    )


def _value(v: float | None, unit: str) -> str:
    return fmt_value(v, unit)


def plan_view(plan: store.Plan, filename: str) -> Any:
    counts = plan.counts
    head = [t(f"opd.upload.col.{c}") for c in ("row", "indicator", "period", "value", "status")]
    order = {store.Outcome.UPDATED: 0, store.Outcome.INSERTED: 1, store.Outcome.UNCHANGED: 2}
    shown = sorted(plan.rows, key=lambda r: (order[r.outcome], r.row))[:PREVIEW_ROWS]
    rows = []
    for r in shown:
        if r.outcome == store.Outcome.UPDATED:
            value: Any = [
                html.Span(_value(r.old_value, r.unit), className="text-decoration-line-through "
                          "text-secondary"),
                " → ",
                html.Strong(_value(r.value, r.unit)),
            ]  # fmt: skip
        else:
            value = _value(r.value, r.unit)
        rows.append(
            html.Tr(
                [
                    html.Td(r.row),
                    html.Td(
                        [
                            html.Span(r.opd_code, className="badge text-bg-dark me-1"),
                            r.indicator_name,
                        ]
                    ),  # fmt: skip
                    html.Td(r.period),
                    html.Td(value, className="text-nowrap"),
                    html.Td(
                        html.Span(
                            t(f"opd.upload.{r.outcome}"),
                            className=f"badge {STATUS_CLASS[r.outcome]}",
                        )
                    ),  # fmt: skip
                ],
                className=f"opd-upload-row-{r.outcome}",
            )
        )
    more = len(plan.rows) - len(shown)
    changes = counts[store.Outcome.INSERTED] + counts[store.Outcome.UPDATED]
    return html.Div(
        [
            html.Div(
                [
                    html.Strong(t("opd.upload.file", name=filename)),
                    " — ",
                    html.Span(t("opd.upload.counts", **counts), id="opd-upload-counts"),
                    " · ",
                    t("opd.upload.ready") if changes else t("opd.upload.nothing"),
                ],
                className="small mb-1",
            ),
            html.Div(
                dbc.Table(
                    [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                    size="sm",
                    className="mb-0 small",
                    id="opd-upload-table",
                ),
                className="table-responsive",
                style={"maxHeight": "340px", "overflowY": "auto"},
            ),
            html.Div(t("opd.upload.more", n=more), className="pantau-footnote")
            if more > 0
            else None,
        ]
    )


# --------------------------------------------------------------------------------------------
def _scope() -> str | None:
    """The OPD the signed-in user may send (OPD staff: theirs), None for admins. Refuses
    everyone else (the guard has refused them already: defence in depth)."""
    auth.require_role(*UPLOAD_ROLES)
    if auth.current_role() == auth.OPD_ROLE:
        own = own_opd_code()
        if own is None:
            raise PreventUpdate
        return own
    return None


def _decode(contents: str) -> bytes:
    header, sep, b64 = contents.partition(",")
    if not sep or not header.startswith("data:") or ";base64" not in header:
        raise store.IndicatorImportError(
            [store.RowError(0, "file", "", "not a file", "unreadable")]
        )
    if len(b64) * 3 // 4 > UPLOAD_MAX_BYTES + 3:
        raise store.IndicatorImportError(
            [store.RowError(0, "file", "", "too large", "too_large", {"mib": 2})]
        )
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise store.IndicatorImportError(
            [store.RowError(0, "file", "", "not a file", "unreadable")]
        ) from None


def upload(
    contents: Any, n_clicks: Any, filename: Any, *, trigger: Any = None
) -> tuple[Any, bool, Any, Any, Any]:
    """Preview a chosen file, or save it. Returns (preview, save disabled, result, saved
    marker, upload contents)."""
    only_opd = _scope()
    trigger = trigger if trigger is not None else ctx.triggered_id
    if not isinstance(contents, str) or not contents:
        if trigger == "opd-upload-save":
            raise PreventUpdate
        return "", True, dash.no_update, dash.no_update, dash.no_update
    name = filename if isinstance(filename, str) and filename.strip() else "upload.csv"
    name = name.strip().replace("/", "_").replace("\\", "_")[:200]
    db = context.db()
    try:
        rows = read_rows(_decode(contents), name)
        if trigger == "opd-upload-save":
            if not n_clicks:
                raise PreventUpdate
            actor = store.Actor(
                auth.current_username() or "?",
                IndicatorActorKind.USER,
                IndicatorSource.UPLOAD,
                name,
                auth.client_ip(),
            )
            with db.session() as s:
                counts = store.write_rows(s, rows, actor, only_opd=only_opd).counts
            saved = dbc.Alert(
                [html.I(className="bi bi-check-circle me-2"),
                 t("opd.upload.saved", name=name, **counts)],
                color="success", className="py-2 mb-0", id="opd-upload-saved",
            )  # fmt: skip
            return "", True, saved, int(time.time() * 1000), None
        with db.session() as s:
            planned = store.plan(s, rows, only_opd=only_opd)
    except store.IndicatorImportError as exc:
        return errors_view(exc.errors), True, "", dash.no_update, dash.no_update
    if planned.errors:
        return errors_view(planned.errors), True, "", dash.no_update, dash.no_update
    changes = planned.count(store.Outcome.INSERTED) + planned.count(store.Outcome.UPDATED)
    return plan_view(planned, name), changes == 0, "", dash.no_update, dash.no_update


def register(app) -> None:
    app.callback(
        Output("opd-upload-preview", "children"),
        Output("opd-upload-save", "disabled"),
        Output("opd-upload-result", "children"),
        Output("opd-saved", "data"),
        Output("opd-upload", "contents"),
        Input("opd-upload", "contents"),
        Input("opd-upload-save", "n_clicks"),
        State("opd-upload", "filename"),
        prevent_initial_call=True,
    )(upload)
