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
