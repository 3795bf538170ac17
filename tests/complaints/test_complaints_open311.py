"""Open311 GeoReport v2 conformance, written from the specification
(https://wiki.open311.org/GeoReport_v2): formats (JSON and XML, UTF-8, XML declaration),
required fields, POST with api_key, GET filters, the 90-day default window, request by id,
errors as a list of {code, description}; plus Pantau's privacy rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from complaints_helpers import API_KEY, report

from dashboard.api.intake import service as app_service
from store.complaints import ComplaintService

BASE = "/open311/v2"
FORMATS = ("json", "xml")
SERVICE_FIELDS = {
    "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
}  # fmt: skip
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
}  # fmt: skip


def parse(resp, fmt: str):
    """The body as Python: lists of dicts for JSON and XML alike (XML children -> keys)."""
    if fmt == "json":
        assert resp.content_type.startswith("application/json")
        return json.loads(resp.get_data(as_text=True))
    assert resp.content_type.startswith("text/xml")
    raw = resp.get_data()
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(raw)


def xml_items(root: ET.Element) -> list[dict[str, str | None]]:
    return [{child.tag: child.text for child in item} for item in root]


def assert_error(resp, fmt: str, status: int) -> str:
    assert resp.status_code == status
    body = parse(resp, fmt)
    if fmt == "json":
        assert isinstance(body, list) and body
        assert body[0]["code"] == status and body[0]["description"]
        return body[0]["description"]
    assert body.tag == "errors"
    err = body.find("error")
    assert err.findtext("code") == str(status) and err.findtext("description")
    return err.findtext("description")


def iso_with_zone(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} lacks a timezone"
    return parsed


@pytest.fixture
def svc(app) -> ComplaintService:
    with app.server.app_context():
        return app_service()


def post(client, fmt="json", **fields):
    data = {
        "api_key": API_KEY,
        "service_code": "road_damage",
        "lat": "-2.9761",
        "long": "104.7451",
        "description": "Jalan berlubang di depan sekolah, tolong segera ditambal.",
    }
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=data)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(client, fmt):
    resp = client.get(f"{BASE}/discovery.{fmt}")
    assert resp.status_code == 200
    body = parse(resp, fmt)
    if fmt == "json":
        ep = body["endpoints"][0]
        assert body["contact"] and body["changeset"]
        assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert ep["url"].endswith("/open311/v2") and ep["type"] == "production"
        assert set(ep["formats"]) == {"text/xml", "application/json"}
    else:
        assert body.tag == "discovery"
        ep = body.find("endpoints/endpoint")
        assert ep.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
        assert {f.text for f in ep.findall("formats/format")} == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_list(client, fmt):
    resp = client.get(f"{BASE}/services.{fmt}")
    assert resp.status_code == 200
    body = parse(resp, fmt)
    items = body if fmt == "json" else xml_items(body)
    if fmt == "xml":
        assert body.tag == "services" and body[0].tag == "service"
    assert len(items) >= 10
    for item in items:
        assert set(item) >= SERVICE_FIELDS
        assert item["type"] in ("realtime", "batch", "blackbox")
        assert item["metadata"] in (True, False, "true", "false")
    road = next(i for i in items if i["service_code"] == "road_damage")
    assert road["service_name"] == "Jalan rusak" and road["group"] == "Dinas PUPR"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(client, fmt):
    resp = client.get(f"{BASE}/services/waste.{fmt}")
    assert resp.status_code == 200
    body = parse(resp, fmt)
    if fmt == "json":
        assert body["service_code"] == "waste"
        attr = body["attributes"][0]
        assert attr["datatype"] == "singlevaluelist" and attr["variable"] is True
        assert {v["key"] for v in attr["values"]} == {"normal", "anonymous", "confidential"}
        assert {"code", "required", "datatype_description", "order", "description"} <= set(attr)
    else:
        assert body.tag == "service_definition" and body.findtext("service_code") == "waste"
        attr = body.find("attributes/attribute")
        assert attr.findtext("code") == "privacy" and attr.findtext("required") == "false"
        keys = {v.findtext("key") for v in attr.findall("values/value")}
        assert keys == {"normal", "anonymous", "confidential"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_definition_is_404(client, fmt):
    assert "not found" in assert_error(client.get(f"{BASE}/services/nope.{fmt}"), fmt, 404)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_post_request_and_read_it_back(client, fmt):
    resp = post(client, fmt)
    assert resp.status_code in (200, 201)
    body = parse(resp, fmt)
    if fmt == "json":
        sr = body[0]
        assert set(sr) >= {"service_request_id", "service_notice", "account_id"}
        sid = sr["service_request_id"]
    else:
        assert body.tag == "service_requests" and body[0].tag == "request"
        sid = body[0].findtext("service_request_id")
    assert sid.startswith("LPR-")
    got = client.get(f"{BASE}/requests/{sid}.{fmt}")
    assert got.status_code == 200
    items = parse(got, fmt)
    items = items if fmt == "json" else xml_items(items)
    assert len(items) == 1
    item = items[0]
    assert set(item) >= REQUEST_FIELDS
    assert item["service_request_id"] == sid and item["status"] == "open"
    assert item["service_code"] == "road_damage"
    assert float(item["lat"]) == pytest.approx(-2.9761) and float(item["long"]) == pytest.approx(
        104.7451
    )
    requested = iso_with_zone(item["requested_datetime"])
    assert abs(requested - datetime.now(UTC)) < timedelta(minutes=5)
    iso_with_zone(item["updated_datetime"])
    iso_with_zone(item["expected_datetime"])  # the dispatch deadline


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_needs_a_valid_api_key(client, fmt):
    assert "api_key" in assert_error(post(client, fmt, api_key=None), fmt, 403)
    assert_error(post(client, fmt, api_key="wrong"), fmt, 403)
    assert post(client, fmt, api_key="second-key").status_code in (200, 201)


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_errors_are_400_lists(client, fmt):
    assert "service_code" in assert_error(post(client, fmt, service_code=None), fmt, 400)
    assert_error(post(client, fmt, service_code="unicorns"), fmt, 400)
    msg = assert_error(post(client, fmt, lat=None, long=None), fmt, 400)
    assert "location" in msg
    assert "description" in assert_error(post(client, fmt, description="x"), fmt, 400)


def test_post_with_address_only_and_is_form_encoded(client):
    resp = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": API_KEY,
            "service_code": "waste",
            "address_string": "Jl. Merdeka depan Kantor Walikota",
            "description": "Sampah menumpuk di trotoar sejak minggu lalu.",
        },
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)


def test_identity_never_leaves_and_confidential_never_appears(client):
    sid_normal = post(
        client, first_name="Siti", last_name="Aminah", email="siti@example.id", phone="0812999888"
    ).json[0]["service_request_id"]
    sid_conf = post(client, **{"attribute[privacy]": "confidential"}).json[0]["service_request_id"]
    listing = client.get(f"{BASE}/requests.json").get_data(as_text=True)
    assert sid_normal in listing
    for secret in ("Siti", "Aminah", "siti@example.id", "0812999888", "+62812999888"):
        assert secret not in listing
    assert sid_conf not in listing
    assert_error(client.get(f"{BASE}/requests/{sid_conf}.json"), "json", 404)
    xml = client.get(f"{BASE}/requests.xml").get_data(as_text=True)
    assert sid_conf not in xml and "Aminah" not in xml


# --------------------------------------------------------------------------------------------
@pytest.fixture
def history(svc):
    """Reports at known ages: 10, 40 and 115 days old; one closed; two categories."""
    now = datetime.now(UTC)
    made = {}
    made["d10"] = svc.submit(report(), now=now - timedelta(days=10)).complaint
    made["d40_waste"] = svc.submit(report(category="waste"), now=now - timedelta(days=40)).complaint
    made["d120"] = svc.submit(report(), now=now - timedelta(days=115)).complaint
    made["closed"] = svc.submit(report(), now=now - timedelta(days=5)).complaint
    svc.transition(made["closed"].id, "rejected", actor="opr", note="bukan laporan")
    return {k: v.tracking_id for k, v in made.items()}


def ids(client, query: str, fmt: str = "json") -> set[str]:
    resp = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = parse(resp, fmt)
    if fmt == "json":
        return {r["service_request_id"] for r in body}
    assert body.tag == "service_requests"
    return {r.findtext("service_request_id") for r in body}


@pytest.mark.parametrize("fmt", FORMATS)
def test_default_window_is_90_days(client, history, fmt):
    got = ids(client, "", fmt)
    assert {history["d10"], history["d40_waste"], history["closed"]} <= got
    assert history["d120"] not in got


def test_date_filters(client, history):
    now = datetime.now(UTC)
    start = (now - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert ids(client, f"start_date={start}&end_date={end.replace('+', '%2B')}") == {
        history["d120"]
    }
    # start only: 90 days from start
    start45 = (now - timedelta(days=45)).isoformat().replace("+00:00", "Z")
    assert ids(client, f"start_date={start45}") == {
        history["d10"], history["d40_waste"], history["closed"],
    }  # fmt: skip
    # end only: the 90 days before end
    end30 = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert ids(client, f"end_date={end30}") == {history["d40_waste"], history["d120"]}
    assert_error(client.get(f"{BASE}/requests.json?start_date=yesterday"), "json", 400)
    assert_error(
        client.get(f"{BASE}/requests.json?start_date={start}&end_date={end30}"), "json", 400
    )  # spans more than 90 days


def test_status_and_service_code_filters(client, history):
    assert history["closed"] in ids(client, "status=closed")
    assert history["closed"] not in ids(client, "status=open")
    assert {history["d10"], history["closed"]} <= ids(client, "status=open,closed")
    assert ids(client, "service_code=waste") == {history["d40_waste"]}
    assert history["d40_waste"] in ids(client, "service_code=waste,road_damage")
    assert_error(client.get(f"{BASE}/requests.json?status=pending"), "json", 400)
    assert_error(client.get(f"{BASE}/requests.xml?service_code=nope"), "xml", 400)
    closed = client.get(f"{BASE}/requests.json?service_request_id={history['closed']}").json[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "Ditolak"


def test_service_request_id_overrides_other_filters(client, history):
    got = ids(client, f"service_request_id={history['d120']},{history['d10']}&status=closed")
    assert got == {history["d120"], history["d10"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_request_is_404(client, fmt):
    assert_error(client.get(f"{BASE}/requests/LPR-2611-AAAAAAAA.{fmt}"), fmt, 404)


def test_empty_xml_list_and_unicode(client, svc):
    assert ids(client, "service_code=fire", "xml") == set()
    svc.submit(report(description="Jalan rusak parah — “lubang” di Jl. Kapten A. Rivai ✓"))
    raw = client.get(f"{BASE}/requests.xml").get_data()
    assert "“lubang”".encode() in raw  # UTF-8, not entities or mojibake
    assert "“lubang”" in client.get(f"{BASE}/requests.json").get_data(as_text=True)


def test_tokens_are_not_issued(client):
    assert_error(client.get(f"{BASE}/tokens/123.json"), "json", 404)


def test_unsupported_format(client):
    assert client.get(f"{BASE}/services.html").status_code == 404


def test_reads_are_rate_limited_with_retry_after(csettings, sqlite_seeded):
    from complaints_helpers import make_app

    app = make_app(csettings.model_copy(update={"complaint_lookup_limit": 3}), sqlite_seeded)
    c = app.server.test_client()
    codes = [c.get(f"{BASE}/services.json").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    resp = c.get(f"{BASE}/services.json")
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.json[0]["code"] == 429
