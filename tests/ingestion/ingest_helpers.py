"""Helpers shared by the ingestion tests (imported by name: this folder is on sys.path)."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from pathlib import Path
from typing import IO

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DATA = Path(__file__).resolve().parent.parent / "data"
VIDEO = TEST_DATA / "vtest_trim.avi"


def require_service(name: str, reason: str) -> None:
    """Fail in CI, skip elsewhere (same rule as tests/conftest.py)."""
    message = f"{name} unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: services must be running)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readline_within(stream: IO[str] | None, timeout: float) -> str:
    """One line from a child process's pipe, or "" when none came within ``timeout`` seconds.

    ``stream.readline()`` alone blocks for ever on a child that hangs without printing (or
    prints half a line); here a reader thread does the blocking read and we wait for it with a
    deadline. (After a timeout that thread ends when the caller kills the child.)"""
    if stream is None:
        return ""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def wait_for(predicate, timeout: float, interval: float = 0.2):  # noqa: ANN001
    """Poll ``predicate`` until truthy (returned) or ``timeout`` (returns the last value)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def make_camera(session, code: str, url: str, protocol: str, **kw):  # noqa: ANN001, ANN201
    """Insert a camera row for tests."""
    from store.models import Camera

    cam = Camera(
        code=code,
        name=kw.pop("name", code),
        lat=-2.99,
        lon=104.76,
        stream_url=url,
        protocol=protocol,
        sample_interval_s=kw.pop("sample_interval_s", 1),
        **kw,
    )
    session.add(cam)
    session.flush()
    return cam


def forget_mqtt_session(host: str, port: int, client_id: str) -> None:
    """Drop a persistent MQTT session a test left in the broker (connect clean, disconnect)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect(host, port)
    client.loop_start()
    try:
        wait_for(client.is_connected, 5)
    finally:
        client.disconnect()
        client.loop_stop()
