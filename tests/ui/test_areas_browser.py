"""Kecamatan boundaries in headless Chromium: the outline layer of the staff maps (from
/api/areas.geojson) and the "per kecamatan" choropleth of the flood page."""

from __future__ import annotations

import time

import pytest

from tests.conftest import require_service
from tests.ui.harness import browser_available, chrome_driver, dash_idle, login, running_app

pytestmark = [pytest.mark.browser]

#: the demo kecamatan: the distinct kecamatan of data/cameras_palembang.csv
DEMO_KECAMATAN = 12


@pytest.fixture(scope="module")
def app_with_areas(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store.db import Database
    from store.seed import seed_demo_areas, seed_reference

    var = tmp_path_factory.mktemp("ui-areas") / "var"
    settings = Settings(var_dir=var, secret_key="ui-areas", ingest_enabled=False, map_tile_url="")
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_reference(s)
        assert seed_demo_areas(s) == DEMO_KECAMATAN
    with running_app(settings, database) as base:
        yield base, database
    database.dispose()


def paths(driver, css: str) -> list[dict]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(p => ({"
        "dash: p.getAttribute('stroke-dasharray'), fill: p.getAttribute('fill'),"
        "opacity: p.getAttribute('fill-opacity')}))",
        css,
    )


def wait_paths(driver, css: str, n: int, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while time.monotonic() < deadline:
        found = paths(driver, css)
        if len(found) >= n:
            return found
        time.sleep(0.3)
    return found


def test_outlines_and_choropleth_are_drawn(app_with_areas):
    base, database = app_with_areas
    with chrome_driver((1440, 900)) as d:
        login(d, base, database, role="analis")
        d.get(base + "/")
        dash_idle(d)
        outlines = wait_paths(d, "#overview-map path.leaflet-interactive[stroke-dasharray]", 12)
        # one dashed outline per demo kecamatan (the river is not dashed, cameras are circles)
        assert len(outlines) == DEMO_KECAMATAN
        assert {o["dash"] for o in outlines} == {"6 4"}
        d.get(base + "/banjir")
        dash_idle(d)
        # the choropleth's kecamatan (the river line is a path too, not dashed)
        shapes = wait_paths(
            d, "#flood-area-map path.leaflet-interactive[stroke-dasharray]", DEMO_KECAMATAN
        )
        assert len(shapes) == DEMO_KECAMATAN
        note = d.find_element("id", "flood-area-note").text
        assert "jam genangan" in note.lower() or "Jam genangan" in note
        assert "DEMO" in note
        # the tooltip names the kecamatan under the pointer
        from selenium.webdriver.common.action_chains import ActionChains

        target = d.find_elements(
            "css selector", "#flood-area-map path.leaflet-interactive[stroke-dasharray]"
        )[0]
        ActionChains(d).move_to_element(target).perform()
        time.sleep(0.5)
        tips = d.find_elements("css selector", "#flood-area-map .leaflet-tooltip")
        assert tips and "jam genangan" in tips[0].text
