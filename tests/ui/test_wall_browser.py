"""Every page in headless Chromium at the sizes people use it (issue 15, "Done when"):

- the wall screen (``?kiosk=1``) at exactly 1920x1080 and 3840x2160: nothing scrolls, no
  control, mode bar or hint shows, the smallest visible type is 16 px at 1080p (32 px at 4K);
- every page, for every role that may open it, at 1440x900: the browser console has no error
  (this caught dash-leaflet's "reading 'equals'" on every map page);
- every page at 390x844 (phone): no horizontal scroll, no console error;
- a new siaga alert makes the wall flash and show that camera's picture.

The viewport is set with the DevTools protocol, so the page gets exactly the size asked
(a headless window of 1920x1080 leaves a smaller viewport).
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import require_service
from tests.ui.harness import (
    PASSWORD,
    browser_available,
    dash_idle,
    ensure_user,
    running_app,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KIOSK_QUERY = "?kiosk=1&rotate=0"
#: the smallest type on the wall at 1920x1080, CSS px (README "Wall screen")
WALL_MIN_PX = 16
STAFF = ("pimpinan", "operator", "analis", "admin")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store.db import Database
    from store.seed import DemoSpec, seed_demo
    from tests.ui.screenshots import OPD_CODE, ensure_opd_user

    var = tmp_path_factory.mktemp("wall") / "var"
    settings = Settings(
        var_dir=var, secret_key="wall-test", ingest_enabled=False, map_tile_url="",
        refresh_seconds=5,
    )  # fmt: skip
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_demo(s, DemoSpec(days=14))
    for role in STAFF:
        ensure_user(database, role)
    opd_user = ensure_opd_user(database, OPD_CODE)
    with running_app(settings, database) as base:
        yield base, database, {**{r: f"uji_{r}" for r in STAFF}, "opd": opd_user}
    database.dispose()


def pages_by_role() -> dict[str, list[str]]:
    """Every registered page (a template page by its example path) and the roles that may
    open it, as the pages declare them (dashboard/auth.py page_roles)."""
    import dash

    from dashboard import auth

    out: dict[str, list[str]] = {}
    for page in dash.page_registry.values():
        path = page.get("path")
        if not path or path in ("/404", "/403", "/masuk"):
            continue
        roles = auth.page_roles(page)
        out[path] = list(STAFF) + ["opd"] if roles == auth.PUBLIC else list(roles)
    return out


@contextlib.contextmanager
def browser(size: tuple[int, int]):
    """Chromium with the console log readable and the viewport exactly ``size``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.ui.harness import CHROME_FLAGS, CHROMEDRIVER

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument("--lang=id-ID")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    mobile = size[0] < 500
    options.add_argument(f"--window-size={max(size[0], 500)},{size[1]}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile},
    )
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/masuk")
    wait_for(driver, "#login-username").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    deadline = time.monotonic() + 20
    while "/masuk" in driver.current_url and time.monotonic() < deadline:
        time.sleep(0.1)
    driver.get_log("browser")  # start each page with an empty console


def open_page(driver, url: str) -> list[str]:
    """Open ``url``, let Dash settle; returns the console errors the page logged."""
    driver.get(url)
    wait_for(driver, "#pantau-shell", 30)
    time.sleep(0.6)
    with contextlib.suppress(Exception):
        dash_idle(driver, 20)
    time.sleep(0.4)
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


MEASURE = """
const s = document.scrollingElement;
const visible = el => { const r = el.getBoundingClientRect(); const cs = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'; };
let smallest = [999, ''];
for (const el of document.querySelectorAll('#pantau-shell *')) {
  if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  if (!visible(el)) continue;
  const fs = parseFloat(getComputedStyle(el).fontSize);
  if (fs < smallest[0]) smallest = [fs, el.textContent.trim().slice(0, 40)];
}
const shown = sel => [...document.querySelectorAll(sel)].filter(visible).length;
return {sh: s.scrollHeight, ih: innerHeight, sw: s.scrollWidth, iw: innerWidth,
  smallest: smallest, controls: shown('.pantau-main button:not(.pantau-kpi-open), .pantau-main input, .pantau-main select,'
  + ' .pantau-main .btn, .modebar-container, .pantau-filters, .pantau-main .dash-dropdown'),
  hints: shown('#overview-camera p')};
"""


@pytest.mark.parametrize(
    ("size", "paths"),
    [
        ((1920, 1080), None),
        ((3840, 2160), ("/", "/banjir", "/pengaduan")),
    ],
    ids=["1920x1080", "3840x2160"],
)
def test_wall_pages_fit_without_scrolling_or_controls(demo_app, size, paths):
    import dash

    base, _db, users = demo_app
    kiosk = [p["path"] for p in dash.page_registry.values() if p.get("kiosk")]
    assert {"/", "/lalu-lintas", "/banjir", "/keamanan", "/indikator-opd", "/pengaduan"} <= set(
        kiosk
    )
    scale = size[0] / 1920
    problems = []
    with browser(size) as driver:
        sign_in(driver, base, users["admin"])
        for path in paths or kiosk:
            errors = open_page(driver, base + path + KIOSK_QUERY)
            m = driver.execute_script(MEASURE)
            if m["sh"] > m["ih"] or m["sw"] > m["iw"]:
                problems.append(f"{path}: page {m['sw']}x{m['sh']} on a {m['iw']}x{m['ih']} wall")
            if m["smallest"][0] < WALL_MIN_PX * scale - 0.5:
                problems.append(f"{path}: {m['smallest'][0]} px text {m['smallest'][1]!r}")
            if m["controls"] or m["hints"]:
                problems.append(f"{path}: {m['controls']} controls, {m['hints']} hints shown")
            if errors:
                problems.append(f"{path}: console {errors[:2]}")
            # the charts are in the wall theme: light type on a transparent background
            colours = driver.execute_script(
                "return [...document.querySelectorAll('.js-plotly-plot .main-svg')]"
                ".map(s => s.style.background)"
            )
            assert all("255, 255, 255" not in c and c != "white" for c in colours), path
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", [*STAFF, "opd"])
def test_every_page_has_a_clean_console_for_each_role(demo_app, role):
    base, _db, users = demo_app
    problems = []
    with browser((1440, 900)) as driver:
        sign_in(driver, base, users[role])
        for path, roles in pages_by_role().items():
            if role not in roles:
                continue
            errors = open_page(driver, base + path)
            if errors:
                problems.append(f"{role} {path}: {errors[:2]}")
    assert not problems, "\n".join(problems)


def test_phone_pages_have_no_horizontal_scroll(demo_app):
    base, _db, users = demo_app
    table = pages_by_role()
    problems = []
    with browser((390, 844)) as driver:
        for role in ("admin", "opd"):  # the admin sees every staff page; the OPD its own
            sign_in(driver, base, users[role])
            for path, roles in table.items():
                if role not in roles or (role == "opd" and "admin" in roles):
                    continue
                errors = open_page(driver, base + path)
                m = driver.execute_script(MEASURE)
                if m["sw"] > m["iw"]:
                    problems.append(f"{role} {path}: {m['sw']} px wide on a 390 px phone")
                if errors:
                    problems.append(f"{role} {path}: console {errors[:2]}")
        # the situation room on a phone: the alerts come before the headline tiles
        sign_in(driver, base, users["pimpinan"])
        open_page(driver, base + "/")
        wait_for(driver, "#overview-alerts .pantau-alert", 20)
        alerts_y, tiles_y = driver.execute_script(
            "return [document.getElementById('overview-alerts').getBoundingClientRect().top,"
            " document.getElementById('overview-tiles').getBoundingClientRect().top]"
        )
        assert alerts_y < tiles_y
        first = driver.find_element("css selector", "#overview-alerts .pantau-alert")
        assert "sev-critical" in first.get_attribute("class")  # the seeded siaga leads
    assert not problems, "\n".join(problems)


def test_new_siaga_alert_flashes_the_wall_with_the_camera_picture(demo_app):
    from sqlalchemy import select

    from store.models import Alert, Camera

    base, database, users = demo_app
    with browser((1920, 1080)) as driver:
        sign_in(driver, base, users["operator"])
        open_page(driver, base + "/" + KIOSK_QUERY + "&alertpoll=2")
        time.sleep(3)  # the first poll: the alerts already open do not flash
        assert not driver.find_elements("css selector", "#pantau-wall-alert")
        with database.session() as s:
            cam = s.scalars(select(Camera).where(Camera.code == "PLG-BKB-01")).one()
            s.add(
                Alert(
                    rule="flood_coverage", severity="critical", subject_type="camera",
                    subject_id=cam.code, camera_id=cam.id, title="Uji siaga di BKB",
                    started_at=datetime.now(UTC),
                )
            )  # fmt: skip
        box = wait_for(driver, "#pantau-wall-alert", 15)
        assert "Uji siaga di BKB" in box.text
        img = driver.find_element("css selector", "#pantau-wall-alert-live")
        assert "PLG-BKB-01" in img.get_attribute("src")
        assert driver.execute_script(
            "return document.documentElement.classList.contains('pantau-wall-flash')"
            " && window.pantau.kiosk.paused === true"
        )
        # shown again after the rotation loads the next page? no: seen ids are remembered
        open_page(driver, base + "/banjir" + KIOSK_QUERY + "&alertpoll=2")
        time.sleep(3)
        assert not driver.find_elements("css selector", "#pantau-wall-alert")
