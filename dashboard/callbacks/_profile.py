"""Callbacks of the "hour x weekday" profile card of the trend pages (``{page}-profile-*``):
a heatmap of the chosen metric at each local hour of each weekday over the page's range, and
the range beside the compared period hour by hour (dashboard/queries/profile.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
from dash import Input, Output, html

from dashboard import cache, components
from dashboard.callbacks import _compare, _trend
from dashboard.i18n import register as register_strings
from dashboard.i18n import t
from dashboard.queries import profile as q
from dashboard.queries import trends
from store.db import Database

register_strings(
    {
        "profile.title": {"id": "Profil jam × hari", "en": "Hour × weekday profile"},
        "profile.heatmap": {
            "id": "Rata-rata per jam dan hari, {start}–{end} ({tz})",
            "en": "Mean by hour and weekday, {start}–{end} ({tz})",
        },
        "profile.by_hour": {
            "id": "Per jam: periode ini vs {what}",
            "en": "By hour: this period vs {what}",
        },
        "profile.hour_axis": {"id": "Jam ({tz})", "en": "Hour ({tz})"},
        "profile.cell": {
            "id": "%{y} %{x}:00 — %{z:,.1f} UNIT<br>%{customdata} jam berdata",
            "en": "%{y} %{x}:00 — %{z:,.1f} UNIT<br>%{customdata} hours with data",
        },
        "profile.note": {
            "id": "Setiap sel: rata-rata {unit} pada jam dan hari itu, dari jam yang ada datanya "
            "({scope}). Perbandingan per jam: {cur} vs {cmp} ({tz}).",
            "en": "Each cell: mean {unit} at that hour and weekday, over the hours with data "
            "({scope}). By hour: {cur} vs {cmp} ({tz}).",
        },
        "profile.scope.all": {"id": "semua kamera", "en": "all cameras"},
    }
)

CACHE_S = 60
#: light (little) to dark (much): traffic and crowds in navy, flooding in orange-red
NAVY_SCALE = [[0.0, "#f1f5fb"], [0.5, "#6d8fb8"], [1.0, "#0b1f33"]]
WATER_SCALE = [[0.0, "#fff7e6"], [0.5, "#f59f00"], [1.0, "#c92a2a"]]
SCALES = {"wet": WATER_SCALE, "water_max": WATER_SCALE}


def heatmap(cells: pd.DataFrame, metric: str) -> dict[str, Any]:
    """7 x 24 cells: weekdays down (Monday on top), local hours across."""
    if cells["value"].notna().sum() == 0:
        return components.empty_dict_figure(height=300)
    unit = _compare.profile_unit(metric)
    z, counts = [], []
    for wd in range(q.WEEKDAYS):
        row = cells[cells["weekday"] == wd].sort_values("hour")
        z.append([None if pd.isna(v) else round(float(v), 2) for v in row["value"]])
        counts.append([int(n) for n in row["hours"]])
    layout = components.base_layout(300)
    layout.update(margin={"l": 44, "r": 8, "t": 8, "b": 40}, hovermode="closest")
    layout["xaxis"].update(
        title={"text": t("profile.hour_axis", tz=components.tz_label()), "font": {"size": 11}},
        dtick=2,
        type="category",
    )
    layout["yaxis"].update(autorange="reversed", type="category")
    return {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": [f"{h:02d}" for h in range(q.HOURS)],
                "y": _compare.weekday_names(),
                "customdata": counts,
                "colorscale": SCALES.get(metric, NAVY_SCALE),
                "colorbar": {"title": {"text": unit, "side": "right"}, "thickness": 12},
                "hovertemplate": t("profile.cell").replace("UNIT", unit) + "<extra></extra>",
                "hoverongaps": False,
            }
        ],
        "layout": layout,
    }


def by_hour_figure(
    current: pd.DataFrame, compared: pd.DataFrame, metric: str, compare: str
) -> dict[str, Any]:
    if current["value"].notna().sum() == 0 and compared["value"].notna().sum() == 0:
        return components.empty_dict_figure(height=300)
    unit = _compare.profile_unit(metric)
    x = [f"{h:02d}" for h in range(q.HOURS)]

    def ys(frame: pd.DataFrame) -> list:
        return [None if pd.isna(v) else round(float(v), 2) for v in frame["value"]]

    hover = f"%{{x}}:00 — %{{y:,.1f}} {unit}"
    layout = components.base_layout(300)
    layout.update(margin={"l": 48, "r": 8, "t": 8, "b": 40})
    layout["xaxis"].update(
        title={"text": t("profile.hour_axis", tz=components.tz_label()), "font": {"size": 11}},
        type="category",
        dtick=2,
    )
    layout["yaxis"]["title"] = {"text": unit, "font": {"size": 11}}
    return {
        "data": [
            {"type": "scatter", "x": x, "y": ys(compared), "name": t(f"ui.compare.{compare}"),
             "line": {"color": components.GOLD, "width": 1.8, "dash": "dot"},
             "hovertemplate": hover},
            {"type": "scatter", "x": x, "y": ys(current), "name": t("ui.current"),
             "line": {"color": components.NAVY, "width": 2.6}, "mode": "lines+markers",
             "marker": {"size": 4}, "hovertemplate": hover},
        ],
        "layout": layout,
    }  # fmt: skip


def profile_callback(page: str, metrics: tuple[str, ...], default_metric: str) -> Callable:
    def metric_of(metric: str | None) -> str:
        return metric if metric in metrics else default_metric

    def update_profile(
        start_date: str | None,
        end_date: str | None,
        kecamatan: Any,
        cameras: Any,
        metric: str | None,
        compare: str | None = None,
        *,
        db: Database | None = None,
    ) -> tuple:
        """Heatmap, by-hour comparison, the card's title and note for the page's filters."""
        metric = metric_of(metric)
        mode = _compare.compare_mode(compare)
        sel = _trend.selection(start_date, end_date, "day")
        f = _trend.make_filter(sel, kecamatan, cameras, (metric,))
        first, last = _compare.compare_days(sel.start_day, sel.end_day, mode)
        lo, hi = trends.local_range(first, last, f.offset_hours)
        database = _trend.database(db)

        def load():
            with database.session() as s:
                return (
                    q.hour_weekday(s, f, metric),
                    q.by_hour(s, f, metric),
                    q.by_hour(s, replace(f, start=lo, end=hi), metric),
                )

        cells, cur, cmp_ = cache.memo(
            f"profile:{database.url}|{f.cache_key()}|{metric}|{mode}", CACHE_S, load
        )
        tz = components.tz_label()
        scope = ", ".join([*f.kecamatan, *f.cameras]) or t("profile.scope.all")
        title = t(
            "profile.heatmap",
            start=f"{sel.start_day:%d/%m/%Y}",
            end=f"{sel.end_day:%d/%m/%Y}",
            tz=tz,
        )
        note = t(
            "profile.note",
            unit=_compare.profile_unit(metric),
            scope=scope,
            cur=f"{sel.start_day:%d/%m/%Y}–{sel.end_day:%d/%m/%Y}",
            cmp=f"{first:%d/%m/%Y}–{last:%d/%m/%Y}",
            tz=tz,
        )
        what = t(f"ui.compare.short.{mode}")
        return (
            heatmap(cells, metric),
            by_hour_figure(cur, cmp_, metric, mode),
            title,
            t("profile.by_hour", what=what),
            [html.I(className="bi bi-info-circle me-1"), note],
        )

    return update_profile


def register_profile(app, page: str, update: Callable) -> None:
    app.callback(
        Output(f"{page}-profile-heatmap", "figure"),
        Output(f"{page}-profile-hours", "figure"),
        Output(f"{page}-profile-heatmap-title", "children"),
        Output(f"{page}-profile-hours-title", "children"),
        Output(f"{page}-profile-note", "children"),
        Input(f"{page}-range", "start_date"),
        Input(f"{page}-range", "end_date"),
        Input(f"{page}-kecamatan", "value"),
        Input(f"{page}-camera", "value"),
        Input(f"{page}-metric", "value"),
        Input(f"{page}-compare", "value"),
    )(update)
