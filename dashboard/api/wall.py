"""``GET /api/wall/alerts``: the open siaga (critical) alerts for the wall screen's alert
flash (assets/pantau_map.js, kiosk mode), with where to see each camera live.

Staff only (``/api`` is a staff route in dashboard/auth.py). A public camera is shown through
the public frame hub's live MJPEG stream (dashboard/streaming.py, privacy-blurred, one hub
reader however many viewers); any other camera through its latest stored snapshot, which the
wall reloads every few seconds.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from dashboard import context
from dashboard.queries import alerts as alert_queries

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_wall", __name__, url_prefix="/api/wall")

#: severities that make the wall flash: critical is "siaga" / "awas" on the Indonesian scale
FLASH_SEVERITIES = frozenset({"critical", "siaga", "awas"})


@bp.get("/alerts")
def alerts() -> Response:
    from dashboard.api.public import public_cameras

    with context.db().session() as s:
        rows = alert_queries.open_alerts(s, limit=100)
    public = public_cameras()
    items = []
    for a in rows:
        if a.severity not in FLASH_SEVERITIES:
            continue
        code = a.camera_code
        items.append(
            {
                "id": a.id,
                "title": a.title,
                "severity": a.severity,
                "camera": code,
                "camera_name": public[code].name if code in public else code,
                "started_at": a.started_at.isoformat(),
                "live": f"/api/public/stream/{code}.mjpg" if code in public else None,
                "snapshot": f"/snapshots/{code}.jpg" if code else None,
            }
        )
    cfg = context.settings()
    resp = jsonify(alerts=items, sound=cfg.kiosk_alert_sound, show_seconds=cfg.kiosk_alert_seconds)
    resp.headers["Cache-Control"] = "no-store"
    return resp
