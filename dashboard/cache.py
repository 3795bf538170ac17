"""Shared short-lived query caches (Flask-Caching; SimpleCache in-process by default).

Dashboards are read by many screens at once (the wall, operators, the mayor's phone): the same
query within a few seconds is answered once. Outside a Flask app (unit tests, benches) a small
in-process dict does the same job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, has_app_context
from flask_caching import Cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
cache = Cache()
_local: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()
_enabled = True


def init_app(server, config: dict[str, Any] | None = None) -> None:
    cache.init_app(server, config=config or {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000})


def _flask_cache() -> Cache | None:
    if has_app_context() and "cache" in current_app.extensions:
        for c in current_app.extensions["cache"]:
            if c is cache:
                return cache
    return None


def memo(key: str, ttl: int, build: Callable[[], T]) -> T:
    """The cached value for ``key`` (seconds ``ttl``), built with ``build()`` when missing."""
    if not _enabled:
        return build()
    fc = _flask_cache()
    if fc is not None:
        value = fc.get(key)
        if value is None:
            value = build()
            fc.set(key, value, timeout=ttl)
        return value
    now = time.monotonic()
    with _lock:
        hit = _local.get(key)
        if hit and hit[0] > now:
            return hit[1]
    value = build()
    with _lock:
        _local[key] = (now + ttl, value)
        if len(_local) > 500:
            for k in [k for k, (exp, _) in _local.items() if exp <= now]:
                _local.pop(k, None)
    return value


def clear() -> None:
    with _lock:
        _local.clear()
    fc = _flask_cache()
    if fc is not None:
        fc.clear()


def set_enabled(flag: bool) -> None:
    global _enabled
    _enabled = flag
