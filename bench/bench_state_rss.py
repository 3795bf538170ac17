"""Memory of the local ingest tree and of the per-camera state cache (issue 9, item 4).

    python bench/bench_state_rss.py pool --cameras 300 --interval 20 --seconds 150
    python bench/bench_state_rss.py cache --cameras 10693 --state-kib 32

``pool``: serves N snapshot cameras (pre-encoded street/quiet frames, in a child process as
cameras on the network would be), runs the real local pool (supervisor + workers, SQLite) and
samples the RSS of the supervisor and each worker every 2 s; prints peak and final figures and
the observations written. ``cache``: fills a ``StateCache`` (budget from the settings) with N
synthetic states of the given size and prints its accounted bytes and the process RSS growth.
Prints the load average with the figures (the box is shared).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pantau.settings import Settings  # noqa: E402

MIB = 1024 * 1024


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_pool(n: int, interval: int, seconds: float, workers: int) -> None:
    from bench_ingestion import scene_config, serve_simulator

    from ingestion.local import Supervisor
    from store.db import Database
    from store.models import Camera

    tmp = Path(tempfile.mkdtemp(prefix="pantau-rss-"))
    s = Settings(var_dir=tmp, database_url="", workers=workers, simulate_cameras=0)
    s.ensure_dirs()
    db = Database(s.sqlalchemy_url)
    db.migrate()
    kinds = [("static" if i % 3 else "street") for i in range(n)]
    ctx = mp.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve_simulator, args=(kinds, port_q, stop), daemon=True)
    server.start()
    port = port_q.get(timeout=120)
    sim = SimpleNamespace(url=lambda i: f"http://127.0.0.1:{port}/cam/{i}/snapshot.jpg")
    with db.session() as sess:
        for i, kind in enumerate(kinds):
            cfg = scene_config(kind)
            sess.add(
                Camera(
                    code=f"R{i:05d}",
                    name=f"rss {i}",
                    lat=0,
                    lon=0,
                    protocol="snapshot",
                    stream_url=sim.url(i),
                    sample_interval_s=interval,
                    rois=cfg.get("rois", []),
                    lines=cfg.get("lines", []),
                )
            )
    sup = Supervisor(s, db, reload_every_s=1e9).start()
    peak: dict[str, int] = {}
    last: dict[str, int] = {}
    t0 = time.time()
    first_pass: float | None = None
    try:
        while time.time() - t0 < seconds:
            if first_pass is None and all(
                h.samples for h in (x.health for x in sup.slots.values())
            ):
                first_pass = time.time() - t0  # every camera sampled once (cold: warmed up)
            pids = {"supervisor": os.getpid()}
            pids.update({f"worker{i}": p.pid for i, p in enumerate(sup._procs)})
            now = {k: rss(pid) for k, pid in pids.items()}
            now["total"] = sum(now.values())
            for k, v in now.items():
                peak[k] = max(peak.get(k, 0), v)
            last = now
            time.sleep(2.0)
        written = sup.writer.stats.observations
        status = sup.status()
    finally:
        sup.stop()
        stop.set()
        server.join(timeout=5)
        db.dispose()
    due = n * seconds / interval
    print(
        f"local pool, {n} snapshot cameras every {interval}s, {workers} workers, "
        f"{seconds:.0f}s (load {load()}):"
    )
    for k in peak:
        print(
            f"  {k:10s} peak RSS {peak[k] / MIB:7.1f} MiB   final {last.get(k, 0) / MIB:7.1f} MiB"
        )
    fails = sum(r["failures"] for r in status)
    print(f"  observations written {written} (~{due:.0f} due), failures {fails}")
    first = f"{first_pass:.0f}s" if first_pass is not None else "not within the run"
    print(f"  every camera sampled once (cold start, warm-up included) after {first}")


def bench_cache(n: int, state_kib: float) -> None:
    from ingestion.state_store import StateCache, StoredState

    settings = Settings()
    budget = int(settings.analysis_state_budget_mb * MIB)
    size = int(state_kib * 1024)
    before = rss(os.getpid())
    cache = StateCache(budget, None)
    for cam_id in range(1, n + 1):
        cache.put(cam_id, StoredState("k" * 40, os.urandom(size), time.time()))
    after = rss(os.getpid())
    print(
        f"StateCache, {n} states of {state_kib:g} KiB, budget {budget / MIB:.0f} MiB "
        f"(load {load()}): {len(cache)} kept, accounted {cache.nbytes / MIB:.1f} MiB, "
        f"RSS +{(after - before) / MIB:.1f} MiB, evictions {cache.stats['evictions']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=["pool", "cache"])
    ap.add_argument("--cameras", type=int, default=300)
    ap.add_argument("--interval", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=150.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--state-kib", type=float, default=32.0)
    args = ap.parse_args()
    if args.what == "pool":
        bench_pool(args.cameras, args.interval, args.seconds, args.workers)
    else:
        bench_cache(args.cameras, args.state_kib)


if __name__ == "__main__":
    main()
