"""A durable, append-only spool file: messages land here (fsynced) before they are
acknowledged to their sender, and a consumer replays them in order into the database.

Used by the MQTT sensor subscriber (``ingestion/sensors.py``), so a database outage or a
restart loses nothing the broker was told is safe.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class SpoolFull(RuntimeError):
    pass


class SpoolInUse(OSError):
    """Another subscriber (same client id) holds the spool: only one may consume a session."""


class Spool:
    """Append-only file of MQTT messages on their way to the database, replayed in order.

    One JSON line per message: ``{"at": received ISO time, "topic": ..., "payload": text}``;
    ``sync()`` (fsync) runs before the messages are acknowledged to the broker.
    ``<name>.offset`` holds the byte offset of the first entry not yet in the database, advanced
    after the entries' commits: a crash in between replays a few entries, a no-op since writes
    are idempotent on sensor + ts and a reading without ts gets the spooled arrival time. Once
    everything is written the file is truncated. A torn last line (a crash mid-append, never
    acknowledged) is cut off at open. The file is locked (flock): one subscriber per spool.
    ``append``/``sync`` come from one thread and ``read``/``advance`` from another.
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.offset_path = path.with_name(path.name + ".offset")
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._torn = False
        # unbuffered, O_APPEND: a failed write (disk full) is cut back, never left half in a buffer
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise SpoolInUse(
                f"sensor spool {path} is in use by another subscriber (same MQTT client id?)"
            ) from None
        self.size = os.fstat(self._fd).st_size
        self._cut_torn_tail()
        self.offset = self._read_offset()
        if self.pending:
            logger.warning(
                "sensor spool %s holds %d bytes not yet in the database: replaying them first",
                path,
                self.size - self.offset,
            )

    def _cut_torn_tail(self) -> None:
        if not self.size:
            return
        with open(self.path, "rb") as f:
            f.seek(self.size - 1)
            if f.read(1) == b"\n":
                return
            f.seek(0)
            cut = f.read().rfind(b"\n") + 1  # rare: only after a crash mid-append
        logger.warning(
            "sensor spool %s: cutting a torn last entry (%d bytes, never acknowledged)",
            self.path,
            self.size - cut,
        )
        os.ftruncate(self._fd, cut)
        self.size = cut

    def _read_offset(self) -> int:
        try:
            offset = int(self.offset_path.read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0
        return offset if 0 <= offset <= self.size else 0

    @property
    def pending(self) -> bool:
        return self.offset < self.size

    def append(self, received_at: datetime, topic: str, raw: bytes) -> None:
        """Add one message (durable after ``sync``). Raises SpoolFull past ``max_bytes``."""
        line = (
            json.dumps(
                {"at": received_at.isoformat(), "topic": topic, "payload": raw.decode("utf-8")},
                ensure_ascii=False,
            )
            + "\n"
        ).encode("utf-8")
        with self._lock:
            if self.size + len(line) > self.max_bytes:
                raise SpoolFull(
                    f"sensor spool {self.path} is full ({self.size} of {self.max_bytes} bytes)"
                )
            if self._torn:
                line = b"\n" + line  # ends a fragment that could not be cut back
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, self.size)
                except OSError:
                    self._torn = True
                    self.size = os.fstat(self._fd).st_size
                raise SpoolFull(f"cannot write the sensor spool {self.path}: {exc}") from exc
            self._torn = False
            self.size += len(line)

    def sync(self) -> None:
        os.fsync(self._fd)

    def read(self, limit: int = 200) -> list[tuple[int, dict[str, Any] | None, bytes]]:
        """Up to ``limit`` entries from the offset: (end offset, entry or None if corrupt, line)."""
        with self._lock:
            pos, end = self.offset, self.size
        out: list[tuple[int, dict[str, Any] | None, bytes]] = []
        with open(self.path, "rb") as f:
            f.seek(pos)
            while len(out) < limit and pos < end:
                line = f.readline()
                if not line.endswith(b"\n"):
                    break  # being appended right now
                pos += len(line)
                if not line.strip():
                    out.append((pos, None, b""))  # a blank line: skipped
                    continue
                try:
                    entry = json.loads(line)
                    if not isinstance(entry, dict) or not {"at", "payload"} <= entry.keys():
                        entry = None
                except ValueError:
                    entry = None
                out.append((pos, entry, line))
        return out

    def advance(self, offset: int) -> None:
        """Everything before ``offset`` is in the database; truncate when all of it is."""
        with self._lock:
            self.offset = offset
            if offset >= self.size:
                os.ftruncate(self._fd, 0)
                self.size = self.offset = 0
            tmp = self.offset_path.with_name(self.offset_path.name + ".tmp")
            tmp.write_text(str(self.offset))
            os.replace(tmp, self.offset_path)

    def close(self) -> None:
        os.close(self._fd)
