"""The situation room in headless Chromium: every page, the main controls, kiosk and phone.

One demo database (45 days) and one app for the module; each test signs in as an operator.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

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

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store.db import Database
    from store.seed import DemoSpec, seed_demo

    var = tmp_path_factory.mktemp("ui") / "var"
    settings = Settings(
        var_dir=var, secret_key="ui-test", ingest_enabled=False, map_tile_url="",
        kiosk_rotate_seconds=30, refresh_seconds=5,
    )  # fmt: skip
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_demo(s, DemoSpec(days=45))
    with running_app(settings, database) as base:
        yield base, database, settings
    database.dispose()


@pytest.fixture(scope="module")
def driver(demo_app):
    base, database, _ = demo_app
    with chrome_driver((1440, 900)) as d:
        login(d, base, database, role="operator")
        yield d


def plot_data(driver, graph_id: str) -> list[dict]:
    return driver.execute_script(
        "const el = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "const data = el && (el._fullData || el.data);"
        "return data ? data.map(t => ({name: t.name, n: (t.y || []).length,"
        " y: Array.from(t.y || [])})) : null;",
        graph_id,
    )


def test_overview_map_tiles_and_acknowledge(demo_app, driver):
    base, database, _ = demo_app
    driver.get(base + "/")
    wait_for(driver, "#overview-map .marker-cluster, #overview-map path.pantau-cam", 30)
    text = wait_text(driver, "#overview-tile-cameras", lambda t: "/" in t)
    assert "kamera" in text and "WIB" in text
    for tile in ("people", "vehicles", "flood", "complaints", "incidents"):
        value = driver.find_element("css selector", f"#overview-tile-{tile}-value").text
        assert value and value != "—", tile
    from store.models import Alert

    with database.session() as s:  # the demo's open alerts: three on cameras, plus one per
        # river sensor the seed left at waspada or above (it depends on the demo's rain)
        n_open = s.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.ended_at.is_(None), Alert.acknowledged_at.is_(None))
        )
    buttons = driver.find_elements("css selector", "#overview-alerts .pantau-ack")
    assert len(buttons) == n_open >= 3
    buttons[0].click()
    acked = wait_text(driver, "#overview-alerts", lambda t: "Diterima" in t)
    assert "uji_operator" in acked

    with database.session() as s:
        who = s.scalars(  # the open ones (the demo's past alerts were worked by others)
            select(Alert.acknowledged_by).where(
                Alert.acknowledged_at.is_not(None), Alert.ended_at.is_(None)
            )
        )
        assert list(who) == ["uji_operator"]


def test_clicking_a_camera_shows_its_snapshot(demo_app, driver):
    base, _db, _ = demo_app
    driver.get(base + "/")
    for _ in range(6):  # zoom into clusters until single camera points show
        points = driver.find_elements("css selector", "#overview-map path.pantau-cam")
        if points:
            break
        clusters = driver.find_elements("css selector", "#overview-map .marker-cluster")
        if clusters:
            clusters[0].click()
        time.sleep(0.8)
    points = wait_for(driver, "#overview-map path.pantau-cam", 20)
    driver.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", points
    )
    img = wait_for(driver, "#overview-camera-img", 15)
    assert "/snapshots/" in img.get_attribute("src")
    assert wait_for(driver, "#overview-camera-open").get_attribute("href").split("/camera/")[1]


def test_traffic_granularity_filter_and_download(demo_app, driver, tmp_path):
    base, _db, _ = demo_app
    driver.get(base + "/lalu-lintas")
    wait_for(driver, "#traffic-trend .main-svg", 30)
    dash_idle(driver)
    daily = plot_data(driver, "traffic-trend")
    current = next(t for t in daily if t["name"] == "Periode ini")
    assert current["n"] == 30
    # weekly: fewer points
    labels = driver.find_elements("css selector", "#traffic-granularity label")
    next(lb for lb in labels if lb.text.strip() == "Minggu").click()
    time.sleep(0.5)
    dash_idle(driver)
    weekly = next(t for t in plot_data(driver, "traffic-trend") if t["name"] == "Periode ini")
    assert 4 <= weekly["n"] <= 6
    total_all = driver.find_element("css selector", "#traffic-kpi-current-value").text
    # kecamatan filter: the total drops
    driver.find_element("css selector", "#traffic-kecamatan").click()  # Dash 4 dropdown
    option = wait_for(driver, "[role=option]", 10)
    options = driver.find_elements("css selector", "[role=option]")
    next(o for o in options if o.text.strip() == "Ilir Barat I").click()  # street scenes
    from selenium.webdriver.common.keys import Keys

    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert option is not None
    wait_text(driver, "#traffic-kpi-current-value", lambda t: t != total_all)
    dash_idle(driver)
    filtered = driver.find_element("css selector", "#traffic-kpi-current-value").text

    def number(text: str) -> float:
        return float(text.replace(".", "").replace(",", "."))

    assert 0 < number(filtered) < number(total_all)
    # CSV download of what is shown
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    driver.find_element("css selector", "#traffic-download-csv").click()
    deadline = time.time() + 15
    files: list[Path] = []
    while time.time() < deadline:
        files = [p for p in tmp_path.glob("*.csv")]
        if files:
            break
        time.sleep(0.3)
    assert files, "no CSV downloaded"
    lines = files[0].read_text(encoding="utf-8").splitlines()
    assert "-week-vs-previous" in files[0].name  # the filters are in the file name
    header = [line for line in lines if line.startswith("# ")]
    assert any(line.startswith("# Periode:") and "(WIB)" in line for line in header)
    assert any(line.startswith("# Versi Pantau:") for line in header)
    content = [line for line in lines if line and not line.startswith("#")]
    assert content[0].startswith("Periode (WIB)")
    assert len(content) - 1 == weekly["n"]


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/banjir", "#flood-sensors .main-svg"),
        ("/keamanan", "#security-trend .main-svg"),
        ("/indikator-opd", ".pantau-kpi"),
        ("/camera/PLG-BKB-01", "#camera-counts .main-svg"),
    ],
)
def test_every_page_renders_without_errors(demo_app, driver, path, ready):
    base, _db, _ = demo_app
    driver.get(base + path)
    wait_for(driver, ready, 30)
    dash_idle(driver)
    assert not driver.find_elements("css selector", ".dash-fe-error__title")
    body = driver.find_element("tag name", "body").text
    assert "WIB" in body or path == "/indikator-opd"


def test_opd_card_opens_history(demo_app, driver):
    base, _db, _ = demo_app
    driver.get(base + "/indikator-opd")
    cards = wait_for(driver, ".pantau-kpi-open", 20)
    cards.click()
    title = wait_text(driver, "#opd-modal-title", lambda t: len(t) > 3)
    assert title
    assert plot_data(driver, "opd-modal-graph")[0]["n"] >= 2


def test_language_toggle(demo_app, driver):
    base, _db, _ = demo_app
    driver.get(base + "/lalu-lintas")
    wait_for(driver, "#lang-toggle").click()
    wait_text(driver, "#pantau-navbar", lambda t: "Traffic" in t)
    wait_text(driver, "#traffic-header", lambda t: "Vehicle flow" in t)
    driver.get(base + "/lang/id")
    wait_text(driver, "#pantau-navbar", lambda t: "Lalu Lintas" in t)


def test_kiosk_mode_dark_no_chrome_and_rotates(demo_app, driver):
    base, _db, _ = demo_app
    driver.get(base + "/?kiosk=1&rotate=5")
    wait_for(driver, "#overview-map", 20)
    assert (
        driver.execute_script("return document.documentElement.getAttribute('data-bs-theme')")
        == "dark"
    )
    assert not driver.find_element("css selector", "#pantau-navbar").is_displayed()
    assert driver.find_element("css selector", "#shell-kiosk-bar").is_displayed()
    assert not any(b.is_displayed() for b in driver.find_elements("css selector", ".pantau-ack"))
    deadline = time.time() + 15
    while time.time() < deadline and "/lalu-lintas" not in driver.current_url:
        time.sleep(0.5)
    assert driver.current_url.endswith("/lalu-lintas?kiosk=1&rotate=5")


def test_phone_overview_fits_390px(demo_app):
    base, database, _ = demo_app
    with chrome_driver((390, 844)) as phone:
        login(phone, base, database, role="pimpinan")
        phone.get(base + "/")
        wait_for(phone, "#overview-tile-cameras-value", 20)
        wait_text(phone, "#overview-tile-cameras-value", lambda t: "/" in t)
        inner = phone.execute_script("return window.innerWidth")
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert inner == 390
        assert width <= inner + 1, width
        # pimpinan see alerts but cannot acknowledge them
        wait_for(phone, "#overview-alerts .pantau-alert", 15)
        assert not phone.find_elements("css selector", "#overview-alerts .pantau-ack")
