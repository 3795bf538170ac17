"""Helpers other test areas can use to get a signed-in client or browser.

    from access_helpers import create_user, login, browser_login

    create_user(db, "operator")                   # -> (username, password), idempotent per role
    client = app.server.test_client()
    login(client, db, "operator")                 # creates the user if needed, signs in
    browser_login(driver, base_url, db, "admin")  # same through the real sign-in form

Passwords are fixed per role (test data only), so a helper can sign in again at any time.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pantau.settings import Settings
from store import users
from store.db import Database
from store.models import Camera

TEST_DATA = Path(__file__).resolve().parent.parent / "data"

ROLES = ("pimpinan", "operator", "analis", "admin", "opd")
#: The command center's own roles (OPD staff reach only their follow-up page and photos).
STAFF = ("pimpinan", "operator", "analis", "admin")
PASSWORD = "uji-{role}-Kata-Sandi-2026"
#: The OPD of the test ``opd`` user (the reference OPD list must hold it).
TEST_OPD = "DISHUB"


def credentials(role: str) -> tuple[str, str]:
    return f"uji.{role}", PASSWORD.format(role=role)


def create_user(db: Database, role: str, *, full_name: str | None = None) -> tuple[str, str]:
    """Create (once) a test user with ``role`` (``opd``: staff of :data:`TEST_OPD`); returns
    (username, password)."""
    username, password = credentials(role)
    with db.session() as s:
        if users.get_by_username(s, username) is None:
            opd_id = users.find_opd(s, TEST_OPD).id if role == "opd" else None
            users.create_user(
                s,
                username,
                password,
                role,
                full_name=full_name or f"Uji {role.title()}",
                opd_id=opd_id,
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


# --------------------------------------------------------------------------------------------
# an app on a real SQLite store with public and non-public cameras and a user per role
@dataclass
class AccessEnv:
    app: object
    db: Database
    settings: Settings
    public_code: str
    private_code: str

    def client(self, role: str | None = None):
        client = self.app.server.test_client()
        return login(client, self.db, role)


def make_env(var_dir: Path, **overrides) -> AccessEnv:
    from dashboard.app import create_app
    from store.seed import seed_reference

    values = dict(
        var_dir=var_dir,
        database_url="",
        simulate_cameras=0,
        workers=1,
        secret_key="access-test-secret",
        ingest_enabled=False,
    )
    values.update(overrides)
    settings = Settings(**values)
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    with db.session() as s:
        seed_reference(s)
        public_code = s.scalar(
            select(Camera.code).where(Camera.is_public.is_(True)).order_by(Camera.code)
        )
        private_code = s.scalar(
            select(Camera.code).where(Camera.is_public.is_(False)).order_by(Camera.code)
        )
    assert public_code and private_code, "reference data needs public and non-public cameras"
    # a public snapshot as ingestion writes it (a real face, so the blur has work to do)
    # (lossless bytes under the .jpg name: imread goes by content, and the small face stays
    # detectable, which a JPEG round trip of this 200x180 crop would spoil)
    face = (TEST_DATA / "face_messi5_crop.png").read_bytes()
    for name in (f"{public_code}.public.jpg", f"{private_code}.public.jpg", f"{private_code}.jpg"):
        (settings.snapshot_dir / name).write_bytes(face)
    app = create_app(settings, db)
    # a route nobody wrote an access rule for (the guard must fail closed on it)
    app.server.add_url_rule("/unruled/thing", "test_unruled", lambda: {"secret": 42})
    app.server.add_url_rule(  # a staff download route (audited as an export)
        "/api/uji-export.csv",
        "test_export",
        lambda: (
            "a,b\n1,2\n",
            200,
            {"Content-Disposition": "attachment; filename=uji.csv", "Content-Type": "text/csv"},
        ),
    )
    for role in ROLES:
        create_user(db, role)
    # Dash sets up its page router on the first request (and validates the page registry
    # there): do it now, so no test's first request depends on it
    app.server.test_client().get("/healthz")
    return AccessEnv(app, db, settings, public_code, private_code)


@contextlib.contextmanager
def env_on(backend: str, var_dir: Path, **overrides) -> Iterator[AccessEnv]:
    """:func:`make_env` on ``"sqlite"`` or ``"postgresql"`` (a schema of its own, dropped
    afterwards; PostgreSQL missing: skipped, or failed with CI=true)."""
    if backend == "sqlite":
        e = make_env(var_dir, **overrides)
        try:
            yield e
        finally:
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
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        e = make_env(var_dir, **(overrides | {"database_url": url}))
        try:
            yield e
        finally:
            e.db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
