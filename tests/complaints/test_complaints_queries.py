"""Read side: server-side heatmap cells, KPIs with overdue counts, per-OPD performance and the
operator queue, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from complaints_helpers import report
from sqlalchemy import select

from dashboard.queries import complaints as q
from store.models import ComplaintStatus, Opd

S = ComplaintStatus
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def pupr(db) -> int:
    with db.session() as s:
        return s.scalar(select(Opd.id).where(Opd.code == "PUPR"))


def test_heatmap_cells_group_on_the_server(svc, seeded):
    # three reports in one ~550 m cell, one in another, one old closed, one rejected
    for lat, lon in ((-2.9761, 104.7451), (-2.9762, 104.7452), (-2.9763, 104.7453)):
        svc.submit(report(lat=lat, lon=lon), now=NOW - timedelta(days=2))
    svc.submit(report(lat=-2.9500, lon=104.7000, category="waste"), now=NOW - timedelta(days=1))
    old = svc.submit(report(lat=-2.9900, lon=104.7700), now=NOW - timedelta(days=20)).complaint
    svc.transition(old.id, S.VERIFIED, actor="o", now=NOW - timedelta(days=20))
    svc.transition(
        old.id, S.DISPATCHED, actor="o", opd_id=pupr(seeded), now=NOW - timedelta(days=20)
    )
    svc.transition(old.id, S.RESOLVED, actor="o", note="ok", now=NOW - timedelta(days=15))
    spam = svc.submit(report(lat=-2.9000, lon=104.8000), now=NOW - timedelta(days=1)).complaint
    svc.transition(spam.id, S.REJECTED, actor="o", note="spam", now=NOW - timedelta(days=1))
    with seeded.session() as s:
        live = q.heatmap_cells(s, days=30, view="live", now=NOW)
        everything = q.heatmap_cells(s, days=30, view="all", now=NOW)
        closed = q.heatmap_cells(s, days=30, view="closed", now=NOW)
        waste = q.heatmap_cells(s, days=30, view="all", category="waste", now=NOW)
        week = q.heatmap_cells(s, days=7, view="all", now=NOW)
    assert sorted(c["total"] for c in live) == [1, 3]  # the resolved one faded out (15 days)
    assert sorted(c["total"] for c in everything) == [1, 1, 3]  # rejected never counted
    assert [c["total"] for c in closed] == [1] and closed[0]["open"] == 0
    assert [c["total"] for c in waste] == [1]
    assert sum(c["total"] for c in week) == 4
    top = live[0]
    (south, west), (north, east) = q.cell_bounds(top["cy"], top["cx"], 0.005)
    assert south <= -2.9763 <= north and west <= 104.7451 <= east
    gj = q.cells_geojson(live, 0.005)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 2
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5


def test_recently_resolved_fade_instead_of_vanishing(svc, seeded):
    c = svc.submit(report(), now=NOW - timedelta(days=3)).complaint
    svc.transition(c.id, S.VERIFIED, actor="o", now=NOW - timedelta(days=3))
    svc.transition(c.id, S.DISPATCHED, actor="o", opd_id=pupr(seeded), now=NOW - timedelta(days=3))
    svc.transition(c.id, S.RESOLVED, actor="o", note="ok", now=NOW - timedelta(days=1))
    with seeded.session() as s:
        cells = q.heatmap_cells(s, days=30, view="live", now=NOW)
    assert len(cells) == 1 and 0 < cells[0]["weight"] < 1 and cells[0]["open"] == 0


def test_kpis_overdue_and_opd_performance(svc, seeded):
    late = svc.submit(report(), now=NOW - timedelta(days=10)).complaint  # never dispatched
    on_time = svc.submit(report(lat=-2.95), now=NOW - timedelta(days=8)).complaint
    svc.dispatch_many([on_time.id], pupr(seeded), actor="o", now=NOW - timedelta(days=8, hours=-5))
    slow = svc.submit(report(lat=-2.96), now=NOW - timedelta(days=20)).complaint
    svc.dispatch_many([slow.id], pupr(seeded), actor="o", now=NOW - timedelta(days=12))  # late
    svc.transition(slow.id, S.RESOLVED, actor="o", note="ok", now=NOW - timedelta(days=11))
    with seeded.session() as s:
        k = q.kpis(s, days=30, now=NOW)
        perf = q.opd_performance(s, days=30, now=NOW)
        daily = q.daily_counts(s, days=30, now=NOW)
        queue = q.queue(s, now=NOW)
        overdue = q.queue(s, now=NOW, overdue_only=True)
        found = q.queue(s, now=NOW, statuses=list(S), search=slow.tracking_id.lower())
    assert k.total == 3 and k.open_now == 2
    assert k.overdue_dispatch == 1  # `late`
    assert k.overdue_followup == 1  # `on_time` was dispatched 8 days ago, OPD silent
    assert k.dispatch_on_time_pct == 50.0
    # per local (WIB) day of intake, on both backends: 13, 15 and 3 November
    assert list(daily["reports"]) == [1, 1, 1] and int(daily["open"].sum()) == 2
    assert [d.day for d in daily["day"]] == [3, 13, 15]
    row = perf.iloc[0]
    assert row["opd"] == "Dinas PUPR" and row["reports"] == 2 and row["late_now"] == 1
    assert row["dispatch_on_time_pct"] == 50.0
    assert abs(row["median_resolve_h"] - 9 * 24) < 0.01
    assert set(queue["tracking_id"]) == {late.tracking_id, on_time.tracking_id}
    assert dict(zip(overdue["tracking_id"], overdue["overdue"], strict=True)) == {
        late.tracking_id: "dispatch",
        on_time.tracking_id: "followup",
    }
    assert list(found["tracking_id"]) == [slow.tracking_id]


def test_long_period_heatmap_counts_exactly_its_days(svc, seeded, monkeypatch):
    """Periods read from the monthly rollup start on their first day, not on the first of that
    month: the same cells and counts as the raw rows, for every view, category and length."""
    made = []
    for i in range(40):  # one report every 5 days, over 200 days, in 6 cells
        c = svc.submit(
            report(
                lat=-2.97 + 0.006 * (i % 3),
                lon=104.74 + 0.006 * (i % 2),
                category="waste" if i % 4 == 0 else "road_damage",
            ),  # fmt: skip
            now=NOW - timedelta(days=5 * i, hours=3),
        ).complaint
        made.append(c)
    svc.dispatch_many([m.id for m in made[::3]], pupr(seeded), actor="o", now=NOW)
    for m in made[::6]:
        svc.transition(m.id, S.RESOLVED, actor="o", note="ok", now=NOW)

    def cells(days: int, view: str, category: str | None) -> set[tuple]:
        with seeded.session() as s:
            found = q.heatmap_cells(s, days=days, view=view, category=category, now=NOW)
        return {(c["cy"], c["cx"], c["weight"], c["open"], c["total"]) for c in found}

    cases = [(d, v, c) for d in (45, 90, 137) for v in ("all", "closed") for c in (None, "waste")]
    from_rollup = {case: cells(*case) for case in cases}
    monkeypatch.setattr(q, "ROLLUP_AFTER_DAYS", 10_000)
    for case in cases:
        assert from_rollup[case] == cells(*case), case
    # the periods differ: 45 days is not the whole of its first month
    assert sum(t for *_, t in from_rollup[(45, "all", None)]) == 9  # days 0, 5, ..., 40


def test_monthly_rollup_matches_the_rows(svc, seeded, monkeypatch):
    """Kept incrementally by every insert and transition; equal to a full rebuild; the long
    period heatmap read from it equals the raw aggregation over the same months."""
    from store.complaints import rebuild_cell_months
    from store.models import ComplaintCellMonth

    made = []
    for i in range(12):
        c = svc.submit(
            report(
                lat=-2.97 + 0.004 * (i % 4),
                lon=104.74 + 0.003 * (i % 3),
                category="waste" if i % 3 == 0 else "road_damage",
            ),  # fmt: skip
            now=NOW - timedelta(days=20 * i),
        ).complaint
        made.append(c)
    svc.transition(made[1].id, S.REJECTED, actor="o", note="spam")
    svc.transition(made[2].id, S.DUPLICATE, actor="o", note="sama", duplicate_of_id=made[3].id)
    svc.dispatch_many([m.id for m in made[4:8]], pupr(seeded), actor="o")
    for m in made[4:6]:
        svc.transition(m.id, S.RESOLVED, actor="o", note="ok")
    svc.transition(made[4].id, S.CLOSED, actor="o")
    svc.transition(made[5].id, S.IN_PROGRESS, actor="o", note="belum beres")  # reopened

    def snapshot(s):
        rows = s.execute(
            select(
                ComplaintCellMonth.month, ComplaintCellMonth.category, ComplaintCellMonth.cy,
                ComplaintCellMonth.cx, ComplaintCellMonth.total, ComplaintCellMonth.open,
            ).where((ComplaintCellMonth.total != 0) | (ComplaintCellMonth.open != 0))
        ).all()  # fmt: skip
        return sorted(tuple(r) for r in rows)

    with seeded.session() as s:
        incremental = snapshot(s)
        long_view = q.heatmap_cells(s, days=365, view="all", now=NOW)
        closed_view = q.heatmap_cells(s, days=365, view="closed", now=NOW)
    with seeded.session() as s:
        rebuild_cell_months(s)
    with seeded.session() as s:
        assert snapshot(s) == incremental
    assert sum(c["total"] for c in long_view) == 10  # 12 minus rejected and duplicate
    assert sum(c["open"] for c in long_view) == 9  # one closed
    assert sum(c["total"] for c in closed_view) == 1
    # the raw aggregation over the same rows gives the same cells and counts
    monkeypatch.setattr(q, "ROLLUP_AFTER_DAYS", 10_000)
    with seeded.session() as s:
        raw = q.heatmap_cells(s, days=365, view="all", now=NOW)
    as_set = lambda cells: {(c["cy"], c["cx"], c["total"], c["open"]) for c in cells}  # noqa: E731
    assert as_set(raw) == as_set(long_view)
