"""The writer: idempotent on re-delivery, survives database hiccups without losing a batch,
isolates a poison row; process_sample writes snapshots atomically (public ones blurred)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from ingest_helpers import make_camera, wait_for
from sqlalchemy import create_engine, func, select, text

from analytics.synthetic import SyntheticScene
from ingestion.health import Transition
from ingestion.process import CameraSpec, SampleProcessor, SampleResult, observation_row
from ingestion.writer import Writer, write_batch
from store.db import Database
from store.models import Camera, CameraStatusEvent, Observation

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _result(cam_id: int, ts: datetime, people: int = 3) -> SampleResult:
    obs = {"camera_id": cam_id, "ts": ts, "people": people, "vehicles_total": 1, "analyser": "test"}
    return SampleResult(
        camera_id=cam_id, code=f"C{cam_id}", ts=ts, observation=obs, snapshot="x.jpg"
    )


def _count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Observation))


def test_redelivered_samples_are_written_once(db):
    with db.session() as s:
        cam_id = make_camera(s, "IDEM-1", "http://x", "snapshot").id
    batch = [_result(cam_id, T0 + timedelta(minutes=i)) for i in range(5)]
    with db.session() as s:
        assert write_batch(s, batch) == 5
    with db.session() as s:  # the same samples again (a Celery retry, a worker restart)
        assert write_batch(s, batch + [_result(cam_id, T0 + timedelta(minutes=5))]) == 1
    assert _count(db) == 6
    with db.session() as s:
        cam = s.get(Camera, cam_id)
        assert cam.last_seen_at.replace(tzinfo=UTC) == T0 + timedelta(minutes=5)
        assert cam.last_snapshot == "x.jpg"


def test_last_seen_moves_only_forward_and_keeps_the_snapshot(db):
    """A camera's last-seen time is the newest sample's (a late sample of an older slot does
    not move it back); a sample without a snapshot keeps the camera's previous one."""
    with db.session() as s:
        a = make_camera(s, "SEEN-A", "http://x", "snapshot").id
        b = make_camera(s, "SEEN-B", "http://y", "snapshot").id
    t2 = T0 + timedelta(minutes=2)
    with db.session() as s:
        write_batch(s, [_result(a, t2), _result(b, T0)])
    late = _result(a, T0 + timedelta(minutes=1))
    late.snapshot = "late.jpg"
    newer = _result(b, t2)
    newer.snapshot = None
    with db.session() as s:
        write_batch(s, [late, newer])
    with db.session() as s:
        cam_a, cam_b = s.get(Camera, a), s.get(Camera, b)
        assert cam_a.last_seen_at.replace(tzinfo=UTC) == t2
        assert cam_a.last_snapshot == "x.jpg"  # the late sample's snapshot is not newer
        assert cam_b.last_seen_at.replace(tzinfo=UTC) == t2
        assert cam_b.last_snapshot == "x.jpg"  # kept: the newer sample had none


def test_status_transitions_update_camera_and_log_events(db, settings):
    with db.session() as s:
        cam_id = make_camera(s, "ST-1", "http://x", "snapshot").id
    writer = Writer(db, settings, flush_interval_s=0.1).start()
    writer.submit(
        Transition(cam_id, "offline", "Tidak terhubung / cannot connect: refused", time.time())
    )
    writer.stop()
    with db.session() as s:
        cam = s.get(Camera, cam_id)
        assert (cam.status, cam.status_reason) == (
            "offline",
            "Tidak terhubung / cannot connect: refused",
        )
        assert s.scalar(select(func.count()).select_from(CameraStatusEvent)) == 1


def test_writer_survives_killed_postgres_connection(pg_db, settings):
    """Kill the writer's backend while its transaction waits on a lock: the batch is retried
    on a fresh connection and lands once the lock is released."""
    with pg_db.session() as s:
        cam_id = make_camera(s, "PG-1", "http://x", "snapshot").id
    app_name = f"pantau_writer_{uuid.uuid4().hex[:8]}"
    url = pg_db.url + f"&application_name={app_name}"
    wdb = Database(url)
    admin = create_engine(pg_db.url)
    writer = Writer(wdb, settings, flush_interval_s=0.1, max_retry_sleep_s=0.5)
    try:
        with admin.connect() as locker:
            tx = locker.begin()
            locker.execute(text("LOCK TABLE observations IN ACCESS EXCLUSIVE MODE"))
            writer.start()
            writer.submit(_result(cam_id, T0))

            def writer_waiting() -> list:
                with admin.connect() as c:
                    return c.execute(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = :a "
                            "AND wait_event_type = 'Lock'"
                        ),
                        {"a": app_name},
                    ).all()

            pids = wait_for(writer_waiting, 10)
            assert pids, "the writer never blocked on the lock"
            with admin.connect() as c:
                for (pid,) in pids:
                    c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            assert wait_for(lambda: writer.stats.retries >= 1, 10)
            tx.rollback()  # release the lock
        assert wait_for(lambda: writer.stats.observations == 1, 15), writer.snapshot()
        assert _count(pg_db) == 1
        assert writer.stats.dropped == 0
    finally:
        writer.stop()
        wdb.dispose()
        admin.dispose()


def test_writer_waits_out_a_locked_sqlite_file(sqlite_db, settings):
    with sqlite_db.session() as s:
        cam_id = make_camera(s, "SQ-1", "http://x", "snapshot").id
    path = sqlite_db.url.split(":///", 1)[1]
    locker = sqlite3.connect(path, timeout=1, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    writer = Writer(sqlite_db, settings, flush_interval_s=0.1).start()
    try:
        writer.submit(_result(cam_id, T0))
        time.sleep(1.5)
        assert writer.stats.observations == 0  # blocked, not lost
        threading.Timer(0.1, locker.rollback).start()
        assert wait_for(lambda: writer.stats.observations == 1, 20), writer.snapshot()
    finally:
        writer.stop()
        locker.close()
    assert _count(sqlite_db) == 1


def test_poison_row_is_isolated_not_fatal(sqlite_db, settings):
    with sqlite_db.session() as s:
        cam_id = make_camera(s, "PO-1", "http://x", "snapshot").id
    writer = Writer(sqlite_db, settings, flush_interval_s=0.3).start()
    good = [_result(cam_id, T0 + timedelta(minutes=i)) for i in range(3)]
    bad = _result(999_999, T0)  # no such camera: foreign key violation
    for r in [good[0], bad, *good[1:]]:
        writer.submit(r)
    writer.stop()
    assert _count(sqlite_db) == 3
    assert writer.stats.dropped == 1 and "999999" in writer.stats.errors[0].replace("C", "")


def test_process_sample_snapshots_and_row(settings):
    scene = SyntheticScene("street", 5, 640, 360)
    cfg = scene.analytics_config()
    cam = CameraSpec(
        7,
        "SNAP-1",
        "",
        "snapshot",
        is_public=True,
        analytics={"rois": cfg["rois"], "lines": cfg["lines"], "flood": cfg["flood"]},
    )
    proc = SampleProcessor(settings)
    assert proc.needs_warmup(cam)  # no history yet: the worker fetches warm-up frames first
    warmup = [scene.frame_at(t)[0] for t in (10.0, 11.0, 12.0)]
    for i, t in enumerate((0.0, 1.0, 2.0)):
        frame, truth = scene.frame_at(t)
        res = proc.process_burst(
            cam, [frame], T0 + timedelta(seconds=i), warmup=warmup if i == 0 else ()
        )
    assert not proc.needs_warmup(cam)
    row = res.observation
    assert row["camera_id"] == 7 and row["ts"] == T0 + timedelta(seconds=2)
    assert row["water_coverage"] is not None and row["vehicles_total"] >= 0
    snap = settings.snapshot_dir / "SNAP-1.jpg"
    public = settings.snapshot_dir / "SNAP-1.public.jpg"
    assert snap.read_bytes()[:2] == b"\xff\xd8" and public.read_bytes()[:2] == b"\xff\xd8"
    assert not list(settings.snapshot_dir.glob(".*tmp"))  # atomic: no temp files left
    with pytest.raises(ValueError):
        proc.process_sample(cam, b"not an image", T0)  # type: ignore[arg-type]


def test_observation_row_maps_line_crossings():
    from analytics.types import FrameResult

    fr = FrameResult(ts=0.0, analyser="blob", people=2, line_crossings={"a": {"in": 3, "out": 1}})
    row = observation_row(1, T0, fr, None)
    assert (row["flow_in"], row["flow_out"], row["people"]) == (3, 1, 2)


def test_burst_gives_line_crossing_flow(settings):
    scene = SyntheticScene("street", 9, 640, 360)
    cfg = scene.analytics_config()
    cam = CameraSpec(
        8,
        "BURST-1",
        "",
        "mjpeg",
        analytics={"rois": cfg["rois"], "lines": cfg["lines"]},
        burst_frames=8,
    )
    proc = SampleProcessor(settings)
    frames = [scene.frame_at(10.0 + i * 0.5)[0] for i in range(20)]
    res = proc.process_burst(cam, frames, T0)
    row = res.observation
    assert row["flow_in"] is not None and row["flow_out"] is not None
    assert row["flow_in"] + row["flow_out"] >= 1  # traffic crosses the middle line
    assert row["extra"]["line_crossings"]


def test_camera_spec_reads_burst_config():
    cam = Camera(
        id=3,
        code="B",
        name="b",
        lat=0,
        lon=0,
        stream_url="http://x",
        protocol="mjpeg",
        sample_interval_s=60,
        lines=[{"name": "l", "a": [0, 0.5], "b": [1, 0.5]}],
        rois=[],
        config={"burst": {"frames": 50, "interval_s": 0.2}},
        tags=[],
    )
    spec = CameraSpec.from_camera(cam)
    assert (spec.burst_frames, spec.burst_interval_s) == (25, 0.2)  # capped
    cam.lines = []
    assert CameraSpec.from_camera(cam).burst_frames == 1  # no line: no burst needed
