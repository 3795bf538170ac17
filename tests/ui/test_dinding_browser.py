"""The video wall (``/dinding``) in headless Chromium with live tiles: cameras whose stream is
the test video (protocol ``file``) on the real app, frame hubs and waitress.

Checks: every tile's <img> receives pictures (naturalWidth > 0) that change over time and show
their age; no severe console errors; no vertical scroll at 1920x1080 on any layout, one column
on a 390 px phone; a click enlarges a tile and the back button returns; the rotation moves on
and pauses. Screenshots of each layout and the phone go to ``$PANTAU_SCREENSHOTS`` (default
the test's temp folder)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import require_service
from tests.ui import harness
from tests.ui.harness import browser_available, chrome_driver, dash_idle, login, wait_for

VIDEO = Path(__file__).resolve().parents[1] / "data" / "vtest_trim.avi"
#: ports of this test's server (the video wall engineer's range)
PORTS = iter(range(18540, 18560))
LAYOUTS = {"1": 1, "2x2": 4, "3x3": 9, "4x4": 16}


@pytest.fixture(scope="module")
def wall_app(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store import wall_groups
    from store.db import Database
    from store.models import Camera
    from store.seed import seed_reference

    var = tmp_path_factory.mktemp("dinding") / "var"
    settings = Settings(
        var_dir=var, database_url="", secret_key="dinding-test", ingest_enabled=False,
        simulate_cameras=0, map_tile_url="", camera_media_dir=str(VIDEO.parent),
        wall_stream_fps=3, wall_tile_fps=2, wall_stream_width=480,
    )  # fmt: skip
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    with db.session() as s:
        seed_reference(s)
        private = list(
            s.scalars(
                select(Camera.code)
                .where(Camera.is_public.is_(False), Camera.enabled.is_(True))
                .order_by(Camera.name)
            )
        )
        assert len(private) >= 4, "the reference cameras need four non-public ones"
        # every enabled camera plays the test video (the public ones through the blur)
        s.execute(update(Camera).values(stream_url=str(VIDEO), protocol="file"))
        group = wall_groups.save_group(s, "Uji dinding", private[:4], "test")
        gid = group.id
    harness.free_port = lambda: next(PORTS)  # type: ignore[assignment]
    with harness.running_app(settings, db, threads=24) as base:
        yield base, db, gid, private[:4]
    db.dispose()


def shots_dir(tmp_path: Path) -> Path:
    path = Path(os.environ.get("PANTAU_SCREENSHOTS") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def tiles(driver) -> list[dict]:
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('#dinding-grid [data-code]')).map(t => {
            const img = t.querySelector('img'); const r = t.getBoundingClientRect();
            return {code: t.dataset.code, w: img.naturalWidth, src: img.getAttribute('src') || '',
                    state: t.dataset.state || '', age: t.querySelector('.dinding-age').textContent,
                    left: Math.round(r.left), top: Math.round(r.top), width: r.width};
        });"""
    )


def wait_tiles(driver, n: int, timeout: float = 60, live: bool = True) -> list[dict]:
    deadline = time.monotonic() + timeout
    got: list[dict] = []
    while time.monotonic() < deadline:
        got = tiles(driver)
        if len(got) == n and (not live or all(t["w"] > 0 for t in got)):
            return got
        time.sleep(0.5)
    raise AssertionError(f"{n} live tiles expected, got {got}")


def click_tile(driver, index: int) -> None:
    """Click a tile; the wall re-renders its tiles every few seconds (status, alerts), so a
    tile found just before may be gone: find it again."""
    from selenium.common.exceptions import StaleElementReferenceException

    for attempt in range(5):
        try:
            driver.find_elements("css selector", "#dinding-grid [data-code]")[index].click()
            return
        except StaleElementReferenceException:
            if attempt == 4:
                raise
            time.sleep(0.3)


def scroll(driver) -> dict:
    return driver.execute_script(
        "return {h: document.documentElement.scrollHeight, ih: window.innerHeight,"
        " w: document.documentElement.scrollWidth, iw: window.innerWidth};"
    )


def test_live_tiles_receive_changing_pictures_and_enlarge(wall_app, tmp_path):
    base, db, gid, codes = wall_app
    with chrome_driver((1920, 1080)) as driver:
        login(driver, base, db, "operator")
        driver.get(f"{base}/dinding?layout=2x2&group=custom:{gid}&every=600")
        wait_for(driver, "#dinding-grid [data-code]")
        first = wait_tiles(driver, 4)
        assert [t["code"] for t in first] == codes  # the saved group, in its order
        time.sleep(3)
        later = wait_tiles(driver, 4)
        for a, b in zip(first, later, strict=True):
            assert b["w"] > 0 and b["src"].startswith("blob:")
            assert b["src"] != a["src"], "the picture did not change"
            assert b["state"] == "live"
            assert b["age"].endswith("s lalu"), b["age"]  # e.g. "0 s lalu"
        text = driver.find_element("css selector", "#dinding-status").text
        assert "Halaman 1/1" in text and "4 kamera" in text
        # a click enlarges the tile, the back button returns to the wall
        click_tile(driver, 2)
        one = wait_tiles(driver, 1)
        assert one[0]["code"] == codes[2]
        assert one[0]["width"] > 1800  # the whole width of the wall
        driver.find_element("css selector", "#dinding-back").click()
        assert [t["code"] for t in wait_tiles(driver, 4)] == codes
        assert not harness.severe_console(driver)


def test_every_layout_fits_1920x1080_without_scrolling(wall_app, tmp_path):
    base, db, _gid, _codes = wall_app
    out = shots_dir(tmp_path)
    with chrome_driver((1920, 1080)) as driver:
        login(driver, base, db, "operator")
        for layout, n in LAYOUTS.items():
            driver.get(f"{base}/dinding?layout={layout}&every=600")
            wait_for(driver, "#dinding-grid [data-code]")
            got = wait_tiles(driver, n, live=False)
            dash_idle(driver)
            time.sleep(4 if n > 4 else 2)  # pictures arrive (public ones after their blur)
            size = scroll(driver)
            assert size["h"] <= size["ih"], (layout, size)
            assert size["w"] <= size["iw"], (layout, size)
            assert len({t["left"] for t in got}) == (1 if n == 1 else int(n**0.5))
            driver.save_screenshot(str(out / f"dinding-{layout}.png"))
        driver.get(f"{base}/dinding?kiosk=1&layout=3x3&every=600")
        wait_tiles(driver, 9, live=False)
        time.sleep(3)
        size = scroll(driver)
        assert size["h"] <= size["ih"], size
        assert not driver.find_element("css selector", ".dinding-controls").is_displayed()
        driver.save_screenshot(str(out / "dinding-kiosk-3x3.png"))
        assert not harness.severe_console(driver)


def test_a_phone_stacks_the_tiles_in_one_column(wall_app, tmp_path):
    base, db, _gid, _codes = wall_app
    with chrome_driver((390, 844)) as driver:
        login(driver, base, db, "operator")
        driver.get(f"{base}/dinding?layout=3x3&every=600")
        got = wait_tiles(driver, 9, live=False)
        assert len({t["left"] for t in got}) == 1  # one column
        assert all(t["width"] <= 390 for t in got)
        size = scroll(driver)
        assert size["w"] <= size["iw"], size  # no horizontal scroll
        time.sleep(2)
        driver.save_screenshot(str(shots_dir(tmp_path) / "dinding-phone.png"))
        assert not harness.severe_console(driver)


def test_the_rotation_moves_on_and_pauses(wall_app):
    base, db, gid, codes = wall_app
    with chrome_driver((1920, 1080)) as driver:
        login(driver, base, db, "operator")
        driver.get(f"{base}/dinding?layout=1&group=custom:{gid}&every=5")
        first = wait_tiles(driver, 1, live=False)[0]["code"]
        assert first == codes[0]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and wait_tiles(driver, 1, live=False)[0]["code"] == first:
            time.sleep(0.5)
        second = wait_tiles(driver, 1, live=False)[0]["code"]
        assert second == codes[1]  # the next page of the group
        driver.find_element("css selector", "#dinding-pause").click()
        dash_idle(driver)
        assert "dijeda" in driver.find_element("css selector", "#dinding-status").text
        time.sleep(7)  # longer than the period: paused, the page stays
        assert wait_tiles(driver, 1, live=False)[0]["code"] == second
