"""The benchmark's camera farm (bench/camera_farm.py) serves what it claims: healthy cameras
answer decodable JPEGs that vary like a real sensor, and each faulty camera fails the way its
label says. Real sockets on loopback; every wait is bounded by a client timeout."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from camera_farm import FAULT_MODES, CameraFarm, FarmConfig, layout  # noqa: E402

from ingestion.sources import CorruptFrame, decode_jpeg, jpeg_size  # noqa: E402

MODES = ["quiet", "busy", *FAULT_MODES]


@pytest.fixture(scope="module")
def farm() -> Iterator[CameraFarm]:
    cfg = FarmConfig(
        cameras=len(MODES),
        width=320,
        height=240,
        quiet_scenes=1,
        light_levels=2,
        variants=3,
        busy_synthetic_scenes=1,
        busy_synthetic_frames=2,
        vtest_stride=40,
        overrides=dict(enumerate(MODES)),
    )
    f = CameraFarm(cfg).start()
    yield f
    f.stop()


def url(farm: CameraFarm, mode: str) -> str:
    return farm.url(MODES.index(mode))


@pytest.mark.parametrize("mode", ["quiet", "busy"])
def test_healthy_camera_returns_a_decodable_jpeg(farm: CameraFarm, mode: str) -> None:
    r = httpx.get(url(farm, mode), timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["connection"] == "close"  # each camera is its own host: no reuse
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (240, 320, 3)


def test_quiet_camera_varies_like_a_sensor(farm: CameraFarm) -> None:
    bodies = {httpx.get(url(farm, "quiet"), timeout=5).content for _ in range(12)}
    assert len(bodies) >= 2  # noise / JPEG quality differ between requests
    imgs = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_GRAYSCALE) for b in bodies]
    diff = np.abs(imgs[0].astype(int) - imgs[1].astype(int)).mean()
    assert 0 < diff < 10  # the same static street, not another scene


def test_refused_camera_refuses_the_connection(farm: CameraFarm) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(url(farm, "refused"), timeout=2)


def test_closed_camera_closes_without_an_answer(farm: CameraFarm) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url(farm, "closed"), timeout=2)


def test_hanging_camera_never_answers(farm: CameraFarm) -> None:
    t0 = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url(farm, "hang"), timeout=httpx.Timeout(2, read=0.5))
    assert time.monotonic() - t0 < 5


def test_dripping_camera_sends_about_a_byte_a_second(farm: CameraFarm) -> None:
    got = b""
    with httpx.stream("GET", url(farm, "drip"), timeout=3) as r:
        assert r.status_code == 200
        assert int(r.headers["content-length"]) >= 10_000
        t0 = time.monotonic()
        for chunk in r.iter_raw():
            got += chunk
            if time.monotonic() - t0 > 2.5:
                break
    assert 1 <= len(got) <= 5


@pytest.mark.parametrize("mode,code", [("404", 404), ("500", 500)])
def test_error_cameras_answer_their_status(farm: CameraFarm, mode: str, code: int) -> None:
    assert httpx.get(url(farm, mode), timeout=2).status_code == code


def test_garbage_camera_sends_bytes_that_are_no_image(farm: CameraFarm) -> None:
    r = httpx.get(url(farm, "garbage"), timeout=2)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR) is None


def test_truncated_camera_sends_half_a_jpeg(farm: CameraFarm) -> None:
    r = httpx.get(url(farm, "truncated"), timeout=2)
    assert r.status_code == 200
    assert r.content[:2] == b"\xff\xd8" and int(r.headers["content-length"]) == len(r.content)
    with pytest.raises(CorruptFrame):
        decode_jpeg(r.content, 800)


def test_huge_camera_sends_an_8000x6000_jpeg(farm: CameraFarm) -> None:
    r = httpx.get(url(farm, "huge"), timeout=5)
    assert r.status_code == 200
    assert jpeg_size(r.content) == (8000, 6000)


def test_stats_count_requests_by_label(farm: CameraFarm) -> None:
    before = httpx.get(farm.base_url + "/stats", timeout=2).json()["requests"].get("404", 0)
    httpx.get(url(farm, "404"), timeout=2)
    after = httpx.get(farm.base_url + "/stats", timeout=2).json()
    assert after["requests"]["404"] == before + 1
    assert after["cpu_s"] > 0


def test_city_layout_has_the_promised_mix() -> None:
    cams = layout(FarmConfig(cameras=10_693))
    faulty = [c for c in cams if c.kind == "faulty"]
    assert len(faulty) == round(10_693 * 0.03)
    assert {c.fault for c in faulty} == set(FAULT_MODES)
    assert sum(c.kind == "busy" for c in cams) == round(10_693 * 0.10)
    assert layout(FarmConfig(cameras=10_693)) == cams  # deterministic: the bench recomputes it
