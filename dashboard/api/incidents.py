"""Incidents over HTTP for police, fire, Satpol PP... rooms (per-agency API keys).

* ``POST /api/v1/incidents``: one incident object or a JSON list of up to 1,000 (fields as
  the file import, data/README.md; ``source`` may be left out when the key has one source).
  Every item is answered: ``200`` ``{"accepted": [{"index", "source", "external_id", "id",
  "result": "inserted"|"updated"|"unchanged"}], "rejected": [{"index", "external_id", "error":
  "invalid"|"forbidden"|"duplicate", "reason", "problems": [{"column", "value", "message"}]}],
  "inserted": n, "updated": n, "unchanged": n}`` when at least one item was accepted (all of
  them committed), ``422`` with the same body when none was. An item whose ``source`` is not
  the key's (``incidents:<source>`` scope) is rejected as ``forbidden`` — never re-sourced.
* ``GET /api/v1/incidents?since=&until=&kind=&status=&source=&limit=&offset=``: the key's
  sources' incidents, newest first: ``{"items": [...], "total", "limit", "offset",
  "next_offset"}`` (``limit`` 1..1000, default 100; ``since``/``until`` ISO 8601 with a time
  zone, on ``occurred_at``; ``kind``/``status`` repeatable or comma-separated).
* ``PATCH /api/v1/incidents/{source}/{external_id}`` with ``{"status": ..., "ended_at": ...}``:
  ``200`` ``{"result": "updated"|"unchanged", "changed": [...], "incident": {...}}``.

Errors are ``{"error": code, "message": text}``: ``400`` not JSON / not an object or list /
empty / bad query parameter (and JSON nested deeper than ``PANTAU_JSON_MAX_DEPTH``), ``401``
no/unknown/revoked key, ``403`` the key's scope, ``404`` no such incident, ``413`` body over
``PANTAU_JSON_MAX_BYTES`` or more than 1,000 items, ``415`` not ``application/json``, ``422``
invalid values (PATCH: with ``problems``), ``429`` + ``Retry-After`` the key's rate limit,
``503`` + ``Retry-After`` database unavailable (nothing stored: send it again). Writes are
idempotent on (source, external_id): sending a batch again is always safe.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context
from dashboard.api import keyauth
from dashboard.api.intake import client_ip
from store import audit
from store import incidents as store
from store.api_keys import KeyInfo
from store.audit import AuditAction
from store.models import IncidentKind, IncidentStatus

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_incidents_api", __name__)

PATH = keyauth.PREFIX + "/incidents"
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
_UNENCODED_PLUS = re.compile(r"T\d\d:\d\d(:\d\d(\.\d+)?)? \d\d:\d\d$")


def _json_body() -> Any | Response:
    if request.mimetype != "application/json":
        return keyauth.error(415, "unsupported_media_type", "Content-Type must be application/json")
    raw = request.get_data(cache=True)  # size and depth already checked (input_limits)
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return keyauth.error(400, "bad_request", f"the body is not JSON: {exc}"[:300])
    except RecursionError:
        return keyauth.error(400, "too_deep", "the body is nested too deeply")


def _problems(exc: store.IncidentInvalid) -> list[dict[str, Any]]:
    out = []
    for p in exc.problems:
        value = (
            p.value
            if isinstance(p.value, str | int | float | bool) or p.value is None
            else (str(p.value)[:100])
        )
        if isinstance(value, str):
            value = value[:100]
        out.append({"column": p.column, "value": value, "message": p.message})
    return out


def _write_sources(key: KeyInfo) -> tuple[str, ...]:
    return tuple(r.lower() for r in key.resources("incidents"))


@bp.post(PATH)
def post_incidents() -> Response:
    key = keyauth.require_key("incidents")
    if isinstance(key, Response):
        return key
    payload = _json_body()
    if isinstance(payload, Response):
        return payload
    if isinstance(payload, dict):
        items = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        return keyauth.error(400, "bad_request", "the body must be an incident object or a list")
    if not items:
        return keyauth.error(400, "bad_request", "the list is empty")
    if len(items) > store.MAX_BATCH:
        return keyauth.error(
            413, "too_many_items", f"{len(items)} items; at most {store.MAX_BATCH} a request"
        )
    sources = _write_sources(key)
    single = sources[0] if len(sources) == 1 and sources[0] != "*" else None
    bounds = context.settings().city_bounds
    records: list[tuple[int, store.IncidentRecord]] = []
    rejected: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    denied: dict[str, int] = {}
    for index, item in enumerate(items):
        ext = item.get("external_id") if isinstance(item, dict) else None
        ext = ext if isinstance(ext, str | int) and not isinstance(ext, bool) else None
        if isinstance(item, dict) and "source" not in item and single is not None:
            item = {**item, "source": single}  # the key has one source: it is the item's
        try:
            rec = store.validate_incident(item, bounds=bounds)
        except store.IncidentInvalid as exc:
            rejected.append(
                {"index": index, "external_id": ext, "error": "invalid", "reason": str(exc),
                 "problems": _problems(exc)}
            )  # fmt: skip
            continue
        if not key.has_scope("incidents", rec.source):
            denied[rec.source] = denied.get(rec.source, 0) + 1
            rejected.append(
                {"index": index, "external_id": rec.external_id, "error": "forbidden",
                 "reason": f"forbidden: key {key.name!r} may not write incidents of source "
                 f"{rec.source!r} (its scope: {', '.join(key.scopes)})", "problems": []}
            )  # fmt: skip
            continue
        if rec.key in seen:
            rejected.append(
                {"index": index, "external_id": rec.external_id, "error": "duplicate",
                 "reason": f"source {rec.source} external_id {rec.external_id} is also item "
                 f"{seen[rec.key]} of this request", "problems": []}
            )  # fmt: skip
            continue
        seen[rec.key] = index
        records.append((index, rec))
    result = store.UpsertResult()
    try:
        with context.db().session() as s:
            if records:
                result = store.upsert_incidents(
                    s, records, actor=keyauth.actor(key), channel="api", ip=client_ip()
                )
            for source, n in denied.items():
                audit.record(
                    s, AuditAction.ACCESS_DENIED, username=keyauth.actor(key), target=f"incidents:{source}",
                    ip=client_ip(), detail={"api": "POST /api/v1/incidents", "items": n},
                )  # fmt: skip
    except SQLAlchemyError as exc:  # rolled back: nothing of this request is stored
        logger.error("incidents from key %s not stored: %s", key.name, exc)
        return keyauth.db_unavailable()
    logger.info(
        "incidents from key %s: %d inserted, %d updated, %d unchanged, %d rejected",
        key.name, result.inserted, result.updated, result.unchanged, len(rejected),
    )  # fmt: skip
    body = {
        "accepted": [
            {"index": o.index, "source": o.source, "external_id": o.external_id, "id": o.id,
             "result": o.result}
            for o in sorted(result.outcomes, key=lambda o: o.index)
        ],
        "rejected": rejected,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }  # fmt: skip
    response = jsonify(body)
    response.status_code = 200 if result.outcomes else 422
    return response


def _param_time(name: str) -> Any:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if _UNENCODED_PLUS.search(value):  # '+07:00' sent without %2B arrives as ' 07:00'
        value = value[:-6] + "+" + value[-5:]
    try:
        return store.parse_time(value, name)
    except ValueError as exc:
        raise _BadParam(f"parameter {name!r} = {value[:60]!r}: {exc}") from None


def _param_list(name: str, allowed: type) -> list[str]:
    out = []
    for raw in request.args.getlist(name):
        for part in raw.split(","):
            word = part.strip().lower()
            if not word:
                continue
            if word not in allowed._value2member_map_:
                known = ", ".join(m.value for m in allowed)
                raise _BadParam(f"parameter {name!r} = {word[:60]!r}: use one of {known}")
            out.append(word)
    return out


def _param_int(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _BadParam(f"parameter {name!r} = {value[:30]!r}: an integer expected") from None
    if not low <= number <= high:
        raise _BadParam(f"parameter {name!r} = {number}: between {low} and {high}")
    return number


class _BadParam(ValueError):
    pass


@bp.get(PATH)
def get_incidents() -> Response:
    key = keyauth.require_key("incidents")
    if isinstance(key, Response):
        return key
    mine = _write_sources(key)
    try:
        since, until = _param_time("since"), _param_time("until")
        kinds = _param_list("kind", IncidentKind)
        statuses = _param_list("status", IncidentStatus)
        limit = _param_int("limit", 100, 1, MAX_LIMIT)
        offset = _param_int("offset", 0, 0, MAX_OFFSET)
        asked = sorted({p.strip().lower() for p in ",".join(
            request.args.getlist("source")).split(",") if p.strip()})  # fmt: skip
    except _BadParam as exc:
        return keyauth.error(400, "bad_request", str(exc))
    bad = [src for src in asked if not store.SOURCE_RE.fullmatch(src)]
    if bad:
        return keyauth.error(
            400, "bad_request", f"parameter 'source' = {bad[0][:40]!r}: not a source name"
        )
    if asked:
        others = [src for src in asked if not key.has_scope("incidents", src)]
        if others:
            return keyauth.error(
                403, "forbidden",
                f"key {key.name!r} may not read incidents of source(s) {', '.join(others)}",
            )  # fmt: skip
        sources: list[str] | None = asked
    else:
        sources = None if "*" in mine else list(mine)
    try:
        with context.db().session() as s:
            rows, total = store.list_incidents(
                s, sources=sources, since=since, until=until, kinds=kinds, statuses=statuses,
                limit=limit, offset=offset,
            )  # fmt: skip
            items = [store.as_json(r) for r in rows]
    except SQLAlchemyError as exc:
        logger.error("GET %s by key %s failed: %s", PATH, key.name, exc)
        return keyauth.db_unavailable("nothing was read")
    return jsonify(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + limit < total else None,
    )


@bp.patch(PATH + "/<source>/<path:external_id>")
def patch_incident(source: str, external_id: str) -> Response:
    key = keyauth.require_key("incidents")
    if isinstance(key, Response):
        return key
    source = source.strip().lower()
    if not (store.SOURCE_RE.fullmatch(source) and store.EXTERNAL_ID_RE.fullmatch(external_id)):
        return keyauth.error(  # no incident can have such a key (and NUL never reaches SQL)
            404, "not_found", f"no incident {external_id[:130]!r} of source {source[:40]!r}"
        )
    if not key.has_scope("incidents", source):
        return keyauth.error(
            403, "forbidden", f"key {key.name!r} may not change incidents of source {source!r}"
        )
    body = _json_body()
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict) or not body:
        return keyauth.error(
            400, "bad_request", 'the body must be a JSON object {"status": ..., "ended_at": ...}'
        )
    try:
        with context.db().session() as s:
            change = store.update_status(
                s, source, external_id, body, actor=keyauth.actor(key), ip=client_ip()
            )
            if change is None:
                return keyauth.error(
                    404, "not_found", f"no incident {external_id!r} of source {source!r}"
                )
            payload = {
                "result": "updated" if change.changed else "unchanged",
                "changed": list(change.changed),
                "incident": store.as_json(change.incident),
            }
    except store.IncidentInvalid as exc:
        response = jsonify(error="invalid", message=str(exc), problems=_problems(exc))
        response.status_code = 422
        return response
    except SQLAlchemyError as exc:
        logger.error("PATCH %s by key %s not stored: %s", request.path, key.name, exc)
        return keyauth.db_unavailable()
    return jsonify(payload)
