"""``pantau worker``: start the Celery workers of one box (fetch, analysis or both).

Each role is its own ``celery worker`` process: the fetch worker (queue ``pantau.fetch``,
thread pool of ``celery_fetch_concurrency``) waits on cameras; the analysis worker (queue
``pantau.analyse``, prefork, ``celery_analyse_concurrency`` processes, one OpenCV thread each)
does the CPU work. This process supervises them: SIGTERM/SIGINT are passed on (Celery's warm
shutdown finishes the tasks in hand), and a worker that exits on its own is started again.
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


RESTART_BACKOFF_MAX_S = 30.0


def run_workers(argvs: list[list[str]]) -> int:
    """Run the worker command lines and keep them running: one that exits on its own (a crash,
    an unrecoverable broker error) is started again after 1, 2, 4 ... 30 s. SIGTERM/SIGINT are
    passed on and end the supervision once the workers have finished their tasks in hand."""
    procs: list[subprocess.Popen | None] = [subprocess.Popen(a) for a in argvs]
    restarts = [0] * len(argvs)
    due: list[float | None] = [None] * len(argvs)
    stopping = False

    def _forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p is not None and p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    try:
        while not stopping:
            now = time.monotonic()
            for i, p in enumerate(procs):
                if p is not None and p.poll() is not None:
                    delay = min(RESTART_BACKOFF_MAX_S, 2.0 ** restarts[i])
                    logger.error(
                        "worker %s exited with %s; starting it again in %.0fs",
                        argvs[i][argvs[i].index("worker") + 2],
                        p.returncode,
                        delay,
                    )
                    procs[i], due[i] = None, now + delay
                    restarts[i] += 1
                elif p is None and due[i] is not None and now >= due[i]:
                    procs[i], due[i] = subprocess.Popen(argvs[i]), None
            time.sleep(0.5)
    finally:
        for p in procs:  # warm shutdown takes as long as the longest task in hand
            if p is None:
                continue
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0
