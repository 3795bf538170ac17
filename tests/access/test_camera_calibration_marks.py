"""Perspective calibration marks in the camera editor (/admin/kamera, tab ROI & garis): two
lines with the role 'mark' and their real heights (metres, typed as their name) are saved as
the camera's ``config["perspective"]`` and audited; bad marks are refused with the reason and
nothing is saved; removing the marks removes the calibration; non-admins get 403."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.models import AuditLog, Camera

P = "admin-kamera"
W, H = 640, 360


def _body(app, code: str, items: list[dict]) -> dict:  # noqa: ANN001
    key = next(k for k in app.callback_map if f"{P}-roi-feedback.children" in k)
    entry = app.callback_map[key]
    outputs = [{"id": o.component_id, "property": o.component_property} for o in entry["output"]]
    names = [{"id": {"type": f"{P}-shape-name", "index": i}, "property": "value",
              "value": it["name"]} for i, it in enumerate(items)]  # fmt: skip
    kinds = [{"id": {"type": f"{P}-shape-kind", "index": i}, "property": "value",
              "value": it["kind"]} for i, it in enumerate(items)]  # fmt: skip
    return {
        "output": key,
        "outputs": outputs,
        "inputs": [{"id": f"{P}-roi-save", "property": "n_clicks", "value": 1}],
        "state": [
            {
                "id": f"{P}-shapes",
                "property": "data",
                "value": {"code": code, "w": W, "h": H, "items": items},
            },
            {"id": f"{P}-selected", "property": "data", "value": code},
            names,
            kinds,
        ],  # fmt: skip
        "changedPropIds": [f"{P}-roi-save.n_clicks"],
    }


def _mark(foot, top, metres):  # noqa: ANN001, ANN202
    return {"t": "line", "name": metres, "kind": "mark", "pts": [list(top), list(foot)]}


# far person: feet at row 180, 40 px tall; near person: feet at row 330, 150 px tall
FAR, NEAR = _mark((500, 180), (500, 140), "1,7"), _mark((120, 330), (120, 180), "1.7 m")
LINE = {"t": "line", "name": "zebra", "kind": "", "pts": [[10, 300], [600, 300]]}


def _config(env, code):  # noqa: ANN001, ANN202
    with env.db.session() as s:
        return dict(s.scalar(select(Camera.config).where(Camera.code == code)) or {})


def test_marks_are_saved_validated_and_audited(env, clients):
    code, admin = env.private_code, clients["admin"]
    resp = admin.post("/_dash-update-component", json=_body(env.app, code, [FAR, NEAR, LINE]))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    persp = _config(env, code)["perspective"]
    assert persp["normalized"] is True
    # the lower end is the foot, the name the height; stored relative to the frame
    assert persp["marks"][0] == {"foot": [round(500 / W, 5), 0.5],
                                 "top": [round(500 / W, 5), round(140 / H, 5)],
                                 "height_m": 1.7}  # fmt: skip
    from analytics.types import AnalyticsConfig

    p = AnalyticsConfig.from_dict({"perspective": persp}).perspective.perspective(W, H)
    assert p.person_px(180, H) == pytest.approx(40, abs=0.01)
    assert p.person_px(330, H) == pytest.approx(150, abs=0.01)
    with env.db.session() as s:
        lines = s.scalar(select(Camera.lines).where(Camera.code == code))
        audited = s.scalars(
            select(AuditLog).where(AuditLog.action == "camera_update", AuditLog.target == code)
        ).all()
    assert [ln["name"] for ln in lines] == ["zebra"]  # the marks are not counting lines
    assert any("perspective" in (a.detail or {}).get("summary", "") for a in audited)

    # bad: one mark only, a height that is not a number, the far mark bigger than the near one
    for items, why in (
        ([FAR, LINE], "tepat dua tanda"),  # the page's language: Indonesian by default
        ([FAR, {**NEAR, "name": "tinggi"}], "tinggi sebenarnya dalam meter"),
        ([_mark((500, 180), (500, 20), "1.7"), NEAR], "lower (nearer) mark must be larger"),
    ):
        resp = admin.post("/_dash-update-component", json=_body(env.app, code, items))
        text = resp.get_data(as_text=True)
        assert resp.status_code == 200 and why in text, text[:300]
        assert _config(env, code)["perspective"] == persp  # unchanged

    # the lines without marks: the calibration is removed (learned / default again)
    resp = admin.post("/_dash-update-component", json=_body(env.app, code, [LINE]))
    assert resp.status_code == 200
    assert "perspective" not in _config(env, code)


@pytest.mark.parametrize("role", [None, "operator", "pimpinan"])
def test_marks_need_an_admin(env, clients, role):
    code = env.private_code
    before = _config(env, code)
    resp = clients[role].post("/_dash-update-component", json=_body(env.app, code, [FAR, NEAR]))
    assert resp.status_code == (401 if role is None else 403)
    assert _config(env, code) == before
