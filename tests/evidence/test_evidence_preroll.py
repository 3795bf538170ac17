"""Pre-roll: a camera tagged ``prarekam`` keeps a short rolling buffer in the recorder service,
so a recording starts before it was asked for: MJPEG frames from before the request (marked
pre-roll, times before the request), an RTSP ``preroll.mp4`` copied from the stream, an HLS
clip that begins with the segments the camera still lists."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from evidence_helpers import add_camera, ffprobe, queue, sha256

from ingestion.evidence_preroll import Prerolls
from ingestion.evidence_recorder import claim, record_item


def _settings(settings):  # noqa: ANN001, ANN202
    return settings.model_copy(update={"evidence_preroll_seconds": 4})


def test_mjpeg_preroll_frames_come_from_before_the_request(sqlite_db, settings, sim):
    s = _settings(settings)
    add_camera(sqlite_db, "PR-MJ", sim.url(0, "mjpeg"), "mjpeg", tags=["prarekam"])
    add_camera(sqlite_db, "PR-NO", sim.url(1, "mjpeg"), "mjpeg")  # not tagged: no buffer
    pre = Prerolls(s, sqlite_db)
    try:
        pre.sync(force=True)
        assert set(pre.rings) == {"PR-MJ"}
        time.sleep(6)
        asked = datetime.now(UTC).timestamp()
        item_id = queue(sqlite_db, s, "PR-MJ", 3)
        assert claim(sqlite_db, s, item_id)
        item = record_item(sqlite_db, s, item_id, preroll=pre)
    finally:
        pre.close()
    assert item.status == "complete", item.reason
    assert 2.0 <= item.preroll_seconds <= 4.5
    frames = json.loads((s.evidence_dir / item.files[2].path).read_text())["frames"]
    early = [f for f in frames if f["preroll"]]
    live = [f for f in frames if not f["preroll"]]
    # the pre-roll reaches back before the request (up to the 4 s buffer) and ends where the
    # live recording begins
    assert early and max(f["unix"] for f in early) < min(f["unix"] for f in live)
    assert asked - 4.5 <= min(f["unix"] for f in early) <= asked - 2.0
    clip = ffprobe(s.evidence_dir / item.files[0].path)
    assert clip["duration"] >= 3.0 + 2.0  # the asked 3 s plus the pre-roll


def test_rtsp_preroll_is_a_copied_clip_of_its_own(sqlite_db, settings, rtsp_camera):
    s = _settings(settings)
    add_camera(sqlite_db, "PR-RT", rtsp_camera.url, "rtsp", tags=["prarekam"])
    pre = Prerolls(s, sqlite_db)
    try:
        pre.sync(force=True)
        time.sleep(8)
        item_id = queue(sqlite_db, s, "PR-RT", 3)
        assert claim(sqlite_db, s, item_id)
        item = record_item(sqlite_db, s, item_id, preroll=pre)
    finally:
        pre.close()
    assert item.status == "complete", item.reason
    names = [f.path.rsplit("/", 1)[-1] for f in item.files]
    assert names == ["clip.mp4", "preroll.mp4"]
    preroll = s.evidence_dir / item.files[1].path
    assert sha256(preroll) == item.files[1].sha256
    info = ffprobe(preroll)
    assert (info["codec"], info["width"]) == ("h264", 384)
    assert 2.0 <= info["duration"] <= 7.0  # 4 s asked; 2 s segments, the newest partly written
    assert b"keyint=10 " in preroll.read_bytes()  # the camera's own encoding, copied
    assert not (s.var_dir / "preroll" / "PR-RT").exists()  # the ring is removed on close


def test_hls_preroll_starts_with_listed_segments(sqlite_db, settings, hls_camera):
    s = _settings(settings)
    hls_camera.wait_segments(6)
    add_camera(sqlite_db, "PR-HL", hls_camera.url, "hls", tags=["prarekam"])
    pre = Prerolls(s, sqlite_db)
    pre.sync(force=True)
    item_id = queue(sqlite_db, s, "PR-HL", 3)
    assert claim(sqlite_db, s, item_id)
    item = record_item(sqlite_db, s, item_id, preroll=pre)
    pre.close()
    assert item.status == "complete", item.reason
    assert 3.0 <= item.preroll_seconds <= 4.01  # whole 1 s segments within the 4 s asked
    assert ffprobe(s.evidence_dir / item.files[0].path)["duration"] >= 3.0 + 3.0 - 0.5
