"""The indicator upload on /indikator-opd in headless Chromium (issue 11): Dishub staff upload a
bad file (another OPD's row, an implausible percentage) and see every row error while nothing
is written; then a good file previews (new / changed old -> new) and is saved only on *Simpan*;
the card says when and by whom its value was updated (WIB), the correction history names the
upload, and the page speaks English after the toggle. Screenshots at 1920x1080 and 390x844
(``PANTAU_SCREENSHOT_DIR`` keeps them; default: the test's temp folder)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pantau.settings import Settings
from store import users
from store.db import Database
from store.indicators import Actor, write_rows
from store.models import OpdIndicatorValue, OpdIndicatorValueChange
from store.seed import seed_reference
from tests.ui.harness import PASSWORD, dash_idle, login, required_chrome, running_app, wait_text

pytestmark = [pytest.mark.browser]

BAD = (
    "opd,indicator,period,value\n"
    "DISHUB,apill_berfungsi,2026-11,97.5\n"
    "BPPD,pad_realisasi,2026-11,101\n"  # another OPD: refused for Dishub staff
    "DISHUB,apill_berfungsi,2026-12,1200\n"  # a percentage over 1,000
)
GOOD = (
    "opd,indicator,period,value,note\n"
    "DISHUB,apill_berfungsi,2026-11,96.5,rekap ATCS\n"
    "DISHUB,kecepatan_rata,2026-10,21.8,koreksi survei\n"  # stored 23.4 before: a correction
)


@pytest.fixture
def app_db(tmp_path: Path):
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url="",
        simulate_cameras=0,
        workers=1,
        secret_key="uji-indikator",
        ingest_enabled=False,
    )
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    with db.session() as s:
        seed_reference(s)
        users.create_user(
            s, "dishub.budi", PASSWORD, "opd", full_name="Budi Dishub",
            opd_id=users.find_opd(s, "DISHUB").id,
        )  # fmt: skip
    history = [
        ("2026-08", 95.0, 24.9),
        ("2026-09", 97.0, 24.1),
        ("2026-10", 98.2, 23.4),
    ]
    with db.session() as s:
        rows = []
        for i, (period, apill, speed) in enumerate(history):
            rows.append((2 * i + 2, {"opd": "DISHUB", "indicator": "apill_berfungsi",
                                     "period": period, "value": apill}))  # fmt: skip
            rows.append((2 * i + 3, {"opd": "DISHUB", "indicator": "kecepatan_rata",
                                     "period": period, "value": speed}))  # fmt: skip
        write_rows(s, rows, Actor("key:dishub-atcs", "api_key", "api"))
    yield settings, db
    db.dispose()


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(OpdIndicatorValue)),
            s.scalar(select(func.count()).select_from(OpdIndicatorValueChange)),
        )


def shots_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("PANTAU_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def upload(driver, path: Path) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.CSS_SELECTOR, "#opd-upload input[type=file]")
    driver.execute_script("arguments[0].style.display = 'block'", field)
    field.send_keys(str(path))


def test_upload_preview_errors_then_save(app_db, tmp_path):
    from selenium.webdriver.common.by import By

    settings, db = app_db
    bad, good = tmp_path / "salah.csv", tmp_path / "nilai-nov.csv"
    bad.write_text(BAD, encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")
    shots = shots_dir(tmp_path)
    before = counts(db)
    with running_app(settings, db) as base, required_chrome((1920, 1080)) as driver:
        login(driver, base, db, role="opd", username="dishub.budi")
        driver.get(base + "/indikator-opd")
        wait_text(driver, "#opd-cards", lambda t: "APILL berfungsi" in t)
        card_text = driver.find_element(By.ID, "opd-cards").text
        assert (
            "Diperbarui" in card_text
            and "WIB" in card_text
            and "kunci API dishub-atcs" in card_text
        )
        assert "Realisasi pajak" not in card_text  # only their own OPD's cards

        upload(driver, bad)
        title = wait_text(driver, "#opd-upload-errors-title", lambda t: "masalah" in t)
        assert title.startswith("2 masalah") and "tidak ada yang disimpan" in title
        errors = driver.find_element(By.ID, "opd-upload-errors").text
        assert "Anda hanya boleh mengirim nilai DISHUB" in errors and "BPPD" in errors
        assert "Nilai tidak wajar untuk satuan %" in errors and "1200" in errors
        assert not driver.find_element(By.ID, "opd-upload-save").is_enabled()
        assert counts(db) == before

        upload(driver, good)
        wait_text(driver, "#opd-upload-counts", lambda t: "1 baru" in t)
        assert driver.find_element(By.ID, "opd-upload-counts").text == (
            "1 baru · 1 diubah · 0 tetap"
        )
        table = driver.find_element(By.ID, "opd-upload-table").text
        assert "23,4 km/jam → 21,8 km/jam" in table and "96,5 %" in table
        assert counts(db) == before  # the preview wrote nothing
        driver.save_screenshot(str(shots / "indikator-opd-preview-1920.png"))
        save = driver.find_element(By.ID, "opd-upload-save")
        assert save.is_enabled()
        save.click()
        saved = wait_text(driver, "#opd-upload-saved", lambda t: "Tersimpan" in t)
        assert "1 baru, 1 diubah, 0 tetap" in saved
        assert counts(db) == (before[0] + 1, before[1] + 2)
        wait_text(driver, "#opd-cards", lambda t: "Budi Dishub (dishub.budi)" in t)
        dash_idle(driver)
        driver.save_screenshot(str(shots / "indikator-opd-1920.png"))
        fits = driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        assert fits

        # the correction history of the speed indicator names the upload and the file
        cards = driver.find_elements(By.CSS_SELECTOR, ".pantau-kpi-open")
        speed = next(c for c in cards if "Kecepatan" in c.text)
        driver.execute_script("arguments[0].click()", speed)
        history = wait_text(driver, "#opd-changes-table", lambda t: "dishub.budi" in t)
        assert "23,4 km/jam → 21,8 km/jam" in history and "nilai-nov.csv" in history
        assert "unggah" in history and "WIB" in history and "koreksi survei" in history
        driver.save_screenshot(str(shots / "indikator-opd-history-1920.png"))

        driver.get(base + "/lang/en?next=/indikator-opd")
        wait_text(driver, "#opd-upload-panel", lambda t: "Send indicator values" in t)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Updated" in body and "by Budi Dishub (dishub.budi)" in body
        assert "Kirim nilai" not in body

    with running_app(settings, db) as base, required_chrome((390, 844)) as phone:
        login(phone, base, db, role="opd", username="dishub.budi")
        phone.get(base + "/indikator-opd")
        wait_text(phone, "#opd-cards", lambda t: "APILL" in t)
        upload(phone, good)
        wait_text(phone, "#opd-upload-counts", lambda t: "tetap" in t)
        time.sleep(0.3)
        assert phone.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        phone.save_screenshot(str(shots / "indikator-opd-390.png"))
