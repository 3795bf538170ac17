"""The schema on SQLite and PostgreSQL: migrations, UTC times, idempotent writes, rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select, text

from store.models import Base, Camera, Observation, ObservationRollup, RollupPeriod, Sensor
from store.rollups import floor_bucket, refresh_rollups
from store.schema_tool import check
from store.writes import write_observations, write_sensor_readings


def _camera(session, code="CAM-1") -> Camera:
    cam = Camera(code=code, name=f"Kamera {code}", lat=-2.99, lon=104.76)
    session.add(cam)
    session.flush()
    return cam


def test_migrations_create_every_model_table(db):
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree():
    assert check() == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db):
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_times_are_stored_in_utc_and_returned_aware(db):
    wib = timezone(timedelta(hours=7))
    with db.session() as s:
        cam = _camera(s)
        s.add(Observation(camera_id=cam.id, ts=datetime(2026, 11, 23, 14, 0, tzinfo=wib), people=3))
    with db.session() as s:
        ts = s.scalar(select(Observation.ts))
    assert ts.tzinfo is not None
    assert ts == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_observation_writes_are_idempotent(db):
    ts = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    with db.session() as s:
        cam = _camera(s)
        rows = [
            {"camera_id": cam.id, "ts": ts + timedelta(minutes=i), "people": i} for i in range(5)
        ]
        assert write_observations(s, rows) == 5
    with db.session() as s:
        # a re-delivered batch, partly overlapping, writes only the new row
        again = rows[3:] + [{"camera_id": cam.id, "ts": ts + timedelta(minutes=9), "people": 9}]
        assert write_observations(s, again) == 1
        assert s.scalar(select(func.count()).select_from(Observation)) == 6
    with db.session() as s:
        # update mode replaces the measurement of an existing sample
        write_observations(s, [{"camera_id": cam.id, "ts": ts, "people": 42}], update=True)
    with db.session() as s:
        assert s.scalar(select(Observation.people).where(Observation.ts == ts)) == 42


def test_observation_write_rejects_bad_rows_and_writes_nothing(db):
    with db.session() as s:
        cam = _camera(s)
    with pytest.raises(ValueError), db.session() as s:
        write_observations(
            s,
            [
                {"camera_id": cam.id, "ts": datetime.now(UTC)},
                {"camera_id": cam.id, "ts": "yesterday"},
            ],
        )
    with pytest.raises(ValueError), db.session() as s:
        write_observations(s, [{"camera_id": cam.id, "ts": datetime.now(UTC), "no_such_column": 1}])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == 0


def test_foreign_keys_are_enforced(db):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Observation(camera_id=999_999, ts=datetime.now(UTC), people=1))


def test_sensor_readings_ignore_duplicates(db):
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as s:
        sensor = Sensor(code="WL-1", name="Sungai", kind="water_level", unit="cm")
        s.add(sensor)
        s.flush()
        assert write_sensor_readings(s, [{"sensor_id": sensor.id, "ts": ts, "value": 100.0}]) == 1
        assert write_sensor_readings(s, [{"sensor_id": sensor.id, "ts": ts, "value": 101.0}]) == 0


def test_hourly_and_local_daily_rollups(db):
    # 23:30 WIB on 22 Nov and 00:30 WIB on 23 Nov fall on different local days
    base = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 23:00 WIB
    with db.session() as s:
        cam = _camera(s)
        rows = []
        for minute, people, vehicles in [(0, 2, 10), (30, 4, 20), (90, 10, 5)]:
            rows.append(
                {
                    "camera_id": cam.id,
                    "ts": base + timedelta(minutes=minute),
                    "people": people,
                    "vehicles_total": vehicles,
                    "water_coverage": minute / 100,
                }
            )
        write_observations(s, rows)
        written = refresh_rollups(s, base, base + timedelta(hours=2), offset_hours=7)
        assert written == {"hour": 2, "day": 2}
    with db.session() as s:
        hours = s.execute(
            select(
                ObservationRollup.bucket,
                ObservationRollup.samples,
                ObservationRollup.people_avg,
                ObservationRollup.vehicles_max,
                ObservationRollup.water_max,
            )
            .where(ObservationRollup.period == RollupPeriod.HOUR)
            .order_by(ObservationRollup.bucket)
        ).all()
        days = s.execute(
            select(
                ObservationRollup.bucket, ObservationRollup.samples, ObservationRollup.people_avg
            )
            .where(ObservationRollup.period == RollupPeriod.DAY)
            .order_by(ObservationRollup.bucket)
        ).all()
    assert [(h.bucket, h.samples, h.people_avg, h.vehicles_max) for h in hours] == [
        (base, 2, 3.0, 20),
        (base + timedelta(hours=1), 1, 10.0, 5),
    ]
    assert hours[1].water_max == pytest.approx(0.9)
    # local day of 22 Nov starts 21 Nov 17:00 UTC; 23 Nov starts 22 Nov 17:00 UTC
    assert [(d.bucket, d.samples, d.people_avg) for d in days] == [
        (datetime(2026, 11, 21, 17, tzinfo=UTC), 2, 3.0),
        (datetime(2026, 11, 22, 17, tzinfo=UTC), 1, 10.0),
    ]
    # refreshing again gives the same rows, not duplicates
    with db.session() as s:
        assert refresh_rollups(s, base, base + timedelta(hours=2), offset_hours=7) == {
            "hour": 2,
            "day": 2,
        }


def test_floor_bucket():
    ts = datetime(2026, 11, 22, 18, 45, tzinfo=UTC)  # 01:45 WIB on 23 Nov
    assert floor_bucket(ts, RollupPeriod.HOUR) == datetime(2026, 11, 22, 18, tzinfo=UTC)
    assert floor_bucket(ts, RollupPeriod.DAY, 7) == datetime(2026, 11, 22, 17, tzinfo=UTC)
