"""Shared pieces of the rule tests: rules written as data, cameras, and samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


MIN = timedelta(minutes=1)

FLOOD_RULE = {
    "name": "banjir-uji",
    "kind": "flood_coverage",
    "levels": [
        {"name": "waspada", "severity": "warning", "at": 25},
        {"name": "siaga", "severity": "critical", "at": 50},
        {"name": "awas", "severity": "critical", "at": 75},
    ],
    "min_duration_s": 120,
    "hysteresis": {"ratio": 0.6, "clear_s": 180},
    "cooldown_s": 600,
    "title": "Genangan {value} di {name}",
    "detail": "Air menutupi {value} ROI jalan di {name}.",
}

# (minute, water coverage 0..1): rises through waspada, siaga and awas, falls, hovers above
# the closing line (15 %), clears for 3 minutes, then the water comes back twice
RIVER = [
    (0, 0.10), (1, 0.30), (2, 0.32), (3, 0.35), (4, 0.55), (5, 0.8393), (6, 0.60),
    (7, 0.20), (8, 0.10), (9, 0.12), (10, 0.05), (11, 0.08),
    (12, 0.30), (13, 0.30), (14, 0.30), (15, 0.30), (18, 0.30), (19, 0.30),
]  # fmt: skip


def run_water(db, engine, cam_id, code, series, **extra):  # noqa: ANN001, ANN003
    """Feed ``series`` of (minute after T0, water coverage) to ``engine``, one batch a sample."""
    for minute, water in series:
        with db.session() as s:
            engine.evaluate(
                s,
                [sample(cam_id, code, T0 + minute * MIN, water_coverage=water,
                        water_confidence=0.8, **extra)],
            )  # fmt: skip
