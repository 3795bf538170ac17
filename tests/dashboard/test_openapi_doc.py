"""The OpenAPI document (``/api/openapi.json``) and its HTML reference (``/api/docs``):

* the document is valid OpenAPI 3.1 (openapi-spec-validator);
* every machine route the app serves is in it (Open311, sensors, SMS, public reports, metrics,
  health, and the city-data feeds under ``/api/v1``): a new route without documentation fails;
* the reference page lists every operation, in Bahasa Indonesia and English, and loads nothing
  from another host;
* regressions for what schemathesis found (see test_openapi_live.py): each answer is checked
  against the document with the same validator the live run uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from pantau.settings import Settings
from store.db import Database

MACHINE_PREFIXES = ("/open311/", "/api/sensors/", "/api/sms", "/api/lapor", "/api/v1/")
MACHINE_EXACT = ("/metrics", "/healthz", "/api/openapi.json")


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator:
    from dashboard.app import create_app

    var = tmp_path_factory.mktemp("openapi") / "var"
    settings = Settings(
        var_dir=var,
        database_url="",
        simulate_cameras=0,
        workers=1,
        secret_key="openapi-test",
        ingest_enabled=False,
        open311_api_keys="doc-key",
    )
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    application = create_app(settings, db)
    yield application
    db.dispose()


@pytest.fixture(scope="module")
def doc(app) -> dict:
    resp = app.server.test_client().get("/api/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def openapi_path(rule: str) -> str:
    """Flask ``/open311/v2/services/<code>.<fmt>`` -> a regex matching the documented path."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "{}", rule)


def documented(doc: dict) -> set[tuple[str, str]]:
    return {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, item in doc["paths"].items()
        for method in item
    }


def test_document_is_valid_openapi_31(doc):
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_machine_route_is_documented(app, doc):
    have = documented(doc)
    missing = []
    for rule in app.server.url_map.iter_rules():
        if not (rule.rule.startswith(MACHINE_PREFIXES) or rule.rule in MACHINE_EXACT):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (openapi_path(rule.rule), method) not in have:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes missing from /api/openapi.json: {missing}"


def test_auth_schemes_and_errors_are_described(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["sensorBearer"] == {
        **schemes["sensorBearer"],
        "type": "http",
        "scheme": "bearer",
    }
    assert schemes["smsToken"]["in"] == "header" and schemes["smsToken"]["name"] == "X-Pantau-Token"
    assert schemes["open311ApiKey"]["name"] == "api_key"
    post = doc["paths"]["/open311/v2/requests.{format}"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert post["security"] == [{"open311ApiKey": []}]
    sensors = doc["paths"]["/api/sensors/readings"]["post"]
    assert {"200", "400", "401", "413", "415", "422", "429", "503"} <= set(sensors["responses"])
    assert "Retry-After" in sensors["responses"]["429"]["headers"]
    for path, item in doc["paths"].items():  # Open311 errors are Open311's list, JSON or XML
        if path.startswith("/open311/"):
            for op in item.values():
                for code, resp in op["responses"].items():
                    if code.startswith(("4", "5")):
                        schema = resp["content"]["application/json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/Open311Errors"}, path


def test_docs_page_lists_every_operation_in_both_languages(app, doc):
    client = app.server.test_client()
    page_id = client.get("/api/docs").get_data(as_text=True)
    page_en = client.get("/api/docs?lang=en").get_data(as_text=True)
    assert "Dokumentasi API Pantau" in page_id and "Pantau API reference" in page_en
    assert "Kunci API diberikan" in page_id and "API keys are issued" in page_en
    for path, item in doc["paths"].items():
        for method in item:
            assert f"{method.upper()}</span> <code>{path}</code>" in page_id, (method, path)
    for name in doc["components"]["schemas"]:
        assert f"id='schema-{name}'" in page_en
    # nothing from another host: an intranet without internet renders it whole
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page_id + page_en)
    assert (Path("assets/vendor/bootstrap/bootstrap.min.css")).exists()


# --------------------------------------------------------------------------------------------
# regressions found by the schemathesis run
def error_schema(doc: dict, name: str) -> dict:
    return {**doc["components"]["schemas"][name], "$defs": doc["components"]["schemas"]}


def test_open311_paths_the_guard_refuses_answer_open311_errors(app, doc):
    """A path the access guard refuses (a backslash, ``//``) under /open311 answered Pantau's
    ``{"error": "not found"}`` where the document (and Open311 clients) expect the error list."""
    client = app.server.test_client()
    for url in (
        "/open311/v2/services.%5C.json",
        "/open311/v2/requests/a%5Cb.json",
        "/open311/v2/tokens/x%5C.xml",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        body = resp.get_json()
        jsonschema.validate(body, doc["components"]["schemas"]["Open311Errors"])
        assert body[0]["code"] == 404
