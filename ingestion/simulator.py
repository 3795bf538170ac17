"""Camera simulator: N fake CCTV cameras on loopback, for the demo, tests and benchmarks.

Each camera serves ``/cam/<i>/mjpeg`` (multipart/x-mixed-replace) and ``/cam/<i>/snapshot.jpg``
from a synthetic scene (``analytics.synthetic``: street traffic, a crowd, a road flooding, a
quiet scene) or a video file, and can be told to misbehave like real cameras do::

    GET /cam/3/fault?mode=hang        # refuse | hang | truncated | garbage | slow | error | none
    GET /cameras                      # JSON list of cameras, their URLs and faults

Fault modes: ``refuse`` resets the connection without answering; ``hang`` sends headers then
nothing (MJPEG: a frame first, then hangs mid-stream); ``truncated`` cuts every JPEG in half;
``garbage`` sends random bytes labelled image/jpeg; ``slow`` trickles ~200 bytes/s; ``error``
answers HTTP 503. Frames are rendered lazily (only while someone asks) on a 1/fps time grid and
cached as JPEG, so a hundred clients on one camera cost one render.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import cv2
import numpy as np

logger = logging.getLogger(__name__)

FAULTS = ("none", "refuse", "hang", "truncated", "garbage", "slow", "error")
SCENE_KINDS = ("street", "crowd", "flood", "quiet")
BOUNDARY = "pantauframe"
FLOOD_CYCLE_S = 900.0  # water rises over 600 s, stays, then the road dries again


@dataclass
class SimCamera:
    index: int
    kind: str = "street"  # a scene kind, or "video"
    seed: int = 0
    video: str | None = None
    fault: str = "none"
    fps: float = 2.0
    width: int = 640
    height: int = 360
    time_offset: float = 0.0
    #: Unix time at scene time 0: the scene's activity follows the city's clock from there
    #: (analytics.demo_model); None: a constant, full scene (tests and benchmarks)
    clock_epoch: float | None = None
    utc_offset_hours: float = 7.0
    #: pre-encoded JPEGs served in turn, one per request (benchmarks: no render cost)
    frames: list[bytes] | None = field(default=None, repr=False)
    _seq: int = 0
    _scene: Any = field(default=None, repr=False)
    _cap: Any = field(default=None, repr=False)
    _video_fps: float = 10.0
    _video_pos: int = 0
    _cache_key: int = -1
    _cache: bytes = b""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    renders: int = 0
    _render_t: float = 0.0

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        if self.frames:
            return
        if self.kind == "video":
            if not self.video or not Path(self.video).is_file():
                raise ValueError(f"camera {self.index}: video file not found: {self.video}")
        elif self.kind not in SCENE_KINDS:
            raise ValueError(f"camera {self.index}: unknown scene {self.kind!r}")

    def _render(self, t: float) -> np.ndarray:
        if self.kind == "video":
            if self._cap is None:
                self._cap = cv2.VideoCapture(self.video)
                self._video_fps = self._cap.get(cv2.CAP_PROP_FPS) or 10.0
            n = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 1)
            idx = int(t * self._video_fps) % max(1, n)
            if idx < self._video_pos or idx - self._video_pos > 50:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
                self._video_pos = idx
            while self._video_pos < idx:
                self._cap.grab()
                self._video_pos += 1
            ok, frame = self._cap.read()
            self._video_pos += 1
            if not ok:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._video_pos = 0
                ok, frame = self._cap.read()
                self._video_pos = 1
            if not ok or frame is None:
                raise RuntimeError(f"cannot read {self.video}")
            return frame
        if self._scene is None:
            from analytics.synthetic import SyntheticScene

            activity = None
            if self.clock_epoch is not None:
                from analytics.demo_model import activity_clock

                # scene time t is wall time clock_epoch + t - time_offset; flood scenes
                # replay a cycle, so the clock reads the unwrapped time of this render
                clock = activity_clock(self.clock_epoch - self.time_offset, self.utc_offset_hours)

                def activity(_scene_t: float) -> tuple[float, float]:
                    return clock(self._render_t)

            water = None
            if self.clock_epoch is not None and self.kind == "flood":
                from analytics.demo_model import water_clock

                # the demo weather (the seeded history's rain) decides the water
                wclock = water_clock(
                    self.clock_epoch - self.time_offset, self.index, self.utc_offset_hours
                )

                def water(_scene_t: float) -> float:
                    return wclock(self._render_t)

            self._scene = SyntheticScene(
                self.kind, self.seed, self.width, self.height, activity=activity, water=water
            )
        self._render_t = t
        # without the demo clock a flood scene replays a rise-and-dry cycle
        st = t % FLOOD_CYCLE_S if self.kind == "flood" and self.clock_epoch is None else t
        frame, _ = self._scene.frame_at(st)
        return frame

    def jpeg_at(self, t: float) -> bytes:
        """The JPEG of the frame at scene time ``t`` (cached on the 1/fps grid)."""
        if self.frames:
            with self._lock:
                self._seq += 1
                return self.frames[(self.index + self._seq) % len(self.frames)]
        key = int((t + self.time_offset) * self.fps)
        with self._lock:
            if key != self._cache_key:
                frame = self._render(key / self.fps)
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
                if not ok:
                    raise RuntimeError("JPEG encode failed")
                self._cache, self._cache_key = buf.tobytes(), key
                self.renders += 1
            return self._cache


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, handler, sim: CameraSimulator) -> None:  # type: ignore[no-untyped-def]
        self.sim = sim
        super().__init__(addr, handler)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # clients dropping connections (timeouts, resets) are routine for a camera simulator
        logger.debug("simulator: client %s dropped", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add
        # 40 ms to every snapshot
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the demo would be flooded
        logger.debug("simulator: " + fmt, *args)

    # -- helpers ------------------------------------------------------------------------------
    def _reset(self) -> None:
        """Abort the TCP connection (RST), like a camera refusing service."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _hang(self, cam: SimCamera) -> None:
        """Hold the connection without sending until the fault changes or the server stops."""
        sim = self.server.sim
        while cam.fault == "hang" and not sim.stopping.is_set():
            time.sleep(0.1)
        self.close_connection = True

    def _payload(self, cam: SimCamera, jpeg: bytes) -> bytes:
        if cam.fault == "truncated":
            return jpeg[: len(jpeg) // 2]
        if cam.fault == "garbage":
            return np.random.default_rng().integers(0, 256, 4096, dtype=np.uint8).tobytes()
        return jpeg

    def _write_slow(self, data: bytes, cam: SimCamera) -> None:
        for i in range(0, len(data), 50):
            if self.server.sim.stopping.is_set():
                return
            self.wfile.write(data[i : i + 50])
            self.wfile.flush()
            time.sleep(0.25)
            if cam.fault != "slow":  # fault lifted: send the rest at once
                self.wfile.write(data[i + 50 :])
                return

    # -- routes -------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        sim = self.server.sim
        url = urlparse(self.path)
        try:
            if url.path in ("/", "/cameras"):
                self._send(200, json.dumps(sim.describe()).encode(), "application/json")
                return
            if url.path == "/healthz":
                self._send(200, b"ok", "text/plain")
                return
            m = re.fullmatch(r"/cam/(\d+)/(mjpeg|snapshot\.jpg|fault)", url.path)
            if not m or int(m.group(1)) >= len(sim.cameras):
                self._send(404, b"no such camera", "text/plain")
                return
            cam = sim.cameras[int(m.group(1))]
            what = m.group(2)
            if what == "fault":
                mode = (parse_qs(url.query).get("mode") or ["none"])[0]
                if mode not in FAULTS:
                    self._send(400, f"unknown fault {mode!r}".encode(), "text/plain")
                    return
                cam.fault = mode
                self._send(
                    200,
                    json.dumps({"camera": cam.index, "fault": mode}).encode(),
                    "application/json",
                )
                return
            if cam.fault == "refuse":
                self._reset()
                return
            if cam.fault == "error":
                self._send(503, b"camera unavailable", "text/plain")
                return
            if what == "snapshot.jpg":
                self._snapshot(cam)
            else:
                self._mjpeg(cam)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        except Exception:
            logger.exception("simulator request %s failed", self.path)
            self.close_connection = True

    def _snapshot(self, cam: SimCamera) -> None:
        sim = self.server.sim
        if cam.fault == "hang":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "50000")
            self.end_headers()
            self.wfile.flush()
            self._hang(cam)
            return
        body = self._payload(cam, cam.jpeg_at(sim.now()))
        if cam.fault == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._write_slow(body, cam)
            return
        self._send(200, body, "image/jpeg")

    def _mjpeg(self, cam: SimCamera) -> None:
        sim = self.server.sim
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        while not sim.stopping.is_set():
            if cam.fault == "hang" and sent > 0:
                self._hang(cam)
                return
            if cam.fault in ("refuse", "error"):
                return
            body = self._payload(cam, cam.jpeg_at(sim.now()))
            head = (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            if cam.fault == "slow":
                self._write_slow(head + body + b"\r\n", cam)
            else:
                self.wfile.write(head + body + b"\r\n")
                self.wfile.flush()
            sent += 1
            sim.frames_served += 1
            time.sleep(1.0 / cam.fps)


class CameraSimulator:
    """A threaded HTTP server with simulated cameras. ``start()`` runs it in a thread."""

    def __init__(self, cameras: list[SimCamera], host: str = "127.0.0.1", port: int = 0) -> None:
        if not cameras:
            raise ValueError("the simulator needs at least one camera")
        self.cameras = cameras
        self.host = host
        self.stopping = threading.Event()
        self.frames_served = 0
        self._t0 = time.monotonic()
        try:
            self._server = _Server((host, port), _Handler, self)
        except OSError as exc:
            raise OSError(f"simulator cannot listen on {host}:{port}: {exc}") from exc
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        return time.monotonic() - self._t0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, index: int, kind: str = "mjpeg") -> str:
        """URL of camera ``index``: kind ``mjpeg`` or ``snapshot``."""
        suffix = "mjpeg" if kind == "mjpeg" else "snapshot.jpg"
        return f"{self.base_url}/cam/{index}/{suffix}"

    def set_fault(self, index: int, mode: str) -> None:
        if mode not in FAULTS:
            raise ValueError(f"unknown fault {mode!r}")
        self.cameras[index].fault = mode

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "index": c.index,
                "kind": c.kind,
                "fault": c.fault,
                "fps": c.fps,
                "mjpeg": self.url(c.index, "mjpeg"),
                "snapshot": self.url(c.index, "snapshot"),
            }
            for c in self.cameras
        ]

    def start(self) -> CameraSimulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="simulator",
            daemon=True,
        )
        self._thread.start()
        logger.info("camera simulator: %d cameras on %s", len(self.cameras), self.base_url)
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for c in self.cameras:
            if c._cap is not None:
                c._cap.release()

    def __enter__(self) -> CameraSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_video() -> str | None:
    """A real-footage clip for video cameras, if one is available."""
    from pantau.settings import ROOT

    for p in (ROOT / "tests" / "data" / "vtest_trim.avi", Path("/work/shared/data/vtest.avi")):
        if p.is_file():
            return str(p)
    return None


def make_cameras(
    n: int,
    kinds: list[str] | None = None,
    faults: dict[int, str] | None = None,
    fps: float = 2.0,
    width: int = 640,
    height: int = 360,
    video: str | None = None,
) -> list[SimCamera]:
    """``n`` cameras cycling through ``kinds`` (default street, crowd, flood, quiet, video)."""
    if kinds is None:
        kinds = ["street", "crowd", "flood", "street", "quiet"]
        if video or default_video():
            kinds.append("video")
    video = video or default_video()
    faults = faults or {}
    cams = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "video" and not video:
            kind = "street"
        cams.append(
            SimCamera(
                index=i,
                kind=kind,
                seed=1000 + i,
                video=video if kind == "video" else None,
                fault=faults.get(i, "none"),
                fps=fps,
                width=width,
                height=height,
                time_offset=(i * 37.0) % 300.0,
            )
        )
    return cams
