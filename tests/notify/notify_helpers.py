"""Shared pieces of the notification tests: a camera, a channel with a route, outbox reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.models import Camera, NotificationChannel, OutboxMessage
from store.notify_channels import save_channel


def add_camera(session, code: str = "PLG-CHARITAS", name: str = "Simpang Charitas") -> Camera:
    cam = Camera(
        code=code,
        name=name,
        lat=-2.98,
        lon=104.76,
        kecamatan="Ilir Timur I",
        address="Jl. Jend. Sudirman",
    )
    session.add(cam)
    session.flush()
    return cam


def add_channel(
    session,
    name: str = "hook",
    kind: str = "webhook",
    config: dict[str, Any] | None = None,
    *,
    rule: str = "*",
    min_severity: str = "info",
    events: list[str] | None = None,
    quiet: tuple[str, str] | None = None,
) -> NotificationChannel:
    return save_channel(
        session,
        name=name,
        kind=kind,
        config=config if config is not None else {"url": "http://127.0.0.1:9/hook"},
        rule=rule,
        min_severity=min_severity,
        events=events or [],
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
    )


def outbox_rows(db) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# -- a loopback webhook receiver that deduplicates on X-Pantau-Delivery -------------------------
import hashlib  # noqa: E402
import hmac  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.05):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """How a receiver checks X-Pantau-Signature (README): HMAC-SHA256 of the raw body."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers requests by a script: ints are status codes, "hang" waits ``hang_s`` before a
    late 200 (the sender has timed out by then), "process-and-hang" records the delivery as
    processed and then blocks until :attr:`release` is set (a dispatcher killed meanwhile never
    hears back). After the script: 200. A delivery id seen before is answered 200 and not
    processed again (what an idempotent receiver does)."""

    script: list = field(default_factory=list)
    hang_s: float = 3.0
    requests: list[Request] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)  # delivery ids acknowledged and acted on
    release: threading.Event = field(default_factory=threading.Event)
    got_first: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                did = self.headers.get("X-Pantau-Delivery", "")
                with rec.lock:
                    rec.requests.append(Request(self.path, dict(self.headers), body))
                    action = rec.script.pop(0) if rec.script else 200
                rec.got_first.set()
                if action == "hang":
                    rec.release.wait(rec.hang_s)
                    action = 200
                elif action == "process-and-hang":
                    with rec.lock:
                        rec.processed.append(did)
                    rec.release.wait(60)
                    return  # the sender is gone
                if action == 200:
                    with rec.lock:
                        if did not in rec.processed:
                            rec.processed.append(did)
                try:
                    self.send_response(action)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
