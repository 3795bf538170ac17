"""Callbacks of the response-times page (``/waktu-respons``, ``response-*``): time to
acknowledge and time to resolve per alert kind and per OPD for the chosen period (WIB)."""

from __future__ import annotations

from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dashboard import components, context
from dashboard.callbacks.alerts_common import label
from dashboard.i18n import fmt_number, t
from dashboard.i18n import register as register_strings
from dashboard.queries import response_times as q

register_strings(
    {
        "response.title": {"id": "Waktu respons peringatan", "en": "Alert response times"},
        "response.lead": {
            "id": "Waktu sampai diterima dan sampai diselesaikan, dihitung dari mulainya "
            "peringatan. Median dan p90 (90% peringatan ditangani dalam waktu ini); dalam menit.",
            "en": "Time to acknowledge and time to resolve, from when the alert started. Median "
            "and p90 (90% of alerts were handled within this time); in minutes.",
        },
        "response.period": {
            "id": "Peringatan yang mulai {start} – {end} ({tz})",
            "en": "Alerts that started {start} – {end} ({tz})",
        },
        "response.by_kind": {"id": "Per jenis peringatan", "en": "Per alert kind"},
        "response.by_opd": {"id": "Per OPD yang ditugasi", "en": "Per assigned agency (OPD)"},
        "response.no_opd": {"id": "(tanpa OPD)", "en": "(no OPD)"},
        "response.total": {"id": "Semua", "en": "All"},
        "response.col.group": {"id": "Kelompok", "en": "Group"},
        "response.col.n": {"id": "Peringatan", "en": "Alerts"},
        "response.col.n_ack": {"id": "Diterima", "en": "Acknowledged"},
        "response.col.tta_med": {
            "id": "Diterima: median (mnt)",
            "en": "To acknowledge: median (min)",
        },
        "response.col.tta_p90": {"id": "Diterima: p90 (mnt)", "en": "To acknowledge: p90 (min)"},
        "response.col.n_res": {"id": "Selesai", "en": "Resolved"},
        "response.col.ttr_med": {"id": "Selesai: median (mnt)", "en": "To resolve: median (min)"},
        "response.col.ttr_p90": {"id": "Selesai: p90 (mnt)", "en": "To resolve: p90 (min)"},
        "response.none": {
            "id": "Tidak ada peringatan pada periode ini.",
            "en": "No alerts in this period.",
        },
    }
)

COLUMNS = ("group", "n", "n_ack", "tta_med", "tta_p90", "n_res", "ttr_med", "ttr_p90")


def minutes(seconds: float | None) -> str:
    return "—" if seconds is None else fmt_number(seconds / 60, 1)


def _cells(f: q.Figures, group: Any) -> list:
    return [
        group,
        fmt_number(f.n),
        fmt_number(f.n_ack),
        minutes(f.tta_median_s),
        minutes(f.tta_p90_s),
        fmt_number(f.n_resolved),
        minutes(f.ttr_median_s),
        minutes(f.ttr_p90_s),
    ]


def figures_table(rows: list[q.Figures], total: q.Figures, names, table_id: str) -> Any:
    if not rows:
        return html.P(t("response.none"), className="text-secondary small mb-0")
    head = html.Thead(
        html.Tr([html.Th(t(f"response.col.{c}"), className="small") for c in COLUMNS])
    )
    body = [html.Tr([html.Td(c) for c in _cells(f, names(f.group))]) for f in rows]
    body.append(
        html.Tr([html.Td(html.Strong(c) if i == 0 else c) for i, c in
                 enumerate(_cells(total, t("response.total")))], className="table-light")
    )  # fmt: skip
    return dbc.Table([head, html.Tbody(body)], size="sm", responsive=True, className="mb-0",
                     id=table_id)  # fmt: skip


def _day(value: Any) -> date | None:
    """A date picker's value (``YYYY-MM-DD...``); anything else: None (the default period)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def update(start: str | None, end: str | None) -> tuple[Any, Any, str]:
    tz = context.settings().timezone
    lo, hi = components.default_range(30)
    start_d, end_d = _day(start) or lo, _day(end) or hi
    with context.db().session() as s:
        res = q.response_times(s, start_d, end_d, tz)
    period = t(
        "response.period",
        start=res.start.strftime("%d-%m-%Y"),
        end=res.end.strftime("%d-%m-%Y"),
        tz=components.tz_label(),
    )
    kinds = figures_table(res.by_kind, res.total, lambda g: label("kind", g), "response-kind-table")
    opds = figures_table(
        res.by_opd, res.total, lambda g: g or t("response.no_opd"), "response-opd-table"
    )
    return kinds, opds, period


def register(app) -> None:
    app.callback(
        Output("response-kind", "children"),
        Output("response-opd", "children"),
        Output("response-period", "children"),
        Input("response-range", "start_date"),
        Input("response-range", "end_date"),
    )(update)
