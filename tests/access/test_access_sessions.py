"""Server-side session revocation: a copy of a session cookie taken before a sign-out, a
password change, a role change or a deactivation reads no staff data afterwards.

Each test signs a real Flask test client in through the form, copies its ``pantau_session``
cookie into a second client (as an attacker who copied it would), checks the copy works, then
does the change and checks the copy is refused on the next request."""

from __future__ import annotations

import uuid

import pytest
from access_helpers import create_user, credentials, login_with, logout, make_env

from store import users

COOKIE = "pantau_session"
STAFF_DATA = "/api/cameras.geojson"  # any signed-in staff role reads it; anonymous gets 401


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def env(request, tmp_path_factory):  # noqa: ANN001, ANN201
    """The access app on SQLite and on PostgreSQL (a schema of its own, dropped afterwards)."""
    var = tmp_path_factory.mktemp(f"sessions-{request.param}") / "var"
    if request.param == "sqlite":
        e = make_env(var)
        yield e
        e.db.dispose()
        return
    from sqlalchemy import create_engine, text

    from tests.conftest import PG_URL, require_service

    try:
        admin = create_engine(PG_URL, pool_pre_ping=True)
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        require_service("PostgreSQL", f"{PG_URL}: {exc}")
    schema = f"pantau_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        e = make_env(var, database_url=f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
        yield e
        e.db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def signed_in_pair(env, role: str):
    """(the user's client, a second client holding a copy of its session cookie)."""
    create_user(env.db, role)
    username, password = credentials(role)
    original = env.app.server.test_client()
    resp = login_with(original, username, password)
    assert resp.status_code == 302 and "/masuk" not in resp.headers["Location"]
    cookie = original.get_cookie(COOKIE)
    assert cookie is not None
    copy = env.app.server.test_client()
    copy.set_cookie(COOKIE, cookie.value)
    resp = copy.get(STAFF_DATA)
    assert resp.status_code == 200, "the copied cookie works before the change"
    assert resp.get_json()["type"] == "FeatureCollection"
    return original, copy


def assert_refused(client) -> None:
    resp = client.get(STAFF_DATA)
    assert resp.status_code == 401, resp.status_code
    assert b"FeatureCollection" not in resp.data
    # a page too: back to the sign-in form
    page = client.get("/lalu-lintas")
    assert page.status_code == 302 and page.headers["Location"].startswith("/masuk")


def test_sign_out_ends_a_copied_session(env):
    original, copy = signed_in_pair(env, "operator")
    resp = logout(original)
    assert resp.status_code == 302
    assert_refused(copy)
    assert_refused(original)
    # signing in again works and gives a fresh, valid session
    username, password = credentials("operator")
    assert login_with(original, username, password).status_code == 302
    assert original.get(STAFF_DATA).status_code == 200
    assert_refused(copy)  # the old copy stays dead


def test_password_change_ends_a_copied_session(env):
    _original, copy = signed_in_pair(env, "analis")
    with env.db.session() as s:
        user = users.get_by_username(s, credentials("analis")[0])
        users.set_password(s, user, "ganti-Kata-Sandi-Baru-2026", actor="uji.admin")
    assert_refused(copy)


def test_role_change_ends_a_copied_session(env):
    _original, copy = signed_in_pair(env, "pimpinan")
    with env.db.session() as s:
        user = users.get_by_username(s, credentials("pimpinan")[0])
        users.set_role(s, user, "operator", actor="uji.admin")
    assert_refused(copy)


def test_deactivation_ends_a_copied_session_and_reactivation_does_not_revive_it(env):
    _original, copy = signed_in_pair(env, "admin")
    with env.db.session() as s:
        other = users.get_by_username(s, "uji.admin2")
        if other is None:
            users.create_user(s, "uji.admin2", "uji-admin2-Kata-Sandi", "admin")
    with env.db.session() as s:
        user = users.get_by_username(s, credentials("admin")[0])
        users.set_active(s, user, False, actor="uji.admin2")
    assert_refused(copy)
    with env.db.session() as s:
        user = users.get_by_username(s, credentials("admin")[0])
        users.set_active(s, user, True, actor="uji.admin2")
    assert_refused(copy)  # the old cookie stays revoked after reactivation


def test_a_session_of_another_version_is_refused(env):
    """The loader compares the cookie's version with the user's (not only the fingerprint)."""
    original, _copy = signed_in_pair(env, "operator")
    with original.session_transaction() as sess:
        user_id, version, fp = sess["_user_id"].split(":", 2)
        sess["_user_id"] = f"{user_id}:{int(version) + 1}:{fp}"
    assert_refused(original)
