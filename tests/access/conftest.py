"""Fixtures for the access-control tests: one app per module on a real SQLite store with the
reference cameras (public and non-public), a user per role, and helpers to sign in."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from access_helpers import ROLES, AccessEnv, login, make_env  # noqa: F401

TEST_DATA = Path(__file__).resolve().parent.parent / "data"


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
    from tests.ui.harness import required_chrome

    with required_chrome((1280, 900)) as drv:
        yield drv
