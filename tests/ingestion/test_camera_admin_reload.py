"""Camera management reaches a running local scheduler without a restart: a camera added
through store/cameras.py (the function the /admin/kamera page calls) is sampled after the next
reload, a changed stream URL is followed, and a disabled camera is no longer sampled. Waits are
generous (a loaded 2-core box); nothing here measures speed."""

from __future__ import annotations

import time

from ingest_helpers import wait_for
from sqlalchemy import func, select

from ingestion.local import Supervisor
from ingestion.simulator import CameraSimulator, make_cameras
from store import cameras
from store.models import Camera, Observation


def test_added_edited_disabled_cameras_are_picked_up_by_the_reload(settings, sqlite_db):
    settings = settings.model_copy(
        update={"workers": 1, "cold_start_frames": 0, "read_timeout_s": 5.0}
    )
    sim = CameraSimulator(make_cameras(2, kinds=["street", "quiet"], fps=4)).start()
    sup = Supervisor(settings, sqlite_db, reload_every_s=1.0).start()
    try:
        assert sup.status() == []  # nothing to sample yet
        with sqlite_db.session() as s:
            cam = cameras.create(
                s,
                {
                    "code": "ADM-1",
                    "name": "Kamera admin",
                    "lat": -2.99,
                    "lon": 104.76,
                    "protocol": "snapshot",
                    "stream_url": sim.url(0, "snapshot"),
                    "sample_interval_s": 1,
                },
                actor="admin",
            )
            cam_id = cam.id

        def stored() -> int:
            with sqlite_db.session() as s:
                return (
                    s.scalar(
                        select(func.count())
                        .select_from(Observation)
                        .where(Observation.camera_id == cam_id)
                    )
                    or 0
                )

        assert wait_for(lambda: stored() >= 2, 90), "the added camera was never sampled"

        # a new stream URL is followed after the next reload
        with sqlite_db.session() as s:
            cameras.update(s, "ADM-1", {"stream_url": sim.url(1, "snapshot")}, actor="admin")
        new_url = sim.url(1, "snapshot")
        assert wait_for(lambda: any(sl.spec.url == new_url for sl in sup.slots.values()), 60), (
            "the scheduler kept the old URL"
        )

        with sqlite_db.session() as s:
            cameras.set_enabled(s, "ADM-1", False, actor="admin")
        assert wait_for(lambda: cam_id not in sup.slots, 60), "the disabled camera stays"
        time.sleep(3)  # a sample in flight when it was disabled may still land
        settled = stored()
        time.sleep(5)  # five intervals of the camera
        assert stored() == settled, "a disabled camera was still sampled"
        with sqlite_db.session() as s:
            assert s.get(Camera, cam_id).status == "disabled"
    finally:
        sup.stop()
        sim.stop()
