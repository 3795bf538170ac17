"""Per-camera analysis state outside the Analysers (issue 9 items 1-3): the state cache stays
within its memory budget and evicted states come back from the database; Redis never lets an
older sample's state replace a newer one; first samples are spread over the interval; the stored
ts is the frame time while the slot stays the idempotency key; a cold camera's first stored
sample is never "0 people". Real SQLite, PostgreSQL, Redis and HTTP servers on loopback."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from ingest_helpers import make_camera, wait_for
from sqlalchemy import func, select

from analytics.synthetic import SyntheticScene
from ingestion.local import Supervisor
from ingestion.process import SampleResult
from ingestion.simulator import CameraSimulator, make_cameras
from ingestion.state_store import (
    DatabaseStateStore,
    RedisStateStore,
    StateCache,
    StoredState,
)
from ingestion.writer import write_batch
from store.models import Camera, CameraState, Observation

CITY = 10_693  # Semarang's cameras
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _cameras(db, n: int, interval: int = 60) -> list[int]:
    rows = [
        {
            "code": f"S-{i:05d}",
            "name": f"Kamera {i}",
            "lat": -6.99,
            "lon": 110.42,
            "stream_url": f"http://127.0.0.1:9/cam/{i}/snapshot.jpg",
            "protocol": "snapshot",
            "sample_interval_s": interval,
        }
        for i in range(n)
    ]
    with db.session() as s:
        s.execute(Camera.__table__.insert(), rows)
    with db.session() as s:
        return list(s.scalars(select(Camera.id).order_by(Camera.id)))


def _blob(cam_id: int, version: int, size: int) -> bytes:
    return f"{cam_id}:{version}:".encode().ljust(size, bytes([(cam_id * 31 + version) % 251]))


# --------------------------------------------------------------------------------------------
# the state cache: memory budget, write-behind to the database
def test_cache_stays_within_budget_for_a_city_and_evicted_states_come_back(db):
    ids = _cameras(db, CITY)
    size = 4096
    budget = 8 * 1024 * 1024  # room for ~1,900 of the 10,693 states
    cache = StateCache(budget, DatabaseStateStore(db), flush_batch=200)
    peak = 0
    for cam_id in ids:
        cache.put(cam_id, StoredState("cfg", _blob(cam_id, 1, size), T0.timestamp()))
        peak = max(peak, cache.nbytes)
    assert peak <= budget, peak
    assert 1000 < len(cache) < CITY
    # every state evicted so far went to the database (in batches), none was lost
    cache.flush()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CameraState)) == CITY
    # a fresh process (empty cache) gets the states back from the database
    other = StateCache(budget, DatabaseStateStore(db))
    for cam_id in (ids[0], ids[len(ids) // 2], ids[-1]):
        got = other.get(cam_id, "cfg")
        assert got is not None and got.blob == _blob(cam_id, 1, size)
        assert got.sample_ts == T0.timestamp()
        assert other.get(cam_id, "another-config") is None  # built for another configuration
    assert other.nbytes <= budget


def test_database_store_keeps_the_newer_state(db):
    (cam_id,) = _cameras(db, 1)
    store = DatabaseStateStore(db)
    assert store.put(cam_id, StoredState("cfg", b"new", T0.timestamp() + 60))
    assert not store.put(cam_id, StoredState("cfg", b"old", T0.timestamp()))
    got = store.get(cam_id)
    assert got is not None and got.blob == b"new"
    assert store.get(cam_id, newer_than=T0.timestamp() + 60) is None
    # a camera deleted meanwhile: its state is skipped, nothing fails
    assert store.put(cam_id + 999, StoredState("cfg", b"x", T0.timestamp())) is False


def test_a_restarted_cache_resumes_from_the_database_on_close(sqlite_db):
    ids = _cameras(sqlite_db, 3)
    cache = StateCache(1024 * 1024, DatabaseStateStore(sqlite_db), flush_every_s=3600)
    for cam_id in ids:
        cache.put(cam_id, StoredState("cfg", _blob(cam_id, 7, 1000), T0.timestamp()))
    with sqlite_db.session() as s:  # written behind: nothing yet
        assert s.scalar(select(func.count()).select_from(CameraState)) == 0
    cache.close()  # shutdown
    again = StateCache(1024 * 1024, DatabaseStateStore(sqlite_db))
    assert all(again.get(c, "cfg").blob == _blob(c, 7, 1000) for c in ids)


# --------------------------------------------------------------------------------------------
# Redis (Celery): shared by all workers, never older over newer
@pytest.fixture
def redis_store(redis_url):
    store = RedisStateStore(redis_url, prefix=f"pantau:test:{uuid.uuid4().hex[:8]}:", ttl_s=600)
    yield store
    for key in store.client.scan_iter(f"{store.prefix}*"):
        store.client.delete(key)
    store.close()


def test_redis_never_lets_an_older_state_overwrite_a_newer_one(redis_store):
    assert redis_store.put(5, StoredState("cfg", b"sample-2", 2000.5))
    assert not redis_store.put(5, StoredState("cfg", b"sample-1", 1000.25))  # late worker
    got = redis_store.get(5)
    assert got == StoredState("cfg", b"sample-2", 2000.5, True)
    assert redis_store.get(5, newer_than=2000.5) is None
    assert redis_store.client.ttl(redis_store.key(5)) > 0  # unused states expire
    # through two workers' caches: B stored a newer sample; A's late put is refused and A then
    # reads B's state, not its own cached one
    a = StateCache(1024 * 1024, redis_store)
    b = StateCache(1024 * 1024, redis_store)
    assert a.get(5, "cfg").blob == b"sample-2"
    b.put(5, StoredState("cfg", b"sample-3", 3000.0))
    a.put(5, StoredState("cfg", b"sample-2-late", 2500.0))
    assert a.stats["stale"] == 1
    assert a.get(5, "cfg").blob == b"sample-3"
    assert redis_store.get(5).blob == b"sample-3"


# --------------------------------------------------------------------------------------------
# scheduling and time
def test_first_samples_of_1000_cameras_cover_the_whole_interval(settings, sqlite_db):
    _cameras(sqlite_db, 1000, interval=60)
    sup = Supervisor(settings, sqlite_db, reload_every_s=1e9)
    before = time.time()
    assert sup.load_cameras() == 1000
    after = time.time()  # a slow (loaded) machine may take a while to load 1,000 cameras
    dues = np.array([slot.due for slot in sup.slots.values()])
    # every first sample falls within one interval of the load, never before it
    assert dues.min() >= before - 0.001 and dues.max() < after + 60.0
    # the phase of the first samples on the clock (due mod 60 s) covers the whole minute: no
    # start-up burst, whatever the time the load took
    bins = np.bincount(np.floor(dues % 60.0).astype(int) % 60, minlength=60)
    assert np.count_nonzero(bins) >= 50, bins
    assert bins.max() <= 1000 / 60 * 3, bins  # no start-up burst
    # the same camera gets the same slots in every process (and on the Celery path)
    again = Supervisor(settings, sqlite_db, reload_every_s=1e9)
    again.load_cameras()
    same = [abs((again.slots[c].due - sup.slots[c].due) % 60) for c in list(sup.slots)[:50]]
    assert all(d < 0.01 or d > 59.99 for d in same)


class _SlowSnapshot(http.server.BaseHTTPRequestHandler):
    delay_s = 2.0
    jpeg = b""

    def do_GET(self) -> None:  # noqa: N802
        time.sleep(self.delay_s)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.jpeg)))
        self.end_headers()
        self.wfile.write(self.jpeg)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_stored_ts_is_the_frame_time_and_the_slot_is_the_key(settings, sqlite_db):
    frame, _ = SyntheticScene("street", 3, 640, 360).frame_at(5.0)
    _SlowSnapshot.jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowSnapshot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = settings.model_copy(update={"workers": 1, "read_timeout_s": 5.0})
    with sqlite_db.session() as s:
        cam_id = make_camera(
            s,
            "SLOW-1",
            f"http://127.0.0.1:{server.server_address[1]}/snap.jpg",
            "snapshot",
            sample_interval_s=4,
        ).id
    sup = Supervisor(settings, sqlite_db, reload_every_s=1e9).start()
    try:

        def first():  # noqa: ANN202
            with sqlite_db.session() as s:
                return s.scalars(select(Observation).where(Observation.camera_id == cam_id)).first()

        obs = wait_for(first, 60)
        assert obs is not None, "no observation"
    finally:
        sup.stop()
        server.shutdown()
        server.server_close()
    assert obs.ts >= obs.slot + timedelta(seconds=2), (obs.slot, obs.ts)
    assert obs.ts < obs.slot + timedelta(seconds=30)
    # a redelivered sample of the same slot (another frame, taken later) is a no-op
    again = SampleResult(
        camera_id=cam_id,
        code="SLOW-1",
        ts=obs.ts + timedelta(seconds=20),
        slot=obs.slot,
        observation={
            "camera_id": cam_id,
            "slot": obs.slot,
            "ts": obs.ts + timedelta(seconds=20),
            "people": 99,
        },
    )
    with sqlite_db.session() as s:
        n = s.scalar(select(func.count()).select_from(Observation))
        assert write_batch(s, [again]) == 0
    with sqlite_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == n
        row = s.scalars(select(Observation).where(Observation.slot == obs.slot)).one()
        assert (row.ts, row.people) == (obs.ts, obs.people)


def test_a_cold_cameras_first_stored_sample_is_never_zero_people(settings, sqlite_db):
    """A crowd is in view from the start: the first sample is counted after a warm-up, or
    stored as unknown (NULL, extra.cold) — never as an empty street."""
    sim = CameraSimulator(make_cameras(2, kinds=["crowd"], fps=4)).start()
    settings = settings.model_copy(update={"workers": 1})
    with sqlite_db.session() as s:
        ids = [
            make_camera(s, f"CROWD-{i}", sim.url(i, "snapshot"), "snapshot", sample_interval_s=3).id
            for i in range(2)
        ]
    sup = Supervisor(settings, sqlite_db, reload_every_s=1e9).start()
    try:

        def firsts():  # noqa: ANN202
            with sqlite_db.session() as s:
                rows = [
                    s.scalars(
                        select(Observation)
                        .where(Observation.camera_id == c)
                        .order_by(Observation.slot)
                    ).first()
                    for c in ids
                ]
            return rows if all(rows) else None

        rows = wait_for(firsts, 60)
        assert rows, "no first observations"
    finally:
        sup.stop()
        sim.stop()
    for obs in rows:
        if obs.people is None:
            assert obs.extra.get("cold") is True and obs.vehicles_total is None
        else:
            assert obs.people > 0, obs.people
            assert not (obs.extra or {}).get("cold")


# --------------------------------------------------------------------------------------------
# unknown counts are missing data, never 0
def test_unknown_counts_are_missing_in_rollups_and_crowd_alerts(db, settings):
    from ingestion.alerts import CROWD, AlertEngine
    from store.models import Alert, ObservationRollup
    from store.rollups import refresh_rollups
    from store.writes import write_observations

    (cam_id,) = _cameras(db, 1)
    hour = T0.replace(minute=0)
    rows = [
        {"camera_id": cam_id, "ts": hour + timedelta(minutes=1), "people": 10, "vehicles_total": 4},
        {
            "camera_id": cam_id,
            "ts": hour + timedelta(minutes=2),
            "people": None,
            "extra": {"cold": True},
        },
        {"camera_id": cam_id, "ts": hour + timedelta(minutes=3), "people": 20, "vehicles_total": 6},
    ]
    with db.session() as s:
        write_observations(s, rows)
        refresh_rollups(s, hour, hour + timedelta(hours=1))
    with db.session() as s:
        r = s.scalars(
            select(ObservationRollup).where(
                ObservationRollup.camera_id == cam_id, ObservationRollup.period == "hour"
            )
        ).one()
        assert (r.samples, r.people_avg, r.people_max, r.vehicles_avg) == (3, 15.0, 20, 5.0)
    # an open crowd alert is neither closed nor changed by a sample whose count is unknown
    engine = AlertEngine(settings)
    with db.session() as s:
        for d in range(1, 6):  # usual: 4 people at this hour
            s.add(
                ObservationRollup(
                    camera_id=cam_id,
                    period="hour",
                    bucket=T0 + timedelta(hours=2) - timedelta(days=d),
                    samples=60,
                    people_avg=4.0,
                )
            )

    def sample(minute: int, people: int | None) -> SampleResult:
        ts = T0 + timedelta(hours=2, minutes=minute)
        row = {"camera_id": cam_id, "ts": ts, "people": people, "reused": False}
        if people is None:
            row["extra"] = {"cold": True}
        return SampleResult(cam_id, "S-00000", ts, row, cold=people is None)

    for minute in range(3):  # the default crowd rule opens after 2 minutes above
        with db.session() as s:
            engine.evaluate(s, [sample(minute, 40)])
    with db.session() as s:
        engine.evaluate(s, [sample(3, None)])
    with db.session() as s:
        alert = s.scalars(select(Alert).where(Alert.rule == CROWD)).one()
        assert alert.ended_at is None and alert.value == 40


# --------------------------------------------------------------------------------------------
# a camera's history follows it from worker to worker
def _counts(results: list[SampleResult]) -> list[tuple]:
    return [(r.observation["people"], r.observation["vehicles_total"], r.cold) for r in results]


def _run(processors: list, cam, scene: SyntheticScene, samples: int) -> list[SampleResult]:
    """One sample a minute, taken in turn by ``processors`` (a cold start warms up first, as
    the worker does: ``cold_start_frames`` frames 1 s before the counted one)."""
    out = []
    for i in range(samples):
        proc = processors[i % len(processors)]
        t = 30.0 + 60.0 * i
        warmup = []
        if proc.needs_warmup(cam):
            proc.warmups = getattr(proc, "warmups", 0) + 1
            warmup = [scene.frame_at(t - 2.0 + k)[0] for k in range(2)]
        frame, _ = scene.frame_at(t)
        out.append(proc.process_burst(cam, [frame], T0 + timedelta(seconds=t), warmup=warmup))
    return out


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_state_moving_between_workers_keeps_counts(backend, settings, sqlite_db, request):
    from ingestion.process import CameraSpec, SampleProcessor

    scene = SyntheticScene("crowd", 21, 640, 360)
    cfg = scene.analytics_config()
    (cam_id,) = _cameras(sqlite_db, 1)
    cam = CameraSpec(
        cam_id, "MOVE-1", "", "snapshot", analytics={"rois": cfg["rois"], "detector": "blob"}
    )
    alone = _run([SampleProcessor(settings)], cam, scene, 8)
    if backend == "database":
        stores = [DatabaseStateStore(sqlite_db, shared=True) for _ in range(2)]
    else:
        store = request.getfixturevalue("redis_store")
        stores = [RedisStateStore(store.client, prefix=store.prefix) for _ in range(2)]
    workers = [SampleProcessor(settings, st) for st in stores]
    moving = _run(workers, cam, scene, 8)
    assert _counts(moving) == _counts(alone)
    # the scene has people in view: counted from the first sample on, never a made-up 0
    people = [r.observation["people"] for r in alone]
    assert all(p is None or p > 0 for p in people), people
    assert sum(p is not None for p in people) >= 7, people
    # each sample after the first found the state the other worker left (no second warm-up)
    assert [getattr(w, "warmups", 0) for w in workers] == [1, 0]
    assert workers[1].states.stats["loads"] == 4 and workers[0].states.stats["loads"] == 3


def test_reloading_the_camera_list_keeps_unchanged_specs_and_sees_changes(settings, sqlite_db):
    """The supervisor re-reads the camera list every 30 s: at city scale it must not rebuild
    10,693 specs each time, yet a changed, added or disabled camera is picked up."""
    ids = _cameras(sqlite_db, 50)
    sup = Supervisor(settings, sqlite_db, reload_every_s=1e9)
    sup.load_cameras()
    before = {c: sup.slots[c].spec for c in ids}
    assert before[ids[0]].analytics is before[ids[1]].analytics  # identical configs: one dict
    with sqlite_db.session() as s:
        s.get(Camera, ids[0]).rois = [
            {"name": "zona", "kind": "crowd", "points": [[0, 0], [1, 0], [1, 1]]}
        ]
        s.get(Camera, ids[1]).enabled = False
        s.get(Camera, ids[2]).sample_interval_s = 30
    assert sup.load_cameras() == 49
    assert sup.slots[ids[0]].spec.analytics["rois"][0]["name"] == "zona"
    assert ids[1] not in sup.slots
    assert sup.slots[ids[2]].spec.interval_s == 30
    assert all(sup.slots[c].spec is before[c] for c in ids[3:])


def test_a_restarted_pool_resumes_warm_from_the_database(settings, sqlite_db):
    """The workers save their states on shutdown: after a restart a camera's first sample is
    counted from its saved history (no warm-up frames are fetched, so a cold analyser would
    store NULL)."""
    sim = CameraSimulator(make_cameras(1, kinds=["crowd"], fps=4)).start()
    settings = settings.model_copy(update={"workers": 1})
    with sqlite_db.session() as s:
        cam_id = make_camera(
            s, "RESUME-1", sim.url(0, "snapshot"), "snapshot", sample_interval_s=2
        ).id

    def observations():  # noqa: ANN202
        with sqlite_db.session() as s:
            return list(
                s.scalars(
                    select(Observation)
                    .where(Observation.camera_id == cam_id)
                    .order_by(Observation.slot)
                )
            )

    try:
        sup = Supervisor(settings, sqlite_db, reload_every_s=1e9).start()
        try:
            assert wait_for(lambda: len(observations()) >= 3, 60), "no observations"
        finally:
            sup.stop()
        first_run = len(observations())
        with sqlite_db.session() as s:
            saved = s.get(CameraState, cam_id)
            assert saved is not None and saved.warm and 0 < len(saved.state) <= 64 * 1024
        sup = Supervisor(settings, sqlite_db, reload_every_s=1e9).start()
        try:
            assert wait_for(lambda: len(observations()) > first_run, 60), "no sample after restart"
        finally:
            sup.stop()
    finally:
        sim.stop()
    resumed = observations()[first_run]
    assert not (resumed.extra or {}).get("cold"), resumed.extra
    assert resumed.people is not None and resumed.people > 0


def test_a_cold_snapshot_sample_fetches_its_warm_up_frames_apart_and_keeps_them_as_jpeg(settings):
    """2 warm-up fetches ~cold_start_interval_s apart before the counted one; while the sample
    waits (between fetches, for the analysis) it holds JPEG bytes, not decoded frames."""
    from ingestion.fetch import fetch_sample
    from ingestion.process import CameraSpec

    sim = CameraSimulator(make_cameras(1, kinds=["street"], fps=4)).start()
    try:
        cam = CameraSpec(1, "WARM-1", sim.url(0, "snapshot"), "snapshot")
        settings = settings.model_copy(
            update={"cold_start_frames": 2, "cold_start_interval_s": 1.0}
        )
        t0 = time.time()
        got = fetch_sample({}, cam, settings, warmup=2)
        took = time.time() - t0
    finally:
        sim.stop()
    assert took >= 2.0  # two waits of 1 s
    assert got.frames == [] and len(got.jpegs) == 3 and all(j[:2] == b"\xff\xd8" for j in got.jpegs)
    assert got.frame_ts >= t0 + 2.0
    got.decode()
    assert len(got.frames) == 1 and len(got.warmup) == 2 and got.jpegs is None
    assert got.frames[0].shape == (360, 640, 3)


@pytest.mark.parametrize("warm_frames", [2, 0])
def test_cameras_sharing_a_processor_do_not_see_each_others_history(
    warm_frames, settings, sqlite_db
):
    """A processor reuses one Analyser per analytics configuration: two cameras with the same
    configuration sampled in turn get exactly the counts each gets alone (nothing of one
    camera's background, last result or quiet streak reaches the other), with and without
    warm-up frames for a cold camera."""
    from ingestion.process import CameraSpec, SampleProcessor

    settings = settings.model_copy(update={"cold_start_frames": warm_frames})

    scenes = [SyntheticScene("crowd", 21, 640, 360), SyntheticScene("street", 5, 640, 360)]
    ids = _cameras(sqlite_db, 2)
    cfg = {"rois": [], "detector": "blob"}
    cams = [CameraSpec(i, f"SHARE-{i}", "", "snapshot", analytics=dict(cfg)) for i in ids]
    alone = [_run([SampleProcessor(settings)], c, s, 6) for c, s in zip(cams, scenes, strict=True)]
    shared = SampleProcessor(settings)
    together: list[list[SampleResult]] = [[], []]
    for i in range(6):  # one sample of each camera in turn, on the one processor
        for k in (0, 1):
            cam, scene = cams[k], scenes[k]
            t = 30.0 + 60.0 * i
            warmup = []
            if shared.needs_warmup(cam):
                warmup = [scene.frame_at(t - 2.0 + j)[0] for j in range(2)]
            frame, _ = scene.frame_at(t)
            ts = T0 + timedelta(seconds=t)
            together[k].append(shared.process_burst(cam, [frame], ts, warmup=warmup))
    assert len(shared._analysers) == 1  # one configuration: one Analyser, reset per sample

    def seen(results: list[SampleResult]) -> list[tuple]:  # counts and the motion measured
        return [
            (*c, r.observation["motion_ratio"])
            for c, r in zip(_counts(results), results, strict=True)
        ]

    for k in (0, 1):
        assert seen(together[k]) == seen(alone[k])
    # the two scenes differ: had one camera's history leaked, what it saw would have too
    assert seen(alone[0]) != seen(alone[1])
