"""The public camera routes (privacy, id guessing, path traversal, viewer limits), script
injection in text shown on screen, oversized requests, and the audit trail of views/exports."""

from __future__ import annotations

import json
import threading
import time

import cv2
import dash
import numpy as np
import pytest
from access_helpers import credentials
from sqlalchemy import select, update

from dashboard.streaming import BOUNDARY, FrameHub, HubFull, PublicCamera
from store import users
from store.audit import AuditAction
from store.models import AuditLog, Camera

TRAVERSALS = [
    "/snapshots/..%2f..%2fetc/passwd",
    "/snapshots/..%2f..%2fsecret_key.jpg",
    "/snapshots/%2e%2e/%2e%2e/etc/passwd",
    "/snapshots/%2e%2e%2fpantau.db.jpg",
    "/snapshots/%252e%252e%252fsecret_key.jpg",
    "/snapshots/..%5c..%5csecret_key.jpg",
    "/snapshots/x%00.jpg",
    "/snapshots/../secret_key",
    "/api/public/snapshot/..%2f..%2fsecret_key.jpg",
    "/api/public/snapshot/%2e%2e%2fpantau.db.jpg",
    "/api/public/snapshot/..%5csecret_key.jpg",
    "/api/public/snapshot/%252e%252e%252fsecret_key.jpg",
    "/api/public/stream/..%2f..%2fsecret_key.mjpg",
    "/api/public/snapshot/PLG-BKB-01.public.jpg",
    "/cctv/../admin/pengguna",
    "/assets/../var/secret_key",
    "/assets/..%2f..%2fpantau%2fsettings.py",
]


# --------------------------------------------------------------------------------------------
# public pictures
def test_public_snapshot_is_blurred(env, clients):
    resp = clients[None].get(f"/api/public/snapshot/{env.public_code}.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    served = cv2.imdecode(np.frombuffer(resp.data, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imread(str(env.settings.snapshot_dir / f"{env.public_code}.public.jpg"))
    assert original is not None
    assert served.shape == original.shape
    # the face in the test picture is pixelated: large local differences from the original
    diff = cv2.absdiff(served, original).mean(axis=2)
    assert (diff > 25).mean() > 0.02, "the served picture is the unblurred original"


def test_non_public_and_unknown_codes_are_indistinguishable(env, clients):
    """A non-public camera (its files exist!) answers exactly like a code that does not exist."""
    anon = clients[None]
    for kind in ("snapshot/{}.jpg", "stream/{}.mjpg"):
        private = anon.get("/api/public/" + kind.format(env.private_code))
        missing = anon.get("/api/public/" + kind.format("PLG-NOPE-99"))
        assert private.status_code == missing.status_code == 404
        assert private.data == missing.data
        assert private.headers.get("Content-Type") == missing.headers.get("Content-Type")


def test_guessing_codes_reveals_nothing(env, clients):
    with env.db.session() as s:
        codes = list(s.scalars(select(Camera.code)))
        public = set(s.scalars(select(Camera.code).where(Camera.is_public.is_(True))))
    for code in codes:
        resp = clients[None].get(f"/api/public/snapshot/{code}.jpg")
        assert resp.status_code == (200 if code in public else 404), code
    listed = clients[None].get("/api/public/cameras.geojson").get_json()
    assert {f["properties"]["code"] for f in listed["features"]} == public
    for feature in listed["features"]:  # public facts only
        assert set(feature["properties"]) <= {"code", "name", "kecamatan", "address"}


def test_staff_snapshots_need_a_login(env, clients):
    assert clients[None].get(f"/snapshots/{env.private_code}.jpg").status_code == 401
    assert clients[None].get(f"/snapshots/{env.public_code}.jpg").status_code == 401
    resp = clients["pimpinan"].get(f"/snapshots/{env.private_code}.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"


@pytest.mark.parametrize("url", TRAVERSALS)
def test_path_traversal(env, clients, url):
    secret = env.settings.resolved_secret_key().encode()
    for role in (None, "admin"):
        resp = clients[role].get(url)
        assert resp.status_code in (400, 401, 404), (role, url, resp.status_code)
        assert secret not in resp.data and b"root:" not in resp.data
        assert b"SQLite format" not in resp.data


def test_public_stream_serves_blurred_mjpeg(env, clients):
    resp = clients[None].get(f"/api/public/stream/{env.public_code}.mjpg", buffered=False)
    try:
        assert resp.status_code == 200
        assert resp.mimetype == "multipart/x-mixed-replace"
        data = b""
        for chunk in resp.response:
            data += chunk
            if data.count(f"--{BOUNDARY}".encode()) >= 2:
                break
        jpeg = data[data.index(b"\xff\xd8") : data.rindex(b"\xff\xd9") + 2]
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert frame is not None and frame.shape[2] == 3
        snap = clients[None].get(f"/api/public/snapshot/{env.public_code}.jpg").data
        assert jpeg == snap  # the stream and the snapshot share one encoded picture
    finally:
        resp.close()
    hub = env.app.server.extensions["pantau_hub"]
    assert hub.viewers(env.public_code) == 0  # closing the response frees the slot


# --------------------------------------------------------------------------------------------
# the frame hub on its own
def _frame_source(frames: list[np.ndarray]):
    class Source:
        def __init__(self) -> None:
            self.i = 0

        def read(self) -> np.ndarray:
            self.i += 1
            return frames[self.i % len(frames)]

        def close(self) -> None:
            pass

    return lambda camera: Source()


def _camera(code: str = "CAM-1") -> PublicCamera:
    return PublicCamera(code, "Kamera", "Kec", None, 0.0, 0.0, "file:///dev/null", "file")


def test_hub_encodes_once_for_many_viewers(tmp_path):
    calls = []

    def blur(frame):
        calls.append(1)
        return frame.copy(), 0, 0

    frames = [np.full((90, 160, 3), i * 40, np.uint8) for i in range(4)]
    hub = FrameHub(snapshot_dir=tmp_path, fps=20, blur=blur, opener=_frame_source(frames))
    subs = [hub.subscribe(_camera()) for _ in range(10)]
    try:
        got = []

        def watch(sub) -> None:
            parts = sub.parts(max_seconds=1.0)
            got.append(sum(1 for _ in parts))

        threads = [threading.Thread(target=watch, args=(s,)) for s in subs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        produced = hub.stats()["frames_produced"]
        # one blur per frame, not per viewer (the producer may be mid-frame: +1)
        assert produced >= 5 and produced <= len(calls) <= produced + 1
        assert hub.stats()["frames_served"] >= 5 * len(subs)
    finally:
        for s in subs:
            s.close()
        hub.close()


def test_hub_viewer_limits(tmp_path):
    frames = [np.zeros((90, 160, 3), np.uint8)]
    hub = FrameHub(
        snapshot_dir=tmp_path,
        max_viewers=2,
        max_total=3,
        blur=lambda f: (f.copy(), 0, 0),
        opener=_frame_source(frames),
    )
    try:
        a, b = hub.subscribe(_camera("A")), hub.subscribe(_camera("A"))
        with pytest.raises(HubFull) as full:
            hub.subscribe(_camera("A"))
        assert full.value.scope == "camera"
        c = hub.subscribe(_camera("B"))
        with pytest.raises(HubFull) as full:
            hub.subscribe(_camera("C"))
        assert full.value.scope == "total"
        a.close()
        a.close()  # idempotent: one slot back, not two
        hub.subscribe(_camera("A")).close()
        assert hub.viewers("A") == 1
        b.close(), c.close()
    finally:
        hub.close()


def test_hub_producer_stops_without_viewers(tmp_path):
    hub = FrameHub(
        snapshot_dir=tmp_path,
        idle_grace_s=0.2,
        blur=lambda f: (f.copy(), 0, 0),
        opener=_frame_source([np.zeros((90, 160, 3), np.uint8)]),
    )
    sub = hub.subscribe(_camera())
    thread = hub._channels["CAM-1"].thread
    sub.close()
    thread.join(3)
    assert not thread.is_alive() and hub.stats()["channels"] == 0
    hub.close()


def test_hub_fails_closed_when_blur_fails(tmp_path):
    secret = np.full((90, 160, 3), 255, np.uint8)

    def broken_blur(frame):
        return frame.copy(), -1, -1  # analytics.privacy's failure signal

    hub = FrameHub(
        snapshot_dir=tmp_path, blur=broken_blur, opener=_frame_source([secret]), keepalive_s=0.5
    )
    cv2.imwrite(str(tmp_path / "CAM-1.public.jpg"), secret)
    try:
        assert hub.snapshot(_camera()) is None
        sub = hub.subscribe(_camera())
        sent = b"".join(sub.parts(max_seconds=2.0))
        sub.close()
        # pictures went out (keep-alives), every one of them the neutral placeholder
        assert sent.count(hub.placeholder) >= 1
        assert sent.count(b"\xff\xd8") == sent.count(hub.placeholder)
        assert hub.stats()["blur_failures"] >= 1 and hub.stats()["frames_produced"] == 0

        def raising(frame):
            raise RuntimeError("detector crashed")

        hub.blur = raising
        assert hub.privacy_jpeg(secret) is None
    finally:
        hub.close()


def test_stream_limit_answers_503(tmp_path):
    from access_helpers import make_env

    e = make_env(tmp_path / "var", public_stream_max_viewers=1)
    client = e.app.server.test_client()
    first = client.get(f"/api/public/stream/{e.public_code}.mjpg", buffered=False)
    try:
        second = client.get(f"/api/public/stream/{e.public_code}.mjpg")
        assert second.status_code == 503 and int(second.headers["Retry-After"]) > 0
    finally:
        first.close()
    again = client.get(f"/api/public/stream/{e.public_code}.mjpg", buffered=False)
    assert again.status_code == 200
    again.close()
    e.app.server.extensions["pantau_hub"].close()
    e.db.dispose()


# --------------------------------------------------------------------------------------------
# script injection in text shown on screen
XSS = "<script>alert('pantau')</script><img src=x onerror=alert(1)>"


def _walk(node, path=""):
    if isinstance(node, dict):
        if "type" in node and "props" in node:
            yield node, path
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _assert_text_only(payload: dict, needle: str) -> int:
    """``needle`` appears only as plain text children, never in an HTML-rendering prop."""
    hits = 0
    for comp, _path in _walk(payload):
        props = comp["props"]
        assert "dangerouslySetInnerHTML" not in props
        assert not (comp["type"] == "Markdown" and props.get("dangerously_allow_html"))
        for key, value in props.items():
            if isinstance(value, str) and needle in value:
                assert key in ("children", "alt", "title", "value", "label"), (comp["type"], key)
                hits += 1
            if key == "children" and isinstance(value, list):
                hits += sum(1 for v in value if isinstance(v, str) and needle in v)
    return hits


def _render(client, path: str) -> dict:
    body = {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": [],
    }
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    return json.loads(resp.data)


def test_script_injection_is_rendered_as_text(env, clients):
    with env.db.session() as s:
        admin = users.get_by_username(s, credentials("admin")[0])
        old_name = admin.full_name
        admin.full_name = XSS
        s.execute(update(Camera).where(Camera.code == env.public_code).values(name=XSS))
    try:
        admin_page = _render(clients["admin"], "/admin/pengguna")
        assert _assert_text_only(admin_page, XSS) >= 1
        shell = json.loads(clients["admin"].get("/_dash-layout").data)
        assert _assert_text_only(shell, XSS) == 1  # the user menu
        cctv = _render(clients[None], "/cctv")
        assert _assert_text_only(cctv, XSS) >= 1
        geo = clients[None].get("/api/public/cameras.geojson")
        assert geo.mimetype == "application/json"  # data, never HTML
    finally:
        with env.db.session() as s:
            s.get(type(admin), admin.id).full_name = old_name
            s.execute(update(Camera).where(Camera.code == env.public_code).values(name="BKB"))


def test_json_error_bodies_are_not_html(env, clients):
    resp = clients[None].get("/snapshots/%3Cscript%3E.jpg")
    assert resp.status_code in (401, 404)
    assert resp.mimetype == "application/json" and b"<script>" not in resp.data


# --------------------------------------------------------------------------------------------
# oversized requests
def test_oversized_requests_get_413(env, clients):
    limit = env.app.server.config["MAX_CONTENT_LENGTH"]
    big = b"x" * (limit + 1024)
    for role in (None, "admin"):
        resp = clients[role].post(
            "/_dash-update-component", data=big, content_type="application/json"
        )
        assert resp.status_code == 413, role
    resp = clients[None].post(
        "/auth/login", data=big, content_type="application/x-www-form-urlencoded"
    )
    assert resp.status_code == 413


# --------------------------------------------------------------------------------------------
# accountability
def _audit(db, action: str) -> list[AuditLog]:
    with db.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_views_of_non_public_cameras_are_audited(env, clients):
    from dashboard import auth

    auth._last_view.clear()  # one row per user and camera every few minutes: start afresh
    before = len(_audit(env.db, AuditAction.VIEW_CAMERA))
    clients["operator"].get(f"/snapshots/{env.private_code}.jpg")
    clients["operator"].get(f"/snapshots/{env.public_code}.jpg")  # public: not logged
    rows = _audit(env.db, AuditAction.VIEW_CAMERA)
    assert len(rows) == before + 1
    assert rows[-1].target == env.private_code and rows[-1].username == credentials("operator")[0]
    assert rows[-1].ip == "127.0.0.1"
    if any(p.get("path_template") == "/camera/<code>" for p in dash.page_registry.values()):
        _render(clients["analis"], f"/camera/{env.private_code}")
        rows = _audit(env.db, AuditAction.VIEW_CAMERA)
        assert rows[-1].username == credentials("analis")[0]
        assert rows[-1].detail == {"via": "page"}


def test_downloads_are_audited(env, clients):
    """dcc.Download callbacks and attachment responses write an export row with who and what."""
    from dash import Input, Output, dcc

    if "..traffic-download-uji.data.." not in env.app.callback_map:
        env.app.callback(
            Output("traffic-download-uji", "data"),
            Input("traffic-download-uji-csv", "n_clicks"),
            prevent_initial_call=True,
        )(lambda n: dcc.send_string("jam,kendaraan\n07,120\n", "lalu-lintas-uji.csv"))
    before = len(_audit(env.db, AuditAction.EXPORT))
    body = {
        "output": "traffic-download-uji.data",
        "outputs": {"id": "traffic-download-uji", "property": "data"},
        "inputs": [{"id": "traffic-download-uji-csv", "property": "n_clicks", "value": 1}],
        "state": [],
        "changedPropIds": ["traffic-download-uji-csv.n_clicks"],
    }
    assert clients[None].post("/_dash-update-component", json=body).status_code == 401
    resp = clients["analis"].post("/_dash-update-component", json=body)
    assert resp.status_code == 200 and b"lalu-lintas-uji.csv" in resp.data
    rows = _audit(env.db, AuditAction.EXPORT)
    assert len(rows) == before + 1
    assert rows[-1].username == credentials("analis")[0]
    assert rows[-1].detail["filename"] == "lalu-lintas-uji.csv"
    # a Flask route answering with an attachment
    resp = clients["operator"].get("/api/uji-export.csv")
    assert resp.status_code == 200
    rows = _audit(env.db, AuditAction.EXPORT)
    assert len(rows) == before + 2 and rows[-1].target == "/api/uji-export.csv"
    # plain JSON is not an export
    clients["operator"].get("/api/public/cameras.geojson")
    assert len(_audit(env.db, AuditAction.EXPORT)) == before + 2


def test_audit_page_lists_and_filters(env, clients):
    page = _render(clients["admin"], "/admin/audit")
    text = json.dumps(page)
    assert "Log audit" in text and "Masuk" in text  # the sign-ins of this module's clients
    from dashboard.callbacks.audit import audit_table

    with env.app.server.test_request_context("/"):
        table, summary = audit_table(action=AuditAction.LOGIN_FAILED, username="zz-nobody")
    assert summary == ""  # nothing matches: an empty-state alert, no rows
    with env.app.server.test_request_context("/"):
        table, summary = audit_table(action=AuditAction.LOGIN)
    assert summary and "entri" in summary


def test_password_hash_verifies_only_the_right_password():
    """argon2id hashes: the right password verifies, a wrong one does not (speed is benched)."""
    h = users.hash_password("a-long-test-password")
    assert h.startswith("$argon2id$")
    assert users.verify_password(h, "a-long-test-password")
    assert not users.verify_password(h, "wrong")


# --------------------------------------------------------------------------------------------
# user management through the admin page's callback
def _admin_action(client, trigger: str, **values):
    states = {
        "admin-users-new-username": None,
        "admin-users-new-name": None,
        "admin-users-new-role": "operator",
        "admin-users-new-password": None,
        "admin-users-pick": None,
        "admin-users-role": "operator",
        "admin-users-new-opd": "",
        "admin-users-opd": "",
    }
    states.update({f"admin-users-{k.replace('_', '-')}": v for k, v in values.items()})
    buttons = ["create", "apply-role", "reset", "unlock", "toggle"]
    body = {
        "output": "..admin-users-feedback.children...admin-users-table.children..."
        "admin-users-pick.options...admin-users-new-password.value..",
        "outputs": [
            {"id": "admin-users-feedback", "property": "children"},
            {"id": "admin-users-table", "property": "children"},
            {"id": "admin-users-pick", "property": "options"},
            {"id": "admin-users-new-password", "property": "value"},
        ],
        "inputs": [
            {"id": f"admin-users-{b}", "property": "n_clicks", "value": 1 if b == trigger else 0}
            for b in buttons
        ],
        "state": [{"id": cid, "property": "value", "value": v} for cid, v in states.items()],
        "changedPropIds": [f"admin-users-{trigger}.n_clicks"],
    }
    return client.post("/_dash-update-component", json=body)


def test_admin_manages_users_through_the_page(env, clients):
    resp = _admin_action(
        clients["admin"], "create", new_username="siti.op", new_name="Siti", new_role="operator"
    )
    assert resp.status_code == 200
    payload = resp.get_json()["response"]
    temp = json.dumps(payload["admin-users-feedback"])
    with env.db.session() as s:
        user = users.get_by_username(s, "siti.op")
        assert user is not None and user.role == "operator"
        code = next(
            c["props"]["children"]
            for c, _ in _walk(payload["admin-users-feedback"])
            if c["props"].get("id") == "admin-users-temp"
        )
        assert users.verify_password(user.password_hash, code)  # the shown temporary password
    assert "siti.op" in json.dumps(payload["admin-users-table"]) and temp
    # change role, reset, deactivate: each audited with the admin's name
    assert (
        _admin_action(clients["admin"], "apply-role", pick="siti.op", role="analis").status_code
        == 200
    )
    assert _admin_action(clients["admin"], "toggle", pick="siti.op").status_code == 200
    with env.db.session() as s:
        user = users.get_by_username(s, "siti.op")
        assert user.role == "analis" and not user.is_active
        rows = list(
            s.scalars(select(AuditLog).where(AuditLog.target == "siti.op").order_by(AuditLog.id))
        )
    assert [r.action for r in rows] == [
        AuditAction.USER_CREATE,
        AuditAction.USER_ROLE,
        AuditAction.USER_ACTIVE,
    ]
    assert {r.username for r in rows} == {credentials("admin")[0]}
    # refused for everyone else, even with a well-formed request
    for role in (None, "pimpinan", "operator", "analis", "opd"):
        resp = _admin_action(clients[role], "create", new_username="evil.user")
        assert resp.status_code in (401, 403)
    with env.db.session() as s:
        assert users.get_by_username(s, "evil.user") is None


def test_admin_makes_opd_staff_through_the_page(env, clients):
    """The OPD role needs an OPD: refused with a message in both languages without one, then
    created with the chosen OPD; changing the role moves or drops the link."""
    admin = clients["admin"]
    with env.db.session() as s:
        dishub, pupr = users.find_opd(s, "DISHUB").id, users.find_opd(s, "PUPR").id
    refused = _admin_action(admin, "create", new_username="dishub.rina", new_role="opd")
    assert refused.status_code == 200
    text = json.dumps(refused.get_json()["response"]["admin-users-feedback"])
    assert "wajib dikaitkan ke satu OPD" in text and "needs an agency" in text
    with env.db.session() as s:
        assert users.get_by_username(s, "dishub.rina") is None
    made = _admin_action(
        admin, "create", new_username="dishub.rina", new_role="opd", new_opd=str(dishub)
    )
    assert "Dishub" in json.dumps(made.get_json()["response"]["admin-users-table"])
    _admin_action(admin, "apply-role", pick="dishub.rina", role="opd", opd=str(pupr))
    with env.db.session() as s:
        assert users.get_by_username(s, "dishub.rina").opd_id == pupr
    _admin_action(admin, "apply-role", pick="dishub.rina", role="analis", opd=str(pupr))
    with env.db.session() as s:
        user = users.get_by_username(s, "dishub.rina")
        assert (user.role, user.opd_id) == ("analis", None)


def test_stream_ends_when_camera_stops_being_public(tmp_path):
    public = {"CAM-1": True}
    hub = FrameHub(
        snapshot_dir=tmp_path,
        fps=20,
        blur=lambda f: (f.copy(), 0, 0),
        opener=_frame_source([np.zeros((90, 160, 3), np.uint8)]),
        still_public=lambda code: public.get(code, False),
        recheck_s=0.1,
        keepalive_s=0.5,
    )
    sub = hub.subscribe(_camera())
    try:
        parts = sub.parts(max_seconds=30)
        next(parts), next(parts)  # streaming
        public["CAM-1"] = False  # an admin unpublishes the camera
        t0 = time.monotonic()
        rest = list(parts)  # the stream ends by itself
        assert time.monotonic() - t0 < 5
        assert len(rest) < 200
        assert hub.stats()["channels"] == 0
    finally:
        sub.close()
        hub.close()
