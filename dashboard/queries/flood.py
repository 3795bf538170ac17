"""Water-level sensors for the flood page (SensorReading against warning/danger levels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
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
    thinned to about ``max_points`` per sensor by taking hourly maxima."""
    if not sensor_ids:
        return pd.DataFrame(columns=["sensor_id", "ts", "value"])
    rows = session.execute(
        select(SensorReading.sensor_id, SensorReading.ts, SensorReading.value)
        .where(
            SensorReading.sensor_id.in_(sensor_ids),
            SensorReading.ts >= start,
            SensorReading.ts < end,
        )
        .order_by(SensorReading.sensor_id, SensorReading.ts)
    ).all()
    df = pd.DataFrame(rows, columns=["sensor_id", "ts", "value"])
    if len(df) > max_points * max(1, len(sensor_ids)):
        span_h = max(1, int((end - start).total_seconds() // 3600 // max_points) + 1)
        df["ts"] = pd.to_datetime(df["ts"], utc=True).dt.floor(f"{span_h}h")
        df = df.groupby(["sensor_id", "ts"], as_index=False)["value"].max()
    return df
