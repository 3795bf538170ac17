"""Public and gateway intake endpoints for E-Lapor, and the per-IP rate limiter they share.

* ``POST /api/sms`` - SMS gateway webhook (token from ``PANTAU_SMS_WEBHOOK_TOKEN``; form or
  JSON; fields ``sender``/``from``, ``text``/``message``, ``message_id``/``id``, ``sent_at``).
* ``POST /api/lapor`` - a report as JSON or multipart (the web form's no-JavaScript twin and
  what the load benchmark drives); ``201 {"tracking_id": ...}``.
* ``GET /api/lapor/<tracking_id>`` - public status (never the reporter's identity).
* ``GET /api/pengaduan/foto/<name>`` - a stored complaint photo, for staff pages.
* ``GET /api/pengaduan/heatmap.geojson`` - the server-side aggregated heatmap as GeoJSON.

Rate limits answer ``429`` with ``Retry-After``. The limiter keeps its counters in process
memory (one waitress process serves Pantau on one machine); behind several processes put the
limit in the reverse proxy as well.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from sqlalchemy import select

from dashboard import context
from dashboard.i18n import current_lang
from store.complaints import (
    ComplaintService,
    NewComplaint,
    ValidationError,
    category_label,
    find_by_tracking_id,
    public_history,
    status_label,
)
from store.models import ComplaintChannel, Opd, PrivacyMode

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_complaints_intake", __name__)


# --------------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------------
class RateLimiter:
    """Fixed-window counters per key: ``hit(key)`` -> (allowed, seconds until the window ends)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> tuple[bool, int]:
        if self.limit <= 0:
            return True, 0
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._hits.get(key, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            retry = max(1, math.ceil(start + self.window_s - now))
            if count >= self.limit:
                return False, retry
            self._hits[key] = (start, count + 1)
            if len(self._hits) > 50_000:  # forget finished windows
                self._hits = {k: v for k, v in self._hits.items() if now - v[0] < self.window_s}
            return True, retry


def client_ip() -> str:
    return request.remote_addr or "unknown"


def limiter(name: str) -> RateLimiter:
    """The app's limiter for ``name`` ('submit' or 'lookup'), created from settings."""
    store = current_app.extensions.setdefault("pantau_rate_limits", {})
    if name not in store:
        cfg = context.settings()
        if name == "submit":
            store[name] = RateLimiter(cfg.complaint_submit_limit, cfg.complaint_submit_window_s)
        else:
            store[name] = RateLimiter(cfg.complaint_lookup_limit, 60)
    return store[name]


def check_rate(name: str) -> int | None:
    """None when allowed, else the Retry-After seconds."""
    allowed, retry = limiter(name).hit(client_ip())
    return None if allowed else retry


def too_many(retry_after: int, lang: str | None = None) -> Response:
    lang = lang or current_lang()
    text = (
        f"Terlalu banyak permintaan. Coba lagi dalam {retry_after} detik."
        if lang != "en"
        else f"Too many requests. Try again in {retry_after} seconds."
    )
    response = jsonify(error="rate_limited", message=text, retry_after=retry_after)
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    return response


def service() -> ComplaintService:
    """The app's complaint service (one per app)."""
    ext = current_app.extensions
    svc = ext.get("pantau_complaints")
    if svc is None:
        svc = ext["pantau_complaints"] = ComplaintService(context.db(), context.settings())
    return svc


# --------------------------------------------------------------------------------------------
# Strict types of public fields (a JSON body can carry lists, objects, booleans anywhere)
# --------------------------------------------------------------------------------------------
class FieldTypeError(ValueError):
    """A field of a public request with the wrong JSON type; names the field."""

    def __init__(self, field: str, expected: str) -> None:
        self.field, self.expected = field, expected
        super().__init__(f"{field}: must be {expected}")

    def message(self, lang: str) -> str:
        words = {"text": "teks", "a number": "angka", "text or a number": "teks atau angka"}
        if lang == "en":
            return f"must be {self.expected}"
        return f"harus berupa {words.get(self.expected, self.expected)}"


def text_field(data, name: str) -> str | None:  # type: ignore[no-untyped-def]
    """``data[name]`` if it is text (or absent/null); FieldTypeError for anything else."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise FieldTypeError(name, "text")


def number_field(data, name: str) -> float | str | None:  # type: ignore[no-untyped-def]
    """``data[name]`` if it is a JSON number or text (a form sends numbers as text)."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise FieldTypeError(name, "a number")


def scalar_field(data, name: str) -> str | None:  # type: ignore[no-untyped-def]
    """Text or a number (ids and times gateways send either way), as text; never a list."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise FieldTypeError(name, "text or a number")


def type_error_response(exc: FieldTypeError, lang: str) -> Response:
    response = jsonify(
        error="invalid",
        message=f"{exc.field}: {exc.message('en')}",
        errors={exc.field: exc.message(lang)},
    )
    response.status_code = 400
    return response


# --------------------------------------------------------------------------------------------
# SMS gateway
# --------------------------------------------------------------------------------------------
def _first(data, *names: str) -> str | None:
    for name in names:
        value = scalar_field(data, name)
        if value not in (None, ""):
            return str(value)
    return None


def parse_time(raw: str | None) -> datetime | None:
    """ISO-8601 (with or without zone; naive means UTC) or Unix seconds/milliseconds."""
    if not raw:
        return None
    raw = raw.strip()
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None:
        if number > 1e12:
            number /= 1000.0
        return datetime.fromtimestamp(number, UTC)
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.post("/api/sms")
def sms_webhook():
    cfg = context.settings()
    if not cfg.sms_webhook_token:
        return jsonify(error="disabled", message="SMS webhook is not configured"), 404
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data if isinstance(data, dict) or hasattr(data, "get") else {}
    try:  # a body token of the wrong type (a list, true) is wrong, even beside a good header
        body_token = _first(data, "token")
    except FieldTypeError:
        return jsonify(error="forbidden", message="invalid token"), 403
    token = request.headers.get("X-Pantau-Token") or body_token or ""
    if not hmac.compare_digest(token.encode(), cfg.sms_webhook_token.encode()):
        return jsonify(error="forbidden", message="invalid token"), 403
    try:
        sender = _first(data, "sender", "from", "msisdn", "phone")
        text = next(
            (v for n in ("text", "message", "body", "content") if (v := text_field(data, n))), None
        )
        message_id = _first(data, "message_id", "messageId", "id", "sms_id")
        sent_at = _first(data, "sent_at", "time", "timestamp", "received_at")
    except FieldTypeError as exc:
        return type_error_response(exc, "en")
    missing = [
        n for n, v in (("sender", sender), ("text", text), ("message_id", message_id)) if not v
    ]
    if missing:
        return jsonify(error="bad_request", message=f"missing fields: {', '.join(missing)}"), 400
    try:
        received = parse_time(sent_at)
    except (ValueError, OverflowError, OSError):
        return jsonify(error="bad_request", message="time must be ISO-8601 or Unix seconds"), 400
    from ingestion.sms import SmsIntake

    try:
        result = SmsIntake(service()).receive(
            message_id=message_id, sender=sender, text=text, received_at=received
        )
    except ValueError as exc:
        return jsonify(error="bad_request", message=str(exc)), 400
    return jsonify(status=result.status, sms_id=result.sms_id, tracking_id=result.tracking_id)


# --------------------------------------------------------------------------------------------
# Public intake and status
# --------------------------------------------------------------------------------------------
@bp.post("/api/lapor")
def submit_report():
    retry = check_rate("submit")
    if retry is not None:
        return too_many(retry)
    lang = current_lang()
    data = request.get_json(silent=True) if request.is_json else request.form
    if not hasattr(data, "get"):
        return jsonify(error="bad_request", message="JSON object or form expected"), 400
    photo = request.files.get("photo")
    try:
        report = NewComplaint(
            category=text_field(data, "category"),
            description=text_field(data, "description"),
            lat=number_field(data, "lat"),
            lon=number_field(data, "lon"),
            address=text_field(data, "address"),
            title=text_field(data, "title"),
            privacy=text_field(data, "privacy") or PrivacyMode.NORMAL,
            reporter_name=text_field(data, "name"),
            reporter_contact=text_field(data, "contact"),
            channel=ComplaintChannel.WEB,
            photo=photo.read() if photo else None,
        )
    except FieldTypeError as exc:
        return type_error_response(exc, lang)
    try:
        if photo is not None and photo.filename and not report.photo:
            # a chosen file that holds nothing: said, never dropped without a word
            raise ValidationError({"photo": ("photo_corrupt", {})})
        result = service().submit(report)
    except ValidationError as exc:
        status = 413 if _photo_too_big(exc) else 400
        return jsonify(error="invalid", errors=exc.messages(lang)), status
    c = result.complaint
    return jsonify(tracking_id=c.tracking_id, status=c.status), 201


def _photo_too_big(exc: ValidationError) -> bool:
    """Only the photo is wrong, and it is over the byte or pixel limit: 413."""
    return set(exc.errors) == {"photo"} and exc.errors["photo"][0] in (
        "photo_large",
        "photo_pixels",
    )


def public_status(session, complaint, lang: str) -> dict:
    """What anyone holding the tracking ID may see. Confidential: status only."""
    out = {
        "tracking_id": complaint.tracking_id,
        "status": complaint.status,
        "status_label": status_label(complaint.status, lang),
        "created_at": complaint.created_at.isoformat(),
        "updated_at": complaint.updated_at.isoformat(),
    }
    if complaint.privacy == PrivacyMode.CONFIDENTIAL:
        return out
    opd = session.get(Opd, complaint.opd_id) if complaint.opd_id else None
    out.update(
        category=complaint.category,
        category_label=category_label(complaint.category, lang),
        description=complaint.description,
        address=complaint.address,
        lat=complaint.lat,
        lon=complaint.lon,
        opd=opd.name if opd else None,
        history=[
            {"ts": e["ts"].isoformat(), "status": e["status"], "note": e["note"]}
            for e in public_history(session, complaint)
        ],
    )
    return out


@bp.get("/api/lapor/<tracking_id>")
def report_status(tracking_id: str):
    retry = check_rate("lookup")
    if retry is not None:
        return too_many(retry)
    lang = current_lang()
    with context.db().session() as s:
        c = find_by_tracking_id(s, tracking_id)
        if c is None:
            msg = "Laporan tidak ditemukan." if lang != "en" else "Report not found."
            return jsonify(error="not_found", message=msg), 404
        return jsonify(public_status(s, c, lang))


# --------------------------------------------------------------------------------------------
# Staff: photos and the heatmap as GeoJSON
# --------------------------------------------------------------------------------------------
@bp.get("/api/pengaduan/foto/<path:name>")
def complaint_photo(name: str):
    if not name.startswith("complaints/") or ".." in name:
        return jsonify(error="not_found"), 404
    response = send_from_directory(context.settings().upload_dir, name, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/api/pengaduan/heatmap.geojson")
def heatmap_geojson():
    from dashboard.queries import complaints as q

    args = request.args
    try:
        days = int(args.get("days", 30))
        cell = float(args.get("cell", 0.005))
    except ValueError:
        return jsonify(error="bad_request", message="days and cell must be numbers"), 400
    if not (1 <= days <= 3660 and 0.0005 <= cell <= 1):
        return jsonify(error="bad_request", message="days 1..3660, cell 0.0005..1 degrees"), 400
    with context.db().session() as s:
        cells = q.heatmap_cells(
            s,
            days=days,
            category=args.get("category") or None,
            view=args.get("view", "live"),
            cell_deg=cell,
        )
    return jsonify(q.cells_geojson(cells, cell))


@bp.get("/api/pengaduan/opd")
def opd_list():
    with context.db().session() as s:
        rows = s.execute(select(Opd.id, Opd.code, Opd.short_name).order_by(Opd.code)).all()
    return jsonify([{"id": r.id, "code": r.code, "name": r.short_name} for r in rows])
