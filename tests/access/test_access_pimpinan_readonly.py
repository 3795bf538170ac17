"""The pimpinan reads the complaint queue but cannot change a complaint (README role table:
pimpinan "may change: nothing"): the same verify request that moves a new report for an
operator is refused for the pimpinan, and the report stays as it was."""

from __future__ import annotations

from datetime import UTC, datetime

from test_access_matrix import callback_body, server_callbacks

from store.models import Complaint, ComplaintStatus


def _verify_request(env, cid: int) -> dict:
    key, entry = next(
        (k, e) for k, e in server_callbacks(env).items() if "queue-feedback.children" in k
    )
    body = callback_body(key, entry)
    for dep in body["inputs"]:
        if dep["id"] == "queue-verify":
            dep["value"] = 1
    values = {
        "queue-table.selected_rows": [0],
        "queue-table.data": [{"id": cid, "tracking": f"PLG-RO-{cid}"}],
        "queue-note.value": "Sudah dicek di lapangan",
        "queue-version.data": 0,
    }
    for dep in body["state"]:
        dep["value"] = values.get(f"{dep['id']}.{dep['property']}")
    body["changedPropIds"] = ["queue-verify.n_clicks"]
    return body


def _new_report(env, n: int) -> int:
    with env.db.session() as s:
        c = Complaint(
            tracking_id=f"PLG-RO-{n:04d}",
            category="jalan",
            description="Jalan berlubang dekat sekolah",
            created_at=datetime.now(UTC),
            status=ComplaintStatus.NEW,
        )
        s.add(c)
        s.flush()
        return c.id


def _status(env, cid: int) -> str:
    with env.db.session() as s:
        return s.get(Complaint, cid).status


def test_pimpinan_cannot_change_a_complaint_status(env, clients):
    cid = _new_report(env, 1)
    resp = clients["pimpinan"].post("/_dash-update-component", json=_verify_request(env, cid))
    assert resp.status_code == 403
    assert _status(env, cid) == ComplaintStatus.NEW
    # the same request from an operator goes through: the refusal is the role, not the request
    resp = clients["operator"].post("/_dash-update-component", json=_verify_request(env, cid))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert _status(env, cid) == ComplaintStatus.VERIFIED
