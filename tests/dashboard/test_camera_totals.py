"""Camera rankings (top locations, map layers) from running daily totals give the same values
as summing the daily rollups of the range, for every range, filter and gap in the data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard.queries import trends
from store.models import Camera, ObservationRollup, RollupPeriod
from store.rollups import refresh_area_rollups

DAY0 = datetime(2026, 1, 31, 17, tzinfo=UTC)  # 1 February, 00:00 WIB
DAYS = 80


def _fill(session) -> None:
    rng = random.Random(3)
    cams = []
    for i in range(6):
        cam = Camera(code=f"TOT-{i}", name=f"Kamera {i}", lat=-2.9 - i / 100, lon=104.7,
                     kecamatan=("IB I", "SU II")[i % 2])  # fmt: skip
        session.add(cam)
        cams.append(cam)
    session.flush()
    for i, cam in enumerate(cams):
        for d in range(DAYS):
            if (i == 2 and 20 <= d < 35) or (i == 5 and d < 40):  # offline, installed later
                continue
            session.add(
                ObservationRollup(
                    camera_id=cam.id, period=RollupPeriod.DAY, bucket=DAY0 + timedelta(days=d),
                    samples=1440, flow_in_sum=rng.randint(0, 900), flow_out_sum=rng.choice(
                        [None, rng.randint(0, 900)]), people_avg=rng.choice([None, rng.random() * 20]),
                    vehicles_avg=rng.random() * 50, water_max=rng.random() * 0.5,
                )
            )  # fmt: skip
    session.flush()
    refresh_area_rollups(session)


def _by_daily_rows(session, f, metric) -> pd.DataFrame:
    """The reference: the per-camera value from the daily rollups of the range."""
    from sqlalchemy import case, func, select

    R = trends.R
    # per camera, "wet" ranks days flooded (a day whose highest water covered >= 30 % of the
    # road); the trend metric "wet" is a share of hours, so the reference counts days here
    value = (
        func.sum(case((R.c.water_max >= trends.WET_THRESHOLD, 1), else_=0))
        if metric == "wet"
        else trends.METRICS[metric].camera()
    )
    q = (
        select(R.c.camera_id, value.label("value"))
        .where(R.c.period == "day", R.c.bucket >= f.start, R.c.bucket < f.end)
        .group_by(R.c.camera_id)
    )
    ids = trends._camera_ids(session, f)
    if ids is not None:
        q = q.where(R.c.camera_id.in_(ids))
    return trends._ranked(session, q.subquery())


@pytest.mark.parametrize("metric", ["flow", "people", "vehicles", "wet"])
def test_rankings_from_totals_equal_the_daily_rows(db, metric):
    with db.session() as s:
        _fill(s)
    ranges = [(0, 7), (10, 40), (25, 30), (0, DAYS), (36, 45), (70, DAYS + 20), (-5, 3),
              (DAYS + 1, DAYS + 9)]  # fmt: skip
    with db.session() as s:
        for a, b in ranges:
            for kec in ((), ("SU II",)):
                f = trends.TrendFilter(start=DAY0 + timedelta(days=a), end=DAY0 + timedelta(days=b),
                                       kecamatan=kec, metrics=(metric,))  # fmt: skip
                got = trends._camera_values_totals(s, f, metric)
                want = _by_daily_rows(s, f, metric)
                assert list(got["code"]) == list(want["code"]), (a, b, kec)
                assert got["value"].tolist() == pytest.approx(want["value"].tolist()), (a, b)
