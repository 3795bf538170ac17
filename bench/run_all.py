"""`make bench`: run every bench/bench_*.py in turn and print their tables.

Each script is a plain program that prints its own figures; this runner adds the machine
description and the load average around each script (the figures depend on what else runs),
and fails if any benchmark fails. Arguments for one script come from ``BENCH_<NAME>_ARGS``, e.g.
``BENCH_CITY_ARGS="--cameras 500 --minutes 2" make bench`` for a short ``bench_city`` (which
at its default, the full 10,693-camera city, runs about 40 minutes).
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not only or p.stem in only)
    print(f"# Pantau benchmarks — {machine()}\n")
    failed = []
    for script in scripts:
        extra = shlex.split(
            os.environ.get(f"BENCH_{script.stem.removeprefix('bench_').upper()}_ARGS", "")
        )
        print(f"## {script.stem} {' '.join(extra)}\n", flush=True)
        load0 = os.getloadavg()[0]
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(script), *extra], cwd=HERE.parent)
        print(
            f"\n({script.stem}: {time.perf_counter() - start:.1f} s; load average "
            f"{load0:.2f} before, {os.getloadavg()[0]:.2f} after)\n",
            flush=True,
        )
        if result.returncode:
            failed.append(script.stem)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
