"""The notification dispatcher: delivers the outbox (:mod:`store.outbox`).

One loop: lease a batch of due rows (:func:`store.outbox.claim`, committed), send each through
its channel (:class:`ingestion.notify.channels.Senders`) outside any transaction, then mark it
delivered, or pending again with an exponential backoff (jitter, cap), or dead. It runs as a
thread of ``pantau run`` (``PANTAU_NOTIFY_ENABLED``) and as its own process, ``pantau notify``;
any number of them may share one database: a row is leased to one dispatcher at a time.

Crash safety: a dispatcher killed between sending and marking leaves the row ``delivering``
with a lease; when the lease expires (``PANTAU_NOTIFY_LEASE_S``) a dispatcher sends it again
with the same ``delivery_id``, which the receiver deduplicates: exactly one acknowledged
delivery per (event, channel) as the receiver sees it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ingestion.notify.channels import DeliveryError, Senders
from store import outbox
from store.db import Database
from store.models import NotificationChannel

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


def default_worker_id() -> str:
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in socket.gethostname())[:40]
    return f"notify-{host}-{os.getpid()}"


class Dispatcher:
    """Delivers due outbox rows; :meth:`run_once` for one batch, :meth:`start` for a thread."""

    def __init__(
        self,
        settings: Any,
        database: Database,
        *,
        worker_id: str | None = None,
        batch: int = 20,
        mqtt_client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.db = database
        self.worker_id = worker_id or default_worker_id()
        self.batch = batch
        self.senders = Senders(settings, mqtt_client_id=mqtt_client_id or self.worker_id)
        self.stats = {"delivered": 0, "failed": 0, "dead": 0}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = outbox.on_new_messages(self._wake.set)
        outbox.use_settings(settings)
        if settings.notify_lease_s <= settings.notify_timeout_s * 2:
            logger.warning(
                "PANTAU_NOTIFY_LEASE_S (%g s) should be well above PANTAU_NOTIFY_TIMEOUT_S "
                "(%g s): a slow send could outlive its lease and be sent by another dispatcher "
                "at the same time (receivers deduplicate it, but it is wasted)",
                settings.notify_lease_s,
                settings.notify_timeout_s,
            )

    def _channels(self, ids: set[int]) -> dict[int, NotificationChannel]:
        with self.db.session() as s:
            rows = s.scalars(select(NotificationChannel).where(NotificationChannel.id.in_(ids)))
            return {c.id: c for c in rows}

    def run_once(self) -> int:
        """Lease and deliver one batch; returns how many rows were handled."""
        with self.db.session() as s:
            claimed = outbox.claim(
                s, self.worker_id, limit=self.batch, lease_s=self.settings.notify_lease_s
            )
        if not claimed:
            return 0
        channels = self._channels({c.channel_id for c in claimed})
        failing: dict[int, str] = {}  # channel id -> error of a retryable failure this batch
        for msg in claimed:
            if self._stop.is_set():
                break  # the lease runs out and another dispatcher (or the next start) sends it
            with self.db.session() as s:
                if msg.channel_id in failing:
                    # the channel just failed: the others wait for the next round instead of
                    # each waiting out the same timeout (their claim is not an attempt)
                    outbox.release(
                        s,
                        msg,
                        self.settings.notify_retry_base_s,
                        f"not tried: the channel failed just before ({failing[msg.channel_id]})",
                    )
                    continue
                # a fresh lease for the send: rows claimed earlier in a slow batch may have
                # expired and gone to another dispatcher, which then sends them instead
                if not outbox.renew(s, msg, self.settings.notify_lease_s):
                    logger.info("notification %s: lease lost, not sending", msg.delivery_id)
                    continue
            error = self._deliver(msg, channels.get(msg.channel_id))
            if error is not None:
                failing[msg.channel_id] = error
        return len(claimed)

    def _deliver(self, msg: outbox.Claimed, channel: NotificationChannel | None) -> str | None:
        """Send one message and record the outcome; returns the error of a retryable failure
        (None when delivered or dead)."""
        s = self.settings
        try:
            if channel is None:
                raise DeliveryError("the channel was deleted", permanent=True)
            if not channel.enabled and msg.event_type != "test":
                raise DeliveryError("the channel is disabled", permanent=True)
            note = self.senders.send(channel.kind, channel.config or {}, msg)
        except DeliveryError as exc:
            with self.db.session() as session:
                status = outbox.mark_failed(
                    session,
                    msg,
                    str(exc),
                    max_attempts=s.notify_max_attempts,
                    base_s=s.notify_retry_base_s,
                    cap_s=s.notify_retry_cap_s,
                    permanent=exc.permanent,
                )
            self.stats["dead" if status == "dead" else "failed"] += 1
            log = logger.error if status == "dead" else logger.warning
            log(
                "notification %s (%s) to %s attempt %d failed%s: %s",
                msg.delivery_id,
                msg.event_type,
                channel.name if channel else msg.channel_id,
                msg.attempts,
                " -> dead letter" if status == "dead" else "",
                exc,
            )
            return None if exc.permanent else str(exc)[:200]
        except Exception:  # a bug in a sender must not kill the dispatcher
            logger.exception("notification %s: unexpected error", msg.delivery_id)
            with self.db.session() as session:
                outbox.mark_failed(
                    session,
                    msg,
                    "internal error (see the log)",
                    max_attempts=s.notify_max_attempts,
                    base_s=s.notify_retry_base_s,
                    cap_s=s.notify_retry_cap_s,
                )
            self.stats["failed"] += 1
            return "internal error"
        with self.db.session() as session:
            outbox.mark_delivered(session, msg)
        self.stats["delivered"] += 1
        logger.info(
            "notification %s (%s) delivered to %s: %s",
            msg.delivery_id,
            msg.event_type,
            channel.name,
            note,
        )
        return None

    def run(self) -> None:
        """Loop until :meth:`stop`: deliver due rows, sleep ``notify_poll_s`` when idle (a
        commit in this process that enqueued something wakes it at once)."""
        backoff = 0.0
        next_prune = time.monotonic() + 60.0
        while not self._stop.is_set():
            try:
                n = self.run_once()
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY_S
                    self.prune()
                backoff = 0.0
            except SQLAlchemyError as exc:
                backoff = min(60.0, max(1.0, backoff * 2))
                logger.warning(
                    "notification dispatcher: database error (%s); retry in %.0f s", exc, backoff
                )
                self._stop.wait(backoff)
                continue
            if n == 0:
                self._wake.wait(self.settings.notify_poll_s)
                self._wake.clear()

    def prune(self) -> int:
        """Drop delivered rows older than ``notify_retention_days`` (0: keep)."""
        days = self.settings.notify_retention_days
        if not days:
            return 0
        with self.db.session() as s:
            n = outbox.prune(s, outbox.utcnow() - timedelta(days=days))
        if n:
            logger.info(
                "notification outbox: %d delivered row(s) older than %d days pruned", n, days
            )
        return n

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self.run, name="pantau-notify", daemon=True)
        self._thread.start()
        logger.info("notification dispatcher %s started", self.worker_id)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._unsubscribe()
        self.senders.close()

    def drain(self, timeout: float = 30.0) -> int:
        """Deliver until nothing is due (or ``timeout``); returns rows handled (tests, --once)."""
        end = time.monotonic() + timeout
        total = 0
        while time.monotonic() < end:
            n = self.run_once()
            total += n
            if n == 0:
                break
        return total
