"""GeoJSON layers and camera snapshots for the staff dashboard (a Flask blueprint).

- ``/api/cameras.geojson``: every enabled camera with status and open-alert level, served by
  URL to a clustered dash-leaflet GeoJSON layer (one request, however many cameras).
- ``/api/incidents.geojson?days=7&kind=fire``: recent incidents for map layers.
- ``/api/sensors.geojson``: water-level sensors with their last value and level.
- ``/api/areas.geojson?level=kecamatan``: the imported kecamatan (or kelurahan) boundaries
  (store.areas), for the outline layer of the staff maps; cached until the polygons change.
- ``/api/public/river.geojson``: the approximate course of the Musi through the city (data/),
  so maps are readable without tiles; reference geography, so public like the /cctv map.
- ``/snapshots/<code>.jpg``: the latest annotated snapshot of a camera (var/snapshots), or a
  placeholder image. The code is validated strictly and the path never leaves the folder.

Access is checked by the guard in dashboard/auth.py (``/api`` and ``/snapshots``: staff;
``/api/public``: anyone).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Blueprint, Response, jsonify, request

from dashboard import cache, context
from dashboard.queries import cameras as camera_queries
from dashboard.queries import flood as flood_queries
from dashboard.queries import security as security_queries
from ingestion.snapshots import SnapshotRenderer
from pantau.settings import DATA_DIR

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_geo", __name__)

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RIVER_FILE = DATA_DIR / "musi_river_approx.geojson"
_placeholder_lock = threading.Lock()
_placeholder: bytes | None = None
_renderer = SnapshotRenderer(max_items=64)  # annotated snapshots, drawn once per file version


def _geojson_response(payload: dict, max_age: int) -> Response:
    resp = Response(json.dumps(payload, separators=(",", ":")), mimetype="application/geo+json")
    resp.headers["Cache-Control"] = f"private, max-age={max_age}"
    return resp


@bp.get("/api/cameras.geojson")
def cameras_geojson() -> Response:
    """All cameras; cached for a few seconds and shared by every viewer."""

    def build() -> dict:
        with context.db().session() as s:
            return camera_queries.camera_features(s)

    return _geojson_response(cache.memo(f"geo:cameras:{context.db().url}", 5, build), 5)


@bp.get("/api/incidents.geojson")
def incidents_geojson() -> Response:
    try:
        days = max(1, min(int(request.args.get("days", "7")), 366))
    except ValueError:
        return jsonify(error="days must be a whole number"), 400
    kinds = [k for k in request.args.getlist("kind") if k in security_queries.KINDS]
    end = datetime.now(UTC)
    with context.db().session() as s:
        points = security_queries.incident_points(
            s, end - timedelta(days=days), end, kinds=kinds, limit=5000
        )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
            "properties": {
                "kind": p["kind"],
                "title": p["title"],
                "status": p["status"],
                "at": p["occurred_at"].isoformat(),
            },
        }
        for p in points
    ]
    return _geojson_response({"type": "FeatureCollection", "features": features}, 30)


@bp.get("/api/sensors.geojson")
def sensors_geojson() -> Response:
    with context.db().session() as s:
        sensors = flood_queries.water_sensors(s)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x.lon, x.lat]},
            "properties": {
                "c": x.code,
                "n": x.name,
                "v": x.last_value,
                "u": x.unit,
                "level": x.level,
                "at": x.last_seen_at.isoformat() if x.last_seen_at else None,
            },
        }
        for x in sensors
        if x.lat is not None and x.lon is not None
    ]
    return _geojson_response({"type": "FeatureCollection", "features": features}, 30)


@bp.get("/api/areas.geojson")
def areas_geojson() -> Response:
    """The boundaries of one level (``kecamatan`` default, or ``kelurahan``)."""
    from store.areas import LEVELS, polygons_version
    from store.areas import areas_geojson as build_areas

    level = request.args.get("level", "kecamatan")
    if level not in LEVELS:
        return jsonify(error=f"level must be one of {', '.join(LEVELS)}"), 400
    with context.db().session() as s:
        version = polygons_version(s)
        key = f"geo:areas:{context.db().url}:{level}:{version}"
        body = cache.memo(
            key, 600, lambda: json.dumps(build_areas(s, level), separators=(",", ":"))
        )
    resp = Response(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


@bp.get("/api/public/river.geojson")
def river_geojson() -> Response:
    if not RIVER_FILE.exists():
        return _geojson_response({"type": "FeatureCollection", "features": []}, 3600)
    return _geojson_response(json.loads(RIVER_FILE.read_text(encoding="utf-8")), 3600)


def placeholder_jpeg() -> bytes:
    """A dark 16:9 "no picture yet" JPEG, drawn once."""
    global _placeholder
    with _placeholder_lock:
        if _placeholder is None:
            import cv2
            import numpy as np

            img = np.full((360, 640, 3), (51, 31, 11), dtype=np.uint8)  # navy (BGR)
            cv2.rectangle(img, (250, 120), (390, 210), (5, 183, 242), 3)  # gold camera body
            cv2.circle(img, (320, 165), 26, (5, 183, 242), 3)
            cv2.line(img, (230, 230), (410, 100), (200, 200, 200), 3)
            cv2.putText(
                img, "NO SNAPSHOT / BELUM ADA GAMBAR", (118, 280),
                cv2.FONT_HERSHEY_SIMPLEX, 0.8, (230, 230, 230), 2, cv2.LINE_AA,
            )  # fmt: skip
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
            _placeholder = buf.tobytes() if ok else b""
        return _placeholder


def snapshot_path(snapshot_dir: Path, code: str) -> Path | None:
    """The snapshot file of camera ``code`` if it exists inside ``snapshot_dir``."""
    if not CODE_RE.match(code):
        return None
    root = snapshot_dir.resolve()
    path = (root / f"{code}.jpg").resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


@bp.get("/snapshots/<code>.jpg")
def snapshot(code: str) -> Response:
    """The camera's latest snapshot with its annotations (boxes, ROIs, lines, counts, time),
    drawn here from what ingestion stored inside the camera's own JPEG (``ingestion.snapshots``)."""
    if not CODE_RE.match(code):
        return jsonify(error="invalid camera code"), 404
    path = snapshot_path(context.settings().snapshot_dir, code)
    data = _renderer.annotated(path) if path is not None else None
    if path is None or data is None:  # none yet (or removed since)
        resp = Response(placeholder_jpeg(), mimetype="image/jpeg")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Pantau-Placeholder"] = "1"
        return resp
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "private, max-age=2"
    with contextlib.suppress(OSError):
        resp.headers["Last-Modified"] = time.strftime(
            "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(path.stat().st_mtime)
        )
    return resp
