"""Shared logic of the trend pages (traffic, flood): filters to a query, figures, KPI tiles,
and downloads of exactly the table on screen, and the callback wiring the pages share.
Plain functions, unit-tested directly."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard import cache, components, context
from dashboard.i18n import current_lang, fmt_number, local_time, t
from dashboard.queries import cameras as camera_queries
from dashboard.queries import trends
from store.db import Database
from store.rollups import utc_offset_hours

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    start: datetime  # UTC
    end: datetime  # UTC (exclusive)
    start_day: date
    end_day: date
    granularity: str
    notes: tuple[str, ...]


def _day(value: str | None, fallback: date) -> date:
    if not value:
        return fallback
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return fallback


def selection(start_date: str | None, end_date: str | None, granularity: str | None) -> Selection:
    """Validated range and granularity: hourly detail only for ranges up to 31 days."""
    offset = utc_offset_hours(context.settings().timezone)
    d_start, d_end = components.default_range(30)
    end_day = _day(end_date, d_end)
    start_day = _day(start_date, d_start)
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    gran = granularity if granularity in trends.GRANULARITIES else "day"
    notes = []
    if gran == "hour" and (end_day - start_day).days + 1 > trends.MAX_HOURLY_DAYS:
        gran = "day"
        notes.append(t("ui.note.hourly_clamped", days=trends.MAX_HOURLY_DAYS))
    start, end = trends.local_range(start_day, end_day, offset)
    return Selection(start, end, start_day, end_day, gran, tuple(notes))


def database(db: Database | None) -> Database:
    return db or context.db()


def trend_frames(
    db: Database, f: trends.TrendFilter
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(current, previous period, usual profile) for the filter; the usual profile depends only
    on history before the range, so it is cached for longer."""
    key = f"{db.url}|{f.cache_key()}"
    with db.session() as s:
        return cache.memo("trend:" + key, 30, lambda: trends.trend_with_context(s, f))


def table(
    metric: str, current: pd.DataFrame, previous: pd.DataFrame, usual: pd.DataFrame | None
) -> pd.DataFrame:
    """The trend as shown: period, value, previous-period value (aligned), usual."""
    out = pd.DataFrame({"period": current["period"], "value": current[metric]})
    prev = previous[metric].tolist()
    out["previous"] = (prev + [None] * len(out))[: len(out)]
    out["previous_period"] = (previous["period"].tolist() + [None] * len(out))[: len(out)]
    out["usual"] = usual[metric].values if usual is not None and len(usual) == len(out) else None
    return out


def aggregate(metric: str, values: pd.Series) -> float | None:
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return None
    agg = {"flow": "sum", "wet": "sum", "people_max": "max", "water_max": "max"}.get(metric, "mean")
    return float(getattr(values, agg)())


def figure(metric: str, shown: pd.DataFrame, granularity: str, partial: bool = False) -> dict:
    """Current period (navy), previous period (gold, dotted), usual (grey band); the last
    period is marked provisional when the range reaches into the running hour/day. Built as a
    plain dict: no Plotly validation on the hot path."""
    m = trends.METRICS[metric]
    unit = t(m.unit_key)
    if shown["value"].notna().sum() == 0:
        return components.empty_dict_figure()
    x = [p.isoformat() for p in shown["period"]]
    hover = f"%{{y:,.{m.decimals}f}} {unit}"

    def values(col: str) -> list:
        return [None if pd.isna(v) else float(v) for v in shown[col]]

    data = []
    if shown["usual"].notna().any():
        data.append(
            {
                "type": "scatter", "x": x, "y": values("usual"),
                "name": t("ui.usual" if granularity == "hour" else "ui.usual.day"),
                "line": {"color": components.MUTED, "width": 0}, "fill": "tozeroy",
                "fillcolor": "rgba(138,148,166,0.18)", "hovertemplate": hover,
            }
        )  # fmt: skip
    data.append(
        {
            "type": "scatter", "x": x, "y": values("previous"), "name": t("ui.previous"),
            "line": {"color": components.GOLD, "width": 1.6, "dash": "dot"},
            "hovertemplate": hover,
        }
    )  # fmt: skip
    data.append(
        {
            "type": "scatter", "x": x, "y": values("value"), "name": t("ui.current"),
            "line": {"color": components.NAVY, "width": 2.6},
            "mode": "lines+markers" if len(shown) <= 45 else "lines", "marker": {"size": 5},
            "hovertemplate": hover,
        }
    )  # fmt: skip
    layout = components.base_layout(360)
    layout["yaxis"]["title"] = {"text": f"{t(m.label_key)} ({unit})", "font": {"size": 11}}
    layout["xaxis"]["title"] = {
        "text": t("ui.time_axis", tz=components.tz_label()),
        "font": {"size": 11},
    }
    if partial and shown["value"].notna().any():
        last = shown[shown["value"].notna()].iloc[-1]
        layout["annotations"] = [
            {"x": last["period"].isoformat(), "y": float(last["value"]), "text": t("ui.partial"),
             "showarrow": True, "arrowhead": 0, "ax": 0, "ay": -28,
             "font": {"size": 11, "color": components.MUTED}}
        ]  # fmt: skip
    return {"data": data, "layout": layout}


def kpi_tiles(
    prefix: str, metric: str, shown: pd.DataFrame, sel: Selection, granularity: str
) -> list[Any]:
    m = trends.METRICS[metric]
    unit = t(m.unit_key)
    cur = aggregate(metric, shown["value"])
    prev = aggregate(metric, shown["previous"])
    usual = aggregate(metric, shown["usual"]) if shown["usual"].notna().any() else None
    agg_label = {
        "sum": t("ui.total"),
        "max": t("ui.peak"),
    }.get(
        {"flow": "sum", "wet": "sum", "people_max": "max", "water_max": "max"}.get(metric, ""),
        t("ui.average"),
    )
    period_text = f"{sel.start_day:%d/%m/%Y}–{sel.end_day:%d/%m/%Y}"
    peak_row = shown.loc[shown["value"].idxmax()] if shown["value"].notna().any() else None
    peak_text = "—"
    if peak_row is not None:
        fmt = {"hour": "%d/%m %H:00", "day": "%d/%m/%Y", "week": "%d/%m/%Y", "month": "%m/%Y"}[
            granularity
        ]
        peak_text = pd.Timestamp(peak_row["period"]).strftime(fmt)
    cols = [
        components.tile(
            f"{prefix}-kpi-current",
            "bi-bar-chart-line",
            f"{agg_label} · {t(m.label_key)}",
            fmt_number(cur, m.decimals),
            unit,
            f"{period_text} ({components.tz_label()})",
        ),
        components.tile(
            f"{prefix}-kpi-previous",
            "bi-arrow-left-right",
            t("ui.vs_previous"),
            fmt_number(prev, m.decimals),
            unit,
            components.delta_badge(cur, prev, t("ui.vs_previous")),
        ),
        components.tile(
            f"{prefix}-kpi-usual",
            "bi-calendar-week",
            t("ui.vs_usual"),
            fmt_number(usual, m.decimals) if usual is not None else "—",
            unit if usual is not None else "",
            components.delta_badge(cur, usual, t("ui.vs_usual"))
            if usual is not None
            else t("ui.note.no_usual"),
        ),
        components.tile(
            f"{prefix}-kpi-peak",
            "bi-graph-up-arrow",
            t("ui.peak"),
            fmt_number(peak_row["value"], m.decimals) if peak_row is not None else "—",
            unit,
            f"{peak_text} {components.tz_label()}",
        ),
    ]
    return [html.Div(c, className="col-6 col-xl-3 mb-2") for c in cols]


def store_payload(
    metric: str, shown: pd.DataFrame, sel: Selection, filters: dict[str, Any]
) -> dict[str, Any]:
    m = trends.METRICS[metric]
    # rows built column-wise from plain lists (no copy, astype(object) and where() per call)
    stamps = ("period", "previous_period")
    columns = {
        c: [
            None
            if pd.isna(v)
            else (pd.Timestamp(v).strftime("%Y-%m-%d %H:%M") if c in stamps else v)
            for v in shown[c].tolist()
        ]
        for c in shown.columns
    }
    names = list(columns)
    return {
        "metric": metric,
        "metric_label": t(m.label_key),
        "unit": t(m.unit_key),
        "granularity": sel.granularity,
        "start": sel.start_day.isoformat(),
        "end": sel.end_day.isoformat(),
        "filters": filters,
        "rows": [dict(zip(names, r, strict=True)) for r in zip(*columns.values(), strict=True)],
        "generated": datetime.now(UTC).isoformat(),
    }


def download_frames(payload: dict[str, Any], top: dict[str, Any] | None) -> dict[str, pd.DataFrame]:
    """Sheets of a download with human column names, from the stores holding what is shown."""
    unit = payload.get("unit", "")
    tz = components.tz_label()
    if payload.get("table") is not None:  # pages that build their own wide table
        trend = pd.DataFrame(payload["table"], columns=payload.get("columns"))
        trend_ready = True
    else:
        trend = pd.DataFrame(payload.get("rows") or [])
        trend_ready = False
    if trend_ready:
        pass
    elif trend.empty:
        trend = pd.DataFrame(columns=["period", "value", "previous", "previous_period", "usual"])
    if not trend_ready:
        trend = trend[["period", "value", "previous_period", "previous", "usual"]]
        trend.columns = [
            f"{t('ui.period')} ({tz})",
            f"{payload.get('metric_label', '')} ({unit})",
            f"{t('ui.previous')} ({tz})",
            f"{t('ui.previous')} ({unit})",
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
                f"{payload.get('metric_label', '')} ({unit})",
            ]
        sheets["top"] = tops
    meta = pd.DataFrame(
        [
            (t("ui.metric"), f"{payload.get('metric_label', '')} ({unit})"),
            (t("ui.period"), f"{payload.get('start')} – {payload.get('end')} ({tz})"),
            (t("ui.granularity"), t(f"ui.gran.{payload.get('granularity', 'day')}")),
            *[
                (k, ", ".join(v) if isinstance(v, list) else str(v))
                for k, v in (payload.get("filters") or {}).items()
            ],
            (
                "generated",
                local_time(
                    datetime.fromisoformat(payload["generated"]), context.settings().timezone
                )
                if payload.get("generated")
                else "",
            ),
        ],
        columns=["key", "value"],
    )
    sheets["meta"] = meta
    return sheets


def download(trigger: str | None, payload: dict | None, top: dict | None, basename: str) -> Any:
    """``dcc.Download`` data for the CSV or Excel button of a trend page."""
    if not payload or not trigger:
        return None
    sheets = download_frames(payload, top)
    stem = f"pantau-{basename}-{payload.get('start')}_{payload.get('end')}-{payload.get('granularity')}"
    if trigger.endswith("csv"):
        return dcc.send_data_frame(sheets["trend"].to_csv, f"{stem}.csv", index=False)
    buf = io.BytesIO()
    names = {"trend": "Tren", "top": "Lokasi teratas", "meta": "Keterangan"}
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for key, frame in sheets.items():
            frame.to_excel(writer, sheet_name=names[key], index=False)
    return dcc.send_bytes(buf.getvalue(), f"{stem}.xlsx")


def camera_values(db: Database, f: trends.TrendFilter, metric: str) -> pd.DataFrame:
    """Per-camera values over the range with coordinates (map layer and top locations)."""
    with db.session() as s:
        return cache.memo(
            f"cams:{db.url}|{f.cache_key()}|{metric}",
            60,
            lambda: trends.camera_values(s, f, metric),
        )


def locations(
    prefix: str, metric: str, values: pd.DataFrame, unit: str | None = None
) -> tuple[Any, dict, dict, dict]:
    """(top figure, map GeoJSON, map hideout, store payload) from per-camera values."""
    m = trends.METRICS[metric]
    unit = unit or t(m.unit_key)
    values = values.dropna(subset=["value"])
    # an empty frame (no rollups yet) arrives with an object column: nlargest needs numbers
    values = values.assign(value=pd.to_numeric(values["value"], errors="coerce")).dropna(
        subset=["value"]
    )
    top = values[values["value"] > 0].nlargest(10, "value")
    if top.empty:
        fig = components.empty_dict_figure(height=330)
    else:
        shown = top.iloc[::-1]
        layout = components.base_layout(330)
        layout.update(
            margin={"l": 8, "r": 12, "t": 8, "b": 36}, hovermode="closest", showlegend=False
        )
        layout["yaxis"].update(automargin=True, gridcolor="rgba(0,0,0,0)")
        layout["xaxis"]["title"] = {"text": f"{t(m.label_key)} ({unit})", "font": {"size": 11}}
        fig = {
            "data": [
                {
                    "type": "bar", "orientation": "h",
                    "y": [f"{n} " for n in shown["name"]],
                    "x": [float(v) for v in shown["value"]],
                    "marker": {"color": components.NAVY},
                    "customdata": shown[["kecamatan", "code"]].values.tolist(),
                    "hovertemplate": f"%{{y}}<br>%{{customdata[0]}} · %{{customdata[1]}}<br>"
                    f"%{{x:,.{m.decimals}f}} {unit}<extra></extra>",
                }
            ],
            "layout": layout,
        }  # fmt: skip
    # the map layer: one feature per camera, built from plain lists (no per-row pandas)
    lang_id = current_lang() == "id"
    swap = str.maketrans(",.", ".,")
    rows = []
    for lat, lon, name, code, value in zip(
        values["lat"].tolist(),
        values["lon"].tolist(),
        values["name"].tolist(),
        values["code"].tolist(),
        values["value"].tolist(),
        strict=True,
    ):
        text = f"{value:,.{m.decimals}f}"  # fmt_number, without a language lookup per row
        rows.append(
            {
                "lat": lat,
                "lon": lon,
                "n": name,
                "c": code,
                "v": round(float(value), 2),
                "label": f"{text.translate(swap) if lang_id else text} {unit}",
            }
        )
    hideout = {"max": float(values["value"].max()) if len(values) else 1.0}
    payload = {"rows": top[["code", "name", "kecamatan", "value"]].to_dict("records")}
    return fig, components.point_features(rows), hideout, payload


def note(sel: Selection, granularity: str) -> Any:
    notes = list(sel.notes)
    if granularity not in ("hour", "day"):
        notes.append(t("ui.note.no_usual"))
    notes.append(t("ui.source.rollups", tz=components.tz_label()))
    return [html.Div([html.I(className="bi bi-info-circle me-1"), n]) for n in notes]


def as_list(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def make_filter(
    sel: Selection, kecamatan: Any, cameras: Any, metrics: tuple[str, ...], tag: str | None = None
) -> trends.TrendFilter:
    return trends.TrendFilter(
        start=sel.start,
        end=sel.end,
        granularity=sel.granularity,
        kecamatan=as_list(kecamatan),
        cameras=as_list(cameras),
        tag=tag,
        offset_hours=utc_offset_hours(context.settings().timezone),
        metrics=metrics,
    )


def timedelta_label(td: timedelta) -> str:
    return f"{td.days} d"


# --------------------------------------------------------------------------------------------
# callbacks shared by the trend pages
def page_callbacks(
    page: str,
    metrics: tuple[str, ...],
    default_metric: str,
    top_metric: str | None = None,
    top_unit_key: str | None = None,
) -> tuple[Callable[..., tuple], Callable[..., tuple]]:
    """(trend, top locations) callbacks of a trend page: ``metrics`` it offers (anything else
    reads as ``default_metric``); its top locations and map show ``top_metric`` in
    ``top_unit_key`` when given, else the chosen metric in its own unit."""

    def metric_of(metric: str | None) -> str:
        return metric if metric in metrics else default_metric

    def update(
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
        """Trend figure, KPI tiles, the table behind them (for downloads), notes and the
        granularity shown."""
        metric = metric_of(metric)
        sel = selection(start_date, end_date, granularity)
        f = make_filter(sel, kecamatan, cameras, (metric,))
        current, previous, usual = trend_frames(database(db), f)
        shown = table(metric, current, previous, usual)
        filters = {"kecamatan": list(f.kecamatan), "kamera": list(f.cameras)}
        return (
            figure(metric, shown, sel.granularity, sel.end > (now or datetime.now(UTC))),
            kpi_tiles(page, metric, shown, sel, sel.granularity),
            store_payload(metric, shown, sel, filters),
            note(sel, sel.granularity),
            sel.granularity,
        )

    def update_locations(
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
        metric = top_metric or metric_of(metric)
        sel = selection(start_date, end_date, granularity)
        f = make_filter(sel, kecamatan, cameras, (metric,))
        values = camera_values(database(db), f, metric)
        return locations(page, metric, values, unit=t(top_unit_key) if top_unit_key else None)

    return update, update_locations


def camera_choices(kecamatan: Any, *, db: Database | None = None) -> list[dict[str, str]]:
    with database(db).session() as s:
        return camera_queries.camera_options(s, list(as_list(kecamatan)) or None)


def register_trend(app, page: str, update: Any, update_top: Any, download_cb: Any) -> None:
    """Wire a trend page's ``{page}-*`` components: trend and KPIs, top locations and map
    layer, camera choices by kecamatan, and the CSV/Excel download."""
    inputs = [
        Input(f"{page}-range", "start_date"),
        Input(f"{page}-range", "end_date"),
        Input(f"{page}-granularity", "value"),
        Input(f"{page}-kecamatan", "value"),
        Input(f"{page}-camera", "value"),
        Input(f"{page}-metric", "value"),
    ]
    app.callback(
        Output(f"{page}-trend", "figure"),
        Output(f"{page}-kpis", "children"),
        Output(f"{page}-data", "data"),
        Output(f"{page}-note", "children"),
        Output(f"{page}-granularity", "value"),
        *inputs,
    )(update)
    app.callback(
        Output(f"{page}-top", "figure"),
        Output(f"{page}-map-layer", "data"),
        Output(f"{page}-map-layer", "hideout"),
        Output(f"{page}-data-top", "data"),
        *inputs,
    )(update_top)
    app.callback(Output(f"{page}-camera", "options"), Input(f"{page}-kecamatan", "value"))(
        camera_choices
    )
    app.callback(
        Output(f"{page}-download", "data"),
        Input(f"{page}-download-csv", "n_clicks"),
        Input(f"{page}-download-xlsx", "n_clicks"),
        State(f"{page}-data", "data"),
        State(f"{page}-data-top", "data"),
        prevent_initial_call=True,
    )(download_cb)
