"""Shared helpers for browser tests and screenshots: serve a Pantau app with waitress in a
thread on a free port, drive headless Chromium with selenium, sign in a staff user.

    from tests.ui.harness import chrome_driver, login, running_app

    with running_app(settings, database) as base, chrome_driver((1440, 900)) as driver:
        login(driver, base, database, role="operator")
        driver.get(base + "/lalu-lintas")

Other engineers' browser tests reuse these (one place knows the Chromium flags and the login).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pantau.settings import Settings
from store.db import Database

logger = logging.getLogger(__name__)

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
PASSWORD = "Uji-Pantau-2026!x"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_available() -> str | None:
    """None when Chromium and chromedriver are installed, else the reason they are not."""
    if not Path(CHROMEDRIVER).exists():
        return f"{CHROMEDRIVER} missing (apt-get install chromium-driver)"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "chromium missing (apt-get install chromium)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed"
    return None


@contextlib.contextmanager
def running_app(
    settings: Settings, database: Database | None = None, threads: int = 8
) -> Iterator[str]:
    """Build the Dash app for ``settings`` and serve it on a free loopback port; yields the
    base URL and stops the server afterwards."""
    from waitress.server import create_server

    from dashboard.app import create_app

    app = create_app(settings, database)
    port = free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=threads)
    thread = threading.Thread(target=server.run, name=f"waitress-{port}", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.close()
        thread.join(timeout=5)


@contextlib.contextmanager
def required_chrome(size: tuple[int, int] = (1440, 900)):
    """:func:`chrome_driver` for a test that needs the browser: it fails with CI=true (skips
    elsewhere) when Chromium or its driver is missing."""
    from tests.conftest import require_service

    missing = browser_available()
    if missing:
        require_service("Chromium", missing)
    with chrome_driver(size) as drv:
        yield drv


@contextlib.contextmanager
def chrome_driver(size: tuple[int, int] = (1440, 900), download_dir: Path | None = None):
    """A headless Chromium driven by selenium (quits afterwards)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    if size[0] < 500:  # Chromium windows are at least 500 px wide: emulate a phone instead
        options.add_argument("--window-size=500,900")
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 2}},
        )
    else:
        options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.add_argument("--lang=id-ID")
    if download_dir is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(download_dir),
                "download.prompt_for_download": False,
                "safebrowsing.enabled": False,
            },
        )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    if download_dir is not None:
        with contextlib.suppress(Exception):
            driver.execute_cdp_cmd(
                "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)}
            )
    try:
        yield driver
    finally:
        driver.quit()


def ensure_user(database: Database, role: str = "operator", username: str | None = None) -> str:
    """Create (once) a staff user with ``role``; returns the username (password: PASSWORD)."""
    from store import users

    username = username or f"uji_{role}"
    with database.session() as s:
        if users.get_by_username(s, username) is None:
            users.create_user(s, username, PASSWORD, role, full_name=f"Uji {role}", actor="test")
    return username


def login(
    driver, base: str, database: Database, role: str = "operator", username: str | None = None
) -> str:
    """Sign in through the real login form (works with the CSRF token and throttling)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    name = ensure_user(database, role, username)
    driver.get(base + "/masuk")
    wait = WebDriverWait(driver, 20)
    wait.until(EC.presence_of_element_located((By.ID, "login-username"))).send_keys(name)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait.until(lambda d: "/masuk" not in d.current_url)
    return name


def wait_for(driver, css: str, timeout: float = 20):
    """The first element matching ``css`` once present."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def wait_text(driver, css: str, predicate, timeout: float = 20) -> str:
    """Wait until the text of ``css`` satisfies ``predicate``; returns the text. An element
    Dash re-renders between finding it and reading it (stale) is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def check(d):
        els = d.find_elements(By.CSS_SELECTOR, css)
        if not els:
            return False
        text = els[0].text
        return text if predicate(text) else False

    return WebDriverWait(
        driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
    ).until(check)


def dash_idle(driver, timeout: float = 20) -> None:
    """Wait until Dash has no callback in flight (the loading state attribute is gone)."""
    from selenium.webdriver.support.ui import WebDriverWait

    time.sleep(0.2)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"
        )
    )


def random_name(prefix: str = "uji") -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


def severe_console(driver) -> list[str]:  # noqa: ANN001
    """The browser console's error messages since the last read (a missing favicon aside)."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e.get("level") == "SEVERE" and "favicon" not in e["message"]
    ]
