"""Shared logic of the trend pages (traffic, flood): filters to a query, figures, KPI tiles,
and downloads of exactly the table on screen, and the callback wiring the pages share.
Plain functions, unit-tested directly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from dash import Input, Output, State, html

from dashboard import cache, components, context
from dashboard.callbacks import _compare
from dashboard.callbacks._export import download, download_frames  # noqa: F401 - re-exported
from dashboard.i18n import current_lang, fmt_number, t
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
    db: Database, f: trends.TrendFilter, compare: str = "previous", sel: Selection | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(current, compared period, usual profile) for the filter; the compared period is the
    previous one, or the same local days a calendar month or year earlier."""
    key = f"{db.url}|{f.cache_key()}|{compare}"

    def load():
        with db.session() as s:
            current, previous, usual = trends.trend_with_context(s, f)
            if compare != "previous" and sel is not None:
                first, last = _compare.compare_days(sel.start_day, sel.end_day, compare)
                lo, hi = trends.local_range(first, last, f.offset_hours)
                previous = trends.trend(s, replace(f, start=lo, end=hi))
            return current, previous, usual

    return cache.memo("trend:" + key, 30, load)


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
    return float(getattr(values, AGG.get(metric, "mean"))())


#: how a metric's periods add up to the whole range (KPI tiles)
AGG = {"flow": "sum", "people_max": "max", "water_max": "max"}


def x_values(periods: pd.Series, granularity: str) -> tuple[list, dict]:
    """x values and x-axis settings: hours and days on a date axis with explicit tick labels
    (one point no longer gets millisecond ticks), weeks and months as named categories
    (``Mg 47 · 16/11/2026``, ``Nov 2026``) so a single month is one labelled bar."""
    if granularity in ("week", "month"):
        labels = [_compare.period_label(p, granularity) for p in periods]
        return labels, {"type": "category"}
    x = [p.isoformat() for p in periods]
    fmt = "%d/%m %H:%M" if granularity == "hour" else "%d/%m/%Y"
    axis: dict[str, Any] = {"type": "date", "tickformat": fmt}
    if granularity == "day" and len(x) <= 3:
        axis.update(tickmode="array", tickvals=x, ticktext=[f"{p:%d/%m/%Y}" for p in periods])
    elif granularity == "day":
        axis["dtick"] = 86_400_000 * max(1, len(x) // 10)
    return x, axis


def figure(
    metric: str,
    shown: pd.DataFrame,
    granularity: str,
    partial: bool = False,
    compare: str = "previous",
) -> dict:
    """Current period (navy), compared period (gold, dotted), usual (grey band); the last
    period is marked provisional when the range reaches into the running hour/day. Built as a
    plain dict: no Plotly validation on the hot path."""
    m = trends.METRICS[metric]
    unit = _compare.unit(metric, granularity)
    if shown["value"].notna().sum() == 0:
        return components.empty_dict_figure()
    x, xaxis = x_values(shown["period"], granularity)
    bars = granularity in ("week", "month")
    hover = f"%{{y:,.{m.decimals}f}} {unit}"

    def values(col: str) -> list:
        return [None if pd.isna(v) else float(v) for v in shown[col]]

    compared_text = [
        _compare.period_label(p, granularity) if p is not None and not pd.isna(p) else ""
        for p in shown["previous_period"]
    ]
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
    compared = {
        "x": x, "y": values("previous"), "name": t(f"ui.compare.{compare}"),
        "text": compared_text, "hovertemplate": f"%{{text}}: {hover}",
    }  # fmt: skip
    current = {"x": x, "y": values("value"), "name": t("ui.current"), "hovertemplate": hover}
    if bars:  # the compared period drawn beside the current one
        data.append({**compared, "type": "bar", "marker": {"color": components.GOLD}})
        data.append({**current, "type": "bar", "marker": {"color": components.NAVY}})
    else:
        data.append(
            {
                **compared,
                "type": "scatter",
                "line": {"color": components.GOLD, "width": 1.6, "dash": "dot"},
            }
        )
        data.append(
            {
                **current, "type": "scatter", "line": {"color": components.NAVY, "width": 2.6},
                "mode": "lines+markers" if len(shown) <= 45 else "lines", "marker": {"size": 5},
            }
        )  # fmt: skip
    layout = components.base_layout(360)
    if bars:
        layout["barmode"] = "group"
    layout["yaxis"]["title"] = {"text": f"{t(m.label_key)} ({unit})", "font": {"size": 11}}
    layout["xaxis"].update(xaxis)
    layout["xaxis"]["title"] = {
        "text": t("ui.time_axis", tz=components.tz_label()),
        "font": {"size": 11},
    }
    if partial and shown["value"].notna().any():
        idx = shown["value"].notna()[::-1].idxmax()
        layout["annotations"] = [
            {"x": x[idx], "y": float(shown["value"][idx]), "text": t("ui.partial"),
             "showarrow": True, "arrowhead": 0, "ax": 0, "ay": -28,
             "font": {"size": 11, "color": components.MUTED}}
        ]  # fmt: skip
    return {"data": data, "layout": layout}


def kpi_unit(metric: str, granularity: str) -> str:
    """The unit of a KPI over the whole range: flow is a total of vehicles in the range; a
    mean of per-period values keeps the unit of the periods."""
    return t("unit.vehicles") if metric == "flow" else _compare.unit(metric, granularity)


def kpi_tiles(
    prefix: str,
    metric: str,
    shown: pd.DataFrame,
    sel: Selection,
    granularity: str,
    compare: str = "previous",
    compare_days: tuple[date, date] | None = None,
) -> list[Any]:
    m = trends.METRICS[metric]
    unit = kpi_unit(metric, granularity)
    tz = components.tz_label()
    cur = aggregate(metric, shown["value"])
    prev = aggregate(metric, shown["previous"])
    usual = aggregate(metric, shown["usual"]) if shown["usual"].notna().any() else None
    agg_label = {"sum": t("ui.total"), "max": t("ui.peak")}.get(
        AGG.get(metric, ""), t("ui.average")
    )
    period_text = f"{sel.start_day:%d/%m/%Y}–{sel.end_day:%d/%m/%Y}"
    first, last = compare_days or _compare.compare_days(sel.start_day, sel.end_day, compare)
    vs = t("ui.vs", what=t(f"ui.compare.short.{compare}"))
    peak_row = shown.loc[shown["value"].idxmax()] if shown["value"].notna().any() else None
    peak_text = "—"
    if peak_row is not None:
        peak_text = _compare.period_label(peak_row["period"], granularity)
    cols = [
        components.tile(
            f"{prefix}-kpi-current",
            "bi-bar-chart-line",
            f"{agg_label} · {t(m.label_key)}",
            fmt_number(cur, m.decimals),
            unit,
            f"{period_text} ({tz})",
        ),
        components.tile(
            f"{prefix}-kpi-previous",
            "bi-arrow-left-right",
            f"{t(f'ui.compare.{compare}')} ({first:%d/%m/%Y}–{last:%d/%m/%Y})",
            fmt_number(prev, m.decimals),
            unit,
            _compare.change_badge(cur, prev, vs, metric),
        ),
        components.tile(
            f"{prefix}-kpi-usual",
            "bi-calendar-week",
            t("ui.vs_usual"),
            fmt_number(usual, m.decimals) if usual is not None else "—",
            unit if usual is not None else "",
            _compare.change_badge(cur, usual, t("ui.vs_usual"), metric)
            if usual is not None
            else t("ui.note.no_usual"),
        ),
        components.tile(
            f"{prefix}-kpi-peak",
            "bi-graph-up-arrow",
            t("ui.peak"),
            fmt_number(peak_row["value"], m.decimals) if peak_row is not None else "—",
            _compare.unit(metric, granularity),
            f"{peak_text} {tz}",
        ),
    ]
    return [html.Div(c, className="col-6 col-xl-3 mb-2") for c in cols]


def store_payload(
    metric: str,
    shown: pd.DataFrame,
    sel: Selection,
    filters: dict[str, Any],
    compare: str = "previous",
    page: str = "",
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
    first, last = _compare.compare_days(sel.start_day, sel.end_day, compare)
    return {
        "page": page,
        "metric": metric,
        "metric_label": t(m.label_key),
        "unit": _compare.unit(metric, sel.granularity),
        "granularity": sel.granularity,
        "start": sel.start_day.isoformat(),
        "end": sel.end_day.isoformat(),
        "compare": compare,
        "compare_start": first.isoformat(),
        "compare_end": last.isoformat(),
        "filters": filters,
        "rows": [dict(zip(names, r, strict=True)) for r in zip(*columns.values(), strict=True)],
        "generated": datetime.now(UTC).isoformat(),
    }


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
    unit = unit or kpi_unit(metric, "day")
    decimals = 0 if metric == "wet" else m.decimals  # per camera: whole days flooded
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
                    f"%{{x:,.{decimals}f}} {unit}<extra></extra>",
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
        text = f"{value:,.{decimals}f}"  # fmt_number, without a language lookup per row
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
        compare: str | None = None,
        *,
        db: Database | None = None,
        now: datetime | None = None,
    ) -> tuple:
        """Trend figure, KPI tiles, the table behind them (for downloads), notes and the
        granularity shown; ``compare``: previous period, same period last month or year."""
        metric = metric_of(metric)
        mode = _compare.compare_mode(compare)
        sel = selection(start_date, end_date, granularity)
        f = make_filter(sel, kecamatan, cameras, (metric,))
        current, previous, usual = trend_frames(database(db), f, mode, sel)
        shown = table(metric, current, previous, usual)
        filters = {"kecamatan": list(f.kecamatan), "kamera": list(f.cameras)}
        return (
            figure(metric, shown, sel.granularity, sel.end > (now or datetime.now(UTC)), mode),
            kpi_tiles(page, metric, shown, sel, sel.granularity, mode),
            store_payload(metric, shown, sel, filters, mode, t(f"nav.{page}")),
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
        Input(f"{page}-compare", "value"),
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
