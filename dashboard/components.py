"""Shared UI pieces of the situation-room pages: page headers, tiles, filter bars, charts,
map helpers and downloads. Layout helpers only: no queries here."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import dash_bootstrap_components as dbc
import dash_leaflet as dl
import plotly.graph_objects as go
from dash import dcc, html

from dashboard import context
from dashboard.i18n import current_lang, fmt_number, local_time, register, t

logger = logging.getLogger(__name__)

NAVY = "#0b1f33"
GOLD = "#f2b705"
SERIES = [NAVY, GOLD, "#4dabf7", "#d63939", "#2fb344", "#ae3ec9", "#f76707", "#20c997"]
MUTED = "#8a94a6"
LEGEND = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "bgcolor": "rgba(0,0,0,0)"}

register(
    {
        "ui.updated": {"id": "Diperbarui {time}", "en": "Updated {time}"},
        "ui.period": {"id": "Periode", "en": "Period"},
        "ui.date_start": {"id": "Tanggal awal", "en": "Start date"},
        "ui.date_end": {"id": "Tanggal akhir", "en": "End date"},
        "ui.granularity": {"id": "Rincian", "en": "Granularity"},
        "ui.gran.hour": {"id": "Jam", "en": "Hour"},
        "ui.gran.day": {"id": "Hari", "en": "Day"},
        "ui.gran.week": {"id": "Minggu", "en": "Week"},
        "ui.gran.month": {"id": "Bulan", "en": "Month"},
        "ui.kecamatan": {"id": "Kecamatan", "en": "District (kecamatan)"},
        "ui.kecamatan.all": {"id": "Semua kecamatan", "en": "All districts"},
        "ui.camera": {"id": "Kamera", "en": "Camera"},
        "ui.camera.all": {"id": "Semua kamera", "en": "All cameras"},
        "ui.metric": {"id": "Ukuran", "en": "Measure"},
        "ui.download.csv": {"id": "Unduh CSV", "en": "Download CSV"},
        "ui.download.xlsx": {"id": "Unduh Excel", "en": "Download Excel"},
        "ui.current": {"id": "Periode ini", "en": "This period"},
        "ui.previous": {"id": "Periode sebelumnya", "en": "Previous period"},
        "ui.usual": {
            "id": "Biasanya (jam & hari sama, 4 minggu)",
            "en": "Usual (same hour & weekday, 4 weeks)",
        },
        "ui.usual.day": {
            "id": "Biasanya (hari sama, 4 minggu)",
            "en": "Usual (same weekday, 4 weeks)",
        },
        "ui.usual.short": {"id": "biasanya", "en": "usual"},
        "ui.top": {"id": "Lokasi teratas", "en": "Top locations"},
        "ui.partial": {"id": "sementara (belum lengkap)", "en": "provisional (incomplete)"},
        "ui.map": {"id": "Peta", "en": "Map"},
        "ui.no_data": {
            "id": "Belum ada data untuk pilihan ini.",
            "en": "No data for this selection yet.",
        },
        "ui.total": {"id": "Total", "en": "Total"},
        "ui.average": {"id": "Rata-rata", "en": "Average"},
        "ui.peak": {"id": "Puncak", "en": "Peak"},
        "ui.vs_previous": {"id": "vs periode sebelumnya", "en": "vs previous period"},
        "ui.vs_usual": {"id": "vs biasanya", "en": "vs usual"},
        "ui.time_axis": {"id": "Waktu ({tz})", "en": "Time ({tz})"},
        "ui.note.hourly_clamped": {
            "id": "Rincian per jam hanya untuk rentang sampai {days} hari; ditampilkan per hari.",
            "en": "Hourly detail is limited to ranges up to {days} days; shown per day.",
        },
        "ui.note.no_usual": {
            "id": "Profil 'biasanya' hanya untuk rincian jam dan hari.",
            "en": "The 'usual' profile is shown for hourly and daily detail only.",
        },
        "ui.source.rollups": {
            "id": "Sumber: rekap per jam/hari hasil analitik kamera. Waktu dalam {tz}.",
            "en": "Source: hourly/daily rollups of camera analytics. Times in {tz}.",
        },
        "ui.map.no_tiles": {
            "id": "Peta dasar tidak tersedia; garis sungai perkiraan.",
            "en": "Base map unavailable; river line approximate.",
        },
        "ui.areas_legend": {
            "id": "Batas kecamatan (putus-putus: demo, perkiraan)",
            "en": "District boundaries (dashed: demo, approximate)",
        },
        "ui.river_approx": {
            "id": "Sungai Musi (garis perkiraan)",
            "en": "Musi river (approximate line)",
        },
        "unit.vehicles_per_cam": {"id": "kendaraan/kamera", "en": "vehicles/camera"},
        "unit.people_per_cam": {"id": "orang/kamera", "en": "people/camera"},
        "unit.percent": {"id": "%", "en": "%"},
        "unit.days_flooded": {"id": "hari tergenang", "en": "days flooded"},
        "unit.cm": {"id": "cm", "en": "cm"},
        "unit.alerts": {"id": "peringatan", "en": "alerts"},
        "metric.flow": {"id": "Kendaraan melintas", "en": "Vehicles crossing"},
        "metric.vehicles": {"id": "Kendaraan terlihat", "en": "Vehicles in view"},
        "metric.people": {"id": "Orang terlihat", "en": "People in view"},
        "metric.people_max": {"id": "Kerumunan terbesar", "en": "Largest crowd"},
        "metric.water_max": {"id": "Genangan tertinggi", "en": "Highest water coverage"},
        "metric.wet": {"id": "Kamera tergenang (≥30%)", "en": "Cameras flooded (≥30%)"},
        "status.online": {"id": "Online", "en": "Online"},
        "status.degraded": {"id": "Terganggu", "en": "Degraded"},
        "status.offline": {"id": "Offline", "en": "Offline"},
        "status.unknown": {"id": "Belum diketahui", "en": "Unknown"},
        "status.disabled": {"id": "Nonaktif", "en": "Disabled"},
        "dropdown.select_all": {"id": "Pilih semua", "en": "Select all"},
        "dropdown.deselect_all": {"id": "Batalkan semua", "en": "Deselect all"},
        "dropdown.selected_count": {
            "id": "{num_selected} dipilih",
            "en": "{num_selected} selected",
        },
        "dropdown.search": {"id": "Cari", "en": "Search"},
        "dropdown.clear_search": {"id": "Hapus pencarian", "en": "Clear search"},
        "dropdown.clear_selection": {"id": "Hapus pilihan", "en": "Clear selection"},
        "dropdown.no_options_found": {"id": "Tidak ada pilihan", "en": "No options found"},
    }
)

DROPDOWN_LABELS = (
    "select_all",
    "deselect_all",
    "selected_count",
    "search",
    "clear_search",
    "clear_selection",
    "no_options_found",
)


def dropdown(**kwargs: Any) -> dcc.Dropdown:
    """``dcc.Dropdown`` with its built-in texts ("3 selected", "Search"...) in the user's
    language; Dash's defaults are English only."""
    labels = {key: t(f"dropdown.{key}") for key in DROPDOWN_LABELS}  # {num_selected} kept
    return dcc.Dropdown(labels=labels, **kwargs)


# --------------------------------------------------------------------------------------------
# page furniture
#: Look of the staff work lists (dash_table.DataTable): the app's font with tabular figures
#: (the table's own default is monospace), compact rows, sticky headers, scrolling body.
TABLE_STYLE: dict[str, Any] = dict(
    style_table={"overflowX": "auto", "maxHeight": "62vh", "overflowY": "auto"},
    style_cell={
        "fontSize": "0.85rem",
        "padding": "4px 6px",
        "textAlign": "left",
        "whiteSpace": "normal",
        "height": "auto",
        "fontFamily": "var(--bs-body-font-family)",
        "fontVariantNumeric": "tabular-nums",
    },
    style_header={"fontWeight": "600", "backgroundColor": "#f1f3f5"},
    page_action="none",
    fixed_rows={"headers": True},
)


def page_header(title: str, subtitle: str | None = None, right: Any = None, page: str = "") -> Any:
    return html.Div(
        [
            html.Div(
                [
                    html.H1(title, className="pantau-page-title h3"),
                    html.Div(subtitle, className="pantau-page-sub") if subtitle else None,
                ]
            ),
            html.Div(right, className="ms-md-auto d-flex align-items-center gap-2")
            if right is not None
            else None,
        ],
        className="d-flex flex-column flex-md-row align-items-md-end gap-2 my-3",
        id=f"{page}-header" if page else None,
    )


def tile(
    tile_id: str,
    icon: str,
    label: str,
    value: str = "—",
    unit: str = "",
    sub: Any = "",
    state: str = "",
) -> dbc.Card:
    """A headline number: label, value with unit, and a line saying when/compared to what."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [html.I(className=f"bi {icon} me-2"), label],
                    className="pantau-eyebrow mb-1",
                ),
                html.Div(
                    [
                        html.Span(value, className="pantau-tile-value", id=f"{tile_id}-value"),
                        html.Span(unit, className="pantau-tile-unit"),
                    ]
                ),
                html.Div(sub, className="pantau-tile-sub mt-1", id=f"{tile_id}-sub"),
            ],
            className="py-2 px-3",
        ),
        className=f"pantau-card pantau-tile h-100 {('is-' + state) if state else ''}",
        id=tile_id,
    )


def delta_badge(current: float | None, reference: float | None, label: str) -> Any:
    """``+12 % vs biasanya``, coloured: the reader sees at once if it is above the reference."""
    if current is None or reference in (None, 0):
        return html.Span(f"— {label}", className="pantau-delta-flat")
    change = (current - reference) / reference * 100
    cls = (
        "pantau-delta-flat"
        if abs(change) < 5
        else ("pantau-delta-up" if change > 0 else "pantau-delta-down")
    )
    arrow = (
        "bi-arrow-right"
        if abs(change) < 5
        else ("bi-arrow-up-right" if change > 0 else "bi-arrow-down-right")
    )
    sign = "+" if change > 0 else ""
    return html.Span(
        [html.I(className=f"bi {arrow} me-1"), f"{sign}{fmt_number(change, 0)} % {label}"],
        className=cls,
    )


def updated_text(ts: datetime | None) -> str:
    return t("ui.updated", time=local_time(ts, context.settings().timezone))


def tz_label() -> str:
    tz = context.settings().timezone
    return {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(tz, tz)


# --------------------------------------------------------------------------------------------
# filters
def date_range(**kwargs: Any) -> dcc.DatePickerRange:
    """A date range picker in the interface language: day-first dates, weeks from Monday,
    placeholders in words (month and weekday names: assets/pantau_datepicker_locale.js)."""
    kwargs.setdefault("display_format", "DD/MM/YYYY")
    kwargs.setdefault("first_day_of_week", 1)
    kwargs.setdefault("start_date_placeholder_text", t("ui.date_start"))
    kwargs.setdefault("end_date_placeholder_text", t("ui.date_end"))
    return dcc.DatePickerRange(**kwargs)


def granularity_control(component_id: str, value: str = "day") -> Any:
    return dbc.RadioItems(
        id=component_id,
        options=[
            {"label": t(f"ui.gran.{g}"), "value": g} for g in ("hour", "day", "week", "month")
        ],
        value=value,
        inline=True,
        className="btn-group btn-group-sm flex-wrap",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-secondary",
        labelCheckedClassName="active",
    )


def default_range(days: int = 30, today: date | None = None) -> tuple[date, date]:
    from zoneinfo import ZoneInfo

    today = today or datetime.now(ZoneInfo(context.settings().timezone)).date()
    return today - timedelta(days=days - 1), today


def filter_bar(
    prefix: str,
    kecamatan: list[str],
    cameras: list[dict[str, str]],
    extra: list[Any] | None = None,
    days: int = 30,
    granularity: str = "day",
) -> Any:
    start, end = default_range(days)
    col = "col-12 col-sm-6 col-lg"
    return html.Div(
        dbc.Row(
            [
                dbc.Col(
                    [
                        dbc.Label(t("ui.period"), className="pantau-eyebrow"),
                        date_range(
                            id=f"{prefix}-range",
                            start_date=start.isoformat(),
                            end_date=end.isoformat(),
                            max_date_allowed=end.isoformat(),
                            minimum_nights=0,
                            className="d-block",
                        ),
                    ],
                    className="col-12 col-lg-auto",
                ),
                dbc.Col(
                    [
                        dbc.Label(t("ui.granularity"), className="pantau-eyebrow d-block"),
                        granularity_control(f"{prefix}-granularity", granularity),
                    ],
                    className="col-12 col-lg-auto",
                ),
                dbc.Col(
                    [
                        dbc.Label(t("ui.kecamatan"), className="pantau-eyebrow"),
                        dropdown(
                            id=f"{prefix}-kecamatan",
                            options=[{"label": k, "value": k} for k in kecamatan],
                            multi=True,
                            placeholder=t("ui.kecamatan.all"),
                        ),
                    ],
                    className=col,
                ),
                dbc.Col(
                    [
                        dbc.Label(t("ui.camera"), className="pantau-eyebrow"),
                        dropdown(
                            id=f"{prefix}-camera",
                            options=cameras,
                            multi=True,
                            placeholder=t("ui.camera.all"),
                        ),
                    ],
                    className=col,
                ),
                *(extra or []),
                dbc.Col(
                    html.Div(
                        [
                            dbc.Button(
                                [html.I(className="bi bi-filetype-csv me-1"), t("ui.download.csv")],
                                id=f"{prefix}-download-csv",
                                color="secondary",
                                outline=True,
                                size="sm",
                            ),
                            dbc.Button(
                                [
                                    html.I(className="bi bi-file-earmark-excel me-1"),
                                    t("ui.download.xlsx"),
                                ],
                                id=f"{prefix}-download-xlsx",
                                color="secondary",
                                outline=True,
                                size="sm",
                            ),
                            dcc.Download(id=f"{prefix}-download"),
                        ],
                        className="d-flex gap-2 flex-wrap",
                    ),
                    className="col-12 col-lg-auto d-flex align-items-end",
                ),
            ],
            className="g-2 align-items-end",
        ),
        className="pantau-filters p-2 mb-3 shadow-sm",
    )


# --------------------------------------------------------------------------------------------
# charts
def base_layout(height: int = 340) -> dict[str, Any]:
    """The chart layout as a plain dict (figures built as dicts skip Plotly's validation,
    which costs tens of milliseconds per figure: the trend callbacks use these)."""
    grid = {"gridcolor": "rgba(138,148,166,0.18)", "zeroline": False}
    return {
        "height": height,
        "margin": {"l": 48, "r": 12, "t": 16, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "color": MUTED,
            "size": 12,
        },
        # anchored by its bottom just above the plot: Plotly widens the top margin for a
        # legend that wraps (phones) instead of laying it over the lines
        "legend": dict(LEGEND),
        "hovermode": "x unified",
        "colorway": SERIES,
        "separators": ",." if current_lang() == "id" else ".,",
        "xaxis": dict(grid),
        "yaxis": {**grid, "rangemode": "tozero"},
    }


def base_figure(height: int = 340) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        height=height,
        margin={"l": 48, "r": 12, "t": 16, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "color": MUTED,
            "size": 12,
        },
        legend=dict(LEGEND),
        hovermode="x unified",
        colorway=SERIES,
        separators=",." if current_lang() == "id" else ".,",
    )
    fig.update_xaxes(gridcolor="rgba(138,148,166,0.18)", zeroline=False)
    fig.update_yaxes(gridcolor="rgba(138,148,166,0.18)", zeroline=False, rangemode="tozero")
    return fig


def empty_figure(message: str | None = None, height: int = 340) -> go.Figure:
    fig = base_figure(height)
    fig.add_annotation(
        text=message or t("ui.no_data"), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
        font={"size": 14, "color": MUTED},
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def graph(component_id: str, height: int = 340, modebar: bool = True) -> dcc.Graph:
    return dcc.Graph(
        id=component_id,
        figure=empty_figure(" ", height),
        config={
            "displayModeBar": "hover" if modebar else False,
            "displaylogo": False,
            "responsive": True,
            "modeBarButtonsToRemove": ["lasso2d", "select2d"],
        },
        style={"height": f"{height}px"},
    )


def card(
    title: Any,
    body: Any,
    card_id: str | None = None,
    footer: Any = None,
    fill: bool = True,
    **kwargs: Any,
) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(title, className="py-2"),
            dbc.CardBody(body, className="p-2"),
            dbc.CardFooter(footer, className="pantau-footnote bg-transparent py-1")
            if footer
            else None,
        ],
        className=("pantau-card h-100 " if fill else "pantau-card ") + kwargs.pop("className", ""),
        **({"id": card_id} if card_id else {}),
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# maps
def areas_layer(map_id: str) -> Any:
    """Kecamatan outlines with a name tooltip, from ``/api/areas.geojson`` (staff maps only;
    dashed and labelled when they are the approximate demo boundaries)."""
    return dl.GeoJSON(
        url="/api/areas.geojson?level=kecamatan",
        id=f"{map_id}-areas",
        style={"variable": "pantau.map.area"},
        onEachFeature={"variable": "pantau.map.areaTip"},
    )


def base_map(
    map_id: str,
    layers: list[Any],
    height_class: str = "pantau-map",
    zoom: int | None = None,
    areas: bool = True,
) -> Any:
    """A Leaflet map centred on the city; tiles from settings (may be empty on an intranet
    without a tile server: the river line, kecamatan outlines and the points keep it
    readable)."""
    cfg = context.settings()
    children: list[Any] = []
    if cfg.map_tile_url:
        children.append(
            dl.TileLayer(url=cfg.map_tile_url, attribution=cfg.map_tile_attribution, maxZoom=19)
        )
    children.append(
        dl.GeoJSON(
            url="/api/public/river.geojson",
            id=f"{map_id}-river",
            style={"variable": "pantau.map.river"},
            interactive=False,
        )
    )
    if areas:
        children.append(areas_layer(map_id))
    children.extend(layers)
    children.append(dl.ScaleControl(position="bottomleft", imperial=False))
    view: dict[str, Any] = {}
    try:  # open on the area the cameras cover; the configured centre when there are none
        from dashboard.queries.cameras import camera_bounds

        with context.db().session() as s:
            bounds = camera_bounds(s)
        if bounds is not None:
            view["bounds"] = bounds
    except Exception:  # noqa: BLE001 - a map without a fitted view is still a map
        logger.exception("camera bounds unavailable")
    if not view:
        view = {"center": [cfg.map_center_lat, cfg.map_center_lon], "zoom": zoom or cfg.map_zoom}
    return dl.Map(
        children,
        id=map_id,
        **view,
        # nothing reads the viewport back; tracking it makes dash-leaflet 1.1.3 compare
        # L.latLng(center) with the map centre, and a map opened on ``bounds`` has no centre:
        # "Cannot read properties of undefined (reading 'equals')"
        trackViewport=False,
        className=height_class,
        style={"width": "100%"},
    )


def area_card(prefix: str, title: str) -> Any:
    """A "per kecamatan" card (``{prefix}-area-*`` ids): a ranking beside a choropleth map of
    the same figure, and a note saying what the number is (dashboard/callbacks/areas.py)."""
    layer = dl.GeoJSON(
        id=f"{prefix}-area-layer",
        style={"variable": "pantau.map.choropleth"},
        onEachFeature={"variable": "pantau.map.choroplethTip"},
    )
    return dbc.Row(
        dbc.Col(
            card(
                title,
                [
                    dbc.Row(
                        [
                            dbc.Col(graph(f"{prefix}-area-rank", 360, modebar=False), lg=5),
                            dbc.Col(
                                base_map(
                                    f"{prefix}-area-map",
                                    [layer],
                                    "pantau-map pantau-map-sm",
                                    areas=False,
                                ),
                                lg=7,
                            ),
                        ],
                        className="g-2",
                    ),
                    html.Div(id=f"{prefix}-area-note", className="pantau-footnote mt-1"),
                ],
                card_id=f"{prefix}-area-card",
            ),
            className="mb-3",
        ),
        className="g-3 pantau-no-kiosk",  # the wall shows the city-wide picture only
    )


def status_legend() -> Any:
    dots = [("online", "#2fb344"), ("degraded", "#f59f00"), ("offline", "#d63939")]
    return html.Div(
        [
            *[
                html.Span(
                    [html.Span(className="pantau-dot", style={"background": c}), t(f"status.{s}")]
                )
                for s, c in dots
            ],
            html.Span(
                [
                    html.Span(
                        className="pantau-dot",
                        style={"background": "transparent", "border": "3px solid #d63939"},
                    ),
                    t("overview.legend.alert"),
                ]
            ),
            html.Span(
                [
                    html.Span(
                        className="pantau-dot",
                        style={
                            "background": "#4dabf7",
                            "borderRadius": "2px",
                            "height": "0.25rem",
                            "opacity": 0.7,
                        },
                    ),
                    t("ui.river_approx"),
                ]
            ),
            html.Span(
                [
                    html.Span(
                        className="pantau-dot",
                        style={
                            "background": "transparent",
                            "borderRadius": "0",
                            "height": "0",
                            "borderTop": "2px dashed #7d8aa3",
                        },
                    ),
                    t("ui.areas_legend"),
                ]
            ),
        ],
        className="pantau-legend mt-1",
    )


def point_features(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """GeoJSON from dicts with lat, lon and properties (everything else). Map layers hold up
    to one feature per camera (10,693 in Semarang): the properties are a C-level copy of the
    row without lat/lon, built with the garbage collector paused (96 -> 6 ms of CPU)."""
    from dashboard.queries import gc_paused

    features = []
    append = features.append
    with gc_paused():
        for r in rows:
            lat, lon = r.get("lat"), r.get("lon")
            if lat is None or lon is None:
                continue
            props = r.copy()
            del props["lat"], props["lon"]
            append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": props,
                }
            )
    return {"type": "FeatureCollection", "features": features}


def empty_dict_figure(message: str | None = None, height: int = 340) -> dict[str, Any]:
    layout = base_layout(height)
    layout["xaxis"]["visible"] = False
    layout["yaxis"]["visible"] = False
    layout["annotations"] = [
        {"text": message or t("ui.no_data"), "showarrow": False, "x": 0.5, "y": 0.5,
         "xref": "paper", "yref": "paper", "font": {"size": 14, "color": MUTED}}
    ]  # fmt: skip
    return {"data": [], "layout": layout}


# --------------------------------------------------------------------------------------------
# page layouts
def trend_page_layout(
    page: str,
    kecamatan: list[str],
    cameras: list[dict[str, str]],
    metrics: tuple[str, ...],
    default_metric: str,
    extra_rows: list[Any],
) -> dbc.Container:
    """A trend page (``{page}-*`` ids): header, filter bar with a metric choice, KPI tiles,
    trend and top locations, then ``extra_rows`` (the page's map and more), note and the
    stores behind the downloads."""
    metric = dbc.Col(
        [
            dbc.Label(t("ui.metric"), className="pantau-eyebrow"),
            dropdown(
                id=f"{page}-metric",
                options=[{"label": t(f"metric.{m}"), "value": m} for m in metrics],
                value=default_metric,
                clearable=False,
            ),
        ],
        className="col-12 col-sm-6 col-lg",
    )
    from dashboard.analysis_layout import compare_control

    compare = compare_control(page)
    return dbc.Container(
        [
            page_header(t(f"nav.{page}"), t(f"{page}.sub"), page=page),
            filter_bar(page, kecamatan, cameras, extra=[metric, compare]),
            dbc.Row(id=f"{page}-kpis", className="g-2 mb-1"),
            dbc.Row(
                [
                    dbc.Col(
                        card(t(f"{page}.trend"), graph(f"{page}-trend", 360)),
                        lg=8,
                        className="mb-3",
                    ),
                    dbc.Col(
                        card(t("ui.top"), graph(f"{page}-top", 330, modebar=False)),
                        lg=4,
                        className="mb-3",
                    ),
                ],
                className="g-3",
            ),
            *extra_rows,
            html.Div(id=f"{page}-note", className="pantau-footnote my-2"),
            dcc.Store(id=f"{page}-data"),
            dcc.Store(id=f"{page}-data-top"),
        ],
        fluid=True,
        className="pb-4",
    )
