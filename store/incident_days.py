"""The daily incident rollup (``incident_days``): incidents per local day, kind and kecamatan.

A year of a city's incidents (100,000+) is what the security page reads for its trend, its top
kecamatan and the area ranking; summing at most days x kinds x kecamatan rollup rows costs a
fraction of counting the incidents. The rollup is kept by database triggers on ``incidents``
(SQLite and PostgreSQL), so every write path counts (ORM, Core, the incidents feed's bulk
upsert, an import, plain SQL), in the same transaction as the write:

- insert: +1 on (day of ``occurred_at`` in the city's offset, kind, kecamatan or ''), and on
  the same (day, kind) with kecamatan ``*`` (every kecamatan: what an unfiltered trend reads);
- delete: -1 on the old row's bucket;
- update of ``occurred_at``, ``kind`` or ``kecamatan``: -1 on the old bucket, +1 on the new.

The triggers are built for one UTC offset (whole hours: WIB +7, WITA +8, WIT +9; days are the
city's local days, like the dashboard's). :func:`ensure` (called by the readers) installs the
triggers for the offset asked for and rebuilds the rollup from the incidents when they were
made for another offset or are missing (a database from before this table), once per process
and database. :func:`rebuild` recounts everything (one INSERT ... SELECT).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

DEFAULT_OFFSET = 7  # WIB, until a reader asks for the city's own offset
ALL = "*"
"""The ``kecamatan`` of the rows that count every kecamatan of a (day, kind): a trend without a
kecamatan filter reads ~10 rows a day instead of one per kecamatan and kind."""
_MARK = "pantau-incident-days v2 offset="  # v2: with the all-kecamatan rows
_checked: dict[tuple[str, int], bool] = {}
_lock = threading.Lock()


def _check_offset(offset: int) -> int:
    if not isinstance(offset, int) or not -12 <= offset <= 14:
        raise ValueError(f"UTC offset must be whole hours in [-12, 14], got {offset!r}")
    return offset


def _sqlite_day(col: str, offset: int) -> str:
    return f"date({col}, '{offset:+d} hours')"


def _pg_day(col: str, offset: int) -> str:
    return f"(({col} AT TIME ZONE 'UTC') + interval '{offset} hours')::date"


def _sqlite_ddl(offset: int) -> list[str]:
    mark = f"/* {_MARK}{offset} */"

    def bump(prefix: str, delta: int) -> str:
        return " ".join(
            f"INSERT INTO incident_days (utc_offset, day, kind, kecamatan, n) VALUES ({offset}, "
            f"{_sqlite_day(prefix + '.occurred_at', offset)}, {prefix}.kind, {kec}, {delta}) "
            f"ON CONFLICT (utc_offset, day, kind, kecamatan) DO UPDATE SET n = n + {delta};"
            for kec in (f"coalesce({prefix}.kecamatan, '')", f"'{ALL}'")
        )

    return [
        "DROP TRIGGER IF EXISTS incident_days_ins",
        "DROP TRIGGER IF EXISTS incident_days_del",
        "DROP TRIGGER IF EXISTS incident_days_upd",
        f"CREATE TRIGGER incident_days_ins AFTER INSERT ON incidents BEGIN {mark} "
        f"{bump('NEW', 1)} END",
        f"CREATE TRIGGER incident_days_del AFTER DELETE ON incidents BEGIN {mark} "
        f"{bump('OLD', -1)} END",
        "CREATE TRIGGER incident_days_upd AFTER UPDATE OF occurred_at, kind, kecamatan "
        "ON incidents WHEN OLD.occurred_at IS NOT NEW.occurred_at OR OLD.kind IS NOT NEW.kind "
        f"OR OLD.kecamatan IS NOT NEW.kecamatan BEGIN {mark} {bump('OLD', -1)} "
        f"{bump('NEW', 1)} END",
    ]


def _pg_ddl(offset: int) -> list[str]:
    def bump(prefix: str, delta: int) -> str:
        return " ".join(
            f"INSERT INTO incident_days (utc_offset, day, kind, kecamatan, n) VALUES ({offset}, "
            f"{_pg_day(prefix + '.occurred_at', offset)}, {prefix}.kind, {kec}, {delta}) "
            "ON CONFLICT (utc_offset, day, kind, kecamatan) "
            f"DO UPDATE SET n = incident_days.n + ({delta});"
            for kec in (f"coalesce({prefix}.kecamatan, '')", f"'{ALL}'")
        )

    return [
        "CREATE OR REPLACE FUNCTION incident_days_apply() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN -- {_MARK}{offset}\n"
        "  IF TG_OP = 'UPDATE' AND OLD.occurred_at IS NOT DISTINCT FROM NEW.occurred_at\n"
        "     AND OLD.kind IS NOT DISTINCT FROM NEW.kind\n"
        "     AND OLD.kecamatan IS NOT DISTINCT FROM NEW.kecamatan THEN\n"
        "    RETURN NULL;\n"
        "  END IF;\n"
        f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN {bump('OLD', -1)} END IF;\n"
        f"  IF TG_OP IN ('UPDATE', 'INSERT') THEN {bump('NEW', 1)} END IF;\n"
        "  RETURN NULL;\n"
        "END $$",
        "DROP TRIGGER IF EXISTS incident_days_trg ON incidents",
        "CREATE TRIGGER incident_days_trg AFTER INSERT OR DELETE OR UPDATE OF occurred_at, kind, "
        "kecamatan ON incidents FOR EACH ROW EXECUTE FUNCTION incident_days_apply()",
    ]


def _dialect(conn: Connection | Session) -> str:
    return conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name


def installed_offset(conn: Connection | Session) -> int | None:
    """The offset the installed triggers count in, None when they are missing."""
    if _dialect(conn) == "postgresql":
        # this schema's function and trigger (tests and benches use several schemas)
        src = conn.execute(
            text(
                "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname = 'incident_days_apply' AND n.nspname = current_schema()"
            )
        ).scalar()
        trig = conn.execute(
            text(
                "SELECT 1 FROM pg_trigger WHERE tgname = 'incident_days_trg' "
                "AND tgrelid = to_regclass('incidents')"
            )
        ).scalar()
        if not trig:
            return None
    else:
        rows = (
            conn.execute(
                text(
                    "SELECT sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND name LIKE 'incident_days_%'"
                )
            )
            .scalars()
            .all()
        )
        if len(rows) != 3:
            return None
        src = rows[0]
    if not src or _MARK not in src:
        return None
    try:
        return int(src.split(_MARK, 1)[1].split()[0].rstrip("*/"))
    except ValueError:
        return None


def install(conn: Connection | Session, offset: int = DEFAULT_OFFSET) -> None:
    """(Re)create the triggers for ``offset`` (idempotent; the rollup is not recounted)."""
    offset = _check_offset(offset)
    dialect = _dialect(conn)
    for statement in _pg_ddl(offset) if dialect == "postgresql" else _sqlite_ddl(offset):
        conn.execute(text(statement))


def rebuild(conn: Connection | Session, offset: int = DEFAULT_OFFSET) -> int:
    """Recount the whole rollup from the incidents for ``offset`` (other offsets' rows are
    dropped). Returns the rollup rows written."""
    offset = _check_offset(offset)
    dialect = _dialect(conn)
    day = (
        _pg_day("occurred_at", offset)
        if dialect == "postgresql"
        else _sqlite_day("occurred_at", offset)
    )
    conn.execute(text("DELETE FROM incident_days"))
    written = 0
    for kec, group in (("coalesce(kecamatan, '')", ", coalesce(kecamatan, '')"), (f"'{ALL}'", "")):
        result = conn.execute(
            text(
                "INSERT INTO incident_days (utc_offset, day, kind, kecamatan, n) "
                f"SELECT {offset}, {day}, kind, {kec}, count(*) FROM incidents "
                f"GROUP BY {day}, kind{group}"
            )
        )
        written += int(result.rowcount or 0)
    if dialect == "postgresql":
        conn.execute(text("ANALYZE incident_days"))  # a fresh table has no statistics yet
    return written


def install_on_migrate(conn: Connection) -> None:
    """After a schema upgrade: triggers missing (a new database, or one from before this
    table) are installed for :data:`DEFAULT_OFFSET` and the rollup counted from the
    incidents; triggers already there stay (a reader may have moved them to its offset). A
    database made at the same revision before the table existed gets the table."""
    from sqlalchemy import inspect

    from store.models import IncidentDay

    existed = inspect(conn).has_table(IncidentDay.__tablename__)
    IncidentDay.__table__.create(conn, checkfirst=True)
    if not existed or installed_offset(conn) is None:
        install(conn, DEFAULT_OFFSET)
        rebuild(conn, DEFAULT_OFFSET)


def ensure(session: Session, offset: int) -> None:
    """Make sure the rollup counts in ``offset``: triggers for another offset (or none) are
    replaced and the rollup recounted, in the caller's transaction. Checked once per process
    and database."""
    offset = _check_offset(offset)
    key = (str(session.get_bind().url), offset)
    if _checked.get(key):
        return
    with _lock:
        if installed_offset(session) != offset:
            logger.info("incident rollup: triggers for UTC%+d installed, rollup recounted", offset)
            install(session, offset)
            rebuild(session, offset)
            session.commit()
        _checked[key] = True


def forget() -> None:
    """Check again on the next :func:`ensure` (tests)."""
    _checked.clear()
