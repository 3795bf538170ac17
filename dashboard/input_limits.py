"""Bounds on request bodies, checked before anything parses them, and JSON errors on the APIs.

One ``before_request`` hook (installed by :func:`init_app` ahead of the access guard, so it
also covers the guard's own look at a Dash callback body) for every JSON request body:

* **size**: over ``PANTAU_JSON_MAX_BYTES`` on the APIs (Dash callbacks: the app's
  ``MAX_CONTENT_LENGTH``, as they may carry a photo) -> ``413``;
* **depth**: arrays/objects nested deeper than ``PANTAU_JSON_MAX_DEPTH`` -> ``400``. The depth
  is measured without recursion and without parsing: strings are cut out with one regular
  expression (C speed, whatever their size), then the brackets that are left are counted with
  a cumulative sum. Python's ``json`` recurses once per level, so ``[[[[...`` 100,000 deep
  would otherwise end in a ``RecursionError`` (a 500) in whoever parses first.

Answers on the APIs (``/api/...``, ``/open311/...``, ``/_dash-update-component``) are JSON:
``{"error": ..., "message": ...}`` (Open311: ``[{"code": ..., "description": ...}]``), for
these limits and for every HTTP error Flask or Werkzeug raises there (e.g. the ``413`` of a
multipart body over ``MAX_CONTENT_LENGTH``, which would otherwise be an HTML page).
"""

from __future__ import annotations

import logging
import re

import numpy as np
from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/_dash-update-component"
API_PREFIXES = ("/api/", "/open311/", CALLBACK_PATH)
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: A JSON string (escapes included); what is left outside strings is structure and scalars.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN = np.frombuffer(b"[{", np.uint8)
_CLOSE = np.frombuffer(b"]}", np.uint8)


class BodyRejected(Exception):
    """A request body refused before parsing: ``status`` and a message for the client."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def json_depth(body: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in a JSON text, ignoring brackets inside strings.

    Never recurses and never parses; linear in the size of the body. An unterminated string
    leaves its brackets counted (the text is not JSON anyway)."""
    structure = np.frombuffer(_STRING.sub(b'""', body), np.uint8)
    if structure.size == 0:
        return 0
    steps = np.isin(structure, _OPEN).astype(np.int32) - np.isin(structure, _CLOSE)
    return int(max(0, np.cumsum(steps).max()))


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in ("/api", "/open311")


def error_response(status: int, error: str, message: str) -> Response:
    """The API's JSON error body (Open311's error list under ``/open311``)."""
    if request.path.startswith("/open311"):
        resp = jsonify([{"code": status, "description": message}])
    else:
        resp = jsonify(error=error, message=message)
    resp.status_code = status
    return resp


def body_limit(path: str) -> int:
    cfg = current_app.config["PANTAU_SETTINGS"]
    if path == CALLBACK_PATH:
        return int(current_app.config.get("MAX_CONTENT_LENGTH") or cfg.json_max_bytes)
    return int(cfg.json_max_bytes)


def check_json_body() -> None:
    """Raise :class:`BodyRejected` for a JSON body that is too large or too deep."""
    if request.method not in BODY_METHODS or not request.is_json:
        return
    limit = body_limit(request.path)
    length = request.content_length
    if length is not None and length > limit:
        raise BodyRejected(413, "too_large", f"JSON body over {limit} bytes")
    # a chunked body (no Content-Length) is read one byte past the limit at most: more than
    # the limit arrived -> 413 (never a silently truncated body)
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)  # kept: whoever parses next reads these bytes
    except RequestEntityTooLarge:
        raise BodyRejected(413, "too_large", f"JSON body over {limit} bytes") from None
    if len(body) > limit:
        raise BodyRejected(413, "too_large", f"JSON body over {limit} bytes")
    max_depth = current_app.config["PANTAU_SETTINGS"].json_max_depth
    depth = json_depth(body)
    if depth > max_depth:
        logger.warning(
            "%s %s: JSON nested %d deep refused (at most %d) from %s",
            request.method,
            request.path,
            depth,
            max_depth,
            request.remote_addr,
        )
        raise BodyRejected(400, "too_deep", f"JSON nested deeper than {max_depth} levels")


def _guard() -> Response | None:
    try:
        check_json_body()
    except BodyRejected as exc:
        return error_response(exc.status, exc.error, exc.message)
    except RequestEntityTooLarge:  # a chunked body over MAX_CONTENT_LENGTH
        return error_response(413, "too_large", "request body too large")
    return None


def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    """HTTP errors on API paths as JSON; elsewhere Flask's own page."""
    if not is_api_path(request.path) or exc.code is None:
        return exc
    name = (exc.name or "error").lower().replace(" ", "_")
    message = exc.description or exc.name or "error"
    if isinstance(exc, RequestEntityTooLarge):
        name, message = "too_large", "request body too large"
    resp = error_response(exc.code, name, message)
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return resp


#: Dash's page routes: the start page and the catch-all that serves the HTML shell.
PAGE_RULES = ("/", "/<path:path>")


def api_path_not_a_page() -> Response | None:
    """A GET to an API path that only Dash's catch-all page route matched (``GET
    /api/sensors/readings``, a POST-only route) answered the HTML page shell with 200. API
    paths answer JSON: 405 with ``Allow`` when the path has routes for other methods, else
    404. Runs after the access guard (installed by the app after ``init_auth``)."""
    rule = request.url_rule
    if rule is None or rule.rule not in PAGE_RULES or request.path == CALLBACK_PATH:
        return None
    if request.method not in ("GET", "HEAD") or not is_api_path(request.path):
        return None
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = set()
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            matched, _ = adapter.match(request.path, method=method, return_rule=True)
        except HTTPException:  # not found, method not allowed, redirect
            continue
        if matched.rule not in PAGE_RULES:
            allowed.add(method)
    if allowed:
        resp = error_response(405, "method_not_allowed", "method not allowed on this API path")
        resp.headers["Allow"] = ", ".join(sorted(allowed | {"OPTIONS"}))
        return resp
    return error_response(404, "not_found", "no such API route")


def init_app(server: Flask) -> None:
    """Install the body check (before every other before_request hook) and JSON errors."""
    server.before_request_funcs.setdefault(None, []).insert(0, _guard)
    server.register_error_handler(HTTPException, _http_error)
