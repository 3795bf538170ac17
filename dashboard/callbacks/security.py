"""Callbacks of the security & incidents page (``security-*``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from dash import Input, Output, State, ctx

from dashboard import cache, components
from dashboard.callbacks import _compare, _trend
from dashboard.i18n import fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import cameras as camera_queries
from dashboard.queries import security as q
from store.db import Database
from store.rollups import utc_offset_hours

logger = logging.getLogger(__name__)

# strings of the page (registered here: callbacks are imported wherever the app is built)
register_strings(
    {
        "security.sub": {
            "id": "Kejadian kriminal, kebakaran, kecelakaan dan ketertiban dari CCTV, 112, warga "
            "dan ruang kendali instansi (Polresta, Damkar, Satpol PP, Dishub, BPBD).",
            "en": "Crime, fire, accidents and public-order incidents from CCTV, 112, citizens and "
            "the agencies' control rooms (police, fire, Satpol PP, Dishub, BPBD).",
        },
        "security.kind": {"id": "Jenis kejadian", "en": "Incident type"},
        "security.kind.all": {"id": "Semua jenis", "en": "All types"},
        "security.trend": {"id": "Kejadian per periode", "en": "Incidents per period"},
        "security.top": {"id": "Kecamatan teratas", "en": "Top districts"},
        "security.map": {"id": "Peta kejadian", "en": "Incident map"},
        "security.total": {"id": "Jumlah kejadian", "en": "Incidents"},
        "security.fires": {"id": "Kebakaran", "en": "Fires"},
        "security.source": {
            "id": "Sumber: tabel kejadian (CCTV, 112, warga, dan umpan instansi: Polresta, "
            "Damkar, Satpol PP… lewat berkas atau API). Waktu dalam {tz}.",
            "en": "Source: incident records (CCTV, 112, citizens, and agency feeds: police, "
            "fire, Satpol PP… by file or API). Times in {tz}.",
        },
        "security.from": {"id": "sumber: {source}", "en": "source: {source}"},
        "security.demo_mark": {"id": "DATA DEMO", "en": "DEMO DATA"},
        "security.map_capped": {
            "id": "Peta menampilkan {shown} kejadian terbaru dari {total} kejadian dalam periode "
            "ini; grafik dan tabel menghitung semuanya.",
            "en": "The map shows the {shown} most recent of {total} incidents in this period; "
            "the chart and table count them all.",
        },
        "kind.crime": {"id": "Kriminalitas", "en": "Crime"},
        "kind.fire": {"id": "Kebakaran", "en": "Fire"},
        "kind.traffic_accident": {"id": "Kecelakaan", "en": "Traffic accident"},
        "kind.flood": {"id": "Genangan/banjir", "en": "Flooding"},
        "kind.illegal_dumping": {"id": "Buang sampah liar", "en": "Illegal dumping"},
        "kind.illegal_racing": {"id": "Balap liar", "en": "Illegal racing"},
        "kind.illegal_parking": {"id": "Parkir liar", "en": "Illegal parking"},
        "kind.street_children": {"id": "Anak jalanan", "en": "Street children"},
        "kind.crowd": {"id": "Kerumunan", "en": "Crowd"},
        "kind.street_vendors": {"id": "PKL", "en": "Street vendors"},
        "kind.other": {"id": "Lainnya", "en": "Other"},
    }
)

KIND_COLORS = {
    "crime": "#d63939", "fire": "#f76707", "traffic_accident": "#f59f00", "flood": "#4dabf7",
    "illegal_dumping": "#868e96", "illegal_racing": "#ae3ec9", "illegal_parking": "#74b816",
    "street_children": "#e64980", "crowd": "#fab005", "street_vendors": "#20c997",
    "other": "#8a94a6",
}  # fmt: skip


def _wide(long: pd.DataFrame, index: pd.DatetimeIndex, kinds: list[str]) -> pd.DataFrame:
    wide = pd.DataFrame(index=index)
    if not long.empty:  # groupby + unstack: a fraction of pivot_table's cost
        pivot = long.groupby(["period", "kind"])["count"].sum().unstack("kind")
        wide = wide.join(pivot)
    for k in kinds:
        if k not in wide.columns:
            wide[k] = 0
    wide = wide[kinds].fillna(0).astype(int)
    wide["total"] = wide.sum(axis=1)
    return wide


def update_security(
    start_date: str | None,
    end_date: str | None,
    granularity: str | None,
    kecamatan: Any,
    cameras: Any,
    kinds: Any,
    compare: str | None = None,
    *,
    db: Database | None = None,
) -> tuple:
    mode = _compare.compare_mode(compare)
    sel = _trend.selection(start_date, end_date, granularity)
    first, last = _compare.compare_days(sel.start_day, sel.end_day, mode)
    cmp_start, cmp_end = _trend.trends.local_range(
        first, last, utc_offset_hours(_trend.context.settings().timezone)
    )
    offset = utc_offset_hours(_trend.context.settings().timezone)
    kec = list(_trend.as_list(kecamatan))
    cams = list(_trend.as_list(cameras))
    kind_list = [k for k in _trend.as_list(kinds) if k in q.KINDS]
    span = sel.end - sel.start
    f = _trend.make_filter(sel, kec, cams, ("flow",))
    index = pd.DatetimeIndex(_trend.trends.period_index(f))
    database = _trend.database(db)
    key = f"sec:{database.url}|{f.cache_key()}:{','.join(kind_list)}:{mode}"
    with database.session() as s:

        def load():
            cur = q.incident_counts(
                s, sel.start, sel.end, sel.granularity, kec, cams, kind_list, offset
            )
            prev = q.incident_counts(
                s, cmp_start, cmp_end, sel.granularity, kec, cams, kind_list, offset
            )
            usual = q.usual_daily_counts(s, sel.start, kec, cams, kind_list, offset_hours=offset)
            top = q.top_kecamatan(s, sel.start, sel.end, kec, cams, kind_list, offset_hours=offset)
            points = q.incident_points(s, sel.start, sel.end, kec, cams, kind_list)
            return cur, prev, usual, top, points

        cur, prev, usual, top, points = cache.memo(key, 30, load)
    shown_kinds = kind_list or [k for k in q.KINDS if not cur.empty and k in set(cur["kind"])]
    wide = _wide(cur, index, shown_kinds)
    prev_index = pd.DatetimeIndex(
        _trend.trends.period_index(replace(f, start=cmp_start, end=cmp_end))
    )
    prev_total = _wide(prev, prev_index, shown_kinds)["total"].tolist()
    prev_total = (prev_total + [None] * len(wide))[: len(wide)]
    usual_series = (
        [usual.get(p.weekday(), 0.0) for p in wide.index] if sel.granularity == "day" else None
    )

    # figure: stacked bars per kind, previous period and usual as lines (built as a plain
    # dict: Plotly's figure objects validate every property, ~100 ms for these two figures)
    unit = t("unit.incidents")
    x, xaxis = _trend.x_values(pd.Series(wide.index), sel.granularity)
    if wide["total"].sum() == 0:
        fig = components.empty_dict_figure(height=360)
    else:
        data: list[dict[str, Any]] = [
            {
                "type": "bar", "x": x, "y": wide[k].tolist(), "name": t(f"kind.{k}"),
                "marker": {"color": KIND_COLORS.get(k, "#8a94a6")},
                "hovertemplate": f"%{{y}} {unit}",
            }
            for k in shown_kinds
        ]  # fmt: skip
        data.append(
            {
                "type": "scatter", "x": x, "y": prev_total, "name": t(f"ui.compare.{mode}"),
                "line": {"color": components.NAVY, "dash": "dot", "width": 1.8}, "mode": "lines",
                "hovertemplate": f"%{{y}} {unit}",
            }
        )  # fmt: skip
        if usual_series is not None:
            data.append(
                {
                    "type": "scatter", "x": x, "y": usual_series, "name": t("ui.usual.day"),
                    "line": {"color": components.GOLD, "width": 2}, "mode": "lines",
                    "hovertemplate": f"%{{y:.1f}} {unit}",
                }
            )  # fmt: skip
        layout = components.base_layout(420)
        layout.update(
            barmode="stack",
            legend={"orientation": "h", "y": -0.22, "x": 0, "yanchor": "top", "font": {"size": 11}},
            margin={"l": 48, "r": 12, "t": 12, "b": 40},
        )
        layout["yaxis"]["title"] = {
            "text": f"{t('security.total')} ({unit})",
            "font": {"size": 11},
        }
        layout["xaxis"].update(xaxis)
        layout["xaxis"]["title"] = {
            "text": t("ui.time_axis", tz=components.tz_label()),
            "font": {"size": 11},
        }
        fig = {"data": data, "layout": layout}

    # top kecamatan
    if top.empty:
        top_fig = components.empty_dict_figure(height=330)
    else:
        shown = top.iloc[::-1]
        layout = components.base_layout(330)
        layout.update(
            margin={"l": 8, "r": 12, "t": 8, "b": 36}, hovermode="closest", showlegend=False
        )
        layout["yaxis"]["automargin"] = True
        layout["xaxis"]["title"] = {"text": unit, "font": {"size": 11}}
        top_fig = {
            "data": [
                {
                    "type": "bar", "orientation": "h",
                    "y": [f"{k} " for k in shown["kecamatan"]],
                    "x": [int(v) for v in shown["count"]],
                    "marker": {"color": components.NAVY},
                    "hovertemplate": f"%{{y}}: %{{x}} {unit}<extra></extra>",
                }
            ],
            "layout": layout,
        }  # fmt: skip

    # KPI tiles
    total = int(wide["total"].sum())
    prev_sum = int(sum(v for v in prev_total if v is not None))
    days = max(1, span.days)
    usual_total = sum(
        usual.get((sel.start_day + timedelta(days=i)).weekday(), 0.0) for i in range(days)
    )
    fires = int(wide["fire"].sum()) if "fire" in wide else 0
    period_text = f"{sel.start_day:%d/%m/%Y}–{sel.end_day:%d/%m/%Y} ({components.tz_label()})"
    tiles = [
        components.tile("security-kpi-total", "bi-shield-exclamation", t("security.total"),
                        fmt_number(total), t("unit.incidents"), period_text),
        components.tile("security-kpi-previous", "bi-arrow-left-right",
                        f"{t(f'ui.compare.{mode}')} ({first:%d/%m/%Y}–{last:%d/%m/%Y})",
                        fmt_number(prev_sum), t("unit.incidents"),
                        _compare.change_badge(total, prev_sum,
                                              t("ui.vs", what=t(f"ui.compare.short.{mode}")),
                                              "incidents")),
        components.tile("security-kpi-usual", "bi-calendar-week", t("ui.vs_usual"),
                        fmt_number(usual_total, 0), t("unit.incidents"),
                        _compare.change_badge(total, usual_total, t("ui.vs_usual"), "incidents")),
        components.tile("security-kpi-fire", "bi-fire", t("security.fires"), fmt_number(fires),
                        t("unit.incidents"), period_text),
    ]  # fmt: skip
    tiles = [_trend.html.Div(c, className="col-6 col-xl-3 mb-2") for c in tiles]

    features = _point_features(points)
    fmt = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}[
        sel.granularity
    ]
    columns = [f"{t('ui.period')} ({components.tz_label()})", *[t(f"kind.{k}") for k in shown_kinds],
               t("ui.total"), t(f"ui.compare.{mode}"), t("ui.usual.short")]  # fmt: skip
    table = [
        [p.strftime(fmt), *[int(row[k]) for k in shown_kinds], int(row["total"]), prev_total[i],
         (round(usual_series[i], 2) if usual_series is not None else None)]
        for i, (p, row) in enumerate(wide.iterrows())
    ]  # fmt: skip
    payload = {
        "page": t("nav.security"),
        "compare": mode,
        "compare_start": first.isoformat(),
        "compare_end": last.isoformat(),
        "metric": "incidents",
        "metric_label": t("security.total"),
        "unit": t("unit.incidents"),
        "granularity": sel.granularity,
        "start": sel.start_day.isoformat(),
        "end": sel.end_day.isoformat(),
        "filters": {"kecamatan": kec, "kamera": cams, "jenis": kind_list},
        "columns": columns,
        "table": table,
        "generated": datetime.now(UTC).isoformat(),
    }
    top_payload = {
        "rows": top.rename(
            columns={"kecamatan": t("ui.kecamatan"), "count": t("unit.incidents")}
        ).to_dict("records")
    }
    notes = [*sel.notes, t("security.source", tz=components.tz_label())]
    if len(points) >= q.MAP_POINTS_MAX and total > len(points):
        notes.append(
            t("security.map_capped", shown=fmt_number(len(points)), total=fmt_number(total))
        )
    if sel.granularity != "day":
        notes.append(
            t("ui.note.no_usual")
            .replace("jam dan hari", "hari")
            .replace("hourly and daily", "daily")
        )
    note = [_trend.html.Div([_trend.html.I(className="bi bi-info-circle me-1"), n]) for n in notes]
    return fig, tiles, payload, note, sel.granularity, top_fig, features, top_payload


def _point_features(points: list[dict]) -> dict[str, Any]:
    """The map layer: one point per incident, its label ``title · local time · source``
    (translations and source labels looked up once per kind/source, not per point)."""
    tz = _trend.context.settings().timezone
    titles: dict[str, str] = {}
    sources: dict[str, str] = {}
    demo_mark = t("security.demo_mark")
    rows = []
    for p in points:
        kind, source = p["kind"], p["source"]
        title = titles.get(kind)
        if title is None:
            title = titles[kind] = t(f"kind.{kind}")
        src = sources.get(source)
        if src is None:
            src = sources[source] = t("security.from", source=source)
        parts = [p["title"], local_time(p["occurred_at"], tz), src]
        if p["is_demo"]:
            parts.append(demo_mark)
        rows.append(
            {
                "lat": p["lat"],
                "lon": p["lon"],
                "kind": kind,
                "title": title,
                "label": " · ".join(parts),
                "demo": bool(p["is_demo"]),
            }
        )
    return components.point_features(rows)


def camera_choices(kecamatan: Any, *, db: Database | None = None) -> list[dict[str, str]]:
    with _trend.database(db).session() as s:
        return camera_queries.camera_options(s, list(_trend.as_list(kecamatan)) or None)


def download_security(_csv: int | None, _xlsx: int | None, payload: dict | None, top: dict | None):
    return _trend.download(ctx.triggered_id, payload, top, "keamanan")


def register(app) -> None:
    app.callback(
        Output("security-trend", "figure"),
        Output("security-kpis", "children"),
        Output("security-data", "data"),
        Output("security-note", "children"),
        Output("security-granularity", "value"),
        Output("security-top", "figure"),
        Output("security-map-layer", "data"),
        Output("security-data-top", "data"),
        Input("security-range", "start_date"),
        Input("security-range", "end_date"),
        Input("security-granularity", "value"),
        Input("security-kecamatan", "value"),
        Input("security-camera", "value"),
        Input("security-kind", "value"),
        Input("security-compare", "value"),
    )(update_security)
    app.callback(Output("security-camera", "options"), Input("security-kecamatan", "value"))(
        camera_choices
    )
    app.callback(
        Output("security-download", "data"),
        Input("security-download-csv", "n_clicks"),
        Input("security-download-xlsx", "n_clicks"),
        State("security-data", "data"),
        State("security-data-top", "data"),
        prevent_initial_call=True,
    )(download_security)
