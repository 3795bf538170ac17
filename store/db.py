"""Engines, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, so the
dashboard can read while ingestion writes. PostgreSQL is used when ``PANTAU_DATABASE_URL`` says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the settings Pantau relies on for each backend."""
    if url.startswith("sqlite"):
        if ":///" in url and not url.endswith(":memory:"):
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if engine.dialect.name == "postgresql":
        from store.partitions import install

        install(engine)  # inserts into a day without a partition create it first
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (idempotent)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        if conn.dialect.name == "postgresql":  # DDL the generated migration cannot express
            from store.partitions import partition_observations

            partition_observations(conn)
        from store.incident_days import install_on_migrate

        install_on_migrate(conn)  # the incident rollup's triggers (not in the migration)
    url = engine.url.render_as_string(True)
    # said once a process: `pantau run` opens the database from several places at start
    (logger.debug if url in _REPORTED else logger.info)("database schema is up to date (%s)", url)
    _REPORTED.add(url)


_REPORTED: set[str] = set()


def schema_exists(engine: Engine) -> bool:
    return inspect(engine).has_table("cameras")


class Database:
    """An engine plus its session factory: the one handle the rest of Pantau passes around."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


_default: Database | None = None


def get_database(url: str | None = None) -> Database:
    """The process-wide database for the configured URL (migrated on first use)."""
    global _default
    if url is None:
        from pantau.settings import get_settings

        url = get_settings().sqlalchemy_url
    if _default is None or _default.url != url:
        _default = Database(url)
        _default.migrate()
    return _default


import store.alert_timeline  # noqa: E402,F401  - the alert timeline's flush hook (engine events)
import store.areas  # noqa: E402,F401  - registers the hooks that locate rows in kecamatan
import store.outbox  # noqa: E402,F401  - alert changes write their outbox rows (same transaction)
