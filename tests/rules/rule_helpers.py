"""Shared pieces of the rule tests: rules written as data, cameras, and samples."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ingestion.process import SampleResult
from store.models import Alert, Camera
from store.rules.catalog import import_rules
from store.rules.schema import parse_rules

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday, 10:00 WIB


def install(db, *rules: dict[str, Any]) -> None:  # noqa: ANN001
    """Store these rules (the table is then not seeded with the defaults)."""
    with db.session() as s:
        import_rules(s, parse_rules(list(rules)), who="test")


def camera(db, code: str, name: str, **kw) -> int:  # noqa: ANN001, ANN003
    with db.session() as s:
        cam = Camera(code=code, name=name, lat=-2.99, lon=104.76, stream_url="http://x", **kw)
        s.add(cam)
        s.flush()
        return cam.id


def sample(cam_id: int, code: str, ts: datetime, **obs) -> SampleResult:  # noqa: ANN003
    row = {"camera_id": cam_id, "ts": ts, "people": 0, "reused": False, **obs}
    return SampleResult(cam_id, code, ts, row, evidence_jpeg=b"\xff\xd8fake-jpeg\xff\xd9")


def alerts(db, kind: str) -> list[Alert]:  # noqa: ANN001
    with db.session() as s:
        return list(s.scalars(select(Alert).where(Alert.rule == kind).order_by(Alert.id)))
