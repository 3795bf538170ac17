"""URL and body templates of HTTP channels (Telegram bot, WhatsApp gateway...): ``$field``
substitution of a fixed list of fields, nothing else.

Templates are :class:`string.Template` strings: ``$title`` or ``${title}`` is replaced by the
message's value, ``$$`` is a dollar sign. There are no expressions, attribute lookups, filters
or calls, so a template cannot run code: ``${__import__('os')}`` is not a placeholder at all
and ``$__class__`` is not a known field; both are refused when the channel is saved
(:func:`check`). Values are escaped for where they go: URL-encoded in a URL, JSON-escaped in a
JSON body, form-encoded in a form body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from string import Template
from typing import Any
from urllib.parse import quote, quote_plus

#: The fields a template may use, with what they hold.
FIELDS: dict[str, str] = {
    "title": "title with level, e.g. [SIAGA] Genangan 62% di Simpang Charitas",
    "text": "the whole Indonesian message (several lines)",
    "label": "SIAGA / WASPADA / INFO (or the alert's level)",
    "severity": "info, warning or critical",
    "level": "the alert's level (waspada, siaga, awas) or empty",
    "rule": "rule kind, e.g. flood_coverage",
    "event": "event type, e.g. alert.opened",
    "place": "camera or sensor name",
    "location": "address and kecamatan",
    "time": "time of the event in local time, e.g. 29 Nov 2026 19:05 WIB",
    "url": "link to the alert's page",
    "alert_id": "the alert's id",
    "delivery_id": "idempotency key of this delivery (X-Pantau-Delivery)",
}
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
CONTENT_TYPES = (*JSON_TYPES, FORM_TYPE, "text/plain")


class TemplateError(ValueError):
    """A template that uses anything but ``$field`` of :data:`FIELDS`."""


def check(template: str, what: str = "template") -> None:
    tpl = Template(template)
    if not tpl.is_valid():
        raise TemplateError(
            f"{what}: only $field or ${{field}} placeholders are allowed (write $$ for a "
            f"dollar sign); known fields: {', '.join(FIELDS)}"
        )
    unknown = sorted(set(tpl.get_identifiers()) - set(FIELDS))
    if unknown:
        raise TemplateError(
            f"{what}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(FIELDS)}"
        )


def values(payload: dict[str, Any]) -> dict[str, str]:
    """The template fields of an outbox payload, as strings."""
    place = payload.get("place") or {}
    loc = ", ".join(
        p
        for p in (place.get("address"), place.get("kecamatan") and f"Kec. {place['kecamatan']}")
        if p
    )
    alert = payload.get("alert") or {}
    raw = {
        "title": payload.get("title"),
        "text": payload.get("text"),
        "label": payload.get("label"),
        "severity": payload.get("severity"),
        "level": payload.get("level"),
        "rule": payload.get("rule"),
        "event": payload.get("event"),
        "place": place.get("name") or place.get("code"),
        "location": loc,
        "time": payload.get("time"),
        "url": payload.get("url"),
        "alert_id": alert.get("id"),
        "delivery_id": payload.get("delivery_id"),
    }
    return {k: "" if v is None else str(v) for k, v in raw.items()}


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def escaper(content_type: str) -> Callable[[str], str]:
    if content_type in JSON_TYPES:
        return _json_escape
    if content_type == FORM_TYPE:
        return quote_plus
    return str


def render(template: str, fields: dict[str, str], escape: Callable[[str], str] = str) -> str:
    """Substitute the known fields (escaped); anything else stays as written."""
    return Template(template).safe_substitute({k: escape(v) for k, v in fields.items()})


def render_url(template: str, fields: dict[str, str]) -> str:
    return render(template, fields, lambda v: quote(v, safe=""))


def sample_fields() -> dict[str, str]:
    """Values to try a template with when it is saved."""
    return {k: f'contoh "{k}" & $x' for k in FIELDS}
