"""Real browser (headless Chromium): sign-in through the form, the user menu and sign-out, the
403 page, and the public CCTV page with its blurred pictures and one live stream."""

from __future__ import annotations

import time

import pytest
from access_helpers import browser_login, credentials

from store import users

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS = "<img src=x onerror=alert('xss')>Bu <b>Wali</b>"


def wait_for(driver, condition, timeout: float = 20.0, what: str = ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition(driver)
            if last:
                return last
        except Exception as exc:  # element not there yet
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}: {last!r}")


def no_alert(driver) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        _ = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def test_sign_in_menu_forbidden_and_sign_out(live_server, driver):
    from selenium.webdriver.common.by import By

    env, base = live_server.env, live_server.url
    with env.db.session() as s:
        users.get_by_username(s, credentials("operator")[0]).full_name = XSS
    # a staff page sends the anonymous visitor to the sign-in page, remembering where to go
    driver.get(base + "/pengaduan/antrian")
    wait_for(driver, lambda d: "/masuk?next=" in d.current_url, what="redirect to /masuk")
    wait_for(driver, lambda d: d.find_element(By.ID, "login-form"), what="login form")
    assert "Masuk ke Ruang Situasi" in driver.page_source
    browser_login(driver, base, env.db, "operator")
    # the user menu shows the name as text (the injected markup does not run)
    name = wait_for(driver, lambda d: d.find_element(By.ID, "user-menu-name"), what="user menu")
    assert name.get_attribute("textContent") == XSS
    assert no_alert(driver)
    role = driver.find_element(By.ID, "user-menu-role").get_attribute("textContent")
    assert role == "Operator"
    nav = driver.find_element(By.ID, "pantau-navbar").get_attribute("textContent")
    assert "Audit" not in nav and "Pengguna" not in nav  # admin links hidden from operators
    # a page of another role: the 403 page
    driver.get(base + "/admin/audit")
    wait_for(driver, lambda d: d.find_element(By.ID, "forbidden-page"), what="403 page")
    assert "Akses ditolak" in driver.page_source
    # sign out through the navbar form
    driver.execute_script("document.getElementById('user-menu-logout').click()")
    wait_for(driver, lambda d: "e=out" in d.current_url, what="signed out")
    wait_for(driver, lambda d: "Anda telah keluar" in d.page_source, what="sign-out message")
    driver.get(base + "/pengaduan/antrian")
    wait_for(driver, lambda d: "/masuk" in d.current_url, what="signed out for real")


def test_wrong_password_message(live_server, driver):
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(live_server.url + "/masuk")
    wait_for(driver, lambda d: d.find_element(By.ID, "login-username"), what="form")
    driver.find_element(By.ID, "login-username").send_keys(credentials("analis")[0])
    driver.find_element(By.ID, "login-password").send_keys("definitely-wrong")
    driver.find_element(By.ID, "login-submit").click()
    alert = wait_for(driver, lambda d: d.find_element(By.ID, "login-alert"), what="error")
    assert alert.text == "Nama pengguna atau kata sandi salah."


def test_public_cctv_page(live_server, driver):
    from selenium.webdriver.common.by import By

    env, base = live_server.env, live_server.url
    driver.delete_all_cookies()
    driver.get(base + "/cctv")
    wait_for(driver, lambda d: d.find_element(By.ID, "cctv-grid"), what="grid")
    nav = driver.find_element(By.ID, "pantau-navbar").get_attribute("textContent")
    assert "CCTV Publik" in nav and "Masuk" in nav
    assert "Ruang Situasi" not in nav and "Pengaduan" not in nav.replace("Lapor", "")
    html = driver.page_source
    assert env.private_code not in html  # nothing about non-public cameras
    # the thumbnail of the camera with a picture loads (blurred, from /api/public)
    loaded = wait_for(
        driver,
        lambda d: d.execute_script(
            "const i=[...document.querySelectorAll('img.cctv-thumb')]"
            ".find(x => x.src.includes(arguments[0])); return i && i.naturalWidth",
            env.public_code,
        ),
        what="thumbnail",
    )
    assert loaded > 0
    # the map shows the public cameras
    wait_for(
        driver,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cctv-map .leaflet-marker-icon")) > 0,
        what="markers",
    )
    # watch one camera live (keep-alives every second: a viewer who left is noticed quickly)
    from dashboard.api import public

    with env.app.server.app_context():
        public.hub().keepalive_s = 1.0
    button = driver.find_element(
        By.XPATH, f"//button[contains(@id, '{env.public_code}') and contains(@id, 'cctv-live')]"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_for(
        driver,
        lambda d: d.execute_script(
            "const i=document.getElementById('cctv-modal-img');"
            "return i && i.src.includes('/api/public/stream/') && i.naturalWidth"
        ),
        what="live picture",
    )
    hub = env.app.server.extensions["pantau_hub"]
    assert hub.viewers(env.public_code) == 1
    # closing the dialog ends the stream and frees the slot
    driver.find_element(By.CSS_SELECTOR, "#cctv-modal .btn-close").click()
    wait_for(driver, lambda d: hub.viewers(env.public_code) == 0, what="slot freed", timeout=15)
