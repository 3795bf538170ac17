"""The evidence pages in headless Chromium, at 1920x1080 and on a 390 px phone: the list shows
the recordings (status, length, size, camera, who started them, case), the item page plays the
clip (the browser decodes the MP4: its duration matches ffprobe's), nothing overflows
sideways, the console stays clean. Screenshots go to docs/screenshots/ when
PANTAU_SCREENSHOTS=1."""

from __future__ import annotations

import os
import time
from pathlib import Path

from evidence_helpers import add_camera, record
from sqlalchemy import select

from store.evidence import hold
from store.models import Camera
from store.seed import seed_reference
from tests.ui.harness import (
    dash_idle,
    login,
    required_chrome,
    running_app,
    severe_console,
    wait_for,
)

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _shot(driver, name: str) -> None:  # noqa: ANN001
    if os.environ.get("PANTAU_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / name))


def _fits(driver) -> tuple[int, int, int, int]:  # noqa: ANN001
    """(document width, viewport width, bottom of the page's content, viewport height)."""
    return driver.execute_script(
        "const c = document.getElementById('_pages_content');"
        "return [document.documentElement.scrollWidth, window.innerWidth,"
        " Math.ceil(c.getBoundingClientRect().bottom + window.scrollY), window.innerHeight]"
    )


def test_evidence_pages_in_the_browser(sqlite_db, settings, sim):
    with sqlite_db.session() as s:
        seed_reference(s)
        bkb = s.scalar(select(Camera).where(Camera.code == "PLG-BKB-01"))
        bkb.stream_url, bkb.protocol = sim.url(0, "mjpeg"), "mjpeg"
    done = record(sqlite_db, settings, "PLG-BKB-01", 5)
    assert done.status == "complete", done.reason
    add_camera(sqlite_db, "UJI-MATI", "http://127.0.0.1:18696/cam/0/mjpeg", "mjpeg",
               name="Kamera mati (uji)")  # fmt: skip
    failed = record(sqlite_db, settings, "UJI-MATI", 3)
    assert failed.status == "failed"
    with sqlite_db.session() as s:
        hold(s, done.id, "SY-0142/PLG/2026", "operator1")
    with running_app(settings, sqlite_db) as base, required_chrome((1920, 1080)) as driver:
        # the wall screen's viewport is the whole 1920x1080 (a kiosk browser has no toolbars)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        login(driver, base, sqlite_db, role="operator")
        driver.get(base + "/bukti")
        wait_for(driver, ".pantau-evidence-table")
        dash_idle(driver)
        text = driver.find_element("css selector", ".pantau-evidence-table").text
        assert "PLG-BKB-01" in text and "lengkap" in text and "SY-0142/PLG/2026" in text
        assert "UJI-MATI" in text and "gagal" in text
        _shot(driver, "evidence-list.png")
        width, inner, height, tall = _fits(driver)
        assert width <= inner and height <= tall  # no scrolling at 1920x1080
        driver.get(f"{base}/bukti/{done.id}")
        video = wait_for(driver, "#rekaman-video")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not driver.execute_script(
            "return arguments[0].readyState >= 1", video
        ):
            time.sleep(0.3)
        duration = driver.execute_script("return arguments[0].duration", video)
        assert abs(duration - done.stream_duration_s) < 0.3, (duration, done.stream_duration_s)
        page = driver.find_element("css selector", "body").text
        assert done.files[0].sha256 in page and "Rantai penguasaan" in page
        assert "dibuat" in page and "direkam" in page and "ditahan" in page and "dilihat" in page
        _shot(driver, "evidence-item.png")
        width, inner, height, tall = _fits(driver)
        assert width <= inner and height <= tall  # no scrolling at 1920x1080
        assert severe_console(driver) == []
    with running_app(settings, sqlite_db) as base, required_chrome((390, 844)) as phone:
        login(phone, base, sqlite_db, role="analis")
        phone.get(base + "/bukti")
        wait_for(phone, ".pantau-evidence-table")
        dash_idle(phone)
        width, inner, _, _ = _fits(phone)
        assert width <= inner
        _shot(phone, "evidence-phone.png")
        phone.get(f"{base}/bukti/{done.id}")
        wait_for(phone, "#rekaman-video")
        dash_idle(phone)
        width, inner, _, _ = _fits(phone)
        assert width <= inner
        assert "Tahan untuk perkara" not in phone.find_element("css selector", "body").text
        _shot(phone, "evidence-item-phone.png")
        assert severe_console(phone) == []
