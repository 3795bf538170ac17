"""Public camera routes: no login, public cameras only, privacy-filtered pictures only.

* ``GET /api/public/cameras.geojson`` - public cameras (code, name, kecamatan, address, point).
* ``GET /api/public/snapshot/<code>.jpg`` - latest blurred picture.
* ``GET /api/public/stream/<code>.mjpg`` - live blurred MJPEG (``multipart/x-mixed-replace``)
  from the shared :class:`dashboard.streaming.FrameHub`; 503 + Retry-After when full.

A code that does not exist and a code of a non-public camera get the same 404 (same body, same
work: both are answered from the cached public set), and codes are validated strictly
(``[A-Za-z0-9][A-Za-z0-9_-]{0,63}``), so guessing ids or paths reveals nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import select

from dashboard import context
from dashboard.streaming import BOUNDARY, FrameHub, HubFull, PublicCamera
from ingestion.url_policy import UrlPolicy
from store.models import Camera

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_public", __name__, url_prefix="/api/public")

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PUBLIC_CACHE_S = 5.0
_lock = threading.Lock()


def hub() -> FrameHub:
    """The app's frame hub, created on first use."""
    ext = current_app.extensions
    if "pantau_hub" not in ext:
        with _lock:
            if "pantau_hub" not in ext:
                cfg = context.settings()
                ext["pantau_hub"] = FrameHub(
                    snapshot_dir=cfg.snapshot_dir,
                    fps=cfg.public_stream_fps,
                    width=cfg.public_stream_width,
                    max_viewers=cfg.public_stream_max_viewers,
                    max_total=cfg.public_stream_max_total,
                    connect_timeout_s=cfg.connect_timeout_s,
                    read_timeout_s=cfg.read_timeout_s,
                    face_model_path=cfg.face_model_path,
                    still_public=_still_public(context.db()),
                    full_search_s=cfg.public_stream_full_search_s,
                    url_policy=UrlPolicy.from_settings(cfg),
                    blur_threads=cfg.public_stream_blur_threads,
                )
    return ext["pantau_hub"]


def warm_snapshots() -> None:
    """Start blurring every public camera's snapshot file into the hub's cache (background):
    called once when the app is built, so /cctv's first visitor gets every thumbnail at once."""
    try:
        cameras = list(public_cameras().values())
    except Exception:  # noqa: BLE001 - no database yet: the first request blurs on demand
        logger.exception("public snapshots not warmed")
        return
    if cameras:
        hub().warm(cameras)


def _still_public(db):  # type: ignore[no-untyped-def]
    """A check the hub's producer threads can call without a Flask context."""

    def check(code: str) -> bool:
        try:
            with db.session() as s:
                return bool(
                    s.scalar(
                        select(Camera.id).where(
                            Camera.code == code, Camera.is_public.is_(True), Camera.enabled
                        )
                    )
                )
        except Exception:  # the database is down: stop serving (fail closed)
            logger.exception("could not check whether camera %s is public", code)
            return False

    return check


def public_cameras() -> dict[str, PublicCamera]:
    """Enabled public cameras by code, cached for a few seconds (one query, whoever asks)."""
    ext = current_app.extensions
    cached = ext.get("pantau_public_cameras")
    now = time.monotonic()
    if cached and now - cached[0] < PUBLIC_CACHE_S:
        return cached[1]
    with context.db().session() as s:
        rows = s.execute(
            select(
                Camera.code,
                Camera.name,
                Camera.kecamatan,
                Camera.address,
                Camera.lat,
                Camera.lon,
                Camera.stream_url,
                Camera.protocol,
            )
            .where(Camera.is_public.is_(True), Camera.enabled.is_(True))
            .order_by(Camera.name)
        ).all()
    cams = {r.code: PublicCamera(*r) for r in rows}
    ext["pantau_public_cameras"] = (now, cams)
    return cams


def lookup(code: str) -> PublicCamera | None:
    if not CODE_RE.fullmatch(code or ""):
        return None
    return public_cameras().get(code)


def not_found() -> Response:
    resp = jsonify(error="not found")
    resp.status_code = 404
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/cameras.geojson")
def cameras_geojson() -> Response:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
            "properties": {
                "code": c.code,
                "name": c.name,
                "kecamatan": c.kecamatan,
                "address": c.address,
            },
        }
        for c in public_cameras().values()
    ]
    resp = jsonify(type="FeatureCollection", features=features)
    resp.headers["Cache-Control"] = "public, max-age=30"
    return resp


@bp.get("/snapshot/<code>.jpg")
def snapshot(code: str) -> Response:
    camera = lookup(code)
    if camera is None:
        return not_found()
    jpeg = hub().snapshot(camera)
    if jpeg is None:
        jpeg = hub().placeholder
    resp = Response(jpeg, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "public, max-age=5"
    return resp


class _StreamBody:
    """The MJPEG body; ``close()`` (called by the WSGI server even when the client left before
    the first byte) releases the viewer slot."""

    def __init__(self, subscription, max_seconds: float) -> None:
        self.subscription = subscription
        self._parts = subscription.parts(max_seconds)

    def __iter__(self):
        return self._parts

    def close(self) -> None:
        try:
            self._parts.close()
        finally:
            self.subscription.close()


@bp.get("/stream/<code>.mjpg")
def stream(code: str) -> Response:
    camera = lookup(code)
    if camera is None:
        return not_found()
    try:
        subscription = hub().subscribe(camera)
    except HubFull as full:
        resp = jsonify(error="too many viewers, try again shortly", scope=full.scope)
        resp.status_code = 503
        resp.headers["Retry-After"] = str(full.retry_after)
        return resp
    body = _StreamBody(subscription, context.settings().public_stream_max_seconds)
    resp = Response(body, mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return resp
