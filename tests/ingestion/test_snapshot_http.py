"""Snapshot GETs on urllib3 (ingestion.snapshot_http) against a real loopback HTTP server: the
rules the httpx version had — credentials, size limits, a whole-response deadline, dropped
connections and redirects — with readable errors."""

from __future__ import annotations

import base64
import http.server
import threading
import time

import cv2
import numpy as np
import pytest

from ingestion.snapshot_http import SnapshotHttp
from ingestion.sources import (
    ConnectError,
    CorruptFrame,
    SnapshotSource,
    StreamTimeout,
    Timeouts,
    UrlNotAllowed,
)
from ingestion.url_policy import UrlPolicy

JPEG = cv2.imencode(".jpg", np.full((48, 64, 3), 120, np.uint8))[1].tobytes()


class _Camera(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append(
            {"path": self.path, **{k.lower(): v for k, v in self.headers.items()}}
        )
        path = self.path
        if path == "/ok.jpg":
            self._send(JPEG)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/elsewhere":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(50_000_000))
            self.end_headers()  # and never sends it: refused unread
        elif path == "/big-undeclared":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"\0" * 4096)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(JPEG)))
            self.end_headers()
            try:
                for b in JPEG:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif path == "/cut":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(JPEG)))
            self.end_headers()
            self.wfile.write(JPEG[: len(JPEG) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif path == "/missing":
            self._send(b"not here", 404)
        else:
            self._send(b"?", 500)

    def _send(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def camera():
    _Camera.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Camera)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _source(url: str, read_s: float = 2.0, max_bytes: int = 8 << 20, client=None):
    return SnapshotSource(
        url, Timeouts(1.0, read_s), 960, max_bytes, client=client, policy=UrlPolicy()
    )


def test_a_snapshot_with_credentials_on_a_shared_pool(camera):
    pool = SnapshotHttp(1.0, 2.0, max_connections=4)
    try:
        for _ in range(3):  # the pooled connection is reused (HTTP/1.1 keep-alive)
            src = _source(f"http://op%40kota:s3cret@{camera}/ok.jpg", client=pool)
            assert src.read_jpeg() == JPEG
            src.close()
        frame = _source(f"http://{camera}/ok.jpg", client=pool).read()
        assert frame.shape == (48, 64, 3)
    finally:
        pool.close()
    auth = [h.get("authorization") for h in _Camera.seen]
    expected = "Basic " + base64.b64encode(b"op@kota:s3cret").decode()
    assert auth == [expected] * 3 + [None]
    assert _Camera.seen[0]["user-agent"].startswith("Pantau-ingest/")


def test_same_host_redirect_is_followed_and_a_metadata_redirect_is_refused(camera):
    assert _source(f"http://u:p@{camera}/redirect").read_jpeg() == JPEG
    assert [h["path"] for h in _Camera.seen] == ["/redirect", "/ok.jpg"]
    assert _Camera.seen[1].get("authorization")  # the same camera: credentials kept
    _Camera.seen.clear()
    with pytest.raises(UrlNotAllowed):
        _source(f"http://{camera}/elsewhere").read_jpeg()
    assert [h["path"] for h in _Camera.seen] == ["/elsewhere"]  # never requested
    with pytest.raises(ConnectError, match="redirects"):
        _source(f"http://{camera}/loop").read_jpeg()


def test_size_limits_with_and_without_a_declared_length(camera):
    with pytest.raises(CorruptFrame, match="too large"):
        _source(f"http://{camera}/big-declared", max_bytes=100_000).read_jpeg()
    with pytest.raises(CorruptFrame, match="larger than 100000 bytes"):
        _source(f"http://{camera}/big-undeclared", max_bytes=100_000).read_jpeg()


def test_a_dripping_camera_is_cut_off_at_the_deadline(camera):
    # one byte every 0.1 s never trips the read timeout; the whole-response deadline does
    with pytest.raises(StreamTimeout, match="too slow"):
        _source(f"http://{camera}/drip", read_s=1.0).read_jpeg()


def test_dropped_refused_and_http_errors_are_readable(camera):
    with pytest.raises(ConnectError, match="dropped"):
        _source(f"http://{camera}/cut").read_jpeg()
    with pytest.raises(ConnectError, match="HTTP 404"):
        _source(f"http://{camera}/missing").read_jpeg()
    with pytest.raises(ConnectError, match="HTTP 500"):
        _source(f"http://{camera}/oops").read_jpeg()
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    with pytest.raises(ConnectError, match="refused"):
        _source(f"http://127.0.0.1:{port}/x.jpg").read_jpeg()
