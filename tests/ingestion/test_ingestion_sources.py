"""Every source protocol against a real server on loopback, plus decoding edge cases."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from ingest_helpers import VIDEO

from ingestion.sources import (
    ConnectError,
    CorruptFrame,
    MultipartParser,
    SourceError,
    StreamTimeout,
    Timeouts,
    decode_jpeg,
    jpeg_size,
    open_source,
)
from ingestion.url_policy import UrlPolicy

FAST = Timeouts(connect_s=2.0, read_s=2.0)


def _jpeg(w: int, h: int) -> bytes:
    img = np.zeros((h, w, 3), np.uint8)
    cv2.rectangle(img, (w // 4, h // 4), (w // 2, h // 2), (0, 200, 255), -1)
    return cv2.imencode(".jpg", img)[1].tobytes()


def test_decode_downscales_big_jpeg_with_reduced_decode():
    data = _jpeg(1920, 1080)
    assert jpeg_size(data) == (1920, 1080)
    frame = decode_jpeg(data, max_width=480)
    assert frame.shape == (270, 480, 3)
    assert decode_jpeg(data, max_width=800).shape[1] == 800


def test_decode_rejects_truncated_and_garbage():
    data = _jpeg(320, 240)
    with pytest.raises(CorruptFrame, match="truncated"):
        decode_jpeg(data[: len(data) // 2])
    with pytest.raises(CorruptFrame, match="not a decodable image"):
        decode_jpeg(b"\x00garbage" * 100)
    with pytest.raises(CorruptFrame, match="empty"):
        decode_jpeg(b"")


def test_multipart_parser_handles_split_chunks_and_missing_length():
    a, b = _jpeg(64, 48), _jpeg(80, 60)
    stream = (
        b"--bnd\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(a)
        + a
        + b"\r\n"
        + b"--bnd\r\nContent-Type: image/jpeg\r\n\r\n"
        + b
        + b"\r\n--bnd\r\n"
    )
    parser = MultipartParser("bnd")
    parts = []
    for i in range(0, len(stream), 7):  # tiny chunks: boundaries split across reads
        parts += parser.feed(stream[i : i + 7])
    assert parts == [a, b]


def test_multipart_parser_caps_frame_size():
    parser = MultipartParser("bnd", max_frame_bytes=1000)
    with pytest.raises(CorruptFrame):
        parser.feed(b"--bnd\r\nContent-Type: image/jpeg\r\n\r\n" + b"x" * 6000)


def test_snapshot_source(simulator):
    with open_source(simulator.url(0, "snapshot"), "snapshot", FAST, max_width=320) as src:
        frame = src.read()
        assert frame.shape == (180, 320, 3)
        assert src.read_jpeg()[:2] == b"\xff\xd8"


def test_mjpeg_per_sample_and_persistent(simulator):
    with open_source(simulator.url(1, "mjpeg"), "mjpeg", FAST) as src:
        assert src.read().shape == (360, 640, 3)
    with open_source(simulator.url(1, "mjpeg"), "mjpeg", FAST, persistent=True) as src:
        first = src.read()
        second = src.read()  # a newer frame from the same connection
        assert first.shape == second.shape == (360, 640, 3)
        assert src.frames_read == 2


def test_persistent_mjpeg_detects_a_stall(simulator):
    src = open_source(simulator.url(2, "mjpeg"), "mjpeg", Timeouts(2.0, 1.0), persistent=True)
    try:
        src.read()
        simulator.set_fault(2, "hang")
        t0 = time.monotonic()
        with pytest.raises(StreamTimeout, match="stalled|timeout"):
            for _ in range(10):
                src.read()
        assert time.monotonic() - t0 < 5
    finally:
        simulator.set_fault(2, "none")
        src.close()


def test_refused_connection_is_a_readable_error(simulator):
    simulator.set_fault(3, "refuse")
    with (
        pytest.raises(ConnectError, match="connection"),
        open_source(simulator.url(3, "snapshot"), "snapshot", FAST) as src,
    ):
        src.read()
    with (
        pytest.raises(ConnectError),
        open_source("http://127.0.0.1:9/x.jpg", "snapshot", FAST) as src,
    ):
        src.read()


def test_hls_source(hls_url):
    with open_source(hls_url, "hls", Timeouts(5, 5), max_width=320) as src:
        frame = src.read()
    assert frame.shape[1] == 320 and frame.mean() > 10


def test_hls_persistent_reader(hls_url):
    with open_source(hls_url, "hls", Timeouts(5, 5), persistent=True) as src:
        a = src.read()
        b = src.read()
    assert a.shape == b.shape == (288, 384, 3)


def test_rtsp_source(rtsp_url):
    with open_source(rtsp_url, "rtsp", Timeouts(5, 5)) as src:
        frame = src.read()
    assert frame.shape == (288, 384, 3) and frame.mean() > 10
    with open_source(rtsp_url, "rtsp", Timeouts(5, 5), persistent=True) as src:
        assert src.read().shape == (288, 384, 3)
        assert src.read().shape == (288, 384, 3)


def test_rtsp_wrong_path_fails_fast(rtsp_url):
    bad = rtsp_url.rsplit("/", 1)[0] + "/nope"
    t0 = time.monotonic()
    with pytest.raises(SourceError), open_source(bad, "rtsp", Timeouts(3, 3)) as src:
        src.read()
    assert time.monotonic() - t0 < 10


def test_file_source_realtime_and_sequential():
    media = UrlPolicy(media_dir=VIDEO.parent)  # file cameras live under the media directory
    with open_source(str(VIDEO), "file", FAST, max_width=384, realtime=False, policy=media) as src:
        a, b = src.read(), src.read()
    assert a.shape == (288, 384, 3)
    assert not np.array_equal(a, b)
    with pytest.raises(ConnectError, match="not found"):
        open_source(str(VIDEO.parent / "nonexistent.mp4"), "file", FAST, policy=media)


def test_unknown_protocol_and_empty_url():
    with pytest.raises(ConnectError, match="unknown protocol"):
        open_source("http://x", "ftp", FAST)
    with pytest.raises(ConnectError, match="no stream URL"):
        open_source("", "snapshot", FAST)


def test_bursts_from_one_connection(simulator, rtsp_url):
    with open_source(simulator.url(0, "mjpeg"), "mjpeg", FAST) as src:
        frames = src.read_burst(3, 0.2)
    assert len(frames) == 3 and not np.array_equal(frames[0], frames[-1])
    with open_source(rtsp_url, "rtsp", Timeouts(5, 5)) as src:
        frames = src.read_burst(3, 0.3)
    assert len(frames) == 3 and frames[0].shape == (288, 384, 3)
    with open_source(simulator.url(0, "snapshot"), "snapshot", FAST) as src:
        assert len(src.read_burst(2, 0.1)) == 2
