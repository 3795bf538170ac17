"""The alert response workflow (store.alert_workflow): the state machine, its refusals, two
operators acknowledging at once, the timeline of engine events and operator actions, SOP ticks.

Runs on SQLite and PostgreSQL (the ``db`` fixture). Expected values are written by hand from the
issue's workflow (open -> acknowledged -> assigned -> resolved; notes and SOP ticks anywhere
before resolving; notes also after)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from store import alert_sop
from store import alert_workflow as wf
from store.models import Alert, AlertEvent, AlertSopTick, Opd, User

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 WIB
OP = wf.Actor("op.siang", "operator")
OP2 = wf.Actor("op.malam", "operator")


def _setup(db) -> dict[str, int]:
    with db.session() as s:
        bpbd = Opd(code="BPBD", name="Badan Penanggulangan Bencana Daerah", short_name="BPBD")
        dishub = Opd(code="DISHUB", name="Dinas Perhubungan", short_name="Dishub")
        s.add_all([bpbd, dishub])
        s.add_all(
            [
                User(username="op.siang", password_hash="x", role="operator"),
                User(username="op.malam", password_hash="x", role="operator"),
                User(username="walikota", password_hash="x", role="pimpinan"),
                User(username="op.lama", password_hash="x", role="operator", is_active=False),
            ]
        )
        a = Alert(rule="flood_coverage", severity="warning", subject_type="camera",
                  subject_id="CAM-1", title="Genangan 30%", value=0.3, started_at=T0)  # fmt: skip
        s.add(a)
        s.flush()
        return {"alert": a.id, "bpbd": bpbd.id, "dishub": dishub.id}


def _events(db, alert_id: int) -> list[tuple[str, str]]:
    with db.session() as s:
        rows = s.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        ).all()
        return [(e.type, e.actor) for e in rows]


def test_full_path_open_to_resolved(db):
    ids = _setup(db)
    a = ids["alert"]
    with db.session() as s:
        wf.acknowledge(s, a, OP, now=T0 + timedelta(minutes=3))
    with db.session() as s:
        wf.assign(s, a, OP, opd_id=ids["bpbd"], now=T0 + timedelta(minutes=5))
    with db.session() as s:
        wf.add_note(s, a, OP, "Pompa dikirim ke lokasi", now=T0 + timedelta(minutes=6))
        wf.escalate(s, a, OP, severity="critical", to_pimpinan=True, now=T0 + timedelta(minutes=7))
        wf.tick_step(s, a, OP, "verify", now=T0 + timedelta(minutes=8))
    with db.session() as s:
        wf.resolve(s, a, OP2, "handled", note="Air surut 11:00", now=T0 + timedelta(minutes=90))
    with db.session() as s:
        al = s.get(Alert, a)
        assert al.status == "resolved"
        assert al.acknowledged_by == "op.siang"
        assert al.acknowledged_at == T0 + timedelta(minutes=3)
        assert al.assigned_opd_id == ids["bpbd"] and al.assigned_user is None
        assert al.assigned_at == T0 + timedelta(minutes=5)
        assert al.severity == "critical"
        assert al.escalated_to == "pimpinan,critical"
        assert al.escalated_at == T0 + timedelta(minutes=7)
        assert (al.resolved_by, al.outcome, al.outcome_note) == (
            "op.malam",
            "handled",
            "Air surut 11:00",
        )
        assert al.resolved_at == T0 + timedelta(minutes=90)
        assert al.ended_at is None  # the condition has not cleared: a separate fact
    assert _events(db, a) == [
        ("opened", "sistem"),
        ("acknowledged", "op.siang"),
        ("assigned", "op.siang"),
        ("note", "op.siang"),
        ("escalated", "op.siang"),  # one entry: the severity it raised is not a second one
        ("sop_tick", "op.siang"),
        ("resolved", "op.malam"),
    ]
    with db.session() as s:
        esc = s.scalar(select(AlertEvent).where(AlertEvent.type == "escalated"))
        assert esc.data == {"severity_from": "warning", "severity_to": "critical", "pimpinan": True}
        asg = s.scalar(select(AlertEvent).where(AlertEvent.type == "assigned"))
        assert asg.data["opd"] == "BPBD" and asg.at == T0 + timedelta(minutes=5)


def _refused(db, exc_type, key, fn, *args, **kwargs):
    with pytest.raises(exc_type) as info, db.session() as s:
        fn(s, *args, **kwargs)
    assert info.value.key == key
    assert info.value.text("id") and info.value.text("en")
    return info.value


def test_invalid_transitions_change_nothing(db):
    ids = _setup(db)
    a = ids["alert"]
    # bad input before anything happened
    _refused(db, wf.InvalidInput, "assign_target", wf.assign, a, OP)
    _refused(db, wf.InvalidInput, "unknown_opd", wf.assign, a, OP, opd_id=99999)
    _refused(db, wf.InvalidInput, "unknown_user", wf.assign, a, OP, user="walikota")
    _refused(db, wf.InvalidInput, "unknown_user", wf.assign, a, OP, user="op.lama")
    _refused(db, wf.InvalidInput, "unknown_user", wf.assign, a, OP, user="nobody")
    _refused(db, wf.InvalidInput, "note_required", wf.add_note, a, OP, "  \n ")
    _refused(db, wf.InvalidInput, "note_long", wf.add_note, a, OP, "x" * 2001)
    _refused(db, wf.InvalidInput, "escalate_nothing", wf.escalate, a, OP)
    _refused(db, wf.InvalidInput, "escalate_lower", wf.escalate, a, OP, severity="warning")
    _refused(db, wf.InvalidInput, "escalate_lower", wf.escalate, a, OP, severity="info")
    _refused(db, wf.InvalidInput, "unknown_severity", wf.escalate, a, OP, severity="awas!")
    _refused(db, wf.InvalidInput, "unknown_outcome", wf.resolve, a, OP, "beres")
    _refused(db, wf.InvalidInput, "unknown_step", wf.tick_step, a, OP, "no-such-step")
    _refused(db, wf.InvalidTransition, "step_open", wf.tick_step, a, OP, "verify", done=False)
    _refused(db, wf.AlertNotFound, "not_found", wf.acknowledge, 99999, OP)
    _refused(db, wf.AlertNotFound, "not_found", wf.acknowledge, "abc", OP)
    with db.session() as s:
        al = s.get(Alert, a)
        assert (al.status, al.acknowledged_at, al.assigned_opd_id) == ("open", None, None)
        assert s.scalar(select(func.count()).select_from(AlertSopTick)) == 0
    assert _events(db, a) == [("opened", "sistem")]

    # assigning an open alert acknowledges it; the same assignment again is refused
    with db.session() as s:
        wf.assign(s, a, OP, user="op.malam", now=T0 + timedelta(minutes=2))
    _refused(db, wf.InvalidTransition, "assign_same", wf.assign, a, OP, user="op.malam")
    err = _refused(db, wf.AlreadyDone, "already_acknowledged", wf.acknowledge, a, OP2)
    assert "op.siang" in err.text() and "08:02 WIB" in err.text()
    # re-assigning to an OPD keeps the operator
    with db.session() as s:
        al = wf.assign(s, a, OP, opd_id=ids["dishub"], now=T0 + timedelta(minutes=4))
        assert (al.assigned_user, al.assigned_opd_id) == ("op.malam", ids["dishub"])
    with db.session() as s:
        wf.escalate(s, a, OP, to_pimpinan=True)
    _refused(
        db, wf.InvalidTransition, "escalate_pimpinan_done", wf.escalate, a, OP, to_pimpinan=True
    )
    with db.session() as s:
        wf.tick_step(s, a, OP, "bpbd", now=T0 + timedelta(minutes=9))
    err = _refused(db, wf.AlreadyDone, "step_done", wf.tick_step, a, OP2, "bpbd")
    assert "op.siang" in err.text("en") and "08:09 WIB" in err.text("en")
    with db.session() as s:
        wf.resolve(s, a, OP, "false_alarm", now=T0 + timedelta(minutes=20))
    # resolved: final, except for notes
    for fn, args, kwargs in (
        (wf.acknowledge, (), {}),
        (wf.assign, (), {"user": "op.siang"}),
        (wf.escalate, (), {"severity": "critical"}),
        (wf.resolve, ("handled",), {}),
        (wf.tick_step, ("verify",), {}),
    ):
        err = _refused(db, wf.InvalidTransition, "resolved", fn, a, OP2, *args, **kwargs)
        assert "op.siang" in err.text()
    with db.session() as s:
        wf.add_note(s, a, OP2, "Catatan setelah selesai")
    with db.session() as s:
        al = s.get(Alert, a)
        assert (al.status, al.outcome, al.severity) == ("resolved", "false_alarm", "warning")
    assert [t for t, _ in _events(db, a)] == [
        "opened", "acknowledged", "assigned", "assigned", "escalated", "sop_tick", "resolved",
        "note",
    ]  # fmt: skip


def test_resolve_from_open_acknowledges_at_the_same_time(db):
    a = _setup(db)["alert"]
    with db.session() as s:
        wf.resolve(s, a, OP, "monitored", now=T0 + timedelta(minutes=12))
    with db.session() as s:
        al = s.get(Alert, a)
        assert al.acknowledged_at == al.resolved_at == T0 + timedelta(minutes=12)
    assert [t for t, _ in _events(db, a)] == ["opened", "acknowledged", "resolved"]


def test_second_acknowledgement_after_a_stale_read_loses(db):
    """Operator B loaded the alert (status open) before A acknowledged and committed: B's
    acknowledgement re-reads under the lock and is refused with A's name."""
    a = _setup(db)["alert"]
    with db.session() as sb:
        stale = sb.get(Alert, a)
        assert stale.status == "open"
        with db.session() as sa:
            wf.acknowledge(sa, a, OP, now=T0 + timedelta(minutes=1))
        with pytest.raises(wf.AlreadyDone) as info:
            wf.acknowledge(sb, a, OP2)
        assert "op.siang" in info.value.text()
    with db.session() as s:
        assert s.get(Alert, a).acknowledged_by == "op.siang"
    assert _events(db, a) == [("opened", "sistem"), ("acknowledged", "op.siang")]


@pytest.mark.parametrize("rounds", [5])
def test_two_operators_acknowledge_at_once_exactly_one_wins(db, rounds):
    for r in range(rounds):
        with db.session() as s:
            al = Alert(rule="crowd_density", subject_type="camera", subject_id=f"C{r}",
                       title="Kerumunan", started_at=T0)  # fmt: skip
            s.add(al)
            s.flush()
            a = al.id
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def run(actor: wf.Actor, a=a, barrier=barrier, results=results) -> None:
            session = db.sessionmaker()
            try:
                session.get(Alert, a)  # both have read it as open
                barrier.wait(timeout=10)
                wf.acknowledge(session, a, actor)
                session.commit()
                results[actor.username] = "won"
            except wf.AlreadyDone as exc:
                session.rollback()
                results[actor.username] = exc.text("en")
            finally:
                session.close()

        threads = [threading.Thread(target=run, args=(x,)) for x in (OP, OP2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == ["op.malam", "op.siang"]
        winners = [u for u, v in results.items() if v == "won"]
        assert len(winners) == 1, results
        loser = next(u for u in results if u not in winners)
        assert f"already acknowledged by {winners[0]}" in results[loser]
        with db.session() as s:
            assert s.get(Alert, a).acknowledged_by == winners[0]
            n = s.scalar(
                select(func.count()).where(
                    AlertEvent.alert_id == a, AlertEvent.type == "acknowledged"
                )
            )
            assert n == 1


def test_engine_events_appear_on_the_timeline(db):
    """The real rule engine (store.rules.engine) on a flood rule: opens at 30 %, escalates to
    siaga at 55 %, clears below 18 % (0.6 x 30 %) — entries by 'sistem' with their times."""
    _setup(db)
    from store.rules.catalog import import_rules, load_rules
    from store.rules.engine import Reading, RuleRunner, Threshold
    from store.rules.schema import parse_rules

    rule = {"name": "banjir", "kind": "flood_coverage", "title": "{LEVEL}: genangan {value}",
            "levels": [{"name": "waspada", "severity": "warning", "at": 30},
                       {"name": "siaga", "severity": "critical", "at": 55}],
            "hysteresis": {"ratio": 0.6}}  # fmt: skip
    with db.session() as s:
        import_rules(s, parse_rules([rule]))
    th = [Threshold("waspada", "warning", 30.0), Threshold("siaga", "critical", 55.0)]

    def step(value: float, ts: datetime) -> None:
        with db.session() as s:
            [lr] = load_rules(s)
            reading = Reading(
                subject="camera:CAM-9",
                ts=ts,
                measure=value,
                thresholds=th,
                unit="%",
                alert={"subject_type": "camera", "subject_id": "CAM-9"},
            )
            RuleRunner().run(s, [(lr, reading)])  # fmt: skip

    t1, t2, t3 = T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=3)
    step(35, t1)
    step(55, t2)
    step(10, t3)
    with db.session() as s:
        a = s.scalars(select(Alert.id).where(Alert.subject_id == "CAM-9")).one()
        rows = s.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == a).order_by(AlertEvent.id)
        ).all()
        got = [(e.type, e.actor, e.data) for e in rows]
        assert got[0] == (
            "opened",
            "sistem",
            {"severity": "warning", "value": 35.0, "title": "WASPADA: genangan 35%",
             "level": "waspada"},
        )  # fmt: skip
        assert ("severity", "sistem", {"from": "warning", "to": "critical"}) in got[1:-1]
        assert got[-1] == ("cleared", "sistem", {"value": 55.0})
        assert rows[0].at == t1 and rows[-1].at == t3


def test_opd_staff_only_their_alerts_and_only_notes_and_ticks(db):
    ids = _setup(db)
    a = ids["alert"]
    bpbd = wf.Actor("staf.bpbd", "opd", ids["bpbd"])
    dishub = wf.Actor("staf.dishub", "opd", ids["dishub"])
    # not assigned to any OPD: invisible to both
    _refused(db, wf.AlertNotFound, "not_found", wf.add_note, a, bpbd, "lihat")
    with db.session() as s:
        wf.assign(s, a, OP, opd_id=ids["bpbd"])
    _refused(db, wf.AlertNotFound, "not_found", wf.add_note, a, dishub, "lihat")
    _refused(db, wf.InvalidTransition, "opd_forbidden", wf.resolve, a, bpbd, "handled")
    _refused(db, wf.InvalidTransition, "opd_forbidden", wf.escalate, a, bpbd, to_pimpinan=True)
    with db.session() as s:
        wf.add_note(s, a, bpbd, "Tim menuju lokasi")
        tick = wf.tick_step(s, a, bpbd, "bpbd", now=T0 + timedelta(minutes=30))
        assert (tick.ticked_by, tick.ticked_at) == ("staf.bpbd", T0 + timedelta(minutes=30))
    assert _events(db, a)[-2:] == [("note", "staf.bpbd"), ("sop_tick", "staf.bpbd")]


def test_sop_ticks_and_templates(db):
    a = _setup(db)["alert"]
    file_keys = [s.key for s in alert_sop.default_steps("flood_coverage")]
    assert file_keys == ["verify", "bpbd", "traffic", "warn", "record"]  # data/sop_templates.json
    assert [s.key for s in alert_sop.default_steps("complaint_surge")] == [
        "verify",
        "inform",
        "record",
    ]
    with db.session() as s:
        wf.tick_step(s, a, OP, "warn", now=T0 + timedelta(minutes=4))
        wf.tick_step(s, a, OP2, "verify", now=T0 + timedelta(minutes=5))
        wf.tick_step(s, a, OP2, "warn", done=False, now=T0 + timedelta(minutes=6))
    with db.session() as s:
        ticks = s.scalars(select(AlertSopTick).where(AlertSopTick.alert_id == a)).all()
        assert [(t.step_key, t.ticked_by, t.ticked_at) for t in ticks] == [
            ("verify", "op.malam", T0 + timedelta(minutes=5))
        ]
    assert [t for t, _ in _events(db, a)] == ["opened", "sop_tick", "sop_tick", "sop_untick"]
    # an admin's template replaces the file's for that kind; bad ones are refused whole
    with db.session() as s:
        alert_sop.save_template(
            s,
            "flood_coverage",
            [{"key": "pompa", "id": "Nyalakan pompa", "en": "Start pumps"}],
            "admin",
        )
    with db.session() as s:
        assert [st.key for st in alert_sop.steps_for(s, "flood_coverage")] == ["pompa"]
        wf.tick_step(s, a, OP, "pompa")
        with pytest.raises(wf.InvalidInput):
            wf.tick_step(s, a, OP, "bpbd")
    for bad, why in (
        ([], "non-empty"),
        ([{"key": "A B", "id": "x"}], "key must be"),
        ([{"key": "a", "id": "x"}, {"key": "a", "id": "y"}], "used twice"),
        ([{"key": "a", "id": ""}], "text 'id' is required"),
        ("langkah", "non-empty list"),
    ):
        with pytest.raises(alert_sop.SopError, match=why), db.session() as s:
            alert_sop.save_template(s, "crowd_density", bad, "admin")
    with db.session() as s:
        assert [st.key for st in alert_sop.steps_for(s, "crowd_density")][0] == "verify"
