"""The local scheduler hands a worker process at most ``dispatch_max_inflight`` samples at once.

A city whose CPU cannot keep up (10,693 cameras starting cold) must queue its samples in the
scheduler, where they wait late but intact, not inside the worker, where the watchdog fails
them as stalls and marks healthy cameras degraded while the worker still does the work.
"""

from __future__ import annotations

import http.server
import threading
import time

import cv2
import numpy as np
from ingest_helpers import make_camera, wait_for
from sqlalchemy import func, select

from ingestion.local import Supervisor
from store.models import Observation


class _CountingCamera(http.server.BaseHTTPRequestHandler):
    """A slow snapshot camera that records how many requests it serves at once."""

    jpeg = b""
    delay_s = 0.6
    lock = threading.Lock()
    active = 0
    most = 0
    served = 0

    def do_GET(self) -> None:  # noqa: N802
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.most = max(cls.most, cls.active)
        try:
            time.sleep(cls.delay_s)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(cls.jpeg)))
            self.end_headers()
            self.wfile.write(cls.jpeg)
        finally:
            with cls.lock:
                cls.active -= 1
                cls.served += 1

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_a_worker_never_gets_more_samples_than_its_inflight_limit(settings, sqlite_db):
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    _CountingCamera.jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingCamera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/snapshot.jpg"
    settings = settings.model_copy(
        update={
            "workers": 1,
            "fetch_threads": 8,  # the worker could fetch 8 at once ...
            "dispatch_max_inflight": 2,  # ... but is handed 2
            "cold_start_frames": 0,
            "read_timeout_s": 5.0,
        }
    )
    with sqlite_db.session() as s:
        ids = [make_camera(s, f"Q-{i}", url, "snapshot").id for i in range(12)]
    sup = Supervisor(settings, sqlite_db, reload_every_s=1000).start()
    try:

        def stored() -> int:
            with sqlite_db.session() as s:
                return s.scalar(
                    select(func.count())
                    .select_from(Observation)
                    .where(Observation.camera_id.in_(ids))
                )

        # every camera is due each second and each answer takes 0.6 s: the work queues
        assert wait_for(lambda: _CountingCamera.served >= 24, 60), _CountingCamera.served
        assert wait_for(lambda: stored() >= 12, 30), stored()
    finally:
        sup.stop()
        server.shutdown()
    assert _CountingCamera.most <= 2, f"{_CountingCamera.most} requests at once (limit 2)"
    # nothing was failed as a stall while waiting its turn
    assert all(not s.health.failures for s in sup.slots.values())


def _answer_three(q) -> None:  # noqa: ANN001 - runs in a spawned process
    from ingestion.local import Outbox

    box = Outbox(q, max_delay_s=0.2)
    for i in range(3):
        box.put(("answer", i))
    time.sleep(0.5)  # the three leave together, within max_delay_s
    box.put(("answer", 3))
    box.close()  # what is left goes on close, nothing is lost


def test_a_workers_answers_reach_the_supervisor_in_batches_and_none_is_lost():
    """Answers travel as lists (one message, one wake-up of the supervisor per batch, not per
    sample); the last ones are sent when the worker closes its outbox."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_answer_three, args=(q,))
    p.start()
    first = q.get(timeout=30)
    second = q.get(timeout=30)
    p.join(timeout=30)
    assert first == [("answer", 0), ("answer", 1), ("answer", 2)]
    assert second == [("answer", 3)]


def test_the_supervisor_handles_a_batch_of_answers_and_dispatches_batches(settings, sqlite_db):
    """Every answer of a batch is handled (each camera's sample stored), and the scheduler
    hands a worker its due samples as one list."""
    import queue as queue_mod
    from datetime import UTC, datetime

    from ingestion.local import Success, Task
    from ingestion.process import SampleResult

    with sqlite_db.session() as s:
        url = "http://127.0.0.1:9/x.jpg"
        ids = [
            make_camera(s, f"BATCH-{i}", url, "snapshot", sample_interval_s=60).id for i in range(3)
        ]
    sup = Supervisor(settings, sqlite_db, workers=1)
    sup.load_cameras()
    sent: queue_mod.Queue = queue_mod.Queue()
    sup._task_qs = [sent]
    now = time.time()
    with sup._lock:  # all three due now
        for cam_id in ids:
            sup._reschedule(sup.slots[cam_id], now - 1.0)
    loop = threading.Thread(target=sup._schedule_loop, daemon=True)
    loop.start()
    batch = sent.get(timeout=10)
    sup._stop.set()
    loop.join(timeout=5)
    assert isinstance(batch, list) and sorted(t.camera.id for t in batch) == sorted(ids)
    assert all(isinstance(t, Task) for t in batch)
    answers = []
    for t in batch:
        ts = datetime.fromtimestamp(t.due, UTC)
        row = {"camera_id": t.camera.id, "slot": ts, "ts": ts, "people": 2, "reused": False}
        answers.append(
            Success(t.camera.id, t.due, SampleResult(t.camera.id, "c", ts, row), 1, False)
        )
    sup._results = queue_mod.Queue()
    sup._results.put(answers)
    sup._stop.clear()
    collect = threading.Thread(target=sup._collect_loop, daemon=True)
    collect.start()
    sup.writer.start()
    with sqlite_db.session() as s:
        wait_for(lambda: s.scalar(select(func.count()).select_from(Observation)) == 3, 20)
    sup._stop.set()
    collect.join(timeout=5)
    sup.writer.stop()
    assert all(sup.slots[c].inflight_since is None for c in ids)  # each answer was handled
