"""Recording RTSP (gst-rtsp-server) and HLS (FFmpeg writing live segments, served over HTTP)
cameras on loopback: the clip is the camera's own H.264 copied, not re-encoded, about as long
as asked, hashed; a camera that dies mid-recording gives a partial, hashed clip."""

from __future__ import annotations

import threading
import time

from evidence_helpers import add_camera, ffprobe, frame_hashes, record, sha256


def _hashed(settings, item) -> None:  # noqa: ANN001
    for f in item.files:
        assert sha256(settings.evidence_dir / f.path) == f.sha256


def test_rtsp_clip_by_stream_copy(sqlite_db, settings, rtsp_camera):
    add_camera(sqlite_db, "RT-1", rtsp_camera.url, "rtsp")
    item = record(sqlite_db, settings, "RT-1", 6)
    assert item.status == "complete", item.reason
    assert item.method == "stream_copy" and [f.kind for f in item.files] == ["clip"]
    _hashed(settings, item)
    path = settings.evidence_dir / item.files[0].path
    info = ffprobe(path)
    # the server's H.264 at its own size (tests/ingestion/rtsp_server.py: 384x288, x264enc
    # key-int-max=10); a re-encode with FFmpeg's libx264 would say keyint=250 in its SEI
    assert (info["codec"], info["width"], info["height"]) == ("h264", 384, 288)
    assert "mp4" in info["format"]
    assert 4.5 <= info["duration"] <= 8.0
    data = path.read_bytes()
    assert b"keyint=10 " in data and b"keyint=250" not in data


def test_rtsp_camera_killed_mid_recording(sqlite_db, settings, rtsp_camera):
    add_camera(sqlite_db, "RT-2", rtsp_camera.url, "rtsp")
    threading.Timer(4.0, rtsp_camera.stop).start()
    t0 = time.monotonic()
    item = record(sqlite_db, settings, "RT-2", 20)
    assert time.monotonic() - t0 < 19
    assert item.status == "partial", item.reason
    assert "of 20 s" in item.reason
    _hashed(settings, item)
    dur = ffprobe(settings.evidence_dir / item.files[0].path)["duration"]
    assert 1.0 <= dur <= 6.0


def test_hls_clip_is_the_cameras_segments_copied(sqlite_db, settings, hls_camera):
    hls_camera.wait_segments(2)
    add_camera(sqlite_db, "HL-1", hls_camera.url, "hls")
    item = record(sqlite_db, settings, "HL-1", 5)
    assert item.status == "complete", item.reason
    assert item.method == "stream_copy"
    _hashed(settings, item)
    path = settings.evidence_dir / item.files[0].path
    info = ffprobe(path)
    assert (info["codec"], info["width"]) == ("h264", 384)
    assert 4.0 <= info["duration"] <= 8.0
    # the clip decodes to exactly the camera's frames, in order (a re-encode would not)
    clip = frame_hashes(path)
    source: list = []
    for seg in sorted(hls_camera.dir.glob("index*.ts"), key=lambda p: int(p.stem[5:])):
        source += frame_hashes(seg)
    assert len(clip) >= 40  # ~10 fps x 5 s
    assert "|".join(clip) in "|".join(source)


def test_hls_camera_dying_mid_recording(sqlite_db, settings, hls_camera):
    hls_camera.wait_segments(2)
    add_camera(sqlite_db, "HL-2", hls_camera.url, "hls")
    threading.Timer(4.0, hls_camera.kill).start()
    item = record(sqlite_db, settings, "HL-2", 20)
    assert item.status == "partial", item.reason
    assert "camera stopped" in item.reason
    _hashed(settings, item)
    dur = ffprobe(settings.evidence_dir / item.files[0].path)["duration"]
    assert 1.0 <= dur <= 8.0
