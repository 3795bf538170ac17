"""Stored XSS, in a real browser (headless Chromium): markup typed by citizens, SMS senders,
whoever tries a sign-in name, or an admin's camera registry is shown as text everywhere.

Every payload would set ``window.__xss`` if it ran (``<img onerror>``, ``<svg onload>``,
``<script>``, a ``javascript:`` text); each page that shows the field is opened, the payload is
checked to be *visible as text* (so the field really is rendered there), and ``window.__xss``
must still be undefined, with no ``javascript:`` link on the page. Checked to fail: rendering the public status page's description in a real sink,
``html.Iframe(srcDoc=c.description)``, sets ``__xss`` in the frame and fails the first page
below. ``dcc.Markdown(..., dangerously_allow_html=True)`` turned out not to run any of these
payloads in Dash 4 (React drops inline handler strings; ``<script>`` and ``<iframe>`` do not
run there): the test then fails only because the text is no longer shown as typed.)"""

from __future__ import annotations

import time

import pytest
from access_helpers import TEST_OPD, browser_login, credentials, login_with

from store import users
from store.complaints import ComplaintService, NewComplaint
from store.models import Camera, ComplaintStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def payload(tag: str) -> str:
    return (
        f"{tag} <img src=x onerror=\"window.__xss='{tag}-img'\">"
        f"<svg onload=\"window.__xss='{tag}-svg'\"></svg>"
        f"<script>window.__xss='{tag}-script'</script>"
        f"<iframe srcdoc=\"<script>parent.window.__xss='{tag}-frame'</script>\"></iframe>"
    )


DESCRIPTION = "Jalan berlubang " + payload("DESC")
TITLE = payload("TITLE")[:200]
ADDRESS = "javascript:window.__xss='addr' " + payload("ADDR")[:250]
REPORTER = payload("NAME")[:200]
NOTE = payload("NOTE")
SMS_TEXT = payload("SMS")
CAMERA_NAME = payload("CAM")[:200]
FULL_NAME = payload("USER")[:200]
LOGIN_NAME = "<img src=x onerror=window.__xss=9>"  # lower case: the form normalises names


def wait_for(driver, condition, timeout: float = 20.0, what: str = ""):  # noqa: ANN001, ANN201
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


def shows_as_text(driver, *texts: str, what: str) -> None:  # noqa: ANN001
    """Wait until the plain words of every text are on the page (rendered as markup or not),
    give event handlers a moment, check nothing ran (in the page or a frame) and no javascript: link exists, then check
    the markup itself is visible as text."""

    def body(d) -> str:  # noqa: ANN001
        return d.execute_script("return document.body.innerText")

    words = [text.split("<", 1)[0].strip() or text for text in texts]
    wait_for(driver, lambda d: all(w in body(d) for w in words), what=f"{what}: {words}")
    time.sleep(0.6)  # image errors and svg loads fire asynchronously
    ran = driver.execute_script(  # this window and any same-origin frame on the page
        "const ws = [window, ...[...document.querySelectorAll('iframe')]"
        "  .map(f => { try { return f.contentWindow.document && f.contentWindow } "
        "              catch (e) { return null } })];"
        "return ws.filter(w => w && w.__xss !== undefined).map(w => String(w.__xss));"
    )
    assert ran == [], (what, ran)
    links = driver.execute_script(
        "return [...document.querySelectorAll('a[href]')]"
        ".filter(a => a.href.trim().toLowerCase().startsWith('javascript:')).length"
    )
    assert links == 0, what
    missing: list[str] = []

    def visible(d) -> bool:  # noqa: ANN001
        missing[:] = [text for text in texts if text not in body(d)]
        return not missing

    try:
        wait_for(driver, visible, timeout=5, what=f"{what}: payload shown as text")
    except AssertionError:
        raise AssertionError(f"{what}: not shown {missing}; page: {body(driver)[:1500]}") from None


def test_user_text_is_never_markup(live_server, driver):
    from selenium.webdriver.common.by import By

    env, base = live_server.env, live_server.url
    svc = ComplaintService(env.db, env.settings)
    c = svc.submit(
        NewComplaint(
            category="road_damage",
            description=DESCRIPTION,
            title=TITLE,
            address=ADDRESS,
            lat=-2.976,
            lon=104.745,
            reporter_name=REPORTER,
        ),
        actor="warga@test",
    ).complaint
    svc.transition(c.id, ComplaintStatus.VERIFIED, actor="uji.operator", note=NOTE)
    with env.db.session() as s:
        opd_id = users.find_opd(s, TEST_OPD).id
    svc.transition(c.id, ComplaintStatus.DISPATCHED, actor="uji.operator", opd_id=opd_id)
    # the public history shows notes of work in progress (and of the outcome)
    svc.transition(c.id, ComplaintStatus.IN_PROGRESS, actor="uji.opd", note=NOTE)
    from ingestion.sms import SmsIntake

    SmsIntake(svc).receive(message_id="xss-1", sender="081234567890", text=SMS_TEXT)
    from sqlalchemy import select

    with env.db.session() as s:
        for code in (env.public_code, env.private_code):
            s.scalar(select(Camera).where(Camera.code == code)).name = CAMERA_NAME
        users.get_by_username(s, credentials("admin")[0]).full_name = FULL_NAME
    # a sign-in attempt with markup as the name lands in the audit log
    login_with(env.app.server.test_client(), LOGIN_NAME, "wrong-password-123")

    # --- the public --------------------------------------------------------------------------
    driver.delete_all_cookies()
    driver.get(f"{base}/lapor/status?id={c.tracking_id}")
    shows_as_text(driver, "DESC <img src=x", "NOTE <img src=x", "ADDR <img", what="status page")
    assert (
        driver.find_element(By.ID, "laporstatus-description").get_attribute("textContent")
        == DESCRIPTION
    )
    driver.get(base + "/cctv")
    shows_as_text(driver, "CAM <img src=x", what="public cameras")

    # --- operators -----------------------------------------------------------------------------
    browser_login(driver, base, env.db, "operator")
    driver.get(base + "/pengaduan/antrian")
    search = wait_for(driver, lambda d: d.find_element(By.ID, "queue-search"), what="queue")
    search.send_keys(c.tracking_id + "\n")
    shows_as_text(driver, "DESC <img", what="queue table")
    box = wait_for(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "#queue-table td.dash-select-cell input"),
        what="queue row",
    )
    driver.execute_script("arguments[0].click()", box)
    shows_as_text(
        driver,
        DESCRIPTION,
        "TITLE <img",
        "ADDR <img",
        "NAME <img",
        "NOTE <img",
        what="complaint detail",
    )
    tab = wait_for(
        driver, lambda d: d.find_element(By.PARTIAL_LINK_TEXT, "Triase SMS"), what="SMS tab"
    )
    driver.execute_script("arguments[0].click()", tab)
    shows_as_text(driver, "SMS <img src=x", what="SMS triage")
    driver.get(f"{base}/camera/{env.private_code}")
    shows_as_text(driver, "CAM <img src=x", what="camera page")

    # --- OPD staff -----------------------------------------------------------------------------
    driver.delete_all_cookies()
    browser_login(driver, base, env.db, "opd")
    driver.get(base + "/opd/pengaduan")
    shows_as_text(driver, "DESC <img", what="OPD follow-up list")
    box = wait_for(
        driver,
        lambda d: d.find_element(By.CSS_SELECTOR, "#followup-table td.dash-select-cell input"),
        what="follow-up row",
    )
    driver.execute_script("arguments[0].click()", box)
    shows_as_text(driver, DESCRIPTION, "ADDR <img", what="OPD follow-up detail")

    # --- admins ------------------------------------------------------------------------------
    driver.delete_all_cookies()
    browser_login(driver, base, env.db, "admin")
    driver.get(base + "/admin/audit")
    shows_as_text(driver, LOGIN_NAME, what="audit log")
    menu = driver.find_element(By.ID, "user-menu-name").get_attribute("textContent")
    assert menu == FULL_NAME  # the navbar's user menu (narrow: cut off on screen)
    driver.get(base + "/admin/pengguna")
    shows_as_text(driver, "USER <img src=x", what="users page")
