""" "Uji kamera" (ingestion/probe.py): one frame fetched with ingestion's path and analysed; a
refused port and a camera that accepts but never answers give a clear error, and the hanging one
within the probe's bound (the fetch's own timeouts), never an exception or an endless wait."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from ingest_helpers import free_port

from ingestion.probe import MAX_CONCURRENT, bound_s, probe
from ingestion.process import CameraSpec
from ingestion.simulator import CameraSimulator, make_cameras


def _spec(url: str) -> CameraSpec:
    return CameraSpec(id=1, code="UJI-1", url=url, protocol="snapshot", interval_s=60)


def test_probe_analyses_one_frame_of_a_live_camera(settings):
    with CameraSimulator(make_cameras(1, kinds=["crowd"], fps=4)) as sim:
        got = probe(_spec(sim.url(0, "snapshot")), settings)
    assert got.ok, got.error
    assert got.preview_jpeg[:2] == b"\xff\xd8" and got.raw_jpeg[:2] == b"\xff\xd8"
    assert got.width > 0 and got.height > 0
    assert isinstance(got.counts["people"], int) and got.counts["count_path"] != "cold"


def test_probe_reports_a_refused_port(settings):
    got = probe(_spec(f"http://127.0.0.1:{free_port()}/snap.jpg"), settings)
    assert not got.ok
    assert "refused" in got.error.lower() or "connect" in got.error.lower(), got.error


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A camera that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/snap.jpg"
    stop.set()
    for c in held:
        c.close()
    srv.close()


def test_probe_of_a_hanging_camera_ends_within_its_bound(settings, hanging_url):
    settings = settings.model_copy(update={"connect_timeout_s": 1.0, "read_timeout_s": 2.0})
    t0 = time.monotonic()
    got = probe(_spec(hanging_url), settings)
    took = time.monotonic() - t0
    assert not got.ok and got.error
    assert took <= bound_s(settings) + 2.0, took  # the bound, not a speed figure


def test_at_most_a_few_probes_run_at_once(settings, hanging_url):
    settings = settings.model_copy(update={"connect_timeout_s": 1.0, "read_timeout_s": 8.0})
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(probe(_spec(hanging_url), settings)))
        for _ in range(MAX_CONCURRENT)
    ]
    for th in threads:
        th.start()
    time.sleep(1.0)  # all of them are waiting on the silent camera (8 s read timeout)
    extra = probe(_spec(hanging_url), settings)
    for th in threads:
        th.join(30)
    assert not extra.ok and "already running" in extra.error
    assert len(results) == MAX_CONCURRENT and not any(r.ok for r in results)
    assert all("already running" not in r.error for r in results)
    later = probe(_spec(f"http://127.0.0.1:{free_port()}/x.jpg"), settings)
    assert "already running" not in later.error  # the slots were given back
