"""Callbacks of the "per kecamatan" cards (``flood-area-*``, ``security-area-*``,
``complaints-area-*``): a ranking and a choropleth of one figure per kecamatan, read from
rollups (dashboard/queries/areas.py). Additive: the pages' own callbacks are untouched."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dash import Input, Output, html

from dashboard import cache, components, context
from dashboard.callbacks import _trend
from dashboard.i18n import fmt_number, t
from dashboard.i18n import register as register_strings
from dashboard.queries import areas as q
from dashboard.queries.security import KINDS
from store.db import Database
from store.rollups import utc_offset_hours

logger = logging.getLogger(__name__)

register_strings(
    {
        "areas.flood.title": {
            "id": "Genangan per kecamatan",
            "en": "Flooding by district (kecamatan)",
        },
        "areas.security.title": {
            "id": "Kejadian per kecamatan",
            "en": "Incidents by district (kecamatan)",
        },
        "areas.complaints.title": {
            "id": "Pengaduan per kecamatan",
            "en": "Complaints by district (kecamatan)",
        },
        "areas.traffic.title": {
            "id": "Lalu lintas per kecamatan",
            "en": "Traffic by district (kecamatan)",
        },
        "unit.vehicles_per_camera_hour": {
            "id": "kendaraan/jam per kamera",
            "en": "vehicles/hour per camera",
        },
        "areas.traffic.label": {
            "id": "{rate} kendaraan/jam per kamera ({n} kendaraan, {cams} kamera)",
            "en": "{rate} vehicles/hour per camera ({n} vehicles, {cams} cameras)",
        },
        "areas.traffic.note": {
            "id": "Kendaraan melintasi garis hitung per kamera per jam (rata-rata jam yang ada "
            "datanya), {start}–{end} (WIB). Kecamatan kamera dari batas wilayah, atau dari "
            "daftar kamera bila belum ada batas. Sumber: rekap per jam per kecamatan.",
            "en": "Vehicles crossing counting lines per camera per hour (mean over the hours "
            "with data), {start}–{end} (WIB). A camera's district from the boundaries, or from "
            "the camera registry until there are boundaries. Source: hourly rollups per "
            "district.",
        },
        "unit.flood_hours": {"id": "jam genangan", "en": "hours flooded"},
        "unit.camera_hours": {"id": "kamera-jam", "en": "camera-hours"},
        "areas.flood.label": {
            "id": "{hours} jam genangan ({camhours} kamera-jam, {cams} kamera)",
            "en": "{hours} hours flooded ({camhours} camera-hours, {cams} cameras)",
        },
        "areas.flood.note": {
            "id": "Jam genangan: jam (WIB) saat sedikitnya satu kamera di kecamatan melihat air "
            "menutupi ≥30% jalan, {start}–{end}. Sumber: rekap per jam per kecamatan.",
            "en": "Hours flooded: hours (WIB) in which at least one camera in the district saw "
            "water on ≥30% of the road, {start}–{end}. Source: hourly rollups per district.",
        },
        "areas.security.label": {
            "id": "{n} kejadian ({top})",
            "en": "{n} incidents ({top})",
        },
        "areas.security.note": {
            "id": "Jumlah kejadian per kecamatan menurut jenis, {start}–{end} (WIB). "
            "Kecamatan dari batas wilayah (titik kejadian), atau dari sumber bila di luar batas.",
            "en": "Incidents per district by type, {start}–{end} (WIB). District from the "
            "boundaries (incident location), or from the source when outside them.",
        },
        "areas.complaints.label": {
            "id": "{n} laporan, {open} masih terbuka; {late} terlambat sekarang",
            "en": "{n} reports, {open} still open; {late} late now",
        },
        "areas.complaints.note": {
            "id": "Laporan masuk {days} hari terakhir per kecamatan (tanpa ditolak/duplikat); "
            "terbuka: belum selesai; terlambat: tenggat disposisi/tindak lanjut lewat, per {now}. "
            "Sumber: rekap harian per kecamatan.",
            "en": "Reports received in the last {days} days per district (rejected/duplicates "
            "not counted); open: not resolved yet; late: dispatch/follow-up deadline passed, as "
            "of {now}. Source: daily rollup per district.",
        },
        "areas.col.reports": {"id": "Laporan", "en": "Reports"},
        "areas.col.open": {"id": "Masih terbuka", "en": "Still open"},
        "areas.col.late": {"id": "Terlambat sekarang", "en": "Late now"},
        "areas.col.closed": {"id": "Selesai/ditutup", "en": "Resolved/closed"},
        "areas.demo": {
            "id": "Batas kecamatan DEMO (perkiraan dari titik kamera), bukan batas resmi: impor "
            "batas kota dengan 'pantau import areas'.",
            "en": "DEMO district boundaries (approximated from camera points), not the official "
            "ones: import the city's with 'pantau import areas'.",
        },
        "areas.none": {
            "id": "Belum ada batas kecamatan: impor dengan 'pantau import areas FILE.geojson'.",
            "en": "No district boundaries yet: import them with 'pantau import areas "
            "FILE.geojson'.",
        },
    }
)

#: light -> dark, by share of the largest value
PALETTE = ["#fff3bf", "#ffe066", "#fcc419", "#f59f00", "#e8590c", "#c92a2a"]
CACHE_S = 30
MAX_BARS = 15


def _fill(value: float, top: float) -> str | None:
    if value <= 0 or top <= 0:
        return None
    return PALETTE[min(len(PALETTE) - 1, int(value / top * len(PALETTE)))]


def choropleth(
    shapes: list[dict[str, Any]], values: dict[str, float], labels: dict[str, str]
) -> dict[str, Any]:
    """The kecamatan shapes with each one's fill colour and tooltip label."""
    top = max(values.values(), default=0)
    feats = []
    for f in shapes:
        name = f["properties"]["name"]
        value = values.get(name, 0)
        feats.append(
            {
                "type": "Feature",
                "geometry": f["geometry"],
                "properties": {
                    **f["properties"],
                    "v": value,
                    "fill": _fill(value, top),
                    "label": labels.get(name) or f"0 · {labels.get('', '')}".strip(" ·"),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def ranking(
    names: list[str], series: list[tuple[str, list[float], str]], unit: str, height: int = 330
) -> dict[str, Any]:
    """Horizontal bars, largest on top: ``series`` of (name, values, colour), stacked."""
    if not names:
        return components.empty_dict_figure(height=height)
    layout = components.base_layout(height)
    layout.update(
        barmode="stack",
        hovermode="closest",
        # kinds of incidents: the colours of the page's trend legend, named in the hover
        showlegend=1 < len(series) <= 3,
        margin={"l": 8, "r": 12, "t": 8, "b": 36},
        legend={"orientation": "h", "y": -0.18, "x": 0, "yanchor": "top", "font": {"size": 10}},
    )
    layout["xaxis"]["title"] = {"text": unit, "font": {"size": 11}}
    layout["yaxis"] = {"automargin": True, "autorange": "reversed", "dtick": 1}
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [f"{n} " for n in names],
            "x": values,
            "name": label,
            "marker": {"color": colour},
            "hovertemplate": f"%{{y}}: %{{x}} {unit}<extra>{label}</extra>",
        }
        for label, values, colour in series
    ]
    return {"data": data, "layout": layout}


def colour_legend(top: float, unit: str) -> Any:
    """The choropleth's colour steps with the values they start at."""
    if top <= 0:
        return html.Span(f"0 {unit}", className="text-secondary")
    items = []
    for i, colour in enumerate(PALETTE):
        lo = top * i / len(PALETTE)
        items.append(
            html.Span(
                [
                    html.Span(
                        className="d-inline-block me-1 align-middle border",
                        style={"width": "14px", "height": "14px", "background": colour},
                    ),
                    f"≥ {fmt_number(lo, 1 if 0 < lo < 10 else 0)}",
                ],
                className="me-2 text-nowrap",
            )
        )
    return html.Span([*items, html.Span(unit, className="text-secondary")], className="d-block")


def _note(text: str, demo: bool, empty: bool, legend: Any = None) -> list[Any]:
    lines = [text]
    if empty:
        lines.append(t("areas.none"))
    elif demo:
        lines.append(t("areas.demo"))
    out = [html.Div([html.I(className="bi bi-info-circle me-1"), n]) for n in lines]
    return [legend, *out] if legend is not None else out


def _shapes(db: Database) -> tuple[list[dict[str, Any]], bool]:
    with db.session() as s:
        shapes = q.kecamatan_shapes(s)
    return shapes, any(f["properties"]["demo"] for f in shapes)


# --------------------------------------------------------------------------------------------
def update_flood_areas(
    start_date: str | None, end_date: str | None, *, db: Database | None = None
) -> tuple:
    """Hours flooded per kecamatan over the page's range: ranking, choropleth, note."""
    sel = _trend.selection(start_date, end_date, "day")
    database = _trend.database(db)
    key = f"areas:flood:{database.url}|{sel.start.isoformat()}:{sel.end.isoformat()}"

    def load() -> pd.DataFrame:
        with database.session() as s:
            return q.flood_hours(s, sel.start, sel.end)

    df = cache.memo(key, CACHE_S, load)
    shapes, demo = _shapes(database)
    unit = t("unit.flood_hours")
    shown = df[df["hours"] > 0].head(MAX_BARS)
    fig = ranking(
        shown["kecamatan"].tolist(),
        [(t("unit.flood_hours"), shown["hours"].tolist(), "#4dabf7")],
        _axis(unit, sel),
    )
    labels = {
        r.kecamatan: t(
            "areas.flood.label",
            hours=fmt_number(r.hours),
            camhours=fmt_number(r.camera_hours),
            cams=fmt_number(r.cameras),
        )
        for r in df.itertuples()
    }
    labels[""] = unit
    geo = choropleth(shapes, dict(zip(df["kecamatan"], df["hours"], strict=True)), labels)
    note = t("areas.flood.note", start=f"{sel.start_day:%d/%m/%Y}", end=f"{sel.end_day:%d/%m/%Y}")
    legend = colour_legend(float(df["hours"].max()) if len(df) else 0, unit)
    return fig, geo, _note(note, demo, not shapes, legend)


def _axis(unit: str, sel: _trend.Selection) -> str:
    """A ranking's axis title: the unit and the period it covers."""
    return f"{unit} · {sel.start_day:%d/%m/%Y}–{sel.end_day:%d/%m/%Y} ({components.tz_label()})"


def update_traffic_areas(
    start_date: str | None, end_date: str | None, *, db: Database | None = None
) -> tuple:
    """Vehicles crossing per camera-hour per kecamatan over the page's range."""
    from dashboard.queries import profile

    sel = _trend.selection(start_date, end_date, "day")
    database = _trend.database(db)
    key = f"areas:traffic:{database.url}|{sel.start.isoformat()}:{sel.end.isoformat()}"

    def load() -> pd.DataFrame:
        with database.session() as s:
            return profile.traffic_by_kecamatan(s, sel.start, sel.end)

    df = cache.memo(key, CACHE_S, load)
    shapes, demo = _shapes(database)
    unit = t("unit.vehicles_per_camera_hour")
    shown = df[df["per_camera_hour"] > 0].head(MAX_BARS)
    fig = ranking(
        shown["kecamatan"].tolist(),
        [(unit, [round(float(v), 1) for v in shown["per_camera_hour"]], components.NAVY)],
        _axis(unit, sel),
    )
    labels = {
        r.kecamatan: t(
            "areas.traffic.label",
            rate=fmt_number(r.per_camera_hour, 1),
            n=fmt_number(r.vehicles),
            cams=fmt_number(r.cameras),
        )
        for r in df.dropna(subset=["per_camera_hour"]).itertuples()
    }
    labels[""] = unit
    values = {
        k: float(v) for k, v in zip(df["kecamatan"], df["per_camera_hour"].fillna(0), strict=True)
    }
    geo = choropleth(shapes, values, labels)
    note = t("areas.traffic.note", start=f"{sel.start_day:%d/%m/%Y}", end=f"{sel.end_day:%d/%m/%Y}")
    legend = colour_legend(max(values.values(), default=0), unit)
    return fig, geo, _note(note, demo, not shapes, legend)


def update_security_areas(
    start_date: str | None, end_date: str | None, kinds: Any, *, db: Database | None = None
) -> tuple:
    """Incidents per kecamatan by kind over the page's range: stacked ranking, choropleth."""
    from dashboard.callbacks.security import KIND_COLORS

    sel = _trend.selection(start_date, end_date, "day")
    kind_list = [k for k in _trend.as_list(kinds) if k in KINDS]
    database = _trend.database(db)
    key = f"areas:sec:{database.url}|{sel.start.isoformat()}:{sel.end.isoformat()}:{kind_list}"

    def load() -> pd.DataFrame:
        with database.session() as s:
            offset = utc_offset_hours(_trend.context.settings().timezone)
            return q.incidents_by_kecamatan(s, sel.start, sel.end, kind_list, offset)

    df = cache.memo(key, CACHE_S, load)
    df = df[df["kecamatan"] != ""]
    shapes, demo = _shapes(database)
    unit = t("unit.incidents")
    totals = df.groupby("kecamatan")["count"].sum().sort_values(ascending=False)
    names = totals.index[:MAX_BARS].tolist()
    wide = df.pivot_table(index="kecamatan", columns="kind", values="count", aggfunc="sum")
    wide = wide.reindex(names).fillna(0)
    series = [
        (t(f"kind.{k}"), wide[k].astype(int).tolist(), KIND_COLORS.get(k, "#8a94a6"))
        for k in KINDS
        if k in wide.columns and wide[k].sum() > 0
    ]
    fig = ranking(names, series, _axis(unit, sel), height=360)
    labels = {}
    for kec, total in totals.items():
        part = df[df["kecamatan"] == kec].sort_values("count", ascending=False).head(3)
        top = ", ".join(f"{t(f'kind.{r.kind}')} {fmt_number(r.count)}" for r in part.itertuples())
        labels[kec] = t("areas.security.label", n=fmt_number(int(total)), top=top)
    labels[""] = unit
    geo = choropleth(shapes, {k: float(v) for k, v in totals.items()}, labels)
    note = t(
        "areas.security.note", start=f"{sel.start_day:%d/%m/%Y}", end=f"{sel.end_day:%d/%m/%Y}"
    )
    legend = colour_legend(float(totals.max()) if len(totals) else 0, unit)
    return fig, geo, _note(note, demo, not shapes, legend)


def update_complaint_areas(period: str | None, _n: int | None, *, db: Database | None = None):
    """Complaints per kecamatan over the page's period, open and late now."""
    from dashboard.i18n import local_time

    try:
        days = max(1, min(int(period or 30), 366))
    except ValueError:
        days = 30
    database = _trend.database(db)
    now = datetime.now(UTC)

    def load() -> pd.DataFrame:
        with database.session() as s:
            return q.complaints_by_kecamatan(s, days, now)

    df = cache.memo(f"areas:complaints:{database.url}|{days}", CACHE_S, load)
    shapes, demo = _shapes(database)
    unit = t("unit.reports")
    shown = df.head(MAX_BARS)
    closed = (shown["reports"] - shown["open"]).clip(lower=0).tolist()
    fig = ranking(
        shown["kecamatan"].tolist(),
        [
            (t("areas.col.open"), shown["open"].tolist(), "#f59f00"),
            (t("areas.col.closed"), closed, components.NAVY),
        ],
        unit,
    )
    labels = {
        r.kecamatan: t(
            "areas.complaints.label",
            n=fmt_number(r.reports),
            open=fmt_number(r.open),
            late=fmt_number(r.late),
        )
        for r in df.itertuples()
    }
    labels[""] = unit
    geo = choropleth(shapes, dict(zip(df["kecamatan"], df["reports"], strict=True)), labels)
    tz = context.settings().timezone
    note = t("areas.complaints.note", days=days, now=local_time(now, tz))
    legend = colour_legend(float(df["reports"].max()) if len(df) else 0, unit)
    return fig, geo, _note(note, demo, not shapes, legend)


def register(app) -> None:
    app.callback(
        Output("traffic-area-rank", "figure"),
        Output("traffic-area-layer", "data"),
        Output("traffic-area-note", "children"),
        Input("traffic-range", "start_date"),
        Input("traffic-range", "end_date"),
    )(update_traffic_areas)
    app.callback(
        Output("flood-area-rank", "figure"),
        Output("flood-area-layer", "data"),
        Output("flood-area-note", "children"),
        Input("flood-range", "start_date"),
        Input("flood-range", "end_date"),
    )(update_flood_areas)
    app.callback(
        Output("security-area-rank", "figure"),
        Output("security-area-layer", "data"),
        Output("security-area-note", "children"),
        Input("security-range", "start_date"),
        Input("security-range", "end_date"),
        Input("security-kind", "value"),
    )(update_security_areas)
    app.callback(
        Output("complaints-area-rank", "figure"),
        Output("complaints-area-layer", "data"),
        Output("complaints-area-note", "children"),
        Input("complaints-period", "value"),
        Input("complaints-refresh", "n_intervals"),
    )(update_complaint_areas)
