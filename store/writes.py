"""Idempotent writes: observations and sensor readings keyed by (subject, timestamp).

Ingestion may deliver the same sample twice (a Celery retry, a worker restart): the second write
is a no-op, or an update when ``update=True``. Works on SQLite and PostgreSQL via their native
``INSERT ... ON CONFLICT``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Observation, SensorReading

logger = logging.getLogger(__name__)

#: Observation columns ingestion may set (everything but the surrogate key).
OBSERVATION_FIELDS = tuple(c.name for c in Observation.__table__.columns if c.name != "id")

# SQLite limits bound parameters per statement (32766 in modern builds); keep batches below.
_MAX_PARAMS = 30000


def _insert_for(session: Session, table: Table):
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"idempotent upsert not implemented for {name}")


def _chunks(rows: Sequence[Mapping[str, Any]], width: int) -> Iterable[Sequence[Mapping]]:
    size = max(1, _MAX_PARAMS // max(1, width))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    *,
    update: bool = False,
) -> int:
    """Insert rows, ignoring (or updating) those whose ``key`` already exists.

    Returns the number of rows inserted or updated.
    """
    if not rows:
        return 0
    columns = sorted({k for row in rows for k in row})
    unknown = set(columns) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"unknown columns for {table.name}: {sorted(unknown)}")
    normalised = [{c: row.get(c) for c in columns} for row in rows]
    written = 0
    for chunk in _chunks(normalised, len(columns)):
        stmt = _insert_for(session, table).values(list(chunk))
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(key),
                set_={c: stmt.excluded[c] for c in columns if c not in key},
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        # RETURNING counts what was really written: rowcount is not reliable across drivers
        pk = list(table.primary_key.columns)[0]
        written += len(session.execute(stmt.returning(pk)).all())
    return written


def write_observations(
    session: Session, rows: Sequence[Mapping[str, Any]], *, update: bool = False
) -> int:
    """Write observation rows (dicts with ``camera_id``, ``ts`` and measurements)."""
    for row in rows:
        if "camera_id" not in row or not isinstance(row.get("ts"), datetime):
            raise ValueError(f"observation needs camera_id and a datetime ts: {row!r}")
    return upsert_rows(session, Observation.__table__, rows, ("camera_id", "ts"), update=update)


def write_sensor_readings(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write sensor readings (dicts with ``sensor_id``, ``ts``, ``value``); duplicates ignored."""
    return upsert_rows(session, SensorReading.__table__, rows, ("sensor_id", "ts"))
