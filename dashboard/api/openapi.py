"""``GET /api/openapi.json``: one OpenAPI 3.1 document for every machine API of Pantau.

Public (it describes the interfaces and holds no data). Covers Open311 GeoReport v2, the sensor
readings intake, the SMS gateway webhook, the public report intake and status, ``/metrics`` and
``/healthz``, plus the city-data feeds (incidents, OPD indicators) when their modules are
installed. The schemas live in :mod:`dashboard.api.openapi_schemas`; the human-readable page
built from this document is ``/api/docs`` (:mod:`dashboard.api.apidocs`).

``build_document()`` is a pure function of the settings (the server list is relative, ``/``),
so tests and the docs page use exactly what the route serves.
"""

from __future__ import annotations

import copy
import logging
from functools import lru_cache
from typing import Any

from flask import Blueprint, jsonify

from dashboard import auth
from dashboard.api import openapi_feeds as feeds
from dashboard.api import openapi_schemas as sch
from dashboard.api.openapi_schemas import (
    FORM,
    JSON,
    XML,
    common_errors,
    error_response,
    query_param,
    ref,
)

logger = logging.getLogger(__name__)

PATH = "/api/openapi.json"
VERSION = "1.0.0"

bp = Blueprint("pantau_openapi", __name__)
auth.allow_route(PATH, auth.PUBLIC)  # describes the APIs; holds no data

TAGS = [
    {
        "name": "Open311",
        "description": "Laporan warga lewat standar Open311 GeoReport v2 (JSON dan XML). / "
        "Citizen service requests through the Open311 GeoReport v2 standard.",
    },
    {
        "name": "Sensor",
        "description": "Data sensor tinggi muka air, curah hujan, udara dari gateway. / "
        "Water-level, rain and air sensor readings from gateways.",
    },
    {
        "name": "SMS",
        "description": "Webhook gateway SMS E-Lapor. / The E-Lapor SMS gateway webhook.",
    },
    {
        "name": "Pengaduan",
        "description": "Formulir pengaduan publik dan status laporan. / The public report "
        "form's API and report status by tracking ID.",
    },
    {
        "name": "Operasi",
        "description": "Pemantauan: kesehatan, metrik Prometheus, dokumen ini. / Operations: "
        "health check, Prometheus metrics, this document.",
    },
]

DESCRIPTION = """\
**Bahasa Indonesia.** Dokumen ini menjelaskan semua API mesin Pantau: Open311 GeoReport v2,
data sensor, webhook SMS, pengaduan publik, kejadian dan nilai indikator OPD, serta metrik dan pemeriksaan
kesehatan. Setiap
operasi mencantumkan cara autentikasinya (kunci API per gateway/instansi), bentuk permintaan dan
jawaban, dan jawaban kesalahan. Jawaban `429` membawa `Retry-After` (detik); `503` berarti
basis data tidak terjangkau dan tidak ada yang disimpan: kirim ulang.

**English.** Every machine API of Pantau: Open311 GeoReport v2, sensor readings, the SMS
gateway webhook, the public report intake, incidents and OPD indicator values, metrics and the health check.
Each operation names
its authentication (a key per gateway or agency), its request and response shapes and its
errors. Errors are JSON `{"error": ..., "message": ...}`, Open311 errors
`[{"code": ..., "description": ...}]` (XML `<errors><error>` for `.xml`). `429` carries
`Retry-After` (seconds); `503` means the database is unreachable and nothing was stored: send
the request again. JSON bodies are bounded (size `PANTAU_JSON_MAX_BYTES`, nesting
`PANTAU_JSON_MAX_DEPTH`).
"""


def _fmt_param() -> dict[str, Any]:
    return {
        "name": "format",
        "in": "path",
        "required": True,
        "description": "Response format.",
        "schema": {"type": "string", "enum": ["json", "xml"]},
    }


def _o311_ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": schema}, XML: {"schema": sch.XML_TEXT}},
    }


def _o311_not_found(what: str) -> dict[str, Any]:
    return error_response(f"{what}, or a format other than json/xml.", open311=True)


# --------------------------------------------------------------------------------------------
# Open311 GeoReport v2
# --------------------------------------------------------------------------------------------
def open311_paths() -> dict[str, Any]:
    base = "/open311/v2"
    discovery = {
        "tags": ["Open311"],
        "summary": "Discovery: where the endpoints are and which formats they speak",
        "parameters": [_fmt_param()],
        "responses": {
            "200": _o311_ok(ref("Open311Discovery"), "The discovery document."),
            "404": _o311_not_found("Unknown format"),
        },
    }
    return {
        f"{base}/discovery.{{format}}": {
            "get": {**discovery, "operationId": "open311Discovery"},
        },
        "/open311/discovery.{format}": {
            "get": {**copy.deepcopy(discovery), "operationId": "open311DiscoveryRoot"},
        },
        f"{base}/services.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "operationId": "open311Services",
                "summary": "List the service types (complaint categories and their OPD)",
                "parameters": [_fmt_param()],
                "responses": {
                    "200": _o311_ok(
                        {"type": "array", "items": ref("Open311Service")}, "Every service."
                    ),
                    "404": _o311_not_found("Unknown format"),
                    **common_errors(open311=True),
                },
            }
        },
        f"{base}/services/{{service_code}}.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "operationId": "open311ServiceDefinition",
                "summary": "A service's definition (its extra attributes: privacy)",
                "parameters": [
                    {
                        "name": "service_code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "examples": ["road_damage"]},
                    },
                    _fmt_param(),
                ],
                "responses": {
                    "200": _o311_ok(ref("Open311ServiceDefinition"), "The definition."),
                    "404": _o311_not_found("Unknown service_code"),
                    "400": error_response("Malformed input.", open311=True),
                },
            }
        },
        f"{base}/requests.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "operationId": "open311ListRequests",
                "summary": "Search public service requests (newest first, at most 1000)",
                "description": "Without dates: the last 90 days. `service_request_id` overrides "
                "every other filter. Confidential reports are never listed.",
                "parameters": [
                    _fmt_param(),
                    query_param("service_request_id", "Comma-separated request ids."),
                    query_param("service_code", "Comma-separated service codes."),
                    query_param(
                        "start_date",
                        "W3C date-time, e.g. 2026-11-01T00:00:00+07:00 (naive: UTC).",
                    ),
                    query_param("end_date", "W3C date-time; at most 90 days after start_date."),
                    query_param("status", "open, closed or open,closed."),
                ],
                "responses": {
                    "200": _o311_ok(
                        {"type": "array", "items": ref("Open311Request")}, "Matching requests."
                    ),
                    "404": _o311_not_found("Unknown format"),
                    **common_errors(open311=True),
                },
            },
            "post": {
                "tags": ["Open311"],
                "operationId": "open311CreateRequest",
                "summary": "Create a service request (a report), with an api_key",
                "description": "Form-encoded as the specification says (a JSON object is "
                "accepted too). The report is created at once (no token): the answer holds its "
                "`service_request_id`, the tracking ID citizens use on /lapor/status.",
                "security": [{"open311ApiKey": []}],
                "parameters": [_fmt_param()],
                "requestBody": {
                    "required": True,
                    "content": {
                        FORM: {"schema": ref("Open311NewRequest")},
                        JSON: {"schema": ref("Open311NewRequest")},
                    },
                },
                "responses": {
                    "201": {
                        **_o311_ok(
                            {"type": "array", "items": ref("Open311Created"), "minItems": 1},
                            "Created.",
                        ),
                        "links": {
                            "GetRequest": {
                                "operationId": "open311GetRequest",
                                "parameters": {
                                    "service_request_id": "$response.body#/0/service_request_id",
                                    "format": "json",
                                },
                            }
                        },
                    },
                    "403": error_response(
                        "api_key missing or not one of PANTAU_OPEN311_API_KEYS.", open311=True
                    ),
                    "404": _o311_not_found("Unknown format"),
                    **common_errors(open311=True, body=True),
                },
            },
        },
        f"{base}/requests/{{service_request_id}}.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "operationId": "open311GetRequest",
                "summary": "One service request by its id (a list of one, as the spec says)",
                "parameters": [
                    {
                        "name": "service_request_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "examples": ["LPR-2611-7K3Q9M"]},
                    },
                    _fmt_param(),
                ],
                "responses": {
                    "200": _o311_ok(
                        {"type": "array", "items": ref("Open311Request"), "maxItems": 1},
                        "The request.",
                    ),
                    "404": _o311_not_found("No public request with this id"),
                    **common_errors(open311=True),
                },
            }
        },
        f"{base}/tokens/{{token_id}}.{{format}}": {
            "get": {
                "tags": ["Open311"],
                "operationId": "open311GetToken",
                "summary": "Tokens: never issued (requests are created synchronously): 404",
                "parameters": [
                    {
                        "name": "token_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    _fmt_param(),
                ],
                "responses": {"404": _o311_not_found("Always: no tokens are issued")},
            }
        },
    }


# --------------------------------------------------------------------------------------------
# Sensors, SMS, public intake, operations
# --------------------------------------------------------------------------------------------
def sensor_paths() -> dict[str, Any]:
    result = {"content": {JSON: {"schema": ref("SensorResult")}}}
    return {
        "/api/sensors/readings": {
            "post": {
                "tags": ["Sensor"],
                "operationId": "postSensorReadings",
                "summary": "Send sensor readings (one, or a list of up to 1000)",
                "description": "The same JSON as over MQTT. Everything in `accepted` is "
                "committed; `rejected` items (index and reason) will not succeed when re-sent "
                "as they are. A reading re-sent with the same sensor and ts is stored once.",
                "security": [{"sensorBearer": []}, {"sensorApiKey": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": {
                                "oneOf": [
                                    ref("SensorReading"),
                                    {
                                        "type": "array",
                                        "items": ref("SensorReading"),
                                        "minItems": 1,
                                        "maxItems": 1000,
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "At least one reading accepted.", **result},
                    "422": {"description": "Every reading was rejected.", **result},
                    "401": {
                        **error_response("No API key, or a wrong one."),
                        "headers": {
                            "WWW-Authenticate": {"schema": {"type": "string"}},
                        },
                    },
                    "413": error_response("Body over 256 KiB or more than 1000 readings."),
                    "415": error_response("Content-Type is not application/json."),
                    **{k: v for k, v in common_errors(body=True).items() if k != "413"},
                    "503": error_response(
                        "No API key configured (PANTAU_SENSOR_API_KEYS), or the database is "
                        "unreachable: nothing was stored; send again.",
                        retry=False,
                    ),
                },
            }
        }
    }


def sms_paths() -> dict[str, Any]:
    body = {"schema": ref("SmsDelivery")}
    return {
        "/api/sms": {
            "post": {
                "tags": ["SMS"],
                "operationId": "postSms",
                "summary": "SMS gateway webhook: one delivered SMS",
                "description": "Idempotent on the gateway's message id: a redelivery answers "
                "`duplicate` and stores nothing new.",
                "security": [{"smsToken": []}],
                "requestBody": {"required": True, "content": {JSON: body, FORM: body}},
                "responses": {
                    "200": {
                        "description": "Stored (or a redelivery).",
                        "content": {JSON: {"schema": ref("SmsResult")}},
                    },
                    "403": error_response("Wrong or missing token."),
                    "404": error_response("The webhook is off (no PANTAU_SMS_WEBHOOK_TOKEN)."),
                    **common_errors(body=True),
                },
            }
        }
    }


def intake_paths() -> dict[str, Any]:
    report = {"schema": ref("NewReport")}
    multipart = {
        "schema": {
            "allOf": [ref("NewReport")],
            "properties": {"photo": {"type": "string", "contentMediaType": "image/jpeg"}},
        },
        "encoding": {"photo": {"contentType": "image/jpeg, image/png"}},
    }
    return {
        "/api/lapor": {
            "post": {
                "tags": ["Pengaduan"],
                "operationId": "postReport",
                "summary": "Submit a report (the public web form without JavaScript)",
                "requestBody": {
                    "required": True,
                    "content": {JSON: report, "multipart/form-data": multipart, FORM: report},
                },
                "responses": {
                    "201": {
                        "description": "Created; keep the tracking ID.",
                        "content": {JSON: {"schema": ref("ReportCreated")}},
                        "links": {
                            "Status": {
                                "operationId": "getReportStatus",
                                "parameters": {"tracking_id": "$response.body#/tracking_id"},
                            }
                        },
                    },
                    "400": error_response("Invalid fields (`errors`: field -> why)."),
                    "413": error_response("Photo or body too large."),
                    **{k: v for k, v in common_errors(body=True).items() if k != "400"},
                },
            }
        },
        "/api/lapor/{tracking_id}": {
            "get": {
                "tags": ["Pengaduan"],
                "operationId": "getReportStatus",
                "summary": "A report's public status by tracking ID",
                "parameters": [
                    {
                        "name": "tracking_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "examples": ["LPR-2611-7K3Q9M"]},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The report's status.",
                        "content": {JSON: {"schema": ref("ReportStatus")}},
                    },
                    "404": error_response("No report with this tracking ID."),
                    **common_errors(),
                },
            }
        },
    }


def ops_paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": {
                "tags": ["Operasi"],
                "operationId": "healthz",
                "summary": "Liveness and readiness (load balancers, monitoring)",
                "responses": {
                    "200": {"description": "Up.", "content": {JSON: {"schema": ref("Health")}}},
                    "503": {
                        "description": "The database is unreachable.",
                        "content": {JSON: {"schema": ref("Health")}},
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "tags": ["Operasi"],
                "operationId": "metrics",
                "summary": "Ingestion metrics in the Prometheus text format",
                "description": "With the bearer token, or from loopback that no proxy "
                "forwarded. Anyone else gets 404 (the endpoint does not admit it exists).",
                "security": [{"metricsBearer": []}, {}],
                "responses": {
                    "200": {
                        "description": "Prometheus exposition format 0.0.4.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "404": error_response("Not allowed for this caller."),
                    "503": error_response("The database is unreachable.", retry=True),
                },
            }
        },
        PATH: {
            "get": {
                "tags": ["Operasi"],
                "operationId": "openapi",
                "summary": "This document (OpenAPI 3.1)",
                "responses": {
                    "200": {
                        "description": "The document.",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for part in (open311_paths, sensor_paths, sms_paths, intake_paths, feeds.feed_paths, ops_paths):
        paths.update(part())
    components = sch.components()
    components["schemas"].update(feeds.schemas())
    components["securitySchemes"].update(feeds.SECURITY_SCHEMES)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Pantau machine APIs",
            "version": VERSION,
            "summary": "Open311, sensors, SMS and the city's data feeds.",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/", "description": "This Pantau server"}],
        "tags": TAGS[:-1] + feeds.TAGS + TAGS[-1:],
        "paths": paths,
        "components": components,
    }


def build_document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())


@bp.get(PATH)
def openapi_json():
    resp = jsonify(build_document())
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.headers["Access-Control-Allow-Origin"] = "*"  # it holds no data
    return resp
