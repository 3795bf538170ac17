"""The camera management page (/admin/kamera) in headless Chromium, end to end against a real
app, SQLite store and a real HTTP snapshot camera (the simulator): filter the list, open a camera,
edit a field, save, see the audit row; inject a drawn ROI shape and save it; "Uji" shows an
analysed preview, and against a refused port a clear error. Screenshots at 1920x1080 and 390 px
go to PANTAU_SCREENSHOT_DIR when set."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from ingestion.simulator import CameraSimulator, make_cameras
from store.models import AuditLog, Camera
from tests.ui.harness import dash_idle, login, required_chrome, running_app, wait_for, wait_text

pytestmark = [pytest.mark.browser]

SHOTS = os.environ.get("PANTAU_SCREENSHOT_DIR")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(database, sim_url: str, refused_url: str) -> None:
    with database.session() as s:
        for i in range(40):  # more than one page of 25
            s.add(
                Camera(
                    code=f"PLG-X-{i:02d}",
                    name=f"Persimpangan {i:02d}",
                    lat=-2.98,
                    lon=104.75,
                    kecamatan="Ilir Barat I" if i % 2 else "Bukit Kecil",
                    owner="dishub",
                    stream_url=f"http://10.0.0.{i + 1}/snap.jpg",
                )
            )
        s.add(
            Camera(
                code="PLG-SIM-01",
                name="Simpang Simulator",
                lat=-2.99,
                lon=104.76,
                kecamatan="Seberang Ulu I",
                owner="diskominfo",
                stream_url=sim_url,
            )
        )
        s.add(
            Camera(
                code="PLG-MATI-01",
                name="Kamera Mati",
                lat=-2.99,
                lon=104.76,
                kecamatan="Seberang Ulu I",
                owner="polresta",
                stream_url=refused_url,
            )
        )


def _shot(driver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / name))


def _click(driver, css: str) -> None:
    from selenium.webdriver.common.by import By

    el = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    driver.execute_script("arguments[0].click();", el)


def _set(driver, css: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    el = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    el.send_keys(Keys.CONTROL, "a")
    el.send_keys(Keys.DELETE)
    el.send_keys(value)


def _open(driver, code: str) -> None:
    _set(driver, "#admin-kamera-f-search", code + "\n")
    wait_text(driver, "#admin-kamera-count", lambda s: s.startswith("1 "), timeout=30)
    _click(driver, "#admin-kamera-table button")
    wait_text(driver, "#admin-kamera-form-title", lambda s: code in s, timeout=30)


def test_camera_editor_end_to_end(settings, sqlite_db, tmp_path):
    settings = settings.model_copy(update={"connect_timeout_s": 2.0, "read_timeout_s": 3.0})
    sim = CameraSimulator(make_cameras(1, kinds=["street"], fps=4)).start()
    refused = f"http://127.0.0.1:{_free_port()}/snap.jpg"
    try:
        _seed(sqlite_db, sim.url(0, "snapshot"), refused)
        with running_app(settings, sqlite_db) as base, required_chrome((1920, 1080)) as driver:
            admin = login(driver, base, sqlite_db, role="admin", username="admin_kamera")
            driver.get(base + "/admin/kamera")
            text = wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
            assert text.startswith("42 kamera cocok") and "halaman 1 dari 2" in text
            rows = driver.find_elements("css selector", "#admin-kamera-table tbody tr")
            assert len(rows) == 25  # one page, never the whole city
            # a filter: owner polresta -> the one dead camera
            _click(driver, "#admin-kamera-f-owner")
            driver.execute_script(
                "const s=document.getElementById('admin-kamera-f-owner');"
                "const set=Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype,'value').set;"
                "set.call(s,'polresta');s.dispatchEvent(new Event('change',{bubbles:true}));"
            )
            wait_text(driver, "#admin-kamera-count", lambda s: s.startswith("1 kamera"), 30)
            assert "PLG-MATI-01" in driver.find_element("id", "admin-kamera-table").text
            _shot(driver, "admin-kamera-1920.png")

            # open a camera, edit a field, save
            driver.get(base + "/admin/kamera")
            wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
            _open(driver, "PLG-SIM-01")
            _set(driver, "#admin-kamera-in-name", "Simpang Simulator Baru")
            _click(driver, "#admin-kamera-save")
            wait_text(driver, "#admin-kamera-form-feedback", lambda s: "Tersimpan" in s, 30)
            with sqlite_db.session() as s:
                cam = s.scalar(select(Camera).where(Camera.code == "PLG-SIM-01"))
                assert cam.name == "Simpang Simulator Baru"
            # a bad value is shown next to its field and nothing is saved
            _set(driver, "#admin-kamera-in-lat", "-97")
            _click(driver, "#admin-kamera-save")
            err = wait_text(driver, "#admin-kamera-err-lat", lambda s: "-90" in s, 30)
            assert err == "Harus ≥ -90."  # in Bahasa Indonesia, next to the field
            driver.get(base + "/admin/audit")
            wait_text(driver, "#audit-table", lambda s: "PLG-SIM-01" in s, 30)
            table = driver.find_element("id", "audit-table").text
            assert "Ubah kamera" in table and admin in table
            assert "mengubah kamera PLG-SIM-01" in table  # a sentence, then the fields
            assert "Simpang Simulator → Simpang Simulator Baru" in table

            # Uji against the simulator: an analysed preview with counts
            driver.get(base + "/admin/kamera")
            wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
            _open(driver, "PLG-SIM-01")
            driver.execute_script(
                "[...document.querySelectorAll('#admin-kamera-tabs .nav-link')]"
                ".find(a => a.textContent.trim() === 'Uji').click()"
            )
            _click(driver, "#admin-kamera-test-run")
            wait_for(driver, "#admin-kamera-test-img", timeout=60)
            counts = driver.find_element("id", "admin-kamera-test-counts").text
            assert "Orang terlihat" in counts and "orang" in counts
            src = driver.find_element("id", "admin-kamera-test-img").get_attribute("src")
            assert src.startswith("data:image/jpeg;base64,") and len(src) > 2000
            _shot(driver, "admin-kamera-test-1920.png")

            # ROI editor: the test frame is the background; inject a drawn polygon, name, save
            driver.execute_script(
                "[...document.querySelectorAll('#admin-kamera-tabs .nav-link')]"
                ".find(a => a.textContent.trim() === 'ROI & garis').click()"
            )
            wait_for(driver, "#admin-kamera-roi-graph .main-svg", timeout=30)
            dash_idle(driver, 30)
            size = driver.execute_script(
                "const g=document.querySelector('#admin-kamera-roi-graph .js-plotly-plot');"
                "return [g.layout.images[0].sizex, g.layout.images[0].sizey];"
            )
            w, h = size
            driver.execute_script(
                "const g=document.querySelector('#admin-kamera-roi-graph .js-plotly-plot');"
                "Plotly.relayout(g, {shapes: [{type: 'path', path: arguments[0]},"
                " {type: 'line', x0: 0, y0: arguments[1], x1: arguments[2], y1: arguments[1]}]});",
                f"M{w * 0.1},{h * 0.5}L{w * 0.5},{h * 0.5}L{w * 0.5},{h * 0.9}Z",
                h * 0.6,
                w,
            )
            name_css = "#admin-kamera-shape-table input"
            wait_for(driver, name_css, timeout=30)
            _set(driver, name_css, "Trotoar utara")
            _click(driver, "#admin-kamera-roi-save")
            wait_text(driver, "#admin-kamera-roi-feedback", lambda s: "tersimpan" in s, 30)
            with sqlite_db.session() as s:
                cam = s.scalar(select(Camera).where(Camera.code == "PLG-SIM-01"))
                assert len(cam.rois) == 1 and cam.rois[0]["name"] == "Trotoar utara"
                assert cam.rois[0]["points"] == [[0.1, 0.5], [0.5, 0.5], [0.5, 0.9]]
                assert cam.rois[0]["normalized"] is True
                assert cam.lines == [
                    {"name": "Garis 1", "a": [0.0, 0.6], "b": [1.0, 0.6], "normalized": True}
                ]
            _shot(driver, "admin-kamera-roi-1920.png")

            # Uji against a refused port: a clear error, within the bound
            driver.get(base + "/admin/kamera")
            wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
            _open(driver, "PLG-MATI-01")
            driver.execute_script(
                "[...document.querySelectorAll('#admin-kamera-tabs .nav-link')]"
                ".find(a => a.textContent.trim() === 'Uji').click()"
            )
            _click(driver, "#admin-kamera-test-run")
            err = wait_text(driver, "#admin-kamera-test-error", lambda s: "Uji gagal" in s, 60)
            assert "connect" in err.lower() or "refused" in err.lower(), err

            # registry upload: preview (new / changed) first, then all or nothing
            csv_path = tmp_path / "kamera-baru.csv"
            csv_path.write_text(
                "code,name,lat,lon,kecamatan,owner,protocol,stream_url\n"
                "PLG-X-00,Persimpangan Nol,-2.98,104.75,Bukit Kecil,dishub,snapshot,"
                "http://10.0.0.1/snap.jpg\n"
                "PLG-BARU-01,Kamera Baru,-2.97,104.74,Ilir Timur I,diskominfo,snapshot,"
                "http://10.0.9.9/snap.jpg\n"
            )
            driver.execute_script(
                "[...document.querySelectorAll('#admin-kamera-tabs .nav-link')]"
                ".find(a => a.textContent.trim() === 'Unggah registri').click()"
            )
            upload = wait_for(driver, "#admin-kamera-upload input[type=file]", timeout=30)
            upload.send_keys(str(csv_path))
            summary = wait_text(driver, "#admin-kamera-upload-summary", lambda s: "baru" in s, 30)
            assert summary.startswith("1 baru · 1 berubah · 0 tetap")
            assert (
                "name: Persimpangan 00 → Persimpangan Nol"
                in driver.find_element("id", "admin-kamera-upload-table").text
            )
            with sqlite_db.session() as s:  # the preview wrote nothing
                assert s.scalar(select(Camera).where(Camera.code == "PLG-BARU-01")) is None
            _shot(driver, "admin-kamera-upload-1920.png")
            _click(driver, "#admin-kamera-upload-commit")
            wait_text(driver, "#admin-kamera-upload-feedback", lambda s: "tersimpan" in s, 30)
            with sqlite_db.session() as s:
                assert s.scalar(select(Camera.name).where(Camera.code == "PLG-BARU-01")) == (
                    "Kamera Baru"
                )
                actions = {a.action for a in s.scalars(select(AuditLog))}
            assert {"camera_update", "camera_create", "camera_import"} <= actions
        with running_app(settings, sqlite_db) as base, required_chrome((390, 844)) as driver:
            login(driver, base, sqlite_db, role="admin", username="admin_kamera")
            driver.get(base + "/admin/kamera")
            wait_text(driver, "#admin-kamera-count", lambda s: "kamera cocok" in s, 30)
            # the list scrolls sideways inside its own box, the page itself does not
            page_w = driver.execute_script("return document.documentElement.scrollWidth")
            assert page_w <= 400, page_w
            _shot(driver, "admin-kamera-390.png")
            _open(driver, "PLG-SIM-01")
            _shot(driver, "admin-kamera-form-390.png")
            # the English toggle covers the page
            driver.get(base + "/lang/en")
            driver.get(base + "/admin/kamera")
            text = wait_text(driver, "#admin-kamera-count", lambda s: "matching" in s, 30)
            assert text.startswith("43 matching cameras")
            body = driver.find_element("tag name", "body").text
            assert "Manage Cameras" in body and "Upload registry" in body
            assert "Kelola Kamera" not in body
    finally:
        sim.stop()
