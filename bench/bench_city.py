"""City-scale ingestion benchmark, measured at full size and never extrapolated.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_city.py [--cameras 10693] [--minutes 10]
        [--warmup 300] [--only local|celery|ratio] [--db sqlite|postgresql]

1. Starts ``bench/camera_farm.py`` (its own process): N JPEG snapshot cameras on loopback, most
   of them quiet streets, 10 % busy, 3 % faulty (refused, closed, hang, 1 B/s drip, 404, 500,
   garbage, truncated, 8000x6000).
2. **local**: a fresh database (SQLite file, or a PostgreSQL schema with ``--db postgresql``)
   with N cameras at one sample per ``--interval`` (60 s), and the real local pool as a
   subprocess (``pantau ingest``, PANTAU_* environment); after ``--warmup`` seconds it measures a
   window of ``--minutes``, then waits one interval (+15 s) for the window's samples to land.
   The warm-up (300 s by default) covers a city's first start: every camera is cold then and
   its first sample fetches and learns from 3 frames (~3x a warm sample's CPU), which the
   2-core box worked off in about 4 minutes at full size (29 Nov 2026: lateness p95 per minute
   after a 120 s warm-up 85, 62, 34, 17, 3, 2 ... s); the per-minute table shows the rest.
3. **celery**: the same with ``pantau ingest --celery`` and ``pantau worker`` (2 processes),
   broker Redis DB 6 or BENCH_REDIS_URL (flushed first), no result backend.
4. **ratio**: Celery throughput with 1, then 2 analysis processes on a saturated load
   (``--ratio-cameras`` healthy cameras every ``--ratio-interval`` s): samples stored per second.
   Every camera is warmed first and the fetch role gets ``--ratio-fetch-threads`` threads, so
   the analysis role is what is measured; the CPU other sessions used is reported with it.

Figures (table on stdout, JSON under var/bench/):

- *lateness*: ``visible - slot``: when the bench first saw the observation in the database
  (polled every second) minus its schedule slot, for healthy cameras' slots in the window; when
  the store has an ``observations.slot`` column, also ``ts - slot`` (frame time minus slot);
- *stored vs due*: distinct (camera, slot) stored for healthy cameras with the slot in the
  window, over healthy cameras x window / interval;
- *RSS*: peak per process and peak of the sum over the ingestion tree (psutil, every second);
- *CPU per sample*: CPU time of the ingestion tree in the window / observations stored in it;
- *JPEG-decode floor*: ``cv2.imdecode`` of JPEGs fetched from the farm, CPU ms each, measured
  in this run before and after the phases; the farm's own CPU; the load average.

Stops the ingestion tree (never anything else) when its RSS passes ``--rss-limit-mb`` or the
box runs low on memory, and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import cv2  # noqa: E402
from city_probe import ObservationPoller, TreeMonitor, busy_share, percentile  # noqa: E402
from city_report import report  # noqa: E402
from city_setup import (  # noqa: E402
    PANTAU,
    Farm,
    celery_worker_cmd,
    create_cameras,
    decode_floor,
    floor_jpegs,
    flush_redis,
    ingest_env,
    make_database,
    purge_queues,
    queue_lengths,
    redis_footprint,
    redis_pid,
    say,
    scan_log,
    set_intervals,
    spawn,
    start_farm,
    stop,
    warm_states,
)

CITY = 10_693
PHASES = ("local", "celery", "ratio")


def machine() -> dict[str, Any]:
    import psutil

    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "host": platform.node(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "python": platform.python_version(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


# --------------------------------------------------------------------------------------------
# one measured run
@dataclass
class Run:
    name: str
    procs: list[tuple[str, subprocess.Popen, int, float]]  # label, proc, stop signal, timeout
    logs: list[Path]


def measure(
    args: argparse.Namespace,
    name: str,
    url: str,
    farm: Farm,
    cam_index: dict[int, int],
    start: Any,
    interval: int,
    warmup: float,
    window_s: float,
    extra: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Start the processes (``start()`` -> Run), warm up, measure a window, wait for the
    window's samples, stop, and summarise."""
    poller = ObservationPoller(url).start()
    t_start = time.time()
    run: Run = start()
    roots = {label: p.pid for label, p, _, _ in run.procs}
    mon = TreeMonitor(roots, farm.proc.pid, extra, rss_limit_mb=args.rss_limit_mb).start()
    w0 = t_start + warmup
    w1 = w0 + window_s
    grace = interval + 15.0
    end = w1 + grace
    total = end - t_start
    say(
        f"{name}: warm-up {warmup:.0f} s, window {window_s / 60:.1f} min, then {grace:.0f} s for "
        f"the window's samples to land ({total / 60:.1f} min in all)"
    )
    m0 = m1 = None
    n0 = n1 = 0
    floor_in_window: dict[str, Any] | None = None
    mid = w0 + window_s / 2
    last_n, last_t = 0, time.time()
    next_progress = time.time() + args.progress
    while time.time() < end and mon.aborted is None:
        now = time.time()
        if m0 is None and now >= w0:
            m0 = mon.mark()
            n0 = poller.count()
            say(f"{name}: warm-up done, measuring ({n0:,} observations so far)")
        if floor_in_window is None and now >= mid:  # the floor under the run's own load
            floor_in_window = decode_floor(farm, jpegs=farm_floor_jpegs(farm))
            say(f"{name}: JPEG-decode floor in the window: {floor_in_window}")
        if m1 is None and now >= w1:
            m1 = mon.mark()
            n1 = poller.count()
            say(f"{name}: window closed ({n1 - n0:,} observations in it); waiting {grace:.0f} s")
        dead = [label for label, p, _, _ in run.procs if p.poll() is not None]
        if dead:
            say(f"!! {name}: {', '.join(dead)} exited early; see the logs")
            break
        if now >= next_progress:
            n = poller.count()
            rate = (n - last_n) / max(1e-6, now - last_t)
            last_n, last_t = n, now
            next_progress = now + args.progress
            stage = "warm-up" if now < w0 else ("window" if now < w1 else "grace")
            say(
                f"{name} {stage} {now - t_start:5.0f}/{total:.0f} s | stored {n:,} "
                f"({rate:.1f}/s) | tree RSS {mon.tree_rss_last / 1e6:,.0f} MB "
                f"(peak {mon.tree_rss_peak / 1e6:,.0f}) | load {os.getloadavg()[0]:.2f}"
                + (f" | poll errors {poller.errors}" if poller.errors else "")
            )
        time.sleep(0.5)
    if m0 is None:
        m0 = mon.mark()
        n0 = poller.count()
    if m1 is None:
        m1 = mon.mark()
        n1 = poller.count()
        w1 = m1.t
    stops = [stop(p, sig, timeout, label) for label, p, sig, timeout in run.procs]
    say(f"{name}: " + "; ".join(stops))
    mon.stop()
    poller.stop()
    out = summarise(args, name, poller, mon, m0, m1, farm, cam_index, interval, w0, w1, run, stops)
    if floor_in_window is not None:
        out["decode_floor_in_window"] = floor_in_window
    return out


_floor_jpegs: dict[int, dict[str, list[bytes]]] = {}


def farm_floor_jpegs(farm: Farm) -> dict[str, list[bytes]]:
    """The floor's JPEGs, fetched once per farm (before any window)."""
    if id(farm) not in _floor_jpegs:
        _floor_jpegs[id(farm)] = floor_jpegs(farm)
    return _floor_jpegs[id(farm)]


def summarise(
    args: argparse.Namespace,
    name: str,
    poller: ObservationPoller,
    mon: TreeMonitor,
    m0: Any,
    m1: Any,
    farm: Farm,
    cam_index: dict[int, int],
    interval: int,
    w0: float,
    w1: float,
    run: Run,
    stops: list[str],
) -> dict[str, Any]:
    kind = {cid: farm.cameras[i].kind for cid, i in cam_index.items()}
    healthy = [cid for cid, k in kind.items() if k != "faulty"]
    window = w1 - w0
    due = len(healthy) * window / interval
    in_window = [r for r in poller.rows if w0 <= r.slot < w1 and kind.get(r.camera_id) != "faulty"]
    distinct = {(r.camera_id, round(r.slot, 3)) for r in in_window}
    # a camera whose slots shifted (skipped ahead) may show one more slot in the window than
    # the grid holds: cap each camera at ceil(window / interval) so it cannot hide a loss
    cap = int(-(-window // interval))
    per_cam: dict[int, int] = {}
    for cid, _ in distinct:
        per_cam[cid] = per_cam.get(cid, 0) + 1
    stored = sum(min(cap, n) for n in per_cam.values())
    short = sorted(
        (per_cam.get(c, 0), c) for c in healthy if per_cam.get(c, 0) < window // interval
    )
    by_kind: dict[str, int] = {}
    for cid, n in per_cam.items():
        by_kind[kind[cid]] = by_kind.get(kind[cid], 0) + min(cap, n)
    n_kind = {k: sum(1 for c in healthy if kind[c] == k) for k in ("quiet", "busy")}
    visible = [r.seen - r.slot for r in in_window]
    frame = [r.ts - r.slot for r in in_window] if poller.has_slot else []
    stored_in_window = sum(1 for r in poller.rows if m0.t <= r.seen < m1.t)
    tree_cpu = m1.tree_cpu_s - m0.tree_cpu_s
    farm_cpu = m1.farm_cpu_s - m0.farm_cpu_s
    span = max(1e-6, m1.t - m0.t)
    per_sample = tree_cpu * 1000 / max(1, stored_in_window)
    res: dict[str, Any] = {
        "cameras": len(cam_index),
        "healthy_cameras": len(healthy),
        "interval_s": interval,
        "window_s": round(window, 1),
        "aborted": mon.aborted,
        "due_healthy": round(due),
        "stored_healthy": stored,
        # no window (stopped during the warm-up): nothing was due, say so instead of 0 %
        "stored_pct": round(100.0 * stored / due, 2) if due >= 1 else None,
        "healthy_cameras_short": len(short),
        "short_examples": [
            {"camera": f"CITY{cam_index[c]:05d}", "stored": n, "kind": kind[c]}
            for n, c in short[:8]
        ],
        "stored_pct_by_kind": {
            k: round(100.0 * by_kind.get(k, 0) / max(1e-9, n * window / interval), 2)
            for k, n in n_kind.items()
            if n
        },
        "duplicates_in_window": len(in_window) - len(distinct),
        "unknown_people_in_window": sum(1 for r in in_window if r.unknown),
        "per_minute": _per_minute(in_window, len(healthy), w0, w1, interval),
        "lateness_visible_s": _stats(visible),
        "lateness_frame_s": _stats(frame) if frame else None,
        "stored_per_s": round(stored_in_window / span, 2),
        "observations_in_window": stored_in_window,
        "observations_total": poller.count(),
        "tree_rss_peak_mb": round(mon.tree_rss_peak / 1e6, 1),
        "tree_pss_peak_mb": round(mon.tree_pss_peak / 1e6, 1),
        "process_rss_peak": mon.peaks(),
        "tree_cpu_s": round(tree_cpu, 2),
        "cpu_ms_per_sample": round(per_sample, 3),
        # the same per process role (supervisor, workers, fetch/analyse roles): where it goes
        "cpu_ms_per_sample_by_process": {
            k: round((v - m0.cpu_by_label.get(k, 0.0)) * 1000 / max(1, stored_in_window), 3)
            for k, v in sorted(m1.cpu_by_label.items())
        },
        "tree_cores": round(tree_cpu / span, 3),
        "farm_cpu_s": round(farm_cpu, 2),
        "farm_cpu_ms_per_sample": round(farm_cpu * 1000 / max(1, stored_in_window), 3),
        "farm_cores": round(farm_cpu / span, 3),
        "bench_probe_cores": round((m1.bench_cpu_s - m0.bench_cpu_s) / span, 3),
        "extra_cpu_s": {
            k: round(m1.extra_cpu_s.get(k, 0) - v, 2) for k, v in m0.extra_cpu_s.items()
        },
        "machine_busy_pct": round(100 * busy_share(m0.sys_cpu, m1.sys_cpu), 1),
        # what else ran: the box's busy cores minus the ingestion tree, the farm, the bench's
        # own probe and the measured extras (a shared Redis): other sessions' work and the
        # database server
        "others_cores": round(
            busy_share(m0.sys_cpu, m1.sys_cpu) * (os.cpu_count() or 1)
            - tree_cpu / span
            - farm_cpu / span
            - (m1.bench_cpu_s - m0.bench_cpu_s) / span
            - sum(m1.extra_cpu_s.get(k, 0) - v for k, v in m0.extra_cpu_s.items()) / span,
            2,
        ),
        "load": mon.load_between(m0.t, m1.t),
        "mem_available_min_mb": round(mon.mem_available_min / 1e6),
        "poll_errors": poller.errors,
        "poll_last_error": poller.last_error,
        "stops": stops,
        "logs": {str(p.name): scan_log(p) for p in run.logs},
    }
    res.update(store_facts(poller.url))
    return res


def _per_minute(
    rows: list[Any], n_healthy: int, w0: float, w1: float, interval: int
) -> list[dict[str, Any]]:
    """Stored vs due and lateness per minute of the window (by slot): shows a start-up
    backlog and its recovery instead of folding them into one figure."""
    out = []
    t = w0
    while t < w1 - 1:
        end = min(w1, t + 60.0)
        sub = [r for r in rows if t <= r.slot < end]
        due = n_healthy * (end - t) / interval
        lat = [r.seen - r.slot for r in sub]
        out.append(
            {
                "minute": len(out) + 1,
                "stored_pct": round(100.0 * len({(r.camera_id, r.slot) for r in sub}) / due, 2)
                if due
                else None,
                "lateness_p95_s": round(percentile(lat, 95) or 0, 2) if lat else None,
            }
        )
        t = end
    return out


def _stats(values: list[float]) -> dict[str, float | None] | None:
    if not values:
        return None
    return {
        "n": len(values),
        "p50": round(percentile(values, 50) or 0, 2),
        "p95": round(percentile(values, 95) or 0, 2),
        "max": round(max(values), 2),
    }


def store_facts(url: str) -> dict[str, Any]:
    """Camera statuses and analysers at the end of a run."""
    from sqlalchemy import func, select

    from store.db import Database
    from store.models import Camera, Observation

    db = Database(url)
    try:
        with db.session() as s:
            q = select(Camera.status, func.count()).group_by(Camera.status)
            status = {str(k): int(v) for k, v in s.execute(q).all()}
            q = select(Observation.analyser, func.count()).group_by(Observation.analyser)
            analysers = {str(k): int(v) for k, v in s.execute(q).all()}
            unknown = s.scalar(
                select(func.count()).select_from(Observation).where(Observation.people.is_(None))
            )
    finally:
        db.dispose()
    return {
        "camera_status_end": status,
        "analysers": analysers,
        "observations_people_unknown": int(unknown or 0),  # cold cameras: counts stored as NULL
    }


# --------------------------------------------------------------------------------------------
# phases
def phase_local(args: argparse.Namespace, farm: Farm, run_dir: Path) -> dict[str, Any]:
    d = run_dir / "local"
    d.mkdir(parents=True, exist_ok=True)
    url, cleanup = make_database(args, "local", run_dir)
    ids = create_cameras(url, farm, list(range(args.cameras)), args.interval)
    say(f"local: {len(ids):,} cameras in {args.db}; starting `pantau ingest` (2 workers)")
    log = d / "ingest.log"
    window = args.minutes * 60
    backstop = args.warmup + window + args.interval + 15 + 120

    def start() -> Run:
        cmd = PANTAU + ["ingest", "--quiet", "--workers", "2", "--duration", str(backstop)]
        p = spawn(cmd, ingest_env(url, d / "var", 2), log, d)
        return Run("local", [("pantau ingest", p, signal.SIGINT, 300.0)], [log])

    try:
        return measure(args, "local", url, farm, ids, start, args.interval, args.warmup, window)
    finally:
        cleanup()
        _drop_snapshots(d / "var", args)


def phase_celery(args: argparse.Namespace, farm: Farm, run_dir: Path) -> dict[str, Any]:
    d = run_dir / "celery"
    d.mkdir(parents=True, exist_ok=True)
    url, cleanup = make_database(args, "celery", run_dir)
    ids = create_cameras(url, farm, list(range(args.cameras)), args.interval)
    flush_redis()
    say(f"celery: {len(ids):,} cameras; Redis DB 6 flushed; starting the scheduler + 2 processes")
    window = args.minutes * 60
    backstop = args.warmup + window + args.interval + 15 + 120
    rpid = redis_pid()

    def start() -> Run:
        env = ingest_env(url, d / "var", 2)
        worker = spawn(celery_worker_cmd(2), env, d / "worker.log", d)
        cmd = PANTAU + ["ingest", "--celery", "--duration", str(backstop)]
        sched = spawn(cmd, env, d / "scheduler.log", d)
        return Run(
            "celery",
            [
                ("pantau ingest --celery", sched, signal.SIGINT, 30.0),
                ("pantau worker", worker, signal.SIGTERM, 60.0),
            ],
            [d / "scheduler.log", d / "worker.log"],
        )

    try:
        res = measure(
            args,
            "celery",
            url,
            farm,
            ids,
            start,
            args.interval,
            args.warmup,
            window,
            extra={"redis-server (shared)": rpid} if rpid else None,
        )
        res["redis_queue_left"] = queue_lengths()
        res["redis_db6"] = redis_footprint()
        return res
    finally:
        cleanup()
        _drop_snapshots(d / "var", args)


def phase_ratio(args: argparse.Namespace, farm: Farm, run_dir: Path) -> dict[str, Any]:
    """Throughput of the analysis role with 1, then 2 processes on a saturated load.

    What is measured is the analysis role, so nothing else may limit it: every camera is
    warmed first (a warm-up pass with 2 processes until each camera has a warm state in
    Redis: cold cameras fetch extra frames and would make the fetch role the limit), the
    fetch role gets ``--ratio-fetch-threads`` threads, and each measured run starts with the
    queues purged (states kept). Demand (cameras / interval) must exceed what 2 processes
    store; the figure per run is samples stored per second in the window, next to the
    analysis role's CPU, so a box that could not give the second process a core shows."""
    d = run_dir / "ratio"
    d.mkdir(parents=True, exist_ok=True)
    url, cleanup = make_database(args, "ratio", run_dir)
    healthy = [c.index for c in farm.cameras if c.kind != "faulty"][: args.ratio_cameras]
    ids = create_cameras(url, farm, healthy, args.ratio_interval)
    demand = len(ids) / args.ratio_interval
    threads = args.ratio_fetch_threads
    say(
        f"ratio: {len(ids):,} healthy cameras every {args.ratio_interval} s ({demand:.0f} "
        f"samples/s asked for), path {args.ratio_path}, fetch threads {threads}; warm every "
        "camera first, then 1 and 2 analysis processes"
    )
    out: dict[str, Any] = {
        "cameras": len(ids),
        "demand_per_s": demand,
        "path": args.ratio_path,
        "fetch_threads": threads,
        "worker_args": args.ratio_worker_args,
    }
    window = args.ratio_minutes * 60
    rpid = redis_pid()
    try:
        if args.ratio_path == "celery":
            flush_redis()
            out["warm_pass"] = _warm_every_camera(args, url, d, len(ids), threads)
        for n in (1, 2):
            env = ingest_env(url, d / f"var{n}", n)
            backstop = args.ratio_warmup + window + args.ratio_interval + 15 + 120

            def start(n: int = n, env: dict[str, str] = env, backstop: float = backstop) -> Run:
                if args.ratio_path == "local":
                    cmd = PANTAU + ["ingest", "--quiet", "--workers", str(n)]
                    p = spawn(cmd + ["--duration", str(backstop)], env, d / f"ingest{n}.log", d)
                    return Run(
                        f"ratio{n}",
                        [("pantau ingest", p, signal.SIGINT, 300.0)],
                        [d / f"ingest{n}.log"],
                    )
                say(f"ratio: purged {purge_queues()} queue keys (analysis states kept)")
                wcmd = celery_worker_cmd(n, threads, shlex.split(args.ratio_worker_args))
                worker = spawn(wcmd, env, d / f"worker{n}.log", d)
                cmd = PANTAU + ["ingest", "--celery", "--duration", str(backstop)]
                sched = spawn(cmd, env, d / f"scheduler{n}.log", d)
                return Run(
                    f"ratio{n}",
                    [
                        ("pantau ingest --celery", sched, signal.SIGINT, 30.0),
                        ("pantau worker", worker, signal.SIGTERM, 60.0),
                    ],
                    [d / f"scheduler{n}.log", d / f"worker{n}.log"],
                )

            res = measure(
                args,
                f"ratio {n} process(es)",
                url,
                farm,
                ids,
                start,
                args.ratio_interval,
                args.ratio_warmup,
                window,
                extra={"redis-server (shared)": rpid} if rpid else None,
            )
            if args.ratio_path == "celery":
                res["warm_states_end"] = warm_states()
            out[f"p{n}"] = res
            say(
                f"ratio: {n} process(es) stored {res['stored_per_s']:.1f} samples/s "
                f"({res.get('unknown_people_in_window', 0)} cold in the window; load "
                f"{res['load']['mean']}, others on the box {res.get('others_cores')} cores)"
            )
        r1, r2 = out["p1"]["stored_per_s"], out["p2"]["stored_per_s"]
        out["ratio"] = round(r2 / r1, 3) if r1 else None
        return out
    finally:
        cleanup()
        for n in (1, 2):
            _drop_snapshots(d / f"var{n}", args)


def _warm_every_camera(
    args: argparse.Namespace, url: str, d: Path, cameras: int, threads: int
) -> dict[str, Any]:
    """Run the Celery path (2 analysis processes) until every camera has a warm analysis state
    in Redis (or ``--ratio-warm-timeout``), then stop it and purge the queues."""
    env = ingest_env(url, d / "var-warm", 2)
    # warm cameras sampled every --ratio-interval would take the analysis capacity the cold
    # ones need to warm up: the pass samples every --ratio-warm-interval instead
    set_intervals(url, args.ratio_warm_interval)
    t0 = time.time()
    wcmd = celery_worker_cmd(2, threads, shlex.split(args.ratio_worker_args))
    worker = spawn(wcmd, env, d / "worker-warm.log", d)
    cmd = PANTAU + ["ingest", "--celery", "--duration", str(args.ratio_warm_timeout + 60)]
    sched = spawn(cmd, env, d / "scheduler-warm.log", d)
    warm = 0
    try:
        while time.time() - t0 < args.ratio_warm_timeout:
            time.sleep(5)
            warm = warm_states()
            say(f"ratio warm pass {time.time() - t0:4.0f} s: {warm:,}/{cameras:,} cameras warm")
            if warm >= cameras or sched.poll() is not None or worker.poll() is not None:
                break
    finally:
        stops = [
            stop(sched, signal.SIGINT, 30.0, "pantau ingest --celery"),
            stop(worker, signal.SIGTERM, 60.0, "pantau worker"),
        ]
    set_intervals(url, args.ratio_interval)
    purged = purge_queues()
    say(
        f"ratio: {warm:,} of {cameras:,} cameras warm after {time.time() - t0:.0f} s; "
        f"{'; '.join(stops)}; {purged} queue keys purged"
    )
    return {"warm": warm, "cameras": cameras, "seconds": round(time.time() - t0, 1)}


def _drop_snapshots(var_dir: Path, args: argparse.Namespace) -> None:
    if not args.keep:
        shutil.rmtree(var_dir / "snapshots", ignore_errors=True)


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cameras", type=int, default=CITY, help="cameras in the city (10,693)")
    ap.add_argument("--minutes", type=float, default=10.0, help="measured window per path")
    ap.add_argument(
        "--warmup",
        type=float,
        default=300.0,
        help="seconds before the window (300: a city's first start, every camera cold, takes "
        "about 4 minutes to catch up at full size)",
    )
    ap.add_argument("--interval", type=int, default=60, help="seconds between a camera's samples")
    ap.add_argument("--only", choices=PHASES, action="append", help="run only these phases")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--port", type=int, default=24100, help="port of the camera farm")
    ap.add_argument("--size", default="768x576", help="camera frame size")
    ap.add_argument("--busy", type=float, default=0.10, help="share of busy cameras")
    ap.add_argument("--faulty", type=float, default=0.03, help="share of faulty cameras")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ratio-cameras", type=int, default=2000)
    ap.add_argument("--ratio-interval", type=int, default=10)
    ap.add_argument("--ratio-minutes", type=float, default=2.0)
    ap.add_argument("--ratio-warmup", type=float, default=60.0)
    ap.add_argument("--ratio-path", choices=("celery", "local"), default="celery")
    ap.add_argument(
        "--ratio-fetch-threads",
        type=int,
        default=128,
        help="threads of the fetch role in the ratio runs (fetch must not be the limit)",
    )
    ap.add_argument(
        "--ratio-worker-args",
        default="",
        help="more `pantau worker` options for the ratio runs, e.g. '--pool prefork' or "
        "'--prefetch 2'",
    )
    ap.add_argument(
        "--ratio-warm-interval",
        type=int,
        default=60,
        help="seconds between a camera's samples during the ratio's warm-up pass",
    )
    ap.add_argument(
        "--ratio-warm-timeout",
        type=float,
        default=300.0,
        help="seconds the ratio's warm-up pass may take to warm every camera",
    )
    ap.add_argument(
        "--rss-limit-mb",
        type=float,
        default=6000.0,
        help="stop the ingestion tree above this RSS (protects a shared box)",
    )
    ap.add_argument("--progress", type=float, default=15.0, help="seconds between progress lines")
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default var/bench/)")
    ap.add_argument("--keep", action="store_true", help="keep databases and snapshots")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"\d+x\d+", args.size):
        ap.error("--size must look like 768x576")
    phases = args.only or list(PHASES)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = ROOT / "var" / "bench" / f"city-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    out = args.out or ROOT / "var" / "bench" / f"bench_city-{stamp}.json"
    cv2.setNumThreads(1)
    doc: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "started": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "git": _git_head(),
        "phases": {},
    }
    say(f"bench_city: {doc['machine']}; phases {phases}; logs in {run_dir}")
    farm = start_farm(args, run_dir)
    try:
        doc["farm"] = farm.info
        doc["decode_floor"] = decode_floor(farm, jpegs=farm_floor_jpegs(farm))
        say(f"JPEG-decode floor: {doc['decode_floor']}")
        for name in phases:
            fn = {"local": phase_local, "celery": phase_celery, "ratio": phase_ratio}[name]
            try:
                doc["phases"][name] = fn(args, farm, run_dir)
            except Exception as exc:  # noqa: BLE001 - report the failure, go on with the rest
                import traceback

                traceback.print_exc()
                doc["phases"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            doc["farm_stats"] = farm.stats()
            out.write_text(json.dumps(doc, indent=2, default=str))
            say(f"{name} done; figures so far in {out}")
        doc["decode_floor_after"] = decode_floor(farm, jpegs=farm_floor_jpegs(farm))
    finally:
        doc["farm_stats"] = farm.stats()
        stop(farm.proc, signal.SIGTERM, 10, "camera farm")
    doc["finished"] = datetime.now(UTC).isoformat()
    doc["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(doc, indent=2, default=str))
    print()
    print(f"### City-scale ingestion ({doc['command']})\n")
    print(report(doc))
    print(f"\nJSON: {out}")
    failed = [k for k, v in doc["phases"].items() if "error" in v]
    return 1 if failed else 0


def _git_head() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":
    raise SystemExit(main())
