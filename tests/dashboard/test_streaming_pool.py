"""The frame hub under many cameras and viewers (issue 10: 100 viewers on 14 cameras got
0.4 frames/s and the server grew from 1.26 to 2.18 GB): the privacy work runs on a bounded
pool of threads shared by all cameras (each blurring thread keeps its own Haar cascades,
~60 MB), and every viewer of a camera is sent the very same bytes, built once per frame."""

from __future__ import annotations

import threading

import numpy as np

from dashboard.streaming import FrameHub, PublicCamera, waitress_options


class _Source:
    def __init__(self, i: int) -> None:
        self.i, self.n = i, 0

    def read(self) -> np.ndarray:
        self.n += 1
        return np.full((72, 128, 3), (self.i * 30 + self.n) % 255, np.uint8)

    def close(self) -> None:
        pass


def _camera(code: str) -> PublicCamera:
    return PublicCamera(code, "Kamera", None, None, 0.0, 0.0, "file:///dev/null", "file")


def test_blur_runs_on_a_bounded_pool_whatever_the_number_of_cameras(tmp_path):
    threads: set[int] = set()
    lock = threading.Lock()

    def blur(frame):
        with lock:
            threads.add(threading.get_ident())
        return frame.copy(), 0, 0

    hub = FrameHub(
        snapshot_dir=tmp_path,
        fps=10,
        blur=blur,
        blur_threads=2,
        opener=lambda cam: _Source(int(cam.code[1:])),
    )
    subs = [hub.subscribe(_camera(f"C{i}")) for i in range(6)]
    try:
        counts = []

        def watch(sub) -> None:
            counts.append(sum(1 for _ in sub.parts(max_seconds=1.5)))

        watchers = [threading.Thread(target=watch, args=(s,)) for s in subs]
        for t in watchers:
            t.start()
        for t in watchers:
            t.join(10)
        producers = {ch.thread.ident for ch in hub._channels.values() if ch.thread}
        assert hub.stats()["frames_produced"] >= 6  # every camera got pictures
        assert min(counts) >= 2
        assert 1 <= len(threads) <= 2  # 6 cameras, at most 2 blurring threads
        assert not threads & producers  # never in the producers themselves
    finally:
        for s in subs:
            s.close()
        hub.close()


def test_every_viewer_gets_the_same_bytes_object(tmp_path):
    hub = FrameHub(
        snapshot_dir=tmp_path,
        fps=10,
        blur=lambda f: (f.copy(), 0, 0),
        opener=lambda cam: _Source(1),
    )
    subs = [hub.subscribe(_camera("C1")) for _ in range(3)]
    try:
        got: list[list[bytes]] = [[] for _ in subs]

        def watch(i: int) -> None:
            got[i] = list(subs[i].parts(max_seconds=1.2))

        watchers = [threading.Thread(target=watch, args=(i,)) for i in range(3)]
        for t in watchers:
            t.start()
        for t in watchers:
            t.join(10)
        frames = [{id(p) for p in parts[1:] if p is not hub.placeholder_part} for parts in got]
        shared = frames[0] & frames[1] & frames[2]
        assert shared, "no picture was sent to all three viewers as one shared object"
    finally:
        for s in subs:
            s.close()
        hub.close()


def test_waitress_holds_little_unsent_data_per_stream():
    opts = waitress_options(8, 100)
    assert opts["threads"] == 108  # one per allowed stream plus 8 for everything else
    # a slow viewer's thread waits (and then gets the newest frame) instead of the server
    # buffering up to waitress's default 16 MB for each of 100 connections
    assert opts["outbuf_high_watermark"] <= 1024 * 1024


def test_blur_threads_yield_the_cpu_to_pages_and_ingestion(tmp_path):
    """With the CPU contended the public streams slow down, not the staff pages (issue 10:
    page p95 4.5 s with 100 viewers): the blur threads run at a lower priority."""
    import os

    hub = FrameHub(snapshot_dir=tmp_path, blur=lambda f: (f.copy(), 0, 0), blur_threads=1)
    try:

        def niceness() -> int:
            return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        assert hub._pool.submit(niceness).result(timeout=10) > niceness()
    finally:
        hub.close()
