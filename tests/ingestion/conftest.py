"""Fixtures for ingestion tests: the camera simulator, an HLS server (ffmpeg segments served
over HTTP) and an RTSP server (gst-rtsp-server via the system python3), all on loopback."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from ingest_helpers import VIDEO, free_port, readline_within, require_service  # noqa: E402

from ingestion.simulator import CameraSimulator, make_cameras  # noqa: E402


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    sim = CameraSimulator(
        make_cameras(4, kinds=["street", "crowd", "flood", "quiet"], fps=5)
    ).start()
    yield sim
    sim.stop()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture(scope="session")
def hls_url(tmp_path_factory) -> Iterator[str]:
    ffmpeg = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    if not Path(ffmpeg).exists():
        require_service("ffmpeg", "not installed (scripts/setup-system.sh installs it)")
    out = tmp_path_factory.mktemp("hls")
    cmd = [
        ffmpeg,
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(VIDEO),
        "-t",
        "8",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "10",
        "-vf",
        "scale=384:-2",
        "-hls_time",
        "2",
        "-hls_list_size",
        "0",
        "-f",
        "hls",
        str(out / "index.m3u8"),
    ]
    subprocess.run(cmd, check=True, timeout=60)
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def rtsp_url() -> Iterator[str]:
    py = "/usr/bin/python3"
    probe = (
        subprocess.run(
            [
                py,
                "-c",
                "import gi; gi.require_version('GstRtspServer', '1.0'); "
                "from gi.repository import GstRtspServer",
            ],
            capture_output=True,
            timeout=30,
        )
        if Path(py).exists()
        else None
    )
    if probe is None or probe.returncode != 0:
        require_service(
            "gst-rtsp-server",
            "system python3 cannot import GstRtspServer "
            "(scripts/setup-system.sh installs gir1.2-gst-rtsp-server-1.0)",
        )
    port = free_port()
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - a pipe nobody reads would stall a chatty server; closed below
    proc = subprocess.Popen(
        [py, str(HERE / "rtsp_server.py"), str(VIDEO), str(port), "cam"],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    try:
        line = readline_within(proc.stdout, 60)  # never blocks on a hung server
        if "READY" not in line:
            proc.kill()
            proc.wait(10)
            errors.seek(0)
            err = errors.read().decode(errors="replace")[-2000:]
            require_service("RTSP server", f"did not start within 60 s: {line!r} {err}")
        yield f"rtsp://127.0.0.1:{port}/cam"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        errors.close()
