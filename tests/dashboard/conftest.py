"""Fixtures of the dashboard tests (known data: see known_data.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from known_data import load_known_rollups

from dashboard import cache
from store.db import Database


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def known_db(sqlite_db: Database) -> Database:
    load_known_rollups(sqlite_db)
    return sqlite_db


@pytest.fixture
def known_any_db(db: Database) -> Database:
    """The known rollups on SQLite and on PostgreSQL."""
    load_known_rollups(db)
    return db
