"""The rule state machine shared by every kind: open after a minimum duration, escalate along
the kind's scale, close with hysteresis, keep quiet during the cooldown, and never keep two
open alerts for one deduplication key.

A kind's evaluator turns its data into :class:`Reading` objects (a subject, a time, the
measure the levels compare, the value to store in the unit shown, and the prepared template
texts) and hands them to :meth:`RuleRunner.run` inside the writer's transaction. Every change
is an ORM attribute change on ``Alert`` objects in that session (listeners on the session see
inserts and changes of ``severity``, ``level`` and ``ended_at``); nothing here commits.

State that must survive a restart and be shared between processes lives in the database:
since when a condition holds / has cleared (``alert_rule_states``), the open alert of a key
(``alerts`` with a partial unique index on ``dedup_key`` while open) and when the last one
closed (cooldown: ``max(ended_at)`` of the key).

Demo and live alerts share keys: a live alert that opens for a key with an open demo alert
ends the demo alert first (the room shows one alert per event, the live one wins).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from store.models import Alert, AlertRule, AlertRuleState
from store.rules.catalog import LoadedRule
from store.rules.schema import DEFAULT_DEDUP, render
from store.rules.text import level_label, round_value, with_unit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    level: str
    severity: str
    at: float


@dataclass
class Reading:
    """One observation of a rule's subject."""

    subject: str  # e.g. "camera:CCTV-001", "sensor:WL-MUSI-AMP", "kecamatan:Ilir Timur I"
    ts: datetime
    measure: float  # what the thresholds compare
    thresholds: list[Threshold]  # resolved for this subject, lowest first
    value: float | None = None  # stored, in the unit shown (default: the measure)
    unit: str = ""
    decimals: int = 1
    texts: dict[str, str] = field(default_factory=dict)  # kind-specific template values
    may_open: bool = True  # e.g. too little confidence, no baseline yet
    since: datetime | None = None  # when the condition began, if the source knows
    alert: dict[str, Any] = field(default_factory=dict)  # subject_type, subject_id, camera_id
    on_open: Callable[[Alert], None] | None = None  # e.g. keep the evidence frame
    is_demo: bool = False
    track_peak: bool = True  # False: the value changes only when the level does

    @property
    def stored(self) -> float:
        return self.measure if self.value is None else self.value


#: up to this many keys / subjects a batch reads its rows by IN lists, above it by phase
SMALL = 32


def dedup_key(lr: LoadedRule, subject: str) -> str:
    if lr.rule.dedup == DEFAULT_DEDUP:  # the common case, without the template machinery
        return f"{lr.kind}:{subject}"[:200]
    return render(lr.rule.dedup, {"kind": lr.kind, "subject": subject, "rule": lr.rule.name})[:200]


def clear_below(hysteresis: Any, th: list[Threshold]) -> float:
    """The value an open alert must go below to clear."""
    if hysteresis.band is not None and len(th) >= 2:
        return th[0].at - hysteresis.band * (th[1].at - th[0].at)
    return th[0].at * hysteresis.ratio


def _level_index(thresholds: list[Threshold], measure: float) -> int:
    idx = -1
    for i, t in enumerate(thresholds):
        if measure >= t.at:
            idx = i
    return idx


class RuleRunner:
    """Applies readings to alerts for a batch: one query for the open alerts of all keys, one
    for the rule states, then the state machine per reading (in the order given)."""

    def run(self, session: Session, items: list[tuple[LoadedRule, Reading]]) -> list[Alert]:
        if not items:
            return []
        self._checked: set[int] = set()
        keyed = [(lr, r, dedup_key(lr, r.subject)) for lr, r in items]
        keys = {k for _, _, k in keyed}
        # a big batch reads every open keyed alert (few) instead of an IN list of its keys
        by_keys = Alert.dedup_key.in_(keys) if len(keys) <= SMALL else Alert.dedup_key.is_not(None)
        open_by_key: dict[str, Alert] = {}
        for a in session.scalars(select(Alert).where(by_keys, Alert.ended_at.is_(None))):
            if a.dedup_key in keys:
                open_by_key[a.dedup_key] = a
        rule_ids = {lr.id for lr, _ in items}
        subjects = {r.subject for _, r in items}
        # likewise only the states in a phase (pending or clearing); an idle row is looked up
        # when its subject's condition starts (RuleRunner._state)
        q = select(AlertRuleState).where(AlertRuleState.rule_id.in_(rule_ids))
        if len(subjects) <= SMALL:
            q = q.where(AlertRuleState.subject.in_(subjects))
        else:
            q = q.where(
                AlertRuleState.pending_since.is_not(None) | AlertRuleState.clear_since.is_not(None)
            )
        states = {(s.rule_id, s.subject): s for s in session.scalars(q) if s.subject in subjects}
        changed: dict[int, Alert] = {}
        for lr, reading, key in keyed:
            alert = self._step(session, lr, reading, key, open_by_key, states)
            if alert is not None:
                changed[id(alert)] = alert
        return list(changed.values())

    # ------------------------------------------------------------------------------------
    def _state(
        self, session: Session, lr: LoadedRule, subject: str, states: dict
    ) -> AlertRuleState:
        st = states.get((lr.id, subject))
        if st is None:
            if not self._exists(session, lr):
                return AlertRuleState(rule_id=lr.id, subject=subject[:200])  # not stored
            st = session.get(AlertRuleState, (lr.id, subject[:200]))  # an idle row
            if st is not None:
                states[(lr.id, subject)] = st
                return st
            st = AlertRuleState(rule_id=lr.id, subject=subject[:200])
            try:
                with session.begin_nested():
                    session.add(st)
            except IntegrityError:  # another process created it meanwhile
                st = session.get(AlertRuleState, (lr.id, subject[:200]), populate_existing=True)
                if st is None:
                    raise
            states[(lr.id, subject)] = st
        return st

    def _step(
        self,
        session: Session,
        lr: LoadedRule,
        r: Reading,
        key: str,
        open_by_key: dict[str, Alert],
        states: dict,
    ) -> Alert | None:
        rule = lr.rule
        th = r.thresholds
        if not th:
            return None
        current = open_by_key.get(key)
        if current is not None and current.is_demo and not r.is_demo:
            demo, current = current, None
        else:
            demo = None
        idx = _level_index(th, r.measure)
        st = states.get((lr.id, r.subject))
        if current is None:
            if idx < 0 or not r.may_open:
                if st is not None and st.pending_since is not None and idx < 0:
                    st.pending_since = None
                return None
            since = r.since or r.ts
            if (st is None or st.pending_since is None) and (
                rule.min_duration_s > 0 or rule.cooldown_s > 0
            ):
                st = self._state(session, lr, r.subject, states)
                st.pending_since = since
            pending = st.pending_since if st is not None and st.pending_since else since
            if r.ts - pending < timedelta(seconds=rule.min_duration_s):
                return None
            if rule.cooldown_s and self._cooling(session, key, r.ts, rule.cooldown_s):
                return None
            if demo is not None:
                demo.ended_at = r.ts  # the live alert supersedes the demo one
                session.flush()
            alert = self._open(session, lr, r, key, idx, pending)
            if st is not None:
                st.pending_since = None
                st.clear_since = None
            if alert is not None:
                open_by_key[key] = alert
            return alert
        # an open alert: close (hysteresis), or escalate / keep the peak
        clear_at = clear_below(rule.hysteresis, th)
        if r.measure < clear_at:
            cleared = st.clear_since if st is not None and st.clear_since else r.ts
            if r.ts - cleared < timedelta(seconds=rule.hysteresis.clear_s):
                st = st or self._state(session, lr, r.subject, states)
                if st.clear_since is None:
                    st.clear_since = cleared
                return None
            current.ended_at = cleared
            if st is not None:
                st.clear_since = None
            open_by_key.pop(key, None)
            logger.info("alert closed: %s", current.title)
            return current
        if st is not None and st.clear_since is not None:
            st.clear_since = None
        now_idx = self._index_of(th, current)
        stored = round_value(lr.kind, r.stored)
        changed = False
        if idx > now_idx:
            current.level = th[idx].level
            current.severity = th[idx].severity
            changed = True
        else:
            idx = now_idx
        if (
            current.value is None
            or (r.track_peak and stored > current.value)
            or (not r.track_peak and changed)
        ):
            current.value = stored
            changed = True
        if changed:
            self._texts(current, lr, r, th[max(idx, 0)], current.value)
            return current
        return None

    def _exists(self, session: Session, lr: LoadedRule) -> bool:
        """The rule is still stored (an admin may have deleted it since the cache loaded)."""
        if lr.id not in self._checked:
            if session.get(AlertRule, lr.id) is None:
                logger.info("alert rule %s was deleted: skipped", lr.rule.name)
                return False
            self._checked.add(lr.id)
        return True

    @staticmethod
    def _index_of(th: list[Threshold], alert: Alert) -> int:
        for i, t in enumerate(th):
            if t.level == alert.level:
                return i
        return -1

    @staticmethod
    def _cooling(session: Session, key: str, ts: datetime, cooldown_s: int) -> bool:
        last = session.scalar(
            select(func.max(Alert.ended_at)).where(
                Alert.dedup_key == key, Alert.ended_at.is_not(None), Alert.is_demo.is_(False)
            )
        )
        return last is not None and ts - last < timedelta(seconds=cooldown_s) and ts >= last

    def _texts(self, alert: Alert, lr: LoadedRule, r: Reading, t: Threshold, value: float) -> None:
        values = {
            **r.texts,
            "LEVEL": level_label(t.level),
            "level": t.level.replace("_", " "),
            "value": with_unit(value, r.unit, r.decimals),
            "unit": r.unit,
            "threshold": with_unit(t.at, r.unit, r.decimals),
            "subject": r.subject,
            "kind": lr.kind,
            "rule": lr.rule.name,
        }
        values.setdefault("name", r.subject)
        alert.title = render(lr.rule.title, values)[:300]
        alert.detail = render(lr.rule.detail, values) or None

    def _open(
        self,
        session: Session,
        lr: LoadedRule,
        r: Reading,
        key: str,
        idx: int,
        started: datetime,
    ) -> Alert | None:
        if not self._exists(session, lr):
            return None
        t = r.thresholds[idx]
        alert = Alert(
            rule=lr.kind,
            rule_id=lr.id,
            dedup_key=key,
            level=t.level,
            severity=t.severity,
            value=round_value(lr.kind, r.stored),
            started_at=started,
            is_demo=r.is_demo,
            subject_type=r.alert.get("subject_type", r.subject.split(":", 1)[0]),
            subject_id=str(r.alert.get("subject_id", r.subject.split(":", 1)[-1]))[:64],
            camera_id=r.alert.get("camera_id"),
        )
        self._texts(alert, lr, r, t, alert.value or 0.0)
        if r.on_open is not None:
            r.on_open(alert)
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:  # another process opened this key a moment ago: one alert
            other = session.scalar(
                select(Alert.id).where(Alert.dedup_key == key, Alert.ended_at.is_(None))
            )
            if other is None:  # not a duplicate key: a real failure, the batch rolls back
                raise
            logger.info("alert for %s already opened elsewhere (alert %s)", key, other)
            return None
        logger.warning("alert opened: %s", alert.title)
        seconds = getattr(lr.rule, "record_seconds", None)
        if seconds and alert.camera_id is not None:
            queue_recording(session, alert, int(seconds), lr.rule.name)
        return alert


def queue_recording(session: Session, alert: Alert, seconds: int, rule_name: str) -> None:
    """The rule's record action: a queued evidence item in the alert's transaction; the
    recorder service (ingestion.evidence_recorder) records it, never the ingestion path. A
    failure here is logged and never stops the alert."""
    from store.evidence import EvidenceError, create_item
    from store.models import Camera, EvidenceTrigger

    try:
        with session.begin_nested():
            cam = session.get(Camera, alert.camera_id)
            if cam is None or not cam.stream_url:
                logger.info("rule %s: camera %s has nothing to record", rule_name, alert.camera_id)
                return
            create_item(session, cam, seconds, trigger=EvidenceTrigger.RULE,
                        started_by=f"rule:{rule_name}", settings=None, alert_id=alert.id)  # fmt: skip
    except (EvidenceError, SQLAlchemyError):
        logger.exception("rule %s: could not queue a recording for alert %s", rule_name, alert.id)
