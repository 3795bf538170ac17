"""Sensor readings over HTTP: ``POST /api/sensors/readings`` for sensor gateways.

The body is the MQTT payload (``ingestion/sensors.py``): one reading object or a JSON list of
up to 1000, ``Content-Type: application/json``, at most 256 KiB. Machine-to-machine: an API key
from ``PANTAU_SENSOR_API_KEYS`` in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (no
session, no CSRF/Origin check; signed-in staff get nothing without a key). Answers:

* ``200`` ``{"accepted": [...], "rejected": [...], "written": n, "duplicates": n, "alerts": [...]}``
  when at least one reading was accepted. Everything in ``accepted`` is committed (a reading
  already stored, same sensor and ts, is accepted again and counted in ``duplicates``);
  ``rejected`` items (``index`` in the payload, ``reason``) will not succeed when re-sent as is.
* ``422`` with the same body when every item was rejected.
* ``400`` not JSON / not a reading or list; ``401`` no or wrong key; ``413`` body over 256 KiB
  or more than 1000 readings; ``415`` not ``application/json``; ``429`` + ``Retry-After`` over
  ``PANTAU_SENSOR_RATE_LIMIT`` requests a minute for the key; ``503`` (+ ``Retry-After``) no key
  configured or the database is unreachable: nothing of that request was stored, send it again.

One code path with MQTT: ``ingestion.sensors.ingest_readings`` (same validation, idempotent
writes, the same waspada/siaga alerts).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context
from dashboard.api.intake import RateLimiter, client_ip, too_many
from ingestion.sensors import (
    MAX_PAYLOAD_BYTES,
    IngestResult,
    InvalidReading,
    PayloadTooLarge,
    decode_payload,
    ingest_readings,
)

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_sensors_api", __name__)

PATH = "/api/sensors/readings"
REALM = 'Bearer realm="pantau-sensors"'
AUTH_FAILURES_PER_MINUTE = 30  # per client IP, against key guessing
DB_RETRY_AFTER_S = 10


def _error(status: int, error: str, message: str, **headers: str) -> Response:
    response = jsonify(error=error, message=message)
    response.status_code = status
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def _limiter(name: str, limit: int, window_s: float) -> RateLimiter:
    """The app's limiter ``name`` (kept beside the complaint intake's limiters)."""
    store = current_app.extensions.setdefault("pantau_rate_limits", {})
    if name not in store:
        store[name] = RateLimiter(limit, window_s)
    return store[name]


def configured_keys() -> list[bytes]:
    """SHA-256 digests of the configured keys (fixed length: the comparison leaks nothing)."""
    raw = context.settings().sensor_api_keys
    return [hashlib.sha256(k.strip().encode()).digest() for k in raw.split(",") if k.strip()]


def sent_key() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    return request.headers.get("X-API-Key", "").strip() or None


def key_matches(sent: str, keys: list[bytes]) -> bool:
    """Constant-time check of ``sent`` against every key (no early exit)."""
    digest = hashlib.sha256(sent.encode()).digest()
    found = False
    for key in keys:
        found |= hmac.compare_digest(digest, key)
    return found


def _unauthorized(message: str) -> Response:
    allowed, retry = _limiter("sensor_auth_failures", AUTH_FAILURES_PER_MINUTE, 60).hit(client_ip())
    if not allowed:
        return too_many(retry, "en")
    return _error(401, "unauthorized", message, WWW_Authenticate=REALM)


def result_body(res: IngestResult) -> dict:
    return {
        "accepted": [
            {
                "index": a.index,
                "sensor": a.sensor,
                "ts": a.ts.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "value": a.value,
            }
            for a in res.items
        ],
        "rejected": [
            {"index": r.index, "sensor": r.sensor, "reason": r.reason} for r in res.rejected
        ],
        "written": res.written,
        "duplicates": res.duplicates,
        "alerts": [
            {
                "sensor": a.subject_id,
                "rule": a.rule,
                "severity": a.severity,
                "level": a.level,
                "title": a.title,
                "value": a.value,
                "open": a.ended_at is None,
            }
            for a in res.alerts
        ],
    }


@bp.post(PATH)
def post_readings():
    keys = configured_keys()
    if not keys:
        logger.warning("POST %s refused: PANTAU_SENSOR_API_KEYS is not set", PATH)
        return _error(
            503,
            "not_configured",
            "The sensor HTTP intake has no API keys configured (PANTAU_SENSOR_API_KEYS); "
            "nothing was stored.",
        )
    key = sent_key()
    if key is None:
        return _unauthorized("API key required: 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
    if not key_matches(key, keys):
        logger.warning("POST %s with a wrong API key from %s", PATH, client_ip())
        return _unauthorized("invalid API key")
    key_id = hashlib.sha256(key.encode()).hexdigest()[:8]
    cfg = context.settings()
    allowed, retry = _limiter("sensor_readings", cfg.sensor_rate_limit, 60).hit(key_id)
    if not allowed:
        return too_many(retry, "en")
    if request.mimetype != "application/json":
        return _error(
            415,
            "unsupported_media_type",
            "Content-Type must be application/json",
            Accept="application/json",
        )
    if request.content_length is not None and request.content_length > MAX_PAYLOAD_BYTES:
        return _error(413, "too_large", f"body over {MAX_PAYLOAD_BYTES} bytes")
    raw = request.get_data(cache=True)  # already read (and depth-checked) by input_limits
    if len(raw) > MAX_PAYLOAD_BYTES:
        return _error(413, "too_large", f"body over {MAX_PAYLOAD_BYTES} bytes")
    try:
        items = decode_payload(raw)
    except PayloadTooLarge as exc:
        return _error(413, "too_large", str(exc))
    except InvalidReading as exc:
        return _error(400, "bad_request", str(exc))
    try:
        with context.db().session() as s:
            res = ingest_readings(s, items)
    except SQLAlchemyError as exc:  # rolled back: nothing of this request is stored
        logger.error("sensor readings from key %s not stored: %s", key_id, exc)
        return _error(
            503,
            "database_unavailable",
            "The database is unavailable; nothing from this request was stored. Send it again.",
            Retry_After=str(DB_RETRY_AFTER_S),
        )
    # committed: only now is anything acknowledged
    logger.info(
        "sensor readings from key %s: %d accepted (%d new), %d rejected, %d alert changes",
        key_id,
        res.accepted,
        res.written,
        len(res.rejected),
        len(res.alerts),
    )
    response = jsonify(result_body(res))
    response.status_code = 200 if res.accepted else 422
    return response
