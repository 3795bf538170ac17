"""Server-side session revocation: a copy of a session cookie taken before a sign-out, a
password change, a role change or a deactivation reads no staff data afterwards.

Each test signs a real Flask test client in through the form, copies its ``pantau_session``
cookie into a second client (as an attacker who copied it would), checks the copy works, then
does the change and checks the copy is refused on the next request."""

from __future__ import annotations

import pytest
from access_helpers import create_user, credentials, env_on, login_with, logout

from store import users

COOKIE = "pantau_session"
STAFF_DATA = "/api/cameras.geojson"  # any signed-in staff role reads it; anonymous gets 401


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def env(request, tmp_path_factory):  # noqa: ANN001, ANN201
    """The access app on SQLite and on PostgreSQL."""
    with env_on(request.param, tmp_path_factory.mktemp(f"sessions-{request.param}") / "var") as e:
        yield e


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
