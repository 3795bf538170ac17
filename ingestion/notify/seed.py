"""Channels from the environment: ``PANTAU_NOTIFY_WEBHOOKS``, ``_MQTT_TOPIC``, ``_EMAIL_TO``
and ``_HTTP_URL_TEMPLATE`` become channels (``source='env'``) at start, with one route (every
rule kind, ``PANTAU_NOTIFY_MIN_SEVERITY``) and ``PANTAU_NOTIFY_QUIET_HOURS``.

The environment gives the first values only: a channel seeded once is left as the admins
changed it on ``/admin/notifikasi``; one whose setting was removed is disabled (its history
kept). A setting that does not validate is logged and skipped, it never stops the start.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlsplit

from ingestion.notify.channels import ChannelConfigError, check_config
from store.db import Database
from store.models import ChannelKind
from store.notify_channels import ChannelError, list_channels, parse_quiet_hours, save_channel

logger = logging.getLogger(__name__)


def wanted_channels(settings: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(env key, kind, name, config) of every channel the settings ask for."""
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for url in (u.strip() for u in settings.notify_webhooks.split(",")):
        if url:
            host = urlsplit(url).hostname or "?"
            out.append((f"webhook:{url}", ChannelKind.WEBHOOK, f"Webhook {host}", {"url": url}))
    if settings.notify_mqtt_topic.strip():
        topic = settings.notify_mqtt_topic.strip()
        out.append((f"mqtt:{topic}", ChannelKind.MQTT, f"MQTT {topic}", {"topic": topic}))
    if settings.notify_email_to.strip():
        to = settings.notify_email_to.strip()
        out.append((f"email:{to}", ChannelKind.EMAIL, "E-mail", {"to": to}))
    if settings.notify_http_url_template.strip():
        tpl = settings.notify_http_url_template.strip()
        digest = hashlib.sha256(tpl.encode()).hexdigest()[:10]
        host = urlsplit(tpl).hostname or "?"
        out.append(
            (
                f"http:{digest}",
                ChannelKind.HTTP,
                f"HTTP {host}",
                {
                    "url_template": tpl,
                    "body_template": settings.notify_http_body_template,
                    "content_type": settings.notify_http_content_type,
                },
            )
        )
    return out


def seed_channels(database: Database, settings: Any) -> list[str]:
    """Create the missing environment channels; disable those no longer configured. Returns
    the names created."""
    created: list[str] = []
    quiet = parse_quiet_hours(settings.notify_quiet_hours)
    qs, qe = (f"{quiet[0]:%H:%M}", f"{quiet[1]:%H:%M}") if quiet else (None, None)
    wanted = wanted_channels(settings)
    keys = {w[0] for w in wanted}
    with database.session() as s:
        existing = {(c.config or {}).get("env"): c for c in list_channels(s) if c.source == "env"}
        taken = {c.name for c in list_channels(s)}
        for key, channel in existing.items():
            if key not in keys and channel.enabled:
                channel.enabled = False
                logger.warning(
                    "notification channel %r: no longer in the settings, disabled", channel.name
                )
        for key, kind, name, config in wanted:
            if key in existing:
                continue
            try:
                clean = check_config(kind, {**config, "env": key}, settings)
            except ChannelConfigError as exc:
                logger.error("notification channel from the settings (%s) skipped: %s", key, exc)
                continue
            unique, n = name[:90], 2
            while unique in taken:
                unique, n = f"{name[:90]} ({n})", n + 1
            try:
                save_channel(
                    s,
                    name=unique,
                    kind=kind,
                    config=clean,
                    source="env",
                    quiet_start=qs,
                    quiet_end=qe,
                    rule="*",
                    min_severity=settings.notify_min_severity,
                )
            except ChannelError as exc:
                logger.error("notification channel %r skipped: %s", unique, exc)
                continue
            taken.add(unique)
            created.append(unique)
            if kind == ChannelKind.WEBHOOK and not settings.notify_webhook_secret:
                logger.warning(
                    "webhook %s is sent UNSIGNED: set PANTAU_NOTIFY_WEBHOOK_SECRET so receivers "
                    "can check X-Pantau-Signature",
                    config["url"],
                )
            logger.info("notification channel %r (%s) created from the settings", unique, kind)
    return created
