"""/admin/aturan in headless Chromium: the admin sees the default rules, picks one, a bad edit
shows the field at fault, a good one is saved; no console errors; fits 1440x900 and a
390 px phone without horizontal scrolling. Screenshots go to screenshots/ (git-ignored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.ui.harness import (
    browser_available,
    chrome_driver,
    dash_idle,
    login,
    running_app,
    severe_console,
    wait_for,
    wait_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(scope="module")
def rules_app(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store.db import Database

    var = tmp_path_factory.mktemp("ui-rules") / "var"
    settings = Settings(var_dir=var, secret_key="ui-test", ingest_enabled=False, map_tile_url="")
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with running_app(settings, database) as base:
        yield base, database
    database.dispose()


def _set_text(driver, value: str) -> None:  # noqa: ANN001
    box = driver.find_element("css selector", "#admin-rules-text")
    driver.execute_script(
        "const el = arguments[0]; const set = Object.getOwnPropertyDescriptor("
        "HTMLTextAreaElement.prototype, 'value').set; set.call(el, arguments[1]);"
        "el.dispatchEvent(new Event('input', {bubbles: true}));",
        box,
        value,
    )


def _click(driver, css: str) -> None:  # noqa: ANN001
    el = driver.find_element("css selector", css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    el.click()


def test_admin_edits_a_rule(rules_app):
    from selenium.webdriver.common.keys import Keys

    base, database = rules_app
    SHOTS.mkdir(exist_ok=True)
    with chrome_driver((1440, 900)) as driver:
        login(driver, base, database, role="admin")
        driver.get(base + "/admin/aturan")
        table = wait_text(driver, "#admin-rules-table", lambda t: "banjir-kota" in t)
        assert "kamera-offline" in table and "gangguan ≥ 5 menit" in table
        driver.find_element("css selector", "#admin-rules-pick").click()
        wait_for(driver, "[role=option]", 10)
        next(
            o for o in driver.find_elements("css selector", "[role=option]")
            if "banjir-kota" in o.text
        ).click()  # fmt: skip
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        text = wait_text(driver, "#admin-rules-text", lambda t: '"banjir-kota"' in t)
        text = driver.find_element("css selector", "#admin-rules-text").get_attribute("value")
        data = json.loads(text)
        _set_text(driver, json.dumps({**data, "cooldown_s": -1}, indent=2))
        _click(driver, "#admin-rules-save")
        msg = wait_text(driver, "#admin-rules-msg", lambda t: "Tidak disimpan" in t)
        assert "cooldown_s" in msg
        driver.save_screenshot(str(SHOTS / "rules-error-desktop.png"))
        _set_text(driver, json.dumps({**data, "cooldown_s": 1200}, indent=2))
        _click(driver, "#admin-rules-save")
        wait_text(driver, "#admin-rules-msg", lambda t: "Tersimpan: banjir-kota" in t)
        dash_idle(driver)
        assert "20 mnt" in driver.find_element("css selector", "#admin-rules-table").text
        driver.save_screenshot(str(SHOTS / "rules-desktop.png"))
        assert severe_console(driver) == []
    with chrome_driver((390, 844)) as driver:
        login(driver, base, database, role="admin")
        driver.get(base + "/admin/aturan")
        wait_text(driver, "#admin-rules-table", lambda t: "banjir-kota" in t)
        dash_idle(driver)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        driver.save_screenshot(str(SHOTS / "rules-phone.png"))
        assert severe_console(driver) == []
