"""Setting up ``bench_city.py`` runs: the camera farm process, the JPEG-decode floor, fresh
databases with the city's cameras, the Pantau processes (each in its own session, so the bench
can stop exactly what it started), Redis DB 6 and the processes' logs."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PANTAU = [sys.executable, "-c", "from pantau.cli import app; app()"]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# the broker of the Celery phases (flushed first): keep it apart from anything else on Redis
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")


def say(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# the farm
@dataclass
class Farm:
    proc: subprocess.Popen
    port: int
    refuse_port: int
    cameras: list[Any]  # camera_farm.FarmCamera, same layout as the farm process
    info: dict[str, Any]

    def url(self, i: int) -> str:
        cam = self.cameras[i]
        port = self.refuse_port if cam.fault == "refused" else self.port
        return f"http://127.0.0.1:{port}/cam/{i}/snapshot.jpg"

    def stats(self) -> dict[str, Any]:
        import httpx

        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/stats", timeout=5).json()
        except Exception as exc:  # noqa: BLE001
            return {"error": str(exc)}


def start_farm(args: argparse.Namespace, run_dir: Path) -> Farm:
    from camera_farm import FarmConfig, layout

    n = max(args.cameras, args.ratio_cameras)
    w, h = (int(x) for x in args.size.split("x"))
    cmd = [sys.executable, str(HERE / "camera_farm.py"), "--cameras", str(n)]
    cmd += ["--port", str(args.port), "--size", args.size, "--seed", str(args.seed)]
    cmd += ["--busy", str(args.busy), "--faulty", str(args.faulty)]
    say(f"starting the camera farm: {n:,} cameras on 127.0.0.1:{args.port} (pre-encoding JPEGs)")
    err = open(run_dir / "farm.log", "w")  # noqa: SIM115 - lives as long as the farm
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        raise SystemExit(f"camera farm failed to start: see {run_dir / 'farm.log'}")
    info = json.loads(line)
    cfg = FarmConfig(
        cameras=n, busy_share=args.busy, faulty_share=args.faulty, width=w, height=h, seed=args.seed
    )
    say(f"farm ready (pid {proc.pid}): {info['counts']}, pools {info['pool_mb']} MB")
    return Farm(proc, info["port"], info["refuse_port"], layout(cfg), info)


def floor_jpegs(farm: Farm, n: int = 300) -> dict[str, list[bytes]]:
    """JPEGs of ``n`` of the farm's healthy cameras, by kind (quiet / busy)."""
    import httpx

    healthy = [c for c in farm.cameras if c.kind != "faulty"]
    step = max(1, len(healthy) // n)
    chosen = healthy[::step][:n]
    jpegs: dict[str, list[bytes]] = {"quiet": [], "busy": []}
    with httpx.Client(timeout=10) as client:
        for c in chosen:
            r = client.get(farm.url(c.index))
            if r.status_code == 200:
                jpegs[c.kind].append(r.content)
    return jpegs


def decode_floor(
    farm: Farm, n: int = 300, repeat: int = 3, jpegs: dict[str, list[bytes]] | None = None
) -> dict[str, Any]:
    """CPU ms of cv2.imdecode on JPEGs fetched from the farm's healthy cameras (this thread's
    CPU time only: the probes run in other threads of this process). ``jpegs``: fetched
    already (:func:`floor_jpegs`), e.g. to measure the floor again in the middle of a window,
    under the same load as the ingestion it is compared with."""
    jpegs = jpegs if jpegs is not None else floor_jpegs(farm, n)
    out: dict[str, Any] = {}
    all_ms: list[float] = []
    for kind, blobs in jpegs.items():
        if not blobs:
            continue
        ms = []
        for data in blobs:
            arr = np.frombuffer(data, np.uint8)
            t0 = time.thread_time()
            for _ in range(repeat):
                img = cv2.imdecode(arr, cv2.IMREAD_COLOR)
            ms.append((time.thread_time() - t0) * 1000 / repeat)
            assert img is not None
        all_ms += ms
        out[kind] = {
            "n": len(blobs),
            "cpu_ms_mean": round(sum(ms) / len(ms), 3),
            "kb_mean": round(sum(len(b) for b in blobs) / len(blobs) / 1000, 1),
        }
    out["mix_cpu_ms_mean"] = round(sum(all_ms) / max(1, len(all_ms)), 3)
    out["size"] = f"{img.shape[1]}x{img.shape[0]}"
    out["load"] = round(os.getloadavg()[0], 2)
    return out


# --------------------------------------------------------------------------------------------
# databases and processes
def make_database(args: argparse.Namespace, phase: str, run_dir: Path) -> tuple[str, Any]:
    """A fresh, migrated database for one phase: (url, cleanup callable)."""
    from store.db import Database

    if args.db == "sqlite":
        url = f"sqlite:///{run_dir / phase / 'pantau.db'}"
        db = Database(url)
        db.migrate()
        db.dispose()
        return url, lambda: None
    from sqlalchemy import create_engine, text

    base = os.environ.get("BENCH_PG_URL", DEFAULT_PG)
    schema = f"bench_city_{phase}_{os.getpid()}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    db = Database(url)
    db.migrate()
    db.dispose()

    def cleanup() -> None:
        if args.keep:
            return
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return url, cleanup


def create_cameras(url: str, farm: Farm, indices: list[int], interval: int) -> dict[int, int]:
    """Camera rows pointing at the farm; returns camera id -> farm index."""
    from sqlalchemy import insert, select

    from store.db import Database
    from store.models import Camera

    db = Database(url)
    rows = [
        {
            "code": f"CITY{i:05d}",
            "name": f"Kamera kota {i}",
            "lat": -6.99 + (i % 100) * 0.001,
            "lon": 110.42 + (i // 100) * 0.001,
            "protocol": "snapshot",
            "stream_url": farm.url(i),
            "sample_interval_s": interval,
        }
        for i in indices
    ]
    with db.session() as s:
        for k in range(0, len(rows), 2000):
            s.execute(insert(Camera), rows[k : k + 2000])
    with db.session() as s:
        ids = {cid: int(code[4:]) for cid, code in s.execute(select(Camera.id, Camera.code))}
    db.dispose()
    return ids


def ingest_env(url: str, var_dir: Path, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTAU_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PANTAU_DATABASE_URL=url,
        PANTAU_VAR_DIR=str(var_dir),
        PANTAU_WORKERS=str(workers),
        PANTAU_SIMULATE_CAMERAS="0",
        PANTAU_SECRET_KEY="bench",
        PANTAU_CELERY_BROKER_URL=REDIS_URL,
        PANTAU_CELERY_RESULT_BACKEND="",
        PANTAU_MQTT_URL="",
        PYTHONUNBUFFERED="1",
    )
    return env


def _child_setup() -> None:
    # a background job's shell ignores SIGINT in its children: restore it, so Ctrl+C semantics
    # (KeyboardInterrupt -> flush and stop) work for the processes the bench starts
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    f = open(log, "ab")  # noqa: SIM115 - closed when the process is reaped (see stop)
    return subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=f,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_child_setup,  # noqa: PLW1509 - only resets a signal disposition
    )


def stop(proc: subprocess.Popen, sig: int, timeout: float, label: str) -> str:
    """Ask ``proc`` to stop, wait, then SIGKILL its process group (which the bench made)."""
    if proc.poll() is not None:
        return f"{label}: exited by itself ({proc.returncode})"
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
        return f"{label}: stopped ({proc.returncode})"
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return f"{label}: did not stop within {timeout:.0f} s, killed"
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group (worker children)


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def redis_pid() -> int | None:
    import psutil

    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("redis-server"):
            with contextlib.suppress(psutil.Error):
                if any(c.laddr.port == 6379 for c in p.net_connections("tcp")):
                    return p.pid
    return None


def celery_worker_cmd(
    processes: int, fetch_threads: int | None = None, extra: list[str] | None = None
) -> list[str]:
    """``pantau worker``: a fetch worker (threads; ``fetch_threads`` of them, else the setting)
    and ``processes`` analysis processes (solo workers unless ``extra`` says
    ``--pool prefork``; ``extra``: more ``pantau worker`` options, e.g. ``--prefetch 2``)."""
    cmd = PANTAU + ["worker", "--analyse-concurrency", str(processes), "--loglevel", "warning"]
    if fetch_threads:
        cmd += ["--fetch-concurrency", str(fetch_threads)]
    return cmd + list(extra or [])


def set_intervals(url: str, interval: int) -> None:
    """Every camera's sample interval (the ratio's warm-up pass samples less often)."""
    from sqlalchemy import update

    from store.db import Database
    from store.models import Camera

    db = Database(url)
    with db.session() as s:
        s.execute(update(Camera).values(sample_interval_s=interval))
    db.dispose()


def warm_states() -> int:
    """Cameras with a warm analysis state in the bench's Redis (``pantau:state:<id>``)."""
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    names = [k for k in r.scan_iter(match="pantau:state:*", count=2000)]
    pipe = r.pipeline(transaction=False)
    for k in names:
        pipe.hget(k, "warm")
    return sum(1 for v in pipe.execute() if v == b"1")


def purge_queues() -> int:
    """Drop the Celery path's queued and unacknowledged tasks and stashed frames, keeping the
    cameras' analysis states, health and slot order (a measured run starts warm, not behind
    the previous run's backlog). Returns the keys deleted."""
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    gone = 0
    for pattern in ("pantau.fetch*", "pantau.analyse*", "unacked*", "pantau:frames:*"):
        names = list(r.scan_iter(match=pattern, count=2000))
        for k in range(0, len(names), 1000):
            gone += r.delete(*names[k : k + 1000])
    return gone


def scan_log(path: Path) -> dict[str, Any]:
    """Counts of errors/warnings/tracebacks in a process log and the first distinct ones."""
    out: dict[str, Any] = {"errors": 0, "warnings": 0, "tracebacks": 0, "first": []}
    if not path.exists():
        return out
    seen: set[str] = set()
    with path.open(errors="replace") as f:
        for line in f:
            if "Traceback (most recent call last)" in line:
                out["tracebacks"] += 1
            level = re.search(r"\b(ERROR|CRITICAL|WARNING)\b", line)
            if not level:
                continue
            key = "warnings" if level.group(1) == "WARNING" else "errors"
            out[key] += 1
            msg = re.sub(r"^[\d\-: ,\[\]]+", "", line.strip())
            msg = re.sub(r"\d+", "N", msg)[:200]
            if key == "errors" and msg not in seen and len(out["first"]) < 6:
                seen.add(msg)
                out["first"].append(line.strip()[:300])
    return out


def queue_lengths() -> dict[str, int]:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    out = {}
    for key in r.scan_iter(count=1000):
        with contextlib.suppress(Exception):
            if r.type(key) == b"list":
                out[key.decode()] = r.llen(key)
    return out


def redis_footprint() -> dict[str, Any]:
    """Memory of the bench's Redis DB by key family (MEMORY USAGE of every key): the Celery
    path keeps the cameras' analysis states there, which belongs to the ingestion's memory."""
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(count=2000))
    families: dict[str, list[int]] = {}
    for k in range(0, len(keys), 1000):
        chunk = keys[k : k + 1000]
        pipe = r.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            name = re.sub(rb"\d+", b"N", key).decode(errors="replace")
            fam = families.setdefault(name, [0, 0])
            fam[0] += 1
            fam[1] += int(size or 0)
    top = sorted(families.items(), key=lambda kv: -kv[1][1])[:8]
    return {
        "keys": len(keys),
        "mb": round(sum(v[1] for v in families.values()) / 1e6, 1),
        "by_family": {k: {"keys": v[0], "mb": round(v[1] / 1e6, 2)} for k, v in top},
        "server_used_memory_mb": round(r.info("memory")["used_memory"] / 1e6, 1),
    }
