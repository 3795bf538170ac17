"""Long sensor ranges are thinned in SQL to the maximum of each bucket (what the chart shows),
the same points pandas' floor + max gives; short ranges come back raw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from dashboard.queries.flood import sensor_readings
from store.models import Sensor
from store.writes import write_sensor_readings

START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def test_long_ranges_are_thinned_to_bucket_maxima(db):
    with db.session() as s:
        ids = []
        for i in range(2):
            sensor = Sensor(code=f"WL-{i}", name="Sungai", kind="water_level", unit="cm")
            s.add(sensor)
            s.flush()
            ids.append(sensor.id)
            write_sensor_readings(
                s,
                [{"sensor_id": sensor.id, "ts": START + timedelta(minutes=7 * k),
                  "value": float((k * 37 + i * 11) % 101)} for k in range(3000)],
            )  # fmt: skip
    end = START + timedelta(days=12)
    with db.session() as s:
        got = sensor_readings(s, ids + [999], START, end, max_points=100)
        raw = sensor_readings(s, ids, START, START + timedelta(hours=5), max_points=100)
    span_h = int((end - START).total_seconds() // 3600 // 100) + 1  # 3-hour buckets
    k = range(3000)
    ref = pd.DataFrame(
        [(sid, START + timedelta(minutes=7 * j), float((j * 37 + i * 11) % 101))
         for i, sid in enumerate(ids) for j in k],
        columns=["sensor_id", "ts", "value"],
    )  # fmt: skip
    ref = ref[ref["ts"] < end].copy()
    ref["ts"] = pd.to_datetime(ref["ts"], utc=True).dt.floor(f"{span_h}h")
    ref = ref.groupby(["sensor_id", "ts"], as_index=False)["value"].max()
    assert len(got) == len(ref) < 2 * 100
    assert got["ts"].tolist() == ref["ts"].tolist()
    assert got["value"].tolist() == ref["value"].tolist()
    assert len(raw) == 2 * (5 * 60 // 7 + 1)  # a short range: every reading
