"""The notifications admin page in headless Chromium: an admin adds a webhook channel through
the form, sends a test that a dispatcher delivers to a loopback receiver, sees a refused target
explained, retries a dead letter; Indonesian and English; fits a 1920x1080 wall and a phone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from ingestion.notify.dispatcher import Dispatcher
from store import outbox
from store.models import OutboxMessage, OutboxStatus
from tests.conftest import require_service
from tests.ui.harness import (
    browser_available,
    chrome_driver,
    dash_idle,
    login,
    running_app,
    wait_for,
    wait_text,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
from notify_helpers import Receiver  # noqa: E402

pytestmark = [pytest.mark.browser]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _severe(driver, base: str) -> list[dict]:  # noqa: ANN001
    return [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE"
        and not (e.get("source") == "network" and not e.get("message", "").startswith(base))
    ]


def _type(driver, element_id: str, text: str) -> None:  # noqa: ANN001
    el = driver.find_element(By.ID, element_id)
    el.clear()
    el.send_keys(text)


def test_admin_manages_channels_tests_and_retries(settings, sqlite_db):
    missing = browser_available()
    if missing:
        require_service("Chromium", missing)
    rec = Receiver().start()
    cfg = settings.model_copy(
        update={
            "notify_allowed_targets": "127.0.0.1",
            "notify_webhook_secret": "rahasia",
            "notify_timeout_s": 2.0,
        }
    )
    SHOTS.mkdir(exist_ok=True)
    try:
        with running_app(cfg, sqlite_db) as base, chrome_driver((1920, 1080)) as driver:
            login(driver, base, sqlite_db, role="admin")
            driver.get_log("browser")
            driver.get(base + "/admin/notifikasi")
            wait_for(driver, "#admin-notify-channels", 30)
            dash_idle(driver)
            wait_text(driver, "#admin-notify-channels", lambda t: "Belum ada kanal" in t)

            # a target outside the allow-list is refused with the setting to change
            _type(driver, "admin-notify-name", "Server SIG Dinas")
            _type(driver, "admin-notify-target", "http://10.9.9.9/hook")
            driver.find_element(By.ID, "admin-notify-save").click()
            msg = wait_text(driver, "#admin-notify-feedback", lambda t: "Tidak disimpan" in t)
            assert "PANTAU_NOTIFY_ALLOWED_TARGETS" in msg

            _type(driver, "admin-notify-name", "Piket BPBD")
            _type(driver, "admin-notify-target", rec.url)
            driver.find_element(By.ID, "admin-notify-save").click()
            wait_text(driver, "#admin-notify-feedback", lambda t: "Piket BPBD disimpan" in t)
            wait_text(driver, "#admin-notify-channels", lambda t: "Piket BPBD" in t)

            btn = wait_for(driver, "[id*='admin-notify-test']", 20)
            btn.click()
            wait_text(driver, "#admin-notify-feedback", lambda t: "Pesan uji" in t)
            d = Dispatcher(cfg, sqlite_db, worker_id="notify-ui")
            try:
                d.drain(timeout=20)
            finally:
                d.stop()
            assert len(rec.processed) == 1
            assert "[UJI]" in rec.requests[0].body.decode()

            with sqlite_db.session() as s:  # a failed message for the dead-letter list
                outbox.enqueue(s, "test", {"title": "Gagal terkirim"}, key="dead-1", channels=[1])
                row = s.query(OutboxMessage).filter_by(event_key="dead-1").one()
                row.status, row.attempts, row.last_error = "dead", 8, "HTTP 503: sibuk"
            driver.find_element(By.ID, "admin-notify-status").click()
            driver.get(base + "/admin/notifikasi")
            wait_text(driver, "#admin-notify-messages", lambda t: "HTTP 503" in t)
            tiles = driver.find_element(By.ID, "admin-notify-tiles").text
            assert "TERKIRIM" in tiles.upper() and "GAGAL" in tiles.upper()
            dash_idle(driver)
            driver.save_screenshot(str(SHOTS / "admin_notify-wall.png"))
            height = driver.execute_script("return document.documentElement.scrollHeight")
            assert height <= 1080, f"the wall page needs {height} px"
            wait_for(driver, "[id*='admin-notify-retry'][id*='index']", 20).click()
            wait_text(driver, "#admin-notify-feedback", lambda t: "1 pesan gagal" in t)
            with sqlite_db.session() as s:
                row = s.query(OutboxMessage).filter_by(event_key="dead-1").one()
                assert row.status == OutboxStatus.PENDING and row.attempts == 0
            severe = _severe(driver, base)
            assert not severe, severe

            driver.get(base + "/lang/en")
            driver.get(base + "/admin/notifikasi")
            wait_text(driver, "#admin-notify-channels", lambda t: "Piket BPBD" in t)
            dash_idle(driver)
            text = driver.find_element(By.ID, "admin-notify-page").text
            assert "Outgoing Notifications" in text and "Send a test" in text
            assert "Kirim uji" not in text and "Simpan" not in text
            assert not _severe(driver, base)

        with running_app(cfg, sqlite_db) as base, chrome_driver((390, 844)) as phone:
            login(phone, base, sqlite_db, role="admin")
            phone.get(base + "/admin/notifikasi")
            wait_text(phone, "#admin-notify-channels", lambda t: "Piket BPBD" in t)
            dash_idle(phone)
            phone.save_screenshot(str(SHOTS / "admin_notify-phone.png"))
            width = phone.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, f"the phone page is {width} px wide"
    finally:
        rec.stop()
