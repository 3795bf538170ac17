"""The Celery path for real: ``pantau worker`` subprocesses (fetch: threads, analyse: solo)
on Redis, PostgreSQL (and SQLite), loopback HTTP cameras.

Issue 9 item 4: a worker SIGKILLed mid-task has its sample redone and stored exactly once; a
dead camera goes offline once (two worker processes) and its attempts back off. The fault farm
and broker restart tests are in test_ingestion_celery_faults.py.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from celery_helpers import CameraServer, Cluster, drop_namespace, worker_env
from ingest_helpers import make_camera, wait_for
from sqlalchemy import func, select

from analytics.pipeline import Analyser
from ingestion.celery_app import ANALYSE_TASK, FETCH_QUEUE, FETCH_TASK, key, make_celery
from store.models import Camera, CameraStatusEvent, Observation


@pytest.fixture
def celery_setup(settings, redis_url, tmp_path):
    """Settings for a test cluster: its own Redis key namespace on the test Redis."""
    namespace = f"t{uuid.uuid4().hex[:8]}:"
    s = settings.model_copy(
        update={
            "celery_broker_url": redis_url,
            "celery_result_backend": "",
            "celery_namespace": namespace,
            "connect_timeout_s": 2.0,
            "read_timeout_s": 3.0,
            "celery_fetch_deadline_s": 5.0,
            "detector": "blob",
            "static_snapshot_every_s": 300,
        }
    )
    logdir = tmp_path / "logs"
    logdir.mkdir()
    yield s, logdir
    drop_namespace(redis_url, namespace)


def _obs(database, camera_id: int) -> list[tuple[datetime, datetime]]:
    with database.session() as s:
        return list(
            s.execute(
                select(Observation.slot, Observation.ts)
                .where(Observation.camera_id == camera_id)
                .order_by(Observation.slot)
            ).all()
        )


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _redis(settings):  # noqa: ANN001, ANN202
    import redis

    return redis.Redis.from_url(settings.celery_broker_url)


def _unacked_tasks(settings) -> list[str]:  # noqa: ANN001
    """Task names held by workers but not yet acknowledged (kombu's unacked hash)."""
    raw = _redis(settings).hvals(settings.celery_namespace + "unacked")
    return [json.loads(v)[0]["headers"]["task"] for v in raw]


def test_sigkilled_workers_tasks_are_redone_and_stored_once(celery_setup, pg_db):
    """A fetch worker SIGKILLed while it waits on a camera, and an analysis worker SIGKILLed
    while it holds an analysis: each sample is redelivered after the visibility timeout and
    stored exactly once (unique camera+slot), with the frame time as ts."""
    base, logdir = celery_setup
    s = base.model_copy(
        update={
            "celery_visibility_timeout_s": 6.0,
            "read_timeout_s": 30.0,
            "celery_fetch_deadline_s": 40.0,
        }
    )
    cams = CameraServer()
    env = worker_env(s, pg_db.url, s.celery_broker_url, s.celery_namespace)
    cluster = Cluster(env, logdir)
    app = make_celery(s)
    try:
        with pg_db.session() as db:
            a = make_camera(
                db, "KILL-FETCH", cams.add("a", "hold_first"), "snapshot", sample_interval_s=60
            ).id
            b = make_camera(
                db, "KILL-ANALYSE", cams.add("b", "ok"), "snapshot", sample_interval_s=60
            ).id
        slot = float(int(time.time()))
        fetcher = cluster.worker("fetch", 4)
        analyser = cluster.worker("analyse", 1)
        # (1) fetch worker dies while camera a holds its request open
        app.send_task(FETCH_TASK, args=(a, slot), queue=FETCH_QUEUE)
        assert cams.cams["a"].first_arrived.wait(60), cluster.logs()
        cluster.kill(fetcher)
        # (2) analysis worker dies while an analysis of camera b waits for b's lock (held here,
        # as by another analysis): the message is taken, the task is running, nothing acked
        r = _redis(s)
        r.set(key(s, "cam", b, "lock"), "held-by-test", px=60000)
        fetcher2 = cluster.worker("fetch", 4)
        app.send_task(FETCH_TASK, args=(b, slot), queue=FETCH_QUEUE)
        assert wait_for(lambda: _unacked_tasks(s).count(ANALYSE_TASK) == 1, 40, interval=0.05), (
            cluster.logs()
        )
        cluster.kill(analyser)  # at once: the visibility timeout (6 s) is shorter than the wait
        r.delete(key(s, "cam", b, "lock"))
        cams.cams["a"].release.set()
        cluster.worker("analyse", 1)
        t_kill = time.time()
        assert wait_for(lambda: len(_obs(pg_db, a)) >= 1 and len(_obs(pg_db, b)) >= 1, 60), (
            cluster.logs()
        )
        redone_in = time.time() - t_kill
        time.sleep(s.celery_visibility_timeout_s + 3)  # a second redelivery would show by now
        for cam_id in (a, b):
            rows = _obs(pg_db, cam_id)
            assert len(rows) == 1, rows
            stored_slot, frame_ts = rows[0]
            assert _aware(stored_slot).timestamp() == slot
            assert _aware(frame_ts).timestamp() >= t_kill - 60  # when the frame was read
        assert len(cams.cams["a"].hits) >= 2  # the killed fetch, then the redelivered one
        assert redone_in < 2 * 60  # within two intervals of the camera
        assert fetcher2.poll() is None
    finally:
        app.close()
        cluster.stop()
        cams.stop()


def test_dead_camera_goes_offline_once_and_backs_off(celery_setup, pg_db):
    """Two fetch worker processes share one camera's health: the dead camera's offline
    transition is written once, and its attempts back off (interval, 2x, 4x ... capped)."""
    from ingestion.celery_scheduler import run_scheduler

    base, logdir = celery_setup
    interval, cap = 5, 20.0
    s = base.model_copy(update={"offline_after_failures": 2, "reconnect_max_s": cap})
    cams = CameraServer()
    env = worker_env(s, pg_db.url, s.celery_broker_url, s.celery_namespace)
    cluster = Cluster(env, logdir)
    try:
        with pg_db.session() as db:
            dead = make_camera(
                db, "DEAD-1", cams.add("dead", "dead"), "snapshot", sample_interval_s=interval
            ).id
            ok = make_camera(
                db, "OK-1", cams.add("ok", "ok"), "snapshot", sample_interval_s=interval
            ).id
        cluster.worker("fetch", 4)
        cluster.worker("fetch", 4)
        cluster.worker("analyse", 1)
        stop = threading.Event()
        thread = threading.Thread(
            target=run_scheduler,
            args=(s, pg_db),
            kwargs={"stop": stop, "duration": 60},
            daemon=True,
        )
        thread.start()
        assert wait_for(lambda: len(_obs(pg_db, ok)) >= 1, 30), cluster.logs()
        time.sleep(45)
        stop.set()
        thread.join(10)
        hits = cams.cams["dead"].hits
        with pg_db.session() as db:
            events = [
                e.status
                for e in db.scalars(
                    select(CameraStatusEvent)
                    .where(CameraStatusEvent.camera_id == dead)
                    .order_by(CameraStatusEvent.ts)
                )
            ]
            status = db.get(Camera, dead).status
        assert events == ["degraded", "offline"], events
        assert status == "offline"
        gaps = [b - a for a, b in zip(hits, hits[1:], strict=False)]
        # without backoff a 5 s camera is tried ~10 times in 50 s; with it 5, 10, 20, 20 ... s
        assert 3 <= len(hits) <= 6, gaps
        assert gaps[0] < interval + 2
        assert max(gaps) >= 3 * interval, gaps
        assert all(g <= cap + interval + 2 for g in gaps), gaps
        assert all(b >= a - 1 for a, b in zip(gaps, gaps[1:], strict=False)), gaps
        assert len(_obs(pg_db, ok)) >= 8  # the healthy camera went on meanwhile
    finally:
        cluster.stop()
        cams.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_redelivered_fetch_writes_nothing_new(celery_setup, backend, request, settings):
    """The same (camera, slot) fetched twice writes one observation; the next slot another;
    an undecodable frame is a camera failure, not a crash. SQLite and PostgreSQL."""
    from ingestion.simulator import CameraSimulator, make_cameras

    database = request.getfixturevalue("sqlite_db" if backend == "sqlite" else "pg_db")
    s, logdir = celery_setup
    sim = CameraSimulator(make_cameras(2, kinds=["street", "quiet"], faults={1: "garbage"}))
    sim.start()
    cluster = Cluster(worker_env(s, database.url, s.celery_broker_url, s.celery_namespace), logdir)
    app = make_celery(s)
    try:
        with database.session() as db:
            a = make_camera(
                db, "IDEM-1", sim.url(0, "snapshot"), "snapshot", sample_interval_s=60
            ).id
            bad = make_camera(
                db, "GARBAGE-1", sim.url(1, "snapshot"), "snapshot", sample_interval_s=60
            ).id
        cluster.worker("fetch", 2)
        cluster.worker("analyse", 1)
        slot = float(int(time.time()))
        for cam_id in (a, bad):
            app.send_task(FETCH_TASK, args=(cam_id, slot), queue=FETCH_QUEUE)
        assert wait_for(lambda: len(_obs(database, a)) == 1, 60), cluster.logs()

        def bad_status() -> str:
            with database.session() as db:
                return db.get(Camera, bad).status

        assert wait_for(lambda: bad_status() == "degraded", 30), cluster.logs()
        app.send_task(FETCH_TASK, args=(a, slot), queue=FETCH_QUEUE)  # a duplicate delivery
        app.send_task(FETCH_TASK, args=(a, slot + 60), queue=FETCH_QUEUE)
        assert wait_for(lambda: len(_obs(database, a)) == 2, 60), cluster.logs()
        time.sleep(2)
        assert [_aware(r[0]).timestamp() for r in _obs(database, a)] == [slot, slot + 60]
        with database.session() as db:
            reason = db.get(Camera, bad).status_reason or ""
            n = db.scalar(
                select(func.count()).select_from(Observation).where(Observation.camera_id == bad)
            )
        assert "corrupt" in reason.lower() and n == 0
        assert (s.snapshot_dir / "IDEM-1.jpg").exists()
    finally:
        app.close()
        cluster.stop()
        sim.stop()


@pytest.mark.xfail(
    not hasattr(Analyser, "export_state"),
    reason="the Analyser cannot export its state yet (analytics engineer)",
    strict=True,
)
def test_analysis_state_follows_the_camera(celery_setup, pg_db):
    """A camera's analysis state lives in Redis, not in the process that sampled it: after
    its analysis worker is replaced, the next sample runs warm on the new one (no warm-up
    frames fetched, counts known), not as a first sample."""
    s, logdir = celery_setup
    cams = CameraServer()
    cluster = Cluster(worker_env(s, pg_db.url, s.celery_broker_url, s.celery_namespace), logdir)
    app = make_celery(s)
    try:
        with pg_db.session() as db:
            cam = make_camera(db, "MOVE-1", cams.add("m"), "snapshot", sample_interval_s=60).id
        cluster.worker("fetch", 2)
        first = cluster.worker("analyse", 1)
        slot = float(int(time.time()))
        app.send_task(FETCH_TASK, args=(cam, slot), queue=FETCH_QUEUE)
        assert wait_for(lambda: len(_obs(pg_db, cam)) == 1, 60), cluster.logs()
        hits_first = len(cams.cams["m"].hits)
        assert hits_first == 1 + s.cold_start_frames  # a cold camera is warmed up first
        cluster.stop_one(first)
        cluster.worker("analyse", 1)
        app.send_task(FETCH_TASK, args=(cam, slot + 60), queue=FETCH_QUEUE)
        assert wait_for(lambda: len(_obs(pg_db, cam)) == 2, 60), cluster.logs()
        assert len(cams.cams["m"].hits) == hits_first + 1  # warm: one frame, no warm-up
        with pg_db.session() as db:
            rows = list(
                db.scalars(
                    select(Observation)
                    .where(Observation.camera_id == cam)
                    .order_by(Observation.slot)
                )
            )
        for row in rows:
            assert row.people is not None and not (row.extra or {}).get("cold"), row.extra
    finally:
        app.close()
        cluster.stop()
        cams.stop()


def test_a_cold_cameras_warm_up_does_not_hold_the_fetch_thread(celery_setup, pg_db):
    """A cold snapshot camera's warm-up frames are fetched by later tasks (a countdown), so
    the fetch thread serves other cameras in between: with ONE fetch thread, camera B's first
    frame is fetched during camera A's warm-up pause (5 s), not after it. Both samples are
    still warmed up (1 + cold_start_frames frames each) and stored with known counts."""
    s, logdir = celery_setup
    cams = CameraServer()
    env = worker_env(s, pg_db.url, s.celery_broker_url, s.celery_namespace)
    env["PANTAU_COLD_START_INTERVAL_S"] = "5"
    cluster = Cluster(env, logdir)
    app = make_celery(s)
    try:
        with pg_db.session() as db:
            a = make_camera(db, "WARM-A", cams.add("a"), "snapshot", sample_interval_s=60).id
            b = make_camera(db, "WARM-B", cams.add("b"), "snapshot", sample_interval_s=60).id
        cluster.worker("fetch", 1)
        cluster.worker("analyse", 1)
        slot = float(int(time.time()))
        app.send_task(FETCH_TASK, args=(a, slot), queue=FETCH_QUEUE)
        assert wait_for(lambda: len(cams.cams["a"].hits) >= 1, 60), cluster.logs()
        app.send_task(FETCH_TASK, args=(b, slot), queue=FETCH_QUEUE)
        done = lambda: len(_obs(pg_db, a)) == 1 and len(_obs(pg_db, b)) == 1  # noqa: E731
        assert wait_for(done, 90), cluster.logs()
        hits_a, hits_b = cams.cams["a"].hits, cams.cams["b"].hits
        assert len(hits_a) == len(hits_b) == 1 + s.cold_start_frames
        assert hits_b[0] < hits_a[1], (hits_a, hits_b)  # B fetched while A waited
        with pg_db.session() as db:
            rows = list(db.scalars(select(Observation).where(Observation.camera_id.in_([a, b]))))
        for row in rows:
            assert row.people is not None and not (row.extra or {}).get("cold"), row.extra
    finally:
        app.close()
        cluster.stop()
        cams.stop()


def test_worker_command_rejects_bad_options():
    """`pantau worker` says what is wrong instead of starting something half-configured."""
    import os
    import subprocess

    from celery_helpers import PANTAU, ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args, message in (
        (["--role", "bogus"], "unknown role"),
        (["--concurrency", "4"], "need a single --role"),
        (["--role", "fetch", "--concurrency", "0"], "at least 1"),
        (["--role", "analyse", "--pool", "gevent"], "unknown pool"),
        (["--prefetch", "0"], "between 1 and 16"),
    ):
        out = subprocess.run(
            [PANTAU, "worker", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 1 and message in out.stdout + out.stderr, (args, out)


def test_solo_analysis_role_is_one_consuming_process_each(settings):
    """`pantau worker` runs N analysis processes as N solo workers that each consume the queue
    directly (no prefork parent in between), with distinct names; prefork stays available."""
    from ingestion.celery_worker import worker_argvs

    solo = worker_argvs(settings, "analyse", concurrency=3, name="city")
    assert len(solo) == 3
    assert all("--pool=solo" in a and "--queues=pantau.analyse" in a for a in solo)
    names = [next(x for x in a if x.startswith("--hostname=")) for a in solo]
    assert len(set(names)) == 3 and names[0] == "--hostname=city-1@%h"
    assert all("--prefetch-multiplier=1" in a for a in solo)
    two = worker_argvs(settings, "analyse", concurrency=2, prefetch=3)
    assert all("--prefetch-multiplier=3" in a for a in two)
    (prefork,) = worker_argvs(settings, "analyse", concurrency=2, pool="prefork")
    assert "--pool=prefork" in prefork and "--concurrency=2" in prefork
    (fetch,) = worker_argvs(settings, "fetch", concurrency=8, prefetch=3)
    assert "--pool=threads" in fetch and "--prefetch-multiplier=1" in fetch


def test_solo_time_limits_soft_raises_hard_ends_the_process(tmp_path):
    """In a solo worker Celery enforces no time limits: the analysis task's own limits raise
    SoftTimeLimitExceeded at the soft limit, and a task that ignores it (stuck) ends its
    process at the hard limit after the bookkeeping callback ran."""
    import subprocess
    import sys

    from celery_helpers import ROOT

    script = tmp_path / "stuck.py"
    marker = tmp_path / "hard.txt"
    script.write_text(
        "import time\n"
        "from celery.exceptions import SoftTimeLimitExceeded\n"
        "from ingestion.celery_app import time_limits\n"
        "try:\n"
        "    time_limits.run(lambda: time.sleep(30), 0.3, 5)\n"
        "except SoftTimeLimitExceeded:\n"
        "    print('soft', flush=True)\n"
        "assert time_limits.run(lambda: 7, 0.3, 1) == 7\n"
        "time.sleep(1.5)  # past the earlier hard limit: a finished task never fires it\n"
        "print('alive', flush=True)\n"
        "def stuck():\n"
        "    while True:\n"
        "        try:\n"
        "            time.sleep(30)\n"
        "        except SoftTimeLimitExceeded:\n"
        "            print('ignored', flush=True)\n"
        f"time_limits.run(stuck, 0.3, 1.5, lambda: open({str(marker)!r}, 'w').write('x'))\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["soft", "alive", "ignored"], out
    assert out.returncode == 70, out
    assert marker.read_text() == "x"


def test_hard_limited_sample_is_not_redone(celery_setup):
    """What a solo worker records before ending itself at the hard limit: the sample's slot as
    the camera's last, so the task's redelivery is dropped (the prefork pool acks it)."""
    from ingestion.tasks import ORDER_TTL_S, _drop_redelivery

    s, _ = celery_setup
    r = _redis(s)
    _drop_redelivery(s, 41, 1000.0)()
    assert float(r.get(key(s, "cam", 41, "slot"))) == 1000.0
    assert r.ttl(key(s, "cam", 41, "slot")) > ORDER_TTL_S - 60
    r.set(key(s, "cam", 42, "slot"), "2000.0")
    _drop_redelivery(s, 42, 1000.0)()  # never moves a camera back in time
    assert float(r.get(key(s, "cam", 42, "slot"))) == 2000.0


def test_scheduler_publishes_a_tick_in_one_batch(celery_setup):
    """The scheduler's fetch tasks of one tick go out through one pipelined batch: every one
    arrives, once, with its camera, slot and expiry; an unreachable broker raises (the
    scheduler then sends the slots again next round)."""
    from ingestion.celery_scheduler import PUBLISH_BATCH, _publish

    s, _ = celery_setup
    app = make_celery(s)
    now = time.time()
    n = PUBLISH_BATCH + 37  # more than one batch
    try:
        _publish(app, s, [(i, 10, now + i) for i in range(n)], now)
    finally:
        app.close()
    raw = _redis(s).lrange(s.celery_namespace + FETCH_QUEUE, 0, -1)
    assert len(raw) == n
    import base64

    bodies = [json.loads(base64.b64decode(json.loads(m)["body"]))[0] for m in raw]
    assert sorted(b[0] for b in bodies) == list(range(n))
    assert all(b[1] == now + b[0] for b in bodies)
    heads = [json.loads(m)["headers"] for m in raw]
    assert all(h["task"] == FETCH_TASK and h["expires"] for h in heads)
    down = s.model_copy(update={"celery_broker_url": "redis://127.0.0.1:1/0"})
    app = make_celery(down)
    try:
        with pytest.raises(Exception):  # noqa: B017 - kombu/redis connection error
            _publish(app, down, [(1, 10, now)], now)
    finally:
        app.close()
