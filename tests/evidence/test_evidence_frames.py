"""Recording MJPEG and snapshot cameras (the simulator on loopback): the camera's JPEGs kept
byte for byte with their capture times, an H.264 MP4 of about the length asked, SHA-256 in the
database equal to the files; a camera that dies mid-recording gives a partial, hashed result;
and the CLI: record prints the id, export writes a package that verify accepts."""

from __future__ import annotations

import json
import threading
import time

from evidence_helpers import add_camera, ffprobe, record, sha256
from typer.testing import CliRunner

from pantau.cli import app
from store.evidence import custody_rows


def _check_hashes(settings, item) -> None:  # noqa: ANN001
    assert item.files
    for f in item.files:
        assert sha256(settings.evidence_dir / f.path) == f.sha256
        assert (settings.evidence_dir / f.path).stat().st_size == f.bytes


def test_mjpeg_clip_is_complete_and_hashed(sqlite_db, settings, sim):
    add_camera(sqlite_db, "MJ-1", sim.url(0, "mjpeg"), "mjpeg")
    item = record(sqlite_db, settings, "MJ-1", 6)
    assert item.status == "complete", item.reason
    assert [f.kind for f in item.files] == ["clip", "frame", "index"]
    _check_hashes(settings, item)
    clip = ffprobe(settings.evidence_dir / item.files[0].path)
    assert clip["codec"] == "h264" and (clip["width"], clip["height"]) == (640, 360)
    assert 4.5 <= clip["duration"] <= 8.0  # 6 s asked
    index = json.loads((settings.evidence_dir / item.files[2].path).read_text())["frames"]
    raw = (settings.evidence_dir / item.files[1].path).read_bytes()
    # the kept frames are the camera's JPEGs: each starts with SOI, ends with EOI, hash matches
    for e in index:
        jpeg = raw[e["offset"] : e["offset"] + e["bytes"]]
        assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    assert len(index) == item.frames >= 10  # the simulator sends 5 fps; a loaded box fewer
    assert item.method == "frames_h264" and item.stream_kind == "mjpeg"
    assert item.started_at is not None and item.ended_at > item.started_at


def test_snapshot_camera(sqlite_db, settings, sim):
    add_camera(sqlite_db, "SN-1", sim.url(1, "snapshot"), "snapshot")
    item = record(sqlite_db, settings, "SN-1", 4)
    assert item.status == "complete", item.reason
    _check_hashes(settings, item)
    assert 2.5 <= ffprobe(settings.evidence_dir / item.files[0].path)["duration"] <= 6.0


def test_camera_dying_mid_recording_gives_partial_hashed_clip(sqlite_db, settings, sim):
    add_camera(sqlite_db, "MJ-2", sim.url(0, "mjpeg"), "mjpeg")
    threading.Timer(3.0, sim.set_fault, args=(0, "error")).start()
    t0 = time.monotonic()
    item = record(sqlite_db, settings, "MJ-2", 20)
    assert time.monotonic() - t0 < 19  # it did not wait out the 20 s
    assert item.status == "partial"
    assert "camera failed" in item.reason and "of 20 s" in item.reason
    _check_hashes(settings, item)
    dur = ffprobe(settings.evidence_dir / item.files[0].path)["duration"]
    assert 1.0 <= dur <= 6.0
    with sqlite_db.session() as s:
        rec = custody_rows(s, item.id)[-1]
        assert rec.action == "recorded" and rec.detail["status"] == "partial"
        assert [f["sha256"] for f in rec.detail["files"]] == [f.sha256 for f in item.files]


def test_unreachable_camera_fails_clearly(sqlite_db, settings):
    add_camera(sqlite_db, "MJ-3", "http://127.0.0.1:18698/cam/0/mjpeg", "mjpeg")
    item = record(sqlite_db, settings, "MJ-3", 3)
    assert item.status == "failed" and item.files == []
    assert "camera" in item.reason.lower()


def test_cli_record_export_verify(tmp_path, monkeypatch, sim):
    from pantau import settings as settings_module
    from pantau.cli import open_database

    monkeypatch.setenv("PANTAU_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    settings_module.get_settings.cache_clear()
    runner = CliRunner()
    try:
        settings = settings_module.get_settings()
        add_camera(open_database(settings), "MJ-CLI", sim.url(0, "mjpeg"), "mjpeg")
        res = runner.invoke(app, ["evidence", "record", "MJ-CLI", "--seconds", "3"])
        assert res.exit_code == 0, res.output
        item_id = int(res.stdout.splitlines()[0])  # the id comes first, alone on its line
        assert "complete" in res.output
        out = tmp_path / "bukti.zip"
        res = runner.invoke(app, ["evidence", "export", str(item_id), "--out", str(out)])
        assert res.exit_code == 0, res.output
        res = runner.invoke(app, ["evidence", "verify", str(out)])
        assert res.exit_code == 0 and "OK: 4 files match" in res.output
        again = runner.invoke(app, ["evidence", "export", str(item_id), "--out", str(out)])
        assert again.exit_code == 2 and "exists" in again.output
        assert runner.invoke(app, ["evidence", "record", "NOPE", "-s", "3"]).exit_code == 2
        assert runner.invoke(app, ["evidence", "record", "MJ-CLI", "-s", "9999"]).exit_code == 2
        res = runner.invoke(app, ["evidence", "hold", str(item_id), "--case", "SY-7/2026"])
        assert res.exit_code == 0
        assert "HOLD SY-7/2026" in runner.invoke(app, ["evidence", "list"]).output
    finally:
        settings_module.get_settings.cache_clear()
