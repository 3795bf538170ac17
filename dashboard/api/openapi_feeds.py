"""The city-data feeds in the OpenAPI document: the ``/api/v1`` machine APIs that agencies and
OPDs write to with per-agency keys (``pantau keys create``; ``dashboard/api/keyauth.py``).

* OPD indicator values (``dashboard/api/indicators.py``): ``PUT`` a value, ``GET`` an OPD's
  indicators with their latest values.
* Incidents (``dashboard/api/incidents.py``): ``POST`` one or up to 1,000, ``GET`` the key's
  sources' incidents, ``PATCH`` status / ended_at. The item schema is generated from the
  pydantic model the route validates with (``store.incident_validation.IncidentRecord``,
  ``model_json_schema``), widened where its before-validators accept more (a numeric
  ``external_id``, numbers as text, ``source`` taken from a one-source key).

Response shapes are the ones the routes write (``store.indicators.value_dict``,
``store.incidents.as_json`` and the route bodies); the live schemathesis run checks every
answer against them.
"""

from __future__ import annotations

from typing import Any

from dashboard.api.openapi_schemas import (
    JSON,
    NULL_NUM,
    NULL_STR,
    error_response,
    query_param,
    ref,
)
from store.incident_validation import (
    KIND_ALIASES,
    MAX_BATCH,
    STATUS_ALIASES,
    IncidentRecord,
)
from store.models import IndicatorFrequency, IndicatorSource

FREQUENCIES = [str(f) for f in IndicatorFrequency]

SCHEMAS: dict[str, Any] = {
    "IndicatorWrite": {
        "type": "object",
        "description": "A value for one indicator and period. `previous_value`: write only if "
        "the stored value is still that one (null: only if nothing is stored), else 409.",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "value": {
                "type": "number",
                "description": "In the indicator's unit.",
                "examples": [97.5],
            },
            "note": {"type": ["string", "null"]},
            "previous_value": {"type": ["number", "null"]},
        },
    },
    "IndicatorValue": {
        "type": "object",
        "description": "A stored value, with who last changed it and when.",
        "required": ["opd", "indicator", "period", "period_start", "frequency", "value"],
        "properties": {
            "opd": {"type": "string", "examples": ["DISHUB"]},
            "indicator": {"type": "string"},
            "period": {"type": "string", "examples": ["2026-10", "2026-Q3", "2026"]},
            "period_start": {"type": "string", "format": "date"},
            "frequency": {"type": "string", "enum": FREQUENCIES},
            "value": {"type": "number"},
            "unit": {"type": "string"},
            "note": NULL_STR,
            "is_demo": {"type": "boolean"},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "updated_by": NULL_STR,
            "source": {"type": ["string", "null"], "enum": [*map(str, IndicatorSource), None]},
        },
    },
    "IndicatorWriteResult": {
        "type": "object",
        "required": ["result", "previous_value", "indicator_value"],
        "properties": {
            "result": {"type": "string", "enum": ["created", "updated", "unchanged"]},
            "previous_value": NULL_NUM,
            "indicator_value": ref("IndicatorValue"),
        },
    },
    "IndicatorConflict": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"const": "conflict"},
            "message": {"type": "string"},
            "indicator_value": {"anyOf": [ref("IndicatorValue"), {"type": "null"}]},
        },
    },
    "OpdIndicators": {
        "type": "object",
        "required": ["opd", "name", "indicators"],
        "properties": {
            "opd": {"type": "string"},
            "name": {"type": "string"},
            "indicators": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["indicator", "name", "unit", "frequency", "latest"],
                    "properties": {
                        "indicator": {"type": "string"},
                        "name": {"type": "string"},
                        "name_en": NULL_STR,
                        "unit": {"type": "string"},
                        "frequency": {"type": "string", "enum": FREQUENCIES},
                        "period_format": {"type": "string", "examples": ["YYYY-MM"]},
                        "target": NULL_NUM,
                        "higher_is_better": {"type": "boolean"},
                        "plausible_min": NULL_NUM,
                        "plausible_max": NULL_NUM,
                        "latest": {"anyOf": [ref("IndicatorValue"), {"type": "null"}]},
                    },
                },
            },
        },
    },
}

SECURITY_SCHEMES = {
    "agencyBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer TOKEN`, a per-agency key from `pantau keys "
        "create NAME --scope AREA:RESOURCE` (e.g. `indicators:DISHUB`, `incidents:polresta`). "
        "The scope fixes what the key may write: another OPD's or agency's data is 403.",
    },
    "agencyApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same per-agency key in a header of its own.",
    },
}
AGENCY_AUTH = [{"agencyBearer": []}, {"agencyApiKey": []}]


def _key_errors() -> dict[str, Any]:
    return {
        "401": {
            **error_response("No key, or an unknown or revoked one."),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        },
        "403": error_response("The key has no scope for this OPD or agency."),
        "429": error_response("Over PANTAU_API_KEY_RATE_LIMIT requests a minute.", retry=True),
        "503": error_response(
            "The database is unreachable: nothing was stored; send again.", retry=True
        ),
    }


def _path_param(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "examples": [example]},
    }


#: After a write: the OPD's indicators, where the new value is the latest.
OPD_LINK = {
    "OpdIndicators": {
        "operationId": "getOpdIndicators",
        "parameters": {"opd": "$request.path.opd"},
    }
}


def indicator_paths() -> dict[str, Any]:
    opd = _path_param("opd", "OPD code (data/opd.csv).", "DPMPTSP")
    return {
        "/api/v1/indicators/{opd}/{code}/{period}": {
            "put": {
                "tags": ["Indikator OPD"],
                "operationId": "putIndicatorValue",
                "summary": "Write one OPD indicator value for a period (upsert, history kept)",
                "description": "Same validation and correction history as `pantau import "
                "indicators`. The period follows the indicator's frequency: `YYYY-MM`, "
                "`YYYY-Qn` or `YYYY`.",
                "security": AGENCY_AUTH,
                "parameters": [
                    opd,
                    _path_param(
                        "code", "Indicator code (data/opd_indicators.csv).", "izin_tepat_waktu"
                    ),
                    {
                        **_path_param("period", "YYYY-MM, YYYY-Qn or YYYY.", "2026-10"),
                        "schema": {
                            "type": "string",
                            "pattern": "^\\s*[0-9]{4}(-([0-9]{1,2}|[Qq][1-4]))?\\s*$",
                            "examples": ["2026-10", "2026-Q3", "2026"],
                        },
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("IndicatorWrite")}},
                },
                "responses": {
                    "201": {
                        "description": "Created.",
                        "content": {JSON: {"schema": ref("IndicatorWriteResult")}},
                        "links": OPD_LINK,
                    },
                    "200": {
                        "description": "Updated, or unchanged (the same value).",
                        "content": {JSON: {"schema": ref("IndicatorWriteResult")}},
                        "links": OPD_LINK,
                    },
                    "400": error_response("Not a JSON object, unknown fields, or malformed."),
                    "404": error_response("Unknown OPD or indicator."),
                    "409": {
                        "description": "previous_value is no longer the stored value.",
                        "content": {JSON: {"schema": ref("IndicatorConflict")}},
                    },
                    "413": error_response("Body over 16 KiB (or PANTAU_JSON_MAX_BYTES)."),
                    "415": error_response("Content-Type is not application/json."),
                    "422": error_response(
                        "Value or period refused: not a number, implausible for the unit, or "
                        "a period not of the indicator's frequency."
                    ),
                    **_key_errors(),
                },
            }
        },
        "/api/v1/indicators/{opd}": {
            "get": {
                "tags": ["Indikator OPD"],
                "operationId": "getOpdIndicators",
                "summary": "An OPD's indicators with their latest value",
                "security": AGENCY_AUTH,
                "parameters": [opd],
                "responses": {
                    "200": {
                        "description": "The OPD's indicators.",
                        "content": {JSON: {"schema": ref("OpdIndicators")}},
                    },
                    "400": error_response("Malformed input."),
                    "404": error_response("Unknown OPD."),
                    **_key_errors(),
                },
            }
        },
    }


TAGS = [
    {
        "name": "Kejadian",
        "description": "Kejadian dari kepolisian, pemadam kebakaran, Satpol PP, Dishub, BPBD "
        "(kunci per instansi). / Incidents from police, fire, Satpol PP, Dishub, BPBD rooms "
        "(a key per agency).",
    },
    {
        "name": "Indikator OPD",
        "description": "Nilai indikator kinerja OPD dari sistem OPD sendiri (kunci per OPD). / "
        "OPD performance indicator values from the OPD's own systems (a key per OPD).",
    },
]


# --------------------------------------------------------------------------------------------
# Incidents
# --------------------------------------------------------------------------------------------
NULL_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}


def incident_schemas() -> dict[str, Any]:
    """The incident item from the pydantic model, plus the answers (written by hand)."""
    item = IncidentRecord.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = item.pop("$defs", {})
    props = item["properties"]
    for prop in props.values():
        prop.pop("title", None)
    item["title"] = "IncidentItem"
    item["required"] = [r for r in item.get("required", []) if r != "source"]
    item["examples"] = [
        {
            "source": "polresta",
            "external_id": "LP/B/123/XI/2026",
            "kind": "crime",
            "occurred_at": "2026-11-23T14:00:00+07:00",
            "lat": -2.9911,
            "lon": 104.7565,
            "description": "Pencurian sepeda motor di parkiran Pasar 16 Ilir",
            "status": "open",
            "address": "Pasar 16 Ilir",
        }
    ]
    # the before-validators strip and lower-case: the patterns say what they accept
    props["source"]["pattern"] = "^\\s*[A-Za-z0-9][A-Za-z0-9_-]{0,31}\\s*$"
    props["source"]["description"] = (
        "The agency (1-32 lowercase letters, digits, _ or -): must be one the key's "
        "`incidents:` scope holds; may be left out when the key has exactly one."
    )
    props["external_id"] = {
        "type": ["string", "integer"],
        "description": "The agency's own id: 1-128 letters, digits and . _ : / - . With the "
        "source the key of the incident: sending it again updates it (or changes nothing).",
        "examples": ["LP/B/123/XI/2026"],
    }
    for name in ("lat", "lon"):
        props[name]["type"] = ["number", "string"]
        props[name]["description"] = "WGS84 degrees, inside the city (PANTAU_CITY_BBOX)."
    props["occurred_at"]["description"] = "ISO 8601 with a time zone; not before 2000."
    props["kind"]["description"] = "Or an Indonesian word: " + ", ".join(sorted(KIND_ALIASES))
    props["status"]["description"] = "Or: " + ", ".join(sorted(STATUS_ALIASES))
    problem = {
        "type": "object",
        "required": ["column", "message"],
        "properties": {"column": {"type": "string"}, "value": {}, "message": {"type": "string"}},
    }
    incident = {
        "type": "object",
        "required": ["id", "source", "kind", "status", "occurred_at"],
        "properties": {
            "id": {"type": "integer"},
            "source": {"type": "string"},
            "external_id": NULL_STR,
            "kind": {"type": "string"},
            "title": NULL_STR,
            "description": NULL_STR,
            "status": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "ended_at": NULL_TIME,
            "closed_at": NULL_TIME,
            "lat": NULL_NUM,
            "lon": NULL_NUM,
            "address": NULL_STR,
            "kecamatan": NULL_STR,
            "kelurahan": NULL_STR,
            "is_demo": {"type": "boolean"},
            "updated_at": NULL_TIME,
        },
    }
    return {
        **defs,
        "IncidentItem": item,
        "IncidentProblem": problem,
        "Incident": incident,
        "IncidentBatchResult": {
            "type": "object",
            "description": "Every item answered: accepted ones are committed; rejected ones "
            "(index, why, each column at fault) will not succeed when sent again as they are.",
            "required": ["accepted", "rejected", "inserted", "updated", "unchanged"],
            "properties": {
                "accepted": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "source", "external_id", "id", "result"],
                        "properties": {
                            "index": {"type": "integer", "minimum": 0},
                            "source": {"type": "string"},
                            "external_id": {"type": "string"},
                            "id": {"type": "integer"},
                            "result": {"enum": ["inserted", "updated", "unchanged"]},
                        },
                    },
                },
                "rejected": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "error", "reason", "problems"],
                        "properties": {
                            "index": {"type": "integer", "minimum": 0},
                            "external_id": {"type": ["string", "integer", "null"]},
                            "error": {"enum": ["invalid", "forbidden", "duplicate"]},
                            "reason": {"type": "string"},
                            "problems": {"type": "array", "items": ref("IncidentProblem")},
                        },
                    },
                },
                "inserted": {"type": "integer", "minimum": 0},
                "updated": {"type": "integer", "minimum": 0},
                "unchanged": {"type": "integer", "minimum": 0},
            },
        },
        "IncidentPage": {
            "type": "object",
            "required": ["items", "total", "limit", "offset", "next_offset"],
            "properties": {
                "items": {"type": "array", "items": ref("Incident")},
                "total": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "next_offset": {"type": ["integer", "null"]},
            },
        },
        "IncidentStatusChange": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "status": {**props["status"]},
                "ended_at": NULL_TIME,
            },
        },
        "IncidentChangeResult": {
            "type": "object",
            "required": ["result", "changed", "incident"],
            "properties": {
                "result": {"enum": ["updated", "unchanged"]},
                "changed": {"type": "array", "items": {"type": "string"}},
                "incident": ref("Incident"),
            },
        },
        "IncidentInvalid": {
            "type": "object",
            "required": ["error", "message", "problems"],
            "properties": {
                "error": {"const": "invalid"},
                "message": {"type": "string"},
                "problems": {"type": "array", "items": ref("IncidentProblem")},
            },
        },
    }


def incident_paths() -> dict[str, Any]:
    batch = {"content": {JSON: {"schema": ref("IncidentBatchResult")}}}
    return {
        "/api/v1/incidents": {
            "post": {
                "tags": ["Kejadian"],
                "operationId": "postIncidents",
                "summary": f"Send incidents: one, or a list of up to {MAX_BATCH:,}",
                "description": "Idempotent on (source, external_id): a batch sent again is "
                "always safe. An item of a source the key does not hold is rejected as "
                "`forbidden` (never re-sourced) and audited.",
                "security": AGENCY_AUTH,
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": {
                                "oneOf": [
                                    ref("IncidentItem"),
                                    {
                                        "type": "array",
                                        "items": ref("IncidentItem"),
                                        "minItems": 1,
                                        "maxItems": MAX_BATCH,
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "At least one item accepted.",
                        **batch,
                        "links": {
                            "ChangeStatus": {
                                "operationId": "patchIncident",
                                "parameters": {
                                    "source": "$response.body#/accepted/0/source",
                                    "external_id": "$response.body#/accepted/0/external_id",
                                },
                            }
                        },
                    },
                    "422": {"description": "Every item was rejected.", **batch},
                    "400": error_response("Not JSON, not an object or a list, an empty list."),
                    "413": error_response(f"More than {MAX_BATCH:,} items, or too large."),
                    "415": error_response("Content-Type is not application/json."),
                    **_key_errors(),
                },
            },
            "get": {
                "tags": ["Kejadian"],
                "operationId": "getIncidents",
                "summary": "The key's sources' incidents, newest first (paginated)",
                "security": AGENCY_AUTH,
                "parameters": [
                    query_param("since", "ISO 8601 with a time zone, on occurred_at."),
                    query_param("until", "ISO 8601 with a time zone, on occurred_at."),
                    query_param("kind", "Comma-separated kinds (or repeated)."),
                    query_param("status", "Comma-separated: open, handling, closed."),
                    query_param("source", "Comma-separated sources the key holds."),
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "A page of incidents.",
                        "content": {JSON: {"schema": ref("IncidentPage")}},
                    },
                    "400": error_response("A query parameter is malformed or out of range."),
                    **_key_errors(),
                },
            },
        },
        "/api/v1/incidents/{source}/{external_id}": {
            "patch": {
                "tags": ["Kejadian"],
                "operationId": "patchIncident",
                "summary": "Change an incident's status and/or ended_at",
                "security": AGENCY_AUTH,
                "parameters": [
                    _path_param("source", "The agency.", "polresta"),
                    _path_param("external_id", "The agency's id (may hold /).", "LP-123"),
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("IncidentStatusChange")}},
                },
                "responses": {
                    "200": {
                        "description": "Updated, or unchanged.",
                        "content": {JSON: {"schema": ref("IncidentChangeResult")}},
                    },
                    "400": error_response("Not a non-empty JSON object."),
                    "404": error_response("No such incident of this source."),
                    "413": error_response("Body too large."),
                    "415": error_response("Content-Type is not application/json."),
                    "422": {
                        "description": "A value is refused (each column at fault named).",
                        "content": {JSON: {"schema": ref("IncidentInvalid")}},
                    },
                    **_key_errors(),
                },
            }
        },
    }


def schemas() -> dict[str, Any]:
    return {**SCHEMAS, **incident_schemas()}


def feed_paths() -> dict[str, Any]:
    return {**incident_paths(), **indicator_paths()}
