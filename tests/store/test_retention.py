"""Retention of raw observations and hourly rollups (``pantau db prune``, the writer's daily
upkeep) on SQLite and PostgreSQL, and PostgreSQL's daily partitions of observations."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from store.models import (
    AreaRollup,
    Camera,
    CameraMonthRollup,
    Observation,
    ObservationRollup,
    RollupPeriod,
)
from store.retention import Maintenance, cutoffs, prune
from store.writes import write_observations

NOW = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
#: with 2 days of retention the raw rows of 27, 28 and 29 November (UTC) stay
CUTOFF = datetime(2026, 11, 27, tzinfo=UTC)


def _settings(settings, raw_days=2, hourly_days=30):
    return settings.model_copy(
        update={"observation_retention_days": raw_days, "hourly_rollup_retention_days": hourly_days}
    )


def _camera(session) -> int:
    cam = Camera(code="RET-1", name="Kamera retensi", lat=-2.99, lon=104.76, kecamatan="IB I")
    session.add(cam)
    session.flush()
    return cam.id


RAW_TIMES = {
    "four days before": CUTOFF - timedelta(days=3, hours=5),
    "a minute before": CUTOFF - timedelta(minutes=1),
    "at the cutoff": CUTOFF,
    "an hour after": CUTOFF + timedelta(hours=1),
    "now": NOW,
}
KEPT = {"at the cutoff", "an hour after", "now"}


def _fill(db) -> int:
    with db.session() as s:
        cam = _camera(s)
        write_observations(
            s, [{"camera_id": cam, "ts": ts, "people": 1} for ts in RAW_TIMES.values()]
        )
        rollups = []
        for days_ago in (100, 40, 29, 1):  # hourly rollups: 30 days are kept
            rollups.append((RollupPeriod.HOUR, NOW - timedelta(days=days_ago)))
        for days_ago in (400, 100, 1):  # daily rollups are kept for ever
            rollups.append((RollupPeriod.DAY, NOW - timedelta(days=days_ago)))
        for period, bucket in rollups:
            s.add(
                ObservationRollup(
                    camera_id=cam, period=period, bucket=bucket.replace(minute=0), samples=60
                )
            )
            s.add(AreaRollup(kecamatan="IB I", period=period, bucket=bucket.replace(minute=0)))
        s.add(CameraMonthRollup(camera_id=cam, bucket=NOW - timedelta(days=400)))
    return cam


def _raw_times(db) -> set[datetime]:
    with db.session() as s:
        return {ts.astimezone(UTC) for ts in s.scalars(select(Observation.ts))}


def _hour_buckets(db) -> list[datetime]:
    with db.session() as s:
        return sorted(
            b.astimezone(UTC)
            for b in s.scalars(
                select(ObservationRollup.bucket).where(
                    ObservationRollup.period == RollupPeriod.HOUR
                )
            )
        )


def _counts(db) -> tuple[int, int, int]:
    with db.session() as s:
        day = s.scalar(
            select(func.count())
            .select_from(ObservationRollup)
            .where(ObservationRollup.period == RollupPeriod.DAY)
        )
        area = s.scalar(select(func.count()).select_from(AreaRollup))
        month = s.scalar(select(func.count()).select_from(CameraMonthRollup))
    return day, area, month


def test_cutoffs_are_whole_utc_days(settings):
    assert cutoffs(_settings(settings, 2, 30), NOW) == (CUTOFF, CUTOFF - timedelta(days=28))
    # retention 0 keeps raw rows (and hourly rollups, which can always be recomputed) for ever
    assert cutoffs(_settings(settings, 0, 30), NOW) == (None, None)
    # hourly rollups never go before the raw rows they come from
    assert cutoffs(_settings(settings, 5, 1), NOW)[1] == datetime(2026, 11, 24, tzinfo=UTC)


def test_prune_removes_only_raw_rows_older_than_retention_never_rollups(db, settings):
    _fill(db)
    s2 = _settings(settings)
    before = _counts(db)

    plan = prune(db, s2, NOW, dry_run=True)
    assert plan.total_raw == 2
    assert plan.hourly_rows == 2
    assert len(_raw_times(db)) == len(RAW_TIMES)  # a dry run changes nothing

    seen: list[tuple[str, int, int]] = []
    prune(db, s2, NOW, progress=lambda *a: seen.append(a))
    assert _raw_times(db) == {RAW_TIMES[k] for k in KEPT}
    # hourly camera rollups older than 30 days went; daily, kecamatan and monthly ones stay
    assert _hour_buckets(db) == [(NOW - timedelta(days=d)).replace(minute=0) for d in (29, 1)]
    assert _counts(db) == before
    assert seen and seen[-1][0] == "hourly"

    assert prune(db, s2, NOW).total_raw == 0  # nothing left to do: a second run is a no-op
    assert _raw_times(db) == {RAW_TIMES[k] for k in KEPT}


def test_prune_deletes_in_batches_with_progress(sqlite_db, settings):
    with sqlite_db.session() as s:
        cam = _camera(s)
        old = CUTOFF - timedelta(days=1)
        write_observations(
            s,
            [{"camera_id": cam, "ts": old + timedelta(minutes=i)} for i in range(25)]
            + [{"camera_id": cam, "ts": CUTOFF + timedelta(minutes=i)} for i in range(3)],
        )
    seen: list[tuple[str, int, int]] = []
    prune(sqlite_db, _settings(settings), NOW, batch=10, progress=lambda *a: seen.append(a))
    assert [x for x in seen if x[0] == "raw"] == [("raw", 10, 25), ("raw", 20, 25), ("raw", 25, 25)]
    assert len(_raw_times(sqlite_db)) == 3


def test_cli_prune_dry_run_then_prune(db, settings, monkeypatch):
    from pantau import cli
    from pantau.settings import get_settings

    _fill(db)
    monkeypatch.setenv("PANTAU_DATABASE_URL", db.url)
    monkeypatch.setenv("PANTAU_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("PANTAU_OBSERVATION_RETENTION_DAYS", "2")
    monkeypatch.setenv("PANTAU_HOURLY_ROLLUP_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    monkeypatch.setattr("store.retention.datetime", _FrozenDatetime)
    try:
        runner = CliRunner()
        dry = runner.invoke(cli.app, ["db", "prune", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "2 rows" in dry.output and "Dry run" in dry.output
        assert len(_raw_times(db)) == len(RAW_TIMES)
        real = runner.invoke(cli.app, ["db", "prune"])
        assert real.exit_code == 0, real.output
        assert _raw_times(db) == {RAW_TIMES[k] for k in KEPT}
    finally:
        get_settings.cache_clear()


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206
        return NOW if tz else NOW.replace(tzinfo=None)


def test_maintenance_runs_once_a_day_in_bounded_steps(sqlite_db, settings):
    with sqlite_db.session() as s:
        cam = _camera(s)
        old = CUTOFF - timedelta(days=1)
        write_observations(
            s, [{"camera_id": cam, "ts": old + timedelta(minutes=i)} for i in range(30)]
        )
    clock = [NOW]
    m = Maintenance(
        sqlite_db,
        _settings(settings),
        clock=lambda: clock[0],
        budget_s=0.0,
        batch=10,
        first_after_s=0,
    )
    steps = 0
    while m.step():  # one batch per call with no time budget
        steps += 1
        assert steps < 20
    assert steps >= 2
    assert _raw_times(sqlite_db) == set()
    assert m.pruned_before == CUTOFF
    # same day: nothing more; next day: runs again
    with sqlite_db.session() as s:
        write_observations(s, [{"camera_id": cam, "ts": CUTOFF + timedelta(minutes=5)}])
    assert m.step() is False and m.runs == 1
    clock[0] = NOW + timedelta(days=1)
    while m.step():
        pass
    assert m.runs == 2
    assert _raw_times(sqlite_db) == set()  # 27 Nov is now older than the 2 days kept


def test_writer_prunes_by_itself(db, settings):
    from ingestion.process import SampleResult
    from ingestion.writer import Writer

    with db.session() as s:
        cam = _camera(s)
    old = datetime.now(UTC) - timedelta(days=5)
    new = datetime.now(UTC) - timedelta(minutes=5)
    writer = Writer(
        db, _settings(settings), flush_interval_s=0.05, maintenance_after_s=0.0, alerts=False
    ).start()
    try:
        for ts in (old, new):
            writer.submit(
                SampleResult(camera_id=cam, code="RET-1", ts=ts,
                             observation={"camera_id": cam, "ts": ts, "people": 2})
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if writer.maintenance.runs and _raw_times(db) == {new}:
                break
            time.sleep(0.1)
    finally:
        writer.stop()
    assert _raw_times(db) == {new}


# -- PostgreSQL partitions -------------------------------------------------------------------
def _partitions(db) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = to_regclass('observations')"
                )
            ).scalars()
        )


def test_observations_are_partitioned_by_day_on_postgresql(pg_db):
    today = datetime.now(UTC).date()
    with pg_db.engine.connect() as conn:
        kind = conn.scalar(
            text("SELECT relkind FROM pg_class WHERE oid = 'observations'::regclass")
        )
    assert kind == "p"
    names = _partitions(pg_db)
    for d in range(-1, 4):  # yesterday, today and 3 days ahead after migrate
        assert f"observations_p{today + timedelta(days=d):%Y%m%d}" in names


def test_write_into_a_day_without_partition_creates_it(pg_db):
    far = datetime(2031, 3, 4, 5, 6, tzinfo=UTC)
    with pg_db.session() as s:
        cam = _camera(s)
        assert write_observations(s, [{"camera_id": cam, "ts": far, "people": 4}]) == 1
        # the ORM path too
        s.add(Observation(camera_id=cam, ts=far + timedelta(days=1), people=5))
    with pg_db.session() as s:  # re-delivery stays a no-op
        assert write_observations(s, [{"camera_id": cam, "ts": far, "people": 4}]) == 0
    assert {"observations_p20310304", "observations_p20310305"} <= set(_partitions(pg_db))
    assert _raw_times(pg_db) == {far, far + timedelta(days=1)}


def test_partition_rolled_back_is_created_again(pg_db):
    far = datetime(2032, 1, 2, tzinfo=UTC)
    with pg_db.session() as s:
        cam = _camera(s)
    with pytest.raises(RuntimeError), pg_db.session() as s:
        write_observations(s, [{"camera_id": cam, "ts": far}])
        raise RuntimeError("the batch fails after the partition was made")
    with pg_db.session() as s:
        assert write_observations(s, [{"camera_id": cam, "ts": far}]) == 1
    assert _raw_times(pg_db) == {far}


def test_maintenance_creates_ahead_and_drops_expired_partitions(pg_db, settings):
    today = datetime.now(UTC).replace(hour=9)
    with pg_db.session() as s:
        cam = _camera(s)
        write_observations(
            s, [{"camera_id": cam, "ts": today - timedelta(days=d)} for d in range(6)]
        )
    m = Maintenance(
        pg_db,
        _settings(settings).model_copy(update={"partitions_ahead_days": 5}),
        clock=lambda: today,
        first_after_s=0,
    )
    p = prune(pg_db, _settings(settings), today, dry_run=True)
    assert [n for n, _ in p.partitions] == [
        f"observations_p{(today - timedelta(days=d)).date():%Y%m%d}" for d in (5, 4, 3)
    ]
    while m.step():
        pass
    names = _partitions(pg_db)
    for d in range(-2, 6):
        assert f"observations_p{(today + timedelta(days=d)).date():%Y%m%d}" in names
    for d in (3, 4, 5):
        assert f"observations_p{(today - timedelta(days=d)).date():%Y%m%d}" not in names
    assert _raw_times(pg_db) == {today - timedelta(days=d) for d in range(3)}
    # a late sample for a dropped day still lands (its partition comes back)
    with pg_db.session() as s:
        assert write_observations(s, [{"camera_id": cam, "ts": today - timedelta(days=4)}]) == 1


def test_plain_table_is_converted_with_its_rows(pg_db):
    """An existing PostgreSQL database (plain observations table) is partitioned by migrate,
    rows and ids kept, new ids continue after them."""
    from store.partitions import forget, partition_observations

    with pg_db.engine.begin() as conn:  # back to a plain table, as the old schema had
        conn.execute(text("DROP TABLE observations"))
        Observation.__table__.create(conn)
    forget()
    with pg_db.session() as s:
        cam = _camera(s)
        s.execute(text("SET LOCAL session_replication_role = replica"))
    with pg_db.session() as s:
        write_observations(
            s, [{"camera_id": cam, "ts": NOW - timedelta(days=d), "people": d} for d in range(3)]
        )
    with pg_db.engine.begin() as conn:
        assert partition_observations(conn) is True
        assert partition_observations(conn) is False  # once
    forget()
    with pg_db.session() as s:
        rows = s.execute(select(Observation.id, Observation.people).order_by(Observation.id)).all()
        assert [r.people for r in rows] == [0, 1, 2]
        write_observations(s, [{"camera_id": cam, "ts": NOW + timedelta(minutes=1)}])
        new_id = s.scalar(select(func.max(Observation.id)))
    assert new_id > rows[-1].id
    assert "observations_p20261127" in _partitions(pg_db)
