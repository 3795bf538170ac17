"""Dashboard speed at city scale: every dashboard callback that reads camera data, timed on
the full history of 10,693 cameras (SQLite and PostgreSQL), and the overview map with 10,000
camera points in headless Chromium.

    .venv/bin/python bench/bench_dashboard.py                  # both stores + map
    .venv/bin/python bench/bench_dashboard.py --only postgresql --rollup-refresh
    .venv/bin/python bench/bench_dashboard.py --only sqlite --cameras 200 --days 90

What a city keeps after a year under the default retention (PANTAU_*_RETENTION_DAYS): daily
rollups for 365 days, hourly rollups for the last 90, raw observations (one per camera and
minute, ~15.4 million a day) for the last 3 days, per-kecamatan and camera-month sums built by
the real refresh; plus a year of incidents, sensor readings and camera status changes. It is
generated inside the database (recursive CTE on SQLite, generate_series on PostgreSQL) with
progress lines, once: the SQLite file under var/bench/ and the PostgreSQL schema
bench_store_* are kept and reused (--fresh regenerates). Figures are wall-clock times of the
real callback functions (query + DataFrame + Plotly figure) with the query cache cleared
before each call; --rollup-refresh adds the writer's side (one minute of the city written,
one hour and one day of rollups refreshed). Generating the full dataset takes ~40 minutes on
a busy 2-core box (PostgreSQL ~42k raw rows/s, SQLite ~250k rows/s); later runs take ~1 minute.
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


def _progress(label: str, done: int, total: int, t0: float) -> None:
    rate = done / max(time.perf_counter() - t0, 1e-6)
    print(f"  {label}: {done:,}/{total:,} rows ({rate:,.0f}/s)", flush=True)


def _local_day0(start: datetime) -> datetime:
    """00:00 WIB (17:00 UTC) on or before ``start``."""
    day0 = start.replace(hour=17, minute=0, second=0, microsecond=0)
    return day0 - timedelta(days=1) if day0 > start else day0


ROLLUP_COLS = (
    "camera_id, period, bucket, samples, people_avg, people_max, vehicles_avg, vehicles_max, "
    "car_avg, motorcycle_avg, bus_avg, truck_avg, flow_in_sum, flow_out_sum, motion_avg, "
    "water_avg, water_max, people_n, vehicles_n, motion_n, water_n"
)


def _rollup_values(c: str, i: str, samples: int, div: str) -> str:
    """SQL of one rollup row's values for camera id ``c`` and bucket number ``i``."""
    return (
        f"{samples}, ({c} % 13) + ({i} % 24), ({c} % 13) + ({i} % 24) + 5, "
        f"({c} % 29) + ({i} % 17), ({c} % 29) + ({i} % 17) + 9, "
        f"(({c} % 29) + ({i} % 17)) * 0.3, (({c} % 29) + ({i} % 17)) * 0.6, 0.05, 0.05, "
        f"({c} % 29) * 12 + {i} % 50, ({c} % 31) * 11 + {i} % 40, 0.2, "
        f"(({c} + {i}) % 10) {div} 40.0, (({c} + {i}) % 10) {div} 20.0, "
        f"{samples}, {samples}, {samples}, {samples}"
    )


def fill_rollups(db: Database, end: datetime, days: int, hourly_days: int) -> int:
    """Daily rollups for ``days`` local days and hourly ones for the last ``hourly_days``
    (what the retention keeps) for every camera, generated inside the database, then the
    per-kecamatan and monthly sums the real refresh builds from them."""
    day0 = _local_day0(end - timedelta(days=days))
    hour0 = end - timedelta(days=hourly_days)
    n_days, n_hours = days + 1, hourly_days * 24
    n_cams = _count(db, "cameras")
    t0 = time.perf_counter()
    if db.dialect == "sqlite":
        raw = _sqlite_bulk(db)
        raw.execute("DROP INDEX IF EXISTS ix_rollups_period_bucket")
        fmt = "%Y-%m-%d %H:%M:%S.000000"
        # bucket-major, as the writer's refreshes lay them out (a bucket's rows together)
        for period, first, n, step, samples in (
            ("day", day0, n_days, "days", 1440),
            ("hour", hour0, n_hours, "hours", 60),
        ):
            raw.execute(
                f"""
                WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1})
                INSERT INTO observation_rollups ({ROLLUP_COLS})
                SELECT c.id, '{period}',
                    strftime('{fmt}', '{first:%Y-%m-%d %H:%M:%S}', '+' || s.i || ' {step}'),
                    {_rollup_values("c.id", "s.i", samples, "/")}
                FROM s CROSS JOIN cameras c
                """
            )
            raw.commit()
            _progress(f"{period} rollups", n_cams * n, n_cams * n, t0)
        raw.execute("CREATE INDEX ix_rollups_period_bucket ON observation_rollups (period, bucket)")
        raw.commit()
        raw.close()
    else:
        with db.engine.begin() as conn:
            conn.execute(text(_NO_FK))
            for period, first, n, step, samples in (
                ("day", day0, n_days, "1 day", 1440),
                ("hour", hour0, n_hours, "1 hour", 60),
            ):
                conn.execute(
                    text(
                        f"""
                    INSERT INTO observation_rollups ({ROLLUP_COLS})
                    SELECT c.id, '{period}', CAST(:first AS timestamptz) + s.i * interval '{step}',
                        {_rollup_values("c.id", "s.i", samples, "::float /")}
                    FROM generate_series(0, :n - 1) AS s(i) CROSS JOIN cameras c
                    """
                    ),
                    {"n": n, "first": first.isoformat()},
                )
                _progress(f"{period} rollups", n_cams * n, n_cams * n, t0)
    from store.rollups import refresh_area_rollups

    t1 = time.perf_counter()
    with db.session() as s:
        refresh_area_rollups(s)
    print(f"  area + camera-month rollups built in {time.perf_counter() - t1:.1f} s", flush=True)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return _count(db, "observation_rollups")


#: bulk loads skip the per-row foreign-key triggers (the generated camera ids are valid)
_NO_FK = "SET LOCAL session_replication_role = replica"


def _count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _sqlite_bulk(db: Database):
    """A raw sqlite3 connection set for bulk loading (no journal, no fsync, big cache)."""
    import sqlite3

    db.dispose()
    raw = sqlite3.connect(db.engine.url.database)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-1000000")
    raw.execute("PRAGMA temp_store=MEMORY")
    return raw


OBS_COLS = (
    "camera_id, slot, ts, people, vehicles_car, vehicles_motorcycle, vehicles_bus, "
    "vehicles_truck, vehicles_total, flow_in, flow_out, motion_ratio, water_coverage, "
    "water_confidence, analyser, reused, processing_ms"
)


def _obs_values(c: str, i: str, div: str) -> str:
    return (
        f"({c} + {i}) % 17, ({c} + {i}) % 7, ({c} + {i}) % 11, 0, {i} % 2, "
        f"(({c} + {i}) % 7) + (({c} + {i}) % 11) + {i} % 2, {i} % 5, ({c} + {i}) % 4, "
        f"(({c} * 7 + {i}) % 100) {div} 100.0, (({c} + {i}) % 10) {div} 30.0, 0.8, 'bench', "
        f"false, 12.5"
    )


def fill_raw(db: Database, end: datetime, days: int) -> int:
    """Raw observations, one per camera and minute, for the ``days`` before ``end`` (the
    retention window): ~15.4 million rows a day at 10,693 cameras."""
    start = end - timedelta(days=days)
    n_cams = _count(db, "cameras")
    t0 = time.perf_counter()
    total = n_cams * days * 1440
    done = 0
    if db.dialect == "sqlite":
        raw = _sqlite_bulk(db)
        raw.execute("DROP INDEX IF EXISTS ix_observations_ts")
        fmt = "%Y-%m-%d %H:%M:%S.000000"
        ids = [r[0] for r in raw.execute("SELECT id FROM cameras ORDER BY id")]
        chunk = 500  # cameras per statement (camera-major: the unique index stays append-only)
        for k in range(0, len(ids), chunk):
            lo, hi = ids[k], ids[min(k + chunk, len(ids)) - 1]
            raw.execute(
                f"""
                WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m
                                        WHERE i < {days * 1440 - 1}),
                t AS MATERIALIZED (SELECT i, strftime('{fmt}', '{start:%Y-%m-%d %H:%M:%S}',
                                                     '+' || i || ' minutes') AS slot FROM m)
                INSERT INTO observations ({OBS_COLS})
                SELECT c.id, t.slot, t.slot, {_obs_values("c.id", "t.i", "/")}
                FROM (SELECT id FROM cameras WHERE id BETWEEN {lo} AND {hi}) c CROSS JOIN t
                """
            )
            raw.commit()
            done = n_cams if hi == ids[-1] else k + chunk
            _progress("raw observations", done * days * 1440, total, t0)
        t1 = time.perf_counter()
        raw.execute("CREATE INDEX ix_observations_ts ON observations (ts)")
        raw.commit()
        raw.close()
        print(f"  ts index built in {time.perf_counter() - t1:.1f} s", flush=True)
    else:
        from store.partitions import ensure_partitions

        with db.engine.begin() as conn:
            ensure_partitions(conn, start.date(), end.date())
        hours = days * 24
        for h in range(hours):  # time-major, an hour a statement (as the writer appends)
            with db.engine.begin() as conn:
                conn.execute(text(_NO_FK))
                conn.execute(
                    text(
                        f"""
                    INSERT INTO observations ({OBS_COLS})
                    SELECT c.id, t.slot, t.slot, {_obs_values("c.id", "m.i", "::float /")}
                    FROM generate_series({h * 60}, {h * 60 + 59}) AS m(i)
                    CROSS JOIN LATERAL (SELECT CAST(:start AS timestamptz)
                                        + m.i * interval '1 minute' AS slot) t
                    CROSS JOIN cameras c
                    ORDER BY m.i, c.id
                    """
                    ),
                    {"start": start.isoformat()},
                )
            done += n_cams * 60
            if (h + 1) % 6 == 0 or h + 1 == hours:
                _progress("raw observations", done, total, t0)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE observations"))
    return _count(db, "observations")


def fill_context(db: Database, end: datetime, days: int) -> None:
    """What the other callbacks read: reference data (OPD, sensors), a year of hourly water
    levels, incidents (~300 a day), camera status changes, open alerts."""
    import random

    from store.models import Alert, CameraStatusEvent, Incident, Sensor, SensorReading
    from store.seed import seed_opd, seed_sensors

    rng = random.Random(7)
    start = end - timedelta(days=days)
    with db.session() as s:
        seed_opd(s)
        seed_sensors(s)
        s.flush()
        cams = s.execute(text("SELECT id, kecamatan, lat, lon FROM cameras ORDER BY id")).all()
        readings = []
        for sensor in s.query(Sensor):
            for i in range(days * 24):
                readings.append(
                    {"sensor_id": sensor.id, "ts": start + timedelta(hours=i),
                     "value": 100 + 40 * ((i % 240) / 240)}
                )  # fmt: skip
            sensor.last_value, sensor.last_seen_at = readings[-1]["value"], end
        s.execute(SensorReading.__table__.insert(), readings)
        kinds = ["crime", "fire", "traffic_accident", "flood", "illegal_parking", "crowd"]
        incidents = []
        for _ in range(days * 300):
            cam = cams[rng.randrange(len(cams))]
            incidents.append(
                {"kind": rng.choice(kinds), "source": "cctv", "title": "Kejadian uji",
                 "lat": cam.lat, "lon": cam.lon, "kecamatan": cam.kecamatan, "camera_id": cam.id,
                 "occurred_at": start + timedelta(seconds=rng.randrange(days * 86400)),
                 "status": "closed", "is_demo": True}
            )  # fmt: skip
        s.execute(Incident.__table__.insert(), incidents)
        events = []
        for cam in cams:
            for k in range(4):  # a few status changes in the last weeks
                events.append(
                    {"camera_id": cam.id, "status": ("offline", "online")[k % 2],
                     "reason": "uji", "ts": end - timedelta(hours=rng.randrange(24 * 21))}
                )  # fmt: skip
        s.execute(CameraStatusEvent.__table__.insert(), events)
        s.add_all(
            Alert(rule="flood_coverage", severity="warning", subject_type="camera",
                  subject_id=str(cam.id), camera_id=cam.id, title=f"Genangan kamera {cam.id}",
                  started_at=end - timedelta(minutes=k), is_demo=True)
            for k, cam in enumerate(cams[:40])
        )  # fmt: skip
    print(
        f"  context: {len(readings):,} sensor readings, {len(incidents):,} incidents, "
        f"{len(events):,} status events, 40 open alerts",
        flush=True,
    )


def fill_complaints(db: Database, end: datetime, days: int, per_day: int = 300) -> None:
    """A year of complaints (~300 a day) at camera points through the workflow's statuses,
    and the per-kecamatan rollup the "per kecamatan" card reads."""
    import random

    from store.complaints import rebuild_area_days
    from store.models import Complaint

    rng = random.Random(8)
    start = end - timedelta(days=days)
    statuses = ["new", "verified", "dispatched", "in_progress", "resolved", "closed", "rejected"]
    with db.session() as s:
        cams = s.execute(text("SELECT kecamatan, lat, lon FROM cameras ORDER BY id")).all()
        rows = []
        for i in range(days * per_day):
            cam = cams[rng.randrange(len(cams))]
            created = start + timedelta(seconds=rng.randrange(days * 86400))
            rows.append(
                {"tracking_id": f"BENCH-{i:07d}", "category": "waste", "description": "uji",
                 "lat": cam.lat + rng.uniform(-0.002, 0.002), "lon": cam.lon,
                 "kecamatan": cam.kecamatan, "status": rng.choice(statuses),
                 "privacy": "normal", "channel": "web", "created_at": created,
                 "updated_at": created, "dispatch_due": created + timedelta(days=4),
                 "followup_due": created + timedelta(days=9), "is_demo": True}
            )  # fmt: skip
        for k in range(0, len(rows), 20_000):
            s.execute(Complaint.__table__.insert(), rows[k : k + 20_000])
        n = rebuild_area_days(s)
    print(f"  complaints: {len(rows):,} reports, {n:,} complaint_area_days rows", flush=True)


def fill_areas(db: Database) -> None:
    """Kecamatan polygons for the choropleths: a 3 x 6 grid over the cameras named after
    KECAMATAN, densified to ~20 m segments (thousands of vertices each, like official GIS
    boundaries). Shapes only: rows keep their kecamatan (no reassignment of the dataset)."""
    import json

    import shapely
    from shapely.geometry import box, mapping

    from store.models import Area

    with db.session() as s:
        lo_lat, hi_lat, lo_lon, hi_lon = s.execute(
            text("SELECT min(lat), max(lat), min(lon), max(lon) FROM cameras")
        ).one()
        rows = []
        for i, name in enumerate(KECAMATAN):
            r, c = divmod(i, 6)
            w, h = (hi_lon - lo_lon) / 6, (hi_lat - lo_lat) / 3
            geom = shapely.segmentize(
                box(lo_lon + c * w, lo_lat + r * h, lo_lon + (c + 1) * w, lo_lat + (r + 1) * h),
                0.0002,
            )
            minx, miny, maxx, maxy = geom.bounds
            rows.append(
                {"level": "kecamatan", "name": name, "geometry": json.dumps(mapping(geom)),
                 "area_km2": geom.area * 12_300, "min_lon": minx, "min_lat": miny,
                 "max_lon": maxx, "max_lat": maxy, "is_demo": True,
                 "imported_at": datetime.now(UTC)}
            )  # fmt: skip
        s.execute(Area.__table__.insert(), rows)
    print(f"  areas: {len(rows)} kecamatan polygons (shapes only)", flush=True)


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


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall-clock ms of ``fn`` with the shared query cache cleared before each call."""
    from dashboard import cache

    times = []
    for _ in range(repeats):
        cache.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        CPU.setdefault(id(fn), []).append((time.process_time() - c0) * 1000)
    return times


#: only the callbacks whose name holds one of these (``--match``; empty: all)
MATCH: list[str] = []
#: CPU ms of this process per timed function (SQLite: all of it; PostgreSQL: the client side)
CPU: dict[int, list[float]] = {}


def bench_callbacks(db: Database, label: str, end: datetime, repeats: int) -> list[tuple]:
    """Time every dashboard callback that reads camera data (and the other panels of the
    pages they sit on), cold: the real callback functions, query + DataFrame + figure."""
    import json

    from dashboard.callbacks import camera, flood, opd, overview, security, traffic
    from dashboard.queries import cameras as camera_queries

    today = (end + timedelta(hours=7)).date()
    ranges = {
        "7 hari per jam": (today - timedelta(days=6), "hour"),
        "30 hari per hari": (today - timedelta(days=29), "day"),
        "90 hari per hari": (today - timedelta(days=89), "day"),
        "1 tahun per minggu": (today - timedelta(days=364), "week"),
        "1 tahun per bulan": (today - timedelta(days=364), "month"),
    }
    kec, cam = ["Kemuning"], ["BENCH-00042"]
    cases: list[tuple[str, Callable[[], object]]] = []

    def add(name: str, fn: Callable[[], object]) -> None:
        cases.append((name, fn))

    # situation room
    add("situasi: ubin + peringatan", lambda: overview.refresh_overview(None, db=db, now=end))

    def geojson() -> None:
        with db.session() as s:
            json.dumps(camera_queries.camera_features(s))

    add("situasi: peta kamera (GeoJSON)", geojson)
    feature = {"properties": {"c": "BENCH-00042"}}
    add("situasi: pilih kamera", lambda: overview.select_camera(feature, db=db))
    # trend pages
    for page, update, update_top, metric in (
        ("lalu-lintas", traffic.update_traffic, traffic.update_traffic_locations, "flow"),
        ("banjir", flood.update_flood, flood.update_flood_locations, "water_max"),
    ):
        for rname, (first, gran) in ranges.items():
            args = (first.isoformat(), today.isoformat(), gran)
            add(f"{page}: tren {rname}",
                lambda a=args, u=update, m=metric: u(*a, None, None, m, db=db, now=end))  # fmt: skip
            add(f"{page}: lokasi teratas + peta {rname}",
                lambda a=args, u=update_top, m=metric: u(*a, None, None, m, db=db))  # fmt: skip
        first, gran = ranges["30 hari per hari"]
        args = (first.isoformat(), today.isoformat(), gran)
        add(f"{page}: tren 30 hari, 1 kecamatan",
            lambda a=args, u=update, m=metric: u(*a, kec, None, m, db=db, now=end))  # fmt: skip
        add(f"{page}: lokasi 30 hari, 1 kecamatan",
            lambda a=args, u=update_top, m=metric: u(*a, kec, None, m, db=db))  # fmt: skip
        first, gran = ranges["7 hari per jam"]
        args = (first.isoformat(), today.isoformat(), gran)
        add(f"{page}: tren 7 hari per jam, 1 kamera",
            lambda a=args, u=update, m=metric: u(*a, None, cam, m, db=db, now=end))  # fmt: skip
    add("lalu-lintas: pilihan kamera (1 kecamatan)", lambda: traffic.camera_choices(kec, db=db))
    for rname in ("30 hari per hari", "1 tahun per bulan"):
        first, _ = ranges[rname]
        add(f"banjir: sensor {rname.split(' per')[0]}",
            lambda f=first: flood.update_sensors(f.isoformat(), today.isoformat(), None, db=db))  # fmt: skip
    # security
    for rname in ("7 hari per jam", "30 hari per hari", "1 tahun per bulan"):
        first, gran = ranges[rname]
        add(f"keamanan: {rname}",
            lambda f=first, g=gran: security.update_security(
                f.isoformat(), today.isoformat(), g, None, None, None, db=db))  # fmt: skip
    # "per kecamatan" cards (ranking + choropleth: dashboard/callbacks/areas.py)
    from dashboard.callbacks import areas as area_cards

    for rname in ("30 hari per hari", "1 tahun per bulan"):
        first, _ = ranges[rname]
        span = rname.split(" per")[0]
        add(f"banjir: per kecamatan {span}",
            lambda f=first: area_cards.update_flood_areas(f.isoformat(), today.isoformat(),
                                                          db=db))  # fmt: skip
        add(f"keamanan: per kecamatan {span}",
            lambda f=first: area_cards.update_security_areas(f.isoformat(), today.isoformat(),
                                                             None, db=db))  # fmt: skip
    for days in (30, 365):
        add(f"pengaduan: per kecamatan {days} hari",
            lambda d=days: area_cards.update_complaint_areas(str(d), 0, db=db))  # fmt: skip
    # camera page
    add("kamera: gambar", lambda: camera.update_snapshot(None, True, cam[0], db=db))
    add("kamera: riwayat status 7 hari", lambda: camera.health_timeline(cam[0], db=db, now=end))
    for days in (1, 7, 30):
        add(f"kamera: hitungan {days} hari",
            lambda d=days: camera.update_counts(d, cam[0], db=db, now=end))  # fmt: skip
    # OPD
    add("OPD: kartu indikator", lambda: opd.update_cards(None, db=db))

    if MATCH:
        cases = [(n, fn) for n, fn in cases if any(m in n for m in MATCH)]
    results = []
    for name, fn in cases:
        try:
            times = _timed(fn, repeats)
            results.append((label, name, f"{statistics.median(CPU[id(fn)]):.0f}", times))
        except Exception as exc:  # noqa: BLE001 - report the failing callback, keep going
            print(f"{label}: {name} failed: {type(exc).__name__}: {exc}", flush=True)
    return results


def bench_rollup_refresh(db: Database, label: str, end: datetime) -> list[tuple]:
    """The ingestion side at full size, laid out as the writer lays it out: one hour of the
    city written minute by minute through the real idempotent upsert (10,693 rows a minute),
    then the writer's incremental refresh of that hour (from its raw rows) and of its day
    (from the hourly rows, with kecamatan sums, camera month and running totals). The hour
    is removed again afterwards (the kept dataset is unchanged)."""
    from sqlalchemy import delete, select

    from store.models import AreaRollup, Camera, Observation, ObservationRollup
    from store.rollups import RollupTracker
    from store.writes import write_observations

    with db.session() as s:
        cams = list(s.scalars(select(Camera.id)))
    writes = []
    t_all = time.perf_counter()
    for k in range(60):
        slot = end + timedelta(minutes=k)
        rows = [{"camera_id": c, "slot": slot, "ts": slot + timedelta(seconds=2), "people": 3,
                 "vehicles_total": 5, "motion_ratio": 0.1, "analyser": "bench"} for c in cams]  # fmt: skip
        t0 = time.perf_counter()
        with db.session() as s:
            write_observations(s, rows)
        writes.append((time.perf_counter() - t0) * 1000)
    print(f"  {label}: one hour of the city written in {time.perf_counter() - t_all:.0f} s",
          flush=True)  # fmt: skip
    hours, days = [], []
    for _ in range(3):
        tracker = RollupTracker(7)
        tracker.add(end)
        t0 = time.perf_counter()
        with db.session() as s:
            tracker.refresh(s, days=False)
        tracker.done()
        hours.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        with db.session() as s:
            tracker.refresh(s, days=True)
        tracker.done()
        days.append((time.perf_counter() - t0) * 1000)
    with db.session() as s:  # back to the kept dataset
        s.execute(delete(Observation).where(Observation.slot >= end))
        s.execute(
            delete(ObservationRollup).where(
                ObservationRollup.period == "hour", ObservationRollup.bucket >= end
            )
        )
        s.execute(delete(AreaRollup).where(AreaRollup.period == "hour", AreaRollup.bucket >= end))
        tracker = RollupTracker(7)
        tracker.days.add(floor_day(end))
        tracker.refresh(s, days=True)
    return [
        (label, f"tulis 1 menit kota ({len(cams):,} baris)", "-", writes),
        (label, "rollup 1 jam dari data mentah", "-", hours),
        (label, "rollup hari (+kecamatan, bulan, total)", "-", days),
    ]


def floor_day(ts: datetime) -> datetime:
    from store.rollups import floor_bucket

    return floor_bucket(ts, "day", 7)


def print_table(rows: list[tuple]) -> float:
    print(f"{'store':<11} {'callback':<52} {'cpu':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    worst = 0.0
    for label, name, mode, times in rows:
        p95 = percentile(times, 0.95)
        worst = max(worst, p95)
        print(
            f"{label:<11} {name:<52} {mode:>5} {statistics.median(times):8.1f} {p95:8.1f} "
            f"{max(times):8.1f}"
        )
    return worst


def _dataset_end(db: Database) -> datetime | None:
    from sqlalchemy import func, select

    from store.models import ObservationRollup

    with db.session() as s:
        end = s.scalar(
            select(func.max(ObservationRollup.bucket)).where(ObservationRollup.period == "hour")
        )
    return end + timedelta(hours=1) if end else None


def open_store(kind: str, tag: str, fresh: bool) -> tuple[Database, Callable[[], None]] | None:
    if kind == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"dashboard_{tag}.db"
        if fresh and path.exists():
            path.unlink()
        db = Database(f"sqlite:///{path}")
        return db, db.dispose
    try:
        return _pg_database(f"bench_store_{tag}", fresh)
    except Exception as exc:  # noqa: BLE001 - report and carry on with the other store
        print(f"PostgreSQL unavailable ({exc}); skipped")
        return None


def prepare(db: Database, kind: str, args: argparse.Namespace) -> datetime:
    """Generate what the kept dataset lacks (each stage once; a rerun reuses the rest)."""
    db.migrate()
    from sqlalchemy import inspect
    from sqlalchemy.schema import CreateColumn

    from store.models import Base

    with db.engine.begin() as conn:  # tables/columns/indexes added to the models since
        Base.metadata.create_all(conn, checkfirst=True)
        insp = inspect(conn)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have:
                    ddl = str(CreateColumn(col).compile(dialect=conn.dialect)).replace(
                        "NOT NULL", ""
                    )
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)
    end = _dataset_end(db)
    t_all = time.perf_counter()
    if _count(db, "cameras") == 0:
        make_cameras(db, args.cameras)
    if end is None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        print(f"{kind}: rollups for {args.cameras:,} cameras, {args.days} days "
              f"({args.hourly_days} days hourly)", flush=True)  # fmt: skip
        fill_rollups(db, end, args.days, args.hourly_days)
    if args.raw_days and _count(db, "observations") == 0:
        print(f"{kind}: raw observations, {args.raw_days} days", flush=True)
        fill_raw(db, end, args.raw_days)
    if _count(db, "incidents") == 0:
        fill_context(db, end, args.days)
    if _count(db, "complaints") == 0:
        fill_complaints(db, end, args.days)
    if _count(db, "areas") == 0:
        fill_areas(db)
    from dashboard.queries import trends

    with db.session() as s:  # derived rollups a dataset from an older version lacks
        t0 = time.perf_counter()
        trends.ensure_area_rollups(s)
        if time.perf_counter() - t0 > 1:
            print(f"{kind}: derived rollups built in {time.perf_counter() - t0:.0f} s", flush=True)
    elapsed = time.perf_counter() - t_all
    if elapsed > 1:
        print(f"{kind}: dataset ready in {elapsed:.0f} s", flush=True)
    return end


def sizes(db: Database) -> dict[str, int]:
    return {t: _count(db, t) for t in ("cameras", "observations", "observation_rollups",
                                       "area_rollups", "camera_month_rollups", "incidents",
                                       "complaints", "areas")}  # fmt: skip


def run_store(kind: str, args: argparse.Namespace) -> list[tuple]:
    """Generate (or reuse) the dataset on one store and time the callbacks on it. Datasets are
    kept (SQLite file under var/bench/, PostgreSQL schema bench_store_*) so a second run starts
    at once; --fresh regenerates."""
    tag = f"{args.cameras}c_{args.days}d_{args.hourly_days}h_{args.raw_days}r"
    opened = open_store(kind, tag, args.fresh)
    if opened is None:
        return []
    db, drop = opened
    try:
        end = prepare(db, kind, args)
        if args.generate_only:
            return []
        print(f"{kind}: {sizes(db)} (dataset ends {end:%Y-%m-%d %H:%M} UTC)", flush=True)
        rows = bench_callbacks(db, kind, end, args.repeats)
        if args.rollup_refresh:
            rows += bench_rollup_refresh(db, kind, end)
        return rows
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
    parser.add_argument("--cameras", type=int, default=10_693)
    parser.add_argument("--days", type=int, default=365, help="days of daily rollups")
    parser.add_argument("--hourly-days", type=int, default=90, help="days of hourly rollups")
    parser.add_argument("--raw-days", type=int, default=3, help="days of raw observations")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--map-points", type=int, default=10_000)
    parser.add_argument("--fresh", action="store_true", help="regenerate the kept datasets")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--rollup-refresh", action="store_true",
                        help="also time the writer's incremental rollup refresh (changes rows)")  # fmt: skip
    parser.add_argument("--match", action="append", default=[],
                        help="time only callbacks whose name holds this text (repeatable)")  # fmt: skip
    args = parser.parse_args()
    MATCH.extend(args.match)
    os.environ.setdefault("PANTAU_LANGUAGE", "id")
    rows: list[tuple] = []
    for kind in ("sqlite", "postgresql"):
        if args.only in (None, kind):
            rows += run_store(kind, args)
    if rows:
        worst = print_table(rows)
        print(f"\nworst p95: {worst:.1f} ms (target < 200 ms); load average {os.getloadavg()}")
    if args.only in (None, "map"):
        print()
        bench_map(args.map_points)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
