"""Perspective calibration marks in the camera editor, in headless Chromium: on a low camera's
picture (a frame of tests/data/bikes_trim.mp4 as its latest snapshot) two vertical lines are
drawn, given the role 'tanda kalibrasi' and their heights, saved into the camera's config, and
shown dotted on reload. Screenshots at 1920x1080 and 390 px go to PANTAU_SCREENSHOT_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from store.models import Camera
from tests.ui.harness import (
    dash_idle,
    login,
    required_chrome,
    running_app,
    severe_console,
    wait_for,
    wait_text,
)

pytestmark = [pytest.mark.browser]

SHOTS = os.environ.get("PANTAU_SCREENSHOT_DIR")
CLIP = Path(__file__).resolve().parents[1] / "data" / "bikes_trim.mp4"


def _frame_jpeg() -> bytes:
    cap = cv2.VideoCapture(str(CLIP))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 3)  # source frame 140: the street through a railing
    ok, img = cap.read()
    cap.release()
    assert ok
    return cv2.imencode(".jpg", img)[1].tobytes()


def _select(driver, index: int, value: str) -> None:  # noqa: ANN001
    driver.execute_script(
        "const s=document.querySelectorAll('#admin-kamera-shape-table select')[arguments[0]];"
        "const set=Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype,'value').set;"
        "set.call(s,arguments[1]);s.dispatchEvent(new Event('change',{bubbles:true}));",
        index,
        value,
    )


def _name(driver, index: int, value: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.keys import Keys

    el = driver.find_elements("css selector", "#admin-kamera-shape-table input")[index]
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.DELETE)
    el.send_keys(value)


def test_calibration_marks_in_the_camera_editor(settings, sqlite_db):
    with sqlite_db.session() as s:
        s.add(Camera(code="PLG-LOW-01", name="Pagar Jalan", lat=-2.99, lon=104.76,
                     owner="dishub", stream_url="http://10.0.0.9/snap.jpg"))  # fmt: skip
    settings.snapshot_dir.mkdir(parents=True, exist_ok=True)
    (settings.snapshot_dir / "PLG-LOW-01.jpg").write_bytes(_frame_jpeg())
    with running_app(settings, sqlite_db) as base, required_chrome((1920, 1080)) as driver:
        login(driver, base, sqlite_db, role="admin", username="admin_kalibrasi")
        driver.get(base + "/admin/kamera")
        wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
        driver.execute_script("document.querySelector('#admin-kamera-table button').click()")
        wait_text(driver, "#admin-kamera-form-title", lambda s: "PLG-LOW-01" in s, 30)
        driver.execute_script(
            "[...document.querySelectorAll('#admin-kamera-tabs .nav-link')]"
            ".find(a => a.textContent.trim() === 'ROI & garis').click()"
        )
        wait_for(driver, "#admin-kamera-roi-graph .main-svg", timeout=30)
        dash_idle(driver, 30)
        # two cars measured wheel to roof (1.45 m): far at rows 104-157, near at rows 82-210
        driver.execute_script(
            "const g=document.querySelector('#admin-kamera-roi-graph .js-plotly-plot');"
            "Plotly.relayout(g, {shapes: ["
            "{type: 'line', x0: 370, y0: 104, x1: 370, y1: 157},"
            "{type: 'line', x0: 140, y0: 210, x1: 140, y1: 82}]});"
        )
        wait_for(driver, "#admin-kamera-shape-table select", timeout=30)
        for i in (0, 1):
            _select(driver, i, "mark")
            _name(driver, i, "1,45")
        driver.execute_script("document.getElementById('admin-kamera-roi-save').click()")
        wait_text(driver, "#admin-kamera-roi-feedback", lambda s: "tersimpan" in s, 30)
        with sqlite_db.session() as s:
            cam = s.scalar(select(Camera).where(Camera.code == "PLG-LOW-01"))
            marks = cam.config["perspective"]["marks"]
            assert cam.lines == []
        assert [m["height_m"] for m in marks] == [1.45, 1.45]
        assert marks[1]["foot"] == [round(140 / 640, 5), round(210 / 272, 5)]  # lower end
        # reload: the marks come back as dotted lines with their role and height
        driver.get(base + "/admin/kamera")
        wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
        driver.execute_script("document.querySelector('#admin-kamera-table button').click()")
        wait_text(driver, "#admin-kamera-form-title", lambda s: "PLG-LOW-01" in s, 30)
        driver.execute_script(
            "[...document.querySelectorAll('#admin-kamera-tabs .nav-link')]"
            ".find(a => a.textContent.trim() === 'ROI & garis').click()"
        )
        wait_for(driver, "#admin-kamera-shape-table select", timeout=30)
        dash_idle(driver, 30)
        roles = driver.execute_script(
            "return [...document.querySelectorAll('#admin-kamera-shape-table select')]"
            ".map(s => s.value)"
        )
        assert roles == ["mark", "mark"]
        dashes = driver.execute_script(
            "const g=document.querySelector('#admin-kamera-roi-graph .js-plotly-plot');"
            "return g.layout.shapes.map(s => s.line.dash);"
        )
        assert dashes == ["dot", "dot"]
        assert severe_console(driver) == []
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(Path(SHOTS) / "admin-kamera-marks-1920.png"))
            driver.set_window_size(390, 844)
            dash_idle(driver, 10)
            driver.save_screenshot(str(Path(SHOTS) / "admin-kamera-marks-390.png"))
