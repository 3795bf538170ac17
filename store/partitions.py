"""PostgreSQL: the observations table partitioned by UTC day of its ``slot``.

10,693 cameras at one sample a minute write ~15.4 million rows a day. As one table, its indexes
grow without end and the daily retention prune is a 15-million-row DELETE (plus the vacuum
that follows); as daily partitions, each day's indexes stay the size of one day and the prune
drops whole tables. Measured in ``bench/bench_store_layout.py`` (README, "Storage").

The initial migration is generated from the models, which describe one plain table (SQLite
keeps it that way). ``store.db.migrate`` then calls ``partition_observations``: on PostgreSQL it
turns a plain ``observations`` into a partitioned one (rows copied over, once), primary key
``(id, slot)`` and unique ``(camera_id, slot)`` (a partitioned table's unique constraints must
hold the partition key). Partitions are named ``observations_pYYYYMMDD``; the maintenance
creates them ahead (``ensure_partitions``) and drops expired ones (``drop_partitions_before``);
a write into a day that has none yet creates it first (``ensure_for_rows``).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKeyConstraint,
    Insert,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from store.models import Camera, Observation

logger = logging.getLogger(__name__)

TABLE = "observations"
KEY = "slot"
PARTITION_RE = re.compile(r"^observations_p(\d{8})$")

_known: dict[
    str, set[date | None]
] = {}  # None in the set: not partitioned  # partitions seen per database (engine URL) in this process
_lock = threading.Lock()
#: partitions a connection's open transaction created (not in conn.info: reading that on an
#: invalidated connection would try to reconnect)
_made: weakref.WeakKeyDictionary[Connection, set[date]] = weakref.WeakKeyDictionary()


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def is_partitioned(conn: Connection) -> bool:
    kind = conn.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}
    )
    return kind == "p"


def partition_days(conn: Connection) -> list[date]:
    """UTC days that have a partition, oldest first."""
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": TABLE},
    ).scalars()
    days = []
    for name in rows:
        m = PARTITION_RE.match(name)
        if m:
            days.append(datetime.strptime(m.group(1), "%Y%m%d").date())
    return sorted(days)


def _bound(day: date) -> str:
    return f"{day:%Y-%m-%d} 00:00:00+00"


def create_partition(conn: Connection, day: date) -> bool:
    """Create the partition of one UTC day unless it exists. Returns True when created."""
    name = partition_name(day)
    if conn.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is not None:
        return False
    conn.execute(
        text(
            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{TABLE}" '
            f"FOR VALUES FROM ('{_bound(day)}') TO ('{_bound(day + timedelta(days=1))}')"
        )
    )
    logger.info("created partition %s", name)
    return True


def ensure_partitions(conn: Connection, first: date, last: date) -> int:
    """Partitions for every UTC day first..last (both included). Returns how many were made."""
    made = 0
    day = first
    while day <= last:
        made += create_partition(conn, day)
        day += timedelta(days=1)
    _known.setdefault(_key(conn), set()).update(partition_days(conn))
    return made


def drop_partitions_before(
    conn: Connection, cutoff: date, *, dry_run: bool = False
) -> list[tuple[str, int]]:
    """Drop the partitions of days before ``cutoff`` (whole tables: no DELETE, no vacuum).
    Returns (name, estimated rows) of each partition dropped (or that would be)."""
    out = []
    for day in partition_days(conn):
        if day >= cutoff:
            break
        name = partition_name(day)
        rows = conn.scalar(
            text("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(:n)"),
            {"n": name},
        )
        if not rows:  # never analyzed (or empty): count, it is one day at most
            rows = conn.scalar(text(f'SELECT count(*) FROM "{name}"'))
        out.append((name, int(rows or 0)))
        if not dry_run:
            conn.execute(text(f'DROP TABLE "{name}"'))
            logger.info("dropped partition %s (~%d rows)", name, rows or 0)
    if not dry_run:
        _known.pop(_key(conn), None)
    return out


def _key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def ensure_for_rows(conn: Connection, slots: Iterable[datetime]) -> None:
    """Make sure the partitions for these slots exist, in the caller's transaction (a late,
    early or clock-skewed sample must not fail its batch). Cheap: the partitions seen are
    remembered per process, so this is a set lookup unless a new day comes up."""
    days = {_utc_day(s) for s in slots if isinstance(s, datetime)}
    if not days:
        return
    key = _key(conn)
    with _lock:
        known = _known.get(key)
    if known is None:
        found: set[date | None] = set(partition_days(conn)) if is_partitioned(conn) else {None}
        with _lock:
            known = _known.setdefault(key, found)
    if None in known:  # a plain table (a database store.db did not migrate): nothing to do
        return
    for day in sorted(days - known):
        # IF NOT EXISTS: two writers meeting a new day at once are rare (the maintenance
        # creates days ahead); the loser's batch fails like any rejected batch and is retried
        create_partition(conn, day)
        with _lock:
            _known.setdefault(key, set()).add(day)
        # remembered as made by this transaction: a rollback un-makes it (_rolled_back)
        with _lock:
            _made.setdefault(conn, set()).add(day)


def _before_execute(conn, clauseelement, multiparams, params, execution_options):  # noqa: ANN001
    """Engine hook: any INSERT into observations through SQLAlchemy (ORM flush, Core
    executemany, the idempotent upsert) first makes sure its days have partitions."""
    if not isinstance(clauseelement, Insert) or clauseelement.table.name != TABLE:
        return
    rows = multiparams if multiparams else [params] if params else []
    if len(rows) == 1 and isinstance(rows[0], list | tuple):
        rows = rows[0]
    slots = []
    for row in rows:
        if isinstance(row, dict):
            slots.append(row.get(KEY) or row.get("ts"))
    ensure_for_rows(conn, slots)


def _rolled_back(conn) -> None:  # noqa: ANN001
    """A partition created in a transaction that rolls back is gone again: forget it."""
    with _lock:
        made = _made.pop(conn, None)
    if made:
        with _lock:
            known = _known.get(_key(conn))
            if known is not None:
                known -= made


def _committed(conn) -> None:  # noqa: ANN001
    with _lock:
        _made.pop(conn, None)


def _on_error(context) -> None:  # noqa: ANN001
    """An insert that found no partition: this process's cache was wrong, read it afresh."""
    if "no partition of relation" in str(context.original_exception):
        forget()


def install(engine: Engine) -> None:
    """Register the partition hooks on a PostgreSQL engine (``store.db.make_engine`` does)."""
    for name, fn in (
        ("before_execute", _before_execute),
        ("rollback", _rolled_back),
        ("commit", _committed),
        ("handle_error", _on_error),
    ):
        if not event.contains(engine, name, fn):
            event.listen(engine, name, fn)


def _utc_day(ts: datetime) -> date:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC).date()


def forget() -> None:
    """Drop the per-process partition cache (tests; after partitions are dropped elsewhere)."""
    with _lock:
        _known.clear()


def _partitioned_ddl() -> list[str]:
    """CREATE TABLE ... PARTITION BY RANGE (slot) and its indexes, from the model's columns."""
    md = MetaData()
    Camera.__table__.to_metadata(md)
    src = Observation.__table__
    cols = [Column(c.name, c.type, nullable=c.nullable) for c in src.columns]
    for c in cols:
        c.primary_key = False
    table = Table(
        TABLE,
        md,
        *cols,
        PrimaryKeyConstraint("id", KEY, name=f"{TABLE}_pkey"),
        *[
            UniqueConstraint(*[col.name for col in c.columns], name=c.name)
            for c in list(src.constraints)
            if isinstance(c, UniqueConstraint)
        ],
        *[
            ForeignKeyConstraint(
                [col.name for col in fk.columns],
                [e.target_fullname for e in fk.elements],
                name=fk.name,
                ondelete=fk.ondelete,
            )
            for fk in list(src.foreign_key_constraints)
        ],
        postgresql_partition_by=f"RANGE ({KEY})",
    )
    table.c.id.autoincrement = True
    dialect = postgresql.dialect()
    ddl = [str(CreateTable(table).compile(dialect=dialect))]
    for index in src.indexes:
        ddl.append(str(CreateIndex(index).compile(dialect=dialect)))
    return ddl


def partition_observations(conn: Connection, *, ahead_days: int = 3) -> bool:
    """Turn a plain PostgreSQL ``observations`` into the day-partitioned table (rows kept).
    Returns True when it converted; a partitioned table only gets its partitions ahead."""
    today = datetime.now(UTC).date()
    # processes starting together (dashboard, ingestion) convert once, one after the other
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('pantau.observations.partitions'))"))
    if is_partitioned(conn):
        ensure_partitions(conn, today - timedelta(days=1), today + timedelta(days=ahead_days))
        return False
    old = f"{TABLE}_unpartitioned"
    logger.info("partitioning %s by day of %s", TABLE, KEY)
    conn.execute(text(f'ALTER TABLE "{TABLE}" RENAME TO "{old}"'))
    for (index,) in conn.execute(
        text(
            "SELECT indexname FROM pg_indexes WHERE tablename = :t AND schemaname = current_schema()"
        ),
        {"t": old},
    ):
        conn.execute(text(f'ALTER INDEX "{index}" RENAME TO "{index}_old"'))
    seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": old})
    if seq:
        conn.execute(text(f"ALTER SEQUENCE {seq} RENAME TO {TABLE}_old_id_seq"))
    for statement in _partitioned_ddl():
        conn.execute(text(statement))
    first, last = conn.execute(text(f'SELECT min({KEY}), max({KEY}) FROM "{old}"')).one()
    lo = first.astimezone(UTC).date() if first else today
    hi = last.astimezone(UTC).date() if last else today
    ensure_partitions(
        conn, min(lo, today - timedelta(days=1)), max(hi, today + timedelta(days=ahead_days))
    )
    names = ", ".join(f'"{c.name}"' for c in Observation.__table__.columns)
    moved = conn.execute(
        text(f'INSERT INTO "{TABLE}" ({names}) SELECT {names} FROM "{old}"')
    ).rowcount
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), "
            f'COALESCE((SELECT max(id) FROM "{TABLE}"), 0) + 1, false)'
        )
    )
    conn.execute(text(f'DROP TABLE "{old}"'))
    logger.info("partitioned %s (%d rows moved)", TABLE, moved)
    return True
