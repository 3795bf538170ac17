"""Callbacks of the flood page (``flood-*``)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from dash import Input, Output, ctx, html

from dashboard import cache, components
from dashboard.callbacks import _profile, _trend
from dashboard.i18n import fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import flood as flood_queries
from store.db import Database

logger = logging.getLogger(__name__)

# strings of the page (registered here: callbacks are imported wherever the app is built)
register_strings(
    {
        "flood.sub": {
            "id": "Genangan di jalan menurut kamera, dan tinggi muka air sungai terhadap batas "
            "waspada dan siaga.",
            "en": "Water on roads seen by cameras, and river levels against warning and danger "
            "levels.",
        },
        "flood.trend": {"id": "Tren genangan", "en": "Flooding trend"},
        "flood.sensors": {"id": "Tinggi muka air sungai", "en": "River water levels"},
        "flood.sensor_now": {"id": "Sensor saat ini", "en": "Sensors now"},
        "flood.map": {"id": "Peta genangan dan sensor", "en": "Flooding and sensor map"},
        "flood.level.normal": {"id": "Normal", "en": "Normal"},
        "flood.level.warning": {"id": "Waspada", "en": "Warning"},
        "flood.level.danger": {"id": "Siaga", "en": "Danger"},
        "flood.level.unknown": {"id": "Tidak ada data", "en": "No data"},
        "flood.warning_line": {"id": "Batas waspada", "en": "Warning level"},
        "flood.danger_line": {"id": "Batas siaga", "en": "Danger level"},
    }
)

METRICS = ("water_max", "wet")
LEVEL_CLASS = {
    "normal": "success",
    "warning": "warning",
    "danger": "danger",
    "unknown": "secondary",
}


# the flooding trend, KPI tiles and table behind them; the cameras flooded on the most days
# (water on 30 % or more of the road at some point of the day) and the map layer
update_flood, update_flood_locations = _trend.page_callbacks(
    "flood", METRICS, "wet", top_metric="wet", top_unit_key="unit.days_flooded"
)


def sensor_figure(sensors: list[flood_queries.SensorInfo], readings: pd.DataFrame) -> Any:
    if readings.empty:
        return components.empty_figure(height=320)
    fig = components.base_figure(320)
    by_id = {s.id: s for s in sensors}
    tz = components.tz_label()
    for i, (sid, group) in enumerate(readings.groupby("sensor_id")):
        sensor = by_id.get(sid)
        if sensor is None:
            continue
        x = pd.to_datetime(group["ts"], utc=True).dt.tz_convert("Asia/Jakarta").dt.tz_localize(None)
        fig.add_scatter(
            x=x,
            y=group["value"],
            name=sensor.name.replace("Tinggi muka air ", ""),
            line={"width": 1.6, "color": components.SERIES[(i + 2) % len(components.SERIES)]},
            hovertemplate=f"%{{y:,.0f}} {sensor.unit}",
        )
    levels = [s for s in sensors if s.warning_level is not None]
    if levels:
        warning = levels[0].warning_level
        danger = levels[0].danger_level
        fig.add_hline(
            y=warning, line={"color": "#f59f00", "dash": "dash", "width": 1.5},
            annotation_text=f"{t('flood.warning_line')} {fmt_number(warning)} cm",
            annotation_position="top left",
        )  # fmt: skip
        if danger is not None:
            fig.add_hline(
                y=danger, line={"color": "#d63939", "dash": "dash", "width": 1.5},
                annotation_text=f"{t('flood.danger_line')} {fmt_number(danger)} cm",
                annotation_position="top left",
            )  # fmt: skip
    fig.update_yaxes(title={"text": "cm", "font": {"size": 11}}, rangemode="normal")
    fig.update_xaxes(title={"text": t("ui.time_axis", tz=tz), "font": {"size": 11}})
    return fig


def sensor_cards(sensors: list[flood_queries.SensorInfo], tz: str) -> list[Any]:
    cards = []
    for s in sensors:
        cls = LEVEL_CLASS[s.level]
        cards.append(
            html.Div(
                html.Div(
                    [
                        html.Div(
                            [
                                html.Span(
                                    t(f"flood.level.{s.level}"),
                                    className=f"badge text-bg-{cls} me-2",
                                ),
                                html.Span(
                                    s.name.replace("Tinggi muka air ", ""),
                                    className="small fw-semibold",
                                ),
                            ]
                        ),
                        html.Div(
                            [
                                html.Span(fmt_number(s.last_value), className="fs-4 fw-bold"),
                                html.Span(f" {s.unit}", className="text-secondary"),
                            ]
                        ),
                        html.Div(local_time(s.last_seen_at, tz), className="pantau-footnote"),
                    ],
                    className=f"p-2 border-start border-4 border-{cls} bg-body-tertiary rounded",
                    id=f"flood-sensor-{s.code}",
                ),
                className="col-6 col-md-3",
            )
        )
    return cards


def update_sensors(
    start_date: str | None,
    end_date: str | None,
    kecamatan: Any,
    *,
    db: Database | None = None,
) -> tuple:
    """Water-level chart for the range, sensor cards and the sensor map layer."""
    sel = _trend.selection(start_date, end_date, "day")
    kec = list(_trend.as_list(kecamatan)) or None
    database = _trend.database(db)
    tz = _trend.context.settings().timezone
    with database.session() as s:
        sensors = flood_queries.water_sensors(s, kec)
        key = f"sensors:{database.url}|{sel.start.isoformat()}:{sel.end.isoformat()}:{kec}"
        readings = cache.memo(
            key,
            60,
            lambda: flood_queries.sensor_readings(s, [x.id for x in sensors], sel.start, sel.end),
        )
    features = components.point_features(
        [
            {
                "lat": x.lat,
                "lon": x.lon,
                "n": x.name,
                "level": x.level,
                "label": f"{fmt_number(x.last_value)} {x.unit} · {t(f'flood.level.{x.level}')} · "
                f"{local_time(x.last_seen_at, tz)}",
            }
            for x in sensors
        ]
    )
    return sensor_figure(sensors, readings), sensor_cards(sensors, tz), features


camera_choices = _trend.camera_choices


def download_flood(_csv: int | None, _xlsx: int | None, payload: dict | None, top: dict | None):
    return _trend.download(ctx.triggered_id, payload, top, "banjir")


# the hour x weekday profile and the by-hour comparison for the same filters
update_flood_profile = _profile.profile_callback("flood", METRICS, "wet")


def register(app) -> None:
    _profile.register_profile(app, "flood", update_flood_profile)
    _trend.register_trend(app, "flood", update_flood, update_flood_locations, download_flood)
    app.callback(
        Output("flood-sensors", "figure"),
        Output("flood-sensor-cards", "children"),
        Output("flood-map-sensors", "data"),
        Input("flood-range", "start_date"),
        Input("flood-range", "end_date"),
        Input("flood-kecamatan", "value"),
    )(update_sensors)
