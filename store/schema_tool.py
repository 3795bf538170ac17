"""Developer tool: (re)generate the initial migration from the models, or check they agree.

Until Pantau's first release the schema lives in one initial revision, regenerated with
``python -m store.schema_tool regenerate`` (``make schema``) after a model change. After the first
release, add ordinary Alembic revisions instead. ``check`` fails when models and migrations differ.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import MIGRATIONS_DIR, alembic_config, make_engine, migrate
from store.models import Base
from store.partitions import PARTITION_RE


def regenerate() -> Path:
    versions = MIGRATIONS_DIR / "versions"
    for old in versions.glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/empty.db")
        cfg = alembic_config(engine)
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
        engine.dispose()
    path = next(versions.glob("0001_*.py"))
    return path


def _include_name(name, type_, parent_names) -> bool:
    """PostgreSQL's daily observation partitions are not in the models (store.partitions)."""
    return not (type_ == "table" and PARTITION_RE.match(name or ""))


def check(url: str | None = None) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url or f"sqlite:///{tmp}/check.db")
        migrate(engine)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": _include_name})
            diff = compare_metadata(ctx, Base.metadata)
        engine.dispose()
    return diff


if __name__ == "__main__":
    if sys.argv[1:] == ["regenerate"]:
        print(f"wrote {regenerate()}")
    elif sys.argv[1:] == ["check"]:
        d = check()
        if d:
            print("models and migrations differ:", *d, sep="\n  ")
            raise SystemExit(1)
        print("models and migrations agree")
    else:
        raise SystemExit("usage: python -m store.schema_tool regenerate|check")
