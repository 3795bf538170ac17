"""Screenshots of every page: desktop (1440x900), wall screen (kiosk pages at 1920x1080 and
3840x2160) and phone (390x844, the whole page), written to screenshots/ (git-ignored). Staff pages are taken signed in as an
operator; the OPD follow-up page as a Dinas Perhubungan (DISHUB) account.

    python -m tests.ui.screenshots                  # demo database in a temp folder
    python -m tests.ui.screenshots --url http://127.0.0.1:8062 --user admin --password ...

Without --url, a temporary demo database is seeded (60 days of history, about a minute) and
served on a free port.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.ui.harness import (  # noqa: E402
    PASSWORD,
    chrome_driver,
    dash_idle,
    ensure_user,
    running_app,
    wait_for,
)

logger = logging.getLogger(__name__)

PAGES = [
    ("overview", "/", "#overview-map .leaflet-marker-icon, #overview-map .leaflet-interactive"),
    ("traffic", "/lalu-lintas", "#traffic-trend .main-svg"),
    ("flood", "/banjir", "#flood-trend .main-svg"),
    ("security", "/keamanan", "#security-trend .main-svg"),
    ("opd", "/indikator-opd", ".pantau-kpi"),
    ("camera", "/camera/PLG-BKB-01", "#camera-counts .main-svg"),
    ("complaints", "/pengaduan", "#complaints-daily .main-svg"),
    ("queue", "/pengaduan/antrian", "#queue-table .dash-spreadsheet"),
    ("lapor", "/lapor", "#lapor-category"),
    ("cctv", "/cctv", "#cctv-grid img"),
    ("dinding", "/dinding", "#dinding-grid [data-code]"),
]
#: pages of the OPD role, taken signed in as an OPD account
OPD_PAGES = [
    ("opd-followup", "/opd/pengaduan", "#followup-table .dash-spreadsheet"),
]
OPD_CODE = "DISHUB"
#: admin pages, taken signed in as an admin; the ingestion page while a short real ingestion
#: run (simulated cameras, two of them faulty) feeds it
ADMIN_PAGES = [
    ("ingestion", "/admin/ingestion", "#admin-ingestion-processes table"),
]
SIZES = {
    "desktop": ((1440, 900), ""),
    "kiosk": ((1920, 1080), "?kiosk=1&rotate=0"),
    "kiosk4k": ((3840, 2160), "?kiosk=1&rotate=0"),
    "phone": ((390, 844), ""),
}
#: the wall-screen rotation (pages registered with kiosk=True); other pages have no kiosk shot
KIOSK_PAGES = {"overview", "traffic", "flood", "security", "opd", "complaints"}


def login_form(driver, base: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/masuk")
    wait_for(driver, "#login-username").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    time.sleep(1.0)


def shoot(
    base: str,
    username: str,
    password: str,
    out: Path,
    only: set[str] | None,
    pages: list[tuple[str, str, str]] = PAGES,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size_name, (size, query) in SIZES.items():
        if only and size_name not in only and not (only & {p[0] for p in pages}):
            continue
        with chrome_driver(size) as driver:
            if size[0] >= 500:  # the viewport exactly this size (the window's is smaller)
                driver.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
                )
            login_form(driver, base, username, password)
            for name, path, ready in pages:
                if only and name not in only and size_name not in only:
                    continue
                if size_name.startswith("kiosk") and name not in KIOSK_PAGES:
                    continue
                driver.get(base + path + query)
                try:
                    wait_for(driver, ready, 30)
                    dash_idle(driver)
                except Exception:  # noqa: BLE001 - still take the picture: it shows what is wrong
                    logger.warning("%s %s: not ready", size_name, name)
                time.sleep(1.5)
                target = out / f"{name}-{size_name}.png"
                if size_name == "phone":  # the whole page: a viewport as tall as it
                    height = driver.execute_script("return document.body.scrollHeight")
                    driver.execute_cdp_cmd(
                        "Emulation.setDeviceMetricsOverride",
                        {"width": size[0], "height": min(max(size[1], height), 4000),
                         "deviceScaleFactor": 2, "mobile": True},
                    )  # fmt: skip
                    time.sleep(0.5)
                driver.save_screenshot(str(target))
                if size_name == "phone":
                    driver.execute_cdp_cmd(
                        "Emulation.setDeviceMetricsOverride",
                        {"width": size[0], "height": size[1], "deviceScaleFactor": 2,
                         "mobile": True},
                    )  # fmt: skip
                written.append(target)
                print(target)
    return written


def ensure_opd_user(database, opd_code: str) -> str:  # noqa: ANN001
    """An ``opd`` account of the OPD with this code (password: PASSWORD)."""
    from store import users

    username = f"uji_opd_{opd_code.lower()}"
    with database.session() as s:
        if users.get_by_username(s, username) is None:
            opd = users.find_opd(s, opd_code)
            users.create_user(
                s, username, PASSWORD, "opd", full_name=f"Staf {opd_code}", opd_id=opd.id
            )
    return username


@contextlib.contextmanager
def demo_ingestion(settings, database, cameras: int = 8, warm_s: float = 25.0):  # noqa: ANN001
    """A real local pool on ``cameras`` simulated demo cameras (index 2 refuses connections,
    5 hangs) sampled every 5 s, running for ``warm_s`` before the pictures are taken."""
    from sqlalchemy import select

    from ingestion.local import Supervisor, assign_simulated_cameras
    from ingestion.simulator import CameraSimulator
    from store.models import Camera
    from tests.ui.harness import free_port

    port = free_port()
    sims = assign_simulated_cameras(database, settings, cameras, port)
    faults = {2: "refuse", 5: "hang"}
    for sim in sims:
        sim.fault = faults.get(sim.index, "none")
    with database.session() as s:
        for cam in s.scalars(select(Camera).where(Camera.stream_url.like(f"%:{port}/%"))):
            cam.sample_interval_s = 5
    run = settings.model_copy(
        update={"connect_timeout_s": 1.0, "read_timeout_s": 4.0, "offline_after_failures": 2}
    )
    simulator = CameraSimulator(sims, "127.0.0.1", port).start()
    sup = Supervisor(run, database, workers=2, reload_every_s=1000).start()
    try:
        time.sleep(warm_s)
        yield sup
    finally:
        sup.stop()
        simulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running Pantau (default: start a demo one)")
    parser.add_argument("--user", default=None)
    parser.add_argument("--password", default=None)
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--days", type=int, default=60, help="demo history for the temp app")
    parser.add_argument("only", nargs="*", help="page or size names (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    only = set(args.only) or None
    if args.url:
        shoot(args.url, args.user or "admin", args.password or "", Path(args.out), only)
        return 0
    from pantau.settings import Settings
    from store.db import Database
    from store.seed import DemoSpec, seed_demo

    tmp = Path(tempfile.mkdtemp(prefix="pantau-shots-"))
    settings = Settings(
        var_dir=tmp / "var", secret_key="screenshots", ingest_enabled=False, map_tile_url=""
    )
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_demo(s, DemoSpec(days=args.days))
    user = ensure_user(database, "operator")
    opd_user = ensure_opd_user(database, OPD_CODE)
    admin_user = ensure_user(database, "admin")
    with running_app(settings, database) as base:
        shoot(base, user, PASSWORD, Path(args.out), only)
        shoot(base, opd_user, PASSWORD, Path(args.out), only, OPD_PAGES)
        if not only or only & ({p[0] for p in ADMIN_PAGES} | set(SIZES)):
            with demo_ingestion(settings, database):
                shoot(base, admin_user, PASSWORD, Path(args.out), only, ADMIN_PAGES)
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
