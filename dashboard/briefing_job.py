"""The daily briefing as a message: once a day at ``briefing_time`` (07:00 in the display time
zone) yesterday's briefing goes into the notification outbox (``store.outbox.enqueue``, event
``briefing.daily``), for the channels whose routes take that event.

Once means once: the outbox key is ``briefing:<YYYY-MM-DD>`` (the day reported on), and the
outbox keeps one row per (key, channel), so restarts, several ``pantau run`` processes or a
manual ``pantau briefing send`` on the same day add nothing. A process that starts after 07:00
sends the day's briefing then (until midnight), so a restart at 07:01 does not skip a day.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pantau.settings import Settings
from store.db import Database

logger = logging.getLogger(__name__)

EVENT = "briefing.daily"
PATH = "/laporan-harian"


def briefing_key(day: date) -> str:
    """The outbox key of the briefing about ``day``: one message per day and channel."""
    return f"briefing:{day.isoformat()}"


def base_url(settings: Settings) -> str:
    return (settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def enqueue_briefing(
    database: Database, settings: Settings, day: date | None = None, now: datetime | None = None
) -> list[int]:
    """Put the briefing about ``day`` (default: yesterday, local) into the outbox; returns the
    new outbox row ids (empty when no channel takes ``briefing.daily`` or it was sent)."""
    from dashboard.briefing_text import briefing_message
    from dashboard.queries.briefing import briefing, yesterday
    from store.outbox import enqueue

    now = now or datetime.now(UTC)
    tz = settings.timezone
    day = day or yesterday(now, tz)
    url = f"{base_url(settings)}{PATH}?tanggal={day.isoformat()}"
    with database.session() as s:
        b = briefing(s, day, tz, now=now)
        title, text = briefing_message(b, tz, settings.language, url)
        ids = enqueue(
            s,
            EVENT,
            {"title": title, "text": text, "url": url, "day": day.isoformat()},
            key=briefing_key(day),
            now=now,
            settings=settings,
        )
    logger.info("daily briefing for %s: %d outbox row(s) written", day, len(ids))
    return ids


class BriefingSchedule:
    """Decides when the briefing is due; :meth:`step` is cheap and called every minute."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
        send: Callable[..., list[int]] = enqueue_briefing,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.send = send
        hour, minute = (int(x) for x in settings.briefing_time.split(":"))
        self.send_at = hour * 60 + minute
        self.done: date | None = None  # the local day this process sent (or tried) on

    def step(self) -> bool:
        """Send today's briefing if it is due and this process has not yet; True if it did."""
        now = self.clock()
        local = now.astimezone(ZoneInfo(self.settings.timezone))
        if local.hour * 60 + local.minute < self.send_at or self.done == local.date():
            return False
        self.send(self.database, self.settings, now=now)
        self.done = local.date()
        return True


def start_briefing_thread(
    database: Database, settings: Settings, every_s: float = 60.0
) -> threading.Event | None:
    """Run :class:`BriefingSchedule` in a daemon thread (``pantau run``); set the returned
    event to stop it. None when ``briefing_enabled`` is off."""
    if not settings.briefing_enabled:
        return None
    schedule = BriefingSchedule(database, settings)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                schedule.step()
            except Exception:  # retried at the next minute; never kills the server
                logger.exception("daily briefing: sending failed (will retry)")
            stop.wait(every_s)

    threading.Thread(target=loop, name="pantau-briefing", daemon=True).start()
    return stop
