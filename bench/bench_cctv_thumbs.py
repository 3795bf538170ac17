"""Public /cctv: how long until every camera thumbnail is drawn, in headless Chromium.

Seeds the reference cameras, writes a 768x576 picture of people walking (tests/data/vtest_trim.avi)
as each public camera's ``<code>.public.jpg`` (what ingestion writes), builds the app (which
starts blurring those files into the frame hub's cache) and loads /cctv:

- ``cold``: the page opened right after start-up, while the hub is still blurring;
- ``warm``: opened again after ``--settle`` seconds (the usual case: the server has been up);
- ``changed``: every file rewritten (new pictures from ingestion), then the page opened: the
  previous blurred pictures are served at once and the new ones blurred in the background.

For each it prints the time from navigation start until every thumbnail ``<img>`` has
loaded a picture (``complete`` and ``naturalWidth > 0``), measured by the page's own clock.

    .venv/bin/python bench/bench_cctv_thumbs.py            # issue 15: all within 2 s
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VIDEO = ROOT / "tests" / "data" / "vtest_trim.avi"

DRAWN = """
const imgs = [...document.querySelectorAll('#cctv-grid img.cctv-thumb')];
if (!imgs.length || !imgs.every(i => i.complete && i.naturalWidth > 0)) return null;
const names = imgs.map(i => i.currentSrc.split('/').pop().split('?')[0]);
const entries = performance.getEntriesByType('resource').filter(e => names.some(n => e.name.includes(n)));
return [imgs.length, Math.max(...entries.map(e => e.responseEnd))];
"""


def write_pictures(snap_dir: Path, codes: list[str], offset: int = 0) -> None:
    import cv2

    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < len(codes) + offset:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(frame)
    cap.release()
    for i, code in enumerate(codes):
        cv2.imwrite(str(snap_dir / f"{code}.public.jpg"), frames[i + offset])


def measure(driver, url: str, timeout: float = 30.0) -> tuple[int, float]:
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = driver.execute_script(DRAWN)
        if got:
            return int(got[0]), float(got[1]) / 1000
        time.sleep(0.05)
    raise TimeoutError(
        "thumbnails not drawn: "
        + str(
            driver.execute_script(
                "return [...document.querySelectorAll('#cctv-grid img')].map(i => [i.complete, i.naturalWidth])"
            )
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    from sqlalchemy import select

    from pantau.settings import Settings
    from store.db import Database
    from store.models import Camera
    from store.seed import seed_reference
    from tests.ui.harness import chrome_driver, running_app

    tmp = Path(tempfile.mkdtemp(prefix="pantau-cctv-bench-"))
    settings = Settings(var_dir=tmp / "var", secret_key="bench", ingest_enabled=False)
    settings.ensure_dirs()
    database = Database(settings.sqlalchemy_url)
    database.migrate()
    with database.session() as s:
        seed_reference(s)
        codes = list(
            s.scalars(
                select(Camera.code).where(Camera.is_public.is_(True), Camera.enabled.is_(True))
            )
        )
    write_pictures(settings.snapshot_dir, codes)
    print(f"{len(codes)} public cameras, 768x576 pictures")
    with chrome_driver((1440, 900)) as driver:
        t0 = time.monotonic()
        with running_app(settings, database) as base:
            print(f"app up in {time.monotonic() - t0:.1f} s")
            n, s = measure(driver, base + "/cctv")
            print(f"cold:    {n} thumbnails drawn {s:.2f} s after navigation")
            time.sleep(args.settle)
            n, s = measure(driver, base + "/cctv")
            print(f"warm:    {n} thumbnails drawn {s:.2f} s after navigation")
            write_pictures(settings.snapshot_dir, codes, offset=40)
            time.sleep(1.1)  # a new mtime
            n, s = measure(driver, base + "/cctv")
            print(f"changed: {n} thumbnails drawn {s:.2f} s after navigation")
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
