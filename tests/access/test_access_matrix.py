"""Who can reach what: anonymous, pimpinan, operator, analis, admin, opd × every page, every Dash
callback, every Flask route.

The expected answers are literal tables written by hand from the README's role table
(*Accounts, roles and privacy*): :data:`PAGES` (path × role), :data:`ACTIONS` (write-level
component ids × role) and :data:`COMPONENT_PAGE` (which page a component id belongs to). Nothing
here is read from the app's page declarations or ``dashboard.auth``: giving a role a page or an
action in the code without changing these tables fails. A page, or a callback id, the tables do
not know fails too (add it here, by hand, with the README's rule).
"""

from __future__ import annotations

import json
import re
from typing import Any

import dash
import pytest
from access_helpers import ROLES, STAFF

ALL = (None, *ROLES)
Y, N = True, False
#: Column order of the tables below.
COLUMNS = (None, "pimpinan", "operator", "analis", "admin", "opd")

#: Page × role -> may open it (README: citizens /cctv, /lapor, /lapor/status; staff see
#: the situation room, trends, indicators, complaints statistics and cameras; the complaints
#: queue is the operators'; OPD staff only their follow-up page and their indicators; the
#: administration pages (users, audit log, ingestion, cameras) are the admin's; the pimpinan
#: sees every page any other staff role sees, read-only, and the admin every page of every
#: role). A refused page: anonymous -> sign-in redirect, staff -> 403.
PAGES: dict[str, tuple[bool, ...]] = {
    #  path                  anon pimpinan operator analis admin opd
    "/":                     (N,  Y,       Y,       Y,     Y,    N),  # opd: to /opd/pengaduan
    "/lalu-lintas":          (N,  Y,       Y,       Y,     Y,    N),
    "/banjir":               (N,  Y,       Y,       Y,     Y,    N),
    "/keamanan":             (N,  Y,       Y,       Y,     Y,    N),
    "/indikator-opd":        (N,  Y,       Y,       Y,     Y,    Y),
    "/camera/<code>":        (N,  Y,       Y,       Y,     Y,    N),
    "/pengaduan":            (N,  Y,       Y,       Y,     Y,    N),
    "/pengaduan/antrian":    (N,  Y,       Y,       N,     Y,    N),
    "/opd/pengaduan":        (N,  Y,       N,       N,     Y,    Y),  # pimpinan/admin: all OPDs
    "/laporan-harian":       (N,  Y,       Y,       Y,     Y,    N),  # the daily briefing
    "/admin/pengguna":       (N,  N,       N,       N,     Y,    N),
    "/admin/audit":          (N,  N,       N,       N,     Y,    N),
    "/admin/ingestion":      (N,  N,       N,       N,     Y,    N),  # issue 9: admin page
    "/admin/kamera":         (N,  N,       N,       N,     Y,    N),  # issue 11: cameras
    "/admin/notifikasi":     (N,  N,       N,       N,     Y,    N),  # issue 12: notifications
    "/admin/sop":            (N,  N,       N,       N,     Y,    N),  # issue 12: SOP steps
    "/admin/aturan":         (N,  N,       N,       N,     Y,    N),  # issue 12: alert rules
    "/peringatan":           (N,  Y,       Y,       Y,     Y,    Y),  # issue 12: opd: their OPD's
    "/peringatan/<alert_id>": (N, Y,       Y,       Y,     Y,    Y),  # opd: assigned to their OPD
    "/waktu-respons":        (N,  Y,       Y,       Y,     Y,    N),  # issue 12: response times
    "/bukti":                (N,  Y,       Y,       Y,     Y,    N),  # issue 14: evidence
    "/bukti/<item_id>":      (N,  Y,       Y,       Y,     Y,    N),  # issue 14: one recording
    "/dinding":              (N,  Y,       Y,       Y,     Y,    N),  # issue 14: video wall
    "/cctv":                 (Y,  Y,       Y,       Y,     Y,    Y),
    "/lapor":                (Y,  Y,       Y,       Y,     Y,    Y),
    "/lapor/status":         (Y,  Y,       Y,       Y,     Y,    Y),
    "/masuk":                (Y,  Y,       Y,       Y,     Y,    Y),
    "/403":                  (Y,  Y,       Y,       Y,     Y,    Y),
    "/404":                  (Y,  Y,       Y,       Y,     Y,    Y),
}  # fmt: skip

#: Write-level actions (component-id prefix) × role -> may trigger (README "may change":
#: pimpinan nothing, analis only exports, operator alerts and the complaint workflow, admin
#: users and everything, opd the follow-up of its own reports and its own indicator values).
ACTIONS: dict[str, tuple[bool, ...]] = {
    #  action                anon pimpinan operator analis admin opd
    "overview-ack":          (N,  N,       Y,       N,     Y,    N),  # acknowledge an alert
    "queue-feedback":        (N,  N,       Y,       N,     Y,    N),  # complaint workflow
    "queue-sms-feedback":    (N,  N,       Y,       N,     Y,    N),  # SMS to report / discard
    "followup-feedback":     (N,  N,       N,       N,     N,    Y),  # OPD follow-up
    "opd-upload":            (N,  N,       N,       N,     Y,    Y),  # send indicator values
    "admin-users":           (N,  N,       N,       N,     Y,    N),  # users
    "admin-kamera":          (N,  N,       N,       N,     Y,    N),  # cameras (README)
    "admin-notify":          (N,  N,       N,       N,     Y,    N),  # notification channels
    "admin-sop":             (N,  N,       N,       N,     Y,    N),  # SOP checklists
    "admin-rules":           (N,  N,       N,       N,     Y,    N),  # alert rules
    "alert-act":             (N,  N,       Y,       N,     Y,    N),  # ack/assign/escalate/resolve
    "alert-opd":             (N,  N,       Y,       N,     Y,    Y),  # alert notes, SOP ticks
    "camera-record":         (N,  N,       Y,       N,     Y,    N),  # issue 14: Rekam button
    "rekaman-hold":          (N,  N,       Y,       N,     Y,    N),  # evidence held for a case
    "rekaman-release":       (N,  N,       Y,       N,     Y,    N),
    "dinding-save":          (N,  N,       Y,       N,     Y,    N),  # save a wall camera group
    "dinding-delete":        (N,  N,       Y,       N,     Y,    N),  # delete a wall group
}  # fmt: skip

#: Exports (dcc.Download callbacks) × role -> may download: analis may, so may every role that
#: sees the page (an export is a read, and audited).
EXPORTS: dict[str, tuple[bool, ...]] = {
    #  export                anon pimpinan operator analis admin opd
    "traffic-download":      (N,  Y,       Y,       Y,     Y,    N),
    "flood-download":        (N,  Y,       Y,       Y,     Y,    N),
    "security-download":     (N,  Y,       Y,       Y,     Y,    N),
}  # fmt: skip

#: Component-id prefix -> the page it belongs to ("public": the shell around every page).
COMPONENT_PAGE: dict[str, str] = {
    "_pages_location": "public",
    "_pages_content": "public",
    "_pages_store": "public",
    "_pages_dummy": "public",
    "url": "public",
    "navbar": "public",
    "overview": "/",
    "traffic": "/lalu-lintas",
    "flood": "/banjir",
    "security": "/keamanan",
    "opd": "/indikator-opd",
    "camera": "/camera/<code>",
    "complaints": "/pengaduan",
    "queue": "/pengaduan/antrian",
    "followup": "/opd/pengaduan",
    "admin-users": "/admin/pengguna",
    "audit": "/admin/audit",
    "admin-ingestion": "/admin/ingestion",
    "admin-kamera": "/admin/kamera",
    "admin-notify": "/admin/notifikasi",
    "admin-sop": "/admin/sop",
    "admin-rules": "/admin/aturan",
    "alerts": "/peringatan",
    "alert": "/peringatan/<alert_id>",
    "response": "/waktu-respons",
    "bukti": "/bukti",
    "rekaman": "/bukti/<item_id>",
    "briefing": "/laporan-harian",
    "dinding": "/dinding",
    "cctv": "/cctv",
    "lapor": "/lapor",
    "laporstatus": "/lapor/status",
    "login": "/masuk",
    "forbidden": "/403",
}

#: GET routes answered by the caller's network origin or a bearer token, never by a session:
#: their own matrix is in test_access_machine_api.py (loopback/token 200, anything else 404).
MACHINE_GET = ("/metrics",)

#: What the public may reach besides pages (plus the sign-in posts and Dash's own machinery).
PUBLIC_SPEC = (
    "/cctv",
    "/lapor",
    "/open311",
    "/api/sms",
    "/api/lapor",
    "/api/sensors/readings",
    "/api/v1",  # machine APIs (incidents, indicators): per-agency API keys, never a session
    "/healthz",
    "/api/openapi.json",  # issue 11: the APIs' description, holds no data
    "/api/docs",  # its HTML reference, built from it
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


def allowed(row: tuple[bool, ...], role: str | None) -> bool:
    return row[COLUMNS.index(role)]


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in prefixes)


def table_path(page: dict) -> str:
    return page.get("path_template") or page["path"]


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
    if allowed(PAGES[table_path(page)], role):
        return 200
    if role is None:
        return 302
    return 302 if page["path"] == "/" and role in HOME else 403


# --------------------------------------------------------------------------------------------
# the tables themselves
def test_tables_name_every_page_and_nothing_else(env):
    registered = {table_path(p) for p in pages()}
    assert registered == set(PAGES), (
        f"pages missing from PAGES (add them by hand, from the README): "
        f"{sorted(registered - set(PAGES))}; stale rows: {sorted(set(PAGES) - registered)}"
    )
    for table in (PAGES, ACTIONS, EXPORTS):
        assert all(len(row) == len(COLUMNS) for row in table.values())


def test_readme_rules_hold_in_the_tables():
    """A check of the hand-written tables against the README's sentences."""
    # pimpinan: sees every page operators, analysts and OPD staff see, changes nothing
    staff_pages = [
        p for p, row in PAGES.items() if any(allowed(row, r) for r in ("operator", "analis", "opd"))
    ]
    assert all(allowed(PAGES[p], "pimpinan") for p in staff_pages)
    assert not any(allowed(row, "pimpinan") for row in ACTIONS.values())
    # admin: sees everything any role sees
    assert all(allowed(row, "admin") for row in PAGES.values())
    # administration pages: the admin's only
    admin_pages = (
        "/admin/pengguna",
        "/admin/audit",
        "/admin/ingestion",
        "/admin/kamera",
        "/admin/notifikasi",
        "/admin/sop",
    )
    assert all(
        [allowed(PAGES[p], r) for r in COLUMNS] == [r == "admin" for r in COLUMNS]
        for p in admin_pages
    )
    # analis: exports only
    assert not any(allowed(row, "analis") for row in ACTIONS.values())
    assert all(allowed(row, "analis") for row in EXPORTS.values())
    # the public: /cctv, /lapor, /lapor/status only (and sign-in, 403/404)
    public = {p for p, row in PAGES.items() if allowed(row, None)}
    assert public == {"/cctv", "/lapor", "/lapor/status", "/masuk", "/403", "/404"}


# --------------------------------------------------------------------------------------------
# pages
def test_every_page_declares_its_roles(env):
    missing = [
        p["module"]
        for p in pages()
        if p.get("roles") is None and not p["module"].endswith("not_found_404")
    ]
    assert not missing, f"pages without roles=(...) (admin-only until they say): {missing}"


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
def _id_key(component_id: Any) -> str | None:
    if isinstance(component_id, str) and component_id.startswith("{"):
        component_id = json.loads(component_id)
    if isinstance(component_id, dict):
        return component_id.get("type")
    return component_id


def _longest_prefix(table: dict[str, Any], key: str | None) -> str | None:
    """The longest prefix of ``table`` that ``key`` is or starts with (``prefix-...``)."""
    hits = [p for p in table if key and (key == p or key.startswith(p + "-"))]
    return max(hits, key=len) if hits else None


def _longest(table: dict[str, Any], key: str | None) -> Any:
    prefix = _longest_prefix(table, key)
    return None if prefix is None else table[prefix]


def callback_ids(entry: dict) -> list[Any]:
    outs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]
    ids = [o.component_id for o in outs]
    return ids + [d["id"] for d in entry["inputs"] + entry["state"]]


def expected_callback_roles(entry: dict) -> tuple[set[str | None], list[str]]:
    """(roles allowed, None standing for the public; ids the tables do not know)."""
    may: set[str | None] = set(COLUMNS)
    unknown = []
    for cid in callback_ids(entry):
        key = _id_key(cid)
        page = _longest(COMPONENT_PAGE, key)
        if page is None:
            unknown.append(str(cid))
            continue
        if page != "public":
            may &= {r for r in COLUMNS if allowed(PAGES[page], r)}
        action = _longest(ACTIONS, key)
        if action is not None:
            may &= {r for r in COLUMNS if allowed(action, r)}
    return may, unknown


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


def test_every_callback_id_is_in_the_tables(env):
    unowned = {}
    for key, entry in server_callbacks(env).items():
        _roles, missing = expected_callback_roles(entry)
        if missing:
            unowned[key[:80]] = missing
    assert not unowned, f"callback ids COMPONENT_PAGE does not know (add them by hand): {unowned}"


@pytest.mark.parametrize("role", ALL, ids=lambda r: r or "anonymous")
def test_callbacks_by_role(env, clients, role):
    """Every server callback, called straight at /_dash-update-component: refused (401/403)
    exactly for the roles that may not see (or, for write-level ids, change) its page."""
    client = clients[role]
    callbacks = server_callbacks(env)
    assert len(callbacks) >= 3
    wrong = []
    for key, entry in callbacks.items():
        may = role in expected_callback_roles(entry)[0]
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


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_actions_by_role(env, clients, action):
    """Every write-level action of the README's table: each callback touching it is refused
    (401/403) for exactly the roles the table refuses (pimpinan and analis change nothing)."""
    cbs = [
        (k, e)
        for k, e in server_callbacks(env).items()
        if any(_longest_prefix(ACTIONS, _id_key(c)) == action for c in callback_ids(e))
    ]
    assert cbs, f"no callback touches {action!r}: update the ACTIONS table"
    wrong = []
    for key, entry in cbs:
        for role in ALL:
            resp = clients[role].post("/_dash-update-component", json=callback_body(key, entry))
            refused = resp.status_code in (401, 403)
            if refused == allowed(ACTIONS[action], role):
                wrong.append((key[:60], role, resp.status_code))
    assert not wrong, wrong


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_exports_by_role(env, clients, export):
    """Exports: analis (and every role seeing the page) may download, the others not."""
    cbs = [
        (k, e)
        for k, e in server_callbacks(env).items()
        if any(
            _id_key(o.component_id) == export
            for o in (e["output"] if isinstance(e["output"], list) else [e["output"]])
        )
    ]
    assert cbs, f"no callback outputs to {export!r}: update the EXPORTS table"
    for key, entry in cbs:
        for role in ALL:
            resp = clients[role].post("/_dash-update-component", json=callback_body(key, entry))
            refused = resp.status_code in (401, 403)
            assert refused != allowed(EXPORTS[export], role), (key[:60], role, resp.status_code)


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
        if under(url.split("?")[0], PUBLIC_SPEC + MACHINE_GET):
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


def test_api_description_is_public_and_holds_no_data(env, clients):
    """Issue 11: /api/openapi.json and /api/docs are public (README) and describe only."""
    for role in ALL:
        doc = clients[role].get("/api/openapi.json")
        assert doc.status_code == 200 and doc.get_json()["openapi"].startswith("3.1")
        page = clients[role].get("/api/docs")
        assert page.status_code == 200 and page.mimetype == "text/html"
    text = clients[None].get("/api/openapi.json").get_data(as_text=True)
    assert env.private_code not in text and env.public_code not in text  # no camera data


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
        if under(url.split("?")[0], PUBLIC_SPEC + MACHINE_GET):
            continue
        resp = clients["opd"].get(url)
        if url.startswith("/api/pengaduan/foto/"):
            if resp.status_code != 404:
                wrong.append((url, resp.status_code, 404))
        elif resp.status_code != 403:
            wrong.append((url, resp.status_code, 403))
    assert not wrong, wrong
