"""Fixtures for the access-control tests: one app per module on a real SQLite store with the
reference cameras (public and non-public), a user per role, and helpers to sign in."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from access_helpers import ROLES, create_user, login
from sqlalchemy import select

from pantau.settings import Settings
from store.db import Database
from store.models import Camera

CHROMEDRIVER = "/usr/bin/chromedriver"
TEST_DATA = Path(__file__).resolve().parent.parent / "data"


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


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[AccessEnv]:
    e = make_env(tmp_path_factory.mktemp("access") / "var")
    yield e
    hub = e.app.server.extensions.get("pantau_hub")
    if hub is not None:
        hub.close()
    e.db.dispose()


@pytest.fixture(scope="module")
def clients(env: AccessEnv) -> dict:
    """A signed-in test client per role (None: anonymous)."""
    return {role: env.client(role) for role in (None, *ROLES)}


# --------------------------------------------------------------------------------------------
# real server + browser
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: AccessEnv


@pytest.fixture(scope="module")
def live_server(env: AccessEnv) -> Iterator[LiveServer]:
    from waitress.server import create_server

    port = free_port()
    server = create_server(env.app.server, host="127.0.0.1", port=port, threads=12)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    yield LiveServer(f"http://127.0.0.1:{port}", env)
    server.close()


@pytest.fixture(scope="module")
def driver():
    from tests.conftest import require_service

    if not (os.path.exists(CHROMEDRIVER) and shutil.which("chromium")):
        require_service("Chromium", f"{CHROMEDRIVER} or chromium missing")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
