"""Open311 GeoReport v2 under ``/open311/v2/`` (JSON and XML).

Implements the six methods of the specification (https://wiki.open311.org/GeoReport_v2):
discovery, GET services, GET a service definition, POST a request (``api_key`` from
``PANTAU_OPEN311_API_KEYS``), GET requests (filters ``service_request_id``, ``service_code``,
``start_date``, ``end_date``, ``status``; 90-day default window; at most 1000 results) and GET
a request by id. Requests are created synchronously, so no token resource is needed (GET
``tokens/<id>`` answers 404, as the spec allows for servers that never return tokens).

Pantau's statuses map onto ``open`` (new, verified, dispatched, in_progress) and ``closed``
(resolved, closed, rejected, duplicate); ``status_notes`` carries the detailed status.
Confidential reports never appear; anonymous ones (like all others) never carry identity.
Errors are ``[{"code": ..., "description": ...}]`` (``<errors><error>`` in XML).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, json, request, url_for
from sqlalchemy import select

from dashboard import context
from dashboard.api.intake import (
    FieldTypeError,
    check_rate,
    client_ip,
    limiter,
    number_field,
    service,
    text_field,
)
from store.complaints import (
    CATEGORIES,
    OPEN_STATUSES,
    NewComplaint,
    ValidationError,
    category_label,
    status_label,
)
from store.models import Complaint, ComplaintChannel, ComplaintStatus, Opd, PrivacyMode

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_open311", __name__, url_prefix="/open311")

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
CLOSED_STATUSES = (
    ComplaintStatus.RESOLVED,
    ComplaintStatus.CLOSED,
    ComplaintStatus.REJECTED,
    ComplaintStatus.DUPLICATE,
)
#: POST fields that must be text when present (lat and long may be numbers).
TEXT_FIELDS = (
    "service_code",
    "address_string",
    "address_id",
    "attribute[privacy]",
    "first_name",
    "last_name",
    "phone",
    "email",
    "media_url",
    "description",
    "device_id",
    "account_id",
)
DEFAULT_WINDOW_DAYS = 90
MAX_RESULTS = 1000
PRIVACY_VALUES = [
    (PrivacyMode.NORMAL, "Normal"),
    (PrivacyMode.ANONYMOUS, "Anonymous: identity hidden"),
    (PrivacyMode.CONFIDENTIAL, "Confidential: report not public"),
]


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description
        super().__init__(description)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def iso(ts: datetime | None) -> str | None:
    """ISO-8601 with the city's offset, e.g. 2026-11-23T14:05:00+07:00."""
    if ts is None:
        return None
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo(context.settings().timezone)).isoformat(timespec="seconds")


#: Characters XML 1.0 does not allow (control characters other than tab, LF, CR; surrogates;
#: U+FFFE/U+FFFF). A request's own text echoed in an error (``service_code '\x01' not found``)
#: would otherwise make the whole answer unreadable to an XML parser.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """``value`` as text an XML 1.0 document may hold (forbidden characters dropped)."""
    return _NOT_XML.sub("", str(value))


def _xml_value(parent: ET.Element, key: str, value: Any, item_tag: str | None = None) -> None:
    el = ET.SubElement(parent, key)
    if value is None:
        return
    if isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, list):
        tag = item_tag or key.rstrip("s")
        for item in value:
            if isinstance(item, dict):
                child = ET.SubElement(el, tag)
                for k, v in item.items():
                    _xml_value(child, k, v)
            else:
                ET.SubElement(el, tag).text = xml_text(item)
    else:
        el.text = xml_text(value)


def render(payload: Any, fmt: str, root: str, item: str, status: int = 200) -> Response:
    """A list of dicts (or one dict) as JSON, or as XML ``<root><item>...</item></root>``."""
    if fmt == "xml":
        top = ET.Element(root)
        items = payload if isinstance(payload, list) else [payload]
        for obj in items:
            node = ET.SubElement(top, item) if isinstance(payload, list) else top
            for k, v in obj.items():
                _xml_value(node, k, v, ITEM_TAGS.get(k))
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
        body = body.replace(b"<?xml version='1.0' encoding='utf-8'?>\n", b"")
        return Response(body, status=status, content_type=FORMATS["xml"])
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, content_type=FORMATS["json"]
    )


ITEM_TAGS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute"}


def error(fmt: str, status: int, description: str) -> Response:
    return render([{"code": status, "description": description}], fmt, "errors", "error", status)


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format '{fmt}' not supported; use json or xml")
    return fmt


@bp.errorhandler(Open311Error)
def _handle(exc: Open311Error):
    fmt = request.path.rsplit(".", 1)[-1] if "." in request.path else "json"
    return error(fmt if fmt in FORMATS else "json", exc.status, exc.description)


def _rate(kind: str, fmt: str) -> Response | None:
    retry = check_rate(kind)
    if retry is None:
        return None
    resp = error(fmt, 429, f"rate limit exceeded; retry after {retry} seconds")
    resp.headers["Retry-After"] = str(retry)
    return resp


# --------------------------------------------------------------------------------------------
# Discovery and services
# --------------------------------------------------------------------------------------------
@bp.get("/discovery.<fmt>")
@bp.get("/v2/discovery.<fmt>")
def discovery(fmt: str):
    fmt = _fmt(fmt)
    cfg = context.settings()
    base = url_for("pantau_open311.services", fmt="json", _external=True).rsplit("/", 1)[0]
    payload = {
        "changeset": "2026-11-23T00:00:00+07:00",
        "contact": f"{cfg.command_center_name}, {cfg.city_name}",
        "key_service": f"API keys are issued by {cfg.command_center_name}.",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-23T00:00:00+07:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    if fmt == "json":
        return render(payload, fmt, "discovery", "discovery")
    return render(payload, fmt, "discovery", "discovery")


def _service_rows(session) -> list[dict[str, Any]]:
    routing: dict[str, str] = {}
    for opd in session.scalars(select(Opd).order_by(Opd.id)):
        for cat in opd.categories or []:
            routing.setdefault(cat, opd.short_name)
    rows = []
    for code, (name_id, name_en) in CATEGORIES.items():
        rows.append(
            {
                "service_code": code,
                "service_name": name_id,
                "description": f"{name_en}. OPD: {routing.get(code, 'Command Center')}",
                "metadata": True,
                "type": "realtime",
                "keywords": f"{code}, {name_en.lower()}",
                "group": routing.get(code, "Command Center"),
            }
        )
    return rows


@bp.get("/v2/services.<fmt>")
def services(fmt: str):
    fmt = _fmt(fmt)
    if (limited := _rate("lookup", fmt)) is not None:
        return limited
    with context.db().session() as s:
        return render(_service_rows(s), fmt, "services", "service")


@bp.get("/v2/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    fmt = _fmt(fmt)
    if code not in CATEGORIES:
        raise Open311Error(404, f"service_code '{code}' not found")
    payload = {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": "privacy",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "normal, anonymous or confidential",
                "order": 1,
                "description": "Privacy of the report (default normal).",
                "values": [{"key": str(k), "name": n} for k, n in PRIVACY_VALUES],
            }
        ],
    }
    if fmt == "xml":
        top = ET.Element("service_definition")
        ET.SubElement(top, "service_code").text = code
        attrs = ET.SubElement(top, "attributes")
        for a in payload["attributes"]:
            node = ET.SubElement(attrs, "attribute")
            for k, v in a.items():
                if k == "values":
                    vals = ET.SubElement(node, "values")
                    for item in v:
                        val = ET.SubElement(vals, "value")
                        ET.SubElement(val, "key").text = item["key"]
                        ET.SubElement(val, "name").text = item["name"]
                else:
                    _xml_value(node, k, v)
        body = (
            b'<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(top, encoding="unicode").encode()
        )
        return Response(body, content_type=FORMATS["xml"])
    return render(payload, fmt, "service_definition", "service_definition")


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------
def _request_row(c: Complaint, opd_names: dict[int, str]) -> dict[str, Any]:
    open_ = c.status in OPEN_STATUSES
    expected = (
        c.dispatch_due
        if c.status in (ComplaintStatus.NEW, ComplaintStatus.VERIFIED)
        else (c.followup_due if c.status == ComplaintStatus.DISPATCHED else None)
    )
    return {
        "service_request_id": c.tracking_id,
        "status": "open" if open_ else "closed",
        "status_notes": status_label(c.status, "id"),
        "service_name": category_label(c.category, "id"),
        "service_code": c.category,
        "description": c.description,
        "agency_responsible": opd_names.get(c.opd_id) if c.opd_id else None,
        "service_notice": None,
        "requested_datetime": iso(c.created_at),
        "updated_datetime": iso(c.updated_at),
        "expected_datetime": iso(expected),
        "address": c.address,
        "address_id": None,
        "zipcode": None,
        "lat": c.lat,
        "long": c.lon,
        "media_url": None,
    }


def _opd_names(session) -> dict[int, str]:
    return dict(session.execute(select(Opd.id, Opd.name)).all())


def parse_w3c(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise Open311Error(
            400, f"{name} must be a W3C date/time, e.g. 2026-11-01T00:00:00Z"
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@bp.get("/v2/requests.<fmt>")
def list_requests(fmt: str):
    fmt = _fmt(fmt)
    if (limited := _rate("lookup", fmt)) is not None:
        return limited
    args = request.args
    public = Complaint.privacy != PrivacyMode.CONFIDENTIAL
    q = select(Complaint).where(public)
    ids = [i.strip() for i in (args.get("service_request_id") or "").split(",") if i.strip()]
    if ids:  # the spec: service_request_id overrides every other parameter
        q = q.where(Complaint.tracking_id.in_(ids[:MAX_RESULTS]))
    else:
        codes = [c.strip() for c in (args.get("service_code") or "").split(",") if c.strip()]
        unknown = [c for c in codes if c not in CATEGORIES]
        if unknown:
            raise Open311Error(400, f"service_code not found: {', '.join(unknown)}")
        if codes:
            q = q.where(Complaint.category.in_(codes))
        statuses = [x.strip().lower() for x in (args.get("status") or "").split(",") if x.strip()]
        bad = [x for x in statuses if x not in ("open", "closed")]
        if bad:
            raise Open311Error(400, "status must be open or closed")
        wanted: list[str] = []
        if "open" in statuses:
            wanted += list(OPEN_STATUSES)
        if "closed" in statuses:
            wanted += [str(x) for x in CLOSED_STATUSES]
        if statuses:
            q = q.where(Complaint.status.in_(wanted))
        now = datetime.now(UTC)
        start = parse_w3c(args["start_date"], "start_date") if args.get("start_date") else None
        end = parse_w3c(args["end_date"], "end_date") if args.get("end_date") else None
        if start and end and start > end:
            raise Open311Error(400, "start_date must be before end_date")
        if start and end and end - start > timedelta(days=DEFAULT_WINDOW_DAYS):
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
        if start is None and end is None:
            end = now
            start = now - timedelta(days=DEFAULT_WINDOW_DAYS)
        elif start is None:
            start = end - timedelta(days=DEFAULT_WINDOW_DAYS)
        elif end is None:
            end = start + timedelta(days=DEFAULT_WINDOW_DAYS)
        q = q.where(Complaint.created_at >= start, Complaint.created_at <= end)
    q = q.order_by(Complaint.created_at.desc()).limit(MAX_RESULTS)
    with context.db().session() as s:
        names = _opd_names(s)
        rows = [_request_row(c, names) for c in s.scalars(q)]
    return render(rows, fmt, "service_requests", "request")


@bp.get("/v2/requests/<request_id>.<fmt>")
def get_request(request_id: str, fmt: str):
    fmt = _fmt(fmt)
    if (limited := _rate("lookup", fmt)) is not None:
        return limited
    with context.db().session() as s:
        c = s.scalar(
            select(Complaint).where(
                Complaint.tracking_id == request_id,
                Complaint.privacy != PrivacyMode.CONFIDENTIAL,
            )
        )
        if c is None:
            raise Open311Error(404, f"service_request_id '{request_id}' not found")
        row = _request_row(c, _opd_names(s))
    return render([row], fmt, "service_requests", "request")


@bp.get("/v2/tokens/<token>.<fmt>")
def get_token(token: str, fmt: str):
    fmt = _fmt(fmt)
    raise Open311Error(404, "requests are created synchronously; no tokens are issued")


@bp.post("/v2/requests.<fmt>")
def post_request(fmt: str):
    fmt = _fmt(fmt)
    form = request.form if request.form else (request.get_json(silent=True) or {})
    if not hasattr(form, "get"):
        raise Open311Error(400, "form-encoded parameters expected")
    keys = {k.strip() for k in context.settings().open311_api_keys.split(",") if k.strip()}
    sent = form.get("api_key")  # a JSON body's api_key of another type is wrong, not absent
    api_key = sent if sent is not None and not isinstance(sent, str) else None
    api_key = api_key if api_key is not None else (sent or request.args.get("api_key") or "")
    if not isinstance(api_key, str) or not api_key or api_key not in keys:
        raise Open311Error(403, "api_key was not provided or is invalid")
    if (limited := _rate("submit", fmt)) is not None:
        return limited
    try:  # a JSON body can hold lists and objects anywhere: text (lat/long: numbers) only
        for field in TEXT_FIELDS:
            text_field(form, field)
        for field in ("lat", "long"):
            number_field(form, field)
    except FieldTypeError as exc:
        raise Open311Error(400, str(exc)) from None
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    if code not in CATEGORIES:
        raise Open311Error(400, f"service_code '{code}' not found")
    lat, lon = form.get("lat"), form.get("long")
    address = form.get("address_string") or form.get("address_id")
    if not (lat and lon) and not address:
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    privacy = form.get("attribute[privacy]") or PrivacyMode.NORMAL
    name = " ".join(x for x in (form.get("first_name"), form.get("last_name")) if x) or None
    contact = form.get("phone") or form.get("email") or None
    media = form.get("media_url")
    description = form.get("description") or ""
    if media:
        description = f"{description}\n\nFoto: {media}".strip()
    try:
        result = service().submit(
            NewComplaint(
                category=code,
                description=description,
                lat=lat or None,
                lon=lon or None,
                address=address,
                privacy=privacy,
                reporter_name=name,
                reporter_contact=contact,
                channel=ComplaintChannel.OPEN311,
            ),
            actor=f"open311:{api_key[:6]}…",
        )
    except ValidationError as exc:
        return render(
            [
                {"code": 400, "description": f"{field}: {text}"}
                for field, text in exc.messages("en").items()
            ],
            fmt,
            "errors",
            "error",
            400,
        )
    logger.info("open311 request %s from %s", result.complaint.tracking_id, client_ip())
    c = result.complaint
    notice = "Laporan diterima; diverifikasi dan diteruskan ke OPD dalam 3 hari kerja."
    return render(
        [{"service_request_id": c.tracking_id, "service_notice": notice, "account_id": None}],
        fmt,
        "service_requests",
        "request",
        201,
    )


__all__ = ["bp", "limiter"]
