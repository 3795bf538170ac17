"""Live pictures for the staff video wall (``/dinding``).

* ``GET /api/dinding/live?codes=A,B,...&fps=N`` - the pictures of up to 16 tiles over one
  connection (``multipart/mixed``, see :mod:`dashboard.wall_hub`), at most ``fps`` per tile
  (capped by the server: ``wall_stream_fps``, and ``wall_tile_fps`` above four tiles).
  503 + Retry-After when ``wall_max_walls`` walls already stream.
* ``GET /api/dinding/snapshot/<code>.jpg`` - one tile's current picture.

Public cameras come from the public frame hub, blurred exactly as on ``/cctv``; non-public
cameras from the staff hub, unblurred. Every view of a non-public camera is written to the
audit log (``view_camera``, ``via=wall``), at most once per user and camera every
``CAMERA_VIEW_THROTTLE_S`` (dashboard/auth.py), as for snapshots and the camera page.

Access: staff roles only (:func:`dashboard.auth.allow_route` below; OPD accounts and the
public are refused by the guard before these functions run).
"""

from __future__ import annotations

import atexit
import logging
import re
import threading

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from dashboard import auth, context
from dashboard.streaming import PublicCamera
from dashboard.wall_hub import WALL_BOUNDARY, StaffFrameHub, Tile, WallSlots, WallStream
from ingestion.url_policy import UrlPolicy
from store.models import Camera

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_dinding", __name__, url_prefix="/api/dinding")
STAFF_ROLES = ("pimpinan", "operator", "analis", "admin")
auth.allow_route("/api/dinding", STAFF_ROLES)

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_TILES = 16  # the 4x4 layout
RETRY_AFTER_S = 15
_lock = threading.Lock()


def staff_hub() -> StaffFrameHub:
    """The app's staff frame hub (non-public cameras), created on first use."""
    ext = current_app.extensions
    if "pantau_wall_hub" not in ext:
        with _lock:
            if "pantau_wall_hub" not in ext:
                cfg = context.settings()
                ext["pantau_wall_hub"] = StaffFrameHub(
                    snapshot_dir=cfg.snapshot_dir,
                    fps=cfg.wall_stream_fps,
                    width=cfg.wall_stream_width,
                    max_viewers=cfg.wall_max_tiles,
                    max_total=cfg.wall_max_tiles,
                    connect_timeout_s=cfg.connect_timeout_s,
                    read_timeout_s=cfg.read_timeout_s,
                    still_private=_still_private(context.db()),
                    url_policy=UrlPolicy.from_settings(cfg),
                )
                ext["pantau_wall_slots"] = WallSlots(cfg.wall_max_walls)
                # producers own camera readers (FFmpeg threads): stop them before the
                # interpreter does, or a reader still running aborts the process at exit
                atexit.register(ext["pantau_wall_hub"].close)
    return ext["pantau_wall_hub"]


def wall_slots() -> WallSlots:
    staff_hub()
    return current_app.extensions["pantau_wall_slots"]


def _still_private(db):  # type: ignore[no-untyped-def]
    """For the staff hub's producers: the camera is still enabled and still not public (made
    public, its tiles must go through the public hub's blur)."""

    def check(code: str) -> bool:
        try:
            with db.session() as s:
                return bool(
                    s.scalar(
                        select(Camera.id).where(
                            Camera.code == code, Camera.is_public.is_(False), Camera.enabled
                        )
                    )
                )
        except Exception:  # the database is down: stop serving (fail closed)
            logger.exception("could not check camera %s for the wall", code)
            return False

    return check


def parse_codes(raw: object) -> list[str]:
    """Camera codes from ``A,B,C``: valid ones only, no repeats, at most :data:`MAX_TILES`."""
    if not isinstance(raw, str):
        return []
    codes: list[str] = []
    for part in raw[: 66 * MAX_TILES].split(","):
        code = part.strip()
        if CODE_RE.fullmatch(code) and code not in codes:
            codes.append(code)
        if len(codes) >= MAX_TILES:
            break
    return codes


def tile_fps(requested: object, tiles: int) -> float:
    """Frames per second per tile: what the wall asks, at most ``wall_stream_fps`` and, above
    four tiles, ``wall_tile_fps``; junk or nothing asks for the most."""
    cfg = context.settings()
    cap = cfg.wall_stream_fps if tiles <= 4 else min(cfg.wall_stream_fps, cfg.wall_tile_fps)
    try:
        fps = float(requested)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return cap
    if fps != fps or fps <= 0:  # NaN, zero, negative
        return cap
    return max(0.2, min(cap, fps))


def resolve_tiles(codes: list[str]) -> list[Tile]:
    """The wall tiles for ``codes`` (enabled cameras only, in the order asked): public cameras
    on the public hub (blurred), the others on the staff hub; each non-public one audited."""
    from dashboard.api import public

    if not codes:
        return []
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
                Camera.is_public,
            ).where(Camera.code.in_(codes), Camera.enabled.is_(True))
        ).all()
    by_code = {r.code: r for r in rows}
    tiles = []
    for code in codes:
        r = by_code.get(code)
        if r is None:
            continue
        cam = PublicCamera(*r[:8])
        if r.is_public:
            tiles.append(Tile(cam, public.hub()))
        else:
            auth.note_camera_view(code, "wall")
            tiles.append(Tile(cam, staff_hub()))
    return tiles


@bp.get("/live")
def live() -> Response:
    codes = parse_codes(request.args.get("codes"))
    if not codes:
        return _error(400, "codes: one to 16 camera codes, comma separated")
    tiles = resolve_tiles(codes)
    slots = wall_slots()
    if not slots.take():
        resp = _error(503, "too many walls streaming, try again shortly")
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        return resp
    body = WallStream(
        tiles,
        fps=tile_fps(request.args.get("fps"), len(tiles)),
        max_seconds=context.settings().wall_stream_max_seconds,
        on_close=slots.give_back,
    )
    # codes asked for but unknown or disabled: said once, at the start
    missing = [c for c in codes if c not in {t.camera.code for t in tiles}]
    resp = Response(
        _with_missing(body, missing), mimetype=f"multipart/mixed; boundary={WALL_BOUNDARY}"
    )
    resp.call_on_close(body.close)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return resp


def _with_missing(body: WallStream, missing: list[str]):  # type: ignore[no-untyped-def]
    from dashboard.wall_hub import wall_part

    if missing:
        yield b"".join(wall_part(code, "gone") for code in missing)
    yield from body


@bp.get("/snapshot/<code>.jpg")
def snapshot(code: str) -> Response:
    if not CODE_RE.fullmatch(code):
        return _error(404, "not found")
    tiles = resolve_tiles([code])
    if not tiles:
        return _error(404, "not found")
    tile = tiles[0]
    jpeg = tile.hub.snapshot(tile.camera)
    resp = Response(jpeg or tile.hub.placeholder, mimetype="image/jpeg")
    if jpeg is None:
        resp.headers["X-Pantau-Placeholder"] = "1"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _error(status: int, message: str) -> Response:
    resp = jsonify(error=message)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp
