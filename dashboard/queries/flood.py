"""Water-level sensors for the flood page (SensorReading against warning/danger levels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from store.models import Sensor, SensorReading


@dataclass(frozen=True)
class SensorInfo:
    id: int
    code: str
    name: str
    unit: str
    kecamatan: str | None
    lat: float | None
    lon: float | None
    warning_level: float | None
    danger_level: float | None
    last_value: float | None
    last_seen_at: datetime | None

    @property
    def level(self) -> str:
        """normal / warning (waspada) / danger (siaga) / unknown from the last value."""
        if self.last_value is None:
            return "unknown"
        if self.danger_level is not None and self.last_value >= self.danger_level:
            return "danger"
        if self.warning_level is not None and self.last_value >= self.warning_level:
            return "warning"
        return "normal"


def water_sensors(session: Session, kecamatan: list[str] | None = None) -> list[SensorInfo]:
    q = select(Sensor).where(Sensor.kind == "water_level").order_by(Sensor.code)
    if kecamatan:
        q = q.where(Sensor.kecamatan.in_(kecamatan))
    return [
        SensorInfo(
            s.id,
            s.code,
            s.name,
            s.unit,
            s.kecamatan,
            s.lat,
            s.lon,
            s.warning_level,
            s.danger_level,
            s.last_value,
            s.last_seen_at,
        )
        for s in session.scalars(q)
    ]


def sensor_readings(
    session: Session, sensor_ids: list[int], start: datetime, end: datetime, max_points: int = 2000
) -> pd.DataFrame:
    """Readings of the sensors in [start, end): sensor_id, ts (UTC), value. Long ranges are
    thinned to about ``max_points`` per sensor by taking the maximum of each ``span_h``-hour
    bucket, in SQL (a year of readings every minute is 525k rows a sensor)."""
    if not sensor_ids:
        return pd.DataFrame(columns=["sensor_id", "ts", "value"])
    r = SensorReading.__table__
    where = (r.c.sensor_id.in_(sensor_ids), r.c.ts >= start, r.c.ts < end)
    n, with_data = session.execute(
        select(func.count(), func.count(func.distinct(r.c.sensor_id))).where(*where)
    ).one()
    if n <= max_points * max(1, with_data):
        rows = session.execute(
            select(r.c.sensor_id, r.c.ts, r.c.value).where(*where).order_by(r.c.sensor_id, r.c.ts)
        ).all()
        return pd.DataFrame(rows, columns=["sensor_id", "ts", "value"])
    span_s = 3600 * max(1, int((end - start).total_seconds() // 3600 // max_points) + 1)
    if session.get_bind().dialect.name == "sqlite":
        epoch = func.cast(func.strftime("%s", r.c.ts), Integer)
        bucket = (epoch // span_s) * span_s
    else:
        bucket = func.floor(func.extract("epoch", r.c.ts) / span_s) * span_s
    bucket = bucket.label("bucket")
    rows = session.execute(
        select(r.c.sensor_id, bucket, func.max(r.c.value))
        .where(*where)
        .group_by(r.c.sensor_id, bucket)
        .order_by(r.c.sensor_id, bucket)
    ).all()
    df = pd.DataFrame(rows, columns=["sensor_id", "ts", "value"])
    df["ts"] = pd.to_datetime(pd.to_numeric(df["ts"]), unit="s", utc=True)
    return df
