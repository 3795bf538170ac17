"""Snapshots keep the camera's own JPEG and carry their annotations as data (issue 9: CPU).

Ingestion no longer decodes, draws and re-encodes a busy camera's picture on every sample:
it writes the JPEG the camera sent, byte for byte, with the drawing primitives in a JPEG
comment segment, and the dashboard draws them when somebody views the snapshot. Checked here:
the image data is untouched and still decodes everywhere, the comment is found again and
replaced (never duplicated), other segments stay, a busy sample of a snapshot camera neither
decodes the full frame nor encodes a JPEG, and the camera page's route serves the picture with
its boxes drawn (the colours of ``analytics.annotate``).
"""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from PIL import Image

from analytics.annotate import COLOURS, draw, overlay_of
from analytics.synthetic import SyntheticScene
from analytics.types import PERSON
from ingestion.snapshots import MARK, SnapshotRenderer, embed, extract, render, write_snapshot
from ingestion.sources import decode_jpeg_scaled


def _jpeg(img: np.ndarray, quality: int = 85) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _scene(t: float = 0.0) -> np.ndarray:
    return SyntheticScene("street", seed=5, width=640, height=360).frame_at(t)[0]


OVERLAY = {
    "v": 1,
    "size": [640, 360],
    "boxes": [[100, 80, 40, 90, PERSON]],
    "counts": "orang 1  kendaraan 0",
    "time": "2026-11-30 09:00:00 WIB",
}


def _without_overlay(data: bytes) -> bytes:
    """``data`` with Pantau's comment segment cut out (the camera's bytes, if untouched)."""
    at = data.index(MARK) - 4  # FF FE, then the segment's 2-byte length
    assert data[at : at + 2] == b"\xff\xfe"
    (length,) = struct.unpack(">H", data[at + 2 : at + 4])
    return data[:at] + data[at + 2 + length :]


def test_embed_keeps_the_image_data_and_extract_finds_the_overlay() -> None:
    src = _jpeg(_scene())
    out = embed(src, OVERLAY)
    assert out[:2] == b"\xff\xd8" and out.count(MARK) == 1
    assert _without_overlay(out) == src  # the camera's bytes, untouched
    assert np.array_equal(_pixels(out), _pixels(src))  # OpenCV skips the comment
    with Image.open(io.BytesIO(out)) as im:  # so does Pillow (another JPEG reader)
        im.load()
        assert im.size == (640, 360)
    assert extract(out) == OVERLAY
    assert extract(src) is None


def test_a_second_overlay_replaces_the_first_and_other_segments_stay() -> None:
    src = _jpeg(_scene())
    # the encoder's JFIF APP0 first, then a camera's own comment
    app0_end = 4 + struct.unpack(">H", src[4:6])[0]
    foreign = b"\xff\xfe" + struct.pack(">H", 2 + 11) + b"camera-note"
    camera = src[:app0_end] + foreign + src[app0_end:]
    once = embed(camera, OVERLAY)
    twice = embed(once, {**OVERLAY, "counts": "orang 7"})
    assert twice.count(MARK) == 1 and extract(twice)["counts"] == "orang 7"
    assert twice.count(b"camera-note") == 1
    assert twice[2:4] == b"\xff\xe0"  # JFIF's APP0 is still the first segment
    assert _without_overlay(twice) == camera


def test_huge_overlays_leave_boxes_out_and_say_how_many() -> None:
    boxes = [[i % 600, i % 300, 10, 20, PERSON] for i in range(5000)]
    out = embed(_jpeg(_scene()), {**OVERLAY, "boxes": boxes})
    ov = extract(out)
    assert ov is not None
    assert 0 < len(ov["boxes"]) < 5000
    assert len(ov["boxes"]) + ov["boxes_left_out"] == 5000
    assert np.array_equal(_pixels(out), _pixels(_jpeg(_scene())))


def test_bad_input_is_refused_or_served_as_it_is(caplog) -> None:
    with pytest.raises(ValueError, match="not a JPEG"):
        embed(b"\x89PNG\r\n\x1a\n....", OVERLAY)
    assert extract(b"\xff\xd8garbage\xff\xd9") is None
    bad = embed(_jpeg(_scene()), OVERLAY).replace(b'"boxes":[[', b'"boxes":[[[', 1)
    assert extract(bad) is None  # unreadable JSON: logged, no overlay
    assert render(bad) == bad
    odd = embed(_jpeg(_scene()), {**OVERLAY, "boxes": [["x"]]})  # valid JSON, wrong shape
    assert render(odd) == odd
    assert "overlay" in caplog.text


def test_draw_scales_an_overlay_to_a_smaller_picture() -> None:
    frame = np.zeros((180, 320, 3), np.uint8)  # half the overlay's 640x360
    out = draw(frame, {"v": 1, "size": [640, 360], "boxes": [[100, 80, 40, 90, PERSON]]})
    colour = np.array(COLOURS[PERSON])
    # the box's top edge drawn at y = 40 from x = 50 to 70 (half of 100..140 at y = 80)
    assert (np.abs(out[40, 55:66].astype(int) - colour) <= 1).all()
    assert not out[20, 55:66].any() and not out[40, 80:90].any()


def test_a_busy_sample_writes_the_cameras_jpeg_without_decoding_it_in_full(settings) -> None:
    from ingestion.process import CameraSpec, SampleProcessor

    # no crowd-alert candidates here: those keep an annotated frame as evidence (drawn at once)
    settings = settings.model_copy(
        update={"static_snapshot_every_s": 300, "crowd_alert_min_people": 10_000}
    )
    proc = SampleProcessor(settings)
    cam = CameraSpec(1, "SNAP-1", "", "snapshot", analytics={"detector": "blob"})
    scene = SyntheticScene("crowd", seed=11, width=768, height=576)
    loaded, results, last = [], [], b""
    need = proc.reduced_size(cam)
    for i in range(8):  # 1 s apart: people walk, the camera is busy
        warmup = []
        if proc.needs_warmup(cam):  # as the worker does for a cold camera
            warmup = [
                decode_jpeg_scaled(_jpeg(scene.frame_at(28.0 + k)[0]), None, need)
                for k in range(2)
            ]
        last = _jpeg(scene.frame_at(30.0 + i)[0])
        frame = decode_jpeg_scaled(last, settings.frame_max_width, need)
        ts = datetime.fromtimestamp(1_764_000_000 + i, UTC)
        results.append(proc.process_burst(cam, [frame], ts, warmup=warmup, jpeg=last))
        loaded += [f.loaded for f in [frame, *warmup]]
    busy = [r for r in results if r.observation["people"]]
    assert len(busy) >= 4, [r.observation["people"] for r in results]
    assert not any(loaded), "a busy blob-detector sample decoded the full frame"
    data = (settings.snapshot_dir / "SNAP-1.jpg").read_bytes()
    assert _without_overlay(data) == last  # the camera's JPEG, byte for byte
    ov = extract(data)
    assert ov["size"] == [768, 576]
    assert ov["counts"].startswith(f"orang {results[-1].observation['people']} ")
    people_boxes = [b for b in ov["boxes"] if b[4] == PERSON]
    assert len(people_boxes) >= 1


def test_the_camera_page_route_draws_the_overlay_once_per_file_version(
    settings, sqlite_db, tmp_path
) -> None:
    from dashboard.app import create_app
    from tests.access.access_helpers import login

    app = create_app(settings, sqlite_db)
    try:
        client = login(app.server.test_client(), sqlite_db, "operator")
        frame = np.full((360, 640, 3), 40, np.uint8)
        ov = overlay_of(None, None, datetime(2026, 11, 30, 2, 0, tzinfo=UTC), (640, 360))
        ov["boxes"] = [[200, 100, 80, 120, PERSON]]
        write_snapshot(settings.snapshot_dir / "CAM-1.jpg", _jpeg(frame, 95), ov)
        resp = client.get("/snapshots/CAM-1.jpg")
        assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
        got = _pixels(resp.data)
        colour = np.array(COLOURS[PERSON])
        assert (np.abs(got[100, 220:260].astype(int) - colour) <= 40).all()  # top edge drawn
        assert (np.abs(got[200, 300:330].astype(int) - 40) <= 8).all()  # the rest untouched
        assert extract(resp.data) is None  # the drawn picture carries no overlay data
    finally:
        hub = app.server.extensions.get("pantau_hub")
        if hub is not None:
            hub.close()

    renderer = SnapshotRenderer(max_items=4)
    path = tmp_path / "X.jpg"
    write_snapshot(path, _jpeg(frame), ov)
    first = renderer.annotated(path)
    assert renderer.annotated(path) == first and renderer.renders == 1
    write_snapshot(path, _jpeg(frame + 30), ov)  # a new sample: drawn again
    assert renderer.annotated(path) != first and renderer.renders == 2
    assert renderer.annotated(tmp_path / "missing.jpg") is None
