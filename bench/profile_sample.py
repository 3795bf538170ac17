"""CPU of one snapshot sample, stage by stage, on the real code of the local pool.

    PYTHONPATH=$PWD .venv/bin/python bench/profile_sample.py [--cameras 300] [--rounds 4]
        [--port 24200] [--busy 0.1] [--cprofile out.prof]

Starts ``bench/camera_farm.py`` (no faulty cameras), makes an SQLite store with one camera per
farm camera, then runs each camera's samples **in this one thread**, one after the other, through
the same calls as a worker process and the supervisor of ``pantau ingest``:

- worker: the task's trip through a process queue (pickle both ways), ``needs_warmup``,
  ``fetch_sample`` (urllib3 GET), ``Fetched.decode`` (reduced scale), ``process_burst``
  (analysis, state load/export, snapshot), the answer's trip back (pickle both ways);
- supervisor: ``Supervisor._handle`` (health, metrics, reschedule, writer queue);
- writer: ``Writer.flush`` of the round's results (SQLite), per sample.

Round 0 is the cold start (warm-up frames fetched back to back); the rounds after it are warm.
Each stage's figure is this thread's CPU time (``time.thread_time``: user + kernel), so it is
robust to other load on the box; the JPEG-decode floor (``cv2.imdecode`` in full) is measured on
the same JPEGs. A static camera's snapshot is redrawn every ``static_snapshot_every_s`` (300 s):
back-to-back rounds never reach it, so the redraw's cost is measured separately (a round with
the setting at 0) and shown amortised over 300 s of one-a-minute samples.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


def start_farm(n: int, port: int, busy: float) -> tuple[subprocess.Popen, list[dict[str, Any]]]:
    import httpx

    cmd = [sys.executable, str(HERE / "camera_farm.py"), "--cameras", str(n), "--port", str(port)]
    cmd += ["--busy", str(busy), "--faulty", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    cams = httpx.get(f"http://127.0.0.1:{info['port']}/cameras", timeout=30).json()
    return proc, cams


class Stages:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, t0: float) -> float:
        t = time.thread_time()
        self.ms[name].append((t - t0) * 1000)
        return t

    def table(self, title: str) -> list[str]:
        lines = [f"{title}", "| stage | ms CPU / sample | n |", "|---|---|---|"]
        total = 0.0
        for k, v in self.ms.items():
            mean = sum(v) / len(v)
            total += mean
            lines.append(f"| {k} | {mean:.3f} | {len(v)} |")
        lines.append(f"| **sum** | **{total:.3f}** | |")
        return lines

    def mean(self, name: str) -> float:
        v = self.ms.get(name) or [0.0]
        return sum(v) / len(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=4, help="warm rounds after the cold one")
    ap.add_argument("--port", type=int, default=24200, help="port of the camera farm it starts")
    ap.add_argument("--busy", type=float, default=0.10)
    ap.add_argument("--cprofile", type=Path, default=None, help="cProfile the warm rounds")
    args = ap.parse_args(argv)

    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    tmp = Path(tempfile.mkdtemp(prefix="pantau-prof-"))
    os.environ.update(
        PANTAU_DATABASE_URL=f"sqlite:///{tmp / 'p.db'}",
        PANTAU_VAR_DIR=str(tmp / "var"),
        PANTAU_SECRET_KEY="bench",
        PANTAU_COLD_START_INTERVAL_S="0",
    )
    from city_setup import Farm, create_cameras

    from ingestion.fetch import fetch_sample
    from ingestion.local import Success, Supervisor, Task
    from ingestion.process import SampleProcessor
    from ingestion.snapshot_http import SnapshotHttp
    from ingestion.sources import USER_AGENT
    from ingestion.state_store import DatabaseStateStore
    from ingestion.writer import Writer
    from pantau.settings import Settings
    from store.db import Database

    farm_proc, cams = start_farm(args.cameras, args.port, args.busy)
    try:
        settings = Settings()
        db = Database(settings.sqlalchemy_url)
        db.migrate()
        from types import SimpleNamespace

        farm = Farm(farm_proc, args.port, 0, [SimpleNamespace(**c) for c in cams], {})
        ids = create_cameras(db.url, farm, [c["index"] for c in cams], 60)
        kind = {cid: cams[i]["kind"] for cid, i in ids.items()}
        sup = Supervisor(settings, db, workers=1)
        sup.load_cameras()
        writer = Writer(db, settings, alerts=True)
        processor = SampleProcessor(settings, DatabaseStateStore(db))
        client = SnapshotHttp(
            settings.connect_timeout_s,
            settings.read_timeout_s,
            max_connections=32,
            user_agent=USER_AGENT,
        )
        sources: dict = {}
        floor: list[float] = []
        per_kind: dict[str, Stages] = {"cold": Stages(), "quiet": Stages(), "busy": Stages()}
        prof = None

        def sample(cam_id: int, st: Stages, due: float) -> Any:
            slot = sup.slots[cam_id]
            t = time.thread_time()
            task = pickle.loads(pickle.dumps(Task(slot.spec, due)))
            t = st.add("task queue (pickle)", t)
            cam = task.camera
            warm_n = settings.cold_start_frames if processor.needs_warmup(cam) else 0
            t = st.add("needs_warmup", t)
            got = fetch_sample(sources, cam, settings, client, warmup=warm_n)
            t = st.add("fetch (GET)", t)
            got.decode(processor.reduced_size(cam))
            t = st.add("decode", t)
            from datetime import UTC, datetime

            result = processor.process_burst(
                cam,
                got.frames,
                datetime.fromtimestamp(got.frame_ts, UTC),
                slot=datetime.fromtimestamp(due, UTC),
                warmup=got.warmup,
                jpeg=got.last_jpeg,
            )
            t = st.add("process_burst", t)  # its own timings_ms are wall clock: not used
            msg = pickle.loads(pickle.dumps(Success(cam.id, due, result, 1.0, False)))
            t = st.add("result queue (pickle)", t)
            slot.inflight_since = time.monotonic()
            slot.inflight_due = due
            sup._handle(msg)
            t = st.add("supervisor _handle", t)
            return msg.result

        now = time.time()
        order = sorted(sup.slots)
        for r in range(args.rounds + 1):
            if r == 1 and args.cprofile:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            due = round(now + 60 * r, 3)
            results = []
            for cam_id in order:
                st = per_kind["cold"] if r == 0 else per_kind[kind[cam_id]]
                results.append(sample(cam_id, st, due))
            while not writer._q.empty():
                writer._q.get(timeout=0.1)
            t = time.thread_time()
            writer.flush(results, [])
            w_ms = (time.thread_time() - t) * 1000 / len(results)
            for cam_id in order:
                st = per_kind["cold"] if r == 0 else per_kind[kind[cam_id]]
                st.ms["writer flush"].append(w_ms)
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(args.cprofile))
        # the snapshot redraw of a static camera, every static_snapshot_every_s
        # (forgetting when each snapshot was written makes every one due: replacing the settings
        # would change the analytics configuration's key and make every camera cold)
        processor._snapshot_at.clear()
        redraw = Stages()
        for cam_id in order:
            if kind[cam_id] == "quiet":
                sample(cam_id, redraw, round(now + 60 * (args.rounds + 1), 3))
        # the floor: full decodes of the same cameras' JPEGs
        import urllib3

        http = urllib3.PoolManager()
        for cam_id in order[:200]:
            data = http.request("GET", sup.slots[cam_id].spec.url).data
            arr = np.frombuffer(data, np.uint8)
            t = time.thread_time()
            for _ in range(3):
                cv2.imdecode(arr, cv2.IMREAD_COLOR)
            floor.append((time.thread_time() - t) * 1000 / 3)
        f = sum(floor) / len(floor)
        out = [f"cameras {len(order)}, warm rounds {args.rounds}, load {os.getloadavg()[0]:.1f}"]
        for k, st in per_kind.items():
            out += st.table(f"\n{k} samples")
        out += redraw.table("\nquiet samples with their snapshot redrawn (every 300 s)")
        q = per_kind["quiet"]
        total_q = sum(q.mean(k) for k in q.ms)
        extra = (
            redraw.mean("process_burst") - q.mean("process_burst")
        ) / 5  # one sample in five (300 s / 60 s)
        out.append(
            f"\nJPEG decode floor (cv2.imdecode full, same JPEGs): {f:.3f} ms CPU\n"
            f"quiet sample: {total_q:.3f} ms + redraw amortised {extra:.3f} ms = "
            f"{total_q + extra:.3f} ms ({(total_q + extra) / f:.2f}x the floor)"
        )
        print("\n".join(out))
    finally:
        farm_proc.terminate()
        farm_proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
