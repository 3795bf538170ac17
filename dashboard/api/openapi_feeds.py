"""The city-data feeds in the OpenAPI document: the ``/api/v1`` machine APIs that agencies and
OPDs write to with per-agency keys (``pantau keys create``; ``dashboard/api/keyauth.py``).

* OPD indicator values (``dashboard/api/indicators.py``): ``PUT`` a value, ``GET`` an OPD's
  indicators with their latest values.
* Incidents (``/api/v1/incidents``): added here when that route is installed.

Shapes are the ones the routes write (``store.indicators.value_dict`` and the route bodies);
the live schemathesis run checks every answer against them.
"""

from __future__ import annotations

from typing import Any

from dashboard.api.openapi_schemas import JSON, NULL_NUM, NULL_STR, error_response, ref
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
                    _path_param("period", "YYYY-MM, YYYY-Qn or YYYY.", "2026-10"),
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("IndicatorWrite")}},
                },
                "responses": {
                    "201": {
                        "description": "Created.",
                        "content": {JSON: {"schema": ref("IndicatorWriteResult")}},
                    },
                    "200": {
                        "description": "Updated, or unchanged (the same value).",
                        "content": {JSON: {"schema": ref("IndicatorWriteResult")}},
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
        "name": "Indikator OPD",
        "description": "Nilai indikator kinerja OPD dari sistem OPD sendiri (kunci per OPD). / "
        "OPD performance indicator values from the OPD's own systems (a key per OPD).",
    },
]


def feed_paths() -> dict[str, Any]:
    return {**indicator_paths()}
