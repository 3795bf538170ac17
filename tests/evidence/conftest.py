"""Fixtures for the evidence tests: real cameras on loopback in the evidence port range
(18600-18699): the MJPEG/snapshot simulator, a gst-rtsp-server RTSP camera and a live HLS camera
(FFmpeg writing segments in real time, served over HTTP). Each test gets its own, so a test
may kill its camera mid-recording."""

from __future__ import annotations

import functools
import http.server
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INGEST = HERE.parent / "ingestion"
sys.path.insert(0, str(HERE))
if str(INGEST) not in sys.path:
    sys.path.insert(0, str(INGEST))

from ingest_helpers import VIDEO, readline_within, require_service  # noqa: E402

from ingestion.simulator import CameraSimulator, make_cameras  # noqa: E402

PORTS = range(18600, 18700)
FFMPEG = "/usr/bin/ffmpeg"


def evidence_port() -> int:
    """A free port in this suite's range."""
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18600-18699")


@pytest.fixture
def sim() -> Iterator[CameraSimulator]:
    cams = make_cameras(2, kinds=["street", "crowd"], fps=5)
    s = CameraSimulator(cams, port=evidence_port()).start()
    yield s
    s.stop()


class RtspCamera:
    def __init__(self) -> None:
        py = "/usr/bin/python3"
        ok = Path(py).exists() and subprocess.run(
            [py, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer"],
            capture_output=True, timeout=30,
        ).returncode == 0  # fmt: skip
        if not ok:
            require_service("gst-rtsp-server", "system python3 cannot import GstRtspServer")
        self.port = evidence_port()
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [py, str(INGEST / "rtsp_server.py"), str(VIDEO), str(self.port), "cam"],
            stdout=subprocess.PIPE, stderr=self._err, text=True,
        )  # fmt: skip
        line = readline_within(self.proc.stdout, 60)
        if "READY" not in line:
            self.stop()
            require_service("RTSP server", f"did not start: {line!r}")
        self.url = f"rtsp://127.0.0.1:{self.port}/cam"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._err.close()


@pytest.fixture
def rtsp_camera() -> Iterator[RtspCamera]:
    cam = RtspCamera()
    yield cam
    cam.stop()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


class HlsCamera:
    """A live HLS camera: FFmpeg encodes the test video in real time (-re) into 1 s segments;
    every segment stays on disk (the tests compare the clip's packets with them)."""

    def __init__(self, root: Path) -> None:
        if not Path(FFMPEG).exists():
            require_service("ffmpeg", "not installed")
        self.dir = root
        self.proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-loglevel", "error", "-re", "-i", str(VIDEO), "-an",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-keyint_min", "10",
             "-sc_threshold", "0", "-vf", "scale=384:-2", "-hls_time", "1", "-hls_list_size", "6",
             "-f", "hls", str(root / "index.m3u8")],
        )  # fmt: skip
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", evidence_port()), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/index.m3u8"
        self.up = True

    def wait_segments(self, n: int, timeout: float = 30) -> None:
        from ingest_helpers import wait_for

        if not wait_for(lambda: len(list(self.dir.glob("index*.ts"))) >= n, timeout):
            raise AssertionError(f"the HLS camera wrote fewer than {n} segments in {timeout} s")

    def kill(self) -> None:
        """The camera dies: the HTTP server goes away and the encoder stops."""
        if self.up:
            self.server.shutdown()
            self.server.server_close()
            self.up = False
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def hls_camera(tmp_path) -> Iterator[HlsCamera]:
    root = tmp_path / "hls"
    root.mkdir()
    cam = HlsCamera(root)
    yield cam
    cam.kill()
