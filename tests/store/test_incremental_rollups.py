"""Incremental rollups (the writer's RollupTracker) equal a full rebuild, after out-of-order
and late observations, and daily rows equal the raw rows' own statistics."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from store.models import (
    AreaRollup,
    Camera,
    CameraDayTotal,
    CameraMonthRollup,
    Observation,
    ObservationRollup,
    RollupPeriod,
)
from store.rollups import RollupTracker, floor_bucket, rebuild_rollups, refresh_area_rollups
from store.writes import write_observations

START = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)  # 21:00 WIB, two days before November


def _cameras(session) -> list[int]:
    ids = []
    for i, kec in enumerate(["IB I", "IB I", "SU II"]):
        cam = Camera(code=f"INC-{i}", name=f"Kamera {i}", lat=-2.99, lon=104.76, kecamatan=kec)
        session.add(cam)
        session.flush()
        ids.append(cam.id)
    return ids


def _observation(rng: random.Random, cam: int, ts: datetime) -> dict:
    unknown = rng.random() < 0.1  # a count the analyser could not make is NULL, not 0
    return {
        "camera_id": cam,
        "ts": ts,
        "people": None if unknown else rng.randint(0, 30),
        "vehicles_total": None if unknown else rng.randint(0, 50),
        "vehicles_car": None if unknown else rng.randint(0, 20),
        "flow_in": rng.randint(0, 9),
        "flow_out": rng.randint(0, 9),
        "motion_ratio": rng.random(),
        "water_coverage": rng.choice([None, rng.random()]),
    }


def _snapshot(session) -> dict[str, list[tuple]]:
    def rows(model, *cols):
        out = []
        for r in session.execute(select(*cols)).all():
            out.append(
                tuple(
                    round(v, 9) if isinstance(v, float) else v.astimezone(UTC)
                    if isinstance(v, datetime) else v
                    for v in r
                )
            )  # fmt: skip
        return sorted(out, key=repr)

    R, A, M, T = ObservationRollup, AreaRollup, CameraMonthRollup, CameraDayTotal
    return {
        "camera": rows(R, R.camera_id, R.period, R.bucket, R.samples, R.people_avg, R.people_max,
                       R.vehicles_avg, R.vehicles_max, R.car_avg, R.flow_in_sum, R.flow_out_sum,
                       R.motion_avg, R.water_avg, R.water_max, R.people_n, R.vehicles_n,
                       R.motion_n, R.water_n),
        "area": rows(A, A.kecamatan, A.period, A.bucket, A.cameras, A.samples, A.people_sum,
                     A.people_n, A.people_max, A.vehicles_sum, A.flow_sum, A.water_max, A.wet_n),
        "month": rows(M, M.camera_id, M.bucket, M.days, M.flow_sum, M.people_sum, M.people_n,
                      M.people_max, M.water_max),
        "totals": rows(T, T.camera_id, T.day, T.days, T.flow, T.people_sum, T.people_n,
                       T.vehicles_sum, T.wet_days),
    }  # fmt: skip


def test_incremental_refresh_equals_full_rebuild(db):
    rng = random.Random(11)
    with db.session() as s:
        cams = _cameras(s)
    # three days every 10 minutes, delivered in shuffled batches; some samples a day late,
    # some refreshes without the days (the writer does hours every minute, days every 10)
    samples = [
        _observation(rng, cam, START + timedelta(minutes=10 * k) + timedelta(seconds=cam))
        for k in range(3 * 24 * 6)
        for cam in cams
    ]
    late = [samples.pop(rng.randrange(len(samples))) for _ in range(60)]
    batches = [samples[i : i + 97] for i in range(0, len(samples), 97)]
    for b in batches:
        rng.shuffle(b)
    batches.insert(len(batches) // 2, late[:30])  # late ones arrive mid-way...
    batches.append(late[30:])  # ...and at the end
    tracker = RollupTracker(offset_hours=7)
    for i, batch in enumerate(batches):
        with db.session() as s:
            write_observations(s, batch)
        for row in batch:
            tracker.add(row["ts"])
        if i % 3 == 0 or i == len(batches) - 1:
            with db.session() as s:
                tracker.refresh(s, days=i % 2 == 0 or i == len(batches) - 1)
            tracker.done()
    assert not tracker.pending
    with db.session() as s:
        incremental = _snapshot(s)
    assert len(incremental["camera"]) == 3 * (72 + 4)  # 72 hours + 4 local days, 3 cameras
    with db.session() as s:  # everything from scratch
        for model in (ObservationRollup, AreaRollup, CameraMonthRollup, CameraDayTotal):
            s.execute(delete(model))
    with db.session() as s:
        rebuild_rollups(s, offset_hours=7)
        refresh_area_rollups(s)
    with db.session() as s:
        full = _snapshot(s)
    assert incremental == full


def test_daily_rows_match_the_raw_rows_statistics(db):
    """Days are built from the hourly rows, weighted by their counts: the same means, maxima
    and sums as computed from the raw rows of the local day (NULL counts left out)."""
    rng = random.Random(5)
    with db.session() as s:
        cams = _cameras(s)
        rows = [_observation(rng, cams[0], START + timedelta(minutes=7 * k)) for k in range(400)]
        write_observations(s, rows)
        tracker = RollupTracker(offset_hours=7)
        for r in rows:
            tracker.add(r["ts"])
        tracker.refresh(s)
        tracker.done()
    day = floor_bucket(START + timedelta(hours=12), RollupPeriod.DAY, 7)  # 31 Oct WIB
    in_day = [r for r in rows if day <= r["ts"] < day + timedelta(days=1)]

    def mean(key):
        vals = [r[key] for r in in_day if r[key] is not None]
        return sum(vals) / len(vals)

    with db.session() as s:
        got = s.execute(
            select(ObservationRollup).where(
                ObservationRollup.period == RollupPeriod.DAY, ObservationRollup.bucket == day
            )
        ).scalar_one()
    assert got.samples == len(in_day)
    assert got.people_avg == pytest.approx(mean("people"))
    assert got.vehicles_avg == pytest.approx(mean("vehicles_total"))
    assert got.water_avg == pytest.approx(mean("water_coverage"))
    assert got.people_max == max(r["people"] for r in in_day if r["people"] is not None)
    assert got.flow_in_sum == sum(r["flow_in"] for r in in_day)
    assert got.people_n == sum(1 for r in in_day if r["people"] is not None)


def test_refresh_touches_only_the_buckets_of_new_rows(db):
    """A late observation recomputes its own hour and day, not the hours in between (the
    writer used to refresh the whole [oldest, newest] range)."""
    with db.session() as s:
        cam = _cameras(s)[0]
        old = START
        write_observations(s, [{"camera_id": cam, "ts": old, "people": 3}])
        # a rollup that no raw row backs: a whole-range refresh would delete it
        s.add(
            ObservationRollup(
                camera_id=cam, period=RollupPeriod.HOUR, bucket=START + timedelta(hours=5),
                samples=60, people_avg=7.0, people_n=60,
            )
        )  # fmt: skip
    now = START + timedelta(hours=30)
    tracker = RollupTracker(offset_hours=7)
    with db.session() as s:
        write_observations(s, [{"camera_id": cam, "ts": now, "people": 4}])
        tracker.add(old)
        tracker.add(now)
        assert tracker.refresh(s, days=True) == {"hour": 2, "day": 2}
        tracker.done()
    with db.session() as s:
        kept = s.scalar(
            select(ObservationRollup.people_avg).where(
                ObservationRollup.bucket == START + timedelta(hours=5)
            )
        )
    assert kept == 7.0
    # hours older than the raw retention cutoff are not recomputed from what is left
    with db.session() as s:
        s.execute(delete(Observation).where(Observation.ts == old))
        tracker.add(old)
        assert tracker.refresh(s, not_before=START + timedelta(hours=1))["hour"] == 0
        tracker.done()
    with db.session() as s:
        assert (
            s.scalar(
                select(ObservationRollup.samples).where(
                    ObservationRollup.period == RollupPeriod.HOUR, ObservationRollup.bucket == old
                )
            )
            == 1
        )


def test_rebuild_keeps_rollups_whose_raw_rows_are_pruned(db):
    """A full rebuild recomputes what the raw rows cover and nothing older: daily rows of a
    pruned period, hourly rows past the raw window and kecamatan hours older than the camera
    hours kept all survive it (they used to be deleted and recomputed from nothing)."""
    with db.session() as s:
        cam = _cameras(s)[0]
        old_day = START - timedelta(days=100) - timedelta(hours=START.hour - 17)
        old_hour = START - timedelta(days=10)
        ancient_hour = START - timedelta(days=200)
        s.add_all([
            ObservationRollup(camera_id=cam, period=RollupPeriod.DAY, bucket=old_day, samples=1440,
                              people_avg=5.0, people_n=1440),
            ObservationRollup(camera_id=cam, period=RollupPeriod.HOUR, bucket=old_hour, samples=60,
                              people_avg=6.0, people_n=60),
            AreaRollup(kecamatan="IB I", period=RollupPeriod.HOUR, bucket=ancient_hour, cameras=1,
                       samples=60, people_sum=9.0, people_n=1),
        ])  # fmt: skip
        write_observations(s, [{"camera_id": cam, "ts": START + timedelta(minutes=m), "people": 2}
                               for m in range(0, 120, 10)])  # fmt: skip
    with db.session() as s:
        assert rebuild_rollups(s, offset_hours=7)["hour"] == 2
        refresh_area_rollups(s)
    with db.session() as s:
        R = ObservationRollup
        got = dict(s.execute(select(R.bucket, R.people_avg).where(R.camera_id == cam)).all())
        got = {b.astimezone(UTC): v for b, v in got.items()}
        assert got[old_day] == 5.0
        assert got[old_hour] == 6.0
        assert got[START] == 2.0
        area = s.scalar(
            select(AreaRollup.people_sum).where(
                AreaRollup.period == RollupPeriod.HOUR, AreaRollup.bucket == ancient_hour
            )
        )
        assert area == 9.0
