"""Admission control of the Celery scheduler: the queues hold no more than the workers can
finish in time, so an overloaded city degrades (fewer samples, all fresh) instead of
collapsing (every task stale)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from celery_helpers import drop_namespace
from ingest_helpers import make_camera

from ingestion.admission import QueueGate, queue_lengths
from ingestion.celery_app import ANALYSE_QUEUE, FETCH_QUEUE, redis_client


def test_gate_starts_at_the_floor_and_follows_the_measured_rate():
    gate = QueueGate(target_wait_s=20, floor=200, alpha=0.3)
    assert gate.room() == 200  # nothing measured yet: the floor
    gate.observe(0.0, 0, 0)
    gate.enqueued(300)
    assert gate.room() == 0  # 300 sent on a floor of 200
    # one second later 100 fetch tasks wait: the workers fetched 200 and analysed them all
    gate.observe(1.0, 100, 0)
    assert gate.rate == pytest.approx(200.0)
    assert gate.limit == 4000  # 200/s x 20 s
    assert gate.room() == 3900
    # analysis falls behind: 200 more fetched, but 150 of them wait for analysis
    gate.enqueued(200)
    gate.observe(2.0, 100, 150)
    assert gate.rate == pytest.approx(0.7 * 200 + 0.3 * 50)  # the slower stage counts
    assert gate.room() == int(155 * 20) - 250


def test_gate_ignores_an_idle_pipeline_and_short_spans():
    gate = QueueGate(target_wait_s=10, floor=50)
    gate.observe(0.0, 0, 0)
    gate.observe(5.0, 0, 0)  # nothing queued, nothing sent: no capacity measured
    assert gate.rate is None and gate.limit == 50
    gate.enqueued(40)
    gate.observe(5.2, 40, 0)  # too short a span to measure: only the queue length counts
    assert gate.rate is None and gate.room() == 10
    gate.observe(6.0, 0, 0)  # 40 finished in 1 s
    assert gate.rate == pytest.approx(40.0) and gate.limit == 400


@pytest.fixture
def broker(settings, redis_url):
    ns = f"t{uuid.uuid4().hex[:8]}:"
    s = settings.model_copy(
        update={
            "celery_broker_url": redis_url,
            "celery_result_backend": "",
            "celery_namespace": ns,
            "celery_queue_floor": 40,
        }
    )
    yield s
    drop_namespace(redis_url, ns)


def _run(settings, database, seconds: float) -> dict:
    from ingestion.celery_scheduler import run_scheduler

    stats: dict = {}
    stop = threading.Event()
    t = threading.Thread(
        target=run_scheduler,
        args=(settings, database),
        kwargs={"stop": stop, "stats": stats, "housekeeping": False},
        daemon=True,
    )
    t.start()
    time.sleep(seconds)
    stop.set()
    t.join(15)
    return stats


@pytest.mark.parametrize("admission", [True, False])
def test_without_workers_the_queue_stays_at_the_floor(broker, sqlite_db, admission):
    """300 cameras every 2 s and no worker at all: with admission the queues hold at most the
    floor (40) and every other slot is skipped and counted; without it they hold everything."""
    s = broker.model_copy(update={"celery_admission": admission})
    with sqlite_db.session() as db:
        for i in range(300):
            make_camera(
                db, f"ADM-{i:03d}", f"http://127.0.0.1:9/{i}", "snapshot", sample_interval_s=2
            )
    stats = _run(s, sqlite_db, 7.0)
    fetch, analyse = queue_lengths(redis_client(s), s.celery_namespace, FETCH_QUEUE, ANALYSE_QUEUE)
    assert analyse == 0
    if admission:
        assert fetch <= 40
        assert stats["enqueued"] == fetch
        # ~7 s x 150 due a second: all but the floor skipped
        assert stats["skipped_overload"] >= 500, stats
    else:
        assert fetch >= 500 and stats["skipped_overload"] == 0
