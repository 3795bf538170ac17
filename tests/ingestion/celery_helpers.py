"""Helpers for the Celery path tests: real ``pantau worker`` subprocesses, a private
redis-server, and loopback HTTP cameras that hold, drip, fail or count their requests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
from ingest_helpers import require_service, wait_for

ROOT = Path(__file__).resolve().parents[2]
PANTAU = str(Path(sys.executable).parent / "pantau")
# ports for private servers (a redis-server per broker-restart test): a shared box gives each
# engineer a range, e.g. PANTAU_TEST_PORTS=24450-24499
_lo, _, _hi = os.environ.get("PANTAU_TEST_PORTS", "21000-21999").partition("-")
PRIVATE_PORTS = range(int(_lo), int(_hi) + 1)


def jpeg(seed: int = 0, width: int = 640, height: int = 360) -> bytes:
    """A real JPEG: a street-like picture with some noise (different per seed)."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 90, np.uint8)
    cv2.rectangle(img, (0, height // 2), (width, height), (70, 70, 70), -1)
    img = cv2.add(img, rng.integers(0, 20, img.shape, dtype=np.uint8))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return buf.tobytes()


@dataclass
class _CamState:
    mode: str  # ok | hold_first | dead | drip | hang
    hits: list[float] = field(default_factory=list)
    first_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class CameraServer:
    """HTTP snapshot cameras on loopback: ``/cam/<name>.jpg``. Modes: ``ok`` (a JPEG),
    ``hold_first`` (the first request is held open until ``release``, later ones answer),
    ``dead`` (HTTP 503), ``drip`` (headers, then one byte per second), ``hang`` (headers, then
    nothing). Every request's arrival time is kept in ``hits``."""

    def __init__(self) -> None:
        self.cams: dict[str, _CamState] = {}
        self.stopping = threading.Event()
        self.body = jpeg(1)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[-1].removesuffix(".jpg")
                cam = server.cams.get(name)
                if cam is None:
                    self.send_error(404)
                    return
                cam.hits.append(time.time())
                try:
                    server._answer(self, cam)
                except OSError:
                    self.close_connection = True

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def add(self, name: str, mode: str = "ok") -> str:
        self.cams[name] = _CamState(mode)
        return f"http://127.0.0.1:{self.port}/cam/{name}.jpg"

    def _answer(self, h: BaseHTTPRequestHandler, cam: _CamState) -> None:
        mode = cam.mode
        if mode == "hold_first" and not cam.first_arrived.is_set():
            cam.first_arrived.set()
            while not cam.release.wait(0.1) and not self.stopping.is_set():
                pass
            h.close_connection = True
            return
        if mode == "dead":
            h.send_response(503)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if mode in ("drip", "hang"):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(self.body)))
            h.end_headers()
            h.wfile.flush()
            i = 0
            while not self.stopping.is_set() and i < len(self.body):
                if mode == "drip":
                    h.wfile.write(self.body[i : i + 1])
                    h.wfile.flush()
                    i += 1
                time.sleep(1.0)
            h.close_connection = True
            return
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(self.body)))
        h.end_headers()
        h.wfile.write(self.body)

    def stop(self) -> None:
        self.stopping.set()
        for cam in self.cams.values():
            cam.release.set()
        self._http.shutdown()
        self._http.server_close()


def free_private_port() -> int:
    for port in PRIVATE_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the private range")


class PrivateRedis:
    """A redis-server of our own (no persistence) that a test may stop and start again."""

    def __init__(self, tmp: Path) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            require_service("redis-server", "binary not installed")
        self.port = free_private_port()
        self.dir = tmp
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        assert self.binary
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        assert wait_for(lambda: _ping(client), 10), "private redis-server did not start"
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _ping(client) -> bool:  # noqa: ANN001
    try:
        return bool(client.ping())
    except Exception:
        return False


class Cluster:
    """``pantau worker`` subprocesses sharing one environment (database, broker, namespace)."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.logdir = logdir
        self.procs: list[subprocess.Popen] = []

    def worker(self, role: str, concurrency: int, name: str | None = None) -> subprocess.Popen:
        name = name or f"{role}{len(self.procs)}-{uuid.uuid4().hex[:4]}"
        log = open(self.logdir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                PANTAU,
                "worker",
                "--role",
                role,
                "--concurrency",
                str(concurrency),
                "--name",
                name,
                "--loglevel",
                "info",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes its children too
        )
        proc.name = name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool processes, as an OOM killer or a power cut would,
        and wait until all of them are gone (their broker connections closed): a task
        published while a dying consumer still blocks in BRPOP is handed to it and lost
        (kombu's Redis transport records a message as unacknowledged only after BRPOP
        returned to the client)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the broker notices the closed connections

    def stop_one(self, proc: subprocess.Popen) -> None:
        """A warm shutdown (SIGTERM) of one worker, as a deploy would do."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    def logs(self) -> str:
        out = []
        for p in sorted(self.logdir.glob("*.log")):
            out.append(f"----- {p.name}\n{p.read_text()[-4000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)


def worker_env(settings, database_url: str, broker: str, namespace: str) -> dict[str, str]:  # noqa: ANN001
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        PANTAU_VAR_DIR=str(settings.var_dir),
        PANTAU_DATABASE_URL=database_url,
        PANTAU_CELERY_BROKER_URL=broker,
        PANTAU_CELERY_RESULT_BACKEND="",
        PANTAU_CELERY_NAMESPACE=namespace,
        PANTAU_SIMULATE_CAMERAS="0",
        PANTAU_DETECTOR=settings.detector,
        PANTAU_CONNECT_TIMEOUT_S=str(settings.connect_timeout_s),
        PANTAU_READ_TIMEOUT_S=str(settings.read_timeout_s),
        PANTAU_CELERY_FETCH_DEADLINE_S=str(settings.celery_fetch_deadline_s),
        PANTAU_CELERY_VISIBILITY_TIMEOUT_S=str(settings.celery_visibility_timeout_s),
        PANTAU_OFFLINE_AFTER_FAILURES=str(settings.offline_after_failures),
        PANTAU_RECONNECT_MAX_S=str(settings.reconnect_max_s),
        PANTAU_STATIC_SNAPSHOT_EVERY_S=str(settings.static_snapshot_every_s),
    )
    return env


def drop_namespace(redis_url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
