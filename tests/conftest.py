"""Shared fixtures: settings in a temp folder, real SQLite and PostgreSQL stores, services.

Tests that need a service (PostgreSQL, Redis, MQTT, Chromium) call ``require_service``: with
CI=true a missing service fails the test; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pantau.settings import Settings
from store.db import Database

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("PANTAU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PANTAU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
TEST_DATA = Path(__file__).resolve().parent / "data"


def require_service(name: str, reason: str) -> None:
    """Fail in CI, skip elsewhere, when a service a test needs is missing."""
    message = f"{name} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: services must be running)")
    pytest.skip(message)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(
        var_dir=tmp_path / "var",
        database_url="",
        simulate_cameras=0,
        workers=1,
        secret_key="test-secret",
        ingest_enabled=False,
        # no map tiles from the internet: a browser test that lands on a map would log each
        # tile as a console error on a machine without a route to tile.openstreetmap.org
        map_tile_url="",
    )
    s.ensure_dirs()
    return s


@pytest.fixture
def sqlite_db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    yield database
    database.dispose()


def _pg_database() -> Iterator[Database]:
    """A PostgreSQL database in a schema of its own, dropped afterwards."""
    try:
        import psycopg  # noqa: F401
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_URL, pool_pre_ping=True)
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        require_service("PostgreSQL", f"{PG_URL}: {exc}")
    schema = f"pantau_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    database = Database(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_db() -> Iterator[Database]:
    yield from _pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, settings: Settings) -> Iterator[Database]:
    """The store on both backends: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        database = Database(settings.sqlalchemy_url)
        database.migrate()
        yield database
        database.dispose()
    else:
        yield from _pg_database()


@pytest.fixture
def redis_url() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        require_service("Redis", f"{REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    if not port_open(MQTT_HOST, MQTT_PORT):
        require_service("MQTT broker", f"nothing listens on {MQTT_HOST}:{MQTT_PORT}")
    return MQTT_HOST, MQTT_PORT
