"""Celery path measurement: ``pantau ingest --celery`` + ``pantau worker`` (a fetch worker with
threads and an analysis worker with N processes) on Redis and PostgreSQL, against simulated
snapshot cameras on loopback (pre-encoded frames, mixed scenes, 3 % faulty: hang, refuse,
slow), for a few minutes. Prints samples stored vs due for the healthy cameras, lateness
(frame time - slot), queue waits, CPU per sample of the workers, their peak RSS, load average.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_celery.py --cameras 200 --interval 10 \
        --seconds 180 [--analyse 2] [--fetch 48]

Needs PostgreSQL (PANTAU_TEST_PG_URL, a schema of its own is created and dropped) and Redis
(PANTAU_TEST_REDIS_URL; every key under a namespace of its own, removed afterwards).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
from bench_ingestion import frame_pools, scene_config  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from ingestion.celery_scheduler import slot_for  # noqa: E402
from ingestion.simulator import CameraSimulator, SimCamera  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import Camera, Observation  # noqa: E402

PG_URL = os.environ.get("PANTAU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PANTAU_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
FAULTS = ("hang", "refuse", "slow")


def serve(kinds: list[str], faults: dict[int, str], port_q, stop) -> None:  # noqa: ANN001
    pools = frame_pools()
    cams = [
        SimCamera(index=i, kind="street", frames=pools[k], fault=faults.get(i, "none"))
        for i, k in enumerate(kinds)
    ]
    sim = CameraSimulator(cams).start()
    port_q.put(sim.port)
    stop.wait()
    sim.stop()


def tree(pid: int) -> list[psutil.Process]:
    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=200)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--analyse", type=int, default=2)
    ap.add_argument("--fetch", type=int, default=48)
    ap.add_argument("--faulty", type=float, default=0.03)
    args = ap.parse_args()

    n = args.cameras
    mix = ["static"] * 6 + ["street"] * 3 + ["busy"]
    kinds = [mix[i % len(mix)] for i in range(n)]
    n_faulty = round(n * args.faulty)
    faulty_idx = {round(i * n / max(1, n_faulty)) + 1: FAULTS[i % 3] for i in range(n_faulty)}

    schema = f"bench_celery_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    namespace = f"bench{uuid.uuid4().hex[:6]}:"
    var = Path(tempfile.mkdtemp(prefix="pantau-bench-celery-"))
    ctx = mp.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(kinds, faulty_idx, port_q, stop), daemon=True)
    server.start()
    port = port_q.get(timeout=120)
    db = Database(db_url)
    db.migrate()
    healthy: list[int] = []
    with db.session() as s:
        for i, kind in enumerate(kinds):
            cfg = scene_config(kind)
            cam = Camera(
                code=f"C{i:05d}",
                name=f"bench {i}",
                lat=0,
                lon=0,
                protocol="snapshot",
                stream_url=f"http://127.0.0.1:{port}/cam/{i}/snapshot.jpg",
                sample_interval_s=args.interval,
                rois=cfg.get("rois", []),
                lines=cfg.get("lines", []),
                config={"flood": cfg["flood"]} if "flood" in cfg else {},
            )
            s.add(cam)
            s.flush()
            if i not in faulty_idx:
                healthy.append(cam.id)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        PANTAU_VAR_DIR=str(var),
        PANTAU_DATABASE_URL=db_url,
        PANTAU_CELERY_BROKER_URL=REDIS_URL,
        PANTAU_CELERY_NAMESPACE=namespace,
        PANTAU_SIMULATE_CAMERAS="0",
        PANTAU_CELERY_VISIBILITY_TIMEOUT_S=str(max(20, 2 * args.interval)),
    )
    pantau = str(Path(sys.executable).parent / "pantau")
    log = open(var / "workers.log", "w")  # noqa: SIM115
    workers = subprocess.Popen(
        [
            pantau,
            "worker",
            "--fetch-concurrency",
            str(args.fetch),
            "--analyse-concurrency",
            str(args.analyse),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(8)  # workers up before the first slot
    load0 = os.getloadavg()
    sched = subprocess.Popen(
        [pantau, "ingest", "--celery", "--duration", str(args.seconds), "--quiet"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    t0 = time.time()
    cpu0 = {p.pid: sum(p.cpu_times()[:2]) for p in tree(workers.pid)}
    peak: dict[str, float] = {}
    loads = []
    while sched.poll() is None:
        for p in tree(workers.pid):
            try:
                name = " ".join(p.cmdline()[5:8])[:60] + f" pid {p.pid}"
                peak[name] = max(peak.get(name, 0), p.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass
        loads.append(os.getloadavg()[0])
        time.sleep(2)
    t_end = time.time()
    time.sleep(3 * args.interval)  # the last samples through analysis
    cpu = 0.0
    for p in tree(workers.pid):
        try:
            cpu += sum(p.cpu_times()[:2]) - cpu0.get(p.pid, 0.0)
            cpu += sum(p.cpu_times()[2:4])  # reaped children (prefork restarts)
        except psutil.NoSuchProcess:
            pass
    lo, hi = t0 + 2 * args.interval, t_end - args.interval
    due = 0
    for c in healthy:
        s0 = slot_for(c, args.interval, lo)
        s0 = s0 if s0 >= lo else s0 + args.interval
        due += max(0, int((hi - s0) // args.interval) + 1)
    with db.session() as s:
        rows = s.execute(
            select(Observation.camera_id, Observation.slot, Observation.ts).where(
                Observation.slot >= datetime.fromtimestamp(lo, UTC),
                Observation.slot <= datetime.fromtimestamp(hi, UTC),
            )
        ).all()
        total = s.scalar(select(text("count(*)")).select_from(Observation.__table__))
    hs = set(healthy)
    stored = sum(1 for r in rows if r.camera_id in hs)
    late = sorted((r.ts - r.slot).total_seconds() for r in rows if r.camera_id in hs)

    def pct(q: float) -> float:
        return late[min(len(late) - 1, int(q * len(late)))] if late else float("nan")

    print(
        f"## Celery path: {n} cameras every {args.interval}s ({n_faulty} faulty: "
        f"{', '.join(sorted(set(faulty_idx.values())))}), {args.seconds:.0f}s, "
        f"fetch {args.fetch} threads, analyse {args.analyse} processes, PostgreSQL + Redis"
    )
    print(
        f"healthy samples stored vs due in [{lo - t0:.0f}s, {hi - t0:.0f}s]: {stored} / {due}"
        f" = {100 * stored / max(1, due):.2f} %   (all observations written: {total})"
    )
    print(
        f"lateness frame time - slot (s): p50 {pct(0.5):.2f}  p95 {pct(0.95):.2f}  "
        f"max {late[-1] if late else float('nan'):.2f}"
    )
    print(
        f"worker CPU: {cpu:.1f} s for {total} samples = {1000 * cpu / max(1, total):.1f} ms "
        f"per sample (fetch + analyse + write + broker)"
    )
    print("peak RSS (MiB): " + "; ".join(f"{k}: {v:.0f}" for k, v in sorted(peak.items())))
    print(
        f"load average: before {load0[0]:.2f}, during mean {statistics.mean(loads):.2f} "
        f"max {max(loads):.2f}, after {os.getloadavg()[0]:.2f}"
    )
    os.killpg(workers.pid, signal.SIGTERM)
    try:
        workers.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(workers.pid, signal.SIGKILL)
    stop.set()
    server.join(10)
    db.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        r.delete(*keys)
    print(f"(logs: {var / 'workers.log'})")


if __name__ == "__main__":
    main()
