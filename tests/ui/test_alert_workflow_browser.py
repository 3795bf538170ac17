"""The alert response workflow in headless Chromium (issue 12): an operator opens an alert from
the list, acknowledges it, assigns it to an OPD, ticks a SOP step, adds a note, resolves it and
sees the timeline; the OPD's staff then see it in their list. Screenshots at 1440x900 and
390x844 go to screenshots/ (git-ignored) for a person to look at.
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
    ensure_user,
    login,
    running_app,
    severe_console,
    wait_for,
    wait_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    reason = browser_available()
    if reason:
        require_service("Chromium", reason)
    from pantau.settings import Settings
    from store.db import Database
    from store.seed import DemoSpec, seed_demo

    var = tmp_path_factory.mktemp("ui-alerts") / "var"
    settings = Settings(var_dir=var, secret_key="ui-test", ingest_enabled=False, map_tile_url="")
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_demo(s, DemoSpec(days=3, raw_hours=6, complaints_per_day=6))
    with running_app(settings, database) as base:
        yield base, database, settings
    database.dispose()


def _pick(driver, dropdown_id: str, text: str) -> None:
    """Choose the option containing ``text`` in a Dash 4 dropdown."""
    from selenium.webdriver.common.keys import Keys

    _click(driver, f"#{dropdown_id}")
    wait_for(driver, "[role=option]", 10)
    options = driver.find_elements("css selector", "[role=option]")
    next(o for o in options if text in o.text).click()
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    time.sleep(0.2)


def _click(driver, css_or_el) -> None:
    """Scroll the element to the middle of the window (clear of the sticky navbar), click."""
    el = driver.find_element("css selector", css_or_el) if isinstance(css_or_el, str) else css_or_el
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    time.sleep(0.1)
    el.click()


def test_operator_works_an_alert_through_and_opd_sees_it(demo_app):
    base, database, _settings = demo_app
    from store.models import Alert, AlertEvent, Opd

    SHOTS.mkdir(exist_ok=True)
    with chrome_driver((1440, 900)) as driver:
        login(driver, base, database, role="operator")
        driver.get(base + "/peringatan")
        wait_for(driver, "#alerts-table a")
        rows = driver.find_elements("css selector", "#alerts-table tbody tr")
        with database.session() as s:  # the demo's open alerts (its past ones are resolved):
            # three on cameras, plus one per river sensor the seed left at waspada or above
            n_open = s.scalar(
                select(func.count()).select_from(Alert).where(Alert.status != "resolved")
            )
        assert len(rows) == n_open >= 3
        link = next(
            a
            for a in driver.find_elements("css selector", "#alerts-table a")
            if a.text.startswith("Genangan")
        )
        href = link.get_attribute("href")
        alert_id = int(href.rsplit("/", 1)[1])
        driver.save_screenshot(str(SHOTS / "alerts-list-desktop.png"))
        link.click()
        assert wait_text(driver, "#alert-status", lambda t: t.strip() != "") == "Baru"

        _click(driver, "#alert-act-ack")
        wait_text(driver, "#alert-status", lambda t: t == "Diterima")
        assert not driver.find_element("css selector", "#alert-act-ack").is_enabled()

        _pick(driver, "alert-act-opd", "BPBD")
        _click(driver, "#alert-act-assign")
        wait_text(driver, "#alert-status", lambda t: t == "Ditugaskan")
        assert "BPBD" in driver.find_element("css selector", "#alert-assigned").text

        sop = driver.find_element("css selector", "#alert-sop").text
        assert "0 dari 5 selesai" in sop  # data/sop_templates.json: five flood steps
        _click(driver, driver.find_elements("css selector", "#alert-sop button")[0])
        done = wait_text(driver, "#alert-sop", lambda t: "1 dari 5 selesai" in t)
        assert "uji_operator" in done

        _click(driver, "#alert-opd-note")
        driver.find_element("css selector", "#alert-opd-note").send_keys("Pompa BPBD menuju lokasi")
        _click(driver, "#alert-opd-note-save")
        wait_text(driver, "#alert-timeline", lambda t: "Pompa BPBD menuju lokasi" in t)

        _pick(driver, "alert-act-outcome", "Ditangani di lokasi")
        driver.find_element("css selector", "#alert-act-res-note").send_keys("Air surut")
        _click(driver, "#alert-act-resolve")
        wait_text(driver, "#alert-status", lambda t: t == "Selesai")
        dash_idle(driver)
        timeline = driver.find_element("css selector", "#alert-timeline").text
        for entry in (
            "Peringatan dibuka (SIAGA)",
            "Diterima",
            "Ditugaskan ke BPBD",
            "Langkah SOP dicentang",
            "Catatan",
            "Diselesaikan: Ditangani di lokasi",
        ):
            assert entry in timeline, entry
        assert (
            "Ditangani di lokasi" in driver.find_element("css selector", "#alert-resolution").text
        )
        # resolved: the action buttons are off, and the SOP has no tick buttons any more
        for bid in ("alert-act-assign", "alert-act-escalate", "alert-act-resolve"):
            assert not driver.find_element("css selector", f"#{bid}").is_enabled(), bid
        assert not driver.find_elements("css selector", "#alert-sop button")
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(SHOTS / "alert-detail-desktop.png"))
        assert not severe_console(driver)

        # English
        driver.get(base + f"/lang/en?next=/peringatan/{alert_id}")
        wait_text(driver, "#alert-status", lambda t: t == "Resolved")
        text = driver.find_element("css selector", "body").text
        assert "SOP checklist" in text and "Timeline" in text and "Handled on site" in text
        driver.get(base + "/lang/id?next=/waktu-respons")
        wait_for(driver, "#response-kind-table")
        driver.save_screenshot(str(SHOTS / "response-times-desktop.png"))

    with database.session() as s:
        a = s.get(Alert, alert_id)
        assert (a.status, a.outcome, a.outcome_note) == ("resolved", "handled", "Air surut")
        assert s.get(Opd, a.assigned_opd_id).code == "BPBD"
        types = list(
            s.scalars(
                select(AlertEvent.type)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(AlertEvent.id)
            )
        )
        assert types == ["opened", "acknowledged", "assigned", "sop_tick", "note", "resolved"]
        bpbd = s.scalar(select(Opd.id).where(Opd.code == "BPBD"))
        # the demo's past alerts include some BPBD worked on (store/demo_alerts.py)
        n_bpbd = len(list(s.scalars(select(Alert.id).where(Alert.assigned_opd_id == bpbd))))
        other = s.scalar(
            select(Alert.id).where(
                (Alert.assigned_opd_id != bpbd) | Alert.assigned_opd_id.is_(None)
            )
        )

    # BPBD staff: their list has this alert only, the others answer "not found"
    with database.session() as s:
        from store import users

        if users.get_by_username(s, "uji_bpbd") is None:
            from tests.ui.harness import PASSWORD

            users.create_user(s, "uji_bpbd", PASSWORD, "opd", opd_id=bpbd, actor="test")
    with chrome_driver((390, 844)) as phone:
        login(phone, base, database, role="opd", username="uji_bpbd")
        phone.get(base + "/peringatan")
        wait_for(phone, "#alerts-status")
        phone.find_element("css selector", "#alerts-status").click()
        wait_for(phone, "[role=option]", 10)
        next(
            o for o in phone.find_elements("css selector", "[role=option]") if o.text == "Semua"
        ).click()
        wait_text(phone, "#alerts-count", lambda t: t == f"{n_bpbd} peringatan")
        wait_for(phone, f"#alerts-row-{alert_id}")
        phone.get(base + f"/peringatan/{alert_id}")
        wait_text(phone, "#alert-status", lambda t: t == "Selesai")
        assert not phone.find_elements("css selector", "#alert-act-ack")  # no operator actions
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 392, width
        phone.save_screenshot(str(SHOTS / "alert-detail-phone-opd.png"))
        phone.get(base + f"/peringatan/{other}")
        wait_for(phone, "#alert-missing")

    with chrome_driver((390, 844)) as phone:
        login(phone, base, database, role="operator")
        phone.get(base + f"/peringatan/{alert_id}")
        wait_text(phone, "#alert-status", lambda t: t == "Selesai")
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 392, width
        phone.save_screenshot(str(SHOTS / "alert-detail-phone.png"))
        phone.get(base + "/peringatan")
        wait_for(phone, "#alerts-table")
        phone.save_screenshot(str(SHOTS / "alerts-list-phone.png"))
    assert ensure_user  # the harness creates the staff users


def test_admin_edits_a_sop_and_the_alert_shows_it(demo_app):
    base, database, _settings = demo_app
    from store.models import Alert

    with database.session() as s:
        offline = s.scalar(select(Alert.id).where(Alert.rule == "camera_offline"))
    with chrome_driver((1440, 900)) as driver:
        login(driver, base, database, role="admin")
        driver.get(base + "/admin/sop")
        wait_text(driver, "#admin-sop-source", lambda t: "sop_templates.json" in t)
        _pick(driver, "admin-sop-kind", "camera_offline")
        wait_text(driver, "#admin-sop-source", lambda t: "sop_templates.json" in t)
        box = driver.find_element("css selector", "#admin-sop-text")
        time.sleep(0.5)
        assert box.get_attribute("value").startswith("check | Periksa status jaringan")
        from selenium.webdriver.common.keys import Keys

        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys("listrik | Cek listrik tiang | Check the pole's power\n"
                      "tiket | Buat tiket ke Diskominfo | Ticket to Diskominfo")  # fmt: skip
        _click(driver, "#admin-sop-save")
        wait_text(driver, "#admin-sop-msg", lambda t: "2 langkah" in t)
        driver.save_screenshot(str(SHOTS / "admin-sop-desktop.png"))
        driver.get(base + f"/peringatan/{offline}")
        sop = wait_text(driver, "#alert-sop", lambda t: "0 dari 2 selesai" in t)
        assert "Cek listrik tiang" in sop and "Buat tiket ke Diskominfo" in sop
        assert not severe_console(driver)
