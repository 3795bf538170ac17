"""Reusable parts of Pantau's OpenAPI 3.1 document: schemas, auth schemes, error answers.

JSON Schema 2020-12 (what OpenAPI 3.1 uses). The shapes are the ones the routes write
(``dashboard/api/open311.py``, ``sensors.py``, ``intake.py``, ``input_limits.py``,
``callback_boundary.py``); ``tests/dashboard/test_openapi_live.py`` runs schemathesis against a
live server, so a route answering anything else than what is written here fails a test.
Routes that validate with a pydantic model take their schema from it (``model_json_schema``,
see ``dashboard/api/openapi.py``); what has no model is written here by hand.
"""

from __future__ import annotations

from typing import Any

from store.complaints import (
    ADDRESS_MAX,
    ADDRESS_MIN,
    CATEGORIES,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    NAME_MAX,
    TITLE_MAX,
)
from store.models import ComplaintStatus, PrivacyMode

JSON = "application/json"
XML = "text/xml"
FORM = "application/x-www-form-urlencoded"

NULL_STR: dict[str, Any] = {"type": ["string", "null"]}
NULL_NUM: dict[str, Any] = {"type": ["number", "null"]}


def query_param(name: str, description: str) -> dict[str, Any]:
    """An optional query parameter passed as text (lists comma-separated)."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
ERROR = {
    "type": "object",
    "description": "Pantau's JSON error. `error` is a stable code (`bad_request`, "
    "`unauthorized`, `too_large`, `too_deep`, `not_found`, `rate_limited`, "
    "`database_unavailable`...), `message` says why in English.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "examples": ["bad_request"]},
        "message": {"type": "string"},
        "retry_after": {"type": "integer", "minimum": 1, "description": "Seconds (429 only)."},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Field -> what is wrong with it.",
        },
    },
}
OPEN311_ERRORS = {
    "type": "array",
    "description": "Open311 errors: one entry per problem; `code` repeats the HTTP status.",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {
            "code": {"type": "integer", "examples": [400]},
            "description": {"type": "string", "examples": ["service_code is required"]},
        },
    },
}
XML_TEXT = {"type": "string", "description": "The same content as XML."}

RETRY_AFTER = {
    "description": "Seconds to wait before sending again.",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


def error_response(description: str, *, open311: bool = False, retry: bool = False) -> dict:
    """A documented error answer: Pantau's JSON error or Open311's error list (+ XML)."""
    content: dict[str, Any] = (
        {JSON: {"schema": ref("Open311Errors")}, XML: {"schema": XML_TEXT}}
        if open311
        else {JSON: {"schema": ref("Error")}}
    )
    out: dict[str, Any] = {"description": description, "content": content}
    if retry:
        out["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return out


def common_errors(*, open311: bool = False, body: bool = False, db: bool = True) -> dict:
    """Answers every API route may give: malformed input (400), rate limit (429), database
    outage (503); with a body also 413 (too large) and 400 (JSON nested too deep)."""
    out = {
        "400": error_response(
            "Malformed input (a value of the wrong type or shape"
            + (", JSON nested deeper than PANTAU_JSON_MAX_DEPTH" if body else "")
            + ").",
            open311=open311,
        ),
        "429": error_response("Rate limit exceeded; wait Retry-After seconds.", retry=True),
    }
    if open311:  # Open311 routes answer their limits in their own shape
        out["429"] = error_response(
            "Rate limit exceeded; wait Retry-After seconds.", open311=True, retry=True
        )
    if body:
        out["413"] = error_response(
            "Body larger than PANTAU_JSON_MAX_BYTES (or the route's own limit).", open311=open311
        )
    if db:
        out["503"] = error_response(
            "The database is unreachable: nothing was read or stored; send it again after "
            "Retry-After seconds.",
            open311=open311,
            retry=True,
        )
    return out


# --------------------------------------------------------------------------------------------
# Open311 GeoReport v2
# --------------------------------------------------------------------------------------------
SERVICE_CODES = sorted(CATEGORIES)
OPEN_CLOSED = {"type": "string", "enum": ["open", "closed"]}

OPEN311 = {
    "Open311Errors": OPEN311_ERRORS,
    "Open311Discovery": {
        "type": "object",
        "required": ["changeset", "contact", "key_service", "endpoints"],
        "properties": {
            "changeset": {"type": "string", "format": "date-time"},
            "contact": {"type": "string"},
            "key_service": {"type": "string"},
            "endpoints": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["specification", "url", "type", "formats"],
                    "properties": {
                        "specification": {"type": "string"},
                        "url": {"type": "string"},
                        "changeset": {"type": "string", "format": "date-time"},
                        "type": {"type": "string", "enum": ["production", "test"]},
                        "formats": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
    "Open311Service": {
        "type": "object",
        "required": ["service_code", "service_name", "metadata", "type"],
        "properties": {
            "service_code": {"type": "string", "enum": SERVICE_CODES},
            "service_name": {"type": "string", "description": "Name in Bahasa Indonesia."},
            "description": {"type": "string", "description": "English name and the OPD."},
            "metadata": {"type": "boolean", "description": "true: see the service definition."},
            "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
            "keywords": {"type": "string"},
            "group": {"type": "string", "description": "The OPD the service is routed to."},
        },
    },
    "Open311ServiceDefinition": {
        "type": "object",
        "required": ["service_code", "attributes"],
        "properties": {
            "service_code": {"type": "string"},
            "attributes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["variable", "code", "datatype", "required", "order"],
                    "properties": {
                        "variable": {"type": "boolean"},
                        "code": {"type": "string"},
                        "datatype": {
                            "type": "string",
                            "enum": [
                                "string",
                                "number",
                                "datetime",
                                "text",
                                "singlevaluelist",
                                "multivaluelist",
                            ],
                        },
                        "required": {"type": "boolean"},
                        "datatype_description": {"type": "string"},
                        "order": {"type": "integer"},
                        "description": {"type": "string"},
                        "values": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key", "name"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "name": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "Open311Request": {
        "type": "object",
        "description": "A service request as the public sees it (confidential reports never "
        "appear; identities never). `status_notes` carries Pantau's detailed status.",
        "required": ["service_request_id", "status", "service_code", "requested_datetime"],
        "properties": {
            "service_request_id": {"type": "string", "examples": ["LPR-2611-7K3Q9M"]},
            "status": OPEN_CLOSED,
            "status_notes": NULL_STR,
            "service_name": NULL_STR,
            "service_code": {"type": "string"},
            "description": NULL_STR,
            "agency_responsible": NULL_STR,
            "service_notice": NULL_STR,
            "requested_datetime": {"type": "string", "format": "date-time"},
            "updated_datetime": {"type": ["string", "null"], "format": "date-time"},
            "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
            "address": NULL_STR,
            "address_id": NULL_STR,
            "zipcode": NULL_STR,
            "lat": NULL_NUM,
            "long": NULL_NUM,
            "media_url": NULL_STR,
        },
    },
    "Open311Created": {
        "type": "object",
        "required": ["service_request_id"],
        "properties": {
            "service_request_id": {"type": "string"},
            "service_notice": NULL_STR,
            "account_id": NULL_STR,
        },
    },
}
_POST_FIELDS: dict[str, Any] = {
    "api_key": {
        "type": "string",
        "description": "Key from PANTAU_OPEN311_API_KEYS (also accepted in the query).",
    },
    "service_code": {"type": "string", "enum": SERVICE_CODES},
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "long": {"type": "number", "minimum": -180, "maximum": 180},
    "address_string": {
        "type": "string",
        "minLength": ADDRESS_MIN,
        "maxLength": ADDRESS_MAX,
        "examples": ["Jl. Jenderal Sudirman depan BCA"],
    },
    "address_id": {
        "type": "string",
        "description": f"Used when address_string is absent (then {ADDRESS_MIN} to "
        f"{ADDRESS_MAX} characters).",
    },
    "attribute[privacy]": {
        "type": "string",
        "enum": [str(p) for p in PrivacyMode],
        "description": "normal; anonymous (identity hidden); confidential (report not public).",
    },
    "email": {"type": "string"},
    "device_id": {"type": "string"},
    "account_id": {"type": "string"},
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "phone": {"type": "string"},
    "description": {
        "type": "string",
        "minLength": DESCRIPTION_MIN,
        "maxLength": DESCRIPTION_MAX,
        "description": "What is wrong (required by Pantau, though optional in the spec).",
        "examples": ["Lubang besar di lajur kiri, berbahaya untuk motor"],
    },
    "media_url": {"type": "string"},
}
#: A location: lat and long, or an address (string or id).
LOCATION_O311 = [
    {"required": ["lat", "long"]},
    {"required": ["address_string"]},
    {"required": ["address_id"]},
]


def nullable_optionals(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON ``null`` is "not given" for every optional field (the routes read it so)."""
    required = set(schema.get("required") or [])
    for name, prop in schema["properties"].items():
        kind = prop.get("type")
        if name not in required and kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            prop["type"] = [*kinds, "null"] if "null" not in kinds else kinds
            if "enum" in prop and None not in prop["enum"]:
                prop["enum"] = [*prop["enum"], None]
    return schema


OPEN311["Open311NewRequest"] = {
    "type": "object",
    "description": "A new service request. A location is required: `lat` and `long`, or "
    "`address_string`, or `address_id`.",
    "required": ["service_code", "description"],
    "anyOf": LOCATION_O311,
    "properties": _POST_FIELDS,
}
nullable_optionals(OPEN311["Open311NewRequest"])

# --------------------------------------------------------------------------------------------
# Sensors
# --------------------------------------------------------------------------------------------
SENSORS = {
    "SensorReading": {
        "type": "object",
        "required": ["sensor", "value"],
        "properties": {
            "sensor": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "Sensor code from the `sensors` table (data/sensors.csv).",
                "examples": ["WL-MUSI-AMP"],
            },
            "ts": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "ISO 8601 with a timezone; left out or null: arrival time. Not before "
                "2000, at most 10 minutes ahead of the server's clock.",
            },
            "value": {
                "type": ["number", "string"],
                "description": "A finite number (a numeric string is accepted), in the "
                "sensor's unit (water level: cm).",
                "examples": [182.5],
            },
        },
    },
    "SensorResult": {
        "type": "object",
        "required": ["accepted", "rejected", "written", "duplicates", "alerts"],
        "properties": {
            "accepted": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "sensor", "ts", "value"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "sensor": {"type": "string"},
                        "ts": {"type": "string", "format": "date-time"},
                        "value": {"type": "number"},
                    },
                },
            },
            "rejected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "reason"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "sensor": NULL_STR,
                        "reason": {"type": "string"},
                    },
                },
            },
            "written": {"type": "integer", "minimum": 0, "description": "New rows stored."},
            "duplicates": {
                "type": "integer",
                "minimum": 0,
                "description": "Accepted readings stored before (same sensor and ts).",
            },
            "alerts": {
                "type": "array",
                "description": "Level alerts this request opened, escalated or closed.",
                "items": {
                    "type": "object",
                    "required": ["sensor", "rule", "severity", "title", "open"],
                    "properties": {
                        "sensor": {"type": "string"},
                        "rule": {"type": "string"},
                        "severity": {"type": "string"},
                        "level": {
                            "type": ["string", "null"],
                            "description": "The word on the kind's scale: waspada, siaga, "
                            "awas (README 'Alert rules').",
                        },
                        "title": {"type": "string"},
                        "value": NULL_NUM,
                        "open": {"type": "boolean"},
                    },
                },
            },
        },
    },
}

# --------------------------------------------------------------------------------------------
# SMS gateway and public intake
# --------------------------------------------------------------------------------------------
_TEXT_OR_NUMBER = {"type": ["string", "number"]}
INTAKE = {
    "SmsDelivery": {
        "type": "object",
        "description": "One SMS as the gateway delivers it. Aliases are accepted: `from`/"
        "`msisdn`/`phone` for `sender`, `message`/`body`/`content` for `text`, `messageId`/"
        "`id`/`sms_id` for `message_id`, `time`/`timestamp`/`received_at` for `sent_at`. "
        "Texts in the form `LAPOR#KATEGORI#LOKASI#ISI` become a report at once; anything else "
        "waits in the operators' triage queue.",
        "required": ["sender", "text", "message_id"],
        "examples": [
            {
                "sender": "+6281234567890",
                "text": "LAPOR#BANJIR#Jl. Merdeka depan kantor pos#Air setinggi lutut",
                "message_id": "gw-20261123-000123",
                "sent_at": "2026-11-23T14:05:00+07:00",
            }
        ],
        "properties": {
            "sender": _TEXT_OR_NUMBER,
            "text": {
                "type": "string",
                "minLength": 1,
                "description": "Longer texts are cut to 1600 characters.",
            },
            "message_id": _TEXT_OR_NUMBER,
            "sent_at": {
                "type": ["string", "number", "null"],
                "description": "ISO 8601 (no zone: UTC) or Unix seconds/milliseconds; "
                "left out or null: arrival time.",
            },
            "token": {
                "type": ["string", "number", "null"],
                "description": "The gateway secret, if not in the X-Pantau-Token header.",
            },
        },
    },
    "SmsResult": {
        "type": "object",
        "required": ["status", "sms_id"],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["created", "triage", "duplicate"],
                "description": "created: a report; triage: queued for an operator; "
                "duplicate: this message id was delivered before (nothing new stored).",
            },
            "sms_id": {"type": "integer"},
            "tracking_id": NULL_STR,
        },
    },
    "NewReport": {
        "type": "object",
        "description": "A report from the public web form (JSON or multipart with a photo). "
        "A location is required: lat and lon, or address.",
        "required": ["category", "description"],
        "anyOf": [{"required": ["lat", "lon"]}, {"required": ["address"]}],
        "properties": {
            "category": {"type": "string", "enum": SERVICE_CODES},
            "description": {
                "type": "string",
                "minLength": DESCRIPTION_MIN,
                "maxLength": DESCRIPTION_MAX,
                "examples": ["Lubang besar di lajur kiri, berbahaya untuk motor"],
            },
            "title": {"type": "string", "maxLength": TITLE_MAX},
            "lat": {
                "type": ["number", "string"],
                "minimum": -90,
                "maximum": 90,
                "description": "WGS84; within 60 km of the city's map centre.",
            },
            "lon": {"type": ["number", "string"], "minimum": -180, "maximum": 180},
            "address": {
                "type": "string",
                "minLength": ADDRESS_MIN,
                "maxLength": ADDRESS_MAX,
                "examples": ["Jl. Jenderal Sudirman depan BCA"],
            },
            "privacy": {"type": "string", "enum": [str(p) for p in PrivacyMode]},
            "name": {"type": "string", "maxLength": NAME_MAX},
            "contact": {
                "type": "string",
                "description": "An e-mail address or a phone number (08..., +62...).",
            },
        },
    },
    "ReportCreated": {
        "type": "object",
        "required": ["tracking_id", "status"],
        "properties": {
            "tracking_id": {"type": "string"},
            "status": {"type": "string", "enum": [str(s) for s in ComplaintStatus]},
        },
    },
    "ReportStatus": {
        "type": "object",
        "description": "What anyone holding the tracking ID may see; a confidential report "
        "shows only its status.",
        "required": ["tracking_id", "status", "status_label", "created_at", "updated_at"],
        "properties": {
            "tracking_id": {"type": "string"},
            "status": {"type": "string", "enum": [str(s) for s in ComplaintStatus]},
            "status_label": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "category": {"type": "string"},
            "category_label": {"type": "string"},
            "description": NULL_STR,
            "address": NULL_STR,
            "lat": NULL_NUM,
            "lon": NULL_NUM,
            "opd": NULL_STR,
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ts", "status"],
                    "properties": {
                        "ts": {"type": "string", "format": "date-time"},
                        "status": {"type": "string"},
                        "note": NULL_STR,
                    },
                },
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "database"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "error"]},
            "database": {"type": "string", "enum": ["ok", "unreachable"]},
            "cameras": {"type": "integer", "minimum": 0},
            "cameras_online": {"type": "integer", "minimum": 0},
            "detail": {"type": "string"},
        },
    },
}

SECURITY_SCHEMES = {
    "open311ApiKey": {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "Open311 `api_key` (PANTAU_OPEN311_API_KEYS). The specification sends "
        "it as a form field of the POST body; the query works too.",
    },
    "sensorBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer KEY`, a key from PANTAU_SENSOR_API_KEYS "
        "(one per gateway).",
    },
    "sensorApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same sensor gateway key in a header of its own.",
    },
    "smsToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Pantau-Token",
        "description": "The SMS gateway's shared secret (PANTAU_SMS_WEBHOOK_TOKEN); may also "
        "be sent as the `token` field of the body.",
    },
    "metricsBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer PANTAU_METRICS_TOKEN`. Requests from loopback "
        "that no proxy forwarded need no token (PANTAU_METRICS_LOOPBACK).",
    },
}


nullable_optionals(INTAKE["NewReport"])


def components() -> dict[str, Any]:
    return {
        "schemas": {"Error": ERROR, **OPEN311, **SENSORS, **INTAKE},
        "securitySchemes": dict(SECURITY_SCHEMES),
        "headers": {"RetryAfter": RETRY_AFTER},
    }
