"""The indicator API (``/api/v1/indicators``) answers to API keys only: a staff session, an OPD
staff session or an admin's grants nothing without a key, and a key works whatever session or
Origin the client carries. Data-driven from the Flask URL map: every ``/api/v1/indicators``
route is checked for every role."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from access_helpers import ROLES, AccessEnv, make_env

from store import api_keys

ALL = (None, *ROLES)


@pytest.fixture(scope="module")
def ind_env(tmp_path_factory) -> Iterator[tuple[AccessEnv, str]]:
    e = make_env(tmp_path_factory.mktemp("indaccess") / "var")
    with e.db.session() as s:
        token = api_keys.create_key(s, "dishub-sim", ["indicators:DISHUB"])[1]
    yield e, token
    e.db.dispose()


def indicator_routes(env: AccessEnv) -> list[tuple[str, str]]:
    """(method, concrete path) of every indicator API route, with DISHUB's own indicator."""
    sample = {"opd": "DISHUB", "code": "apill_berfungsi", "period": "2026-10"}
    out = []
    for rule in env.app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/indicators"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: sample.get(m.group(1), "x"), rule.rule)
        for method in sorted(rule.methods & {"GET", "PUT"}):
            out.append((method, path))
    return sorted(out)


def test_routes_exist(ind_env):
    env, _ = ind_env
    assert indicator_routes(env) == [
        ("GET", "/api/v1/indicators/DISHUB"),
        ("PUT", "/api/v1/indicators/DISHUB/apill_berfungsi/2026-10"),
    ]


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_no_key_no_entry_whatever_the_session(ind_env, role):
    env, _ = ind_env
    client = env.client(role)
    for method, path in indicator_routes(env):
        resp = client.open(path, method=method, json={"value": 90})
        assert resp.status_code == 401, (role, method, path, resp.status_code)
        assert resp.get_json()["error"] == "unauthorized"


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_the_key_works_for_any_session_and_origin(ind_env, role):
    env, token = ind_env
    client = env.client(role)
    for method, path in indicator_routes(env):
        resp = client.open(
            path,
            method=method,
            json={"value": 90},
            headers={"X-API-Key": token, "Origin": "https://sistem.dishub.example"},
        )
        assert resp.status_code in (200, 201), (role, method, path, resp.status_code)
