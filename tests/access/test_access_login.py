"""Sign-in, sign-out, sessions, CSRF, lockout and the absence of user enumeration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from access_helpers import create_user, credentials, csrf_for, login_with, logout, make_env
from sqlalchemy import select

from store import users
from store.audit import AuditAction
from store.models import AuditLog, User


@pytest.fixture
def fresh(tmp_path):
    """An app of its own: lockout tests must not lock the shared module users."""
    e = make_env(tmp_path / "var", secure_cookies=True)
    yield e
    e.db.dispose()


def audit_actions(db, target: str | None = None) -> list[str]:
    with db.session() as s:
        q = select(AuditLog.action).order_by(AuditLog.id)
        if target:
            q = q.where(AuditLog.target == target)
        return list(s.scalars(q))


def test_sign_in_and_out(env):
    client = env.app.server.test_client()
    username, password = credentials("operator")
    resp = login_with(client, username, password, next_url="/pengaduan")
    assert resp.status_code == 302 and resp.headers["Location"] == "/pengaduan"
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "user-menu-logout" in layout and "Uji Operator" in layout
    assert client.get("/pengaduan").status_code == 200
    resp = logout(client)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/masuk")
    assert client.get("/pengaduan").status_code == 302  # signed out: back to the login
    actions = audit_actions(env.db, username)
    assert AuditAction.LOGIN in actions and AuditAction.LOGOUT in actions


def test_cookie_flags(fresh):
    client = fresh.app.server.test_client()
    username, password = credentials("analis")
    resp = login_with(client, username, password)
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("pantau_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_session_cookie_not_secure_by_default(env):
    client = env.app.server.test_client()
    username, password = credentials("analis")
    resp = login_with(client, username, password)
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("pantau_session="))
    assert "HttpOnly" in cookie and "Secure" not in cookie


def test_login_needs_csrf_token(env):
    client = env.app.server.test_client()
    username, password = credentials("admin")
    client.get("/masuk")
    resp = client.post("/auth/login", data={"username": username, "password": password})
    assert resp.status_code == 302 and "e=csrf" in resp.headers["Location"]
    resp = client.post(
        "/auth/login", data={"username": username, "password": password, "csrf_token": "forged"}
    )
    assert "e=csrf" in resp.headers["Location"]
    assert client.get("/admin/pengguna").status_code == 302  # still anonymous


def test_logout_needs_csrf_token(env):
    client = env.client("operator")
    resp = client.post("/auth/logout", data={})
    assert resp.status_code == 302
    assert client.get("/pengaduan").status_code == 200  # a forged sign-out does nothing


def test_cross_origin_posts_refused(env):
    client = env.app.server.test_client()
    token = csrf_for(client)
    username, password = credentials("admin")
    resp = client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert resp.status_code == 403
    resp = env.client("admin").post(
        "/_dash-update-component", json={}, headers={"Origin": "https://evil.example"}
    )
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_no_open_redirect_after_login(env, target):
    client = env.app.server.test_client()
    username, password = credentials("pimpinan")
    resp = login_with(client, username, password, next_url=target)
    assert resp.headers["Location"] == "/"


def test_wrong_password_and_unknown_user_look_the_same(env):
    client = env.app.server.test_client()
    username, _ = credentials("analis")
    wrong = login_with(client, username, "not-the-password-at-all")
    unknown = login_with(client, "nobody.here", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 302
    assert wrong.headers["Location"] == unknown.headers["Location"]
    assert "e=invalid" in wrong.headers["Location"]
    # and the page shows one message for both
    page = client.post(
        "/_dash-update-component",
        json={
            "output": ".._pages_content.children..._pages_store.data..",
            "outputs": [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": "/masuk"},
                {"id": "_pages_location", "property": "search", "value": "?e=invalid"},
            ],
            "changedPropIds": [],
        },
    ).get_data(as_text=True)
    assert "Nama pengguna atau kata sandi salah" in page
    with env.db.session() as s:  # a failure is counted, not a lock yet
        user = users.get_by_username(s, username)
        assert user.failed_logins >= 1 and not users.is_locked(user)
        s.execute(User.__table__.update().values(failed_logins=0))


def test_unknown_user_costs_a_hash_too(env, monkeypatch):
    """Constant-ish time: an unknown name spends one argon2 verification like a real one.
    Checked as behaviour (which verifications run, with which parameters), not as a timing
    ratio that a loaded machine makes flaky."""
    client = env.app.server.test_client()
    username, _ = credentials("operator")
    calls: list[str] = []
    real_verify = users.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)

    def attempt(name: str) -> list[str]:
        calls.clear()
        token = csrf_for(client)
        client.post(
            "/auth/login",
            data={"username": name, "password": "wrong-wrong-wrong", "csrf_token": token},
        )
        return list(calls)

    known, unknown = attempt(username), attempt("no.such.person")
    with env.db.session() as s:
        s.execute(User.__table__.update().values(failed_logins=0, locked_until=None))
        real_hash = users.get_by_username(s, username).password_hash
    assert known == [real_hash]  # one argon2 verification against the account's hash
    assert len(unknown) == 1 and unknown[0] != real_hash  # one against a dummy hash
    # ... and the dummy costs what a real one does: the same argon2id parameters
    params = users._hasher
    assert unknown[0].startswith("$argon2id$")
    assert not params.check_needs_rehash(unknown[0]) and not params.check_needs_rehash(real_hash)
    assert unknown[0].split("$")[3] == real_hash.split("$")[3]  # m=, t=, p= identical


def test_lockout_after_five_failures(fresh):
    client = fresh.app.server.test_client()
    username, password = create_user(fresh.db, "operator")
    for i in range(5):
        resp = login_with(client, username, f"wrong-password-{i}")
    assert "e=locked" in resp.headers["Location"]
    # the right password is refused while locked, with the same message
    resp = login_with(client, username, password)
    assert "e=locked" in resp.headers["Location"]
    assert client.get("/pengaduan").status_code == 302
    # an unknown name locks the same way after five tries: nothing to tell them apart
    for i in range(5):
        last = login_with(client, "ghost.user", f"wrong-password-{i}")
    assert "e=locked" in last.headers["Location"]
    # 15 minutes later the account opens again
    with fresh.db.session() as s:
        user = users.get_by_username(s, username)
        assert users.is_locked(user)
        assert user.locked_until - datetime.now(UTC) <= timedelta(minutes=15)
        user.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    resp = login_with(client, username, password)
    assert resp.headers["Location"] == "/"
    actions = audit_actions(fresh.db, username)
    assert actions.count(AuditAction.LOGIN_FAILED) == 5 and AuditAction.LOGIN_LOCKED in actions


def test_lockout_message_in_bahasa(fresh):
    client = fresh.app.server.test_client()
    client.get("/masuk?e=locked")
    resp = client.post(
        "/_dash-update-component",
        json={
            "output": ".._pages_content.children..._pages_store.data..",
            "outputs": [
                {"id": "_pages_content", "property": "children"},
                {"id": "_pages_store", "property": "data"},
            ],
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": "/masuk"},
                {"id": "_pages_location", "property": "search", "value": "?e=locked"},
            ],
            "changedPropIds": [],
        },
    )
    text = resp.get_data(as_text=True)
    assert "Terlalu banyak percobaan gagal" in text and "15 menit" in text


def test_password_reset_and_deactivation_end_sessions(fresh):
    client = fresh.client("analis")
    assert client.get("/pengaduan").status_code == 200
    username, _ = credentials("analis")
    with fresh.db.session() as s:
        users.set_password(s, users.get_by_username(s, username), "a-brand-new-password-1")
    assert client.get("/pengaduan").status_code == 302  # the old session is gone
    other = fresh.client("pimpinan")
    assert other.get("/pengaduan").status_code == 200
    with fresh.db.session() as s:
        users.set_active(s, users.get_by_username(s, credentials("pimpinan")[0]), False)
    assert other.get("/pengaduan").status_code == 302
    resp = login_with(
        fresh.app.server.test_client(), credentials("pimpinan")[0], credentials("pimpinan")[1]
    )
    assert "e=invalid" in resp.headers["Location"]


def test_role_change_takes_effect_at_once(fresh):
    client = fresh.client("operator")
    assert client.get("/pengaduan/antrian").status_code == 200
    with fresh.db.session() as s:
        users.set_role(s, users.get_by_username(s, credentials("operator")[0]), "analis")
    # the role change ended the session: sign in again, then the new role applies
    resp = client.get("/pengaduan/antrian")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/masuk")
    login_with(client, *credentials("operator"))
    assert client.get("/pengaduan/antrian").status_code == 403  # analysts: no queue


# --------------------------------------------------------------------------------------------
# the user store
def test_passwords_are_argon2id_hashes(env):
    with env.db.session() as s:
        user = users.get_by_username(s, credentials("admin")[0])
        assert user.password_hash.startswith("$argon2id$")
        assert credentials("admin")[1] not in user.password_hash


@pytest.mark.parametrize("name", ["ab", "Admin Name", "a/b", "x" * 65, "../etc", "<script>"])
def test_bad_usernames_refused(env, name):
    with env.db.session() as s, pytest.raises(users.UserError):
        users.create_user(s, name, "long-enough-password", "operator")


def test_weak_or_unknown_role_refused(env):
    with env.db.session() as s:
        with pytest.raises(users.UserError):
            users.create_user(s, "new.user", "short", "operator")
        with pytest.raises(users.UserError):
            users.create_user(s, "new.user", "new.user", "operator")
        with pytest.raises(users.UserError):
            users.create_user(s, "new.user", "long-enough-password", "superuser")


def test_last_admin_cannot_be_removed(fresh):
    with fresh.db.session() as s:
        admin = users.get_by_username(s, credentials("admin")[0])
        with pytest.raises(users.UserError):
            users.set_active(s, admin, False)
        with pytest.raises(users.UserError):
            users.set_role(s, admin, "operator")
        users.create_user(s, "second.admin", "another-long-password", "admin")
        users.set_role(s, admin, "operator")  # fine now: another admin remains
        assert admin.role == "operator"
