"""Machine APIs (sensor gateways, Open311 clients, the SMS gateway): POST routes with their own
credentials. Data-driven from the Flask URL map and ``auth.ORIGIN_EXEMPT``: every such route
refuses a request without its credential for every role (a staff session grants nothing), and
the sensor intake works with a key whatever session the client holds."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from access_helpers import ROLES, AccessEnv, make_env

from dashboard import auth

KEY = "sensor-gw-access-test-key"
METRICS_TOKEN = "prometheus-scrape-token-uji"
REMOTE = {"REMOTE_ADDR": "10.20.30.40"}
BODY = {"sensor": "WL-MUSI-AMP", "value": 120.0}
ALL = (None, *ROLES)


@pytest.fixture(scope="module")
def machine_env(tmp_path_factory) -> Iterator[AccessEnv]:
    e = make_env(
        tmp_path_factory.mktemp("machine") / "var",
        sensor_api_keys=KEY,
        sms_webhook_token="sms-gw-token",
        open311_api_keys="open311-key",
        metrics_token=METRICS_TOKEN,
    )
    yield e
    e.db.dispose()


@pytest.fixture(scope="module")
def machine_clients(machine_env: AccessEnv) -> dict:
    return {role: machine_env.client(role) for role in ALL}


def machine_post_routes(env: AccessEnv) -> list[str]:
    """Concrete paths of the POST routes that are machine APIs (Origin-exempt)."""
    paths = []
    for rule in env.app.server.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        path = re.sub(r"<[^>]+>", "json", rule.rule)
        if path.startswith(auth.ORIGIN_EXEMPT):
            paths.append(path)
    return sorted(paths)


def test_machine_apis_are_listed(machine_env):
    paths = machine_post_routes(machine_env)
    assert "/api/sensors/readings" in paths and "/api/sms" in paths
    assert any(p.startswith("/open311/") for p in paths)
    for path in paths:  # the guard lets them through; their own credential decides
        assert auth.route_roles(path) == auth.PUBLIC, path


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_no_credential_no_entry_whatever_the_session(machine_env, machine_clients, role):
    client = machine_clients[role]
    wrong = []
    for path in machine_post_routes(machine_env):
        resp = client.post(path, json=BODY)
        if resp.status_code not in (401, 403):
            wrong.append((path, resp.status_code))
        assert b"Traceback" not in resp.data
    assert not wrong, wrong


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_sensor_key_works_for_any_client_and_origin(machine_env, machine_clients, role):
    resp = machine_clients[role].post(
        "/api/sensors/readings",
        json=BODY,
        headers={"X-API-Key": KEY, "Origin": "https://gateway.example"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
    assert [a["sensor"] for a in resp.get_json()["accepted"]] == ["WL-MUSI-AMP"]  # seeded
    # a GET is a JSON 405 (the route is POST only; no longer Dash's page shell), never readings
    got = machine_clients[role].get("/api/sensors/readings")
    assert got.status_code == 405 and got.mimetype == "application/json"
    assert b"WL-MUSI-AMP" not in got.data


# --------------------------------------------------------------------------------------------
# GET /metrics: loopback or the bearer token, whatever the session (expected answers by hand)
METRICS = {  # (client address, Authorization header) -> status
    ("127.0.0.1", None): 200,
    ("::1", None): 200,
    ("10.20.30.40", None): 404,
    ("10.20.30.40", f"Bearer {METRICS_TOKEN}"): 200,
    ("10.20.30.40", "Bearer wrong-token"): 404,
    ("10.20.30.40", f"Basic {METRICS_TOKEN}"): 404,
    ("10.20.30.40", f"Bearer {METRICS_TOKEN[:-1]}"): 404,
    ("192.168.1.10", "Bearer "): 404,
}


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_metrics_by_address_and_token_never_by_session(machine_env, machine_clients, role):
    client = machine_clients[role]
    wrong = []
    for (addr, authorization), expected in METRICS.items():
        headers = {"Authorization": authorization} if authorization else {}
        resp = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": addr})
        if resp.status_code != expected:
            wrong.append((addr, authorization, resp.status_code, expected))
        elif expected == 200:
            assert b"pantau_cameras" in resp.data
        else:
            assert b"pantau_" not in resp.data and b"Traceback" not in resp.data
    assert not wrong, wrong


def test_metrics_not_for_requests_a_proxy_forwarded(machine_env, machine_clients):
    """Behind a reverse proxy on the same box every request comes from loopback: one carrying
    a forwarding header is judged as remote (token needed)."""
    client = machine_clients[None]
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        resp = client.get("/metrics", headers={header: "203.0.113.9"}, environ_base=LOOPBACK)
        assert resp.status_code == 404, header
        resp = client.get(
            "/metrics",
            headers={header: "203.0.113.9", "Authorization": f"Bearer {METRICS_TOKEN}"},
            environ_base=LOOPBACK,
        )
        assert resp.status_code == 200, header


def test_metrics_loopback_can_be_switched_off(machine_env, machine_clients):
    client = machine_clients[None]
    machine_env.settings.metrics_loopback = False
    try:
        assert client.get("/metrics", environ_base=LOOPBACK).status_code == 404
        resp = client.get(
            "/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            environ_base=LOOPBACK,
        )
        assert resp.status_code == 200
    finally:
        machine_env.settings.metrics_loopback = True


def test_metrics_without_a_configured_token_no_token_works(machine_env, machine_clients):
    client = machine_clients[None]
    machine_env.settings.metrics_token = ""
    try:
        for sent in ("", " ", "None"):
            resp = client.get(
                "/metrics", headers={"Authorization": f"Bearer {sent}"}, environ_base=REMOTE
            )
            assert resp.status_code == 404, sent
    finally:
        machine_env.settings.metrics_token = METRICS_TOKEN


LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
