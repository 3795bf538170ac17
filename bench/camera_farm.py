"""A loopback farm of JPEG snapshot cameras for city-scale benchmarks and tests.

    python bench/camera_farm.py --cameras 10693 --port 24100

One asyncio process serves ``GET /cam/<i>/snapshot.jpg`` for every camera from pools of
pre-encoded JPEGs, so a request costs a dictionary look-up and a socket write, not a render, and
the farm does not steal the CPU a benchmark measures (its own CPU time is at ``GET /stats``).

Cameras (deterministic for a given ``--seed``):

- **quiet** (most): a static street (``analytics.synthetic`` "quiet" scenes) with sensor noise,
  JPEG quality varying per request and a slow light drift (8 light levels over a 4-minute cycle,
  each camera at its own phase);
- **busy**: real pedestrian footage (``tests/data/vtest_trim.avi``, played in real time) or
  synthetic street traffic and crowds;
- **faulty** (3 % by default), the faults real cameras have, one mode per camera:
  ``refused`` (its URL points at a port that refuses connections; the main port answers its
  path with a TCP reset), ``closed`` (reads the request, closes without answering), ``hang``
  (reads the request, never answers), ``drip`` (headers, then one body byte per second),
  ``404``, ``500``, ``garbage`` (random bytes labelled image/jpeg), ``truncated`` (the first half
  of a JPEG, with a matching Content-Length) and ``huge`` (a valid 8000x6000 JPEG).

Other routes: ``/cameras`` (JSON list: index, kind, fault, url), ``/stats`` (requests by outcome,
bytes, CPU seconds), ``/healthz``. Responses carry ``Connection: close`` unless ``--keepalive``:
each real camera is its own host, so a fetcher cannot reuse one connection for all of them.

On start the CLI prints one JSON line ``{"ready": true, "port": ..., "refuse_port": ...}`` on
stdout once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: analytics.synthetic lives at the root
    sys.path.insert(0, str(ROOT))
VIDEO = ROOT / "tests" / "data" / "vtest_trim.avi"

FAULT_MODES = (
    "refused",
    "closed",
    "hang",
    "drip",
    "404",
    "500",
    "garbage",
    "truncated",
    "huge",
)
KINDS = ("quiet", "busy", "faulty")
LIGHT_STEP_S = 30.0  # a quiet camera moves to the next light level this often
HANG_MAX_S = 900.0  # a hanging/dripping connection is dropped by the farm after this long
DRIP_BODY_BYTES = 20_000
_PATH = re.compile(r"/cam/(\d+)/snapshot\.jpg")


@dataclass(frozen=True)
class FarmCamera:
    index: int
    kind: str  # quiet | busy | faulty
    scene: str  # pool key: quiet-<k>, vtest, street-<k>, crowd-<k>; "" for faults
    fault: str = ""  # one of FAULT_MODES when kind == "faulty"
    phase: float = 0.0  # seconds: where in its pool's timeline the camera is


@dataclass
class FarmConfig:
    """What the farm serves. The defaults are the city benchmark; tests make it smaller."""

    cameras: int
    busy_share: float = 0.10
    faulty_share: float = 0.03
    width: int = 768
    height: int = 576
    seed: int = 1
    quiet_scenes: int = 16
    light_levels: int = 8
    variants: int = 3  # noise/quality variants per (scene, light level)
    busy_synthetic_scenes: int = 4
    busy_synthetic_frames: int = 40
    vtest_stride: int = 1  # keep every n-th frame of the vtest clip
    huge_size: tuple[int, int] = (8000, 6000)
    keepalive: bool = False
    #: index -> fault mode (or "quiet"/"busy"), overriding the random layout (tests)
    overrides: dict[int, str] = field(default_factory=dict)


def layout(cfg: FarmConfig) -> list[FarmCamera]:
    """Which camera is quiet, busy or faulty (and how): a pure function of the config."""
    n = cfg.cameras
    if n < 1:
        raise ValueError("the farm needs at least one camera")
    rng = random.Random(cfg.seed)
    order = list(range(n))
    rng.shuffle(order)
    n_fault = round(n * cfg.faulty_share)
    n_busy = round(n * cfg.busy_share)
    kind_of: dict[int, tuple[str, str]] = {}
    for j, i in enumerate(order):
        if j < n_fault:
            kind_of[i] = ("faulty", FAULT_MODES[j % len(FAULT_MODES)])
        elif j < n_fault + n_busy:
            kind_of[i] = ("busy", "")
        else:
            kind_of[i] = ("quiet", "")
    for i, mode in cfg.overrides.items():
        if not 0 <= i < n:
            raise ValueError(f"override for camera {i}: the farm has {n} cameras")
        if mode in ("quiet", "busy"):
            kind_of[i] = (mode, "")
        elif mode in FAULT_MODES:
            kind_of[i] = ("faulty", mode)
        else:
            raise ValueError(f"unknown camera mode {mode!r}; expected quiet, busy or {FAULT_MODES}")
    cams = []
    busy_seen = 0
    for i in range(n):
        kind, fault = kind_of[i]
        if kind == "quiet":
            scene = f"quiet-{i % cfg.quiet_scenes}"
        elif kind == "busy":
            # half real footage, half synthetic street traffic / crowds
            if busy_seen % 2 == 0 and VIDEO.is_file():
                scene = "vtest"
            else:
                k = (busy_seen // 2) % max(1, cfg.busy_synthetic_scenes)
                scene = f"{'street' if k % 2 == 0 else 'crowd'}-{k}"
            busy_seen += 1
        else:
            scene = ""
        cams.append(FarmCamera(i, kind, scene, fault, phase=rng.uniform(0, 3600)))
    return cams


def _jpeg(img: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encode failed")
    return buf.tobytes()


@dataclass
class Pools:
    """Pre-encoded JPEGs. ``quiet[scene][level]`` is a list of variants; ``busy[scene]`` is a
    timeline of frames (``busy_fps`` per second)."""

    quiet: dict[str, list[list[bytes]]]
    busy: dict[str, list[bytes]]
    busy_fps: dict[str, float]
    garbage: list[bytes]
    huge: bytes

    def size_bytes(self) -> int:
        total = sum(len(j) for lv in self.quiet.values() for v in lv for j in v)
        total += sum(len(j) for f in self.busy.values() for j in f)
        return total + sum(len(g) for g in self.garbage) + len(self.huge)


def build_pools(cfg: FarmConfig, cams: list[FarmCamera], progress: bool = False) -> Pools:
    """Render and encode every JPEG the farm will serve (only the scenes some camera uses)."""
    from analytics.synthetic import SyntheticScene

    w, h = cfg.width, cfg.height
    used = {c.scene for c in cams if c.scene}
    qualities = (75, 82, 88, 70, 92)
    quiet: dict[str, list[list[bytes]]] = {}
    t0 = time.monotonic()
    for k in range(cfg.quiet_scenes):
        name = f"quiet-{k}"
        if name not in used:
            continue
        scene = SyntheticScene("quiet", seed=100 + k, width=w, height=h)
        levels = []
        for lv in range(cfg.light_levels):
            variants = []
            for v in range(cfg.variants):
                # scene time spread over the lighting cycle; +v ms gives fresh sensor noise
                frame, _ = scene.frame_at(lv * 240.0 / cfg.light_levels + v * 0.001)
                variants.append(_jpeg(frame, qualities[v % len(qualities)]))
            levels.append(variants)
        quiet[name] = levels
    if progress:
        print(f"farm: quiet pools {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    busy: dict[str, list[bytes]] = {}
    busy_fps: dict[str, float] = {}
    if "vtest" in used:
        cap = cv2.VideoCapture(str(VIDEO))
        fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
        frames, i = [], 0
        while True:
            ok, img = cap.read()
            if not ok:
                break
            if i % cfg.vtest_stride == 0:
                if img.shape[1] != w or img.shape[0] != h:
                    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
                frames.append(_jpeg(img, 80))
            i += 1
        cap.release()
        if not frames:
            raise RuntimeError(f"cannot read {VIDEO}")
        busy["vtest"], busy_fps["vtest"] = frames, fps / cfg.vtest_stride
    for k in range(cfg.busy_synthetic_scenes):
        name = f"{'street' if k % 2 == 0 else 'crowd'}-{k}"
        if name not in used:
            continue
        scene = SyntheticScene(name.split("-")[0], seed=200 + k, width=w, height=h)
        busy[name] = [
            _jpeg(scene.frame_at(float(t))[0], 80) for t in range(cfg.busy_synthetic_frames)
        ]
        busy_fps[name] = 1.0
    if progress:
        print(f"farm: busy pools {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    rng = np.random.default_rng(cfg.seed)
    garbage = [rng.integers(0, 256, 4096, dtype=np.uint8).tobytes() for _ in range(4)]
    huge = b""
    if any(c.fault == "huge" for c in cams):
        base = quiet[next(iter(quiet))][0][0] if quiet else _jpeg(np.zeros((h, w, 3), np.uint8))
        img = cv2.imdecode(np.frombuffer(base, np.uint8), cv2.IMREAD_COLOR)
        huge = _jpeg(cv2.resize(img, cfg.huge_size, interpolation=cv2.INTER_LINEAR), 85)
    if progress:
        print(f"farm: pools ready {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    return Pools(quiet, busy, busy_fps, garbage, huge)


class CameraFarm:
    """The farm. ``start()`` serves from a background thread (tests, embedding);
    ``serve_forever()`` serves in the calling thread (the CLI)."""

    def __init__(
        self, cfg: FarmConfig, host: str = "127.0.0.1", port: int = 0, refuse_port: int = 0
    ) -> None:
        self.cfg = cfg
        self.host = host
        self.cameras = layout(cfg)
        self.pools = build_pools(cfg, self.cameras, progress=cfg.cameras > 1000)
        self.stats: dict[str, int] = {}
        self.bytes_sent = 0
        self._t0 = time.monotonic()
        # a bound socket that never listens: connecting to it is refused (RST to the SYN), and
        # while the farm holds it no other program can take the port
        self._refuse_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._refuse_sock.bind((host, refuse_port))
        self.refuse_port = self._refuse_sock.getsockname()[1]
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._refuse_sock.close()
            self._sock.close()
            raise OSError(f"camera farm cannot listen on {host}:{port}: {exc}") from exc
        self.port = self._sock.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._conns: set[asyncio.Task] = set()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, index: int) -> str:
        """The snapshot URL of camera ``index`` (a refusing port for ``refused`` cameras)."""
        cam = self.cameras[index]
        port = self.refuse_port if cam.fault == "refused" else self.port
        return f"http://{self.host}:{port}/cam/{index}/snapshot.jpg"

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "index": c.index,
                "kind": c.kind,
                "fault": c.fault,
                "scene": c.scene,
                "url": self.url(c.index),
            }
            for c in self.cameras
        ]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cameras:
            key = c.fault or c.kind
            out[key] = out.get(key, 0) + 1
        return out

    def snapshot_stats(self) -> dict[str, Any]:
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "cameras": len(self.cameras),
            "requests": dict(self.stats),
            "bytes_sent": self.bytes_sent,
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
            "uptime_s": round(time.monotonic() - self._t0, 1),
            "open_connections": len(self._conns),
        }

    # -- what a camera shows ------------------------------------------------------------------
    def jpeg_for(self, cam: FarmCamera, now: float | None = None) -> bytes:
        """The JPEG ``cam`` shows at monotonic time ``now``."""
        t = (time.monotonic() if now is None else now) - self._t0 + cam.phase
        if cam.kind == "quiet" or (cam.kind == "faulty" and cam.fault == "truncated"):
            levels = self.pools.quiet[cam.scene] if cam.scene else self._any_quiet()
            n = len(levels)
            # triangle wave over the light levels: the light rises, then falls again
            step = int(t // LIGHT_STEP_S) % max(1, 2 * n - 2) if n > 1 else 0
            level = step if step < n else 2 * n - 2 - step
            variants = levels[level]
            return variants[random.randrange(len(variants))]
        if cam.kind == "busy":
            frames = self.pools.busy[cam.scene]
            return frames[int(t * self.pools.busy_fps[cam.scene]) % len(frames)]
        return self._any_quiet()[0][0]

    def _any_quiet(self) -> list[list[bytes]]:
        if self.pools.quiet:
            return next(iter(self.pools.quiet.values()))
        busy = next(iter(self.pools.busy.values()))
        return [[busy[0]]]

    # -- HTTP ---------------------------------------------------------------------------------
    def _count(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1

    @staticmethod
    def _head(code: int, reason: str, ctype: str, length: int, keep: bool) -> bytes:
        return (
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {length}\r\n"
            f"Cache-Control: no-store\r\nConnection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        ).encode()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        code: int,
        reason: str,
        body: bytes,
        ctype: str,
        keep: bool,
    ) -> None:
        writer.write(self._head(code, reason, ctype, len(body), keep) + body)
        self.bytes_sent += len(body)
        await writer.drain()

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _wait_client_gone(self, reader: asyncio.StreamReader, limit: float) -> None:
        """Hold the connection until the client closes it, the farm stops or ``limit`` s."""
        assert self._stop is not None
        deadline = time.monotonic() + limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(reader.read(1024), timeout=1.0)
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                return
            if not data:
                return

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        aborted = False
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30.0)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                except (ConnectionError, OSError):
                    return
                parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
                keep = self.cfg.keepalive and b"connection: close" not in head.lower()
                if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                    self._count("bad_request")
                    await self._send(
                        writer, 400, "Bad Request", b"bad request", "text/plain", False
                    )
                    return
                outcome = await self._route(parts[1], reader, writer, keep)
                if outcome == "aborted":
                    aborted = True
                    return
                if outcome == "close" or not keep:
                    return
        except (ConnectionError, OSError):
            return
        except asyncio.CancelledError:  # the farm stops: drop the connection, end quietly
            aborted = True
            writer.transport.abort()
            return
        finally:
            if task is not None:
                self._conns.discard(task)
            if not aborted:
                with contextlib.suppress(Exception):
                    writer.close()

    async def _route(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bool
    ) -> str:
        path = target.split("?", 1)[0]
        m = _PATH.fullmatch(path)
        if m is None:
            if path in ("/", "/cameras"):
                body = json.dumps(self.describe()).encode()
                await self._send(writer, 200, "OK", body, "application/json", keep)
            elif path == "/stats":
                body = json.dumps(self.snapshot_stats()).encode()
                await self._send(writer, 200, "OK", body, "application/json", keep)
            elif path == "/healthz":
                await self._send(writer, 200, "OK", b"ok", "text/plain", keep)
            else:
                self._count("unknown_path")
                await self._send(writer, 404, "Not Found", b"no such path", "text/plain", keep)
            return "ok"
        index = int(m.group(1))
        if index >= len(self.cameras):
            self._count("no_such_camera")
            await self._send(writer, 404, "Not Found", b"no such camera", "text/plain", keep)
            return "ok"
        cam = self.cameras[index]
        if cam.kind != "faulty":
            self._count(cam.kind)
            await self._send(writer, 200, "OK", self.jpeg_for(cam), "image/jpeg", keep)
            return "ok"
        mode = cam.fault
        self._count(mode)
        if mode == "refused":
            self._reset(writer)
            return "aborted"
        if mode == "closed":
            return "close"
        if mode == "hang":
            await self._wait_client_gone(reader, HANG_MAX_S)
            return "close"
        if mode == "drip":
            writer.write(self._head(200, "OK", "image/jpeg", DRIP_BODY_BYTES, False))
            await writer.drain()
            body = self.jpeg_for(cam)
            started = time.monotonic()
            assert self._stop is not None
            for i in range(DRIP_BODY_BYTES):
                if self._stop.is_set() or time.monotonic() - started > HANG_MAX_S:
                    break
                writer.write(body[i % len(body) : i % len(body) + 1])
                self.bytes_sent += 1
                await writer.drain()
                if writer.is_closing() or reader.at_eof():
                    break
                await asyncio.sleep(1.0)
            return "close"
        if mode == "404":
            await self._send(writer, 404, "Not Found", b"not found", "text/plain", keep)
        elif mode == "500":
            await self._send(writer, 500, "Internal Server Error", b"error", "text/plain", keep)
        elif mode == "garbage":
            body = self.pools.garbage[index % len(self.pools.garbage)]
            await self._send(writer, 200, "OK", body, "image/jpeg", keep)
        elif mode == "truncated":
            body = self.jpeg_for(cam)
            await self._send(writer, 200, "OK", body[: len(body) // 2], "image/jpeg", keep)
        elif mode == "huge":
            await self._send(writer, 200, "OK", self.pools.huge, "image/jpeg", keep)
        return "ok"

    # -- running ------------------------------------------------------------------------------
    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._sock.listen(4096)
        self._server = await asyncio.start_server(self._handle, sock=self._sock, backlog=4096)
        self._ready.set()
        await self._stop.wait()
        self._server.close()
        for t in list(self._conns):
            t.cancel()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=2.0)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()
            self._refuse_sock.close()

    def start(self) -> CameraFarm:
        self._thread = threading.Thread(target=self._run, name="camera-farm", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("camera farm did not start")
        return self

    def serve_forever(self, on_ready: Any = None) -> None:
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            task = asyncio.ensure_future(self._main())
            while not self._ready.is_set():
                await asyncio.sleep(0.01)
            if on_ready is not None:
                on_ready(self)
            await task

        try:
            self._loop.run_until_complete(main())
        finally:
            self._loop.close()
            self._refuse_sock.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CameraFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cameras", type=int, default=10_693, help="how many cameras (default 10,693)")
    ap.add_argument("--port", type=int, default=0, help="listen port (0: any free port)")
    ap.add_argument("--refuse-port", type=int, default=0, help="port of 'refused' cameras")
    ap.add_argument("--host", default="127.0.0.1", help="listen address (loopback)")
    ap.add_argument("--busy", type=float, default=0.10, help="share of busy cameras")
    ap.add_argument("--faulty", type=float, default=0.03, help="share of faulty cameras")
    ap.add_argument("--size", default="768x576", help="frame size WxH (vtest is 768x576)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keepalive", action="store_true", help="allow HTTP keep-alive")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cv2.setNumThreads(1)
    m = re.fullmatch(r"(\d+)x(\d+)", args.size)
    if not m:
        ap.error("--size must look like 768x576")
    if not (0 <= args.busy <= 1 and 0 <= args.faulty <= 1 and args.busy + args.faulty <= 1):
        ap.error("--busy and --faulty are shares between 0 and 1 (together at most 1)")
    cfg = FarmConfig(
        cameras=args.cameras,
        busy_share=args.busy,
        faulty_share=args.faulty,
        width=int(m.group(1)),
        height=int(m.group(2)),
        seed=args.seed,
        keepalive=args.keepalive,
    )
    try:
        farm = CameraFarm(cfg, args.host, args.port, args.refuse_port)
    except (OSError, ValueError) as exc:
        print(f"camera_farm: {exc}", file=sys.stderr)
        return 2

    def ready(f: CameraFarm) -> None:
        doc = {
            "ready": True,
            "port": f.port,
            "refuse_port": f.refuse_port,
            "cameras": len(f.cameras),
            "counts": f.counts(),
            "pool_mb": round(f.pools.size_bytes() / 1e6, 1),
        }
        print(json.dumps(doc), flush=True)

    import signal

    def _term(signum: int, frame: Any) -> None:  # noqa: ARG001
        farm.stop()

    signal.signal(signal.SIGTERM, _term)
    with contextlib.suppress(KeyboardInterrupt):
        farm.serve_forever(on_ready=ready)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
