"""Callbacks of the traffic page (``traffic-*``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from dash import Input, Output, State, ctx

from dashboard.callbacks import _trend
from dashboard.i18n import register as register_strings
from dashboard.queries import cameras as camera_queries
from dashboard.queries import trends
from store.db import Database

logger = logging.getLogger(__name__)

# strings of the page (registered here: callbacks are imported wherever the app is built)
register_strings(
    {
        "traffic.sub": {
            "id": "Arus kendaraan dari kamera lalu lintas, dibandingkan dengan periode sebelumnya "
            "dan kebiasaan jam yang sama.",
            "en": "Vehicle flow from traffic cameras, compared with the previous period and the "
            "usual for the same hour.",
        },
        "traffic.trend": {"id": "Tren", "en": "Trend"},
        "traffic.map": {"id": "Peta sebaran per kamera", "en": "Map by camera"},
    }
)

METRICS = ("flow", "vehicles", "people")


def _metric(metric: str | None) -> str:
    return metric if metric in METRICS else "flow"


def update_traffic(
    start_date: str | None,
    end_date: str | None,
    granularity: str | None,
    kecamatan: Any,
    cameras: Any,
    metric: str | None,
    *,
    db: Database | None = None,
    now: datetime | None = None,
) -> tuple:
    """Trend figure, KPI tiles, the table behind them (for downloads) and notes."""
    metric = _metric(metric)
    sel = _trend.selection(start_date, end_date, granularity)
    f = _trend.make_filter(sel, kecamatan, cameras, (metric,))
    current, previous, usual = _trend.trend_frames(_trend.database(db), f)
    shown = _trend.table(metric, current, previous, usual)
    filters = {"kecamatan": list(f.kecamatan), "kamera": list(f.cameras)}
    return (
        _trend.figure(metric, shown, sel.granularity, sel.end > (now or datetime.now(UTC))),
        _trend.kpi_tiles("traffic", metric, shown, sel, sel.granularity),
        _trend.store_payload(metric, shown, sel, filters),
        _trend.note(sel, sel.granularity),
        sel.granularity,
    )


def update_traffic_locations(
    start_date: str | None,
    end_date: str | None,
    granularity: str | None,
    kecamatan: Any,
    cameras: Any,
    metric: str | None,
    *,
    db: Database | None = None,
) -> tuple:
    """Top-locations figure and the per-camera map layer for the same selection."""
    metric = _metric(metric)
    sel = _trend.selection(start_date, end_date, granularity)
    f = _trend.make_filter(sel, kecamatan, cameras, (metric,))
    values = _trend.camera_values(_trend.database(db), f, metric)
    return _trend.locations("traffic", metric, values)


def camera_choices(kecamatan: Any, *, db: Database | None = None) -> list[dict[str, str]]:
    with _trend.database(db).session() as s:
        return camera_queries.camera_options(s, list(_trend.as_list(kecamatan)) or None)


def download_traffic(_csv: int | None, _xlsx: int | None, payload: dict | None, top: dict | None):
    return _trend.download(ctx.triggered_id, payload, top, "lalu-lintas")


def register(app) -> None:
    inputs = [
        Input("traffic-range", "start_date"),
        Input("traffic-range", "end_date"),
        Input("traffic-granularity", "value"),
        Input("traffic-kecamatan", "value"),
        Input("traffic-camera", "value"),
        Input("traffic-metric", "value"),
    ]
    app.callback(
        Output("traffic-trend", "figure"),
        Output("traffic-kpis", "children"),
        Output("traffic-data", "data"),
        Output("traffic-note", "children"),
        Output("traffic-granularity", "value"),
        *inputs,
    )(update_traffic)
    app.callback(
        Output("traffic-top", "figure"),
        Output("traffic-map-layer", "data"),
        Output("traffic-map-layer", "hideout"),
        Output("traffic-data-top", "data"),
        *inputs,
    )(update_traffic_locations)
    app.callback(Output("traffic-camera", "options"), Input("traffic-kecamatan", "value"))(
        camera_choices
    )
    app.callback(
        Output("traffic-download", "data"),
        Input("traffic-download-csv", "n_clicks"),
        Input("traffic-download-xlsx", "n_clicks"),
        State("traffic-data", "data"),
        State("traffic-data-top", "data"),
        prevent_initial_call=True,
    )(download_traffic)


__all__ = ["update_traffic", "update_traffic_locations", "download_traffic", "trends"]
