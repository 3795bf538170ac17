"""Sensor readings over HTTP: ``POST /api/sensors/readings`` under load (loopback only).

The real app is served by waitress in a child process (so its CPU time can be read apart from
the clients'); BENCH_SENSORS_CLIENTS gateways (threads, keep-alive HTTP) each post batches of
readings for their own sensors (values swinging across the waspada/siaga levels, so the alert
rule opens and closes alerts as in a flood) for BENCH_SENSORS_SECONDS per batch size. Reports
readings per second, request latency p50/p95/p99 (wall clock), the server's CPU time per
request and per reading (``/proc/<pid>/stat``), and the machine load before and after. Checks
nothing was lost: rows in the store == readings acknowledged as new.

Environment: BENCH_SENSORS_BATCHES (default "1,100"), BENCH_SENSORS_SECONDS (15),
BENCH_SENSORS_CLIENTS (4), BENCH_SENSORS_SENSORS (40), BENCH_SENSORS_THREADS (waitress
threads, 8), BENCH_SENSORS_DB (``sqlite`` or ``postgresql``; default sqlite),
BENCH_SENSORS_PG_URL (default the test server; a scratch schema dropped afterwards).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCHES = [int(b) for b in os.environ.get("BENCH_SENSORS_BATCHES", "1,100").split(",") if b]
SECONDS = float(os.environ.get("BENCH_SENSORS_SECONDS", "15"))
CLIENTS = int(os.environ.get("BENCH_SENSORS_CLIENTS", "4"))
SENSORS = int(os.environ.get("BENCH_SENSORS_SENSORS", "40"))
THREADS = int(os.environ.get("BENCH_SENSORS_THREADS", "8"))
BACKEND = os.environ.get("BENCH_SENSORS_DB", "sqlite")
PG_URL = os.environ.get("BENCH_SENSORS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEY = "bench-sensor-key"
PATH = "/api/sensors/readings"


def serve(var_dir: str, url: str, port: int) -> None:
    """Child process: the Pantau app on 127.0.0.1:port."""
    from waitress import serve as waitress_serve

    from dashboard.app import create_app
    from pantau.settings import Settings

    settings = Settings(
        var_dir=Path(var_dir),
        database_url=url,
        secret_key="bench",
        ingest_enabled=False,
        simulate_cameras=0,
        sensor_api_keys=KEY,
        sensor_rate_limit=0,  # loopback load test: no per-key limit
    )
    app = create_app(settings)
    logging.getLogger("ingestion.alerts").setLevel(logging.ERROR)  # one line per alert
    waitress_serve(app.server, host="127.0.0.1", port=port, threads=THREADS, _quiet=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def prepare(url: str) -> None:
    from store.db import Database
    from store.models import Sensor

    db = Database(url)
    db.migrate()
    with db.session() as s:
        s.add_all(
            Sensor(
                code=f"BENCH-WL-{i:03d}",
                name=f"Sungai uji {i}",
                kind="water_level",
                unit="cm",
                warning_level=150.0,
                danger_level=200.0,
            )
            for i in range(SENSORS)
        )
    db.dispose()


def count_rows(url: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from store.db import Database
    from store.models import Alert, SensorReading

    db = Database(url)
    with db.session() as s:
        rows = s.scalar(select(func.count()).select_from(SensorReading)) or 0
        alerts = s.scalar(select(func.count()).select_from(Alert)) or 0
    db.dispose()
    return rows, alerts


def run_phase(base: str, pid: int, batch: int, start: datetime, phase: int) -> dict:
    import requests

    stop_at = time.monotonic() + SECONDS
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    totals = {"written": 0, "accepted": 0, "alerts": 0}
    per_client = max(1, SENSORS // CLIENTS)

    def gateway(k: int) -> None:
        codes = [f"BENCH-WL-{i:03d}" for i in range(k * per_client, (k + 1) * per_client)]
        step = 0
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {KEY}"
            while time.monotonic() < stop_at:
                items = []
                for _ in range(batch):
                    code = codes[step % len(codes)]
                    n = step // len(codes)
                    ts = start + timedelta(seconds=phase * 10**6 + n)
                    value = 160 + 60 * math.sin(n / 40 + k)  # 100..220 cm: alerts open/close
                    items.append({"sensor": code, "ts": ts.isoformat(), "value": round(value, 1)})
                    step += 1
                t0 = time.perf_counter()
                resp = http.post(base + PATH, json=items if batch > 1 else items[0], timeout=60)
                took = time.perf_counter() - t0
                body = resp.json() if resp.status_code in (200, 422) else {}
                with lock:
                    latencies.append(took)
                    statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                    totals["written"] += body.get("written", 0)
                    totals["accepted"] += len(body.get("accepted", []))
                    totals["alerts"] += len(body.get("alerts", []))

    load_before = os.getloadavg()
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    threads = [threading.Thread(target=gateway, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall0
    cpu = cpu_seconds(pid) - cpu0
    requests_done = len(latencies)
    return {
        "batch": batch,
        "requests": requests_done,
        "statuses": statuses,
        "readings_per_s": totals["accepted"] / wall,
        "p50": pct(latencies, 0.50) * 1000,
        "p95": pct(latencies, 0.95) * 1000,
        "p99": pct(latencies, 0.99) * 1000,
        "cpu_ms_per_request": cpu * 1000 / max(1, requests_done),
        "cpu_ms_per_reading": cpu * 1000 / max(1, totals["accepted"]),
        "server_cpu_share": cpu / wall,
        "written": totals["written"],
        "alert_changes": totals["alerts"],
        "load": (load_before, os.getloadavg()),
    }


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="pantau-bench-sensors-"))
    schema = None
    if BACKEND == "postgresql":
        from sqlalchemy import create_engine, text

        schema = f"bench_sensors_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    prepare(url)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(tmp), url, str(port)], cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    failed = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        start = datetime.now(UTC) - timedelta(days=60)
        print(
            f"backend {BACKEND}, {CLIENTS} gateway threads, {SENSORS} sensors, waitress "
            f"{THREADS} threads, {SECONDS:.0f} s per batch size; one 2-core machine runs "
            "clients and server\n"
        )
        print(
            "| batch | requests | readings/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | "
            "server CPU ms/reading | server CPU (cores) | alert changes | statuses | load 1m "
            "before -> after |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        written = 0
        for phase, batch in enumerate(BATCHES):
            r = run_phase(base, server.pid, batch, start, phase)
            written += r["written"]
            bad = {k: v for k, v in r["statuses"].items() if k != 200}
            failed |= bool(bad)
            print(
                f"| {batch} | {r['requests']} | {r['readings_per_s']:.0f} | {r['p50']:.1f} | "
                f"{r['p95']:.1f} | {r['p99']:.1f} | {r['cpu_ms_per_request']:.2f} | "
                f"{r['cpu_ms_per_reading']:.3f} | {r['server_cpu_share']:.2f} | "
                f"{r['alert_changes']} | {r['statuses']} | "
                f"{r['load'][0][0]:.2f} -> {r['load'][1][0]:.2f} |",
                flush=True,
            )
        rows, alerts = count_rows(url)
        print(f"\nstored rows {rows}, acknowledged new {written}, alerts in store {alerts}")
        if rows != written:
            print("LOST OR EXTRA ROWS")
            failed = True
    finally:
        server.terminate()
        server.wait(timeout=30)
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
