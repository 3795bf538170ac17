"""Forged calls to the camera management callbacks (/admin/kamera): every role but admin gets
403 (anonymous 401) from /_dash-update-component, and the camera is not changed; the admin's
identical call saves and is audited. The list callback sends no camera rows to a non-admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard.callbacks.admin_cameras import FORM
from store.models import AuditLog, Camera

P = "admin-kamera"


def _save_body(code: str, name: str) -> dict:
    """The form callback's request as the browser sends it, "Simpan" clicked."""
    values = {"code": code, "name": name, "lat": -2.98, "lon": 104.75, "owner": "diskominfo",
              "protocol": "snapshot", "sample_interval_s": 60, "is_public": False}  # fmt: skip
    outputs = [f"{P}-in-{k}.value" for k in FORM] + [f"{P}-in-{k}.invalid" for k in FORM]
    outputs += [f"{P}-err-{k}.children" for k in FORM]
    outputs += [f"{P}-form-title.children", f"{P}-in-code.disabled", f"{P}-toggle.children",
                f"{P}-toggle.disabled", f"{P}-toggle.color", f"{P}-selected.data",
                f"{P}-version.data", f"{P}-form-feedback.children"]  # fmt: skip
    key = ".." + "...".join(outputs) + ".."
    return {
        "output": key,
        "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outputs],
        "inputs": [
            {"id": {"type": f"{P}-open", "code": ["ALL"]}, "property": "n_clicks", "value": []},
            {"id": f"{P}-new", "property": "n_clicks", "value": 0},
            {"id": f"{P}-save", "property": "n_clicks", "value": 1},
            {"id": f"{P}-toggle", "property": "n_clicks", "value": 0},
        ],
        "state": [{"id": f"{P}-in-{k}", "property": "value", "value": values.get(k)} for k in FORM]
        + [
            {"id": f"{P}-selected", "property": "data", "value": code},
            {"id": f"{P}-version", "property": "data", "value": 0},
        ],
        "changedPropIds": [f"{P}-save.n_clicks"],
    }


@pytest.mark.parametrize("role", [None, "pimpinan", "operator", "analis", "opd", "admin"])
def test_forged_camera_save(env, clients, role):
    code = env.private_code
    with env.db.session() as s:
        before = s.scalar(select(Camera.name).where(Camera.code == code))
    new_name = f"Nama palsu {role}"
    resp = clients[role].post("/_dash-update-component", json=_save_body(code, new_name))
    with env.db.session() as s:
        after = s.scalar(select(Camera.name).where(Camera.code == code))
        audited = s.scalars(
            select(AuditLog).where(AuditLog.action == "camera_update", AuditLog.target == code)
        ).all()
    if role == "admin":
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        assert after == new_name
        assert any(new_name in (a.detail or {}).get("summary", "") for a in audited)
        with env.db.session() as s:  # put it back for the other tests of the module
            s.scalar(select(Camera).where(Camera.code == code)).name = before
    else:
        assert resp.status_code == (401 if role is None else 403)
        assert after == before
        assert not any(new_name in (a.detail or {}).get("summary", "") for a in audited)


@pytest.mark.parametrize("role", [None, "operator", "opd"])
def test_camera_list_sends_nothing_to_non_admins(env, clients, role):
    filters = ("search", "status", "owner", "kecamatan", "public", "enabled", "sort")
    outputs = [f"{P}-list.children", f"{P}-pager.max_value", f"{P}-pager.active_page",
               f"{P}-count.children"]  # fmt: skip
    body = {
        "output": ".." + "...".join(outputs) + "..",
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in outputs],
        "inputs": [{"id": f"{P}-f-{f}", "property": "value", "value": ""} for f in filters]
        + [
            {"id": f"{P}-pager", "property": "active_page", "value": 1},
            {"id": f"{P}-version", "property": "data", "value": 0},
        ],
        "state": [],
        "changedPropIds": [],
    }
    resp = clients[role].post("/_dash-update-component", json=body)
    assert resp.status_code in (401, 403)
    assert env.private_code not in resp.get_data(as_text=True)
    admin = clients["admin"].post("/_dash-update-component", json=body)
    assert admin.status_code == 200 and env.private_code in admin.get_data(as_text=True)
