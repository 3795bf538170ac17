"""``pantau worker``: start the Celery workers of one box (fetch, analysis or both).

Each role runs as its own ``celery worker`` process(es): the fetch worker (queue
``pantau.fetch``, thread pool of ``celery_fetch_concurrency``) waits on cameras; the analysis
role (queue ``pantau.analyse``, ``celery_analyse_concurrency`` processes, one OpenCV thread
each) does the CPU work, by default as that many solo workers that each consume the queue
directly (``celery_analyse_pool = "prefork"``: one worker whose parent hands tasks to its
children over pipes). This process supervises them: SIGTERM/SIGINT are passed on (Celery's warm
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


ANALYSE_POOLS = ("solo", "prefork")


def worker_argv(
    settings: Settings,
    role: str,
    *,
    concurrency: int | None = None,
    queues: str | None = None,
    loglevel: str = "info",
    name: str | None = None,
    pool: str | None = None,
    prefetch: int | None = None,
) -> list[str]:
    """The ``celery`` command line of one worker process of a role (``fetch`` or ``analyse``).
    An analysis worker with the solo pool is one process that runs one task at a time
    (``concurrency`` is ignored: see :func:`worker_argvs`)."""
    if role not in ("fetch", "analyse"):
        raise ValueError(f"unknown worker role {role!r}; expected fetch or analyse")
    tag = name or f"{role}-{os.getpid()}"
    # fetch: a thread per task in hand, prefetching would only hold tasks back
    multiplier = 1 if role == "fetch" else prefetch or settings.celery_analyse_prefetch
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "ingestion.tasks",
        "worker",
        f"--loglevel={loglevel}",
        f"--hostname={tag}@%h",
        f"--prefetch-multiplier={multiplier}",
        "--without-gossip",
        "--without-mingle",
    ]
    if role == "fetch":
        argv += [
            f"--queues={queues or FETCH_QUEUE}",
            "--pool=threads",
            f"--concurrency={concurrency or settings.celery_fetch_concurrency}",
        ]
        return argv
    pool = pool or settings.celery_analyse_pool
    if pool not in ANALYSE_POOLS:
        raise ValueError(f"unknown analysis pool {pool!r}; expected solo or prefork")
    argv.append(f"--queues={queues or ANALYSE_QUEUE}")
    if pool == "solo":
        argv += ["--pool=solo"]
    else:
        argv += [
            "--pool=prefork",
            "-O",
            "fair",
            f"--concurrency={concurrency or settings.celery_analyse_concurrency}",
        ]
    return argv


def worker_argvs(
    settings: Settings,
    role: str,
    *,
    concurrency: int | None = None,
    queues: str | None = None,
    loglevel: str = "info",
    name: str | None = None,
    pool: str | None = None,
    prefetch: int | None = None,
) -> list[list[str]]:
    """The command lines of a role: one for fetch (a thread pool) and for a prefork analysis
    worker; ``concurrency`` of them for solo analysis workers (the default), each its own
    process consuming the queue directly, named ``NAME-1``, ``NAME-2`` ...: no prefork parent
    between the broker and the analysis, which cost ~2.5 ms of CPU a sample and a pipe round
    trip (parent -> child -> parent -> ack) before the next task could start."""
    pool = pool or settings.celery_analyse_pool
    if role != "analyse" or pool != "solo":
        return [
            worker_argv(
                settings,
                role,
                concurrency=concurrency,
                queues=queues,
                loglevel=loglevel,
                name=name,
                pool=pool,
                prefetch=prefetch,
            )
        ]
    n = concurrency or settings.celery_analyse_concurrency
    tag = name or f"analyse-{os.getpid()}"
    return [
        worker_argv(
            settings,
            role,
            queues=queues,
            loglevel=loglevel,
            name=f"{tag}-{i + 1}" if n > 1 else tag,
            pool="solo",
            prefetch=prefetch,
        )
        for i in range(n)
    ]


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
