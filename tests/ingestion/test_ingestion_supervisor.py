"""The local pool end to end: simulator cameras (healthy and sick) -> worker processes ->
writer -> SQLite. Healthy cameras keep their rate while sick ones go offline with a reason, and
the sick ones recover once the fault is lifted. A video file camera runs real footage through."""

from __future__ import annotations

from ingest_helpers import VIDEO, make_camera, wait_for
from sqlalchemy import func, select

from ingestion.local import Supervisor
from ingestion.simulator import CameraSimulator, make_cameras
from store.models import Camera, CameraStatus, CameraStatusEvent, Observation

SICK = {  # camera index -> (fault, protocol, expected words in the reason)
    2: ("refuse", "snapshot", ("connect", "dropped", "refused")),
    3: ("hang", "snapshot", ("not responding", "timeout")),
    4: ("truncated", "snapshot", ("truncated",)),
    5: ("garbage", "mjpeg", ("decodable",)),
    6: ("slow", "snapshot", ("slow", "timeout", "not responding")),
    7: ("error", "snapshot", ("503",)),
}


def test_faulty_cameras_do_not_slow_healthy_ones_and_recover(settings, sqlite_db):
    settings = settings.model_copy(
        update={
            "connect_timeout_s": 1.0,
            "read_timeout_s": 1.5,
            "offline_after_failures": 2,
            "reconnect_max_s": 2.0,
            "workers": 2,
            "fetch_threads": 8,
            "camera_media_dir": str(VIDEO.parent),  # FILE-1 plays the test clip
        }
    )
    faults = {i: f for i, (f, _, _) in SICK.items()}
    sim = CameraSimulator(make_cameras(8, kinds=["street", "crowd"], faults=faults, fps=4)).start()
    with sqlite_db.session() as s:
        ids = {}
        for i in range(8):
            proto = SICK[i][1] if i in SICK else ("snapshot" if i == 0 else "mjpeg")
            ids[i] = make_camera(s, f"SIM-{i}", sim.url(i, proto), proto).id
        ids["file"] = make_camera(s, "FILE-1", str(VIDEO), "file").id
    sup = Supervisor(settings, sqlite_db, backoff_base_s=0.5, reload_every_s=1000)
    sup.start()
    try:

        def count(cam_id: int) -> int:
            with sqlite_db.session() as s:
                return s.scalar(
                    select(func.count())
                    .select_from(Observation)
                    .where(Observation.camera_id == cam_id)
                )

        healthy = [ids[0], ids[1], ids["file"]]
        assert wait_for(lambda: all(count(c) for c in healthy), 40), "no first observations"
        start = {c: count(c) for c in healthy}

        def statuses() -> dict[int, tuple[str, str | None]]:
            with sqlite_db.session() as s:
                return {c.id: (c.status, c.status_reason) for c in s.scalars(select(Camera))}

        def all_sick_offline() -> bool:
            st = statuses()
            return all(st[ids[i]][0] == CameraStatus.OFFLINE for i in SICK)

        assert wait_for(all_sick_offline, 40), statuses()
        # behaviour, not speed: while the sick cameras hang, refuse or send garbage (each
        # holding a fetch for up to its read timeout), every healthy camera keeps being sampled.
        # Measured as progress (4 more samples each, however long a loaded machine takes),
        # and relative to a sick camera's attempts over the same time: a healthy camera stuck
        # behind sick ones would get no more samples than they get attempts.
        hang_attempts = {r["code"]: r["failures"] for r in sup.status()}["SIM-3"]
        assert wait_for(lambda: all(count(c) - start[c] >= 4 for c in healthy), 60), {
            c: count(c) - start[c] for c in healthy
        }
        hang_attempts = {r["code"]: r["failures"] for r in sup.status()}["SIM-3"] - hang_attempts
        for c in healthy:
            assert count(c) - start[c] > hang_attempts, (c, count(c) - start[c], hang_attempts)
        st = statuses()
        for i, (fault, _, words) in SICK.items():
            status, reason = st[ids[i]]
            assert status == CameraStatus.OFFLINE
            assert reason and any(w in reason.lower() for w in words), (fault, reason)
        for c in healthy:
            assert st[c][0] == CameraStatus.ONLINE, st[c]
        with sqlite_db.session() as s:
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(CameraStatusEvent)
                    .where(
                        CameraStatusEvent.camera_id == ids[4], CameraStatusEvent.status == "offline"
                    )
                )
                == 1
            )
            # real footage went through the whole pipeline
            people = s.scalars(
                select(Observation.people).where(
                    Observation.camera_id == ids["file"], Observation.people.is_not(None)
                )
            )
            assert max(people) > 0
        corrupt = {r["code"]: r["corrupt"] for r in sup.status()}
        assert corrupt["SIM-4"] >= 2 and corrupt["SIM-5"] >= 2  # counted, not crashed
        assert sup.worker_restarts == 0

        # lift every fault: all cameras come back online
        for i in SICK:
            sim.set_fault(i, "none")

        def all_online() -> bool:
            st = statuses()
            return all(st[ids[i]][0] == CameraStatus.ONLINE for i in SICK)

        assert wait_for(all_online, 25), statuses()
        assert all(count(ids[i]) > 0 for i in SICK)
    finally:
        sup.stop()
        sim.stop()
    assert sup.writer.stats.dropped == 0


def test_killed_worker_process_is_replaced(settings, sqlite_db):
    import os
    import signal

    settings = settings.model_copy(
        update={"connect_timeout_s": 1.0, "read_timeout_s": 1.5, "workers": 1}
    )
    sim = CameraSimulator(make_cameras(2, kinds=["street"])).start()
    with sqlite_db.session() as s:
        ids = [make_camera(s, f"K-{i}", sim.url(i, "snapshot"), "snapshot").id for i in range(2)]
    sup = Supervisor(settings, sqlite_db, backoff_base_s=0.5, reload_every_s=1000).start()
    try:

        def count() -> int:
            with sqlite_db.session() as s:
                return s.scalar(select(func.count()).select_from(Observation))

        assert wait_for(lambda: count() >= 2, 40)
        os.kill(sup._procs[0].pid, signal.SIGKILL)
        assert wait_for(lambda: sup.worker_restarts == 1, 10)
        before = count()
        assert wait_for(lambda: count() >= before + 4, 40), sup.status()
        with sqlite_db.session() as s:
            assert {c.status for c in s.scalars(select(Camera).where(Camera.id.in_(ids)))} == {
                "online"
            }
    finally:
        sup.stop()
        sim.stop()
