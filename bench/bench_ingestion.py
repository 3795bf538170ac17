"""Ingestion benchmark: per-stage cost of one sample, and sustained samples/s of the real local
pool (supervisor + worker processes + writer -> SQLite) against simulated cameras on loopback.

    .venv/bin/python bench/bench_ingestion.py [--seconds 10] [--cameras 200] [--workers N]

Stages (one core, one camera at a time): fetch = HTTP GET of a JPEG snapshot over loopback;
decode = JPEG -> BGR at frame_max_width (800; 1080p uses libjpeg's 1/2 reduced decode);
motion / detection / counting / flood = the analytics engineer's Analyser stages; snapshot =
annotate + JPEG encode + atomic write; write = per-observation share of a 500-row batch.

Throughput: N cameras (snapshot URLs of the simulator serving pre-encoded frames, so the server
costs only HTTP) all due every second, i.e. far more demand than the box can serve; the table
shows what the pool sustains and how many cameras that is at one sample per 60 s. The simulator
runs in its own process on the same 2 cores, so these figures are a lower bound for a box
that only ingests.
Scenes: static (nothing moves: the motion gate skips detection), busy (real pedestrian footage,
vtest.avi, every sample different), mixed (60% static, 30% synthetic street, 10% busy).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.synthetic import SyntheticScene  # noqa: E402
from ingestion.process import CameraSpec, SampleProcessor  # noqa: E402
from ingestion.simulator import CameraSimulator, SimCamera  # noqa: E402
from ingestion.sources import SnapshotSource, Timeouts, decode_jpeg  # noqa: E402
from pantau.settings import Settings  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import Camera  # noqa: E402
from store.writes import write_observations  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "vtest_trim.avi"


def jpeg(img: np.ndarray, q: int = 80) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()


def frame_pools() -> dict[str, list[bytes]]:
    quiet = SyntheticScene("quiet", seed=1, width=640, height=360)
    street = SyntheticScene("street", seed=2, width=640, height=360)
    cap = cv2.VideoCapture(str(VIDEO))
    busy = []
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if i % 10 == 0:  # one frame per second of footage
            busy.append(jpeg(img))
        i += 1
    cap.release()
    return {
        "static": [jpeg(quiet.frame_at(t * 60.0)[0]) for t in range(4)],
        "street": [jpeg(street.frame_at(t * 1.0)[0]) for t in range(30)],
        "busy": busy,
    }


def scene_config(kind: str) -> dict:
    if kind == "busy":
        return {}
    cfg = SyntheticScene("street", 1, 640, 360).analytics_config()
    return {"rois": cfg["rois"], "lines": cfg["lines"], "flood": cfg["flood"]}


# --------------------------------------------------------------------------------------------
def bench_stages(settings: Settings, pools: dict[str, list[bytes]], n: int = 30) -> None:
    print("### Per-stage cost of one sample (ms, median over samples, one core)\n")
    cams = [SimCamera(index=i, kind="street", frames=pools[k]) for i, k in enumerate(pools)]
    sim = CameraSimulator(cams).start()
    big = jpeg(cv2.resize(cv2.imdecode(np.frombuffer(pools["busy"][0], np.uint8), 1), (1920, 1080)))
    rows = []
    try:
        for i, kind in enumerate(pools):
            src = SnapshotSource(sim.url(i, "snapshot"), Timeouts(2, 2), settings.frame_max_width)
            proc = SampleProcessor(settings)
            spec = CameraSpec(i + 1, f"BENCH-{kind}", "", "snapshot", analytics=scene_config(kind))
            t = {
                k: []
                for k in (
                    "fetch",
                    "decode",
                    "motion",
                    "detection",
                    "counting",
                    "flood",
                    "snapshot",
                    "total",
                )
            }
            for j in range(n):
                t0 = time.perf_counter()
                data = src.fetch()
                t1 = time.perf_counter()
                frame = decode_jpeg(data, settings.frame_max_width)
                t2 = time.perf_counter()
                res = proc.process_sample(
                    spec, frame, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=j)
                )
                t3 = time.perf_counter()
                if j < 3:
                    continue  # warm-up (first frame, background models)
                t["fetch"].append((t1 - t0) * 1000)
                t["decode"].append((t2 - t1) * 1000)
                for k in ("motion", "detection", "counting", "flood", "snapshot"):
                    t[k].append(res.timings_ms.get(k, 0.0))
                t["total"].append((t3 - t0) * 1000)
            src.close()
            rows.append((kind, {k: statistics.median(v) for k, v in t.items()}))
    finally:
        sim.stop()
    # decode of a 1080p JPEG with and without libjpeg's reduced decode
    t0 = time.perf_counter()
    for _ in range(20):
        decode_jpeg(big, settings.frame_max_width)
    reduced = (time.perf_counter() - t0) / 20 * 1000
    t0 = time.perf_counter()
    for _ in range(20):
        img = cv2.imdecode(np.frombuffer(big, np.uint8), cv2.IMREAD_COLOR)
        cv2.resize(img, (800, 450), interpolation=cv2.INTER_AREA)
    full = (time.perf_counter() - t0) / 20 * 1000
    # batched writes
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    with db.session() as s:
        cam = Camera(code="BENCH-W", name="w", lat=0, lon=0)
        s.add(cam)
        s.flush()
        cam_id = cam.id
    rows_w = [
        {
            "camera_id": cam_id,
            "ts": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
            "people": 3,
            "vehicles_total": 2,
            "motion_ratio": 0.1,
            "analyser": "bench",
            "extra": {"rois": []},
        }
        for i in range(5000)
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(0, 5000, 500):
        with db.session() as s:
            write_observations(s, rows_w[k : k + 500])
    write_ms = (time.perf_counter() - t0) / 5000 * 1000
    write_cpu_ms = (time.process_time() - c0) / 5000 * 1000
    db.dispose()
    cols = ("fetch", "decode", "motion", "detection", "counting", "flood", "snapshot", "total")
    print("| scene | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for kind, med in rows:
        print(f"| {kind} | " + " | ".join(f"{med[c]:.1f}" for c in cols) + " |")
    print(
        f"\n1080p JPEG -> 800 px: {reduced:.1f} ms with reduced decode, {full:.1f} ms full decode + resize"
    )
    print(
        f"SQLite batched write (500 rows/tx): {write_ms:.3f} ms per observation "
        f"({write_cpu_ms:.3f} ms CPU)\n"
    )


def bench_upsert(settings: Settings, runs: int = 20) -> None:
    """Micro-bench of ``store.writes.upsert_rows`` (observations, fresh keys, one transaction
    per call) for 1, 100 and 1000 rows on SQLite and PostgreSQL (``BENCH_PG_URL``, default the
    test database; skipped with a note when unreachable). CPU time is this process only, so
    on PostgreSQL the server's share is not in it."""
    from sqlalchemy import text

    print(f"### store.writes.upsert_rows (median of {runs} calls, ms per call)\n")
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}\n")
    targets = [("SQLite", settings.sqlalchemy_url, None)]
    pg = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"pantau_bench_{os.getpid()}"
    targets.append(("PostgreSQL", f"{pg}?options=-csearch_path%3D{schema}", schema))
    print("| backend | rows | wall ms | CPU ms | CPU us/row |")
    print("|---|---|---|---|---|")
    for name, url, schema_name in targets:
        admin = None
        try:
            if schema_name:
                from sqlalchemy import create_engine

                admin = create_engine(pg)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
            db = Database(url)
            db.migrate()
        except Exception as exc:  # noqa: BLE001 - a bench reports and goes on
            print(f"| {name} | unavailable: {type(exc).__name__} | | | |")
            continue
        try:
            with db.session() as s:
                cam = Camera(code="BENCH-U", name="u", lat=0, lon=0)
                s.add(cam)
                s.flush()
                cam_id = cam.id
            base = datetime(2026, 1, 1, tzinfo=UTC)
            offset = 0
            for n in (1, 100, 1000):
                walls, cpus = [], []
                for _ in range(runs + 2):  # two warm-up calls
                    rows = [
                        {
                            "camera_id": cam_id,
                            "ts": base + timedelta(seconds=offset + i),
                            "people": 3,
                            "vehicles_total": 2,
                            "motion_ratio": 0.1,
                            "analyser": "bench",
                            "extra": {"rois": []},
                        }
                        for i in range(n)
                    ]
                    offset += n
                    t0, c0 = time.perf_counter(), time.process_time()
                    with db.session() as s:
                        assert write_observations(s, rows) == n
                    walls.append((time.perf_counter() - t0) * 1000)
                    cpus.append((time.process_time() - c0) * 1000)
                wall, cpu = statistics.median(walls[2:]), statistics.median(cpus[2:])
                print(f"| {name} | {n} | {wall:.2f} | {cpu:.2f} | {cpu * 1000 / n:.0f} |")
        finally:
            db.dispose()
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema_name}" CASCADE'))
                admin.dispose()
    print(f"\nload average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}\n")


# --------------------------------------------------------------------------------------------
def serve_simulator(kinds: list[str], port_q, stop) -> None:  # noqa: ANN001
    """Child process: serve pre-encoded frames for cameras of the given kinds."""
    pools = frame_pools()
    cams = [SimCamera(index=i, kind="street", frames=pools[k]) for i, k in enumerate(kinds)]
    sim = CameraSimulator(cams).start()
    port_q.put(sim.port)
    stop.wait()
    sim.stop()


def proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system, all threads) used so far by these processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def cpu_times() -> tuple[int, int]:
    """(total, idle) jiffies of all cores from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def bench_pool(
    settings: Settings,
    pools: dict[str, list[bytes]],
    mix: dict[str, float],
    n_cams: int,
    seconds: float,
    workers: int,
) -> tuple[float, float, dict]:
    from ingestion.local import Supervisor

    tmp = Path(tempfile.mkdtemp(prefix="pantau-bench-"))
    s = settings.model_copy(update={"var_dir": tmp, "database_url": "", "workers": workers})
    s.ensure_dirs()
    db = Database(s.sqlalchemy_url)
    db.migrate()
    kinds: list[str] = []
    for kind, share in mix.items():
        kinds += [kind] * round(share * n_cams)
    kinds = (kinds + [next(iter(mix))] * n_cams)[:n_cams]
    # the simulator runs in its own process, like cameras on the network would
    ctx = mp.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve_simulator, args=(kinds, port_q, stop), daemon=True)
    server.start()
    port = port_q.get(timeout=60)
    sim = SimpleNamespace(url=lambda i, kind: f"http://127.0.0.1:{port}/cam/{i}/snapshot.jpg")
    with db.session() as sess:
        for i, kind in enumerate(kinds):
            cfg = scene_config(kind)
            sess.add(
                Camera(
                    code=f"B{i:05d}",
                    name=f"bench {i}",
                    lat=0,
                    lon=0,
                    protocol="snapshot",
                    stream_url=sim.url(i, "snapshot"),
                    sample_interval_s=1,
                    rois=cfg.get("rois", []),
                    lines=cfg.get("lines", []),
                    config={"flood": cfg["flood"]} if "flood" in cfg else {},
                )
            )
    sup = Supervisor(s, db, reload_every_s=1e9)
    sup.start()
    try:
        # warm-up: worker imports, first frames, background models
        deadline = time.time() + 30
        while sup.writer.stats.observations < min(n_cams, 100) and time.time() < deadline:
            time.sleep(0.5)
        ingest_pids = [os.getpid()] + [p.pid for p in sup._procs]
        c0, t0, cpu0 = sup.writer.stats.observations, time.perf_counter(), cpu_times()
        ing0, sim0 = proc_cpu(ingest_pids), proc_cpu([server.pid])
        time.sleep(seconds)
        c1, t1, cpu1 = sup.writer.stats.observations, time.perf_counter(), cpu_times()
        ing1, sim1 = proc_cpu(ingest_pids), proc_cpu([server.pid])
        status = sup.status()
    finally:
        sup.stop()
        stop.set()
        server.join(timeout=5)
        db.dispose()
    rate = (c1 - c0) / (t1 - t0)
    fails = sum(r["failures"] for r in status)
    fetch = [r["last_fetch_ms"] for r in status if r["last_fetch_ms"]]
    proc = [r["last_process_ms"] for r in status if r["last_process_ms"]]
    return (
        rate,
        rate * 60,
        {
            "failures": fails,
            "fetch_ms": statistics.median(fetch) if fetch else 0,
            "process_ms": statistics.median(proc) if proc else 0,
            "writer": sup.writer.snapshot(),
            "cpu": 1.0 - (cpu1[1] - cpu0[1]) / max(1, cpu1[0] - cpu0[0]),
            "ingest_cpu_ms": (ing1 - ing0) * 1000 / max(1, c1 - c0),
            "sim_cpu_ms": (sim1 - sim0) * 1000 / max(1, c1 - c0),
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="measurement window per scene")
    ap.add_argument("--cameras", type=int, default=200, help="simulated cameras per run")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--skip-stages", action="store_true")
    ap.add_argument(
        "--upsert-only", action="store_true", help="only the upsert_rows micro-bench, then exit"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cv2.setNumThreads(1)
    tmp = Path(tempfile.mkdtemp(prefix="pantau-bench-"))
    settings = Settings(
        var_dir=tmp,
        database_url="",
        simulate_cameras=0,
        secret_key="bench",
        connect_timeout_s=3.0,
        read_timeout_s=5.0,
    )
    settings.ensure_dirs()
    if args.upsert_only:
        bench_upsert(settings)
        return
    pools = frame_pools()
    if not args.skip_stages:
        bench_stages(settings, pools)
    print(
        f"### Local pool throughput ({args.workers} worker processes, {args.cameras} cameras "
        f"all due every second, {args.seconds:.0f} s window; simulator on the same cores)\n"
    )
    cores = os.cpu_count() or 2
    print("`samples/s` and `cameras at 1/min` are what the pool achieved on this machine as loaded")
    print(
        "right now (`machine busy` counts every process, also other jobs on the box). `ingest CPU"
    )
    print(
        "ms/sample` is the CPU time of the supervisor + workers per sample written (all threads),"
    )
    print(
        f"and `cameras/{cores} cores` projects it onto {cores} cores dedicated to ingestion at one"
    )
    print("sample per minute (the simulator's own CPU, `sim ms`, excluded: real cameras serve")
    print("themselves).\n")
    print(
        "| scene | samples/s | cameras at 1/min | ingest CPU ms/sample | sim ms | "
        f"cameras/{cores} cores | median fetch ms | median process ms | failures | machine busy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = {}
    for name, mix in (
        ("static", {"static": 1.0}),
        ("busy", {"busy": 1.0}),
        ("mixed", {"static": 0.6, "street": 0.3, "busy": 0.1}),
    ):
        rate, cams, info = bench_pool(
            settings, pools, mix, args.cameras, args.seconds, args.workers
        )
        projected = cores * 1000.0 / max(0.1, info["ingest_cpu_ms"]) * 60
        results[name] = projected
        print(
            f"| {name} | {rate:.1f} | {cams:,.0f} | {info['ingest_cpu_ms']:.1f} | "
            f"{info['sim_cpu_ms']:.1f} | {projected:,.0f} | {info['fetch_ms']:.1f} | "
            f"{info['process_ms']:.1f} | {info['failures']} | {info['cpu'] * 100:.0f}% |",
            flush=True,
        )
    target = 10_000
    print(
        f"\nTarget: a mixed city of {target:,} cameras at 1 sample/min = {target / 60:.0f} samples/s; "
        f"{cores} dedicated cores would sustain about {results['mixed']:,.0f} mixed cameras "
        f"({results['mixed'] / target * 100:.0f}% of the target)."
    )


if __name__ == "__main__":
    main()
