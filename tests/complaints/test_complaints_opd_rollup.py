"""Per-OPD statistics read from the ``complaint_opd_days`` rollup equal the direct computation
over the reports, after a randomized workflow history (dispatch, re-dispatch to another OPD,
follow-up, resolve, reopen, close, rejections, duplicates, the auto-close job, reports at WIB
month boundaries and UTC midnights), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from complaints_helpers import report
from sqlalchemy import delete, select

from dashboard.queries import complaints as q
from store.complaints import OPEN_STATUSES, TRANSITIONS, rebuild_opd_days
from store.models import Complaint, ComplaintOpdDay, ComplaintStatus, Opd

S = ComplaintStatus
NOW = datetime(2026, 11, 23, 5, 17, 42, 123456, tzinfo=UTC)
# instants the window and rollup arithmetic must get right: WIB midnights at month ends
# (17:00 UTC the day before) and UTC midnights, a microsecond either side
BOUNDARIES = [
    datetime(2026, 10, 31, 17, 0, tzinfo=UTC),  # 1 Nov 00:00 WIB
    datetime(2026, 9, 30, 17, 0, tzinfo=UTC),  # 1 Oct 00:00 WIB
    datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 22, 0, 0, tzinfo=UTC),
    NOW - timedelta(days=30),  # the 30-day window's first instant
]


def _walk(svc, rng: random.Random, made: list[int], opd_ids: list[int], cid: int, t: datetime):
    """A random path through the workflow for one report, each step a little later."""
    status = S.NEW
    for _ in range(rng.randint(0, 7)):
        t += timedelta(hours=rng.uniform(0.05, 60))
        if t >= NOW:
            return
        allowed = sorted(TRANSITIONS[status])
        if not allowed:
            return
        dst = rng.choice(allowed)
        kw = {"actor": "operator.uji", "note": "catatan uji", "now": t}
        if dst == S.DISPATCHED:
            kw["opd_id"] = rng.choice(opd_ids)
        if dst == S.DUPLICATE:
            others = [m for m in made if m != cid]
            if not others:
                continue
            kw["duplicate_of_id"] = rng.choice(others)
        svc.transition(cid, dst, **kw)
        status = dst


def _history(svc, db, seed: int) -> list[int]:
    rng = random.Random(seed)
    with db.session() as s:
        opd_ids = list(s.scalars(select(Opd.id).order_by(Opd.id)))[:4]
    made: list[int] = []
    created = [b + timedelta(microseconds=d) for b in BOUNDARIES for d in (-1, 0, 1)]
    created += [NOW - timedelta(seconds=rng.uniform(60, 120 * 86400)) for _ in range(60)]
    for i, t in enumerate(created):
        category = rng.choice(["road_damage", "waste", "drainage"])
        lat = -2.976 + rng.uniform(-0.02, 0.02)
        c = svc.submit(report(category=category, lat=lat), now=t).complaint
        made.append(c.id)
        _walk(svc, rng, made, opd_ids, c.id, t)
        if i == 25:  # the nightly job, part-way through the history
            svc.auto_close(now=NOW - timedelta(days=40))
    svc.auto_close(now=NOW)
    return made


def direct(session, *, days: int, category: str | None, now: datetime) -> dict:
    """The figures computed from the reports one by one, in plain Python."""
    since = now - timedelta(days=days)
    c = Complaint
    rows = session.execute(
        select(c.opd_id, c.category, c.status, c.created_at, c.dispatched_at, c.dispatch_due,
               c.followed_up_at, c.followup_due, c.resolved_at).where(c.opd_id.is_not(None))
    ).all()  # fmt: skip
    names = dict(session.execute(select(Opd.id, Opd.short_name)).all())
    groups: dict[int, list] = {}
    for r in rows:
        if since <= r.created_at <= now and (category is None or r.category == category):
            groups.setdefault(r.opd_id, []).append(r)

    def med(values):
        return statistics.median(values) if values else math.nan

    out = {}
    for oid, rs in groups.items():
        fu = [r for r in rs if r.followed_up_at is not None]
        out[names[oid]] = {
            "reports": len(rs),
            "open": sum(r.status in OPEN_STATUSES for r in rs),
            "median_dispatch_h": med(
                [
                    (r.dispatched_at - r.created_at).total_seconds() / 3600
                    for r in rs
                    if r.dispatched_at is not None
                ]
            ),  # fmt: skip
            "median_resolve_h": med(
                [
                    (r.resolved_at - r.created_at).total_seconds() / 3600
                    for r in rs
                    if r.resolved_at is not None
                ]
            ),  # fmt: skip
            "dispatch_on_time_pct": 100.0
            * sum(r.dispatched_at is not None and r.dispatched_at <= r.dispatch_due for r in rs)
            / len(rs),
            "followup_on_time_pct": 100.0
            * sum(r.followup_due is not None and r.followed_up_at <= r.followup_due for r in fu)
            / len(fu)
            if fu
            else math.nan,
            "late_now": sum(
                r.status == S.DISPATCHED and r.followup_due is not None and r.followup_due < now
                for r in rs
            ),
        }
    return out


def as_dict(df) -> dict:
    return {r["opd"]: {k: v for k, v in r.items() if k != "opd"} for r in df.to_dict("records")}


def assert_same(got: dict, want: dict, label: str) -> None:
    assert set(got) == set(want), label
    for opd, row in want.items():
        for key, value in row.items():
            if isinstance(value, float):
                assert got[opd][key] == pytest.approx(value, rel=1e-12, abs=1e-9, nan_ok=True), (
                    label,
                    opd,
                    key,
                )
            else:
                assert got[opd][key] == value, (label, opd, key)


def rollup_snapshot(session) -> list[tuple]:
    t = ComplaintOpdDay
    rows = session.execute(
        select(t.day, t.opd_id, t.category, t.reports, t.open, t.dispatch_ok, t.followup_n,
               t.followup_ok, t.dispatch_us, t.resolve_us)
    ).all()  # fmt: skip
    for r in rows:  # rows emptied by re-dispatches hold nothing
        if r.reports == 0:
            assert tuple(r[4:8]) == (0, 0, 0, 0) and not r.dispatch_us and not r.resolve_us
    return sorted(tuple(r) for r in rows if r.reports)


@pytest.mark.parametrize("seed", [11, 2026])
def test_rollup_backed_opd_figures_equal_the_direct_computation(svc, seeded, seed):
    _history(svc, seeded, seed)
    windows = [
        NOW,
        NOW.replace(hour=0, minute=0, second=0, microsecond=0),  # exactly UTC midnight
        datetime(2026, 11, 21, 17, 0, tzinfo=UTC),  # exactly WIB midnight
        NOW - timedelta(days=1, hours=9, minutes=3),
    ]
    checked = 0
    with seeded.session() as s:
        for now in windows:
            for days in (1, 2, 7, 30, 45, 90, 365):
                for category in (None, "waste"):
                    got = as_dict(q.opd_performance(s, days=days, category=category, now=now))
                    want = direct(s, days=days, category=category, now=now)
                    assert_same(got, want, f"{now} {days} days {category}")
                    checked += bool(want)
        # the history reached several OPDs and most windows
        assert checked >= 20
        assert len(direct(s, days=365, category=None, now=NOW)) >= 3
        incremental = rollup_snapshot(s)
        year = q.opd_performance(s, days=90, now=NOW)
    assert incremental, "the workflow filled the rollup"
    # kept on write == rebuilt from the reports (durations included, byte for byte)
    with seeded.session() as s:
        rebuild_opd_days(s)
    with seeded.session() as s:
        assert rollup_snapshot(s) == incremental
        # the long window really reads the rollup: without it the figures change
        s.execute(delete(ComplaintOpdDay))
        s.flush()
        assert as_dict(q.opd_performance(s, days=90, now=NOW)) != as_dict(year)
        s.rollback()


def test_redispatch_moves_the_report_to_the_new_opd(svc, seeded):
    with seeded.session() as s:
        first, second = list(s.scalars(select(Opd.id).order_by(Opd.id)))[:2]
        names = dict(s.execute(select(Opd.id, Opd.short_name)).all())
    t0 = NOW - timedelta(days=10)
    c = svc.submit(report(), now=t0).complaint
    svc.dispatch_many([c.id], first, actor="o", now=t0 + timedelta(hours=2))
    with seeded.session() as s:
        before = as_dict(q.opd_performance(s, days=30, now=NOW))
    assert list(before) == [names[first]] and before[names[first]]["median_dispatch_h"] == 2.0
    svc.transition(c.id, S.DISPATCHED, actor="o", note="salah OPD", opd_id=second,
                   now=t0 + timedelta(hours=5))  # fmt: skip
    svc.transition(c.id, S.RESOLVED, actor="o", note="beres", now=t0 + timedelta(hours=29))
    with seeded.session() as s:
        after = as_dict(q.opd_performance(s, days=30, now=NOW))
    assert list(after) == [names[second]]
    row = after[names[second]]
    assert (row["reports"], row["open"]) == (1, 0)
    assert row["median_dispatch_h"] == 5.0 and row["median_resolve_h"] == 29.0
    assert row["dispatch_on_time_pct"] == 100.0 and row["followup_on_time_pct"] == 100.0


def test_concurrent_changes_keep_the_rollup_exact(svc, seeded):
    """Threads re-routing and resolving reports that share rollup rows, each change its own
    transaction: no lost update (the rows are locked), no deadlock (one lock order)."""
    import threading

    with seeded.session() as s:
        a, b = list(s.scalars(select(Opd.id).order_by(Opd.id)))[:2]
    t0 = NOW - timedelta(days=3)
    ids = [svc.submit(report(lat=-2.97 + i * 1e-4), now=t0).complaint.id for i in range(24)]
    svc.dispatch_many(ids, a, actor="o", now=t0 + timedelta(hours=1))
    errors: list[BaseException] = []

    def work(chunk: list[int], k: int) -> None:
        try:
            for n, cid in enumerate(chunk):
                there, back = (b, a) if (n + k) % 2 else (a, b)
                when = t0 + timedelta(hours=2 + n)
                svc.transition(cid, S.DISPATCHED, actor="o", note="alih", opd_id=there, now=when)
                svc.transition(cid, S.DISPATCHED, actor="o", note="alih", opd_id=back, now=when)
                svc.transition(cid, S.RESOLVED, actor="o", note="beres", now=when)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[k::4], k)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    with seeded.session() as s:
        incremental = rollup_snapshot(s)
        got = as_dict(q.opd_performance(s, days=30, now=NOW))
        want = direct(s, days=30, category=None, now=NOW)
    assert_same(got, want, "after concurrent changes")
    assert sum(r["reports"] for r in got.values()) == 24
    with seeded.session() as s:
        rebuild_opd_days(s)
    with seeded.session() as s:
        assert rollup_snapshot(s) == incremental
