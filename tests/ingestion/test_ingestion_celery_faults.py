"""The Celery path under faults, for real: a camera farm where hanging, dripping, refusing and
slow cameras sit beside healthy ones, and the broker (a private redis-server) restarted under a
running scheduler and workers. ``pantau worker`` subprocesses, PostgreSQL, loopback cameras."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from celery_helpers import CameraServer, Cluster, PrivateRedis, worker_env
from ingest_helpers import make_camera, wait_for
from sqlalchemy import func, select
from test_ingestion_celery import celery_setup  # noqa: F401 - fixture

from ingestion.celery_scheduler import run_scheduler, slot_for
from ingestion.simulator import CameraSimulator, make_cameras
from store.models import Camera, Observation


def _due_slots(cam_id: int, interval: int, lo: float, hi: float) -> list[float]:
    """The slots of a camera in [lo, hi] (what the scheduler is due to sample)."""
    s = slot_for(cam_id, interval, lo)
    if s < lo:
        s += interval
    out = []
    while s <= hi:
        out.append(s)
        s += interval
    return out


def _stored(database, cam_ids: list[int], lo: float, hi: float) -> int:
    with database.session() as db:
        return db.scalar(
            select(func.count())
            .select_from(Observation)
            .where(
                Observation.camera_id.in_(cam_ids),
                Observation.slot >= datetime.fromtimestamp(lo, UTC),
                Observation.slot <= datetime.fromtimestamp(hi, UTC),
            )
        )


def _scheduler(settings, database, seconds: float):  # noqa: ANN001, ANN202
    stop = threading.Event()
    stats: dict = {}
    thread = threading.Thread(
        target=run_scheduler,
        args=(settings, database),
        kwargs={"stop": stop, "duration": seconds, "stats": stats},
        daemon=True,
    )
    thread.start()
    return stop, thread, stats


def test_faulty_cameras_do_not_starve_healthy_ones(celery_setup, pg_db):  # noqa: F811
    """22 healthy cameras beside 15 faulty ones (5 hang, 4 refuse, 3 trickle ~200 B/s, 3 drip
    1 B/s), all every 5 s and retried every slot (backoff capped at the interval): the healthy
    cameras keep >= 95 % of their due samples."""
    base, logdir = celery_setup
    interval = 5
    s = base.model_copy(update={"reconnect_max_s": float(interval)})
    faults = {i: "hang" for i in range(22, 27)}
    faults |= {i: "refuse" for i in range(27, 31)}
    faults |= {i: "slow" for i in range(31, 34)}
    sim = CameraSimulator(make_cameras(34, kinds=["quiet", "street", "crowd"], faults=faults))
    sim.start()
    drips = CameraServer()
    cluster = Cluster(worker_env(s, pg_db.url, s.celery_broker_url, s.celery_namespace), logdir)
    try:
        with pg_db.session() as db:
            healthy, faulty = [], []
            for i in range(34):
                cam = make_camera(
                    db,
                    f"FARM-{i:02d}",
                    sim.url(i, "snapshot"),
                    "snapshot",
                    sample_interval_s=interval,
                )
                (faulty if i in faults else healthy).append(cam.id)
            for j in range(3):
                cam = make_camera(
                    db,
                    f"DRIP-{j}",
                    drips.add(f"drip{j}", "drip"),
                    "snapshot",
                    sample_interval_s=interval,
                )
                faulty.append(cam.id)
        assert len(healthy) == 22 and len(faulty) == 15
        cluster.worker("fetch", 32)
        cluster.worker("analyse", 2)
        stop, thread, stats = _scheduler(s, pg_db, 75)
        # measure once the workers are up (start-up time is not what this test is about)
        assert wait_for(lambda: _stored(pg_db, healthy, 0, time.time() + 60) > 0, 30), (
            cluster.logs()
        )
        lo = time.time() + 1
        hi = lo + 30
        due = sum(len(_due_slots(c, interval, lo, hi)) for c in healthy)
        time.sleep(hi - time.time() + 2)
        stop.set()
        thread.join(30)
        # let the last samples through analysis (no more are enqueued)
        wait_for(lambda: _stored(pg_db, healthy, lo, hi) >= due, 25, interval=1)
        stored = _stored(pg_db, healthy, lo, hi)
        assert stored >= 0.95 * due, f"{stored} of {due} due samples\n{cluster.logs()}"
        with pg_db.session() as db:
            assert _stored(pg_db, faulty, 0, time.time()) == 0
            statuses = {db.get(Camera, c).status for c in faulty}
        assert statuses <= {"degraded", "offline"}, statuses
        assert stats["enqueued"] > 0
    finally:
        stop.set()
        cluster.stop()
        drips.stop()
        sim.stop()


def test_broker_restart_samples_continue_none_doubled(celery_setup, pg_db, tmp_path):  # noqa: F811
    """The broker (a private redis-server without persistence) stops for a few seconds under a
    running scheduler and workers: both reconnect, sampling carries on, and every camera has
    at most one observation per slot, all on its slot grid."""
    base, logdir = celery_setup
    broker = PrivateRedis(tmp_path).start()
    interval = 5
    s = base.model_copy(update={"celery_broker_url": broker.url})
    cams = CameraServer()
    cluster = Cluster(worker_env(s, pg_db.url, s.celery_broker_url, s.celery_namespace), logdir)
    stop = None
    try:
        with pg_db.session() as db:
            ids = [
                make_camera(
                    db, f"BRK-{i}", cams.add(f"c{i}"), "snapshot", sample_interval_s=interval
                ).id
                for i in range(6)
            ]
        workers = [cluster.worker("fetch", 4), cluster.worker("analyse", 1)]
        stop, thread, stats = _scheduler(s, pg_db, 80)

        def each_has(n: int, since: float) -> bool:
            return all(_stored(pg_db, [c], since, time.time() + 60) >= n for c in ids)

        assert wait_for(lambda: each_has(1, 0), 30, interval=0.5), cluster.logs()
        broker.stop()
        time.sleep(4)
        broker.start()
        restarted = time.time()
        assert wait_for(lambda: each_has(2, restarted + 1), 45, interval=1), (
            f"{stats}\n{cluster.logs()}"
        )
        stop.set()
        thread.join(15)
        assert stats["broker_errors"] > 0  # the scheduler did see the broker go
        assert all(w.poll() is None for w in workers)  # workers reconnected, still running
        full = "".join(p.read_text() for p in logdir.glob("*.log"))
        assert "Unrecoverable error" not in full  # by themselves, not by being restarted
        with pg_db.session() as db:
            for cam_id in ids:
                slots = [
                    r.replace(tzinfo=UTC).timestamp() if r.tzinfo is None else r.timestamp()
                    for r in db.scalars(
                        select(Observation.slot).where(Observation.camera_id == cam_id)
                    )
                ]
                assert len(slots) == len(set(slots))
                grid = slot_for(cam_id, interval, slots[0])
                off = [(x - grid) % interval for x in slots]
                assert all(min(o, interval - o) < 1e-3 for o in off), slots
                served = len(cams.cams[f"c{ids.index(cam_id)}"].hits)
                assert len(slots) <= served  # no sample written without a fetch of its own
    finally:
        if stop is not None:
            stop.set()
        cluster.stop()
        cams.stop()
        broker.stop()
