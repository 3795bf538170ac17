"""The writer's backlog during a long database outage: bounded memory, order kept, nothing
lost, and what is still waiting at a stop is written at the next start."""

from __future__ import annotations

import queue
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from ingest_helpers import make_camera, wait_for
from sqlalchemy import func, select

from ingestion.backlog import SpillingQueue, decode, encode
from ingestion.health import Transition
from ingestion.process import SampleResult
from ingestion.writer import Writer
from store.db import Database
from store.models import Camera, Observation

T0 = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def _result(cam_id: int, i: int) -> SampleResult:
    ts = T0 + timedelta(minutes=i)
    obs = {
        "camera_id": cam_id,
        "ts": ts,
        "slot": ts,
        "people": i % 7,
        "vehicles_total": 1,
        "analyser": "test",
        "extra": {"cold": False, "rois": [{"name": "trotoar", "people": i % 3}]},
    }
    return SampleResult(camera_id=cam_id, code=f"C{cam_id}", ts=ts, observation=obs)


def _drain(q: SpillingQueue) -> list:
    out = []
    while True:
        try:
            out.append(q.get(timeout=0.05))
        except queue.Empty:
            return out


def test_codec_round_trips_results_and_transitions():
    r = _result(3, 5)
    r.evidence_jpeg = b"\xff\xd8\x00binary\xff\xd9"
    r.timings_ms = {"fetch": 1.5}
    t = Transition(3, "offline", "Tidak terhubung / refused", 1_764_000_000.5)
    assert decode(encode(r)) == r
    assert decode(encode(t)) == t
    assert encode(r).endswith(b"\n") and encode(r).count(b"\n") == 1


def test_memory_stays_bounded_and_nothing_is_lost(tmp_path):
    q = SpillingQueue(tmp_path / "b.jsonl", memory_items=50, chunk=20)
    got: list[datetime] = []
    peak = 0
    for i in range(400):  # the producer far ahead of the consumer, then interleaved
        q.put(_result(1, i))
        peak = max(peak, q.in_memory)
        if i > 200 and i % 3 == 0:
            got.append(q.get(timeout=1).ts)
            peak = max(peak, q.in_memory)
    assert peak <= 50
    assert q.on_disk > 0 and q.spilled_total >= 300
    got += [r.ts for r in _drain(q)]
    assert got == [T0 + timedelta(minutes=i) for i in range(400)]
    assert q.qsize() == 0 and q.on_disk == 0
    assert (tmp_path / "b.jsonl").stat().st_size == 0  # truncated once read back


def test_fifo_across_the_memory_disk_boundary(tmp_path):
    q = SpillingQueue(tmp_path / "b.jsonl", memory_items=10, chunk=4)
    seen: list[datetime] = []
    n = 0
    for burst in (25, 3, 40, 1, 12):
        for _ in range(burst):
            q.put(_result(1, n))
            n += 1
        for _ in range(burst // 2):
            seen.append(q.get(timeout=1).ts)
            assert q.in_memory <= 10
    seen += [r.ts for r in _drain(q)]
    assert seen == [T0 + timedelta(minutes=i) for i in range(n)]


def test_a_full_file_drops_and_counts(tmp_path):
    one = len(encode(_result(1, 0)))
    q = SpillingQueue(tmp_path / "b.jsonl", memory_items=5, max_bytes=one * 10 + one // 2)
    for i in range(30):
        q.put(_result(1, i))
    assert q.in_memory == 5 and q.on_disk == 10
    assert q.dropped == 15
    assert len(_drain(q)) == 15


def test_reopen_replays_and_cuts_a_torn_line(tmp_path):
    path = tmp_path / "b.jsonl"
    q = SpillingQueue(path, memory_items=2)
    for i in range(6):
        q.put(_result(1, i))
    assert q.persist([_result(1, 99)]) == 7
    q.close()
    with open(path, "ab") as f:
        f.write(b'{"k":"r","v":{"camera_id":1,')  # a crash mid-append
    q2 = SpillingQueue(path, memory_items=2)
    assert q2.qsize() == 7
    assert [r.observation["people"] for r in _drain(q2)] == [99 % 7, 0, 1, 2, 3, 4, 5]
    q2.close()


def test_a_second_writer_on_the_same_file_keeps_memory(tmp_path):
    q1 = SpillingQueue(tmp_path / "b.jsonl", memory_items=2)
    q2 = SpillingQueue(tmp_path / "b.jsonl", memory_items=2)
    assert q1.path is not None and q2.path is None
    for i in range(5):
        q2.put(_result(1, i))
    assert q2.in_memory == 5 and q2.on_disk == 0
    q1.close()
    q2.close()


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Observation))


@pytest.fixture
def small_backlog(settings):
    settings.writer_memory_backlog = 100
    return settings


def test_writer_spills_during_a_sqlite_lock_and_writes_everything_after(sqlite_db, small_backlog):
    with sqlite_db.session() as s:
        cam_id = make_camera(s, "SPILL-1", "http://x", "snapshot").id
    path = sqlite_db.url.split(":///", 1)[1]
    locker = sqlite3.connect(path, timeout=1, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    writer = Writer(
        sqlite_db, small_backlog, flush_interval_s=0.1, max_retry_sleep_s=0.3, batch_max=50
    )
    writer.start()
    try:
        for i in range(1500):
            writer.submit(_result(cam_id, i))
        assert wait_for(lambda: writer.stats.retries >= 1, 60)
        snap = writer.snapshot()
        assert snap["pending_on_disk"] > 1000, snap
        assert writer._q.in_memory <= 100
        assert _count(sqlite_db) == 0
        threading.Timer(0.1, locker.rollback).start()
        assert wait_for(lambda: writer.stats.observations == 1500, 60), writer.snapshot()
    finally:
        writer.stop()
        locker.close()
    assert _count(sqlite_db) == 1500
    assert writer.snapshot()["dropped"] == 0
    with sqlite_db.session() as s:  # the last sample reached the camera row
        seen = s.get(Camera, cam_id).last_seen_at.replace(tzinfo=UTC)
    assert seen == T0 + timedelta(minutes=1499)


def test_a_stop_during_an_outage_keeps_the_backlog_for_the_next_start(sqlite_db, small_backlog):
    with sqlite_db.session() as s:
        cam_id = make_camera(s, "SPILL-2", "http://x", "snapshot").id
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/pantau?connect_timeout=2")
    writer = Writer(down, small_backlog, flush_interval_s=0.1, max_retry_sleep_s=0.3, batch_max=40)
    writer.start()
    for i in range(300):
        writer.submit(_result(cam_id, i))
    writer.submit(Transition(cam_id, "offline", "Tidak terhubung / refused", T0.timestamp()))
    assert wait_for(lambda: writer.stats.retries >= 1, 60)
    writer.stop(timeout=90)  # gives up after ~20 s of retrying with the database still down
    down.dispose()
    assert writer.stats.persisted == 301
    assert writer.snapshot()["dropped"] == 0
    assert _count(sqlite_db) == 0

    again = Writer(sqlite_db, small_backlog, flush_interval_s=0.1).start()
    assert wait_for(lambda: again.stats.observations == 300, 30), again.snapshot()
    again.stop()
    assert _count(sqlite_db) == 300
    with sqlite_db.session() as s:
        assert s.get(Camera, cam_id).status == "offline"
    backlog = small_backlog.var_dir / "ingest" / "writer-backlog.jsonl"
    assert backlog.stat().st_size == 0


def test_an_entry_larger_than_a_read_block_comes_back_whole(tmp_path):
    """An evidence frame of 1.5 MB makes one backlog line longer than the 1 MiB read block."""
    q = SpillingQueue(tmp_path / "b.jsonl", memory_items=1, chunk=10)
    big = _result(1, 1)
    big.evidence_jpeg = bytes(range(256)) * 6000  # 1,536,000 bytes
    for r in (_result(1, 0), big, _result(1, 2)):
        q.put(r)
    assert q.on_disk == 2
    got = _drain(q)
    assert [r.ts for r in got] == [T0 + timedelta(minutes=i) for i in range(3)]
    assert got[1].evidence_jpeg == big.evidence_jpeg
    assert q.dropped == 0
