"""Measuring probes of ``bench_city.py``: process trees (RSS, CPU, each second) and the stored
observations (polled each second, so each row gets the time it became visible).

Kept apart from the orchestration so both stay readable; nothing here starts or stops anything
except :meth:`TreeMonitor.kill_tree`, which ends only the process groups the bench started.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

logger = logging.getLogger(__name__)


def _cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _label(root_label: str, p: psutil.Process, is_root: bool) -> str:
    """What a process of the tree is: the root's label, or root/role for its descendants."""
    if is_root:
        return root_label
    try:
        cmd = " ".join(p.cmdline())
        parent = p.parent()
        parent_cmd = " ".join(parent.cmdline()) if parent is not None else ""
    except (psutil.Error, OSError):
        cmd, parent_cmd = "", ""
    if "resource_tracker" in cmd:
        return f"{root_label}/resource_tracker"
    for queue, role in (("pantau.fetch", "fetch worker"), ("pantau.analyse", "analyse worker")):
        if queue in cmd:
            return f"{root_label}/{role}" + (" pool process" if cmd == parent_cmd else "")
    if "multiprocessing" in cmd or "spawn_main" in cmd:
        return f"{root_label}/worker"
    if cmd and cmd == parent_cmd:
        return f"{root_label}/pool process"
    return f"{root_label}/child"


@dataclass
class ProcInfo:
    pid: int
    label: str
    peak_rss: int = 0
    cpu_s: float = 0.0  # last known cumulative CPU seconds (user + system, all threads)
    alive: bool = True


@dataclass
class Mark:
    """Cumulative counters at one instant (window start/end)."""

    t: float
    tree_cpu_s: float
    farm_cpu_s: float
    bench_cpu_s: float
    extra_cpu_s: dict[str, float]
    sys_cpu: Any  # psutil.cpu_times()
    cpu_by_label: dict[str, float] = field(default_factory=dict)  # tree CPU s per process label


class TreeMonitor:
    """Samples the process trees of ``roots`` (label -> pid) every ``period`` seconds.

    ``extra`` are processes measured but not part of the ingestion tree (the camera farm, a
    shared Redis). Peak RSS is kept per process and for the sum over the tree at each sample.
    """

    def __init__(
        self,
        roots: dict[str, int],
        farm_pid: int | None = None,
        extra: dict[str, int] | None = None,
        period: float = 1.0,
        rss_limit_mb: float = 0.0,
        min_available_mb: float = 1500.0,
    ) -> None:
        self.roots = dict(roots)
        self.farm = psutil.Process(farm_pid) if farm_pid else None
        self.extra = {k: psutil.Process(v) for k, v in (extra or {}).items()}
        self.period = period
        self.rss_limit = rss_limit_mb * 1e6
        self.min_available = min_available_mb * 1e6
        self.procs: dict[int, ProcInfo] = {}
        self.tree_rss_peak = 0
        self.tree_rss_last = 0
        self.tree_pss_peak = 0
        self.load: list[tuple[float, float]] = []  # (t, 1-min load average)
        self.mem_available_min = psutil.virtual_memory().available
        self.aborted: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-monitor", daemon=True)
        self._n = 0

    def add_root(self, label: str, pid: int) -> None:
        with self._lock:
            self.roots[label] = pid

    def start(self) -> TreeMonitor:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a probe must not kill the bench
                logger.exception("tree monitor sample failed")

    def tree(self) -> list[tuple[str, psutil.Process, bool]]:
        out = []
        with self._lock:
            roots = dict(self.roots)
        for label, pid in roots.items():
            try:
                root = psutil.Process(pid)
                out.append((label, root, True))
                out.extend((label, c, False) for c in root.children(recursive=True))
            except psutil.Error:
                continue
        return out

    def sample(self) -> None:
        self._n += 1
        total = 0
        seen = set()
        want_pss = self._n % 10 == 1
        pss = 0
        for root_label, p, is_root in self.tree():
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    cpu = _cpu_s(p)
                if want_pss:
                    pss += getattr(p.memory_full_info(), "pss", 0)
            except (psutil.Error, OSError):
                continue
            seen.add(p.pid)
            info = self.procs.get(p.pid)
            if info is None:
                info = ProcInfo(p.pid, _label(root_label, p, is_root))
                self.procs[p.pid] = info
            info.peak_rss = max(info.peak_rss, rss)
            info.cpu_s = max(info.cpu_s, cpu)
            info.alive = True
            total += rss
        for pid, info in self.procs.items():
            if pid not in seen:
                info.alive = False
        self.tree_rss_last = total
        self.tree_rss_peak = max(self.tree_rss_peak, total)
        if want_pss:
            self.tree_pss_peak = max(self.tree_pss_peak, pss)
        self.load.append((time.time(), os.getloadavg()[0]))
        avail = psutil.virtual_memory().available
        self.mem_available_min = min(self.mem_available_min, avail)
        if self.aborted is None:
            if self.rss_limit and total > self.rss_limit:
                self.aborted = (
                    f"ingestion tree RSS {total / 1e6:,.0f} MB over the bench's limit "
                    f"{self.rss_limit / 1e6:,.0f} MB (--rss-limit-mb): stopped to protect the box"
                )
            elif avail < self.min_available:
                self.aborted = (
                    f"only {avail / 1e6:,.0f} MB of memory left on the box: stopped the "
                    "ingestion tree before the kernel's OOM killer picks a victim"
                )
            if self.aborted:
                print(f"!! {self.aborted}", flush=True)
                self.kill_tree()

    def kill_tree(self) -> None:
        """SIGKILL the process groups of the roots (the bench started each in its own session)."""
        with self._lock:
            pids = list(self.roots.values())
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue

    def tree_cpu_s(self) -> float:
        return sum(i.cpu_s for i in self.procs.values())

    def mark(self) -> Mark:
        self.sample()
        farm = _cpu_s(self.farm) if self.farm is not None else 0.0
        extra = {}
        for k, p in self.extra.items():
            try:
                extra[k] = _cpu_s(p)
            except psutil.Error:
                extra[k] = 0.0
        me = psutil.Process()
        by_label: dict[str, float] = {}
        for i in self.procs.values():
            by_label[i.label] = by_label.get(i.label, 0.0) + i.cpu_s
        return Mark(
            time.time(), self.tree_cpu_s(), farm, _cpu_s(me), extra, psutil.cpu_times(), by_label
        )

    def load_between(self, t0: float, t1: float) -> dict[str, float]:
        vals = [v for t, v in self.load if t0 <= t <= t1] or [os.getloadavg()[0]]
        return {
            "min": round(min(vals), 2),
            "mean": round(sum(vals) / len(vals), 2),
            "max": round(max(vals), 2),
        }

    def peaks(self) -> list[dict[str, Any]]:
        return [
            {"pid": i.pid, "label": i.label, "peak_rss_mb": round(i.peak_rss / 1e6, 1)}
            for i in sorted(self.procs.values(), key=lambda i: (i.label, i.pid))
        ]


def busy_share(c0: Any, c1: Any) -> float:
    """Share of all cores' time that was not idle between two ``psutil.cpu_times()``."""
    total = sum(c1) - sum(c0)
    idle = (c1.idle + getattr(c1, "iowait", 0)) - (c0.idle + getattr(c0, "iowait", 0))
    return 0.0 if total <= 0 else 1.0 - idle / total


# --------------------------------------------------------------------------------------------
@dataclass
class Row:
    camera_id: int
    slot: float  # epoch seconds of the schedule slot
    ts: float  # epoch seconds of the stored observation time
    seen: float  # epoch seconds when the bench first saw the row in the database
    unknown: bool = False  # people stored as NULL (a cold camera: counts unknown, not 0)


def _epoch(v: Any) -> float:
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp()
    return float(v)


@dataclass
class ObservationPoller:
    """Reads new observations every ``period`` seconds, recording when each became visible.

    Rows are found by id; ids from a PostgreSQL sequence can commit out of order across
    concurrent writers, so every poll re-reads an overlap of ids below the highest seen."""

    url: str
    period: float = 1.0
    overlap: int = 3_000
    rows: list[Row] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""
    has_slot: bool = False

    def __post_init__(self) -> None:
        from sqlalchemy import create_engine

        from store.models import Observation

        kw: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kw["connect_args"] = {"timeout": 30}
        self._engine = create_engine(self.url, **kw)
        self._table = Observation.__table__
        self.has_slot = "slot" in self._table.c
        self._seen: set[int] = set()
        self._max_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="obs-poller", daemon=True)

    def start(self) -> ObservationPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.poll()
        self._engine.dispose()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.poll()

    def poll(self) -> int:
        from sqlalchemy import select

        c = self._table.c
        cols = [c.id, c.camera_id, c.ts, c.people] + ([c.slot] if self.has_slot else [])
        q = select(*cols).where(c.id > self._max_id - self.overlap).order_by(c.id)
        try:
            with self._engine.connect() as conn:
                fetched = conn.execute(q).all()
        except Exception as exc:  # noqa: BLE001 - count and go on; the writer may hold a lock
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            return 0
        now = time.time()
        new = 0
        for r in fetched:
            if r.id in self._seen:
                continue
            self._seen.add(r.id)
            self._max_id = max(self._max_id, r.id)
            ts = _epoch(r.ts)
            slot = _epoch(r.slot) if self.has_slot and r.slot is not None else ts
            self.rows.append(Row(int(r.camera_id), slot, ts, now, r.people is None))
            new += 1
        return new

    def count(self) -> int:
        return len(self.rows)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100.0 * len(s) + 0.5)) - 1))
    return s[k]
