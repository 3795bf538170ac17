"""Reference data and the deterministic demo generator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from store.models import (
    Camera,
    Complaint,
    ComplaintEvent,
    Incident,
    Observation,
    ObservationRollup,
    Opd,
    OpdIndicatorValue,
)
from store.seed import DemoSpec, seed_demo, seed_reference

END = datetime(2026, 11, 23, 5, tzinfo=UTC)


def test_reference_data_has_the_palembang_points(sqlite_db):
    with sqlite_db.session() as s:
        counts = seed_reference(s)
        names = set(s.scalars(select(Camera.name)))
        assert counts["cameras"] >= 11
        for place in [
            "Benteng Kuto Besak",
            "Simpang Charitas",
            "Masjid Agung",
            "Simpang Lima DPRD",
            "Jembatan Ampera",
            "Kapten A. Rivai",
            "Air Mancur",
            "Talang Kelapa",
            "Macan Lindungan",
            "Simpang Bandara",
            "Angkatan 45",
        ]:
            assert any(place in n for n in names), place
        for cam in s.scalars(select(Camera)):  # every point is inside Palembang
            assert -3.1 < cam.lat < -2.85 and 104.6 < cam.lon < 104.9, cam.code
        assert {"DISHUB", "SATPOLPP", "POLRESTA", "BPKAD", "BPPD", "DPMPTSP", "DAMKAR"} <= set(
            s.scalars(select(Opd.code))
        )
    with sqlite_db.session() as s:  # seeding twice changes nothing
        seed_reference(s)
        assert s.scalar(select(func.count()).select_from(Camera)) == counts["cameras"]


def _fingerprint(database) -> tuple:
    with database.session() as s:
        return (
            s.scalar(select(func.count()).select_from(ObservationRollup)),
            round(s.scalar(select(func.sum(ObservationRollup.vehicles_avg))), 3),
            s.scalar(select(func.count()).select_from(Incident)),
            s.scalar(select(func.count()).select_from(Complaint)),
            s.scalar(select(func.count()).select_from(Observation)),
        )


def test_demo_history_is_deterministic_and_plausible(settings, tmp_path):
    from store.db import Database

    spec = DemoSpec(days=21, end=END, seed=7)
    prints = []
    for name in ("a", "b"):
        database = Database(f"sqlite:///{tmp_path}/{name}.db")
        database.migrate()
        with database.session() as s:
            counts = seed_demo(s, spec)
        prints.append(_fingerprint(database))
        database.dispose()
    assert prints[0] == prints[1]
    assert counts["hourly_rollups"] == 21 * 24 * 20

    database = Database(f"sqlite:///{tmp_path}/a.db")
    with database.session() as s:
        # traffic peaks at commuting hours on working days, quiet at 3 am
        rows = s.execute(
            select(ObservationRollup.bucket, ObservationRollup.vehicles_avg).where(
                ObservationRollup.period == "hour"
            )
        ).all()
        by_hour: dict[int, list[float]] = {}
        for bucket, v in rows:
            by_hour.setdefault((bucket.hour + 7) % 24, []).append(v)
        mean = {h: sum(v) / len(v) for h, v in by_hour.items()}
        assert mean[17] > 3 * mean[3]
        assert mean[7] > 3 * mean[3]
        # complaints have a status history that starts with 'new'
        first = s.scalar(select(ComplaintEvent.to_status).order_by(ComplaintEvent.id).limit(1))
        assert first == "new"
        assert s.scalar(select(func.count()).select_from(OpdIndicatorValue)) > 0
        assert (
            s.scalar(select(func.count()).select_from(Camera).where(Camera.is_demo.is_(True))) == 20
        )
        # seeding demo data twice is refused rather than doubling the history
        with pytest.raises(RuntimeError):
            seed_demo(s, spec)
    database.dispose()


@pytest.mark.parametrize(
    ("end", "rainy"),
    [(datetime(2026, 11, 29, 19, tzinfo=UTC), True), (datetime(2026, 7, 10, 2, tzinfo=UTC), False)],
)
def test_demo_river_sensors_at_waspada_or_above_have_their_open_alert(tmp_path, end, rainy):
    """The flood page shows each river sensor's level from its last reading; the alert list
    must agree: one open sensor alert per sensor at or above its warning level (siaga at or
    above its danger level), none for a sensor below it (a rainy-season and a dry-season day)."""
    from store.db import Database
    from store.models import Alert, Sensor

    database = Database(f"sqlite:///{tmp_path}/s.db")
    database.migrate()
    with database.session() as s:
        seed_demo(s, DemoSpec(days=3, raw_hours=2, complaints_per_day=2, end=end, seed=3))
        sensors = list(s.scalars(select(Sensor).where(Sensor.kind == "water_level")))
        alerts = {
            a.subject_id: a
            for a in s.scalars(
                select(Alert).where(Alert.subject_type == "sensor", Alert.ended_at.is_(None))
            )
        }
        assert sensors
        # the demo's rain (analytics/demo_model.py) raised the rivers on the first day only
        assert bool(alerts) is rainy
        for sensor in sensors:
            value, warn, danger = sensor.last_value, sensor.warning_level, sensor.danger_level
            if warn is None or value < warn:
                assert sensor.code not in alerts, sensor.code
                continue
            alert = alerts[sensor.code]
            expected = "siaga" if danger is not None and value >= danger else "waspada"
            assert alert.level == expected
            assert alert.severity == ("critical" if expected == "siaga" else "warning")
            assert alert.value == value and alert.dedup_key == f"sensor_level:sensor:{sensor.code}"
            assert alert.is_demo and alert.started_at <= end
    database.dispose()
