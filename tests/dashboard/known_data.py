"""Known data for the dashboard callback tests.

Two cameras in two kecamatan, hourly and daily rollups from 1 Sep to 30 Nov 2026 (local WIB
days) with constant, hand-checkable values:

=========  ==========  ==========================  ============  ===========
camera     kecamatan   flow (in+out) per hour      vehicles_avg  people_avg
=========  ==========  ==========================  ============  ===========
CAM-A      Kemuning    10                          4.0           2.0
CAM-B      Plaju       20                          8.0           6.0
=========  ==========  ==========================  ============  ===========

So the city sees 30 vehicles crossing per hour, 720 per day; CAM-B is under water (water_max
0.5) from 15:00 to 17:59 WIB on 12 Nov 2026 and dry otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from store.db import Database
from store.models import Camera, ObservationRollup
from store.rollups import refresh_area_rollups

WIB = timedelta(hours=7)
FIRST_DAY = datetime(2026, 9, 1, tzinfo=UTC) - WIB  # 00:00 WIB, 1 Sep 2026
DAYS = 91  # through 30 Nov 2026
WET_START = datetime(2026, 11, 12, 15, tzinfo=UTC) - WIB
WET_HOURS = 3
NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)  # well after the data: no period is partial


def load_known_rollups(db: Database) -> dict[str, int]:
    with db.session() as s:
        a = Camera(code="CAM-A", name="Simpang Uji A", lat=-2.97, lon=104.75, kecamatan="Kemuning",
                   tags=["traffic"], status="online")  # fmt: skip
        b = Camera(code="CAM-B", name="Jalan Uji B", lat=-2.99, lon=104.77, kecamatan="Plaju",
                   tags=["flood"], status="offline")  # fmt: skip
        s.add_all([a, b])
        s.flush()
        ids = {"CAM-A": a.id, "CAM-B": b.id}
        spec = {a.id: (10, 4.0, 2.0), b.id: (20, 8.0, 6.0)}
        rows = []
        for cam_id, (flow, veh, ppl) in spec.items():
            for h in range(DAYS * 24):
                bucket = FIRST_DAY + timedelta(hours=h)
                wet = cam_id == b.id and WET_START <= bucket < WET_START + timedelta(
                    hours=WET_HOURS
                )
                rows.append(
                    {
                        "camera_id": cam_id, "period": "hour", "bucket": bucket, "samples": 12,
                        "flow_in_sum": flow, "flow_out_sum": 0, "vehicles_avg": veh,
                        "vehicles_max": int(veh * 2), "people_avg": ppl, "people_max": int(ppl * 2),
                        "water_avg": 0.4 if wet else 0.0, "water_max": 0.5 if wet else 0.0,
                    }
                )  # fmt: skip
            for d in range(DAYS):
                bucket = FIRST_DAY + timedelta(days=d)
                wet = cam_id == b.id and bucket <= WET_START < bucket + timedelta(days=1)
                rows.append(
                    {
                        "camera_id": cam_id, "period": "day", "bucket": bucket, "samples": 288,
                        "flow_in_sum": flow * 24, "flow_out_sum": 0, "vehicles_avg": veh,
                        "vehicles_max": int(veh * 2), "people_avg": ppl, "people_max": int(ppl * 2),
                        "water_avg": 0.05 if wet else 0.0, "water_max": 0.5 if wet else 0.0,
                    }
                )  # fmt: skip
        s.execute(insert(ObservationRollup.__table__), rows)
        refresh_area_rollups(s)
    return ids
