"""Local mode: one machine, a pool of worker processes, one scheduler, one writer.

::

    supervisor (this process)                      worker processes (one per core)
    ─────────────────────────                      ───────────────────────────────
    scheduler: heap of (due, camera) ──task──>     fetch threads (timeouts; persistent readers
    health: counters, backoff, watchdog            for fast streaming cameras) -> process_sample
    writer: batches -> store      <──result──      (one analysis at a time per process)

Cameras are sharded over workers by id, so a camera's persistent stream reader stays in one
process; its analysis state lives in the worker's bounded state cache, written behind to the
``camera_states`` table (on eviction, periodically, on shutdown) so a restarted worker resumes
warm. A camera without state is warmed with a few extra frames before it is counted. A camera is never dispatched twice at once. Every
fetch has a deadline, and the watchdog fails (and, if a worker stops heartbeating, restarts the
worker of) any sample that overstays, so a dead, hanging, slow or garbage-sending camera costs
one fetch thread, never the others' cadence.

``start_background(settings)`` (used by ``pantau run``) starts the camera simulator (when
``settings.simulate_cameras > 0``) and the supervisor in background threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import json
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Text, cast, select

from ingestion.fetch import Fetched, fetch_frame, fetch_frames, fetch_sample  # noqa: F401
from ingestion.health import CameraHealth
from ingestion.metrics import IngestMetrics, write_metrics_file
from ingestion.process import CameraSpec, SampleResult
from ingestion.schedule import next_slot, slot_for
from ingestion.writer import Writer
from pantau.settings import Settings
from store.db import Database
from store.models import Camera

logger = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
#: the scheduler dispatches what is due at most this often (a batch per worker per round)
DISPATCH_TICK_S = 0.05
STATUS_FILE = "ingest_status.json"


# --------------------------------------------------------------------------------------------
# worker process
@dataclass
class Task:
    camera: CameraSpec
    due: float  # epoch seconds: the sample's timestamp


@dataclass
class Failure:
    camera_id: int
    due: float
    kind: str
    reason: str
    fetch_ms: float | None = None


@dataclass
class Success:
    camera_id: int
    due: float
    result: SampleResult
    fetch_ms: float
    reopened: bool


class Outbox:
    """A worker's answers to the supervisor, sent as lists: one queue message (one pickle, one
    pipe write, one wake-up of the supervisor's collector) per ``max_delay_s`` instead of one
    per sample (a wake-up cost the supervisor ~0.3 ms of CPU, about what the rest of its work
    on a sample costs). An answer waits at most ``max_delay_s``."""

    def __init__(self, queue_: Any, max_delay_s: float = 0.1) -> None:
        self._q = queue_
        self.max_delay_s = max_delay_s
        self._items: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)

    def flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        if items:
            self._q.put(items)

    def _run(self) -> None:
        while not self._stop.wait(self.max_delay_s):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * self.max_delay_s + 1)
        self.flush()


def _worker_main(
    index: int, settings_json: str, tasks: mp.Queue, results: mp.Queue, database_url: str = ""
) -> None:
    """Entry point of a worker process."""
    import signal

    # Ctrl+C and a service manager's SIGTERM reach the whole process group: only the
    # supervisor handles them, then stops its workers in order (flushing the writer first).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    from ingestion.process import SampleProcessor
    from ingestion.snapshot_http import SnapshotHttp
    from ingestion.sources import USER_AGENT, SourceError, Timeouts
    from ingestion.state_store import DatabaseStateStore

    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s worker{index} %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with contextlib.suppress(Exception):
        import cv2

        cv2.setNumThreads(1)  # one process per core already
    settings = Settings.model_validate_json(settings_json)
    state_db = Database(database_url or settings.sqlalchemy_url)
    processor = SampleProcessor(settings, DatabaseStateStore(state_db))
    sources: dict = {}
    timeouts = Timeouts(settings.connect_timeout_s, settings.read_timeout_s)
    client = SnapshotHttp(  # snapshot cameras' GETs (other protocols keep their own)
        timeouts.connect_s,
        timeouts.read_s,
        max_connections=settings.fetch_threads * 2,
        user_agent=USER_AGENT,
    )
    analysis_lock = threading.Lock()  # CPU work: one at a time per process
    outbox = Outbox(results)  # answers go to the supervisor in batches
    pool = ThreadPoolExecutor(max_workers=settings.fetch_threads, thread_name_prefix="fetch")
    # a cold camera's sample mostly waits (cold_start_interval_s between its warm-up frames):
    # those samples run here, so a city's first start (every camera cold) keeps its cadence
    warm_pool = ThreadPoolExecutor(
        max_workers=settings.fetch_threads * 16, thread_name_prefix="warm"
    )

    def run(task: Task, warm_n: int | None = None) -> None:
        cam = task.camera
        t0 = time.perf_counter()
        try:
            if warm_n is None:
                warm_n = settings.cold_start_frames if processor.needs_warmup(cam) else 0
                if warm_n and settings.cold_start_interval_s > 0:
                    warm_pool.submit(run, task, warm_n)
                    return
            got = fetch_sample(sources, cam, settings, client, warmup=warm_n)
        except SourceError as exc:
            outbox.put(
                Failure(cam.id, task.due, exc.kind, str(exc), (time.perf_counter() - t0) * 1000)
            )
            return
        except Exception as exc:
            logger.exception("fetch of %s crashed", cam.code)
            outbox.put(Failure(cam.id, task.due, "error", f"{type(exc).__name__}: {exc}"))
            return
        fetch_ms = (time.perf_counter() - t0) * 1000
        try:
            with analysis_lock:
                try:
                    # snapshots kept as JPEG while they waited; a quiet sample needs only a
                    # reduced-scale decode (the full frame is decoded if a stage asks for it)
                    got.decode(processor.reduced_size(cam))
                except SourceError as exc:
                    outbox.put(Failure(cam.id, task.due, exc.kind, str(exc), fetch_ms))
                    return
                result = processor.process_burst(
                    cam,
                    got.frames,
                    datetime.fromtimestamp(got.frame_ts, UTC),
                    slot=datetime.fromtimestamp(task.due, UTC),
                    warmup=got.warmup,
                    jpeg=got.last_jpeg,
                )
            result.timings_ms["fetch"] = round(fetch_ms, 3)
            outbox.put(Success(cam.id, task.due, result, fetch_ms, got.reopened))
        except Exception as exc:
            logger.exception("analysis of %s failed", cam.code)
            outbox.put(Failure(cam.id, task.due, "analysis", f"{type(exc).__name__}: {exc}"[:200]))

    last_beat = 0.0
    parent = os.getppid()
    try:
        while True:
            if os.getppid() != parent:  # the supervisor died without stopping us
                logger.warning("supervisor is gone; worker %d exits", index)
                break
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT_S:
                results.put(("heartbeat", index, os.getpid()))
                last_beat = now
            try:
                task = tasks.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                continue
            if task is None:
                break
            for one in task if isinstance(task, list) else (task,):  # a batch of tasks
                pool.submit(run, one)
    except KeyboardInterrupt:
        pass
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        warm_pool.shutdown(wait=False, cancel_futures=True)
        for _, src in list(sources.values()):
            with contextlib.suppress(Exception):
                src.close()
        client.close()
        outbox.close()
        try:  # a restart resumes warm
            with analysis_lock:
                processor.close()
            logger.info("worker %d saved its analysis states", index)
        except Exception:
            logger.exception("saving analysis states failed")
        state_db.dispose()


# --------------------------------------------------------------------------------------------
# supervisor
@dataclass
class _Slot:
    spec: CameraSpec
    health: CameraHealth
    due: float
    inflight_since: float | None = None
    inflight_due: float | None = None
    gen: int = 0


class Supervisor:
    """Schedules cameras on a pool of worker processes and writes their results."""

    def __init__(
        self,
        settings: Settings,
        database: Database | None = None,
        *,
        workers: int | None = None,
        reload_every_s: float = 30.0,
        camera_ids: list[int] | None = None,
        writer: Writer | None = None,
        backoff_base_s: float = 2.0,
    ) -> None:
        self.settings = settings
        self.db = database or Database(settings.sqlalchemy_url)
        self.n_workers = max(1, workers or settings.workers)
        self.reload_every_s = reload_every_s
        self.camera_ids = camera_ids
        self.backoff_base_s = backoff_base_s
        self.writer = writer or Writer(self.db, settings)
        self.slots: dict[int, _Slot] = {}
        self._spec_fp: dict[int, int] = {}  # camera id -> hash of its row as last read
        self._analytics: dict[str, dict] = {}  # identical analytics configs share one dict
        # one heap of (due, camera id, generation) per worker process, and the samples each has
        # in flight: a worker gets at most ``max_inflight`` at once, the rest wait here (late,
        # never failed as stalls while they queue behind a busy CPU)
        self._heaps: list[list[tuple[float, int, int]]] = [[] for _ in range(self.n_workers)]
        self._inflight = [0] * self.n_workers
        self.max_inflight = settings.dispatch_max_inflight or settings.fetch_threads * 16
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ctx = mp.get_context("spawn")
        self._results: Any = self._ctx.Queue()
        self._task_qs: list[Any] = []
        self._procs: list[Any] = []
        self._beats: dict[int, float] = {}
        self._threads: list[threading.Thread] = []
        self.started_at = time.time()
        self.worker_restarts = 0
        self.dispatched = 0
        self.metrics = IngestMetrics()  # /metrics, admin page, `pantau ingest` (status file)
        self.writer.metrics = self.metrics

    # -- cameras --------------------------------------------------------------------------------
    def load_cameras(self) -> int:
        """(Re)read enabled cameras with a stream URL; new ones are due at their next slot
        (``ingestion.schedule``: spread over the interval, the same slots as Celery's)."""
        specs, statuses = self._read_cameras()
        now = time.time()
        with self._lock:
            for cam_id in list(self.slots):
                if cam_id not in specs:
                    del self.slots[cam_id]  # disabled or removed
            for cam_id, spec in specs.items():
                slot = self.slots.get(cam_id)
                if slot is None:
                    health = CameraHealth(
                        cam_id,
                        spec.code,
                        offline_after=self.settings.offline_after_failures,
                        backoff_base_s=self.backoff_base_s,
                        backoff_max_s=self.settings.reconnect_max_s,
                        slow_fetch_s=max(1.0, self.settings.read_timeout_s * 0.6),
                    )
                    health.status, health.reason = statuses[cam_id]
                    # first samples spread over the whole interval, on the camera's slots
                    due = next_slot(cam_id, spec.interval_s, now)
                    self.slots[cam_id] = _Slot(spec, health, due)
                    heapq.heappush(self._heaps[self._shard(cam_id)], (due, cam_id, 0))
                else:
                    slot.spec = spec
        return len(specs)

    def _read_cameras(self) -> tuple[dict[int, CameraSpec], dict[int, tuple[str, str | None]]]:
        """Specs of the enabled cameras. Cheap enough to repeat every ``reload_every_s`` at city
        scale: the JSON columns come as text and a camera whose row did not change keeps its
        spec (10,693 cameras: no ORM objects, no JSON decoded again); identical analytics
        configurations share one dict."""
        json_cols = [Camera.rois, Camera.lines, Camera.config, Camera.tags]
        cols = [Camera.id, Camera.code, Camera.name, Camera.stream_url, Camera.protocol]
        cols += [Camera.sample_interval_s, Camera.is_public, Camera.detector]
        q = select(*cols, *(cast(c, Text).label(c.key) for c in json_cols), Camera.status)
        q = q.add_columns(Camera.status_reason).where(
            Camera.enabled.is_(True), Camera.stream_url.is_not(None)
        )
        if self.camera_ids is not None:
            q = q.where(Camera.id.in_(self.camera_ids))
        with self.db.session() as s:
            rows = s.execute(q).all()
        specs: dict[int, CameraSpec] = {}
        statuses: dict[int, tuple[str, str | None]] = {}
        known, self._spec_fp = self._spec_fp, {}
        if len(self._analytics) > 2 * len(rows) + 100:  # configurations no camera uses now
            self._analytics = {}
        for r in rows:
            if not r.stream_url:
                continue
            fp = hash(tuple(r[:12]))
            old = self.slots.get(r.id)
            if old is not None and known.get(r.id) == fp:
                spec = old.spec
            else:
                cam = SimpleNamespace(**r._asdict())
                for c in json_cols:
                    text = getattr(r, c.key)
                    setattr(cam, c.key, json.loads(text) if text else None)
                spec = CameraSpec.from_camera(cam, self.settings)
                key = spec.analytics_key()
                if key in self._analytics:
                    spec = dataclasses.replace(spec, analytics=self._analytics[key])
                else:
                    self._analytics[key] = spec.analytics
            self._spec_fp[r.id] = fp
            specs[r.id] = spec
            statuses[r.id] = (r.status, r.status_reason)
        return specs, statuses

    # -- processes ------------------------------------------------------------------------------
    def _spawn(self, index: int) -> None:
        q = self._ctx.Queue()
        p = self._ctx.Process(
            target=_worker_main,
            args=(index, self.settings.model_dump_json(), q, self._results, self.db.url),
            name=f"pantau-worker-{index}",
            daemon=True,
        )
        p.start()
        if index < len(self._procs):
            self._task_qs[index], self._procs[index] = q, p
        else:
            self._task_qs.append(q)
            self._procs.append(p)
        self._beats[index] = time.monotonic() + 30.0  # grace period for imports
        logger.info("ingestion worker %d started (pid %s)", index, p.pid)

    def start(self) -> Supervisor:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        n = self.load_cameras()
        logger.info("ingestion: %d cameras, %d worker processes", n, self.n_workers)
        for i in range(self.n_workers):
            self._spawn(i)
        self.writer.start()
        for target, name in (
            (self._schedule_loop, "scheduler"),
            (self._collect_loop, "collector"),
            (self._watchdog_loop, "watchdog"),
            (self._reload_loop, "reloader"),
        ):
            t = threading.Thread(target=target, name=f"pantau-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for q in self._task_qs:
            with contextlib.suppress(Exception):
                q.put(None)
        for p in self._procs:
            p.join(timeout=30)  # a worker saves its analysis states before it exits
            if p.is_alive():  # workers ignore SIGTERM (see _worker_main): kill a stuck one
                p.kill()
                p.join(timeout=2)
        for t in self._threads:
            t.join(timeout=3)
        self.writer.stop()
        logger.info("ingestion stopped")

    # -- loops ----------------------------------------------------------------------------------
    def _shard(self, cam_id: int) -> int:
        return cam_id % self.n_workers

    def _reload_loop(self) -> None:
        """Re-read the camera list (new, changed, disabled cameras) in its own thread, so a
        city-sized reload never holds up dispatching."""
        while not self._stop.wait(self.reload_every_s):
            try:
                self.load_cameras()
            except Exception:
                logger.exception("reloading cameras failed; keeping the current list")

    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            wait = 0.5
            with self._lock:
                for i, heap in enumerate(self._heaps):
                    batch: list[Task] = []  # one queue message per worker and round
                    while heap and heap[0][0] <= now and self._inflight[i] < self.max_inflight:
                        due, cam_id, gen = heapq.heappop(heap)
                        slot = self.slots.get(cam_id)
                        if slot is None or gen != slot.gen or slot.inflight_since is not None:
                            continue
                        due = round(due, 3)
                        slot.inflight_since = time.monotonic()
                        slot.inflight_due = due
                        self._inflight[i] += 1
                        batch.append(Task(slot.spec, due))
                        self.dispatched += 1
                    if batch:
                        self._task_qs[i].put(batch)
                    if heap and self._inflight[i] < self.max_inflight:
                        wait = min(wait, heap[0][0] - time.time())
            # woken early by an answer (a worker at its in-flight limit has room again); samples
            # due within DISPATCH_TICK_S of each other leave together
            self._wake.wait(max(DISPATCH_TICK_S, wait))
            self._wake.clear()

    def _reschedule(self, slot: _Slot, due: float) -> None:
        slot.gen += 1
        slot.due = due
        heapq.heappush(self._heaps[self._shard(slot.spec.id)], (due, slot.spec.id, slot.gen))

    def _done(self, slot: _Slot) -> None:
        """The slot's sample is no longer in flight (answered, failed by the watchdog)."""
        if slot.inflight_since is not None:
            shard = self._shard(slot.spec.id)
            self._inflight[shard] = max(0, self._inflight[shard] - 1)
            self._wake.set()
        slot.inflight_since = slot.inflight_due = None

    @staticmethod
    def _next_due(spec: CameraSpec, done_due: float, now: float) -> float:
        """The slot after ``done_due``; when that has passed already (slow camera, busy box),
        the latest slot, due at once: late but on the camera's slot grid."""
        nxt = next_slot(spec.id, spec.interval_s, done_due + spec.interval_s / 2)
        return nxt if nxt >= now else slot_for(spec.id, spec.interval_s, now)

    def _collect_loop(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._results.get(timeout=0.5)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            for one in msg if isinstance(msg, list) else (msg,):  # an Outbox batch
                try:
                    self._handle(one)
                except Exception:
                    logger.exception("handling a worker message failed")

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, tuple) and msg and msg[0] == "heartbeat":
            self._beats[msg[1]] = time.monotonic()
            return
        now = time.time()
        with self._lock:
            slot = self.slots.get(msg.camera_id)
            if slot is None:
                if isinstance(msg, Success):  # camera removed meanwhile: keep its data
                    self.writer.submit(msg.result)
                return
            if slot.inflight_due is not None and msg.due != slot.inflight_due:
                # a late answer to a sample the watchdog already failed: its measurement is
                # real and keyed by its own slot, so it is kept; the schedule goes on as it is
                self.metrics.observe_sample("late", now=now)
                if isinstance(msg, Success):
                    self.writer.submit(msg.result)
                return
            self.metrics.observe_message(msg, now)
            self._done(slot)
            h = slot.health
            if isinstance(msg, Success):
                if msg.reopened and h.failures and slot.spec.protocol != "snapshot":
                    h.reconnects += 1
                transition = h.record_success(
                    now, msg.fetch_ms, msg.result.timings_ms.get("process")
                )
                self.writer.submit(msg.result)
                nxt = self._next_due(slot.spec, msg.due, now)
                self.metrics.observe_skipped(slot.spec.interval_s, msg.due, nxt, now)
            else:
                transition = h.record_failure(msg.kind, msg.reason, now)
                nxt = now + h.retry_delay(slot.spec.interval_s)
            if transition is not None:
                self.writer.submit(transition)
            self._reschedule(slot, nxt)

    def write_status_file(self) -> None:
        """Health counters for dashboards and monitoring: var_dir/ingest_status.json (atomic)."""
        import json

        from ingestion.process import atomic_write

        doc = {
            "updated_at": datetime.now(UTC).isoformat(),
            "started_at": datetime.fromtimestamp(self.started_at, UTC).isoformat(),
            "workers": self.n_workers,
            "worker_restarts": self.worker_restarts,
            "dispatched": self.dispatched,
            "writer": self.writer.snapshot(),
            "cameras": self.status(),
            **write_metrics_file(self),  # also var/ingest_metrics.json (small)
        }
        atomic_write(self.settings.var_dir / STATUS_FILE, json.dumps(doc, default=str).encode())

    def _watchdog_loop(self) -> None:
        st = self.settings
        # a cold camera's sample fetches cold_start_frames more frames, that far apart
        fetches = 1 + st.cold_start_frames
        budget = fetches * (st.connect_timeout_s + st.read_timeout_s) + 30.0
        budget += st.cold_start_frames * st.cold_start_interval_s
        last_status = 0.0
        while not self._stop.wait(1.0):
            now_m = time.monotonic()
            # every 5 s; a city's file (3.4 MB at 10,693 cameras) every ~20 s
            if now_m - last_status >= max(5.0, len(self.slots) / 500):
                last_status = now_m
                try:
                    self.write_status_file()
                except Exception:
                    logger.debug("cannot write the status file", exc_info=True)
            # a worker process that stopped heartbeating is replaced
            for i, p in enumerate(list(self._procs)):
                if self._stop.is_set():
                    break  # shutting down: a worker that exits is not a worker that died
                stale = now_m - self._beats.get(i, now_m) > 15.0
                if not p.is_alive() or stale:
                    logger.error(
                        "worker %d %s; restarting it", i, "died" if not p.is_alive() else "hangs"
                    )
                    with contextlib.suppress(Exception):
                        p.kill()
                    self.worker_restarts += 1
                    self._spawn(i)
                    with self._lock:  # its samples in flight are lost: retry them now
                        for slot in self.slots.values():
                            if slot.inflight_since is not None and self._shard(slot.spec.id) == i:
                                self._done(slot)
                                self._reschedule(slot, time.time() + 1.0)
                        self._inflight[i] = 0
            with self._lock:
                for slot in self.slots.values():
                    if slot.inflight_since is not None and now_m - slot.inflight_since > budget:
                        transition = slot.health.record_failure(
                            "stall", f"no answer within {budget:.0f}s", time.time()
                        )
                        self.metrics.observe_sample("failed", reason="stall")
                        if transition is not None:
                            self.writer.submit(transition)
                        self._done(slot)
                        self._reschedule(
                            slot, time.time() + slot.health.retry_delay(slot.spec.interval_s)
                        )

    # -- reporting ------------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        with self._lock:  # only the list under the lock: 10,693 rows take ~0.1 s to build
            slots = list(self.slots.values())
        rows = []
        now = time.time()
        for slot in sorted(slots, key=lambda s: s.spec.code):
            d = slot.health.snapshot()
            d["protocol"] = slot.spec.protocol
            d["interval_s"] = slot.spec.interval_s
            d["next_in_s"] = round(slot.due - now, 1)
            d["busy"] = slot.inflight_since is not None
            rows.append(d)
        return rows


# --------------------------------------------------------------------------------------------
# simulated demo cameras for `pantau run`
def assign_simulated_cameras(database: Database, settings: Settings, n: int, port: int) -> list:
    """Point the first ``n`` cameras without a stream URL (or already simulated) at simulator
    URLs, persist that, and return the simulator's camera list (same order)."""
    from analytics.demo_model import scene_kinds
    from analytics.synthetic import SyntheticScene
    from ingestion.simulator import SimCamera, default_video
    from store.rollups import utc_offset_hours

    video = default_video()
    sims: list[SimCamera] = []
    with database.session() as s:
        cams = list(s.scalars(select(Camera).order_by(Camera.code)))
        candidates = [
            c for c in cams if not c.stream_url or (c.config or {}).get("simulated") is not None
        ]
        chosen = candidates[:n]
        # the same scene per camera as the seeded history (analytics.demo_model), whose
        # activity follows the city's clock
        kinds = scene_kinds([c.tags for c in candidates], has_video=bool(video))
        epoch = time.time()
        offset = utc_offset_hours(settings.timezone)
        for i, cam in enumerate(chosen):
            tags = set(cam.tags or [])
            kind = kinds[i]
            protocol = "mjpeg" if i % 2 == 0 else "snapshot"
            suffix = "mjpeg" if protocol == "mjpeg" else "snapshot.jpg"
            cam.stream_url = f"http://127.0.0.1:{port}/cam/{i}/{suffix}"
            cam.protocol = protocol
            config = dict(cam.config or {})
            config["simulated"] = kind
            if kind != "video":
                scene_cfg = SyntheticScene(kind, 1000 + i, 640, 360).analytics_config()
                cam.rois = scene_cfg["rois"]
                cam.lines = scene_cfg["lines"]
                if kind == "street":  # traffic flow: count line crossings over a 2 s burst
                    config["burst"] = {"frames": 5, "interval_s": 0.5}
                if kind == "flood" or "flood" in tags:
                    config["flood"] = scene_cfg["flood"]
                else:
                    config.pop("flood", None)
            else:
                cam.rois, cam.lines = [], []
                config.pop("flood", None)
            cam.config = config
            sims.append(
                SimCamera(
                    index=i,
                    kind=kind,
                    seed=1000 + i,
                    video=video if kind == "video" else None,
                    fps=2.0,
                    time_offset=(i * 53.0) % 300.0,
                    clock_epoch=epoch,
                    utc_offset_hours=offset,
                )
            )
    return sims


class Background:
    """What ``start_background`` returns: ``stop()`` ends the supervisor and the simulator."""

    def __init__(
        self, supervisor: Supervisor | None, simulator: Any | None, sensors: Any | None = None
    ) -> None:
        self.supervisor = supervisor
        self.simulator = simulator
        self.sensors = sensors

    def stop(self) -> None:
        if self.sensors is not None:
            with contextlib.suppress(Exception):
                self.sensors.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.simulator is not None:
            self.simulator.stop()


def start_background(settings: Settings, database: Database | None = None) -> Background:
    """Start the simulator (if ``settings.simulate_cameras``) and the local supervisor."""
    from ingestion.simulator import CameraSimulator

    database = database or Database(settings.sqlalchemy_url)
    database.migrate()
    simulator = None
    if settings.simulate_cameras > 0:
        sims = assign_simulated_cameras(
            database, settings, settings.simulate_cameras, settings.simulator_port
        )
        if sims:
            simulator = CameraSimulator(sims, "127.0.0.1", settings.simulator_port).start()
    supervisor = Supervisor(settings, database).start()
    sensors = None
    if settings.mqtt_url:
        from ingestion.sensors import SensorSubscriber

        try:
            sensors = SensorSubscriber(settings, database).start()
        except (OSError, ValueError) as exc:
            logger.info("no MQTT broker at %s (%s): sensor feed off", settings.mqtt_url, exc)
    _exit_on_sigterm()
    return Background(supervisor, simulator, sensors)


def _exit_on_sigterm() -> None:
    """Turn SIGTERM (systemd, docker stop, kill) into SystemExit so ``pantau run`` unwinds
    through its ``finally`` and stops the workers and flushes the writer."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def _handler(signum, frame):  # noqa: ANN001, ARG001
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, _handler)
