"""The admin page "Ingestion" in headless Chromium: an admin sees the local pool's figures with
units and times, in Indonesian and after the language toggle in English, without browser
errors; on a 1920x1080 wall it fits without scrolling."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from ingestion import metrics as im
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

pytestmark = [pytest.mark.browser]


def _write_metrics(var_dir, now: float) -> None:  # noqa: ANN001
    m = im.IngestMetrics()
    for i in range(100):
        m.observe_sample("stored", lateness_s=1.0 + (i % 10) * 0.1, fetch_s=0.2, now=now)
    for _ in range(5):
        m.observe_sample("failed", reason="timeout", now=now)
    doc = {
        "updated_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "mode": "local",
        "processes": [
            {
                "role": "supervisor",
                "host": "uji",
                "pid": 1111,
                "rss_bytes": 200 * 2**20,
                "heartbeat_at": now,
            },
            {
                "role": "worker",
                "index": 0,
                "host": "uji",
                "pid": 2222,
                "rss_bytes": 300 * 2**20,
                "heartbeat_at": now - 1,
            },
        ],  # fmt: skip
        "scheduler": {"due": 0, "inflight": 1, "cameras": 3},
        "writer_backlog": 0,
        "worker_restarts": 0,
        "metrics": m.to_dict(),
    }
    (var_dir / im.METRICS_FILE).write_text(json.dumps(doc))


def _severe(driver, base: str) -> list[dict]:  # noqa: ANN001
    """SEVERE console entries of this app. Map tiles from the internet tile server fail to load
    on a machine without internet (the start page's map may log them late, after the log was
    read): a network error for another origin is not this page's fault."""
    return [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE"
        and not (e.get("source") == "network" and not e.get("message", "").startswith(base))
    ]


def test_admin_sees_ingestion_health_in_both_languages(settings, sqlite_db):
    missing = browser_available()
    if missing:
        require_service("Chromium", missing)
    with running_app(settings, sqlite_db) as base, chrome_driver((1920, 1080)) as driver:
        login(driver, base, sqlite_db, role="admin")
        driver.get_log("browser")  # the start page's messages are not this page's
        _write_metrics(settings.var_dir, time.time())
        driver.get(base + "/admin/ingestion?kiosk=1&rotate=0")
        wait_for(driver, "#admin-ingestion-processes table", 30)
        dash_idle(driver)
        # 100 stored at 1.0-1.9 s: p95 is in the (1, 2] bucket; 500 MiB over two processes
        p95 = wait_text(driver, "#admin-ingestion-p95-value", lambda t: t not in ("", "—"))
        assert 1.0 <= float(p95.replace(",", ".")) <= 2.0
        tiles = driver.find_element("id", "admin-ingestion-tiles").text
        assert "KETERLAMBATAN P95" in tiles.upper() and "/menit" in tiles and "WIB" in tiles
        assert driver.find_element("id", "admin-ingestion-rss-value").text == "500"
        procs = driver.find_element("id", "admin-ingestion-processes").text
        assert "2222" in procs and "300 MiB" in procs and "Pekerja" in procs
        height = driver.execute_script("return document.documentElement.scrollHeight")
        assert height <= 1080, f"the wall page needs {height} px"
        severe = _severe(driver, base)
        assert not severe, severe

        driver.get(base + "/lang/en")
        _write_metrics(settings.var_dir, time.time())
        driver.get(base + "/admin/ingestion")
        wait_for(driver, "#admin-ingestion-processes table", 30)
        dash_idle(driver)
        wait_text(driver, "#admin-ingestion-tiles", lambda t: "LATENESS P95" in t.upper())
        text = driver.find_element("id", "admin-ingestion-page").text
        assert "/min" in text and "Worker" in text and "Camera Ingestion Health" in text
        assert "Pekerja" not in text and "menit" not in text
        severe = _severe(driver, base)
        assert not severe, severe
