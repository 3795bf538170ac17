"""E-Lapor benchmarks (loopback only, bounded in rows and time).

1. Heatmap and statistics queries with a MILLION complaints in SQLite (server-side grid
   aggregation over the covering index ``ix_complaints_heat``).
2. Intake load test: N concurrent clients POST reports for T seconds against the real app
   served by waitress (half through ``/api/lapor``, half through Open311
   ``/open311/v2/requests.json``), then checks nothing was lost: rows == 201 responses.

Environment: BENCH_COMPLAINTS_ROWS (default 1000000), BENCH_COMPLAINTS_CLIENTS (4),
BENCH_COMPLAINTS_SECONDS (30).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pantau.settings import Settings  # noqa: E402
from store.complaints import rebuild_cell_months  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import Complaint  # noqa: E402
from store.seed import seed_opd  # noqa: E402

ROWS = int(os.environ.get("BENCH_COMPLAINTS_ROWS", "1000000"))
CLIENTS = int(os.environ.get("BENCH_COMPLAINTS_CLIENTS", "4"))
SECONDS = float(os.environ.get("BENCH_COMPLAINTS_SECONDS", "30"))
API_KEY = "bench-key"

CATS = ["road_damage", "drainage", "waste", "illegal_dumping", "traffic_light", "illegal_parking",
        "street_vendors", "public_order", "crime", "illegal_racing", "flood", "health"]  # fmt: skip


def sqlite_time(values: np.ndarray) -> list[str]:
    """numpy datetime64[us] -> the text SQLAlchemy stores in SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    return [s.replace("T", " ") for s in np.datetime_as_string(values, unit="us")]


def fill(db_path: Path, rows: int, now: datetime) -> float:
    """Bulk-load ``rows`` complaints spread over a year (indexes rebuilt afterwards)."""
    rng = np.random.default_rng(7)
    start = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    indexes = [ix for ix in Complaint.__table__.indexes]
    for ix in indexes:
        conn.execute(f"DROP INDEX IF EXISTS {ix.name}")
    now64 = np.datetime64(now.replace(tzinfo=None), "us")
    chunk = 200_000
    opd_ids = [r[0] for r in conn.execute("select id from opd")]
    for base in range(0, rows, chunk):
        n = min(chunk, rows - base)
        age_s = rng.uniform(0, 365 * 86400, n).astype("int64")
        created = now64 - age_s.astype("timedelta64[s]")
        updated = created + rng.uniform(3600, 20 * 86400, n).astype("int64").astype(
            "timedelta64[s]"
        )
        updated = np.minimum(updated, now64)
        young = age_s < 20 * 86400
        status = np.where(
            young,
            rng.choice(["new", "verified", "dispatched", "in_progress", "resolved"], n),
            rng.choice(
                ["closed", "resolved", "rejected", "duplicate"], n, p=[0.8, 0.1, 0.07, 0.03]
            ),
        )
        # clustered around the city centre, like real reports
        lat = -2.976 + rng.normal(0, 0.025, n)
        lon = 104.745 + rng.normal(0, 0.035, n)
        cat = rng.choice(CATS, n)
        c_txt, u_txt = sqlite_time(created), sqlite_time(updated)
        due_txt = sqlite_time(created + np.timedelta64(3, "D"))
        opd = rng.choice(opd_ids, n)
        conn.executemany(
            "INSERT INTO complaints (tracking_id, category, description, lat, lon, privacy, "
            "channel, status, opd_id, created_at, updated_at, dispatch_due, followup_due, "
            "dispatched_at, is_demo) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
            (
                (
                    f"BENCH-{base + i:07d}",
                    cat[i],
                    "Laporan uji beban",
                    float(lat[i]),
                    float(lon[i]),
                    "normal",
                    "web",
                    status[i],
                    int(opd[i]) if status[i] not in ("new", "verified") else None,
                    c_txt[i],
                    u_txt[i],
                    due_txt[i],
                    due_txt[i] if status[i] == "dispatched" else None,
                    u_txt[i] if status[i] not in ("new", "verified", "rejected") else None,
                )
                for i in range(n)
            ),
        )
        conn.commit()
    for ix in indexes:  # same DDL as the migration
        cols = ", ".join(c.name for c in ix.columns)
        conn.execute(f"CREATE INDEX {ix.name} ON complaints ({cols})")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    """Median ms of ``repeat`` runs (a single run when the first takes over 2 s)."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
        if times[0] > 2000:
            break
    return statistics.median(times), result


def query_bench(settings: Settings, database: Database, now: datetime) -> None:
    from dashboard.queries import complaints as q

    print(f"### Heatmap and statistics with {ROWS:,} complaints (SQLite, median of 5)\n")
    print("| query | ms | result |")
    print("|---|---:|---|")
    cases = [
        ("heatmap live, 30 days", lambda s: q.heatmap_cells(s, days=30, view="live", now=now)),
        ("heatmap all, 30 days", lambda s: q.heatmap_cells(s, days=30, view="all", now=now)),
        (
            "heatmap all, 90 days (rollup)",
            lambda s: q.heatmap_cells(s, days=90, view="all", now=now),
        ),
        (
            "heatmap all, 365 days (rollup)",
            lambda s: q.heatmap_cells(s, days=365, view="all", now=now),
        ),
        (
            "heatmap closed, 365 days (rollup)",
            lambda s: q.heatmap_cells(s, days=365, view="closed", now=now),
        ),
        (
            "heatmap waste, 90 days (rollup)",
            lambda s: q.heatmap_cells(s, days=90, view="all", category="waste", now=now),
        ),
        ("KPIs, 30 days", lambda s: q.kpis(s, days=30, now=now)),
        ("daily counts, 30 days", lambda s: q.daily_counts(s, days=30, now=now)),
        ("OPD performance, 30 days", lambda s: q.opd_performance(s, days=30, now=now)),
        ("OPD performance, 365 days", lambda s: q.opd_performance(s, days=365, now=now)),
        ("operator queue (open, oldest)", lambda s: q.queue(s, now=now)),
        ("operator queue, overdue only", lambda s: q.queue(s, overdue_only=True, now=now)),
    ]
    for name, fn in cases:
        with database.session() as s:
            ms, result = timed(lambda fn=fn, s=s: fn(s))
        if isinstance(result, list):
            desc = f"{len(result)} cells, {sum(c['total'] for c in result):,} reports"
        elif hasattr(result, "shape"):
            desc = f"{result.shape[0]} rows"
        else:
            desc = f"total {result.total:,}, open {result.open_now:,}"
        print(f"| {name} | {ms:,.1f} | {desc} |")
    print()


def load_bench(tmp: Path) -> bool:
    import httpx
    from waitress.server import create_server

    from dashboard.app import create_app

    settings = Settings(
        var_dir=tmp / "load",
        database_url="",
        secret_key="bench",
        ingest_enabled=False,
        simulate_cameras=0,
        open311_api_keys=API_KEY,
        complaint_submit_limit=0,  # loopback load test: no per-IP limit
        complaint_lookup_limit=0,
    )
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_opd(s)
    app = create_app(settings, database)
    server = create_server(app.server, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    stop_at = time.monotonic() + SECONDS
    lock = threading.Lock()
    accepted: list[str] = []
    latencies: list[float] = []
    errors: dict[str, int] = {}

    def client(k: int) -> None:
        rng = np.random.default_rng(k)
        with httpx.Client(base_url=url, timeout=30) as http:
            i = 0
            while time.monotonic() < stop_at:
                i += 1
                lat = float(-2.976 + rng.normal(0, 0.02))
                lon = float(104.745 + rng.normal(0, 0.02))
                cat = CATS[int(rng.integers(len(CATS)))]
                text = f"Laporan beban klien {k} nomor {i}: jalan berlubang dan sampah."
                t0 = time.perf_counter()
                try:
                    if i % 2:
                        r = http.post(
                            "/api/lapor",
                            json={"category": cat, "description": text, "lat": lat, "lon": lon},
                        )
                        tid = r.json().get("tracking_id") if r.status_code == 201 else None
                    else:
                        r = http.post(
                            "/open311/v2/requests.json",
                            data={
                                "api_key": API_KEY,
                                "service_code": cat,
                                "lat": lat,
                                "long": lon,
                                "description": text,
                            },  # fmt: skip
                        )
                        tid = r.json()[0]["service_request_id"] if r.status_code == 201 else None
                except httpx.HTTPError as exc:
                    with lock:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(dt)
                    if tid:
                        accepted.append(tid)
                    else:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    server.close()
    with database.session() as s:
        from sqlalchemy import func, select

        from store.models import ComplaintEvent

        rows = s.scalar(select(func.count()).select_from(Complaint))
        events = s.scalar(select(func.count()).select_from(ComplaintEvent))
        stored = set(s.scalars(select(Complaint.tracking_id)))
    database.dispose()
    lat_sorted = sorted(latencies) or [0.0]
    ok = rows == len(accepted) == events and set(accepted) == stored
    print(f"### Intake load: {CLIENTS} clients x {SECONDS:.0f} s, waitress (8 threads), SQLite\n")
    print("| metric | value |")
    print("|---|---:|")
    print(f"| accepted (201) | {len(accepted):,} |")
    print(f"| rows in complaints | {rows:,} |")
    print(f"| first events | {events:,} |")
    print(f"| errors | {sum(errors.values())} {errors or ''} |")
    print(f"| sustained rate | {len(accepted) / elapsed:,.1f} reports/s |")
    print(f"| latency p50 | {lat_sorted[len(lat_sorted) // 2]:.1f} ms |")
    print(f"| latency p95 | {lat_sorted[int(len(lat_sorted) * 0.95) - 1]:.1f} ms |")
    print(f"| nothing lost (rows == accepted == events, same IDs) | {'yes' if ok else 'NO'} |")
    print()
    return ok


def main() -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="pantau-bench-complaints-") as tmpdir:
        tmp = Path(tmpdir)
        settings = Settings(var_dir=tmp / "q", database_url="", secret_key="bench")
        settings.ensure_dirs()
        database = Database(settings.sqlalchemy_url)
        database.migrate()
        with database.session() as s:
            seed_opd(s)
        database.dispose()
        secs = fill(settings.var_dir / "pantau.db", ROWS, now)
        print(f"loaded {ROWS:,} complaints in {secs:.1f} s (bulk insert + index build)")
        database = Database(settings.sqlalchemy_url)
        t0 = time.perf_counter()
        with database.session() as s:
            cells = rebuild_cell_months(s)
        print(
            f"monthly heatmap rollup rebuilt: {cells:,} rows in {time.perf_counter() - t0:.1f} s\n"
        )
        query_bench(settings, database, now + timedelta(seconds=1))
        database.dispose()
        ok = load_bench(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
