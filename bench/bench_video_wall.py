"""Video wall under load: ``--operators`` staff each watching a 4x4 wall (``/dinding``).

Starts the real app (waitress configured as `pantau run` does, one process) on a loopback port
with ``--cameras`` simulated cameras whose source is a looping video file (the test clip),
signs ``--operators`` staff accounts in through the real login form, and has each one open
the wall's live connection (``/api/dinding/live``, 16 tiles over one connection, as
assets/pantau_dinding.js does) for ``--seconds``. The walls overlap: operator *i* watches
cameras ``8i .. 8i+15`` (mod cameras), so with 4 operators and 32 cameras each camera is on two
walls and 64 tile streams share 32 camera channels (one decode and encode per camera). A wall
beyond ``wall_max_walls`` (set to the number of operators) is tried once and must get 503.

Reports **frames per second per tile** (whole run and steady state, median / min over the 64
tiles; the 4x4 tile rate is ``wall_tile_fps``, 2 by default), the server's **CPU** (cores used
on average, and CPU per camera frame) and **RSS** (idle / peak / after), with the machine's
load average (the box may be shared).

    .venv/bin/python bench/bench_video_wall.py                    # 4 walls, 32 cameras, 40 s
    .venv/bin/python bench/bench_video_wall.py --public 8         # 8 of them public (blurred)
    .venv/bin/python bench/bench_video_wall.py --operators 2 --seconds 15

``--public N`` makes N of the cameras public: their tiles come from the public frame hub,
privacy-blurred (the blur costs ~30-45 ms of CPU per 640 px frame, see bench_public_viewers).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_public_viewers import cpu_seconds, free_port, rss_mb  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "vtest_trim.avi"
SECRET = "bench-wall"
PASSWORD = "Bench-Dinding-2026!x"
TILES = 16
MARK = b"--pantauwall\r\n"


def serve(var_dir: str, port: int, cameras: int, public: int, walls: int, video: Path) -> None:
    """Child process: the real app with ``cameras`` cameras playing the test video."""
    from waitress import serve as waitress_serve

    from dashboard.app import create_app
    from dashboard.streaming import waitress_options
    from pantau.settings import Settings
    from store import users
    from store.db import Database
    from store.models import Camera

    settings = Settings(
        var_dir=Path(var_dir), database_url="", secret_key=SECRET, ingest_enabled=False,
        simulate_cameras=0, wall_max_walls=walls, camera_media_dir=str(video.parent),
    )  # fmt: skip
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    codes = [f"WALL-{i:03d}" for i in range(cameras)]
    with db.session() as s:
        for i, code in enumerate(codes):
            s.add(
                Camera(
                    code=code, name=f"Bench kamera {i:03d}", lat=-2.98, lon=104.75,
                    kecamatan="Bench", stream_url=str(video), protocol="file",
                    is_public=i < public, status="online",
                )
            )  # fmt: skip
        for n in range(walls + 1):
            users.create_user(s, f"op{n}", PASSWORD, "operator", actor="bench")
    Path(var_dir, "codes.txt").write_text("\n".join(codes))
    app = create_app(settings, db)
    waitress_serve(  # as `pantau run` serves (8 threads + one per allowed stream)
        app.server,
        host="127.0.0.1",
        port=port,
        ident="pantau-bench",
        _quiet=True,
        **waitress_options(8, settings.public_stream_max_total + settings.wall_max_walls),
    )


def sign_in(port: int, username: str) -> str:
    """The session cookie of ``username`` after the real login form (CSRF token included)."""
    import httpx
    from flask.sessions import SecureCookieSessionInterface

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        client.get("/masuk")  # the session cookie (signed, readable) holds the CSRF token
        signer = SecureCookieSessionInterface().get_signing_serializer(_signer_app())
        token = signer.loads(client.cookies["pantau_session"])["_csrf"]
        resp = client.post(
            "/auth/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        )
        if resp.status_code != 302 or "/masuk" in resp.headers.get("location", ""):
            raise RuntimeError(f"sign-in of {username} failed: {resp.status_code}")
        return client.cookies["pantau_session"]


def _signer_app():  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask("pantau_bench", root_path=str(ROOT))
    app.secret_key = SECRET
    return app


class Wall(threading.Thread):
    """One operator's wall: the live connection, parts counted per tile."""

    def __init__(self, port: int, cookie: str, codes: list[str], seconds: float) -> None:
        super().__init__(daemon=True)
        self.port, self.cookie, self.codes, self.seconds = port, cookie, codes, seconds
        self.status = 0
        self.times: dict[str, list[float]] = {c: [] for c in codes}
        self.bytes = 0

    def run(self) -> None:
        t0 = time.monotonic()
        query = ",".join(self.codes)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
                sock.sendall(
                    f"GET /api/dinding/live?codes={query}&fps=25 HTTP/1.1\r\nHost: bench\r\n"
                    f"Cookie: pantau_session={self.cookie}\r\n\r\n".encode()
                )
                buf = b""
                header_done = False
                while time.monotonic() - t0 < self.seconds:
                    data = sock.recv(262144)
                    if not data:
                        break
                    self.bytes += len(data)
                    buf += data
                    if not header_done:
                        end = buf.find(b"\r\n\r\n")
                        if end < 0:
                            continue
                        self.status = int(buf.split(b" ", 2)[1])
                        if self.status != 200:
                            return
                        buf, header_done = buf[end + 4 :], True
                    buf = self._parts(buf)
        except OSError:
            pass

    def _parts(self, buf: bytes) -> bytes:
        """Count every complete live part in ``buf`` (chunked transfer framing aside: the
        part marker and headers are searched for, the body skipped by its length)."""
        while True:
            start = buf.find(MARK)
            if start < 0:
                return buf[-len(MARK) :]
            end = buf.find(b"\r\n\r\n", start)
            if end < 0:
                return buf[start:]
            head = buf[start + len(MARK) : end].decode("latin-1")
            fields = dict(x.split(": ", 1) for x in head.split("\r\n") if ": " in x)
            if fields.get("X-State") == "live" and fields.get("X-Camera") in self.times:
                self.times[fields["X-Camera"]].append(time.monotonic())
            buf = buf[end + 4 :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--cameras", type=int, default=32)
    parser.add_argument("--public", type=int, default=0, help="how many cameras are public")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--warmup", type=float, default=8.0, help="left out of steady fps")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--video", type=Path, default=VIDEO, help="looping camera video")
    parser.add_argument("--serve", nargs=2, metavar=("VAR_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.cameras, args.public, args.operators,
              args.video)  # fmt: skip
        return 0
    if not args.video.is_file():
        print(f"missing test video {args.video}")
        return 1
    import httpx

    with tempfile.TemporaryDirectory(prefix="pantau-bench-wall-") as var_dir:
        port = args.port or free_port()
        child = subprocess.Popen(
            [sys.executable, __file__, "--operators", str(args.operators), "--cameras",
             str(args.cameras), "--public", str(args.public), "--video",
             str(args.video.resolve()), "--serve", var_dir, str(port)],
            cwd=ROOT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).raise_for_status()
                    break
                except Exception:
                    time.sleep(0.3)
            else:
                print("server did not start")
                return 1
            codes = Path(var_dir, "codes.txt").read_text().split()
            cookies = [sign_in(port, f"op{n}") for n in range(args.operators + 1)]
            rss_idle = rss_mb(child.pid)
            cpu0 = cpu_seconds(child.pid)
            load_start = os.getloadavg()[0]
            walls = []
            for n in range(args.operators):
                wall_codes = [codes[(8 * n + k) % len(codes)] for k in range(TILES)]
                walls.append(Wall(port, cookies[n], wall_codes, args.seconds))
            t0 = time.monotonic()
            for w in walls:
                w.start()
            time.sleep(min(3.0, args.seconds / 3))
            extra = Wall(port, cookies[-1], codes[:TILES], 2.0)  # one wall more than allowed
            extra.start()
            peak = rss_idle
            while any(w.is_alive() for w in walls):
                peak = max(peak, rss_mb(child.pid))
                time.sleep(0.5)
            wall_s = time.monotonic() - t0
            cpu = cpu_seconds(child.pid) - cpu0
            extra.join(5)
            time.sleep(5)  # producers stop a few seconds after the last viewer
            rss_after = rss_mb(child.pid)
        finally:
            child.terminate()
            child.wait(10)

    ok = [w for w in walls if w.status == 200]
    tiles = [(w, c) for w in ok for c in w.codes]
    whole = [len(w.times[c]) / args.seconds for w, c in tiles]
    steady_from = t0 + min(args.warmup, args.seconds / 2)
    steady_s = t0 + args.seconds - steady_from
    steady = [sum(1 for t in w.times[c] if t >= steady_from) / steady_s for w, c in tiles]
    camera_fps = {}  # frames each camera's channel delivered: its best-served tile
    for w, c in tiles:
        camera_fps[c] = max(camera_fps.get(c, 0.0), len(w.times[c]) / args.seconds)
    frames = sum(camera_fps.values()) * args.seconds
    rows = [
        ("walls connected (200)", f"{len(ok)} / {args.operators} (4x4, one connection each)"),
        ("tile streams", f"{len(tiles)} over {len(camera_fps)} cameras ({args.public} public)"),
        ("duration", f"{wall_s:.1f} s"),
        ("per tile fps, whole run (median / min)",
         f"{statistics.median(whole):.2f} / {min(whole):.2f}" if whole else "—"),
        (f"per tile fps, steady (after {steady_from - t0:.0f} s; median / min)",
         f"{statistics.median(steady):.2f} / {min(steady):.2f} (4x4 tile rate 2)"
         if steady else "—"),
        ("data sent", f"{sum(w.bytes for w in ok) / 1e6:,.1f} MB"),
        (f"wall #{args.operators + 1} (limit {args.operators})", f"HTTP {extra.status}"),
        ("server CPU, average", f"{cpu / wall_s:.2f} cores ({cpu:.1f} s CPU in {wall_s:.0f} s)"),
        ("server CPU per camera frame", f"{cpu / max(1.0, frames) * 1000:.1f} ms"),
        ("server RSS idle / peak / after", f"{rss_idle:.0f} / {peak:.0f} / {rss_after:.0f} MB"),
        ("load average (1 min) at start / end", f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0 if len(ok) == args.operators and extra.status == 503 else 1


if __name__ == "__main__":
    raise SystemExit(main())
