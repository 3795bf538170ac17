"""The frame hub's public snapshots (/api/public/snapshot/<code>.jpg behind /cctv's thumbnails):
warmed at start-up, and a changed file never makes a visitor wait for the blur - the previous
blurred picture is served while the new one is blurred in the background (issue 15: all
thumbnails of /cctv drawn within 2 s; bench/bench_cctv_thumbs.py measures that)."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from dashboard.streaming import FrameHub, PublicCamera


def _camera(code: str) -> PublicCamera:
    return PublicCamera(code=code, name=code, kecamatan=None, address=None, lat=0.0, lon=0.0)


def _write(path, value: int, mtime: float) -> None:
    cv2.imwrite(str(path), np.full((90, 160, 3), value, np.uint8))
    os.utime(path, (mtime, mtime))


def _shade(jpeg: bytes) -> int:
    return int(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).mean())


def test_warm_blurs_every_public_file_once_and_requests_reuse_it(tmp_path):
    calls: list[int] = []

    def blur(frame):
        calls.append(1)
        return frame.copy(), 0, 0

    hub = FrameHub(snapshot_dir=tmp_path, blur=blur, blur_threads=2)
    cams = [_camera(f"C{i}") for i in range(5)]
    for i, cam in enumerate(cams):
        _write(hub.public_file(cam.code), 40 * i, 1_000_000 + i)
    try:
        hub.warm([*cams, _camera("NOFILE")])
        for job in list(hub._snap_jobs.values()):
            job.result(timeout=30)
        assert len(calls) == 5
        for i, cam in enumerate(cams):
            assert abs(_shade(hub.snapshot(cam)) - 40 * i) <= 3
        assert len(calls) == 5  # served from the cache
        assert hub.snapshot(_camera("NOFILE")) is None
    finally:
        hub.close()


def test_a_changed_file_serves_the_previous_picture_until_the_new_one_is_blurred(tmp_path):
    gate = threading.Event()
    gate.set()

    def blur(frame):
        assert gate.wait(30)
        return frame.copy(), 0, 0

    hub = FrameHub(snapshot_dir=tmp_path, blur=blur, blur_threads=1)
    cam = _camera("C1")
    path = hub.public_file(cam.code)
    try:
        _write(path, 50, 1_000_000)
        assert abs(_shade(hub.snapshot(cam)) - 50) <= 3  # first request: waits for the blur
        gate.clear()  # the next blur hangs until released
        _write(path, 200, 1_000_100)
        assert abs(_shade(hub.snapshot(cam)) - 50) <= 3  # stale, at once
        assert abs(_shade(hub.snapshot(cam)) - 50) <= 3  # one background job, not two
        assert len([j for j in hub._snap_jobs.values() if not j.done()]) == 1
        gate.set()
        hub._snap_jobs[cam.code].result(timeout=30)
        assert abs(_shade(hub.snapshot(cam)) - 200) <= 3
    finally:
        gate.set()
        hub.close()


def test_a_failed_blur_is_never_served(tmp_path):
    hub = FrameHub(snapshot_dir=tmp_path, blur=lambda f: (f, -1, -1), blur_threads=1)
    cam = _camera("C1")
    try:
        _write(hub.public_file(cam.code), 90, 1_000_000)
        assert hub.snapshot(cam) is None  # the route answers with the placeholder
    finally:
        hub.close()
