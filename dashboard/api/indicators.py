"""OPD indicator values over HTTP, for an OPD's own systems (per-OPD API keys).

* ``PUT /api/v1/indicators/{opd}/{code}/{period}`` with ``{"value": 97.5, "note": "..."}``
  (``note`` optional; ``previous_value`` optional: write only if the stored value is still
  that one, else ``409``). The period follows the indicator's frequency (``2026-10``,
  ``2026-Q3``, ``2026``). Answers ``201`` (created) or ``200`` (updated / unchanged) with
  ``{"result": "created"|"updated"|"unchanged", "previous_value": ..., "indicator_value": {...}}``
  — the stored row, as ``GET`` shows it.
* ``GET /api/v1/indicators/{opd}``: the OPD's indicators with their latest value.

A key needs the scope ``indicators:{OPD}`` (``pantau keys create NAME --scope
indicators:DISHUB``; ``indicators:*`` for every OPD): another OPD's indicator is ``403``.
Errors are ``{"error": code, "message": text}``: ``400`` body not a JSON object or unknown
fields, ``401`` no/wrong key, ``403`` scope, ``404`` unknown OPD or indicator, ``409``
``previous_value`` no longer stored, ``413`` body too large, ``415`` not JSON, ``422`` a value
or period that is refused (not a number, implausible, period not of the indicator's frequency),
``429`` + ``Retry-After`` rate limit, ``503`` + ``Retry-After`` database unavailable (nothing
stored: send it again). Same validation and history as the file import (``store.indicators``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context
from dashboard.api import keyauth
from dashboard.api.intake import client_ip
from store import audit
from store import indicators as store
from store.api_keys import KeyInfo
from store.models import (
    IndicatorActorKind,
    IndicatorSource,
    Opd,
    OpdIndicator,
    OpdIndicatorValue,
)

logger = logging.getLogger(__name__)

bp = Blueprint("pantau_indicators_api", __name__)

PATH = keyauth.PREFIX + "/indicators"
MAX_BODY = 16 * 1024
FIELDS = {"value", "note", "previous_value"}
#: RowError codes -> (HTTP status, error code)
STATUS = {
    "opd": (404, "not_found"),
    "indicator": (404, "not_found"),
    "other_opd": (404, "not_found"),
    "scope": (403, "forbidden"),
    "period": (422, "invalid_period"),
    "plausible": (422, "implausible_value"),
}


def _scope_error(key: KeyInfo, opd: str) -> Response | None:
    if key.has_scope("indicators", opd):
        return None
    audit.record_now(
        context.db(),
        "access_denied",
        username=keyauth.actor(key),
        target=f"indicators:{opd.upper()[:32]}",
        ip=client_ip(),
        detail={"api": f"{request.method} {request.path[:150]}"},
    )
    mine = ", ".join(key.resources("indicators")) or "none"
    return keyauth.error(
        403,
        "forbidden",
        f"key {key.name!r} may not use indicators of {opd.upper()} (its OPD: {mine})",
    )


def _body() -> dict[str, Any] | Response:
    if request.mimetype != "application/json":
        return keyauth.error(415, "unsupported_media_type", "Content-Type must be application/json")
    if (request.content_length or 0) > MAX_BODY or len(request.get_data(cache=True)) > MAX_BODY:
        return keyauth.error(413, "too_large", f"body over {MAX_BODY} bytes")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return keyauth.error(400, "bad_request", 'the body must be a JSON object {"value": ...}')
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return keyauth.error(
            400, "bad_request", f"unknown field(s) {unknown}: use value, note, previous_value"
        )
    if "value" not in body or body["value"] is None:
        return keyauth.error(422, "invalid_value", "'value' is required (a JSON number)")
    for name in ("value", "previous_value"):
        v = body.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            return keyauth.error(422, "invalid_value", f"{name!r} must be a JSON number")
        if isinstance(v, float) and not math.isfinite(v):
            return keyauth.error(422, "invalid_value", f"{name!r} must be finite")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        return keyauth.error(422, "invalid_note", "'note' must be a string or null")
    return body


def _stored(s, indicator_id: int, start) -> OpdIndicatorValue | None:  # type: ignore[no-untyped-def]
    return s.scalar(
        select(OpdIndicatorValue).where(
            OpdIndicatorValue.indicator_id == indicator_id,
            OpdIndicatorValue.period_start == start,
        )
    )


@bp.put(PATH + "/<opd>/<code>/<period>")
def put_value(opd: str, code: str, period: str) -> Response:
    key = keyauth.require_key("indicators")
    if isinstance(key, Response):
        return key
    denied = _scope_error(key, opd)
    if denied is not None:
        return denied
    body = _body()
    if isinstance(body, Response):
        return body
    row = {
        "opd": opd,
        "indicator": code,
        "period": period,
        "value": body["value"],
        "note": body.get("note"),
    }
    actor = store.Actor(
        keyauth.actor(key), IndicatorActorKind.API_KEY, IndicatorSource.API, ip=client_ip()
    )
    try:
        with context.db().session() as s:
            store.take_write_lock(s)
            planned = store.plan(s, [(1, row)], only_opd=opd.upper())
            if planned.errors:
                err = planned.errors[0]
                status, error_code = STATUS.get(err.code, (422, "invalid_" + err.column))
                return keyauth.error(
                    status, error_code, f"{err.column} {err.value!r}: {err.reason}"
                )
            target = planned.rows[0]
            if "previous_value" in body:
                current = _stored(s, target.indicator_id, target.period_start)
                now = current.value if current is not None else None
                if now != body["previous_value"]:
                    response = jsonify(
                        error="conflict",
                        message=f"the stored value is {now!r}, not previous_value "
                        f"{body['previous_value']!r}: nothing was written",
                        indicator_value=_row_dict(s, current) if current is not None else None,
                    )
                    response.status_code = 409
                    return response
            applied = store.apply(s, planned, actor).rows[0]
            stored = _stored(s, applied.indicator_id, applied.period_start)
            payload = {
                "result": {"inserted": "created"}.get(applied.outcome, applied.outcome),
                "previous_value": applied.old_value,
                "indicator_value": _row_dict(s, stored),
            }
    except SQLAlchemyError as exc:
        logger.error("PUT %s by key %s not stored: %s", request.path, key.name, exc)
        return keyauth.db_unavailable()
    response = jsonify(payload)
    response.status_code = 201 if payload["result"] == "created" else 200
    return response


def _row_dict(s, value: OpdIndicatorValue) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    indicator = s.get(OpdIndicator, value.indicator_id)
    opd = s.get(Opd, indicator.opd_id)
    return store.value_dict(value, indicator, opd.code)


@bp.get(PATH + "/<opd>")
def get_values(opd: str) -> Response:
    key = keyauth.require_key("indicators")
    if isinstance(key, Response):
        return key
    denied = _scope_error(key, opd)
    if denied is not None:
        return denied
    try:
        with context.db().session() as s:
            row = s.scalar(select(Opd).where(Opd.code == opd.upper()))
            if row is None:
                return keyauth.error(404, "not_found", f"no OPD has the code {opd.upper()!r}")
            items = []
            for ind in s.scalars(
                select(OpdIndicator)
                .where(OpdIndicator.opd_id == row.id)
                .order_by(OpdIndicator.code)
            ):
                latest = s.scalar(
                    select(OpdIndicatorValue)
                    .where(OpdIndicatorValue.indicator_id == ind.id)
                    .order_by(OpdIndicatorValue.period_start.desc())
                    .limit(1)
                )
                low, high = store.plausible_range(ind)
                items.append(
                    {
                        "indicator": ind.code,
                        "name": ind.name,
                        "name_en": ind.name_en,
                        "unit": ind.unit,
                        "frequency": ind.frequency,
                        "period_format": store.PERIOD_FORMAT.get(ind.frequency),
                        "target": ind.target,
                        "higher_is_better": ind.higher_is_better,
                        "plausible_min": low,
                        "plausible_max": high,
                        "latest": store.value_dict(latest, ind, row.code) if latest else None,
                    }
                )
            payload = {"opd": row.code, "name": row.name, "indicators": items}
    except SQLAlchemyError as exc:
        logger.error("GET %s by key %s failed: %s", request.path, key.name, exc)
        return keyauth.db_unavailable("nothing was read")
    return jsonify(payload)
