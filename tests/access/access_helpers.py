"""Helpers other test areas can use to get a signed-in client or browser.

    from access_helpers import create_user, login, browser_login

    create_user(db, "operator")                   # -> (username, password), idempotent per role
    client = app.server.test_client()
    login(client, db, "operator")                 # creates the user if needed, signs in
    browser_login(driver, base_url, db, "admin")  # same through the real sign-in form

Passwords are fixed per role (test data only), so a helper can sign in again at any time.
"""

from __future__ import annotations

import time
from typing import Any

from store import users
from store.db import Database

ROLES = ("pimpinan", "operator", "analis", "admin")
PASSWORD = "uji-{role}-Kata-Sandi-2026"


def credentials(role: str) -> tuple[str, str]:
    return f"uji.{role}", PASSWORD.format(role=role)


def create_user(db: Database, role: str, *, full_name: str | None = None) -> tuple[str, str]:
    """Create (once) a test user with ``role``; returns (username, password)."""
    username, password = credentials(role)
    with db.session() as s:
        if users.get_by_username(s, username) is None:
            users.create_user(
                s, username, password, role, full_name=full_name or f"Uji {role.title()}"
            )
    return username, password


def csrf_for(client: Any) -> str:
    """The CSRF token of the client's session (a page load creates one)."""
    client.get("/masuk")
    with client.session_transaction() as sess:
        return sess["_csrf"]


def login_with(client: Any, username: str, password: str, next_url: str = "/") -> Any:
    token = csrf_for(client)
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_url},
    )


def login(client: Any, db: Database, role: str | None) -> Any:
    """Sign ``client`` (a Flask test client) in with a user of ``role``; None: stay anonymous."""
    if role is None:
        return client
    username, password = create_user(db, role)
    resp = login_with(client, username, password)
    assert resp.status_code == 302 and "/masuk" not in resp.headers["Location"], resp.headers
    return client


def logout(client: Any) -> Any:
    with client.session_transaction() as sess:
        token = sess.get("_csrf", "")
    return client.post("/auth/logout", data={"csrf_token": token})


def browser_login(driver: Any, base_url: str, db: Database, role: str, timeout: float = 15) -> None:
    """Sign a selenium driver in through the real form."""
    from selenium.webdriver.common.by import By

    username, password = create_user(db, role)
    driver.get(f"{base_url}/masuk")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = driver.find_elements(By.ID, "login-username")
        if fields:
            break
        time.sleep(0.2)
    driver.find_element(By.ID, "login-username").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    while time.monotonic() < deadline:
        if "/masuk" not in driver.current_url:
            return
        time.sleep(0.2)
    raise AssertionError(f"browser sign-in as {role} failed: {driver.current_url}")
