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


def validate_answer(doc: dict, path: str, method: str, resp) -> None:  # type: ignore[no-untyped-def]
    """``resp`` (a Flask test response) against what the document says for its status."""
    op = doc["paths"][path][method]
    documented_answer = op["responses"].get(str(resp.status_code))
    assert documented_answer is not None, (path, method, resp.status_code, resp.data[:300])
    media = resp.mimetype
    content = documented_answer.get("content") or {}
    assert media in content, (path, media, list(content))
    if media == "application/json":
        root = {"components": doc["components"], **content[media]["schema"]}
        jsonschema.Draft202012Validator(root).validate(resp.get_json())
    for header in documented_answer.get("headers") or {}:
        assert header in resp.headers, (path, header)


def unreachable_database(kind: str, tmp: Path) -> Database:
    if kind == "postgresql":  # nothing listens there (a port of this test's own range)
        return Database("postgresql+psycopg://postgres@127.0.0.1:18599/none?connect_timeout=2")
    (tmp / "pantau.db").mkdir()  # the database "file" cannot be opened: a directory
    return Database(f"sqlite:///{tmp}/pantau.db")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_database_outage_is_503_with_retry_after_everywhere(app, doc, tmp_path, kind):
    """Found by reading the document against the code: a database outage on Open311, the SMS
    webhook and the public report intake was a JSON 500, on /metrics an HTML 500 (the sensor
    and /api/v1 routes already answered 503). Every operation that documents 503 now answers it, with Retry-After and the
    documented body, when the database cannot be reached."""
    server = app.server
    working = server.config["PANTAU_DB"]
    with working.session() as s:
        from store.api_keys import create_key

        _, token = create_key(s, f"outage-{kind}", ["indicators:*", "incidents:*"])
    keys = dict(
        sensor_api_keys="outage-sensor", sms_webhook_token="outage-sms", open311_api_keys="doc-key"
    )
    broken_settings = server.config["PANTAU_SETTINGS"].model_copy(update=keys)
    calls = [
        ("/open311/v2/services.{format}", "get", "/open311/v2/services.json", {}),
        ("/open311/v2/requests.{format}", "get", "/open311/v2/requests.json", {}),
        (
            "/open311/v2/requests/{service_request_id}.{format}",
            "get",
            "/open311/v2/requests/LPR-2611-T2DTQCE9.xml",
            {},
        ),
        (
            "/open311/v2/requests.{format}",
            "post",
            "/open311/v2/requests.json",
            {
                "data": {
                    "api_key": "doc-key",
                    "service_code": "road_damage",
                    "address_string": "Jl. Jenderal Sudirman 12",
                    "description": "Lubang besar di lajur kiri",
                }
            },
        ),
        (
            "/api/sensors/readings",
            "post",
            "/api/sensors/readings",
            {
                "json": {"sensor": "WL-MUSI-AMP", "value": 182.5},
                "headers": {"Authorization": "Bearer outage-sensor"},
            },
        ),
        (
            "/api/sms",
            "post",
            "/api/sms",
            {
                "json": {
                    "sender": "081234567890",
                    "text": "LAPOR#BANJIR#Jl. Merdeka#Air naik",
                    "message_id": "m-1",
                },
                "headers": {"X-Pantau-Token": "outage-sms"},
            },
        ),
        (
            "/api/lapor",
            "post",
            "/api/lapor",
            {
                "json": {
                    "category": "road_damage",
                    "description": "Lubang besar di lajur kiri",
                    "address": "Jl. Jenderal Sudirman 12",
                }
            },
        ),
        ("/api/lapor/{tracking_id}", "get", "/api/lapor/LPR-2611-T2DTQCE9", {}),
        (
            "/api/v1/indicators/{opd}/{code}/{period}",
            "put",
            "/api/v1/indicators/DPMPTSP/izin_tepat_waktu/2026-10",
            {"json": {"value": 97.5}, "headers": {"Authorization": f"Bearer {token}"}},
        ),
        (
            "/api/v1/indicators/{opd}",
            "get",
            "/api/v1/indicators/DPMPTSP",
            {"headers": {"Authorization": f"Bearer {token}"}},
        ),
        (
            "/api/v1/incidents",
            "get",
            "/api/v1/incidents",
            {"headers": {"Authorization": f"Bearer {token}"}},
        ),
        ("/healthz", "get", "/healthz", {}),
        ("/metrics", "get", "/metrics", {}),  # from loopback (the test client's address)
    ]
    broken = unreachable_database(kind, tmp_path)
    saved = server.config["PANTAU_SETTINGS"]
    server.config.update(PANTAU_DB=broken, PANTAU_SETTINGS=broken_settings)
    server.extensions.pop("pantau_complaints", None)  # the service holds the database
    server.extensions.pop("pantau_rate_limits", None)
    try:
        client = server.test_client()
        for path, method, url, kwargs in calls:
            resp = getattr(client, method)(url, **kwargs)
            assert resp.status_code == 503, (url, resp.status_code, resp.data[:300])
            assert "503" in doc["paths"][path][method]["responses"], path
            validate_answer(doc, path, method, resp)
            if path != "/healthz":
                assert int(resp.headers["Retry-After"]) > 0, url
    finally:
        server.config.update(PANTAU_DB=working, PANTAU_SETTINGS=saved)
        server.extensions.pop("pantau_complaints", None)
        broken.dispose()


def test_open311_xml_errors_stay_well_formed_xml(app):
    """Open311 errors echo the request's text (``service_code '…' not found``); a control
    character in it (``%01``) made the ``.xml`` answer malformed XML that no parser reads.
    Characters XML 1.0 forbids are dropped now; the rest of the message stays."""
    from xml.etree import ElementTree as ET

    client = app.server.test_client()
    answers = [
        client.get("/open311/v2/services/road%01damage.xml"),
        client.get("/open311/v2/requests/LPR%01%08x.xml"),
        client.post(
            "/open311/v2/requests.xml", data={"api_key": "doc-key", "service_code": "x\x02y"}
        ),
    ]
    for resp in answers:
        assert resp.status_code in (400, 404) and resp.mimetype == "text/xml"
        root = ET.fromstring(resp.data)  # raises on malformed XML
        description = root.find("error/description").text
        assert "not found" in description and "\x01" not in description
    assert "roaddamage" in ET.fromstring(answers[0].data).find("error/description").text


def test_open311_api_key_of_the_wrong_type_in_the_body_is_refused(app):
    """Found by schemathesis: a JSON body whose ``api_key`` was 0, false or [] fell back to the
    query's key and created a report; a body key that is not text is now refused (403), and
    one that is absent or null still lets the query's key through."""
    client = app.server.test_client()
    report = {
        "service_code": "road_damage",
        "address_string": "Jl. Jenderal Sudirman 12",
        "description": "Lubang besar di lajur kiri",
    }
    for wrong in (0, False, [], {}):
        resp = client.post(
            "/open311/v2/requests.json?api_key=doc-key", json={**report, "api_key": wrong}
        )
        assert resp.status_code == 403, (wrong, resp.status_code)
    for absent in ({}, {"api_key": None}):
        resp = client.post("/open311/v2/requests.json?api_key=doc-key", json={**report, **absent})
        assert resp.status_code == 201, (absent, resp.data)


def test_rate_limited_answers_match_the_document(tmp_path):
    """Each rate limit answers 429 with Retry-After and the documented body (Open311 in its
    own error list, the others as Pantau's JSON error)."""
    from dashboard.app import create_app
    from store.api_keys import create_key
    from store.seed import seed_reference

    settings = Settings(
        var_dir=tmp_path / "var",
        database_url="",
        simulate_cameras=0,
        workers=1,
        secret_key="rate-test",
        ingest_enabled=False,
        sensor_api_keys="rate-sensor",
        complaint_lookup_limit=1,
        complaint_submit_limit=1,
        sensor_rate_limit=1,
        api_key_rate_limit=1,
    )
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    with db.session() as s:
        seed_reference(s)
        _, token = create_key(s, "rate-test", ["indicators:*", "incidents:*"])
    application = create_app(settings, db)
    doc = application.server.test_client().get("/api/openapi.json").get_json()
    reading = {"sensor": "WL-MUSI-AMP", "value": 120.0}
    report = {
        "category": "road_damage",
        "description": "Lubang besar di lajur kiri",
        "address": "Jl. Jenderal Sudirman 12",
    }
    bearer = {"Authorization": f"Bearer {token}"}
    sensor = {"json": reading, "headers": {"X-API-Key": "rate-sensor"}}
    # (path, method, url, kwargs, expected status): public reads share one limit per address
    calls = [
        ("/open311/v2/services.{format}", "get", "/open311/v2/services.xml", {}, 200),
        ("/api/lapor/{tracking_id}", "get", "/api/lapor/LPR-2611-T2DTQCE9", {}, 429),
        ("/open311/v2/services.{format}", "get", "/open311/v2/services.json", {}, 429),
        ("/open311/v2/requests.{format}", "get", "/open311/v2/requests.xml", {}, 429),
        ("/api/lapor", "post", "/api/lapor", {"json": report}, 201),
        ("/api/lapor", "post", "/api/lapor", {"json": report}, 429),
        ("/api/sensors/readings", "post", "/api/sensors/readings", sensor, 200),
        ("/api/sensors/readings", "post", "/api/sensors/readings", sensor, 429),
        ("/api/v1/incidents", "get", "/api/v1/incidents", {"headers": bearer}, 200),
        ("/api/v1/incidents", "get", "/api/v1/incidents?kind=fire", {"headers": bearer}, 429),
    ]
    try:
        client = application.server.test_client()
        for path, method, url, kwargs, expected in calls:
            resp = getattr(client, method)(url, **kwargs)
            assert resp.status_code == expected, (url, resp.status_code, resp.data[:200])
            validate_answer(doc, path, method, resp)
            if expected == 429:
                assert int(resp.headers["Retry-After"]) >= 1
    finally:
        db.dispose()


def test_sms_body_token_of_the_wrong_type_is_refused(app):
    """Found by schemathesis: a JSON body whose ``token`` was a list or a boolean was ignored
    when the header held the right token; a body token that is not text or a number is now
    refused (403) whatever the header says. The header alone still works."""
    server = app.server
    saved = server.config["PANTAU_SETTINGS"]
    server.config["PANTAU_SETTINGS"] = saved.model_copy(update={"sms_webhook_token": "sms-doc"})
    try:
        client = server.test_client()
        sms = {
            "sender": "081234567890",
            "text": "Jalan rusak di depan sekolah",
            "message_id": "t-1",
        }
        for wrong in ([], ["sms-doc"], True, {"x": 1}):
            resp = client.post(
                "/api/sms", json={**sms, "token": wrong}, headers={"X-Pantau-Token": "sms-doc"}
            )
            assert resp.status_code == 403, (wrong, resp.status_code)
        resp = client.post("/api/sms", json=sms, headers={"X-Pantau-Token": "sms-doc"})
        assert resp.status_code == 200 and resp.get_json()["status"] == "triage"
    finally:
        server.config["PANTAU_SETTINGS"] = saved


def test_wrong_method_on_an_api_path_is_a_json_405(app):
    """Found by schemathesis (unsupported_method): ``GET /api/sensors/readings`` (a POST-only
    route) fell through to Dash's catch-all page route and answered the HTML page shell with
    200. API paths answer JSON: 405 with the methods the path has in ``Allow``."""
    client = app.server.test_client()
    for url, method in (
        ("/api/sensors/readings", "POST"),
        ("/api/sms", "POST"),
        ("/api/lapor", "POST"),
        ("/api/v1/incidents/polresta/LP-1", "PATCH"),
        ("/api/v1/indicators/DPMPTSP/izin_tepat_waktu/2026-10", "PUT"),
    ):
        resp = client.get(url)
        assert resp.status_code == 405 and resp.mimetype == "application/json", url
        assert method in resp.headers["Allow"], (url, resp.headers["Allow"])
    resp = client.get("/open311/v2/no-such-thing")
    assert resp.status_code == 404 and resp.get_json()[0]["code"] == 404
    assert client.get("/cctv").status_code == 200  # pages are pages still
