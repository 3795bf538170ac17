"""Alembic environment: runs against the engine/connection Pantau hands in (see store.db)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.models import Base
from store.partitions import PARTITION_RE

config = context.config
target_metadata = Base.metadata


def include_name(name, type_, parent_names) -> bool:
    """Leave PostgreSQL's daily observation partitions (store.partitions) out of comparisons."""
    return not (type_ == "table" and PARTITION_RE.match(name or ""))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        from pantau.settings import get_settings

        engine = create_engine(get_settings().sqlalchemy_url)
    with engine.begin() as conn:
        _run(conn)


if context.is_offline_mode():  # pragma: no cover - Pantau always migrates online
    raise SystemExit("offline migrations are not supported; run `pantau db upgrade`")
run_migrations_online()
