"""The evidence pages and routes: staff only (anonymous → sign-in, OPD → 403), the Rekam
button queues an audited recording for operators (not for pimpinan), opening an item and
downloading its package are custody and audit entries, the package verifies, hold/release."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

ACCESS = Path(__file__).resolve().parent.parent / "access"
if str(ACCESS) not in sys.path:
    sys.path.insert(0, str(ACCESS))

from access_helpers import make_env  # noqa: E402
from evidence_helpers import queue  # noqa: E402

from store.evidence import add_file, custody_rows, item_dir  # noqa: E402
from store.evidence_export import verify_package  # noqa: E402
from store.models import AuditLog, EvidenceItem  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from store.models import Camera

    e = make_env(tmp_path_factory.mktemp("evidence") / "var")
    with e.db.session() as s:  # a camera to record from (nothing listens: the recorder is not run)
        cam = s.scalar(select(Camera).where(Camera.code == e.private_code))
        cam.stream_url, cam.protocol = "http://127.0.0.1:18697/cam/0/mjpeg", "mjpeg"
    yield e
    e.db.dispose()


def _finished_item(env) -> int:
    item_id = queue(env.db, env.settings, env.private_code, 10)
    folder = item_dir(env.settings, item_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    with env.db.session() as s:
        item = s.get(EvidenceItem, item_id)
        add_file(s, env.settings, item, folder / "clip.mp4", "clip", "video/mp4", 10.0)
        item.status = "complete"
    return item_id


def _dash(client, output: str, inputs: list, state: list | None = None):  # noqa: ANN001
    from access_helpers import csrf_for

    token = csrf_for(client)
    body = {"output": output, "outputs": {"id": output.split(".")[0], "property": output.split(".")[1]},
            "inputs": inputs, "state": state or [], "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}  # fmt: skip
    return client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": token})


def test_pages_and_routes_are_staff_only(env):
    item_id = _finished_item(env)
    for path in ("/bukti", f"/bukti/{item_id}"):
        anon = env.client(None).get(path)
        assert anon.status_code == 302 and "/masuk" in anon.headers["Location"]
        assert env.client("opd").get(path).status_code == 403
        for role in ("pimpinan", "operator", "analis", "admin"):
            assert env.client(role).get(path).status_code == 200, (role, path)
    for path in (f"/evidence/paket/{item_id}.zip", f"/evidence/rekaman/{item_id}/clip.mp4"):
        assert env.client(None).get(path).status_code in (302, 401, 403)
        assert env.client("opd").get(path).status_code == 403
    assert env.client("analis").get(f"/evidence/rekaman/{item_id}/../x").status_code == 404
    assert env.client("analis").get("/evidence/rekaman/999999/clip.mp4").status_code == 404


def test_view_and_download_are_in_custody_and_audit(env):
    item_id = _finished_item(env)
    client = env.client("analis")
    layout = env.app.server.test_client()  # noqa: F841 - the page layout is rendered by Dash
    resp = client.get(f"/evidence/rekaman/{item_id}/clip.mp4")
    assert resp.status_code == 200 and resp.headers["X-Content-SHA256"]
    resp = client.get(f"/evidence/paket/{item_id}.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    v = verify_package(io.BytesIO(resp.data))
    assert v.ok and v.item_id == item_id and v.manifest_sha256 == resp.headers["X-Manifest-SHA256"]
    with env.db.session() as s:
        chain = [(c.action, c.actor) for c in custody_rows(s, item_id)]
        assert ("viewed", "uji.analis") in chain and ("downloaded", "uji.analis") in chain
        actions = set(
            s.scalars(select(AuditLog.action).where(AuditLog.target == f"evidence:{item_id}"))
        )
        assert {"evidence_viewed", "evidence_downloaded"} <= actions


def test_rekam_button_queues_for_operators_only(env):
    inputs = [{"id": "camera-record-btn", "property": "n_clicks", "value": 1}]
    state = [{"id": "camera-record-seconds", "property": "value", "value": 12},
             {"id": "camera-code", "property": "data", "value": env.private_code}]  # fmt: skip
    with env.db.session() as s:
        before = s.scalar(select(EvidenceItem.id).order_by(EvidenceItem.id.desc()).limit(1)) or 0
    resp = _dash(env.client("pimpinan"), "camera-record-msg.children", inputs, state)
    assert resp.status_code == 403
    resp = _dash(env.client("operator"), "camera-record-msg.children", inputs, state)
    assert resp.status_code == 200, resp.data
    with env.db.session() as s:
        item = s.scalar(select(EvidenceItem).where(EvidenceItem.id > before))
        assert item is not None and item.status == "queued"
        assert (item.camera_code, item.requested_seconds, item.trigger, item.started_by) == (
            env.private_code,
            12,
            "user",
            "uji.operator",
        )
        assert s.scalar(select(AuditLog.username).where(AuditLog.action == "evidence_created",
                                                        AuditLog.target == f"evidence:{item.id}")) == "uji.operator"  # fmt: skip
    # junk lengths are refused with a message and queue nothing
    for junk in (0, -5, 99999, 2.5, "abc", None, [1], {"a": 1}, True):
        state[0]["value"] = junk
        resp = _dash(env.client("operator"), "camera-record-msg.children", inputs, state)
        assert resp.status_code == 200
        msg = resp.get_json()["response"]["camera-record-msg"]["children"]["props"]["children"]
        assert msg == "Durasi harus 1–300 detik.", junk
    with env.db.session() as s:
        assert (
            s.scalar(select(EvidenceItem.id).order_by(EvidenceItem.id.desc()).limit(1)) == item.id
        )


def test_hold_and_release_from_the_item_page(env):
    item_id = _finished_item(env)
    hold_in = [{"id": "rekaman-hold-btn", "property": "n_clicks", "value": 1}]
    hold_state = [{"id": "rekaman-hold-case", "property": "value", "value": "SY-12/2026"},
                  {"id": "rekaman-id", "property": "data", "value": item_id}]  # fmt: skip
    assert (
        _dash(env.client("analis"), "rekaman-hold-msg.children", hold_in, hold_state).status_code
        == 403
    )
    resp = _dash(env.client("operator"), "rekaman-hold-msg.children", hold_in, hold_state)
    assert resp.status_code == 200
    msg = resp.get_json()["response"]["rekaman-hold-msg"]["children"]["props"]["children"]
    assert msg == "Ditahan untuk perkara SY-12/2026"
    rel = _dash(env.client("operator"), "rekaman-release-msg.children",
                [{"id": "rekaman-release-btn", "property": "n_clicks", "value": 1}],
                [{"id": "rekaman-id", "property": "data", "value": item_id}])  # fmt: skip
    assert rel.status_code == 200
    with env.db.session() as s:
        item = s.get(EvidenceItem, item_id)
        assert not item.held_for_case
        assert [c.action for c in custody_rows(s, item_id)][-2:] == ["held", "released"]


def test_rekam_on_an_alert_records_its_camera(env):
    from store.models import Alert, Camera

    with env.db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == env.private_code))
        alert = Alert(rule="crowd_density", subject_type="camera", subject_id=cam.code,
                      camera_id=cam.id, title="Kerumunan uji")  # fmt: skip
        s.add(alert)
        s.flush()
        alert_id, cam_id = alert.id, cam.id
    inputs = [{"id": "alert-act-record-btn", "property": "n_clicks", "value": 1}]
    state = [{"id": "alert-act-record-seconds", "property": "value", "value": 20},
             {"id": "alert-id", "property": "data", "value": alert_id}]  # fmt: skip
    assert (
        _dash(env.client("analis"), "alert-act-record-msg.children", inputs, state).status_code
        == 403
    )
    assert (
        _dash(env.client("opd"), "alert-act-record-msg.children", inputs, state).status_code == 403
    )
    resp = _dash(env.client("admin"), "alert-act-record-msg.children", inputs, state)
    assert resp.status_code == 200
    with env.db.session() as s:
        item = s.scalar(select(EvidenceItem).where(EvidenceItem.alert_id == alert_id))
        assert (item.camera_id, item.requested_seconds, item.started_by) == (
            cam_id,
            20,
            "uji.admin",
        )
    # junk alert ids queue nothing
    for junk in ("x", -1, None, 10**12, [alert_id]):
        state[1]["value"] = junk
        assert (
            _dash(env.client("admin"), "alert-act-record-msg.children", inputs, state).status_code
            == 200
        )
    with env.db.session() as s:
        assert (
            len(s.scalars(select(EvidenceItem).where(EvidenceItem.alert_id.is_not(None))).all())
            == 1
        )
