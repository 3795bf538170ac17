"""Browser test (real headless Chromium): a Dishub staff member signs in, lands on the OPD
follow-up page, sees only the reports dispatched to Dishub (not PUPR's), is refused without a
note, and follows one report up to resolved; the English toggle translates the page."""

from __future__ import annotations

import time

import pytest
from complaints_helpers import report

from store import users
from store.complaints import ComplaintService
from store.models import Complaint, ComplaintStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow]

S = ComplaintStatus
STAFF = ("dishub.budi", "Dishub-Uji-Sandi-2026")


def test_opd_staff_follow_up_own_report_to_resolved(
    csettings, sqlite_seeded, live_server, driver, tmp_path
):
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    db = sqlite_seeded
    svc = ComplaintService(db, csettings)
    tracking = {}
    with db.session() as s:
        dishub, pupr = users.find_opd(s, "DISHUB").id, users.find_opd(s, "PUPR").id
        users.create_user(s, *STAFF, "opd", full_name="Budi Dishub", opd_id=dishub)
    for key, category, opd, extra in (
        ("lamp", "traffic_light", dishub, {"reporter_name": "Sari Warga"}),
        (
            "parking",
            "illegal_parking",
            dishub,
            {"privacy": "anonymous", "reporter_name": "Rahasia Sekali"},
        ),  # fmt: skip
        ("road", "road_damage", pupr, {}),
    ):
        c = svc.submit(report(category=category, **extra)).complaint
        svc.transition(c.id, S.VERIFIED, actor="opr.test")
        svc.transition(c.id, S.DISPATCHED, actor="opr.test", opd_id=opd)
        tracking[key] = c.tracking_id

    wait = WebDriverWait(driver, 20)
    base = live_server.url

    def by_id(element_id: str):
        return wait.until(ec.presence_of_element_located((By.ID, element_id)))

    def text_of(element_id: str) -> str:
        return driver.find_element(By.ID, element_id).text

    def click(element):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        time.sleep(0.15)
        try:
            element.click()
        except ElementClickInterceptedException:
            driver.execute_script("arguments[0].click()", element)

    driver.get(base + "/masuk")
    by_id("login-username").send_keys(STAFF[0])
    by_id("login-password").send_keys(STAFF[1])
    click(by_id("login-submit"))
    wait.until(ec.url_contains("/opd/pengaduan"))  # OPD staff start on their own page
    wait.until(lambda d: "2 laporan" in text_of("followup-count"))
    table = text_of("followup-table")
    assert tracking["lamp"] in table and tracking["parking"] in table
    assert tracking["road"] not in table  # PUPR's report
    assert "Dishub" in text_of("followup-title")
    nav = text_of("pantau-navbar")
    assert "Tindak Lanjut OPD" in nav and "Pengaduan" not in nav and "Ruang Situasi" not in nav

    def select(key: str):
        rows = driver.find_elements(By.CSS_SELECTOR, "#followup-table tr")
        row = next(r for r in rows if tracking[key] in r.text)
        click(row.find_element(By.CSS_SELECTOR, "td.dash-select-cell input"))
        wait.until(lambda d: tracking[key] in text_of("followup-detail"))

    select("parking")
    assert "dirahasiakan" in text_of("followup-detail")
    assert "Rahasia Sekali" not in driver.page_source
    select("lamp")
    assert "Sari Warga" in text_of("followup-detail")
    click(by_id("followup-start"))  # no note: refused with the reason, nothing changes
    wait.until(lambda d: "Catatan tindak lanjut wajib diisi" in text_of("followup-feedback"))
    by_id("followup-note").send_keys("Tim teknis dijadwalkan besok pagi")
    click(by_id("followup-start"))
    wait.until(lambda d: "Ditindaklanjuti" in text_of("followup-feedback"))
    select("lamp")
    by_id("followup-note").send_keys("Lampu lalu lintas sudah diperbaiki")
    click(by_id("followup-resolve"))
    wait.until(lambda d: "Selesai ditangani" in text_of("followup-feedback"))
    # resolved reports leave the to-do list; the history says who and what
    wait.until(lambda d: "1 laporan" in text_of("followup-count"))
    click(driver.find_element(By.CSS_SELECTOR, "#followup-view input[value='done']"))
    wait.until(lambda d: tracking["lamp"] in text_of("followup-table"))
    select("lamp")
    history = text_of("followup-history")
    assert "Lampu lalu lintas sudah diperbaiki" in history and STAFF[0] in history
    driver.save_screenshot(str(tmp_path / "opd-followup.png"))
    with db.session() as s:
        c = s.query(Complaint).filter_by(tracking_id=tracking["lamp"]).one()
        assert c.status == S.RESOLVED and c.followed_up_at is not None
        assert s.query(Complaint).filter_by(tracking_id=tracking["road"]).one().status == (
            S.DISPATCHED
        )

    # the operator's queue is not theirs, and English is one click away
    driver.get(base + "/pengaduan/antrian")
    by_id("forbidden-page")
    driver.get(base + "/lang/en?next=/opd/pengaduan")
    wait.until(lambda d: "Complaint follow-up" in text_of("followup-title"))
    assert "Agency Follow-up" in text_of("pantau-navbar")
