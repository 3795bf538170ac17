"""The video wall (``/dinding``, ``/api/dinding/*``): staff only; non-public cameras unblurred
and every view audited (once per user and camera per throttle window, like snapshots); public
cameras exactly as the public hub serves them (blurred); caps answered with 503 + Retry-After
or a "busy" tile; the callbacks' takeover and the custom groups' write roles.

Runs on the access fixture app (reference cameras, a real face as the snapshot of one public
and one non-public camera, dashboard/api and the auth guard as deployed)."""

from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np
import pytest
from access_helpers import PASSWORD, login_with
from test_access_matrix import callback_body, server_callbacks

from dashboard.wall_hub import WALL_BOUNDARY
from store import users
from store.models import Alert, AuditLog, Camera, WallGroup
from store.types import utcnow

STAFF = ("pimpinan", "operator", "analis", "admin")


def _decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, data[:100]
    return img


def _fresh_client(env, name: str, role: str = "operator"):
    """A client signed in as a user of its own (the view throttle is per user)."""
    with env.db.session() as s:
        if users.get_by_username(s, name) is None:
            users.create_user(s, name, PASSWORD.format(role=role), role, actor="test")
    client = env.app.server.test_client()
    resp = login_with(client, name, PASSWORD.format(role=role))
    assert resp.status_code == 302
    return client


def _views(env, username: str) -> list[AuditLog]:
    with env.db.session() as s:
        return list(
            s.query(AuditLog).filter(
                AuditLog.username == username, AuditLog.action == "view_camera"
            )
        )


def _parts(chunks) -> list[dict]:
    """Parts of a wall stream (dashboard/wall_hub.py format)."""
    data = b"".join(chunks)
    parts = []
    for raw in data.split(f"--{WALL_BOUNDARY}\r\n".encode())[1:]:
        head, _, rest = raw.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line)
        length = int(headers["Content-Length"])
        parts.append({**headers, "body": rest[:length]})
    return parts


def _read_stream(client, url: str, parts_wanted: int, max_chunks: int = 60) -> list[dict]:
    resp = client.get(url, buffered=False)
    assert resp.status_code == 200, resp.data[:200]
    assert resp.mimetype == "multipart/mixed"
    chunks = []
    try:
        for chunk in resp.response:
            chunks.append(chunk)
            if len(_parts(chunks)) >= parts_wanted or len(chunks) >= max_chunks:
                break
    finally:
        resp.close()
    return _parts(chunks)


# --------------------------------------------------------------------------------------------
# who may see it
@pytest.mark.parametrize("role", [None, "opd", *STAFF])
def test_the_wall_page_is_for_staff_only(clients, role):
    resp = clients[role].get("/dinding")
    if role is None:
        assert resp.status_code == 302 and "/masuk" in resp.headers["Location"]
    elif role == "opd":
        assert resp.status_code == 403
    else:
        assert resp.status_code == 200


@pytest.mark.parametrize("role", [None, "opd"])
def test_the_wall_pictures_are_refused_to_the_public_and_opd(env, clients, role):
    code = env.private_code
    for url in (f"/api/dinding/snapshot/{code}.jpg", f"/api/dinding/live?codes={code}"):
        resp = clients[role].get(url)
        assert resp.status_code == (401 if role is None else 403), url
        assert resp.mimetype == "application/json"
        assert not resp.data.startswith(b"\xff\xd8")  # no picture


# --------------------------------------------------------------------------------------------
# what staff see
def test_staff_see_a_non_public_camera_unblurred_and_a_public_one_as_the_public_does(env, clients):
    op = clients["operator"]
    raw = cv2.imread(str(env.settings.snapshot_dir / f"{env.private_code}.jpg"))
    got = _decode(op.get(f"/api/dinding/snapshot/{env.private_code}.jpg").data)
    assert got.shape == raw.shape  # 200x180: under the wall width, not resized
    # the public camera: the very bytes /api/public serves (privacy-blurred, shared hub)
    wall_public = op.get(f"/api/dinding/snapshot/{env.public_code}.jpg").data
    public = clients[None].get(f"/api/public/snapshot/{env.public_code}.jpg").data
    assert wall_public == public
    # both snapshot files hold the same face: the non-public camera's tile is that picture
    # only JPEG-encoded (q75, byte for byte what OpenCV makes of it), the public one is not
    ok, plain = cv2.imencode(".jpg", raw, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    assert op.get(f"/api/dinding/snapshot/{env.private_code}.jpg").data == plain.tobytes()
    assert public != plain.tobytes()


def test_an_unknown_or_malformed_camera_is_a_404(clients):
    op = clients["operator"]
    for code in ("NOPE-99", "a" * 65, "..", "x%00y"):
        resp = op.get(f"/api/dinding/snapshot/{code}.jpg")
        assert resp.status_code == 404, code
        assert resp.mimetype == "application/json"


@pytest.mark.parametrize("query", ["", "?codes=", "?codes=,,,", "?codes=../x", "?codes=%00"])
def test_a_wall_without_valid_codes_is_a_400(clients, query):
    resp = clients["operator"].get("/api/dinding/live" + query)
    assert resp.status_code == 400
    assert "codes" in resp.get_json()["error"]


def test_each_view_of_a_non_public_camera_is_audited_once_per_throttle_window(env):
    client = _fresh_client(env, "wall.audit")
    for _ in range(3):
        assert client.get(f"/api/dinding/snapshot/{env.private_code}.jpg").status_code == 200
    _read_stream(client, f"/api/dinding/live?codes={env.private_code}", 1)
    views = _views(env, "wall.audit")
    assert len(views) == 1  # four views within the window: one row
    assert views[0].target == env.private_code
    assert views[0].detail == {"via": "wall"}
    # public cameras are not audited (the public sees them too)
    client.get(f"/api/dinding/snapshot/{env.public_code}.jpg")
    _read_stream(client, f"/api/dinding/live?codes={env.public_code}", 1)
    assert [v.target for v in _views(env, "wall.audit")] == [env.private_code]


def test_the_view_throttle_lets_a_new_row_through_after_its_window(env, monkeypatch):
    from dashboard import auth

    client = _fresh_client(env, "wall.throttle")
    client.get(f"/api/dinding/snapshot/{env.private_code}.jpg")
    monkeypatch.setattr(auth, "CAMERA_VIEW_THROTTLE_S", 0)  # the window has passed
    client.get(f"/api/dinding/snapshot/{env.private_code}.jpg")
    assert len(_views(env, "wall.throttle")) == 2


def test_one_connection_carries_every_tile_and_names_the_missing_ones(env, clients):
    codes = f"{env.private_code},{env.public_code},NOPE-1,{env.private_code}"
    parts = _read_stream(clients["operator"], f"/api/dinding/live?codes={codes}&fps=4", 3)
    by_camera = {}
    for p in parts:
        by_camera.setdefault(p["X-Camera"], p)
    assert by_camera["NOPE-1"]["X-State"] == "gone"
    assert by_camera["NOPE-1"]["body"] == b""
    private = by_camera[env.private_code]
    assert private["X-State"] == "live"
    assert private["Content-Type"] == "image/jpeg"
    raw = cv2.imread(str(env.settings.snapshot_dir / f"{env.private_code}.jpg"))
    assert private["body"] == cv2.imencode(".jpg", raw, [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes()
    # its age: the snapshot file's time (the hub's fallback picture)
    mtime = (env.settings.snapshot_dir / f"{env.private_code}.jpg").stat().st_mtime
    assert abs(float(private["X-Taken"]) - mtime) < 1.0
    public = by_camera[env.public_code]
    assert public["X-State"] == "live"
    assert public["body"] == clients[None].get(f"/api/public/snapshot/{env.public_code}.jpg").data


def test_too_many_walls_is_a_503_with_retry_after(env, clients):
    from dashboard.api import dinding

    with env.app.server.app_context():
        slots = dinding.wall_slots()
    taken = 0
    while slots.take():
        taken += 1
    try:
        resp = clients["operator"].get(f"/api/dinding/live?codes={env.private_code}")
        assert resp.status_code == 503
        assert int(resp.headers["Retry-After"]) > 0
    finally:
        for _ in range(taken):
            slots.give_back()
    parts = _read_stream(clients["operator"], f"/api/dinding/live?codes={env.private_code}", 1)
    assert parts[0]["X-State"] == "live"  # a slot again


def test_a_full_hub_makes_the_tile_busy_not_the_wall(env, clients):
    from dashboard.api import dinding

    with env.app.server.app_context():
        hub = dinding.staff_hub()
    before = hub.max_total
    hub.max_total = 0
    try:
        codes = f"{env.private_code},{env.public_code}"
        parts = _read_stream(clients["operator"], f"/api/dinding/live?codes={codes}", 2)
    finally:
        hub.max_total = before
    states = {p["X-Camera"]: p["X-State"] for p in parts}
    assert states[env.private_code] == "busy"
    assert states[env.public_code] == "live"  # the public hub still had room


def test_tile_rate_caps(env):
    from dashboard.api.dinding import parse_codes, tile_fps

    cfg = env.settings
    with env.app.server.app_context():
        assert tile_fps("100", 16) == min(cfg.wall_stream_fps, cfg.wall_tile_fps)
        assert tile_fps("100", 4) == cfg.wall_stream_fps
        assert tile_fps("0.5", 4) == 0.5
        for junk in (None, "nan", "-3", "0", "abc", "inf"):
            assert 0 < tile_fps(junk, 9) <= cfg.wall_tile_fps
    many = ",".join(f"C{i}" for i in range(40))
    assert len(parse_codes(many)) == 16
    assert parse_codes("A,A,B,../c,,d e") == ["A", "B"]
    assert parse_codes(["A"]) == []


# --------------------------------------------------------------------------------------------
# callbacks: takeover and the write roles of custom groups
def _render_body(env, layout: str = "2x2") -> dict:
    key, entry = next(
        (k, e) for k, e in server_callbacks(env).items() if "dinding-grid.children" in k
    )
    body = callback_body(key, entry)
    values = {
        "dinding-layout.value": layout,
        "dinding-kind.value": "all",
        "dinding-rotate.n_intervals": 0,
        "dinding-refresh.n_intervals": 0,
        "dinding-rotate.disabled": False,
        "dinding-every.value": 20,
    }
    for dep in body["inputs"] + body["state"]:
        dep["value"] = values.get(f"{dep['id']}.{dep['property']}")
    body["changedPropIds"] = ["dinding-refresh.n_intervals"]
    return body


def _tiles(resp) -> list[dict]:
    assert resp.status_code == 200, resp.data[:300]
    children = resp.get_json()["response"]["dinding-grid"]["children"]
    return [c["props"] for c in children]


def test_a_camera_with_a_new_alert_takes_the_first_tile_highlighted(env, clients):
    op = clients["operator"]
    with env.db.session() as s:
        last = s.query(Camera).filter(Camera.enabled.is_(True)).order_by(Camera.name.desc()).first()
        code, cam_id = last.code, last.id
    before = _tiles(op.post("/_dash-update-component", json=_render_body(env)))
    assert len(before) == 4 and before[0]["data-code"] != code  # last by name: not on page 1
    with env.db.session() as s:
        s.add(
            Alert(
                rule="flood_coverage", severity="critical", level="siaga",
                subject_type="camera", subject_id=code, camera_id=cam_id,
                title="Genangan", started_at=utcnow() - timedelta(minutes=1),
            )
        )  # fmt: skip
    try:
        after = _tiles(op.post("/_dash-update-component", json=_render_body(env)))
        assert len(after) == 4
        assert after[0]["data-code"] == code
        assert "dinding-pinned" in after[0]["className"]
        assert "SIAGA" in str(after[0]["children"])
        assert all("dinding-pinned" not in t["className"] for t in after[1:])
        one = _tiles(op.post("/_dash-update-component", json=_render_body(env, "1")))
        assert [t["data-code"] for t in one] == [code]
    finally:
        with env.db.session() as s:
            s.query(Alert).filter(Alert.camera_id == cam_id).delete()


def _save_body(env, name: str, cameras: list[str]) -> dict:
    key, entry = next(
        (k, e) for k, e in server_callbacks(env).items() if "dinding-save-feedback" in k
    )
    body = callback_body(key, entry)
    values = {
        "dinding-save-button.n_clicks": 1,
        "dinding-save-name.value": name,
        "dinding-save-cameras.value": cameras,
        "dinding-kind.value": "all",
        "dinding-groups-version.data": 0,
    }
    for dep in body["inputs"] + body["state"]:
        dep["value"] = values.get(f"{dep['id']}.{dep['property']}")
    body["changedPropIds"] = ["dinding-save-button.n_clicks"]
    return body


@pytest.mark.parametrize("role", ["pimpinan", "analis"])
def test_only_operators_and_admins_save_groups(env, clients, role):
    body = _save_body(env, f"grup {role}", [env.private_code])
    assert clients[role].post("/_dash-update-component", json=body).status_code == 403
    with env.db.session() as s:
        assert s.query(WallGroup).filter(WallGroup.name == f"grup {role}").count() == 0


def test_an_operator_saves_a_group(env, clients):
    body = _save_body(env, "Pantauan jembatan", [env.private_code, env.public_code])
    resp = clients["operator"].post("/_dash-update-component", json=body)
    assert resp.status_code == 200, resp.data[:300]
    with env.db.session() as s:
        group = s.query(WallGroup).filter(WallGroup.name == "Pantauan jembatan").one()
        assert group.cameras == [env.private_code, env.public_code]
        assert group.created_by == "uji.operator"
