"""Plain Flask routes beside the Dash app: language switch and health check."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, jsonify, redirect, request
from sqlalchemy import func, select

from dashboard import context
from dashboard.i18n import LANG_COOKIE, LANGUAGES
from store.models import Camera, CameraStatus

bp = Blueprint("pantau_core", __name__)


def same_site_path(target: str | None) -> str:
    """``target`` if it is a same-site relative path, else ``/``: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc:
        return "/"
    return target


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in LANGUAGES:
        return jsonify(error=f"unknown language {code!r}", languages=list(LANGUAGES)), 404
    response = redirect(
        same_site_path(
            request.args.get("next") or (request.referrer and urlparse(request.referrer).path)
        )
    )
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=365 * 86400,
        samesite="Lax",
        httponly=False,
        secure=context.settings().secure_cookies,
    )
    return response


@bp.get("/healthz")
def healthz():
    """Liveness and readiness for load balancers and monitoring."""
    try:
        with context.db().session() as s:
            total = s.scalar(select(func.count()).select_from(Camera)) or 0
            online = (
                s.scalar(
                    select(func.count())
                    .select_from(Camera)
                    .where(Camera.status == CameraStatus.ONLINE)
                )
                or 0
            )
    except Exception as exc:  # the database is down: say so, with 503
        return jsonify(status="error", database="unreachable", detail=type(exc).__name__), 503
    return jsonify(status="ok", database="ok", cameras=total, cameras_online=online)
