"""``pantau worker``: start the Celery workers of one box (fetch, analysis or both).

Each role is its own ``celery worker`` process: the fetch worker (queue ``pantau.fetch``,
thread pool of ``celery_fetch_concurrency``) waits on cameras; the analysis worker (queue
``pantau.analyse``, prefork, ``celery_analyse_concurrency`` processes, one OpenCV thread each)
does the CPU work. With both roles this process supervises the two: SIGTERM/SIGINT are passed
on (Celery's warm shutdown finishes the tasks in hand), and if one of them dies the other is
stopped too and the exit status says so, for the service manager to restart the unit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time

from ingestion.celery_app import ANALYSE_QUEUE, FETCH_QUEUE
from pantau.settings import Settings

logger = logging.getLogger(__name__)

ROLES = ("all", "fetch", "analyse")


def worker_argv(
    settings: Settings,
    role: str,
    *,
    concurrency: int | None = None,
    queues: str | None = None,
    loglevel: str = "info",
    name: str | None = None,
) -> list[str]:
    """The ``celery`` command line of one role (``fetch`` or ``analyse``)."""
    if role not in ("fetch", "analyse"):
        raise ValueError(f"unknown worker role {role!r}; expected fetch or analyse")
    tag = name or f"{role}-{os.getpid()}"
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "ingestion.tasks",
        "worker",
        f"--loglevel={loglevel}",
        f"--hostname={tag}@%h",
        "--prefetch-multiplier=1",
        "--without-gossip",
        "--without-mingle",
    ]
    if role == "fetch":
        argv += [
            f"--queues={queues or FETCH_QUEUE}",
            "--pool=threads",
            f"--concurrency={concurrency or settings.celery_fetch_concurrency}",
        ]
    else:
        argv += [
            f"--queues={queues or ANALYSE_QUEUE}",
            "--pool=prefork",
            "-O",
            "fair",
            f"--concurrency={concurrency or settings.celery_analyse_concurrency}",
        ]
    return argv


def run_workers(argvs: list[list[str]]) -> int:
    """Run one or more worker command lines; returns the exit status for the CLI."""
    if len(argvs) == 1:  # one role: become that worker (signals reach it directly)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argvs[0][0], argvs[0])
    procs = [subprocess.Popen(argv) for argv in argvs]
    stopping = False

    def _forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    failed = 0
    try:
        while True:
            codes = [p.poll() for p in procs]
            if all(c is not None for c in codes):
                break
            dead = [c for c in codes if c is not None]
            if dead and not stopping:
                logger.error("a worker process exited (%s); stopping the other", dead)
                failed = dead[0] if dead[0] and dead[0] > 0 else 1
                _forward(signal.SIGTERM, None)
            time.sleep(0.5)
    finally:
        for p in procs:  # warm shutdown takes as long as the longest task in hand
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
    return failed
