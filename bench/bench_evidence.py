"""Evidence recording cost: one clip from an RTSP camera (gst-rtsp-server, stream copy) and one
from an MJPEG camera (the simulator, JPEGs kept + H.264 encode), on loopback.

    python bench/bench_evidence.py [--seconds 20]

Prints per camera type: status, wall time, CPU of this process and of FFmpeg (children),
clip length (ffprobe) and bytes written. The RTSP row is skipped when the system python3 cannot
import GstRtspServer (scripts/setup-system.sh installs it)."""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from ingestion.evidence_recorder import claim, record_item  # noqa: E402
from ingestion.simulator import CameraSimulator, make_cameras  # noqa: E402
from pantau.settings import Settings  # noqa: E402
from store.db import Database  # noqa: E402
from store.evidence import create_item  # noqa: E402
from store.models import Camera  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "vtest_trim.avi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pantau-bench-evidence-"))
    settings = Settings(
        var_dir=tmp / "var", database_url="", secret_key="bench", ingest_enabled=False
    )
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    sim = CameraSimulator(make_cameras(1, kinds=["street"], fps=5)).start()
    cams = [("MJPEG 640x360 (simulator, 5 fps)", "MJ", sim.url(0), "mjpeg")]
    rtsp = None
    port = free_port()
    try:
        rtsp = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests/ingestion/rtsp_server.py"),
                                 str(VIDEO), str(port), "cam"], stdout=subprocess.PIPE, text=True)  # fmt: skip
        if "READY" in (rtsp.stdout.readline() if rtsp.stdout else ""):
            cams.insert(
                0,
                (
                    "RTSP 384x288 H.264 (gst-rtsp-server)",
                    "RT",
                    f"rtsp://127.0.0.1:{port}/cam",
                    "rtsp",
                ),
            )
    except OSError:
        rtsp = None
    with db.session() as s:
        for _, code, url, proto in cams:
            s.add(Camera(code=code, name=code, lat=0.0, lon=0.0, stream_url=url, protocol=proto))
    print("| camera | status | wall (s) | CPU python (s) | CPU ffmpeg (s) | clip (s) | bytes |")
    print("|---|---|---|---|---|---|---|")
    try:
        for label, code, _, _ in cams:
            with db.session() as s:
                cam = s.scalar(select(Camera).where(Camera.code == code))
                item_id = create_item(s, cam, args.seconds, trigger="cli", started_by="bench",
                                      settings=settings).id  # fmt: skip
            claim(db, settings, item_id)
            c_self, c_kids, t0 = (
                cpu(resource.RUSAGE_SELF),
                cpu(resource.RUSAGE_CHILDREN),
                time.perf_counter(),
            )
            item = record_item(db, settings, item_id)
            wall = time.perf_counter() - t0
            print(f"| {label} | {item.status} | {wall:.1f} | {cpu(resource.RUSAGE_SELF) - c_self:.2f} | "
                  f"{cpu(resource.RUSAGE_CHILDREN) - c_kids:.2f} | {item.stream_duration_s or 0:.1f} | "
                  f"{item.bytes_total:,} |")  # fmt: skip
    finally:
        sim.stop()
        if rtsp is not None:
            rtsp.kill()
            rtsp.wait(10)
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
