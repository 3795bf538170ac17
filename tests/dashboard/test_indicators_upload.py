"""The indicator upload callback on ``/indikator-opd``, called through the real
``/_dash-update-component`` endpoint with signed-in sessions, on SQLite and PostgreSQL:
the preview writes nothing, *Simpan* writes all rows or none, and OPD staff can only send
their own OPD's rows — decided on the server from the session, whatever the request carries.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from store import users
from store.models import OpdIndicatorValue, OpdIndicatorValueChange
from tests.access.access_helpers import AccessEnv, env_on, login_with

GOOD = (
    "opd,indicator,period,value,note\n"
    "DISHUB,apill_berfungsi,2026-10,97.5,\n"
    "DISHUB,kecepatan_rata,2026-10,23.4,survei\n"
)
MIXED = GOOD + "BPPD,pad_realisasi,2026-10,104.2,\n"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def up_env(request, tmp_path_factory) -> Iterator[AccessEnv]:
    with env_on(request.param, tmp_path_factory.mktemp("indup") / "var") as e:
        yield e


def client_as(env: AccessEnv, username: str, role: str, opd: str | None, full_name: str):
    password = "Uji-Unggah-Sandi-2026"
    with env.db.session() as s:
        if users.get_by_username(s, username) is None:
            opd_id = users.find_opd(s, opd).id if opd else None
            users.create_user(s, username, password, role, full_name=full_name, opd_id=opd_id)
    client = env.app.server.test_client()
    assert login_with(client, username, password).status_code == 302
    client.get("/indikator-opd")
    return client


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def call(env: AccessEnv, client, text: str, *, save: bool, name: str = "nilai.csv"):
    key = next(k for k in env.app.callback_map if "opd-upload-preview.children" in k)
    entry = env.app.callback_map[key]
    body = {
        "output": key,
        "outputs": [
            {"id": o.component_id, "property": o.component_property} for o in entry["output"]
        ],  # fmt: skip
        "inputs": [
            {"id": "opd-upload", "property": "contents", "value": data_url(text)},
            {"id": "opd-upload-save", "property": "n_clicks", "value": 1 if save else 0},
        ],
        "state": [{"id": "opd-upload", "property": "filename", "value": name}],
        "changedPropIds": ["opd-upload-save.n_clicks" if save else "opd-upload.contents"],
    }
    return client.post("/_dash-update-component", json=body)


def counts(env: AccessEnv) -> tuple[int, int]:
    with env.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(OpdIndicatorValue)),
            s.scalar(select(func.count()).select_from(OpdIndicatorValueChange)),
        )


def test_opd_staff_cannot_send_another_opds_rows(up_env):
    env = up_env
    dishub = client_as(env, "dishub.budi", "opd", "DISHUB", "Budi Dishub")
    before = counts(env)
    for save in (False, True):  # preview and a forged save request alike
        resp = call(env, dishub, MIXED, save=save)
        assert resp.status_code == 200, resp.data[:300]
        out = json.loads(resp.data)["response"]
        text = dumps(out["opd-upload-preview"])
        assert "BPPD" in text and "Anda hanya boleh mengirim nilai DISHUB" in text
        assert out["opd-upload-save"]["disabled"] is True
    assert counts(env) == before  # nothing written, not even the DISHUB rows


def test_preview_writes_nothing_then_save_writes_with_the_users_name(up_env):
    env = up_env
    dishub = client_as(env, "dishub.sari", "opd", "DISHUB", "Sari Dishub")
    before = counts(env)
    resp = call(env, dishub, GOOD, save=False)
    out = json.loads(resp.data)["response"]
    assert "2 baru · 0 diubah · 0 tetap" in dumps(out["opd-upload-preview"])
    assert out["opd-upload-save"]["disabled"] is False
    assert counts(env) == before
    saved = json.loads(call(env, dishub, GOOD, save=True, name="okt.csv").data)["response"]
    assert "Tersimpan dari okt.csv: 2 baru, 0 diubah, 0 tetap" in dumps(saved)
    assert counts(env) == (before[0] + 2, before[1] + 2)
    with env.db.session() as s:
        change = s.scalar(select(OpdIndicatorValueChange).order_by(OpdIndicatorValueChange.id.desc()))  # fmt: skip
        assert (change.actor, change.actor_kind, change.source, change.source_ref) == (
            "dishub.sari", "user", "upload", "okt.csv",
        )  # fmt: skip
    # the correction: preview shows old -> new, saving adds one history row
    fixed = GOOD.replace("97.5", "96")
    preview = dumps(json.loads(call(env, dishub, fixed, save=False).data)["response"])
    assert "0 baru · 1 diubah · 1 tetap" in preview, preview
    assert "97,5 %" in preview and "96 %" in preview, preview
    call(env, dishub, fixed, save=True)
    assert counts(env) == (before[0] + 2, before[1] + 3)


def test_admin_may_send_any_opd_and_bad_files_show_row_errors(up_env):
    env = up_env
    admin = client_as(env, "admin.kota", "admin", None, "Admin Kota")
    bad = "opd,indicator,period,value\nBPPD,pad_realisasi,2026-Q3,1200\nSATPOLPP,penertiban_pkl,2026-10,-1\n"  # fmt: skip
    before = counts(env)
    out = json.loads(call(env, admin, bad, save=True).data)["response"]
    text = dumps(out["opd-upload-preview"])
    assert "2 masalah" in text and "periode ditulis YYYY-MM" in text
    assert "Nilai tidak wajar untuk satuan kegiatan" in text
    assert counts(env) == before
    ok = json.loads(call(env, admin, "opd,indicator,period,value\nBPPD,pad_realisasi,2026-10,104.2\n", save=True).data)  # fmt: skip
    assert "1 baru" in dumps(ok["response"])


@pytest.mark.parametrize("role", ["pimpinan", "operator", "analis"])
def test_other_staff_may_not_upload(up_env, role):
    env = up_env
    client = client_as(env, f"uji.{role}.up", role, None, f"Uji {role}")
    before = counts(env)
    assert call(env, client, GOOD, save=True).status_code == 403
    assert counts(env) == before
