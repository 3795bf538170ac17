"""The incident API (``/api/v1/incidents``) answers to API keys only: no session (staff, OPD
staff, admin) grants anything without a key, a key works whatever session or Origin the client
carries, and a key of another agency or area is refused. Data-driven from the Flask URL map:
every ``/api/v1/incidents`` route is checked for every role."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from access_helpers import ROLES, AccessEnv, make_env

from dashboard import auth
from store import api_keys

ALL = (None, *ROLES)
BODY = {
    "source": "damkar",
    "external_id": "DMK-ACC-1",
    "kind": "fire",
    "occurred_at": "2026-11-20T10:00:00+07:00",
    "lat": -2.97,
    "lon": 104.74,
    "description": "Kebakaran uji akses",
    "status": "open",
}


@pytest.fixture(scope="module")
def inc_env(tmp_path_factory) -> Iterator[tuple[AccessEnv, dict[str, str]]]:
    e = make_env(tmp_path_factory.mktemp("incaccess") / "var")
    with e.db.session() as s:
        tokens = {
            "damkar": api_keys.create_key(s, "damkar", ["incidents:damkar"])[1],
            "polresta": api_keys.create_key(s, "polresta", ["incidents:polresta"])[1],
            "dishub": api_keys.create_key(s, "dishub", ["indicators:DISHUB"])[1],
        }
    yield e, tokens
    e.db.dispose()


def incident_routes(env: AccessEnv) -> list[tuple[str, str]]:
    """(method, concrete path) of every incident API route (the PATCH on damkar's row)."""
    sample = {"source": "damkar", "external_id": "DMK-ACC-1"}
    out = []
    for rule in env.app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/incidents"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: sample.get(m.group(1), "x"), rule.rule)
        for method in sorted(rule.methods & {"GET", "POST", "PATCH", "PUT", "DELETE"}):
            out.append((method, path))
    return sorted(out)


def body_for(method: str) -> dict | None:
    return {"POST": BODY, "PATCH": {"status": "handling"}}.get(method)


def test_routes_exist_and_are_machine_apis(inc_env):
    env, _ = inc_env
    assert incident_routes(env) == [
        ("GET", "/api/v1/incidents"),
        ("PATCH", "/api/v1/incidents/damkar/DMK-ACC-1"),
        ("POST", "/api/v1/incidents"),
    ]
    for _method, path in incident_routes(env):
        assert path.startswith(auth.ORIGIN_EXEMPT) and auth.route_roles(path) == auth.PUBLIC


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_no_key_no_entry_whatever_the_session(inc_env, role):
    env, _ = inc_env
    client = env.client(role)
    for method, path in incident_routes(env):
        resp = client.open(path, method=method, json=body_for(method))
        assert resp.status_code == 401, (role, method, path, resp.status_code)
        assert resp.get_json()["error"] == "unauthorized"
        assert b"Kebakaran" not in resp.data


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_the_key_works_for_any_session_and_origin(inc_env, role):
    env, tokens = inc_env
    client = env.client(role)
    # POST first, so the PATCH has its row
    for method, path in sorted(incident_routes(env), key=lambda r: r[0] != "POST"):
        resp = client.open(
            path,
            method=method,
            json=body_for(method),
            headers={"X-API-Key": tokens["damkar"], "Origin": "https://damkar.example"},
        )
        assert resp.status_code == 200, (role, method, path, resp.get_json())


@pytest.mark.parametrize("key", ["polresta", "dishub"])
def test_other_agency_or_area_keys_are_refused(inc_env, key):
    env, tokens = inc_env
    client = env.client(None)
    hdr = {"Authorization": f"Bearer {tokens[key]}"}
    post = client.post("/api/v1/incidents", json=BODY, headers=hdr)
    patch = client.patch("/api/v1/incidents/damkar/DMK-ACC-1", json={"status": "open"}, headers=hdr)
    read = client.get("/api/v1/incidents?source=damkar", headers=hdr)
    if key == "polresta":  # an incidents key of another source: per item / 403
        assert post.status_code == 422 and post.get_json()["rejected"][0]["error"] == "forbidden"
    else:  # no incidents scope at all
        assert post.status_code == 403
    assert patch.status_code == 403 and read.status_code == 403
