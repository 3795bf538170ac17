"""How PostgreSQL should hold ~15.4 million raw observations a day: daily partitions (what
Pantau does) against one plain table with a B-tree or a BRIN index on ``ts``.

Measured on the city-scale dataset of ``bench_dashboard.py`` (run it first): its partitioned
``observations`` (10,693 cameras x 3 days) and a plain copy of its last 2 days (~30.8 million
rows) in the same schema, indexed the way the model indexes it (unique camera_id+slot, B-tree
ts), then with the ts B-tree swapped for BRIN. For each layout:

- write: one minute of the city (10,693 rows) through the real idempotent upsert
  (``store.writes.upsert_rows``), 5 times;
- hour: the rollup refresh of one hour (aggregate by camera over a ``ts`` range, ~641k rows);
- camera: one camera's last 24 hours (by camera_id + slot);
- prune: one hour deleted (plain) / one day's partition dropped (partitioned).

    .venv/bin/python bench/bench_store_layout.py [--schema bench_store_10693c_365d_90h_3r]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, MetaData, Table, UniqueConstraint, text  # noqa: E402

from store.db import Database  # noqa: E402
from store.models import Observation  # noqa: E402
from store.writes import upsert_rows  # noqa: E402

PG_URL = os.environ.get("PANTAU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _ms(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _table(name: str) -> Table:
    cols = [
        Column(c.name, c.type, nullable=c.nullable, primary_key=c.name == "id")
        for c in Observation.__table__.columns
    ]
    return Table(name, MetaData(), *cols, UniqueConstraint("camera_id", "slot"))


def measure(db: Database, name: str, end, cams: list[int], label: str) -> dict[str, list[float]]:
    table = _table(name)
    k = [0]

    def write() -> None:
        slot = end + timedelta(minutes=10 + k[0])
        k[0] += 1
        rows = [{"camera_id": c, "slot": slot, "ts": slot, "people": 1, "reused": False}
                for c in cams]  # fmt: skip
        with db.session() as s:
            upsert_rows(s, table, rows, ("camera_id", "slot"))

    hour = end - timedelta(hours=5)

    def hour_read() -> None:
        with db.engine.connect() as c:
            c.execute(
                text(f"SELECT camera_id, count(*), avg(people), max(vehicles_total) FROM {name} "
                     "WHERE ts >= :a AND ts < :b GROUP BY camera_id"),
                {"a": hour, "b": hour + timedelta(hours=1)},
            ).all()  # fmt: skip

    def camera_read() -> None:
        with db.engine.connect() as c:
            c.execute(
                text(f"SELECT slot, people FROM {name} WHERE camera_id = :c AND slot >= :a"),
                {"c": cams[len(cams) // 2], "a": end - timedelta(days=1)},
            ).all()

    out = {"write 1 min (10,693 rows)": _ms(write, 5), "hour aggregate": _ms(hour_read, 3),
           "one camera, 24 h": _ms(camera_read, 5)}  # fmt: skip
    with db.engine.begin() as c:
        c.execute(text(f"DELETE FROM {name} WHERE slot > :e"), {"e": end})
    print(f"  {label}: " + ", ".join(f"{k} {statistics.median(v):.0f} ms" for k, v in out.items()),
          flush=True)  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="bench_store_10693c_365d_90h_3r")
    parser.add_argument("--plain-days", type=int, default=2)
    args = parser.parse_args()
    db = Database(f"{PG_URL}?options=-csearch_path%3D{args.schema}")
    try:
        with db.engine.connect() as c:
            ready = c.execute(text("SELECT to_regclass('observations')")).scalar() is not None
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: nothing to compare
        print(f"PostgreSQL unavailable ({exc}); skipped")
        return 0
    if not ready:
        print(f"no dataset in schema {args.schema}: run bench/bench_dashboard.py first; skipped")
        return 0
    with db.engine.connect() as c:
        end = c.execute(text("SELECT max(slot) FROM observations")).scalar_one()
        cams = list(c.execute(text("SELECT id FROM cameras ORDER BY id")).scalars())
        total = c.execute(text("SELECT count(*) FROM observations")).scalar_one()
    end = end + timedelta(minutes=1)
    print(f"load average {os.getloadavg()}; partitioned observations: {total:,} rows", flush=True)
    results = {}
    results["partitioned by day"] = measure(db, "observations", end, cams, "partitioned")
    # prune: one whole day, dropped
    with db.engine.connect() as c:
        first = c.execute(text("SELECT min(slot) FROM observations")).scalar_one()
    plain_from = end - timedelta(days=args.plain_days)
    with db.engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS obs_plain"))
        t0 = time.perf_counter()
        c.execute(
            text("CREATE TABLE obs_plain AS SELECT * FROM observations WHERE slot >= :a"),
            {"a": plain_from},
        )
        n = c.execute(text("SELECT count(*) FROM obs_plain")).scalar_one()
        c.execute(text("ALTER TABLE obs_plain ADD UNIQUE (camera_id, slot)"))
        c.execute(text("CREATE INDEX obs_plain_ts ON obs_plain (ts)"))
        c.execute(text("ANALYZE obs_plain"))
        print(f"  plain copy: {n:,} rows, indexed in {time.perf_counter() - t0:.0f} s", flush=True)
    results["plain, B-tree ts"] = measure(db, "obs_plain", end, cams, "plain + B-tree")

    def delete_hour() -> None:
        with db.engine.begin() as c:
            lo = c.execute(text("SELECT min(ts) FROM obs_plain")).scalar_one()
            c.execute(text("DELETE FROM obs_plain WHERE ts < :b"), {"b": lo + timedelta(hours=1)})

    results["plain, B-tree ts"]["prune 1 hour (DELETE ~641k rows)"] = _ms(delete_hour, 1)
    with db.engine.begin() as c:
        c.execute(text("DROP INDEX obs_plain_ts"))
        c.execute(text("CREATE INDEX obs_plain_brin ON obs_plain USING brin (ts)"))
        c.execute(text("ANALYZE obs_plain"))
    results["plain, BRIN ts"] = measure(db, "obs_plain", end, cams, "plain + BRIN")
    results["plain, BRIN ts"]["prune 1 hour (DELETE ~641k rows)"] = _ms(delete_hour, 1)
    with db.engine.begin() as c:
        c.execute(text("DROP TABLE obs_plain"))
    name = f"observations_p{first:%Y%m%d}"
    with db.engine.connect() as c:
        rows = c.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    from store.partitions import forget

    t0 = time.perf_counter()
    with db.engine.begin() as c:
        c.execute(text(f'DROP TABLE "{name}"'))
    forget()
    results["partitioned by day"][f"prune 1 day (DROP {rows:,} rows)"] = [
        (time.perf_counter() - t0) * 1000
    ]
    print(f"\n{'layout':<22} {'operation':<36} {'median ms':>10}")
    for layout, ops in results.items():
        for op, times in ops.items():
            print(f"{layout:<22} {op:<36} {statistics.median(times):10.1f}")
    print(f"\nload average {os.getloadavg()}")
    print("(the dropped day is gone from the kept dataset: rerun bench_dashboard.py to refill)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
