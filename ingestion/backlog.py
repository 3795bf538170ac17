"""The writer's backlog: a FIFO that keeps a bounded number of items in memory and spills the
rest to a file, so a long database outage at city scale costs disk, not RAM.

10,693 cameras sampled once a minute hand the writer ~180 results a second. While the database
is down they wait; held in memory, a 30-minute outage is ~1.9 million Python objects. This queue
keeps at most ``memory_items`` in memory; the rest are appended as JSON lines to ``path``
(``var_dir/ingest/writer-backlog.jsonl``) and read back in order as the writer catches up.
Every item on disk is newer than every item in memory, so the order is kept.

When the writer stops while the database is still down, :meth:`persist` rewrites the file with
everything not yet written (the batch being retried first), and the next start replays it
first. Observations are idempotent on (camera, slot), so an item written twice is a no-op.

The file is locked (flock): one writer per ``var_dir``. A second writer on the same directory
keeps its backlog in memory (and says so), as before this module existed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestion.health import Transition
from ingestion.process import SampleResult

logger = logging.getLogger(__name__)

Item = SampleResult | Transition


# -- codec ------------------------------------------------------------------------------------
def _enc(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): _enc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if len(value) == 1 and "$b64" in value:
            return base64.b64decode(value["$b64"])
        return {k: _dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def encode(item: Item) -> bytes:
    """One JSON line (with its newline) for a result or a status transition."""
    kind = "r" if isinstance(item, SampleResult) else "t"
    body = {"k": kind, "v": _enc(asdict(item))}
    return (json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def decode(line: bytes) -> Item:
    body = json.loads(line)
    fields = _dec(body["v"])
    if body["k"] == "r":
        return SampleResult(**fields)
    if body["k"] == "t":
        return Transition(**fields)
    raise ValueError(f"unknown backlog entry kind {body['k']!r}")


# -- queue ------------------------------------------------------------------------------------
class SpillingQueue:
    """``put`` from any thread, ``get`` from one consumer (the writer thread).

    ``path=None`` (or a file another writer holds) keeps everything in memory.
    ``max_bytes`` caps the file; an item that does not fit is dropped and counted in
    ``dropped`` (logged), the only way this queue loses anything.
    """

    def __init__(
        self,
        path: Path | None,
        memory_items: int = 20_000,
        max_bytes: int = 2 * 1024**3,
        chunk: int = 1000,
    ) -> None:
        self.memory_items = max(1, memory_items)
        self.max_bytes = max_bytes
        self.chunk = max(1, chunk)
        self.dropped = 0
        self.spilled_total = 0  # items ever written to the file
        self._mem: deque[Item] = deque()
        self._cond = threading.Condition()
        self._fd: int | None = None
        self._size = 0  # bytes in the file
        self._read = 0  # bytes of the file already moved back to memory
        self._on_disk = 0  # items in the file not yet read back
        self.path = path
        if path is not None:
            self._open(path)

    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            logger.warning(
                "writer backlog %s is held by another writer (two ingest processes on one "
                "var_dir?): this writer keeps its backlog in memory",
                path,
            )
            self.path = None
            return
        self._fd = fd
        self._size = os.fstat(fd).st_size
        if self._size:
            with open(path, "rb") as f:
                data = f.read()
            cut = data.rfind(b"\n") + 1  # a torn last line (crash mid-append) is cut off
            if cut != len(data):
                os.ftruncate(fd, cut)
                self._size = cut
            self._on_disk = data[:cut].count(b"\n")
            if self._on_disk:
                logger.warning(
                    "writer backlog %s holds %d samples not yet in the database (left by the "
                    "last stop): writing them first",
                    path,
                    self._on_disk,
                )

    # -- producer side ------------------------------------------------------------------------
    def put(self, item: Item) -> None:
        with self._cond:
            if self._fd is not None and (self._on_disk or len(self._mem) >= self.memory_items):
                self._append([encode(item)])
            else:
                self._mem.append(item)
            self._cond.notify()

    def _append(self, lines: list[bytes]) -> None:
        """Append lines to the file (caller holds the lock). Lines past ``max_bytes`` are dropped."""
        assert self._fd is not None
        data = bytearray()
        kept = 0
        for line in lines:
            if self._size + len(data) + len(line) > self.max_bytes:
                self.dropped += len(lines) - kept
                logger.error(
                    "writer backlog %s is full (%d bytes): %d sample(s) dropped",
                    self.path,
                    self.max_bytes,
                    len(lines) - kept,
                )
                break
            data += line
            kept += 1
        if not data:
            return
        try:
            view = memoryview(bytes(data))
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            os.ftruncate(self._fd, self._size)  # never leave half a line behind
            self.dropped += kept
            logger.error("writer backlog %s: write failed (%s): %d dropped", self.path, exc, kept)
            return
        self._size += len(data)
        self._on_disk += kept
        self.spilled_total += kept

    # -- consumer side ------------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> Item:
        """The oldest item; raises ``queue.Empty`` after ``timeout`` seconds without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if not self._mem and self._on_disk:
                    self._refill()
                if self._mem:
                    return self._mem.popleft()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise queue.Empty
                self._cond.wait(remaining)

    def _refill(self) -> None:
        """Move up to ``chunk`` items from the file back to memory (caller holds the lock)."""
        assert self._fd is not None
        moved = 0
        pos = self._read
        bad = 0
        while moved < self.chunk and pos < self._size:
            block = os.pread(self._fd, min(1 << 20, self._size - pos), pos)
            if b"\n" not in block:  # one line longer than the block: read it whole
                block = os.pread(self._fd, self._size - pos, pos)
            end = 0
            while moved < self.chunk:
                nl = block.find(b"\n", end)
                if nl < 0:
                    break
                try:
                    self._mem.append(decode(block[end:nl]))
                except (ValueError, TypeError, KeyError) as exc:
                    bad += 1
                    logger.error("writer backlog %s: unreadable entry skipped: %s", self.path, exc)
                end = nl + 1
                moved += 1
            pos += end
        self._read = pos
        self._on_disk -= moved
        self.dropped += bad
        if self._read >= self._size:  # all read back: start the file afresh
            os.ftruncate(self._fd, 0)
            self._size = self._read = self._on_disk = 0

    # -- sizes and shutdown -------------------------------------------------------------------
    def qsize(self) -> int:
        with self._cond:
            return len(self._mem) + self._on_disk

    def empty(self) -> bool:
        return self.qsize() == 0

    @property
    def in_memory(self) -> int:
        return len(self._mem)

    @property
    def on_disk(self) -> int:
        return self._on_disk

    def persist(self, front: Iterable[Item] = ()) -> int:
        """Write ``front`` (a batch that could not be written) and everything still queued to
        the file, in order, for the next start to replay; returns how many items it holds.
        Without a file nothing can be kept and 0 is returned."""
        with self._cond:
            if self._fd is None or self.path is None:
                return 0
            head = [encode(i) for i in front] + [encode(i) for i in self._mem]
            rest = os.pread(self._fd, self._size - self._read, self._read) if self._on_disk else b""
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as f:
                f.writelines(head)
                f.write(rest)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)  # our flock stays on the old inode: reopen below
            os.close(self._fd)
            self._fd = None
            self._mem.clear()
            count = len(head) + self._on_disk
            self._size = self._read = self._on_disk = 0
            return count

    def close(self) -> None:
        with self._cond:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
