"""Callbacks of the traffic page (``traffic-*``)."""

from __future__ import annotations

import logging

from dash import ctx

from dashboard.callbacks import _profile, _trend
from dashboard.i18n import register as register_strings
from dashboard.queries import trends

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


# the trend, KPI tiles and table behind them; top locations and the per-camera map layer
update_traffic, update_traffic_locations = _trend.page_callbacks("traffic", METRICS, "flow")

camera_choices = _trend.camera_choices


def download_traffic(_csv: int | None, _xlsx: int | None, payload: dict | None, top: dict | None):
    return _trend.download(ctx.triggered_id, payload, top, "lalu-lintas")


# the hour x weekday profile and the by-hour comparison for the same filters
update_traffic_profile = _profile.profile_callback("traffic", METRICS, "flow")


def register(app) -> None:
    _profile.register_profile(app, "traffic", update_traffic_profile)
    _trend.register_trend(
        app, "traffic", update_traffic, update_traffic_locations, download_traffic
    )


__all__ = ["update_traffic", "update_traffic_locations", "download_traffic", "trends"]
