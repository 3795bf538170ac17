"""Per-agency API keys on the ``/api/v1/...`` machine APIs (incidents, OPD indicators).

Every route under ``/api/v1`` is a machine API: the session guard lets it through (no session,
no Origin check) and the route itself calls :func:`require_key`, which answers

* ``401`` (+ ``WWW-Authenticate``) no key, an unknown or a revoked key — at most
  ``AUTH_FAILURES_PER_MINUTE`` such answers per client address a minute, then ``429``;
* ``403`` the key holds no scope of the API's area (e.g. an indicators-only key on incidents);
* ``429`` + ``Retry-After`` over ``PANTAU_API_KEY_RATE_LIMIT`` requests a minute for the key;
* ``503`` + ``Retry-After`` the database is unreachable.

Keys are sent as ``Authorization: Bearer TOKEN`` or ``X-API-Key: TOKEN`` (as for sensor
gateways) and managed with ``pantau keys create|list|revoke`` (``store.api_keys``). Error
bodies are ``{"error": code, "message": text}``.
"""

from __future__ import annotations

import logging
import re

from flask import Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from dashboard import auth, context
from dashboard.api.intake import RateLimiter, client_ip, too_many
from store import api_keys
from store.api_keys import KeyInfo

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"
REALM = 'Bearer realm="pantau-api"'
AUTH_FAILURES_PER_MINUTE = 30  # per client address, against key guessing
DB_RETRY_AFTER_S = 10

# machine APIs: their own key check below, never a session (and no Origin check)
auth.allow_route(PREFIX, auth.PUBLIC)


def error(status: int, code: str, message: str, **headers: str) -> Response:
    """The machine APIs' JSON error: ``{"error": code, "message": message}``."""
    response = jsonify(error=code, message=message)
    response.status_code = status
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def db_unavailable(what: str = "nothing from this request was stored") -> Response:
    return error(
        503,
        "database_unavailable",
        f"The database is unavailable; {what}. Send it again.",
        Retry_After=str(DB_RETRY_AFTER_S),
    )


def limiter(name: str, limit: int, window_s: float) -> RateLimiter:
    store = current_app.extensions.setdefault("pantau_rate_limits", {})
    if name not in store:
        store[name] = RateLimiter(limit, window_s)
    return store[name]


def sent_token() -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer " and authorization[7:].strip():
        return authorization[7:].strip()
    return request.headers.get("X-API-Key", "").strip() or None


def _unauthorized(message: str) -> Response:
    allowed, retry = limiter("api_key_auth_failures", AUTH_FAILURES_PER_MINUTE, 60).hit(client_ip())
    if not allowed:
        return too_many(retry, "en")
    return error(401, "unauthorized", message, WWW_Authenticate=REALM)


def require_key(area: str) -> KeyInfo | Response:
    """The key of this request if it may use ``area`` (``"incidents"``, ``"indicators"``),
    else the error response to return."""
    token = sent_token()
    if token is None:
        return _unauthorized("API key required: 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
    try:
        with context.db().session() as s:  # read only: no lock held, never waits
            key = api_keys.authenticate(s, token, touch=False)
    except SQLAlchemyError as exc:
        logger.error("%s %s: key check failed, database unavailable: %s", request.method,
                     request.path, exc)  # fmt: skip
        return db_unavailable("nothing was read or stored")
    if key is None:
        logger.warning("%s %s with an unknown or revoked API key from %s", request.method,
                       request.path, client_ip())  # fmt: skip
        return _unauthorized("invalid or revoked API key")
    if key.needs_touch:  # at most once a minute per key; a failure here costs nothing
        try:
            with context.db().session() as s:
                api_keys.touch_last_used(s, key.id)
        except SQLAlchemyError as exc:
            logger.warning("last use of key %s not recorded: %s", key.name, exc)
    if not key.resources(area):
        return error(
            403, "forbidden", f"key {key.name!r} has no {area}:… scope (scopes: {list(key.scopes)})"
        )
    allowed, retry = limiter("api_key_requests", context.settings().api_key_rate_limit, 60).hit(
        str(key.id)
    )
    if not allowed:
        return too_many(retry, "en")
    return key


_SAFE = re.compile(r"[^A-Za-z0-9._:*-]")


def actor(key: KeyInfo) -> str:
    """The audit log's user name for writes made with ``key``."""
    return "key:" + _SAFE.sub("", key.name)
