"""Notification channels and their routes: storage, routing and quiet hours.

A channel (``notification_channels``) is one destination: a webhook URL, an MQTT topic, e-mail
addresses, or an HTTP call built from URL and body templates. A route (``notification_routes``)
says which events the channel gets:

* **alert events** (``alert.*``) match a route when the alert's rule kind equals the route's
  ``rule`` (``*``: every kind; ``rule:<name>``: only the alerts of that named rule of
  ``alert_rules``), its severity is at least ``min_severity`` (info < warning <
  critical; a ``level`` of siaga/awas counts as critical, waspada as warning) and the event type
  is in ``events`` (empty: every event type; ``alert.*`` style prefixes work);
* **other events** (the daily briefing...) match on ``events`` only (empty: every event).

A channel gets an event when any of its enabled routes matches. Quiet hours (local time, e.g.
22:00-06:00) hold messages below critical until they end; critical (siaga) always goes.

Channels seeded from the ``PANTAU_NOTIFY_*`` settings have ``source='env'`` and a key in
``config['env']``; admins may change them on ``/admin/notifikasi`` (the environment gives only
the first values). Validation of targets (allow-list, templates) is the dispatcher's
(:mod:`ingestion.notify.channels`): this module only stores and matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from store.models import ChannelKind, NotificationChannel, NotificationRoute

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
#: Indonesian warning levels (peringatan dini) as routing ranks: waspada = warning, siaga and
#: awas = critical.
LEVEL_RANK = {"normal": 0, "waspada": 1, "siaga": 2, "awas": 2}
#: Their order (awas above siaga): whether a level change is a rise.
LEVEL_ORDER = {"normal": 0, "waspada": 1, "siaga": 2, "awas": 3}
SEVERITIES = tuple(SEVERITY_RANK)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ChannelError(ValueError):
    """A channel or route that cannot be stored; the message says why."""


def effective_rank(severity: str | None, level: str | None = None) -> int:
    """Rank of an alert for routing: the higher of its severity and its level."""
    rank = SEVERITY_RANK.get(str(severity or "info").lower(), 0)
    return max(rank, LEVEL_RANK.get(str(level or "").lower(), 0))


def is_critical(severity: str | None, level: str | None = None) -> bool:
    return effective_rank(severity, level) >= SEVERITY_RANK["critical"]


# -- quiet hours -----------------------------------------------------------------------------
def parse_hhmm(text: str) -> time:
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time HH:MM (00:00-23:59)")
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``'22:00-06:00'`` -> (22:00, 06:00); ``''`` -> None. ValueError when malformed."""
    if not text or not text.strip():
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"quiet hours {text!r}: HH:MM-HH:MM expected, e.g. 22:00-06:00")
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if start == end:
        raise ValueError(f"quiet hours {text!r}: start and end are the same time")
    return start, end


def quiet_until(
    quiet_start: str | None, quiet_end: str | None, now: datetime, timezone: str
) -> datetime | None:
    """The end (UTC) of the quiet period ``now`` falls in, or None when not quiet."""
    if not quiet_start or not quiet_end:
        return None
    start, end = parse_hhmm(quiet_start), parse_hhmm(quiet_end)
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    t = local.time().replace(second=0, microsecond=0)
    # a window that wraps midnight (22:00-06:00) is everything outside [end, start)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_local = datetime.combine(local.date(), end, tzinfo=tz)
    if end_local <= local:
        end_local = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return end_local.astimezone(UTC)


# -- routing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelTarget:
    """What the outbox needs of a channel to enqueue a message for it."""

    id: int
    name: str
    kind: str
    quiet_start: str | None
    quiet_end: str | None


def event_matches(events: list[Any] | None, event_type: str) -> bool:
    if not events:
        return True
    for entry in events:
        entry = str(entry)
        if entry == event_type or entry == "*":
            return True
        if entry.endswith(".*") and event_type.startswith(entry[:-1]):
            return True
    return False


RULE_NAME_PREFIX = "rule:"  # a route for one named rule (alert_rules.name), not a whole kind


def route_matches(
    route: Any,
    event_type: str,
    rule: str | None,
    severity: str | None,
    level: str | None,
    rule_name: str | None = None,
) -> bool:
    if not route.enabled or not event_matches(route.events, event_type):
        return False
    if not event_type.startswith("alert."):
        return True
    wanted = route.rule or "*"
    if wanted.startswith(RULE_NAME_PREFIX):
        if wanted[len(RULE_NAME_PREFIX) :] != rule_name:
            return False
    elif wanted != "*" and wanted != rule:
        return False
    return effective_rank(severity, level) >= SEVERITY_RANK.get(route.min_severity, 0)


def matching_channels(
    conn: Connection | Session,
    event_type: str,
    *,
    rule: str | None = None,
    severity: str | None = None,
    level: str | None = None,
    rule_name: str | None = None,
) -> list[ChannelTarget]:
    """Enabled channels with a route matching the event (one query; works on a connection
    inside a flush as well as on a session)."""
    rows = conn.execute(
        select(
            NotificationChannel.id,
            NotificationChannel.name,
            NotificationChannel.kind,
            NotificationChannel.quiet_start,
            NotificationChannel.quiet_end,
            NotificationRoute.rule,
            NotificationRoute.min_severity,
            NotificationRoute.events,
            NotificationRoute.enabled,
        )
        .join(NotificationRoute, NotificationRoute.channel_id == NotificationChannel.id)
        .where(NotificationChannel.enabled.is_(True), NotificationRoute.enabled.is_(True))
        .order_by(NotificationChannel.id)
    ).all()
    out: dict[int, ChannelTarget] = {}
    for r in rows:
        if r.id in out:
            continue
        if route_matches(r, event_type, rule, severity, level, rule_name):
            out[r.id] = ChannelTarget(r.id, r.name, r.kind, r.quiet_start, r.quiet_end)
    return list(out.values())


def channel_targets(conn: Connection | Session, ids_or_names: list[Any]) -> list[ChannelTarget]:
    """Channels named explicitly (ids or names), enabled or not (a test message goes anyway)."""
    ids = [int(x) for x in ids_or_names if isinstance(x, int) or str(x).isdigit()]
    names = [str(x) for x in ids_or_names if not (isinstance(x, int) or str(x).isdigit())]
    cond = []
    if ids:
        cond.append(NotificationChannel.id.in_(ids))
    if names:
        cond.append(NotificationChannel.name.in_(names))
    if not cond:
        return []
    from sqlalchemy import or_

    rows = conn.execute(
        select(
            NotificationChannel.id,
            NotificationChannel.name,
            NotificationChannel.kind,
            NotificationChannel.quiet_start,
            NotificationChannel.quiet_end,
        ).where(or_(*cond))
    ).all()
    return [ChannelTarget(r.id, r.name, r.kind, r.quiet_start, r.quiet_end) for r in rows]


# -- storage ---------------------------------------------------------------------------------
def _check_common(
    name: str, kind: str, quiet_start: str | None, quiet_end: str | None
) -> tuple[str, str | None, str | None]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ChannelError("a channel needs a name of 1 to 100 characters")
    if kind not in {k.value for k in ChannelKind}:
        raise ChannelError(f"unknown channel kind {kind!r}: webhook, mqtt, email or http")
    qs = (quiet_start or "").strip() or None
    qe = (quiet_end or "").strip() or None
    if bool(qs) != bool(qe):
        raise ChannelError("quiet hours need both a start and an end (HH:MM)")
    if qs and qe:
        try:
            parse_quiet_hours(f"{qs}-{qe}")
        except ValueError as exc:
            raise ChannelError(str(exc)) from None
    return name, qs, qe


def check_route(rule: str, min_severity: str, events: list[Any] | None) -> list[str]:
    if min_severity not in SEVERITY_RANK:
        raise ChannelError(f"minimum severity {min_severity!r}: info, warning or critical")
    if not rule or len(rule) > 64 + len(RULE_NAME_PREFIX):
        raise ChannelError("a route needs a rule kind ('*' for every kind) or rule:<name>")
    clean = [str(e).strip() for e in (events or []) if str(e).strip()]
    for e in clean:
        if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?|\*", e):
            raise ChannelError(f"event type {e!r}: e.g. alert.opened, alert.* or briefing.daily")
    return clean


def save_channel(
    session: Session,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    enabled: bool = True,
    quiet_start: str | None = None,
    quiet_end: str | None = None,
    source: str = "admin",
    channel_id: int | None = None,
    rule: str | None = None,
    min_severity: str | None = None,
    events: list[Any] | None = None,
) -> NotificationChannel:
    """Create a channel (or update ``channel_id``), with one route when ``rule`` or
    ``min_severity`` is given (an update replaces the channel's routes with it). Validate the
    config with :func:`ingestion.notify.channels.check_config` first."""
    name, qs, qe = _check_common(name, kind, quiet_start, quiet_end)
    route_events = None
    if rule is not None or min_severity is not None:
        route_events = check_route(rule or "*", min_severity or "info", events)
    clash = session.scalar(select(NotificationChannel.id).where(NotificationChannel.name == name))
    if clash is not None and clash != channel_id:
        raise ChannelError(f"a channel named {name!r} exists already")
    if channel_id is None:
        channel = NotificationChannel(name=name, kind=kind, source=source)
        session.add(channel)
    else:
        channel = session.get(NotificationChannel, channel_id)
        if channel is None:
            raise ChannelError(f"no channel {channel_id}")
        channel.name, channel.kind = name, kind
    channel.config = dict(config)
    channel.enabled = bool(enabled)
    channel.quiet_start, channel.quiet_end = qs, qe
    if route_events is not None:
        channel.routes.clear()
        channel.routes.append(
            NotificationRoute(
                rule=rule or "*", min_severity=min_severity or "info", events=route_events
            )
        )
    session.flush()
    return channel


def list_channels(session: Session) -> list[NotificationChannel]:
    return list(session.scalars(select(NotificationChannel).order_by(NotificationChannel.id)))


def delete_channel(session: Session, channel_id: int) -> None:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        raise ChannelError(f"no channel {channel_id}")
    session.delete(channel)
    session.flush()
