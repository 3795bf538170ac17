"""Per-camera analysis state, kept outside the Analyser objects.

What the analytics carry from one sample of a camera to the next (a background estimate, the
last counts...) is a small blob (``Analyser.export_state()``, <= 64 KiB). Any worker may take a
camera's next sample: it loads the blob (process cache -> database or Redis), restores it into
an Analyser, analyses, exports the new blob and puts it back. A process holds blobs within a
memory budget (``Settings.analysis_state_budget_mb``), never a camera count.

API (stable; the local pool and the Celery tasks use it)::

    StoredState(config_key: str, blob: bytes, sample_ts: float, warm: bool = True)
        sample_ts: epoch seconds of the frame last folded into the state; config_key: the
        analytics configuration it was built for (another configuration does not load it)

    DatabaseStateStore(database: store.db.Database, *, shared=False)
        table ``camera_states``; local pool: written behind (on eviction, every
        ``analysis_state_flush_s`` and on shutdown), so a restart resumes warm;
        ``shared=True`` when several processes sample the same cameras (written through)
    RedisStateStore(url_or_client: str | redis.Redis, *, prefix="pantau:state:",
                    ttl_s=7 * 86400)
    RedisStateStore.from_settings(settings)   # analysis_state_redis_url or the Celery broker
        Celery: hash ``pantau:state:<camera_id>`` {ts, config, warm, state}, written through
        on every sample by a Lua script that never lets an older sample's state replace a
        newer one; reads fetch the blob only when it is newer than the cached copy

    StateStore (their base): get(camera_id, newer_than=None) -> StoredState | None,
        head(camera_id) -> StoredState | None (no blob: config_key, sample_ts, warm),
        put(camera_id, state) -> bool (False: a newer state is stored), put_many({id: state})
        -> int, delete(camera_id), close(); ``shared`` is True when other processes write it

    StateCache(budget_bytes, store=None, *, flush_every_s=300.0, flush_batch=100)
        get(camera_id, config_key) -> StoredState | None, put(camera_id, state),
        discard(camera_id), maybe_flush(), flush() -> int, close(), stats (dict), nbytes, len()

``ingestion.process.SampleProcessor(settings, states=store)`` builds the cache from the settings
around the store it is given (``None``: process memory only, states lost on eviction).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

#: bytes a cache entry costs beyond its blob (dict slot, dataclass, key, bytes header)
ENTRY_OVERHEAD = 256


@dataclass(frozen=True, slots=True)
class StoredState:
    """One camera's serialised analysis state."""

    config_key: str
    blob: bytes
    sample_ts: float  # epoch seconds of the last frame folded in
    warm: bool = True

    @property
    def nbytes(self) -> int:
        return len(self.blob) + len(self.config_key) + ENTRY_OVERHEAD


class StateStore(ABC):
    """Where states outlive a process's cache."""

    #: other processes read and write it too: reads check it, writes go through at once
    shared: bool = False

    @abstractmethod
    def get(self, camera_id: int, newer_than: float | None = None) -> StoredState | None:
        """The stored state, or None (none stored, or not newer than ``newer_than``)."""

    @abstractmethod
    def head(self, camera_id: int) -> StoredState | None:
        """The stored state without its blob (``blob == b""``): is there one, for which
        configuration, how recent, warm? For a fetch stage deciding on a warm-up."""

    @abstractmethod
    def put_many(self, states: Mapping[int, StoredState]) -> int:
        """Store states unless a newer one is stored; returns how many were written."""

    def put(self, camera_id: int, state: StoredState) -> bool:
        return self.put_many({camera_id: state}) == 1

    @abstractmethod
    def delete(self, camera_id: int) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional
        pass


class DatabaseStateStore(StateStore):
    """States in the ``camera_states`` table. Local pool: private to the worker that owns the
    camera (written behind). ``shared=True``: several processes sample the same cameras
    (written through, newer states read back), e.g. Celery without Redis for states."""

    def __init__(self, database: Any, *, shared: bool = False) -> None:
        self.db = database
        self.shared = shared

    def get(self, camera_id: int, newer_than: float | None = None) -> StoredState | None:
        from store.models import CameraState

        with self.db.session() as s:
            row = s.get(CameraState, int(camera_id))
            if row is None:
                return None
            ts = row.sample_ts.timestamp()
            if newer_than is not None and ts <= newer_than:
                return None
            return StoredState(row.config_key, bytes(row.state), ts, bool(row.warm))

    def head(self, camera_id: int) -> StoredState | None:
        from sqlalchemy import select

        from store.models import CameraState

        with self.db.session() as s:
            row = s.execute(
                select(CameraState.config_key, CameraState.sample_ts, CameraState.warm).where(
                    CameraState.camera_id == int(camera_id)
                )
            ).first()
        if row is None:
            return None
        return StoredState(row.config_key, b"", row.sample_ts.timestamp(), bool(row.warm))

    def put_many(self, states: Mapping[int, StoredState]) -> int:
        from store.writes import write_camera_states

        if not states:
            return 0
        rows = [
            {
                "camera_id": cam_id,
                "config_key": st.config_key,
                "state": st.blob,
                "warm": st.warm,
                "sample_ts": datetime.fromtimestamp(st.sample_ts, UTC),
            }
            for cam_id, st in states.items()
        ]
        with self.db.session() as s:
            return write_camera_states(s, rows)

    def delete(self, camera_id: int) -> None:
        from sqlalchemy import delete

        from store.models import CameraState

        with self.db.session() as s:
            s.execute(delete(CameraState).where(CameraState.camera_id == int(camera_id)))


_PUT_LUA = """
local cur = redis.call('HGET', KEYS[1], 'ts')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'ts', ARGV[1], 'config', ARGV[2], 'warm', ARGV[3], 'state', ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
"""

_GET_LUA = """
local ts = redis.call('HGET', KEYS[1], 'ts')
if not ts then return false end
if ARGV[1] ~= '' and tonumber(ts) <= tonumber(ARGV[1]) then return {ts} end
return redis.call('HMGET', KEYS[1], 'ts', 'config', 'warm', 'state')
"""


class RedisStateStore(StateStore):
    """States in Redis, shared by every Celery worker (key ``<prefix><camera_id>``)."""

    shared = True

    def __init__(
        self, url_or_client: Any, *, prefix: str = "pantau:state:", ttl_s: int = 7 * 86400
    ) -> None:
        import redis

        if isinstance(url_or_client, str):
            self.client = redis.Redis.from_url(
                url_or_client, socket_connect_timeout=5, socket_timeout=10
            )
            self._own = True
        else:
            self.client = url_or_client
            self._own = False
        self.prefix = prefix
        self.ttl_s = int(ttl_s)
        self._put = self.client.register_script(_PUT_LUA)
        self._get = self.client.register_script(_GET_LUA)

    @classmethod
    def from_settings(cls, settings: Any) -> RedisStateStore:
        url = settings.analysis_state_redis_url or settings.celery_broker_url
        return cls(url, ttl_s=settings.analysis_state_ttl_s)

    def key(self, camera_id: int) -> str:
        return f"{self.prefix}{int(camera_id)}"

    def get(self, camera_id: int, newer_than: float | None = None) -> StoredState | None:
        arg = "" if newer_than is None else repr(float(newer_than))
        got = self._get(keys=[self.key(camera_id)], args=[arg])
        if not got or len(got) < 4 or got[3] is None:
            return None
        ts, config, warm, blob = got
        return StoredState(config.decode(), bytes(blob), float(ts), warm == b"1")

    def head(self, camera_id: int) -> StoredState | None:
        ts, config, warm = self.client.hmget(self.key(camera_id), ["ts", "config", "warm"])
        if ts is None or config is None:
            return None
        return StoredState(config.decode(), b"", float(ts), warm == b"1")

    def put_many(self, states: Mapping[int, StoredState]) -> int:
        if not states:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for cam_id, st in states.items():
            self._put(
                keys=[self.key(cam_id)],
                args=[repr(float(st.sample_ts)), st.config_key, int(st.warm), st.blob, self.ttl_s],
                client=pipe,
            )
        return sum(int(x) for x in pipe.execute())

    def delete(self, camera_id: int) -> None:
        self.client.delete(self.key(camera_id))

    def close(self) -> None:
        if self._own:
            self.client.close()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    loads: int = 0  # misses answered by the store
    evictions: int = 0
    writes: int = 0  # states written to the store
    stale: int = 0  # writes refused: the store had a newer state
    write_errors: int = 0
    dropped: int = 0  # evicted states lost because the store was unreachable too long


class StateCache:
    """In-process LRU of serialised states bounded by ``budget_bytes``, over a store.

    With a private store (database) changed states are written behind: when evicted (in
    batches of ``flush_batch``), at least every ``flush_every_s`` and on ``close()``. With a
    shared store (Redis) every ``put`` goes through at once and every ``get`` asks the store
    for a newer state first (another worker may have sampled the camera since). Evicted states
    waiting for the store count against the budget (a quarter of it is kept for them); if the
    store stays unreachable the oldest of them are dropped (those cameras warm up again), so
    memory stays bounded. Thread-safe.
    """

    def __init__(
        self,
        budget_bytes: int,
        store: StateStore | None = None,
        *,
        flush_every_s: float = 300.0,
        flush_batch: int = 100,
    ) -> None:
        if budget_bytes <= 0:
            raise ValueError("budget_bytes must be positive")
        self.budget = int(budget_bytes)
        self.store = store
        #: evicted states waiting for the store may use this much of the budget
        self.pending_cap = 0 if store is None else self.budget // 4
        self.flush_every_s = flush_every_s
        self.flush_batch = max(1, flush_batch)
        self._lru: OrderedDict[int, StoredState] = OrderedDict()
        self._dirty: set[int] = set()
        self._pending: OrderedDict[int, StoredState] = OrderedDict()  # evicted, not yet stored
        self._bytes = 0
        self._pending_bytes = 0
        self._lock = threading.RLock()
        self._io_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._stats = CacheStats()

    # -- reading ------------------------------------------------------------------------------
    def get(self, camera_id: int, config_key: str) -> StoredState | None:
        """The camera's state for this analytics configuration, or None (cold)."""
        with self._lock:
            cached = self._lru.get(camera_id)
            if cached is not None:
                self._lru.move_to_end(camera_id)
            else:
                cached = self._pending.pop(camera_id, None)
                if cached is not None:  # evicted but not written yet: take it back
                    self._pending_bytes -= cached.nbytes
                    self._insert(camera_id, cached, dirty=True)
        fresh: StoredState | None = None
        if self.store is not None and (cached is None or self.store.shared):
            try:
                fresh = self.store.get(
                    camera_id, newer_than=cached.sample_ts if cached is not None else None
                )
            except Exception as exc:
                logger.warning("cannot read the analysis state of camera %s: %s", camera_id, exc)
        with self._lock:
            if fresh is not None:
                self._stats.loads += 1
                self._insert(camera_id, fresh, dirty=False)
                state: StoredState | None = fresh
            else:
                state = cached
            if state is None:
                self._stats.misses += 1
                return None
            if fresh is None:
                self._stats.hits += 1
            if state.config_key != config_key:
                self._stats.misses += 1
                return None  # built for another configuration: cold
            return state

    # -- writing ------------------------------------------------------------------------------
    def put(self, camera_id: int, state: StoredState) -> None:
        """Keep the camera's new state (and write it through to a shared store)."""
        if self.store is not None and self.store.shared:
            try:
                if not self.store.put(camera_id, state):
                    self._stats.stale += 1
                    with self._lock:  # another worker stored a newer one: drop ours
                        self._remove(camera_id)
                    return
                self._stats.writes += 1
                dirty = False
            except Exception as exc:
                self._stats.write_errors += 1
                logger.warning("cannot store the analysis state of camera %s: %s", camera_id, exc)
                dirty = True
        else:
            dirty = self.store is not None
        with self._lock:
            self._insert(camera_id, state, dirty=dirty)
            full = len(self._pending) >= self.flush_batch
            over = self._pending_bytes > self.pending_cap
        if full or over:
            self._write_pending()
            if over:
                with self._lock:
                    self._trim_pending()

    def discard(self, camera_id: int) -> None:
        """Forget a camera's state here and in the store (camera moved or re-aimed)."""
        with self._lock:
            self._remove(camera_id)
            pend = self._pending.pop(camera_id, None)
            if pend is not None:
                self._pending_bytes -= pend.nbytes
        if self.store is not None:
            try:
                self.store.delete(camera_id)
            except Exception as exc:
                logger.warning("cannot delete the analysis state of camera %s: %s", camera_id, exc)

    def _remove(self, camera_id: int) -> None:
        old = self._lru.pop(camera_id, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._dirty.discard(camera_id)

    def _insert(self, camera_id: int, state: StoredState, *, dirty: bool) -> None:
        self._remove(camera_id)
        pend = self._pending.pop(camera_id, None)
        if pend is not None:
            self._pending_bytes -= pend.nbytes
        if state.nbytes > self.budget:
            logger.warning(
                "analysis state of camera %s (%d B) exceeds the whole cache budget",
                camera_id,
                state.nbytes,
            )
            if dirty:
                self._pend(camera_id, state)
            return
        self._lru[camera_id] = state
        self._bytes += state.nbytes
        if dirty:
            self._dirty.add(camera_id)
        self._evict()

    def _evict(self) -> None:
        while self._lru and self._bytes > self.budget - self.pending_cap:
            cam_id, old = self._lru.popitem(last=False)
            self._bytes -= old.nbytes
            self._stats.evictions += 1
            if cam_id in self._dirty:
                self._dirty.discard(cam_id)
                self._pend(cam_id, old)

    def _trim_pending(self) -> None:
        """Drop the oldest evicted states the store could not take (it is unreachable)."""
        while self._pending and self._pending_bytes > self.pending_cap:
            cam_id, old = self._pending.popitem(last=False)
            self._pending_bytes -= old.nbytes
            self._stats.dropped += 1
            logger.warning("dropped the unsaved analysis state of camera %s", cam_id)

    def _pend(self, camera_id: int, state: StoredState) -> None:
        self._pending[camera_id] = state
        self._pending_bytes += state.nbytes

    def _write(self, states: dict[int, StoredState]) -> bool:
        if self.store is None or not states:
            return True
        try:
            written = self.store.put_many(states)
        except Exception as exc:
            self._stats.write_errors += 1
            logger.warning("cannot write %d analysis states (will retry): %s", len(states), exc)
            return False
        self._stats.writes += written
        self._stats.stale += len(states) - written
        return True

    def _write_pending(self) -> None:
        with self._io_lock:
            with self._lock:
                batch = dict(self._pending)
            for chunk in _chunks(batch, self.flush_batch):
                if not self._write(chunk):
                    return
                with self._lock:
                    for cam_id, st in chunk.items():
                        if self._pending.get(cam_id) is st:
                            del self._pending[cam_id]
                            self._pending_bytes -= st.nbytes

    def flush(self) -> int:
        """Write every changed state to the store now. Returns states written."""
        self._last_flush = time.monotonic()
        if self.store is None:
            return 0
        before = self._stats.writes + self._stats.stale
        self._write_pending()
        with self._io_lock:
            with self._lock:
                dirty = {c: self._lru[c] for c in self._dirty if c in self._lru}
            for chunk in _chunks(dirty, self.flush_batch):
                if not self._write(chunk):
                    break
                with self._lock:
                    for cam_id, st in chunk.items():
                        if self._lru.get(cam_id) is st:
                            self._dirty.discard(cam_id)
        return self._stats.writes + self._stats.stale - before

    def maybe_flush(self) -> None:
        """``flush()`` when ``flush_every_s`` has passed since the last one."""
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def close(self) -> None:
        """Flush and close the store."""
        self.flush()
        if self.store is not None:
            self.store.close()

    # -- reporting ----------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes + self._pending_bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._lru)

    @property
    def stats(self) -> dict[str, Any]:
        with self._lock:
            d = dict(self._stats.__dict__)
            d.update(
                entries=len(self._lru),
                bytes=self._bytes + self._pending_bytes,
                budget=self.budget,
                dirty=len(self._dirty),
                pending=len(self._pending),
            )
            return d


def _chunks(items: dict[int, StoredState], n: int):
    batch: dict[int, StoredState] = {}
    for k, v in items.items():
        batch[k] = v
        if len(batch) >= n:
            yield batch
            batch = {}
    if batch:
        yield batch
