"""The daily incident rollup (incident_days): kept by triggers on every write path, on SQLite
and PostgreSQL; the security page's queries read it and agree with counting the incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import delete, func, select, text, update

from dashboard.queries import security as q
from store import incident_days
from store.incident_validation import IncidentRecord
from store.incidents import upsert_incidents
from store.models import Incident, IncidentDay


def _rollup(db, offset: int = 7) -> dict[tuple[str, str, str], int]:
    """{(local day ISO, kind, kecamatan): n} without zero rows; checks that the
    all-kecamatan rows ('*') hold the sum over the kecamatan of their (day, kind)."""
    with db.session() as s:
        rows = s.execute(
            select(IncidentDay.day, IncidentDay.kind, IncidentDay.kecamatan, IncidentDay.n).where(
                IncidentDay.utc_offset == offset, IncidentDay.n != 0
            )
        ).all()
    per = {(str(d)[:10], k, kec): int(n) for d, k, kec, n in rows if kec != "*"}
    sums: dict[tuple[str, str], int] = {}
    for (day, kind, _kec), n in per.items():
        sums[(day, kind)] = sums.get((day, kind), 0) + n
    every = {(str(d)[:10], k): int(n) for d, k, kec, n in rows if kec == "*"}
    assert every == {key: n for key, n in sums.items() if n}
    return per


def _incident(title: str, kind: str, when: datetime, kec: str | None) -> Incident:
    return Incident(kind=kind, source="police", title=title, occurred_at=when, kecamatan=kec,
                    lat=-2.98, lon=104.75)  # fmt: skip


def test_rollup_follows_every_write_path(db):
    # local days in WIB (UTC+7): 17:00 UTC is already the next day
    with db.session() as s:  # ORM inserts
        s.add(_incident("a", "fire", datetime(2026, 11, 1, 18, 0, tzinfo=UTC), "Plaju"))
        s.add(_incident("b", "fire", datetime(2026, 11, 1, 16, 59, tzinfo=UTC), None))
        # a Core bulk insert (what seeds and benches do)
        s.execute(
            Incident.__table__.insert(),
            [{"kind": "crime", "source": "x", "title": f"c{i}", "status": "open",
              "occurred_at": datetime(2026, 11, 2, 1, i, tzinfo=UTC), "kecamatan": "Plaju",
              "is_demo": False} for i in range(3)],
        )  # fmt: skip
    assert _rollup(db) == {
        ("2026-11-02", "fire", "Plaju"): 1,
        ("2026-11-01", "fire", ""): 1,
        ("2026-11-02", "crime", "Plaju"): 3,
    }
    # the incidents feed's upsert: a new agency row, then the same row moved to another day
    rec = IncidentRecord(source="damkar", external_id="D-1", kind="fire", status="open",
                         occurred_at=datetime(2026, 11, 3, 2, 0, tzinfo=UTC), lat=-2.97,
                         lon=104.74, description="Kebakaran gudang", kecamatan="Kemuning")  # fmt: skip
    with db.session() as s:
        upsert_incidents(s, [(0, rec)], actor="test", channel="test")
    assert _rollup(db)[("2026-11-03", "fire", "Kemuning")] == 1
    moved = rec.model_copy(update={"occurred_at": datetime(2026, 11, 4, 2, 0, tzinfo=UTC)})
    with db.session() as s:
        upsert_incidents(s, [(0, moved)], actor="test", channel="test")
    roll = _rollup(db)
    assert ("2026-11-03", "fire", "Kemuning") not in roll
    assert roll[("2026-11-04", "fire", "Kemuning")] == 1
    # ORM update of the kind, Core update of the kecamatan (area reassignment), delete
    with db.session() as s:
        row = s.scalars(select(Incident).where(Incident.title == "a")).one()
        row.kind = "crime"
        s.execute(update(Incident).where(Incident.title == "b").values(kecamatan="Gandus"))
        s.execute(delete(Incident).where(Incident.title == "c0"))
        s.execute(update(Incident).where(Incident.title == "c1").values(status="closed"))
    assert _rollup(db) == {
        ("2026-11-02", "crime", "Plaju"): 3,  # c1, c2 and a (now crime)
        ("2026-11-01", "fire", "Gandus"): 1,
        ("2026-11-04", "fire", "Kemuning"): 1,
    }
    # the rollup equals counting the incidents
    with db.session() as s:
        raw = s.execute(
            text("SELECT kind, coalesce(kecamatan, ''), count(*) FROM incidents GROUP BY 1, 2")
        ).all()
    per = {}
    for (_day, kind, kec), n in _rollup(db).items():
        per[(kind, kec)] = per.get((kind, kec), 0) + n
    assert per == {(k, kec): int(n) for k, kec, n in raw}


def test_another_offset_recounts(db):
    with db.session() as s:
        s.add(_incident("a", "fire", datetime(2026, 11, 1, 16, 30, tzinfo=UTC), "Plaju"))
    assert _rollup(db, 7) == {("2026-11-01", "fire", "Plaju"): 1}  # 23:30 WIB
    incident_days.forget()
    with db.session() as s:
        incident_days.ensure(s, 8)  # a WITA city: 00:30 the next day
    assert _rollup(db, 8) == {("2026-11-02", "fire", "Plaju"): 1}
    assert _rollup(db, 7) == {}
    with db.session() as s:  # the triggers now count in WITA
        assert incident_days.installed_offset(s) == 8
        s.add(_incident("b", "crime", datetime(2026, 11, 1, 15, 30, tzinfo=UTC), None))
    assert _rollup(db, 8)[("2026-11-01", "crime", "")] == 1
    incident_days.forget()
    with db.session() as s:
        incident_days.ensure(s, 7)


def test_security_queries_from_the_rollup_match_the_incidents(db):
    base = datetime(2026, 10, 1, tzinfo=UTC)
    kinds = ["fire", "crime", "traffic_accident"]
    kecs = ["Plaju", "Kemuning", None]
    with db.session() as s:
        s.execute(
            Incident.__table__.insert(),
            [{"kind": kinds[i % 3], "source": "x", "title": f"t{i}", "status": "open",
              "occurred_at": base + timedelta(hours=7 * i + (i % 5)), "kecamatan": kecs[i % 7 % 3],
              "is_demo": False} for i in range(400)],
        )  # fmt: skip
    incident_days.forget()
    # whole WIB days: 1 Oct 00:00 WIB .. 1 Dec 00:00 WIB
    start = datetime(2026, 9, 30, 17, tzinfo=UTC)
    end = datetime(2026, 11, 30, 17, tzinfo=UTC)
    with db.session() as s:
        for gran in ("day", "week", "month"):
            bounds = q._period_bounds(start, end, gran, 7)
            for kec, kind in ((None, None), (["Plaju"], None), (None, ["fire"])):
                rolled = q.incident_counts(s, start, end, gran, kec, None, kind, 7)
                raw = q._counts_by_ranges(s, bounds, kec, None, kind)
                pd.testing.assert_frame_equal(
                    rolled.reset_index(drop=True), raw.reset_index(drop=True), check_dtype=False
                )
                assert rolled["count"].sum() > 0
        top = q.top_kecamatan(s, start, end, offset_hours=7)
        kec_col = func.coalesce(Incident.kecamatan, "?")
        raw_top = s.execute(
            select(kec_col, func.count())
            .where(Incident.occurred_at >= start, Incident.occurred_at < end)
            .group_by(kec_col)
        ).all()
        assert sorted(zip(top["kecamatan"], top["count"], strict=True)) == sorted(
            (k, int(n)) for k, n in raw_top
        )
        # the area ranking's incidents per kecamatan and kind (security page, "per kecamatan")
        from dashboard.queries.areas import incidents_by_kecamatan

        by_area = incidents_by_kecamatan(s, start, end, None, 7)
        kec_raw = func.coalesce(Incident.kecamatan, "")
        raw_area = s.execute(
            select(kec_raw, Incident.kind, func.count())
            .where(Incident.occurred_at >= start, Incident.occurred_at < end)
            .group_by(kec_raw, Incident.kind)
        ).all()
        assert sorted(by_area.itertuples(index=False, name=None)) == sorted(
            (k, kind, int(n)) for k, kind, n in raw_area
        )
        # a range that is not whole local days counts the incidents (the same answer)
        part = q.incident_counts(s, start + timedelta(hours=3), end, "day", None, None, None, 7)
        times = [base + timedelta(hours=7 * i + (i % 5)) for i in range(400)]
        cut = start + timedelta(hours=3)
        assert part["count"].sum() == sum(1 for t in times if cut <= t < end)


def test_a_database_from_before_the_rollup_is_counted_on_migrate(db):
    """A database whose incidents predate the rollup (no table, no triggers; or triggers left
    without their table) gets both on the next migrate, with the incidents counted."""
    with db.session() as s:
        s.add(_incident("a", "fire", datetime(2026, 11, 1, 3, 0, tzinfo=UTC), "Plaju"))
        s.add(_incident("b", "crime", datetime(2026, 11, 1, 4, 0, tzinfo=UTC), "Plaju"))
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER IF EXISTS incident_days_trg ON incidents"))
        else:
            for name in ("ins", "del", "upd"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS incident_days_{name}"))
        conn.execute(text("DROP TABLE incident_days"))
    db.migrate()
    incident_days.forget()
    assert _rollup(db) == {("2026-11-01", "fire", "Plaju"): 1, ("2026-11-01", "crime", "Plaju"): 1}
    with db.session() as s:  # and the triggers count again
        s.add(_incident("c", "fire", datetime(2026, 11, 1, 5, 0, tzinfo=UTC), "Plaju"))
    assert _rollup(db)[("2026-11-01", "fire", "Plaju")] == 2
