"""Browser test (real headless Chromium): a citizen submits a report on the public form with a
map click, looks it up by tracking ID, and an operator signs in and takes it through the
workflow on the queue page to resolved; then the statistics page shows it."""

from __future__ import annotations

import time

import pytest
from complaints_helpers import OPERATOR

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_public_report_to_resolved(live_server, driver, tmp_path):
    from selenium.common.exceptions import ElementClickInterceptedException, TimeoutException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(driver, 20)
    base = live_server.url

    def click(element):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        time.sleep(0.15)
        try:
            element.click()
        except ElementClickInterceptedException:  # a sticky header or toast on top
            driver.execute_script("arguments[0].click()", element)

    def by_id(element_id: str):
        return wait.until(ec.presence_of_element_located((By.ID, element_id)))

    def text_of(element_id: str) -> str:
        return driver.find_element(By.ID, element_id).text

    # --- the citizen ---------------------------------------------------------------------
    driver.get(base + "/lapor")
    Select(by_id("lapor-category")).select_by_value("road_damage")
    click(by_id("lapor-submit"))  # empty description: refused with a message, nothing stored
    wait.until(lambda d: "Isi laporan wajib diisi" in text_of("lapor-feedback"))
    # markup that would set window.__xss if it ever ran (inline handler, script, svg)
    description = (
        "Lubang besar <img src=x onerror=\"window.__xss='img'\"><script>window.__xss='script'"
        "</script><svg onload=\"window.__xss='svg'\"></svg> di lajur kiri Jl. Sudirman"
    )
    by_id("lapor-description").send_keys(description)
    map_el = by_id("lapor-map")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", map_el)
    for _attempt in range(3):  # Leaflet may still be settling after the scroll
        time.sleep(0.5)
        ActionChains(driver).move_to_element_with_offset(map_el, 20, 10).click().perform()
        try:
            WebDriverWait(driver, 4).until(lambda d: "-2." in text_of("lapor-coords"))
            break
        except TimeoutException:
            driver.save_screenshot(str(tmp_path / "map-click.png"))
    assert "-2." in text_of("lapor-coords"), text_of("lapor-coords")
    click(driver.find_element(By.CSS_SELECTOR, "input[value='anonymous']"))
    by_id("lapor-name").send_keys("Rahasia Sekali")
    click(by_id("lapor-submit"))
    tracking = by_id("lapor-tracking-id").text.strip()
    assert tracking.startswith("LPR-") and len(tracking) == 17
    assert driver.find_element(By.ID, "lapor-submit").get_attribute("disabled") is not None
    driver.save_screenshot(str(tmp_path / "1-submitted.png"))

    driver.get(f"{base}/lapor/status?id={tracking.lower()}")
    assert by_id("laporstatus-description").text == description  # markup shown as text
    time.sleep(0.5)  # an image error or svg load would have fired by now
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert "Rahasia Sekali" not in driver.page_source
    assert by_id("laporstatus-status").text == "Baru"

    # --- the operator ----------------------------------------------------------------------
    driver.get(base + "/pengaduan/antrian")
    wait.until(ec.url_contains("/masuk"))
    by_id("login-username").send_keys(OPERATOR[0])
    by_id("login-password").send_keys(OPERATOR[1])
    click(by_id("login-submit"))
    wait.until(ec.url_contains("/pengaduan/antrian"))
    search = by_id("queue-search")
    search.send_keys(tracking + "\n")
    wait.until(
        lambda d: tracking in text_of("queue-table") and "1 laporan" in text_of("queue-count")
    )

    def select_row():
        box = wait.until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, "#queue-table td.dash-select-cell input"))
        )
        click(box)
        wait.until(lambda d: tracking in text_of("queue-detail"))

    def act(button: str, expect: str, note: str | None = None):
        select_row()
        if note:
            by_id("queue-note").send_keys(note)
        click(by_id(button))
        wait.until(lambda d: expect in text_of("queue-feedback"))

    select_row()
    assert "Identitas disembunyikan" in text_of("queue-detail")  # anonymous: hidden here too
    assert description in text_of("queue-detail")
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    click(by_id("queue-reject"))  # no note: refused with the reason
    wait.until(lambda d: "Catatan wajib diisi" in text_of("queue-feedback"))
    act("queue-verify", "Terverifikasi")
    # dispatch: the OPD for the category (Dinas PUPR) is preselected
    select_row()
    wait.until(
        lambda d: (
            "PUPR" in Select(d.find_element(By.ID, "queue-dispatch-opd")).first_selected_option.text
        )
    )
    click(by_id("queue-dispatch"))
    wait.until(lambda d: "Diteruskan ke OPD" in text_of("queue-feedback"))
    act("queue-progress", "Ditindaklanjuti")
    act("queue-resolve", "Selesai ditangani", note="Lubang sudah ditambal")
    driver.save_screenshot(str(tmp_path / "2-resolved.png"))

    driver.get(f"{base}/lapor/status?id={tracking}")
    assert by_id("laporstatus-status").text == "Selesai ditangani"
    history = by_id("laporstatus-history").text
    assert "Lubang sudah ditambal" in history and OPERATOR[0] not in history

    driver.get(base + "/pengaduan")
    wait.until(lambda d: "Laporan masuk" in text_of("complaints-kpis"))
    assert "1" in text_of("complaints-kpis")
    rects = driver.find_elements(By.CSS_SELECTOR, "#complaints-map path.leaflet-interactive")
    assert rects, "the heatmap cell of the report is drawn"


def test_photo_over_the_limit_is_refused_in_the_browser(live_server, driver, tmp_path, csettings):
    """A photo over PANTAU_UPLOAD_MAX_BYTES never leaves the browser (a request over the
    server's body limit would answer 413 and leave the form silent) and the reporter is told
    it was not attached; one under the limit is taken and named."""
    import cv2
    import numpy as np
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 20)
    big = tmp_path / "besar.png"
    noise = np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    big.write_bytes(cv2.imencode(".png", noise)[1].tobytes())
    assert big.stat().st_size > csettings.upload_max_bytes
    small = tmp_path / "kecil.png"
    small.write_bytes(cv2.imencode(".png", np.zeros((40, 60, 3), np.uint8))[1].tobytes())
    driver.get(live_server.url + "/lapor")
    upload = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#lapor-photo input")))
    upload.send_keys(str(big))
    wait.until(
        lambda d: (
            "Foto terlalu besar (maksimal 0.2 MB) dan tidak dilampirkan"
            in d.find_element(By.ID, "lapor-photo-refused").text
        )
    )
    assert "besar.png" not in driver.find_element(By.ID, "lapor-photo-name").text
    upload.send_keys(str(small))
    wait.until(lambda d: "kecil.png" in d.find_element(By.ID, "lapor-photo-name").text)
    assert driver.find_element(By.ID, "lapor-photo-refused").text == ""
    # the request the browser would have sent had it taken the photo: refused as JSON
    logs = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('_dash-update-component')).length"
    )
    assert logs >= 1  # the small photo's callback ran
