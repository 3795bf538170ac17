"""store.writes.upsert_rows on SQLite and PostgreSQL: exact counts of what was written across
the driver's batches, updates, NULL for columns missing from some rows, parameter limits, and
one statement built per column set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from store.models import Camera, Observation
from store.writes import _upsert_statement, upsert_rows, write_observations

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
TABLE = Observation.__table__
KEY = ("camera_id", "slot")  # the idempotency key of observations


def _camera(db) -> int:
    with db.session() as s:
        cam = Camera(code="CAM-W", name="Kamera W", lat=-2.99, lon=104.76)
        s.add(cam)
        s.flush()
        return cam.id


def _rows(cam_id: int, start: int, n: int, people: int = 1) -> list[dict]:
    return [
        {
            "camera_id": cam_id,
            "slot": T0 + timedelta(seconds=start + i),
            "ts": T0 + timedelta(seconds=start + i),
            "people": people,
            "vehicles_total": i % 7,
            "motion_ratio": 0.25,
            "analyser": "test",
            "extra": {"i": start + i},
        }
        for i in range(n)
    ]


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Observation))


def test_counts_are_exact_across_batches_and_overlaps(db):
    cam = _camera(db)
    # 5000 rows x 8 columns = 40000 parameters: over SQLite's 32766, so several batches
    with db.session() as s:
        assert upsert_rows(s, TABLE, _rows(cam, 0, 5000), KEY) == 5000
    assert _count(db) == 5000
    # 1500 already there + 1200 new, in one call: only the new ones count
    with db.session() as s:
        assert upsert_rows(s, TABLE, _rows(cam, 3500, 2700, people=99), KEY) == 1200
    assert _count(db) == 6200
    with db.session() as s:
        # do-nothing on conflict: the existing rows keep their values
        assert s.scalar(select(func.count()).where(Observation.people == 99)) == 1200
        assert s.scalar(
            select(Observation.extra).where(Observation.ts == T0 + timedelta(seconds=6199))
        ) == {"i": 6199}
    with db.session() as s:
        assert upsert_rows(s, TABLE, _rows(cam, 0, 1), KEY) == 0


def test_update_counts_inserted_and_updated_rows_and_writes_values(db):
    cam = _camera(db)
    with db.session() as s:
        assert upsert_rows(s, TABLE, _rows(cam, 0, 300), KEY, update=True) == 300
    with db.session() as s:
        assert upsert_rows(s, TABLE, _rows(cam, 200, 300, people=7), KEY, update=True) == 300
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == 500
        assert s.scalar(select(func.count()).where(Observation.people == 7)) == 300
        assert s.scalar(select(func.min(Observation.ts)).where(Observation.people == 7)) == (
            T0 + timedelta(seconds=200)
        )


def test_columns_missing_from_some_rows_are_null_and_defaults_apply(db):
    cam = _camera(db)
    rows = [
        {"camera_id": cam, "ts": T0, "people": 5},
        {"camera_id": cam, "ts": T0 + timedelta(seconds=1), "vehicles_total": 3},
    ]
    with db.session() as s:
        assert write_observations(s, rows) == 2
    with db.session() as s:
        got = s.execute(
            select(Observation.people, Observation.vehicles_total, Observation.reused).order_by(
                Observation.ts
            )
        ).all()
    assert [tuple(r) for r in got] == [(5, None, False), (None, 3, False)]


def test_a_single_row_and_rows_of_one_transaction_roll_back_together(db):
    cam = _camera(db)
    try:
        with db.session() as s:
            assert upsert_rows(s, TABLE, _rows(cam, 0, 1), KEY) == 1
            assert upsert_rows(s, TABLE, _rows(cam, 1, 50), KEY) == 50
            raise RuntimeError("caller fails after writing")
    except RuntimeError:
        pass
    assert _count(db) == 0


def test_the_statement_is_built_once_per_column_set(db):
    cam = _camera(db)
    with db.session() as s:
        upsert_rows(s, TABLE, _rows(cam, 0, 10), KEY)
        before = _upsert_statement.cache_info()
        upsert_rows(s, TABLE, _rows(cam, 10, 10), KEY)
        upsert_rows(s, TABLE, _rows(cam, 20, 1), KEY)
        after = _upsert_statement.cache_info()
    assert after.hits - before.hits == 2
    assert after.misses == before.misses


def test_the_slot_is_the_key_and_ts_the_frame_time(db):
    """Two writes of the same schedule slot are one row even when the frames were taken at
    different times; a row without a slot is keyed by its ts."""
    cam = _camera(db)
    first = {"camera_id": cam, "slot": T0, "ts": T0 + timedelta(seconds=2), "people": 4}
    again = {"camera_id": cam, "slot": T0, "ts": T0 + timedelta(seconds=9), "people": 5}
    no_slot = {"camera_id": cam, "ts": T0 + timedelta(minutes=1), "people": 6}
    with db.session() as s:
        assert write_observations(s, [first]) == 1
    with db.session() as s:
        assert write_observations(s, [again, no_slot]) == 1
    with db.session() as s:
        got = s.execute(
            select(Observation.slot, Observation.ts, Observation.people).order_by(Observation.slot)
        ).all()
    assert [tuple(r) for r in got] == [
        (T0, T0 + timedelta(seconds=2), 4),
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=1), 6),
    ]
