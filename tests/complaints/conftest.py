"""Fixtures for the E-Lapor tests: a seeded store, the complaint service, a Flask test client
and (for browser tests) the real app served by waitress on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from complaints_helpers import API_KEY, OPERATOR, SMS_TOKEN, make_app  # noqa: F401

from pantau.settings import Settings
from store.complaints import ComplaintService
from store.db import Database
from store.seed import seed_opd
from store.workdays import WorkCalendar, load_holidays


def complaint_settings(settings: Settings, **overrides) -> Settings:
    values = {
        "open311_api_keys": f"{API_KEY},second-key",
        "sms_webhook_token": SMS_TOKEN,
        "complaint_submit_limit": 1000,
        "complaint_lookup_limit": 1000,
        "upload_max_bytes": 200_000,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


@pytest.fixture
def csettings(settings: Settings) -> Settings:
    return complaint_settings(settings)


@pytest.fixture
def calendar(csettings: Settings) -> WorkCalendar:
    return WorkCalendar(load_holidays(csettings.holidays_file), csettings.timezone)


@pytest.fixture
def seeded(db: Database) -> Database:
    """The store on both backends with the OPD list loaded."""
    with db.session() as s:
        seed_opd(s)
    return db


@pytest.fixture
def svc(seeded: Database, csettings: Settings) -> ComplaintService:
    return ComplaintService(seeded, csettings)


@pytest.fixture
def sqlite_seeded(sqlite_db: Database) -> Database:
    with sqlite_db.session() as s:
        seed_opd(s)
    return sqlite_db


@pytest.fixture
def app(csettings: Settings, sqlite_seeded: Database):
    return make_app(csettings, sqlite_seeded)


@pytest.fixture
def client(app):
    return app.server.test_client()


# --------------------------------------------------------------------------------------------
# a live server for browser and load tests
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, app, threads: int = 8) -> None:
        from waitress.server import create_server

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = create_server(app.server, host="127.0.0.1", port=self.port, threads=threads)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(csettings: Settings, sqlite_seeded: Database) -> Iterator[LiveServer]:
    from store import users

    with sqlite_seeded.session() as s:
        users.create_user(s, OPERATOR[0], OPERATOR[1], "operator")
    server = LiveServer(make_app(csettings, sqlite_seeded)).start()
    yield server
    server.stop()


@pytest.fixture
def driver():
    """Headless Chromium for the browser tests of this folder."""
    from tests.ui.harness import required_chrome

    with required_chrome((1440, 1000)) as drv:
        yield drv
