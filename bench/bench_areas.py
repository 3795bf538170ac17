"""Kecamatan reassignment after an areas import (``store.areas``), on SQLite.

A city of 10,693 cameras and 100,000 complaints (plus 20,000 incidents) spread over the demo
city, typed kecamatan strings on every row; then ``store_areas`` imports kecamatan polygons and
reassigns every row in the same transaction (point-in-polygon with an STRtree, only changed
rows written). Two polygon sets: the 12 demo kecamatan as built (a few dozen vertices each)
and the same densified to ~20 m segments (thousands of vertices each, like official GIS
boundaries). Prints wall-clock and CPU seconds of the import (validation excluded) and of each
table's reassignment, and the machine load.

    python bench/bench_areas.py [--cameras 10693] [--complaints 100000] [--incidents 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pantau.settings import Settings  # noqa: E402
from store.areas import reassign_table, store_areas  # noqa: E402
from store.db import Database  # noqa: E402
from store.demo_areas import demo_kecamatan  # noqa: E402
from store.models import Camera, Complaint, Incident  # noqa: E402

LON, LAT = (104.66, 104.82), (-3.05, -2.90)


def populate(db: Database, cameras: int, complaints: int, incidents: int) -> None:
    rng = np.random.default_rng(11)
    now = datetime.now(UTC)
    kec = [f"Kec {i}" for i in range(18)]

    def points(n: int):
        return rng.uniform(*LON, n), rng.uniform(*LAT, n), rng.integers(0, len(kec), n)

    with db.session() as s:
        lon, lat, k = points(cameras)
        s.execute(
            Camera.__table__.insert(),
            [
                {"code": f"B-{i:05d}", "name": f"Kamera {i}", "lat": float(lat[i]),
                 "lon": float(lon[i]), "kecamatan": kec[k[i]], "owner": "rt",
                 "protocol": "snapshot", "is_public": False, "enabled": True,
                 "sample_interval_s": 60, "rois": [], "lines": [], "config": {}, "tags": [],
                 "status": "unknown", "is_demo": False, "created_at": now, "updated_at": now}
                for i in range(cameras)
            ],
        )  # fmt: skip
        lon, lat, k = points(complaints)
        rows = [
            {"tracking_id": f"B{i:07d}", "category": "waste", "description": "x",
             "lat": float(lat[i]), "lon": float(lon[i]), "kecamatan": kec[k[i]],
             "status": "new", "privacy": "normal", "channel": "web",
             "created_at": now - timedelta(minutes=i), "updated_at": now, "is_demo": False}
            for i in range(complaints)
        ]  # fmt: skip
        for start in range(0, len(rows), 20_000):
            s.execute(Complaint.__table__.insert(), rows[start : start + 20_000])
        lon, lat, k = points(incidents)
        s.execute(
            Incident.__table__.insert(),
            [
                {"kind": "crime", "source": "police", "title": "x", "lat": float(lat[i]),
                 "lon": float(lon[i]), "kecamatan": kec[k[i]], "status": "open",
                 "occurred_at": now - timedelta(minutes=i), "is_demo": False}
                for i in range(incidents)
            ],
        )  # fmt: skip


def densify(features, seg_deg: float = 0.0002):
    return [replace(f, geometry=shapely.segmentize(f.geometry, seg_deg)) for f in features]


def run(label: str, features, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pantau-bench-areas-"))
    settings = Settings(var_dir=tmp / "var", ingest_enabled=False)
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    populate(db, args.cameras, args.complaints, args.incidents)
    vertices = sum(shapely.get_num_coordinates(f.geometry) for f in features)
    stages: dict[str, float] = {}
    last = {"t": time.perf_counter(), "stage": None}

    def progress(stage: str, done: int, total: int) -> None:
        t = time.perf_counter()
        if done == 0:
            last["t"], last["stage"] = t, stage
        elif done >= total and last["stage"] == stage:
            stages[stage] = t - last["t"]

    load0 = os.getloadavg()[0]
    w0, c0 = time.perf_counter(), time.process_time()
    with db.session() as s:
        summary = store_areas(s, features, progress=progress)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"### {label}: {len(features)} polygons, {vertices:,} vertices")
    print(f"import + reassign + rollups, one transaction: {wall:.2f} s wall, {cpu:.2f} s CPU")
    for stage, secs in stages.items():
        print(f"  {stage}: {secs:.2f} s")
    print(f"  rows changed: {summary.reassigned}; inside a polygon: {summary.located}")
    # the point-in-polygon step alone for the complaints (no writes: nothing changes now)
    with db.session() as s:
        from store.areas import load_index

        index = load_index(s)
        t0 = time.perf_counter()
        changed, _moved, _inside = reassign_table(s, Complaint, index)
        print(
            f"  complaints again (read + locate {args.complaints:,} points, {changed} writes): "
            f"{time.perf_counter() - t0:.2f} s"
        )
    print(f"  load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_693)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=20_000)
    args = parser.parse_args()
    demo = demo_kecamatan()
    run("demo kecamatan", demo, args)
    run("demo kecamatan densified to ~20 m segments", densify(demo), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
