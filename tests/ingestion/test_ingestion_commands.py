"""CLI surface: `pantau analyze` (JSON per frame, clear errors), `pantau simulate` input checks,
and `start_background` as `pantau run` uses it (simulated demo cameras -> observations)."""

from __future__ import annotations

import json

import cv2
import numpy as np
from ingest_helpers import VIDEO, free_port, wait_for
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from pantau.cli import app
from store.models import Camera, Observation

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_analyze_video_frames_json():
    res = runner.invoke(app, ["analyze", str(VIDEO), "--frames", "0,5,10,15", "--detector", "blob"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.strip().splitlines()]
    assert [x["frame"] for x in lines] == [0, 5, 10, 15]
    for x in lines:
        assert set(x) >= {"people", "vehicles", "motion", "water_coverage", "analyser", "ms"}
        assert x["analyser"] == "blob" and x["ms"] > 0
    assert lines[-1]["people"] > 0  # the blob detector warmed up on real footage


def test_analyze_image_and_errors(tmp_path):
    img = tmp_path / "cam.jpg"
    cv2.imwrite(str(img), np.full((240, 320, 3), 90, np.uint8))
    res = runner.invoke(app, ["analyze", str(img)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["width"] == 320
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 garbage")
    res = runner.invoke(app, ["analyze", str(bad)])
    assert res.exit_code == 1 and "truncated" in _flat(res.output)
    res = runner.invoke(app, ["analyze", str(VIDEO), "--frames", "99999"])
    assert res.exit_code == 1 and "do not exist" in _flat(res.output)
    res = runner.invoke(app, ["analyze", str(VIDEO), "--frames", "a-b"])
    assert res.exit_code == 1 and "bad frame" in _flat(res.output)


def test_simulate_rejects_bad_fault_spec():
    res = runner.invoke(app, ["simulate", "--cameras", "2", "--faults", "1=explode"])
    assert res.exit_code == 1 and "bad fault" in _flat(res.output)


def test_start_background_simulates_demo_cameras(settings, sqlite_db):
    from ingestion.local import start_background
    from store.seed import seed_reference

    with sqlite_db.session() as s:
        seed_reference(s)
        # first samples are spread over the camera's interval: keep the wait short
        s.execute(update(Camera).values(sample_interval_s=5))
    s = settings.model_copy(
        update={"simulate_cameras": 3, "simulator_port": free_port(), "workers": 1}
    )
    bg = start_background(s, sqlite_db)
    try:
        with sqlite_db.session() as sess:
            cams = list(sess.scalars(select(Camera).where(Camera.stream_url.is_not(None))))
        assert len(cams) == 3
        assert {c.protocol for c in cams} == {"mjpeg", "snapshot"}
        assert all(
            c.stream_url.startswith(f"http://127.0.0.1:{s.simulator_port}/cam/") for c in cams
        )

        def observed() -> int:
            with sqlite_db.session() as sess:
                return sess.scalar(select(func.count(func.distinct(Observation.camera_id))))

        assert wait_for(lambda: observed() == 3, 60), bg.supervisor.status()
        status_file = s.var_dir / "ingest_status.json"
        assert wait_for(status_file.exists, 10)
        doc = json.loads(status_file.read_text())
        assert len(doc["cameras"]) == 3 and {"samples", "failures", "fps"} <= set(doc["cameras"][0])
    finally:
        bg.stop()
    with sqlite_db.session() as sess:
        assert all(
            c.last_snapshot
            for c in sess.scalars(select(Camera).where(Camera.stream_url.is_not(None)))
        )


def test_sensors_refuses_a_spool_in_use_with_a_clear_error(tmp_path, monkeypatch):
    """Two subscribers with one MQTT client id would split one persistent session: the second
    `pantau sensors` stops at once with a message, not a traceback, and writes nothing."""
    import fcntl
    import os

    from pantau import settings as settings_module

    var = tmp_path / "var"
    monkeypatch.setenv("PANTAU_VAR_DIR", str(var))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    monkeypatch.setenv("PANTAU_MQTT_CLIENT_ID", "pantau-test-spool-held")
    settings_module.get_settings.cache_clear()
    spool = var / "sensors" / "pantau-test-spool-held.spool"
    spool.parent.mkdir(parents=True)
    fd = os.open(spool, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running subscriber holds
    try:
        res = runner.invoke(app, ["sensors", "--duration", "1"])
    finally:
        os.close(fd)
        settings_module.get_settings.cache_clear()
    assert res.exit_code == 1, res.output
    assert "in use by another subscriber" in _flat(res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert spool.stat().st_size == 0
