"""Recorded evidence over HTTP, staff only (``/evidence`` is a staff route, dashboard/auth.py):

* ``GET /evidence/paket/<id>.zip``: the item's package for a hearing (store.evidence_export):
  custody "downloaded" and the audit log, with the manifest's SHA-256 in both;
* ``GET /evidence/rekaman/<id>/<file>``: one file of an item (the clip plays in the browser;
  Range requests answered), its SHA-256 in ``X-Content-SHA256``; the first request of a user
  for an item in ``VIEW_THROTTLE_S`` is logged as "viewed".

Files are never served to public pages: anything made public must go through the privacy blur
(analytics.privacy), which these routes do not do.
"""

from __future__ import annotations

import re
import threading
import time

from flask import Blueprint, Response, jsonify, request, send_file
from flask_login import current_user

from dashboard import auth, context
from store.evidence import EvidenceError, custody, file_path, get_item
from store.evidence_export import package_bytes
from store.models import CustodyAction, EvidenceItem

bp = Blueprint("pantau_evidence_items", __name__)

FILE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,60}$")
VIEW_THROTTLE_S = 600
_views: dict[tuple[str, int], float] = {}
_lock = threading.Lock()


def _user() -> str:
    return current_user.username if current_user.is_authenticated else "?"


def _first_view(item_id: int) -> bool:
    key, now = (_user(), item_id), time.monotonic()
    with _lock:
        if now - _views.get(key, -1e9) < VIEW_THROTTLE_S:
            return False
        if len(_views) > 20000:
            _views.clear()
        _views[key] = now
        return True


def note_view(item_id: int, via: str) -> None:
    """Custody + audit: the current user looked at an item (throttled per user and item)."""
    if not current_user.is_authenticated or not _first_view(item_id):
        return
    with context.db().session() as s:
        if s.get(EvidenceItem, item_id) is None:
            return
        custody(s, item_id, CustodyAction.VIEWED, _user(), ip=auth.client_ip(),
                detail={"via": via}, audit_too=True)  # fmt: skip


@bp.get("/evidence/paket/<int:item_id>.zip")
def package(item_id: int) -> Response:
    settings = context.settings()
    try:
        with context.db().session() as s:
            data, pkg = package_bytes(s, settings, item_id, actor=_user(),
                                      action=CustodyAction.DOWNLOADED, ip=auth.client_ip())  # fmt: skip
    except EvidenceError as exc:
        return jsonify(error=str(exc)), 404
    resp = Response(data, mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="bukti-{item_id:06d}.zip"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Manifest-SHA256"] = pkg.manifest_sha256
    return resp


@bp.get("/evidence/rekaman/<int:item_id>/<name>")
def item_file(item_id: int, name: str) -> Response:
    if not FILE_RE.match(name):
        return jsonify(error="not found"), 404
    settings = context.settings()
    with context.db().session() as s:
        try:
            item = get_item(s, item_id)
        except EvidenceError:
            return jsonify(error="not found"), 404
        match = [
            f for f in item.files if f.deleted_at is None and f.path.rsplit("/", 1)[-1] == name
        ]
        if not match:
            return jsonify(error="not found"), 404
        f = match[0]
        try:
            path = file_path(settings, f)
        except EvidenceError:
            return jsonify(error="not found"), 404
        mime, sha = f.mime, f.sha256
    if not path.is_file():
        return jsonify(error="not found"), 404
    if request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):
        note_view(item_id, f"file:{name}")
    resp = send_file(path, mimetype=mime, conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-SHA256"] = sha
    return resp
