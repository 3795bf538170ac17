"""Who can reach what: anonymous, pimpinan, operator, analis, admin, opd × every page, every Dash
callback, every Flask route. Data-driven from ``dash.page_registry``, ``app.callback_map`` and
the Flask URL map, so pages, callbacks and routes added later are covered without editing this
file. The expected answers are written here from the issue's rules, not read from the guard."""

from __future__ import annotations

import json
import re
from typing import Any

import dash
import pytest
from access_helpers import ROLES, STAFF

ALL = (None, *ROLES)

#: The issue's list of what the public may reach (plus the 403/404 pages and sign-in posts).
PUBLIC_SPEC = (
    "/cctv",
    "/lapor",
    "/open311",
    "/api/sms",
    "/api/lapor",
    "/healthz",
    "/lang",
    "/masuk",
    "/auth",
    "/assets",
    "/_dash-component-suites",
    "/_dash-dependencies",
    "/_dash-layout",
    "/_reload-hash",
    "/_favicon.ico",
    "/api/public",
    "/403",
    "/404",
)
SHELL_IDS = ("_pages_location", "_pages_content", "_pages_store", "_pages_dummy", "url", "navbar")


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in prefixes)


def page_roles(page: dict) -> tuple[str, ...] | str:
    if page["module"].endswith("not_found_404"):
        return "public"
    roles = page.get("roles")
    return "public" if roles == "public" else tuple(roles or ())


def concrete_path(page: dict, code: str) -> str:
    template = page.get("path_template")
    if not template:
        return page["path"]
    return re.sub(r"<([^>]+)>", lambda m: code if m.group(1) == "code" else "1", template)


def pages() -> list[dict]:
    return list(dash.page_registry.values())


#: Where a role lands when it opens ``/`` without access to it (OPD staff: their own page).
HOME = {"opd": "/opd/pengaduan"}


def expected_page_status(page: dict, role: str | None) -> int:
    roles = page_roles(page)
    if roles == "public":
        return 200
    if role is None:
        return 302
    if role in roles:
        return 200
    return 302 if page["path"] == "/" and role in HOME else 403


# --------------------------------------------------------------------------------------------
# pages
def test_every_page_declares_its_roles(env):
    missing = [
        p["module"]
        for p in pages()
        if p.get("roles") is None and not p["module"].endswith("not_found_404")
    ]
    assert not missing, f"pages without roles=(...) (admin-only until they say): {missing}"


def test_public_pages_are_only_the_intended_ones(env):
    public = [p["path"] for p in pages() if page_roles(p) == "public"]
    assert "/cctv" in public and "/masuk" in public
    stray = [p for p in public if not under(p, PUBLIC_SPEC)]
    assert not stray, f"pages marked public outside the public list: {stray}"


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_page_loads(env, clients, role):
    """GET of every page: anonymous -> /masuk?next=..., wrong role -> 403, else 200."""
    client = clients[role]
    wrong = []
    for page in pages():
        path = concrete_path(page, env.private_code)
        resp = client.get(path)
        expected = expected_page_status(page, role)
        if resp.status_code != expected:
            wrong.append((path, resp.status_code, expected))
        elif expected == 302:
            target = "/masuk?next=" if role is None else HOME[role]
            assert resp.headers["Location"].startswith(target), (path, resp.headers["Location"])
    assert not wrong, wrong


def router_body(pathname: str, search: str = "") -> dict:
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_page_content_through_the_router_callback(env, clients, role):
    """Client-side navigation renders the page only for allowed roles: the Dash router
    callback returns the login redirect or the 403 page instead of the layout."""
    client = clients[role]
    wrong = []
    for page in pages():
        path = concrete_path(page, env.private_code)
        resp = client.post("/_dash-update-component", json=router_body(path))
        text = resp.get_data(as_text=True)
        expected = expected_page_status(page, role)
        if expected == 302 and role is not None:  # "/" for OPD staff: the 403 page in-app
            expected = 403
        if expected == 302:
            ok = resp.status_code == 200 and "login-redirect" in text
        elif expected == 403:
            ok = resp.status_code == 200 and "forbidden-page" in text
        else:  # allowed: the real page (its own errors are its own tests' business)
            ok = resp.status_code not in (401, 403) and "login-redirect" not in text
            ok = ok and (page["path"] == "/403" or "forbidden-page" not in text)
        if not ok:
            wrong.append((path, resp.status_code, expected, text[:120]))
    assert not wrong, wrong


# --------------------------------------------------------------------------------------------
# callbacks
def _prefixes(page: dict) -> set[str]:
    base = page.get("id_prefix") or page["module"].rsplit(".", 1)[-1]
    return {base, base.replace("_", "-")}


def _id_key(component_id: Any) -> str | None:
    if isinstance(component_id, str) and component_id.startswith("{"):
        component_id = json.loads(component_id)
    if isinstance(component_id, dict):
        return component_id.get("type")
    return component_id


def owner_roles(key: str | None) -> tuple[str, ...] | str | None:
    """Roles of the page owning a component id (None: no page owns it)."""
    if key is None:
        return None
    if any(key == s or key.startswith(s + "-") for s in SHELL_IDS):
        return "public"
    best = None
    for page in pages():
        for prefix in _prefixes(page):
            if (key == prefix or key.startswith(prefix + "-")) and (
                best is None or len(prefix) > len(best[0])
            ):
                best = (prefix, page_roles(page))
    return best[1] if best else None


def write_roles_of(key: str | None) -> tuple[str, ...] | None:
    for page in pages():
        for prefix in page.get("write_ids") or ():
            if key and (key == prefix or key.startswith(prefix + "-")):
                return tuple(page.get("write_roles") or ("operator", "analis", "admin"))
    return None


def callback_ids(entry: dict) -> list[Any]:
    outs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]
    ids = [o.component_id for o in outs]
    return ids + [d["id"] for d in entry["inputs"] + entry["state"]]


def expected_callback_roles(entry: dict) -> tuple[set[str] | None, list[str]]:
    """(roles allowed, or None for public; ids no page owns)."""
    allowed: set[str] | None = None
    unowned = []
    for cid in callback_ids(entry):
        key = _id_key(cid)
        roles = owner_roles(key)
        if roles is None:
            unowned.append(str(cid))
            roles = ("admin",)
        if roles != "public":
            allowed = set(roles) if allowed is None else allowed & set(roles)
        write = write_roles_of(key)
        if write is not None:
            allowed = set(write) if allowed is None else allowed & set(write)
    return allowed, unowned


def callback_body(output_key: str, entry: dict) -> dict:
    outs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]

    def dep(d: dict) -> dict:
        cid = d["id"]
        if isinstance(cid, str) and cid.startswith("{"):
            cid = json.loads(cid)
        return {"id": cid, "property": d["property"], "value": None}

    outputs = [{"id": o.component_id, "property": o.component_property} for o in outs]
    return {
        "output": output_key,
        "outputs": outputs if isinstance(entry["output"], list) else outputs[0],
        "inputs": [dep(d) for d in entry["inputs"]],
        "state": [dep(d) for d in entry["state"]],
        "changedPropIds": [],
    }


def server_callbacks(env) -> dict[str, dict]:
    """Every server-side callback except the Dash Pages router (tested above)."""
    env.app.server.test_client().get("/")  # Dash registers the router on the first request
    return {
        key: entry
        for key, entry in env.app.callback_map.items()
        if callable(entry.get("callback")) and "_pages_content" not in key
    }


def test_every_callback_id_belongs_to_a_page(env):
    unowned = {}
    for key, entry in server_callbacks(env).items():
        _roles, missing = expected_callback_roles(entry)
        if missing:
            unowned[key[:80]] = missing
    assert not unowned, f"callback ids no page owns (admins only until fixed): {unowned}"


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_callbacks_by_role(env, clients, role):
    """Every server callback, called straight at /_dash-update-component: refused (401/403)
    exactly for the roles that may not see (or, for write-level ids, change) its page."""
    client = clients[role]
    callbacks = server_callbacks(env)
    assert len(callbacks) >= 3
    wrong = []
    for key, entry in callbacks.items():
        allowed, _ = expected_callback_roles(entry)
        may = allowed is None or (role is not None and role in allowed)
        resp = client.post("/_dash-update-component", json=callback_body(key, entry))
        refused = resp.status_code in (401, 403)
        if may == refused:
            wrong.append((key[:70], resp.status_code, "allowed" if may else "refused"))
        if refused:
            assert b"Traceback" not in resp.data and len(resp.data) < 200
    assert not wrong, wrong


def test_forged_callback_ids_do_not_fool_the_guard(env, clients):
    """The guard judges the callback Dash will run (its registered ids), not the ids the
    client claims: an anonymous request for an admin callback dressed up in public ids fails."""
    admin_cb = next(k for k in env.app.callback_map if "admin-users-feedback" in k)
    body = callback_body(admin_cb, env.app.callback_map[admin_cb])
    body["outputs"] = [{"id": "cctv-modal", "property": "is_open"}]
    body["inputs"] = [{"id": "cctv-refresh", "property": "n_intervals", "value": 1}]
    body["state"] = []
    for role in (None, "pimpinan", "operator", "analis", "opd"):
        resp = clients[role].post("/_dash-update-component", json=body)
        assert resp.status_code in (401, 403), (role, resp.status_code)


@pytest.mark.parametrize(
    "body",
    [
        {"output": "no-such-component.children", "inputs": [], "state": []},
        {"outputs": [], "inputs": []},
        ["not", "a", "dict"],
        "garbage",
    ],
)
def test_anonymous_malformed_callback_requests(env, clients, body):
    resp = clients[None].post("/_dash-update-component", json=body)
    assert resp.status_code in (400, 401)
    assert b"Traceback" not in resp.data


def test_pimpinan_sees_but_does_not_change(env, clients):
    """Write-level callbacks (page write_ids) are refused for pimpinan even on pages they see."""
    write_cbs = [
        (k, e)
        for k, e in server_callbacks(env).items()
        if any(write_roles_of(_id_key(c)) for c in callback_ids(e))
    ]
    if not write_cbs:
        pytest.skip("no page declares write_ids yet")
    for key, entry in write_cbs:
        resp = clients["pimpinan"].post("/_dash-update-component", json=callback_body(key, entry))
        assert resp.status_code == 403, key


# --------------------------------------------------------------------------------------------
# Flask routes (snapshots, GeoJSON, downloads, APIs)
def concrete_rule(rule: str, code: str) -> str:
    def sample(m: re.Match) -> str:
        name = m.group(1).split(":")[-1]
        return code if name == "code" else "x1"

    return re.sub(r"<([^>]+)>", sample, rule)


def flask_get_routes(env) -> list[str]:
    dash_endpoints = {"/", "/<path:path>", "/_dash-update-component"}
    urls = []
    for rule in env.app.server.url_map.iter_rules():
        if rule.endpoint in dash_endpoints or "GET" not in rule.methods:
            continue
        urls.append(concrete_rule(rule.rule, env.private_code))
    return urls


def test_anonymous_gets_no_staff_route(env, clients):
    """Every GET route outside the public list answers anonymous requests with 401 (or 404 when
    nothing is there), never data."""
    leaks = []
    for url in flask_get_routes(env):
        if under(url.split("?")[0], PUBLIC_SPEC):
            continue
        resp = clients[None].get(url)
        if resp.status_code not in (401, 404):
            leaks.append((url, resp.status_code))
    assert not leaks, leaks


@pytest.mark.parametrize("role", STAFF)
def test_staff_reach_staff_routes(env, clients, role):
    """Signed-in staff are not refused by the guard on staff data routes (snapshots, GeoJSON,
    downloads): whatever the route answers, it is not 401/403 (admin-only routes excepted)."""
    refused = []
    for url in flask_get_routes(env):
        if under(url, PUBLIC_SPEC) or not under(url, ("/snapshots", "/api", "/download")):
            continue
        resp = clients[role].get(url)
        if resp.status_code in (401, 403):
            refused.append((url, resp.status_code))
    assert not refused, refused


def test_unknown_route_is_admin_only(env, clients):
    """A route nobody gave an access rule is refused for everyone but admins (fail closed)."""
    assert clients[None].get("/unruled/thing").status_code == 401
    for role in ("pimpinan", "operator", "analis", "opd"):
        assert clients[role].get("/unruled/thing").status_code == 403
    assert clients["admin"].get("/unruled/thing").get_json() == {"secret": 42}


def test_opd_staff_get_no_staff_route(env, clients):
    """OPD staff are not command-center staff: every staff GET route (snapshots, GeoJSON,
    downloads, APIs) refuses them with 403, except complaint photos, where a photo that is not
    of their own OPD's report answers 404 like a missing one."""
    wrong = []
    for url in flask_get_routes(env):
        if under(url.split("?")[0], PUBLIC_SPEC):
            continue
        resp = clients["opd"].get(url)
        if url.startswith("/api/pengaduan/foto/"):
            if resp.status_code != 404:
                wrong.append((url, resp.status_code, 404))
        elif resp.status_code != 403:
            wrong.append((url, resp.status_code, 403))
    assert not wrong, wrong
