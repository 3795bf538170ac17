"""GeoJSON and snapshot routes through the real app (guard included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from known_data import load_known_rollups

from dashboard.api.geo import snapshot_path
from tests.access.access_helpers import login


@pytest.fixture
def app_env(settings, sqlite_db) -> Iterator[tuple]:
    from dashboard.app import create_app
    from store.models import Alert, Camera

    load_known_rollups(sqlite_db)
    with sqlite_db.session() as s:
        cam_b = s.query(Camera).filter_by(code="CAM-B").one()
        s.add(Alert(rule="flood_coverage", severity="critical", subject_type="camera",
                    subject_id="CAM-B", camera_id=cam_b.id, title="Genangan"))  # fmt: skip
    app = create_app(settings, sqlite_db)
    yield app, sqlite_db, settings
    hub = app.server.extensions.get("pantau_hub")
    if hub is not None:
        hub.close()


def test_cameras_geojson_has_status_and_alert_level(app_env):
    app, db, _ = app_env
    client = login(app.server.test_client(), db, "pimpinan")
    resp = client.get("/api/cameras.geojson")
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    feats = {f["properties"]["c"]: f for f in resp.get_json()["features"]}
    assert feats["CAM-A"]["properties"]["s"] == "online" and feats["CAM-A"]["properties"]["a"] == 0
    assert feats["CAM-B"]["properties"]["s"] == "offline" and feats["CAM-B"]["properties"]["a"] == 3
    assert feats["CAM-A"]["geometry"]["coordinates"] == [104.75, -2.97]


def test_geo_routes_need_a_signed_in_user(app_env):
    app, _db, _ = app_env
    anonymous = app.server.test_client()
    for path in ("/api/cameras.geojson", "/snapshots/CAM-A.jpg"):
        assert anonymous.get(path).status_code in (302, 401, 403), path


def test_snapshot_placeholder_real_file_and_traversal(app_env):
    app, db, settings = app_env
    client = login(app.server.test_client(), db, "operator")
    resp = client.get("/snapshots/CAM-A.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert resp.headers.get("X-Pantau-Placeholder") == "1"
    assert resp.data[:2] == b"\xff\xd8"  # a JPEG
    (settings.snapshot_dir / "CAM-A.jpg").write_bytes(b"\xff\xd8real-frame\xff\xd9")
    resp = client.get("/snapshots/CAM-A.jpg")
    assert resp.data == b"\xff\xd8real-frame\xff\xd9" and "X-Pantau-Placeholder" not in resp.headers
    secret = settings.var_dir / "secret.jpg"
    secret.write_bytes(b"secret")
    for path in ("/snapshots/..%2Fsecret.jpg", "/snapshots/%2E%2E.jpg", "/snapshots/.hidden.jpg"):
        resp = client.get(path)
        assert resp.status_code in (400, 403, 404), path
        assert b"secret" not in resp.data
    assert snapshot_path(settings.snapshot_dir, "../secret") is None
    assert snapshot_path(settings.snapshot_dir, "CAM-A") is not None


def test_river_layer_is_labelled_approximate(app_env):
    """Reference geography: the same layer for staff and for the public CCTV map."""
    app, db, _ = app_env
    staff = login(app.server.test_client(), db, "analis")
    data = staff.get("/api/public/river.geojson").get_json()
    assert data["features"][0]["properties"]["approximate"] is True
    assert "APPROXIMATE" in data["description"]
    anonymous = app.server.test_client().get("/api/public/river.geojson")
    assert anonymous.status_code == 200 and anonymous.get_json() == data


def test_every_page_layout_renders(app_env):
    """Each situation-room page answers its path for a signed-in user."""
    app, db, _ = app_env
    client = login(app.server.test_client(), db, "operator")
    for path in ("/", "/lalu-lintas", "/banjir", "/keamanan", "/indikator-opd", "/camera/CAM-A"):
        assert client.get(path).status_code == 200, path
    import sys

    import dash

    for module, kwargs, expect in (
        ("overview", {}, "overview-map"),
        ("traffic", {}, "traffic-trend"),
        ("flood", {}, "flood-sensors"),
        ("security", {}, "security-kind"),
        ("opd", {}, "opd-cards"),
        ("camera", {"code": "CAM-A"}, "camera-snapshot"),
        ("camera", {"code": "../nope"}, "camera-missing"),
    ):
        # the module Dash Pages imported (importing dashboard.pages.X again would register
        # the page twice under another module name)
        name = next(
            p["module"] for p in dash.page_registry.values() if p["module"].endswith(f".{module}")
        )
        page = sys.modules[name]
        with app.server.test_request_context("/"):
            layout = page.layout(**kwargs)
        assert expect in str(layout), (module, kwargs)
