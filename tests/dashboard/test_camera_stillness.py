"""The camera page's latest-sample line (issue 13): people moving / standing, vehicles moving /
parked, and the ROIs where a vehicle is parked or a static object stays, with units and the
sample's local time, in Bahasa Indonesia and English. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from dashboard.callbacks import camera
from store.models import Camera, Observation

TS = datetime(2026, 11, 30, 5, 4, tzinfo=UTC)  # 12:04 WIB


def _camera(db, code: str, **obs) -> None:  # noqa: ANN001, ANN003
    with db.session() as s:
        cam = Camera(code=code, name="Jl. Uji", lat=-2.99, lon=104.76, stream_url="http://x")
        s.add(cam)
        s.flush()
        if obs:
            s.add(Observation(camera_id=cam.id, ts=TS, slot=TS, **obs))


def _line(db, settings, code: str, lang: str) -> str:  # noqa: ANN001
    app = Flask(__name__)
    app.config.update(PANTAU_SETTINGS=settings, PANTAU_DB=db)
    with app.test_request_context(f"/kamera/{code}?lang={lang}"):
        return camera.update_snapshot(1, True, code, db=db)[3]


def test_latest_sample_shows_moving_standing_parked_and_dwell(db, settings):
    extra = {
        "people_standing": 2,
        "vehicles_parked": 1,
        "rois": [
            {"name": "trotoar", "people": 5, "vehicles": 0, "density": 5.0, "standing": 2},
            {"name": "bahu", "people": 0, "vehicles": 1, "density": 0.0, "parked": 1,
             "dwell_s": 725.0, "kind": "no_parking"},
            {"name": "sudut", "people": 0, "vehicles": 0, "density": 0.0, "objects": 1,
             "object_dwell_s": 1260.0, "kind": "no_dumping"},
        ],
    }  # fmt: skip
    _camera(db, "ST-1", people=5, vehicles_total=3, extra=extra)
    line = _line(db, settings, "ST-1", "id")
    assert "12:04" in line and "WIB" in line
    assert "5 orang (3 bergerak, 2 berdiri)" in line
    assert "3 kendaraan (2 bergerak, 1 parkir)" in line
    assert "bahu: kendaraan berhenti 12 menit" in line
    assert "sudut: 1 benda diam 21 menit" in line
    en = _line(db, settings, "ST-1", "en")
    assert "5 people (3 moving, 2 standing)" in en and "3 vehicles (2 moving, 1 parked)" in en
    assert "bahu: vehicle stopped 12 min" in en


def test_latest_sample_unknown_or_missing(db, settings):
    _camera(db, "ST-2", people=None, vehicles_total=None, extra={"cold": True, "rois": []})
    assert "belum diketahui" in _line(db, settings, "ST-2", "id")
    _camera(db, "ST-3")
    assert _line(db, settings, "ST-3", "en") == "No sample yet."
