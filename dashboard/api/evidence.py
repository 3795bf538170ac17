"""``/evidence/<name>``: evidence files for staff — the frame behind an alert
(``Alert.evidence_path``) and the camera snapshots attached to a report when it arrived
(``complaints/<tracking>-<camera>.jpg``, store.complaint_cameras).

Access: ``/evidence`` is a staff route in dashboard/auth.py (never public, never OPD). The name
is checked strictly and the resolved path never leaves ``settings.evidence_dir``. The response
carries the file's SHA-256 (``X-Content-SHA256``) so a copy can be checked against the record.
"""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, jsonify

from dashboard import context

bp = Blueprint("pantau_evidence", __name__)

NAME_RE = re.compile(r"^(?:complaints/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.jpg$")


@bp.get("/evidence/<path:name>")
def evidence(name: str) -> Response:
    if not NAME_RE.match(name) or ".." in name:
        return jsonify(error="not found"), 404
    root = context.settings().evidence_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return jsonify(error="not found"), 404
    data = path.read_bytes()
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "private, max-age=300"
    resp.headers["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return resp
