"""Idempotent writes: observations keyed by (camera, schedule slot), sensor readings by
(sensor, timestamp).

Ingestion may deliver the same sample twice (a Celery retry, a worker restart): the second write
is a no-op, or an update when ``update=True``. Works on SQLite and PostgreSQL via their native
``INSERT ... ON CONFLICT``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Camera, CameraState, Observation, SensorReading

logger = logging.getLogger(__name__)

#: Observation columns ingestion may set (everything but the surrogate key).
OBSERVATION_FIELDS = tuple(c.name for c in Observation.__table__.columns if c.name != "id")


def _dialect_insert(dialect: str):
    if dialect == "sqlite":
        return sqlite.insert
    if dialect == "postgresql":
        return postgresql.insert
    raise NotImplementedError(f"idempotent upsert not implemented for {dialect}")


@lru_cache(maxsize=256)
def _upsert_statement(
    dialect: str, table: Table, columns: tuple[str, ...], key: tuple[str, ...], update: bool
):
    """The INSERT ... ON CONFLICT ... RETURNING pk for one column set, built once.

    No VALUES are bound into it: the rows go as executemany parameters, which SQLAlchemy sends
    as "insertmanyvalues" batches (a few multi-row INSERTs sized under the driver's parameter
    limit) from a statement compiled once and cached, instead of a new multi-row statement built
    and compiled on every call."""
    insert = _dialect_insert(dialect)(table)
    if update:
        stmt = insert.on_conflict_do_update(
            index_elements=list(key),
            set_={c: insert.excluded[c] for c in columns if c not in key},
        )
    else:
        stmt = insert.on_conflict_do_nothing(index_elements=list(key))
    # RETURNING counts what was really written: rowcount is not reliable across drivers
    # (executemany) nor for ON CONFLICT DO NOTHING
    return stmt.returning(list(table.primary_key.columns)[0])


def upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    *,
    update: bool = False,
) -> int:
    """Insert rows, ignoring (or updating) those whose ``key`` already exists.

    A column missing from some rows is written as NULL in those (the column set is the union
    over ``rows``). Returns the number of rows inserted or updated.
    """
    if not rows:
        return 0
    columns = sorted({k for row in rows for k in row})
    unknown = set(columns) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"unknown columns for {table.name}: {sorted(unknown)}")
    stmt = _upsert_statement(
        session.get_bind().dialect.name, table, tuple(columns), tuple(key), update
    )
    normalised = [{c: row.get(c) for c in columns} for row in rows]
    if len(normalised) == 1:
        return len(session.execute(stmt, normalised[0]).all())
    return len(session.execute(stmt, normalised).all())


#: The idempotency key of observations: one row per camera and schedule slot.
OBSERVATION_KEY = ("camera_id", "slot")


def write_observations(
    session: Session, rows: Sequence[Mapping[str, Any]], *, update: bool = False
) -> int:
    """Write observation rows (dicts with ``camera_id``, ``ts`` — the frame time —, ``slot`` —
    the schedule slot, the idempotency key — and measurements). A row without ``slot`` is keyed
    by its ``ts`` (imports, demo data)."""
    keyed: list[Mapping[str, Any]] = []
    for row in rows:
        if "camera_id" not in row or not isinstance(row.get("ts"), datetime):
            raise ValueError(f"observation needs camera_id and a datetime ts: {row!r}")
        slot = row.get("slot")
        if slot is None:
            row = {**row, "slot": row["ts"]}
        elif not isinstance(slot, datetime):
            raise ValueError(f"observation slot must be a datetime: {row!r}")
        keyed.append(row)
    return upsert_rows(session, Observation.__table__, keyed, OBSERVATION_KEY, update=update)


def write_sensor_readings(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write sensor readings (dicts with ``sensor_id``, ``ts``, ``value``); duplicates ignored."""
    return upsert_rows(session, SensorReading.__table__, rows, ("sensor_id", "ts"))


def write_camera_states(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Upsert per-camera analysis states (dicts with ``camera_id``, ``config_key``, ``state``
    bytes, ``warm``, ``sample_ts``). A state never replaces one built from a newer sample: the row is
    updated only when the stored ``sample_ts`` is not newer. Returns rows inserted or updated.
    States of cameras deleted meanwhile are skipped (no foreign-key error)."""
    if not rows:
        return 0
    table = CameraState.__table__
    insert = _dialect_insert(session.get_bind().dialect.name)
    now = datetime.now(UTC)
    ids = {int(r["camera_id"]) for r in rows}
    known = set(session.scalars(select(Camera.id).where(Camera.id.in_(ids))))
    values = [
        {
            "camera_id": int(r["camera_id"]),
            "config_key": str(r["config_key"]),
            "state": bytes(r["state"]),
            "warm": bool(r.get("warm", True)),
            "sample_ts": r["sample_ts"],
            "updated_at": now,
        }
        for r in rows
        if int(r["camera_id"]) in known
    ]
    if not values:
        return 0
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["camera_id"],
        set_={
            "config_key": stmt.excluded.config_key,
            "state": stmt.excluded.state,
            "warm": stmt.excluded.warm,
            "sample_ts": stmt.excluded.sample_ts,
            "updated_at": stmt.excluded.updated_at,
        },
        where=table.c.sample_ts <= stmt.excluded.sample_ts,
    ).returning(table.c.camera_id)
    return len(session.execute(stmt, values).all())
