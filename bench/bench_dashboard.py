"""Dashboard speed: trend callbacks over a year of rollups for 1,000 cameras (SQLite and
PostgreSQL), and the overview map with 10,000 camera points in headless Chromium.

    .venv/bin/python bench/bench_dashboard.py            # everything (a few minutes)
    .venv/bin/python bench/bench_dashboard.py --only sqlite --cameras 200 --days 90

The data is generated in SQL (recursive CTE on SQLite, generate_series on PostgreSQL) straight
into ``observation_rollups``: hourly and daily rows for every camera, so the queries see the
same row counts as a city that has run for a year. The figures printed are wall-clock times
of the real callback functions (query + DataFrame + Plotly figure), cache disabled ("cold")
and with the shared query cache ("warm").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from store.db import Database  # noqa: E402

PG_URL = os.environ.get("PANTAU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KECAMATAN = [
    "Bukit Kecil", "Ilir Timur I", "Ilir Timur II", "Ilir Barat I", "Ilir Barat II",
    "Seberang Ulu I", "Seberang Ulu II", "Kemuning", "Kalidoni", "Sako", "Sukarami",
    "Alang-Alang Lebar", "Kertapati", "Plaju", "Gandus", "Sematang Borang", "Jakabaring",
    "Ilir Timur III",
]  # fmt: skip


def make_cameras(db: Database, n: int) -> None:
    rows = []
    for i in range(n):
        rows.append(
            {
                "code": f"BENCH-{i:05d}",
                "name": f"Kamera uji {i}",
                "lat": -2.93 - (i % 97) * 0.0012,
                "lon": 104.69 + (i // 97) * 0.0011 + (i % 7) * 0.0003,
                "kecamatan": KECAMATAN[i % len(KECAMATAN)],
                "status": ("online", "online", "online", "degraded", "offline")[i % 5],
                "tags": '["traffic"]' if i % 3 else '["flood", "crowd"]',
            }
        )
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cameras (code, name, lat, lon, kecamatan, owner, protocol, "
                "is_public, enabled, sample_interval_s, rois, lines, config, tags, status, "
                "is_demo, created_at, updated_at) VALUES (:code, :name, :lat, :lon, :kecamatan, "
                "'diskominfo', 'snapshot', false, true, 60, '[]', '[]', '{}', :tags, :status, "
                "true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            rows,
        )


def fill_rollups(db: Database, end: datetime, days: int) -> int:
    """Hourly and daily rollups for every camera, generated inside the database."""
    start = end - timedelta(days=days)
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            # bulk load in camera-major order (the unique index stays append-only); the
            # (period, bucket) index is rebuilt once afterwards, which is much faster
            conn.execute(text("DROP INDEX IF EXISTS ix_rollups_period_bucket"))
            cam_ids = [r[0] for r in conn.execute(text("SELECT id FROM cameras ORDER BY id"))]
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA synchronous=OFF")
            hours = [start + timedelta(hours=i) for i in range(days * 24)]
            day0 = start.replace(hour=17)  # 00:00 WIB
            if day0 > start:
                day0 -= timedelta(days=1)
            day_list = [day0 + timedelta(days=i) for i in range(days)]
            fmt = "%Y-%m-%d %H:%M:%S.000000"
            stamps = {
                "hour": [h.strftime(fmt) for h in hours],
                "day": [d.strftime(fmt) for d in day_list],
            }

            def rows():
                for c in cam_ids:
                    for period in ("hour", "day"):
                        for i, b in enumerate(stamps[period]):
                            yield (
                                c, period, b, 60, (c % 13) + (i % 24), (c % 13) + (i % 24) + 5,
                                (c % 29) + (i % 17), (c % 29) + (i % 17) + 9,
                                (c % 29) * 12 + i % 50, (c % 31) * 11 + i % 40,
                                ((c + i) % 10) / 40.0, ((c + i) % 10) / 20.0,
                            )  # fmt: skip

            raw.executemany(
                "INSERT INTO observation_rollups (camera_id, period, bucket, samples, "
                "people_avg, people_max, vehicles_avg, vehicles_max, flow_in_sum, flow_out_sum, "
                "water_avg, water_max) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows(),
            )
            conn.execute(
                text(
                    "CREATE INDEX ix_rollups_period_bucket ON observation_rollups (period, bucket)"
                )
            )
        else:
            for period, step, n in (("hour", "1 hour", days * 24), ("day", "1 day", days)):
                first = start if period == "hour" else start.replace(hour=17)
                conn.execute(
                    text(
                        f"""
                    INSERT INTO observation_rollups (camera_id, period, bucket, samples,
                        people_avg, people_max, vehicles_avg, vehicles_max, flow_in_sum,
                        flow_out_sum, water_avg, water_max)
                    SELECT c.id, '{period}', CAST(:first AS timestamptz) + s.i * interval '{step}',
                        60, (c.id % 13) + (s.i % 24), (c.id % 13) + (s.i % 24) + 5,
                        (c.id % 29) + (s.i % 17), (c.id % 29) + (s.i % 17) + 9,
                        (c.id % 29) * 12 + s.i % 50, (c.id % 31) * 11 + s.i % 40,
                        ((c.id + s.i) % 10) / 40.0, ((c.id + s.i) % 10) / 20.0
                    FROM generate_series(0, :n - 1) AS s(i) CROSS JOIN cameras c
                    """
                    ),
                    {"n": n, "first": first.isoformat()},
                )
    from store.rollups import refresh_area_rollups

    with db.session() as s:
        refresh_area_rollups(s)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        return conn.execute(text("SELECT count(*) FROM observation_rollups")).scalar_one()


def _pg_database(schema: str, fresh: bool) -> tuple[Database, Callable[[], None]]:
    from sqlalchemy import create_engine

    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        if fresh:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    database = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    return database, database.dispose


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q * (len(values) - 1))))
    return values[k]


def bench_trends(db: Database, label: str, end: datetime, repeats: int) -> list[tuple]:
    """Time the real trend callbacks of the traffic and flood pages."""
    from dashboard import cache
    from dashboard.callbacks import flood, traffic

    today = (end + timedelta(hours=7)).date()
    scenarios = [
        ("7 hari per jam", today - timedelta(days=6), "hour", None, None),
        ("30 hari per hari", today - timedelta(days=29), "day", None, None),
        ("1 tahun per minggu", today - timedelta(days=364), "week", None, None),
        ("1 tahun per bulan", today - timedelta(days=364), "month", None, None),
        ("30 hari, 1 kecamatan", today - timedelta(days=29), "day", ["Kemuning"], None),
        ("7 hari per jam, 1 kamera", today - timedelta(days=6), "hour", None, ["BENCH-00042"]),
    ]
    results = []
    for name, start_day, gran, kec, cams in scenarios:
        for mode in ("cold", "warm"):
            times = []
            for _ in range(repeats):
                if mode == "cold":
                    cache.clear()
                t0 = time.perf_counter()
                traffic.update_traffic(
                    start_day.isoformat(),
                    today.isoformat(),
                    gran,
                    kec,
                    cams,
                    "flow",
                    db=db,
                    now=end,
                )
                times.append((time.perf_counter() - t0) * 1000)
            results.append((label, "lalu-lintas: " + name, mode, times))
        times = []
        for _ in range(repeats):
            cache.clear()
            t0 = time.perf_counter()
            traffic.update_traffic_locations(
                start_day.isoformat(), today.isoformat(), gran, kec, cams, "flow", db=db
            )
            times.append((time.perf_counter() - t0) * 1000)
        results.append((label, "lokasi teratas + peta: " + name, "cold", times))
        times = []
        for _ in range(repeats):
            cache.clear()
            t0 = time.perf_counter()
            flood.update_flood(
                start_day.isoformat(), today.isoformat(), gran, kec, cams, "water", db=db, now=end
            )
            times.append((time.perf_counter() - t0) * 1000)
        results.append((label, "banjir: " + name, "cold", times))
    return results


def print_table(rows: list[tuple]) -> float:
    print(f"{'store':<11} {'scenario':<40} {'cache':<5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = 0.0
    for label, name, mode, times in rows:
        p95 = percentile(times, 0.95)
        worst = max(worst, p95)
        print(
            f"{label:<11} {name:<40} {mode:<5} {statistics.median(times):8.1f} {p95:8.1f} "
            f"{max(times):8.1f}"
        )
    return worst


def _dataset_end(db: Database) -> datetime | None:
    from store.models import AreaRollup, ObservationRollup

    with db.session() as s:
        from sqlalchemy import func, select

        if not s.scalar(select(func.count()).select_from(AreaRollup)):
            return None
        end = s.scalar(select(func.max(ObservationRollup.bucket)))
    return end + timedelta(hours=1) if end else None


def run_store(kind: str, cameras: int, days: int, repeats: int, fresh: bool) -> list[tuple]:
    """Generate (or reuse) the dataset on one store and time the callbacks on it. Datasets are
    kept (SQLite file under var/bench/, PostgreSQL schema pantau_bench_*) so a second run starts
    at once; --fresh regenerates."""
    tag = f"{cameras}c_{days}d"
    if kind == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"dashboard_{tag}.db"
        if fresh and path.exists():
            path.unlink()
        db = Database(f"sqlite:///{path}")
        drop = db.dispose
    else:
        try:
            db, drop = _pg_database(f"pantau_bench_{tag}", fresh)
        except Exception as exc:  # noqa: BLE001 - report and carry on with the other store
            print(f"PostgreSQL unavailable ({exc}); skipped")
            return []
    try:
        db.migrate()
        end = _dataset_end(db)
        if end is None:
            end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            t0 = time.perf_counter()
            make_cameras(db, cameras)
            n = fill_rollups(db, end, days)
            print(
                f"{kind}: {cameras:,} cameras, {days} days, {n:,} camera rollup rows generated "
                f"in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        else:
            print(f"{kind}: reusing the {tag} dataset (ends {end:%Y-%m-%d %H:%M} UTC)", flush=True)
        from dashboard.queries import trends

        with db.session() as s:  # derived tables of datasets kept from older versions
            t0 = time.perf_counter()
            trends.ensure_area_rollups(s)
            if time.perf_counter() - t0 > 1:
                print(f"{kind}: derived rollups built in {time.perf_counter() - t0:.1f} s")
        return bench_trends(db, kind, end, repeats)
    finally:
        drop()


def bench_map(points: int) -> None:
    """Time from navigation to cluster markers on the overview map with ``points`` cameras."""
    from tests.ui.harness import chrome_driver, running_app

    tmp = Path(tempfile.mkdtemp(prefix="pantau-bench-map-"))
    from pantau.settings import Settings

    settings = Settings(
        var_dir=tmp / "var", secret_key="bench", ingest_enabled=False, map_tile_url=""
    )
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    make_cameras(db, points)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    times = []
    with running_app(settings, db) as base, chrome_driver((1440, 900)) as driver:
        from tests.ui.harness import login

        login(driver, base, db)
        for _ in range(3):
            driver.get("about:blank")
            t0 = time.perf_counter()
            driver.get(base + "/")
            WebDriverWait(driver, 30).until(
                EC.presence_of_element_located((By.CSS_SELECTOR, "#overview-map .marker-cluster"))
            )
            times.append(time.perf_counter() - t0)
        n_clusters = len(driver.find_elements(By.CSS_SELECTOR, "#overview-map .marker-cluster"))
    db.dispose()
    print(f"{'map points':>10} {'runs':>5} {'median s':>9} {'max s':>7} {'clusters drawn':>15}")
    print(
        f"{points:>10,} {len(times):>5} {statistics.median(times):9.2f} {max(times):7.2f} "
        f"{n_clusters:>15}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql", "map"], default=None)
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--map-points", type=int, default=10_000)
    parser.add_argument("--fresh", action="store_true", help="regenerate the kept datasets")
    args = parser.parse_args()
    os.environ.setdefault("PANTAU_LANGUAGE", "id")
    rows: list[tuple] = []
    for kind in ("sqlite", "postgresql"):
        if args.only in (None, kind):
            rows += run_store(kind, args.cameras, args.days, args.repeats, args.fresh)
    if rows:
        worst = print_table(rows)
        print(f"\nworst p95: {worst:.1f} ms (target < 200 ms)")
    if args.only in (None, "map"):
        print()
        bench_map(args.map_points)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
