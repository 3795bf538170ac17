"""Scale-out: a real Celery worker process on Redis (DB 14) samples simulator cameras through
the same process_sample path and writes to the store; re-delivery of a task is a no-op."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from ingest_helpers import make_camera, wait_for
from sqlalchemy import func, select

from ingestion.celery_app import make_celery
from ingestion.simulator import CameraSimulator, make_cameras
from store.models import Camera, Observation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_env(settings, sqlite_db, redis_url):
    broker = redis_url.rsplit("/", 1)[0] + "/14"
    queue = f"pantau.test.{uuid.uuid4().hex[:8]}"
    s = settings.model_copy(
        update={
            "celery_broker_url": broker,
            "celery_result_backend": broker,
            "connect_timeout_s": 2.0,
            "read_timeout_s": 2.0,
        }
    )
    env = dict(os.environ)
    env.update(
        PANTAU_VAR_DIR=str(s.var_dir),
        PANTAU_DATABASE_URL=s.sqlalchemy_url,
        PANTAU_CELERY_BROKER_URL=broker,
        PANTAU_CELERY_RESULT_BACKEND=broker,
        PANTAU_CONNECT_TIMEOUT_S="2",
        PANTAU_READ_TIMEOUT_S="2",
        PANTAU_SIMULATE_CAMERAS="0",
    )
    celery_bin = str(Path(sys.executable).parent / "celery")
    proc = subprocess.Popen(
        [
            celery_bin,
            "-A",
            "ingestion.tasks",
            "worker",
            "-Q",
            queue,
            "--pool=threads",
            "-c",
            "2",
            "--loglevel=warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@localhost",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    app = make_celery(s)
    try:
        yield s, app, queue
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        if os.environ.get("PANTAU_TEST_VERBOSE"):
            print(out)
        app.close()


def test_celery_worker_writes_observations_idempotently(celery_env, sqlite_db):
    settings, app, queue = celery_env
    sim = CameraSimulator(make_cameras(2, kinds=["street", "flood"])).start()
    try:
        with sqlite_db.session() as s:
            a = make_camera(s, "CEL-1", sim.url(0, "snapshot"), "snapshot").id
            b = make_camera(s, "CEL-2", sim.url(1, "mjpeg"), "mjpeg").id
            dead = make_camera(s, "CEL-DEAD", "http://127.0.0.1:9/none.jpg", "snapshot").id
        due = time.time() // 60 * 60
        jobs = [
            app.send_task("pantau.sample_camera", args=(cam, due), queue=queue)
            for cam in (a, b, dead)
        ]
        results = [j.get(timeout=90) for j in jobs]
        assert [r["ok"] for r in results] == [True, True, False]
        assert results[0]["inserted"] == 1 and results[1]["inserted"] == 1
        assert "connect" in results[2]["reason"].lower()
        # re-delivery of the same sample: nothing new
        again = app.send_task("pantau.sample_camera", args=(a, due), queue=queue).get(timeout=60)
        assert again["ok"] and again["inserted"] == 0
        nxt = app.send_task("pantau.sample_camera", args=(a, due + 60), queue=queue).get(timeout=60)
        assert nxt["inserted"] == 1
        with sqlite_db.session() as s:
            per_cam = dict(
                s.execute(
                    select(Observation.camera_id, func.count()).group_by(Observation.camera_id)
                ).all()
            )
            assert per_cam == {a: 2, b: 1}
            assert s.get(Camera, a).status == "online"
            assert s.get(Camera, dead).status == "degraded"
        assert (settings.snapshot_dir / "CEL-1.jpg").exists()
    finally:
        sim.stop()


def test_celery_scheduler_enqueues_each_slot_once(celery_env, sqlite_db):
    from ingestion.tasks import run_scheduler

    settings, app, queue = celery_env
    sim = CameraSimulator(make_cameras(1, kinds=["street"])).start()
    try:
        with sqlite_db.session() as s:
            cam = make_camera(
                s, "SCH-1", sim.url(0, "snapshot"), "snapshot", sample_interval_s=1
            ).id
        sent = run_scheduler(settings, sqlite_db, duration=3.2, queue=queue)
        assert 3 <= sent <= 5

        def written() -> int:
            with sqlite_db.session() as s:
                return s.scalar(
                    select(func.count())
                    .select_from(Observation)
                    .where(Observation.camera_id == cam)
                )

        assert wait_for(lambda: written() >= 3, 60)
        assert written() <= sent
    finally:
        sim.stop()
