"""Camera and sensor alert rules, applied where their data arrives: flood coverage, crowds,
illegal parking and dumping on freshly written samples (local writer and Celery workers), cameras offline too long (the
periodic check), sensor levels on ingested readings.

The rules themselves are data (``store.rules``: the ``alert_rules`` table, seeded from
``data/alert_rules.json``); this module turns samples into ``Reading``s for the shared state
machine (``store.rules.engine``). The frame behind an alert is kept as evidence under
``settings.evidence_dir`` with its SHA-256 in ``Alert.evidence_sha256`` (chain of custody for
Satpol PP / BPBD follow-up).

All functions take an open session and never commit: the writer commits them with the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ingestion.process import SampleResult, atomic_write, sha256_hex
from pantau.settings import Settings
from store.models import (
    Alert,
    AlertRule,
    Camera,
    CameraStatus,
    CameraStatusEvent,
    ObservationRollup,
    RollupPeriod,
    Sensor,
)
from store.rules import stillness
from store.rules.catalog import LoadedRule, RuleBook
from store.rules.engine import Reading, RuleRunner, Threshold
from store.rules.schema import Kind, ScopeType
from store.rules.text import UNITS, number

logger = logging.getLogger(__name__)

FLOOD = str(Kind.FLOOD)
CROWD = str(Kind.CROWD)
OFFLINE = str(Kind.OFFLINE)
SENSOR = str(Kind.SENSOR)  # a sensor reading at/above its warning (waspada) or danger level
RACING = str(Kind.RACING)  # balap liar: tracked speeds at night (store.rules.racing)
DWELL = stillness.DWELL  # a vehicle parked in a no-parking ROI (illegal parking)
DUMPING = stillness.DUMPING  # a new static object in a no-dumping ROI (illegal dumping)

_SPECIFIC = {ScopeType.CAMERA: 0, ScopeType.SENSOR: 0, ScopeType.TAG: 1, ScopeType.KECAMATAN: 2}
_CHUNK = 500
USUAL_CACHE_MAX = 50_000
SUBJECT_TTL_S = 60.0


def save_evidence(
    settings: Settings, code: str, rule: str, ts: datetime, jpeg: bytes
) -> tuple[str, str]:
    """Write the evidence JPEG; returns (path relative to evidence_dir, sha256)."""
    name = f"{code}-{rule}-{ts.astimezone(UTC):%Y%m%dT%H%M%S}Z.jpg"
    atomic_write(settings.evidence_dir / name, jpeg)
    return name, sha256_hex(jpeg)


_THRESHOLDS: dict[int, tuple[Any, list[Threshold]]] = {}


def thresholds(lr: LoadedRule, sensor: Sensor | None = None) -> list[Threshold]:
    """The rule's levels as numbers (a sensor rule's warning_level / danger_level resolved
    from that sensor; levels it lacks are left out)."""
    if sensor is None:
        hit = _THRESHOLDS.get(lr.id)
        if hit is not None and hit[0] is lr.rule:
            return hit[1]
    out = []
    for lv in lr.rule.levels:
        at = lv.at
        if isinstance(at, str):
            at = getattr(sensor, at, None) if sensor is not None else None
            if at is None:
                continue
        out.append(Threshold(lv.name, str(lv.severity), float(at)))
    out.sort(key=lambda t: t.at)
    if sensor is None:
        _THRESHOLDS[lr.id] = (lr.rule, out)
    return out


@dataclass(frozen=True)
class Subject:
    """What scope matching needs to know about a camera or sensor."""

    id: int
    code: str
    name: str
    kecamatan: str | None
    tags: tuple[str, ...] = ()


def matches(lr: LoadedRule, s: Subject) -> bool:
    scope = lr.rule.scope
    if scope.type == ScopeType.CITY:
        return True
    if scope.type in (ScopeType.CAMERA, ScopeType.SENSOR):
        return scope.value == s.code
    if scope.type == ScopeType.TAG:
        return scope.value in s.tags
    if scope.type == ScopeType.KECAMATAN:
        return (s.kecamatan or "").casefold() == (scope.value or "").casefold()
    return False


def pick(rules: list[LoadedRule], s: Subject) -> LoadedRule | None:
    """The most specific whole-subject rule (camera/sensor > tag > kecamatan > city)."""
    best = [lr for lr in rules if lr.rule.scope.type != ScopeType.ROI and matches(lr, s)]
    if not best:
        return None
    return min(best, key=lambda lr: (_SPECIFIC.get(lr.rule.scope.type, 3), lr.id))


def roi_rules(rules: list[LoadedRule]) -> dict[str, list[tuple[LoadedRule, str]]]:
    """ROI rules by camera code: ``{code: [(rule, roi name), ...]}``."""
    out: dict[str, list[tuple[LoadedRule, str]]] = {}
    for lr in rules:
        if lr.rule.scope.type == ScopeType.ROI:
            cam, roi = (lr.rule.scope.value or "").split("/", 1)
            out.setdefault(cam, []).append((lr, roi))
    return out


class Picker:
    """:func:`pick` and :func:`roi_rules` for one batch, with the city-wide-only case (the
    default) answered without looking at each camera."""

    def __init__(self, rules: list[LoadedRule]) -> None:
        self.rules = rules
        self.rois = roi_rules(rules)
        whole = [lr for lr in rules if lr.rule.scope.type != ScopeType.ROI]
        self.only_city = all(lr.rule.scope.type == ScopeType.CITY for lr in whole)
        self.city = min(whole, key=lambda lr: lr.id) if whole and self.only_city else None

    def whole(self, s: Subject) -> LoadedRule | None:
        return self.city if self.only_city else pick(self.rules, s)

    def roi(self, code: str) -> list[tuple[LoadedRule, str]]:
        return self.rois.get(code, [])


class AlertEngine:
    """Evaluates the camera rules for the writer; keeps a small cache of each camera's usual
    crowd per hour (and weekday) and the rules (re-read every ``rules_ttl_s``)."""

    def __init__(self, settings: Settings, *, rules_ttl_s: float = 15.0) -> None:
        self.settings = settings
        self.book = RuleBook(ttl_s=rules_ttl_s)
        self.runner = RuleRunner()
        self._zone = ZoneInfo(settings.timezone)
        self._usual: dict[tuple, tuple[float | None, float]] = {}
        self._subjects: dict[int, tuple[Subject, float]] = {}  # camera -> (scope facts, at)

    # -------------------------------------------------------------------------- baseline
    def usual_people(
        self, session: Session, camera_id: int, ts: datetime, params: Any = None
    ) -> float | None:
        """Average people at this local hour (and weekday) over the last weeks of hourly
        rollups; falls back to the hour of every day when the weekday has too few."""
        weeks = params.baseline_weeks if params is not None else 4
        need = params.baseline_min_samples if params is not None else 3
        by_weekday = params is None or params.baseline == "hour_weekday"
        local = ts.astimezone(self._zone)
        key = (camera_id, local.hour, local.weekday() if by_weekday else -1, weeks, need)
        cached = self._usual.get(key)
        now = datetime.now(UTC).timestamp()
        if cached is not None and now - cached[1] < 3600:
            return cached[0]
        rows = session.execute(
            select(ObservationRollup.bucket, ObservationRollup.people_avg).where(
                ObservationRollup.camera_id == camera_id,
                ObservationRollup.period == RollupPeriod.HOUR,
                ObservationRollup.bucket >= ts - timedelta(weeks=weeks),
                ObservationRollup.bucket < ts - timedelta(hours=1),
                ObservationRollup.people_avg.is_not(None),
            )
        ).all()
        same_hour = [
            (b.astimezone(self._zone), float(p))
            for b, p in rows
            if b.astimezone(self._zone).hour == local.hour
        ]
        vals = [p for b, p in same_hour if b.weekday() == local.weekday()] if by_weekday else []
        if len(vals) < need:
            vals = [p for _, p in same_hour]
        usual = sum(vals) / len(vals) if len(vals) >= need else None
        if len(self._usual) > USUAL_CACHE_MAX:  # drop the stale hours (10k cameras x 168)
            self._usual = {k: v for k, v in self._usual.items() if now - v[1] < 3600}
        self._usual[key] = (usual, now)
        return usual

    def _cameras(self, session: Session, ids: list[int]) -> dict[int, Subject]:
        """Name, tags and kecamatan of the batch's cameras (cached a minute per process)."""
        now = time.monotonic()
        out, missing = {}, []
        for cid in ids:
            hit = self._subjects.get(cid)
            if hit is not None and now - hit[1] < SUBJECT_TTL_S:
                out[cid] = hit[0]
            else:
                missing.append(cid)
        if missing:
            for cid, subject in _cameras(session, missing).items():
                self._subjects[cid] = (subject, now)
                out[cid] = subject
        return out

    # -------------------------------------------------------------------------- observations
    def evaluate(self, session: Session, results: Iterable[SampleResult]) -> list[Alert]:
        """Apply the flood and crowd rules to freshly written samples (latest per camera)."""
        latest: dict[int, SampleResult] = {}
        for r in results:
            if r.camera_id not in latest or r.ts >= latest[r.camera_id].ts:
                latest[r.camera_id] = r
        flood = self.book.rules(session, FLOOD)
        crowd = self.book.rules(session, CROWD)
        racing = self.book.rules(session, RACING)
        still = self.book.rules(session, DWELL) + self.book.rules(session, DUMPING)
        if not latest or not (flood or crowd or racing or still):
            return []
        cams = self._cameras(session, list(latest))
        fp, cp, rp = Picker(flood), Picker(crowd), Picker(racing)
        sp = {k: Picker([lr for lr in still if lr.kind == k]) for k in (DWELL, DUMPING)}
        items: list[tuple[LoadedRule, Reading]] = []
        for cam_id, r in latest.items():
            cam = cams.get(cam_id) or Subject(cam_id, r.code, r.code, None)
            lr = fp.whole(cam)
            if lr is not None:
                items += self._flood(lr, cam, r)
            for lr, roi in fp.roi(cam.code):
                items += self._flood(lr, cam, r, roi)
            lr = cp.whole(cam)
            if lr is not None:
                items += self._crowd(session, lr, cam, r)
            for lr, roi in cp.roi(cam.code):
                items += self._crowd(session, lr, cam, r, roi)
            lr = rp.whole(cam)
            if lr is not None:
                items += self._racing(lr, cam, r)
            for kind, picker in sp.items():
                items += self._still(picker.whole(cam), cam, r, kind)
                for lr, roi in picker.roi(cam.code):
                    items += self._still(lr, cam, r, kind, roi)
        return self.runner.run(session, items)

    def _racing(
        self, lr: LoadedRule, cam: Subject, r: SampleResult
    ) -> list[tuple[LoadedRule, Reading]]:
        from store.rules.racing import racing_measure

        if r.observation.get("reused"):
            return []
        p, th = lr.rule.params, thresholds(lr)
        got = racing_measure(p, th[0].at, r.observation.get("extra"), r.ts, self._zone)
        fastest, may_open, fast = got if got is not None else (0.0, False, 0)
        night = f"{p.night_start_hour:02d}.00-{p.night_end_hour:02d}.00"
        return [
            (
                lr,
                Reading(
                    subject=f"camera:{cam.code}",
                    ts=r.ts,
                    measure=fastest,
                    thresholds=th,
                    unit=UNITS[RACING],
                    decimals=0,
                    texts={"name": cam.name, "count": str(fast), "night": night},
                    may_open=may_open,
                    alert={"subject_type": "camera", "subject_id": cam.code, "camera_id": cam.id},
                    on_open=self._evidence(r, RACING),
                ),
            )
        ]

    def _still(
        self, lr: LoadedRule | None, cam: Subject, r: SampleResult, kind: str, roi=None
    ) -> list[tuple[LoadedRule, Reading]]:
        """Illegal parking / dumping (``store.rules.stillness``)."""
        if lr is None:
            return []
        found = stillness.readings(
            lr, thresholds(lr), (cam.id, cam.code, cam.name), r.ts, r.observation, roi,
            self._evidence(r, kind), self.settings.timezone,
        )  # fmt: skip
        return [(lr, reading) for reading in found]

    def _evidence(self, r: SampleResult, kind: str):
        if not r.evidence_jpeg:
            return None

        def keep(alert: Alert) -> None:
            try:
                alert.evidence_path, alert.evidence_sha256 = save_evidence(
                    self.settings, r.code, kind, r.ts, r.evidence_jpeg or b""
                )
            except OSError:
                logger.exception("cannot keep evidence for %s %s", kind, r.code)

        return keep

    def _flood(
        self, lr: LoadedRule, cam: Subject, r: SampleResult, roi: str | None = None
    ) -> list[tuple[LoadedRule, Reading]]:
        water = r.observation.get("water_coverage")
        if water is None:
            return []
        conf = float(r.observation.get("water_confidence") or 0.0)
        subject = f"roi:{cam.code}/{roi}" if roi else f"camera:{cam.code}"
        name = f"{cam.name} ({roi})" if roi else cam.name
        return [
            (
                lr,
                Reading(
                    subject=subject,
                    ts=r.ts,
                    measure=float(water) * 100.0,
                    thresholds=thresholds(lr),
                    unit=UNITS[FLOOD],
                    texts={"name": name, "confidence": f"{conf:.2f}"},
                    may_open=conf >= lr.rule.params.min_confidence,
                    alert={"subject_type": "camera", "subject_id": cam.code, "camera_id": cam.id},
                    on_open=self._evidence(r, FLOOD),
                ),
            )
        ]

    def _crowd(
        self,
        session: Session,
        lr: LoadedRule,
        cam: Subject,
        r: SampleResult,
        roi: str | None = None,
    ) -> list[tuple[LoadedRule, Reading]]:
        if r.observation.get("reused"):
            return []
        p = lr.rule.params
        people: Any = r.observation.get("people")
        if roi is not None:
            rois = (r.observation.get("extra") or {}).get("rois") or []
            people = next((x.get("people") for x in rois if x.get("name") == roi), None)
        if people is None:
            return []
        people = float(people)
        th = thresholds(lr)
        usual = None
        texts = {"name": f"{cam.name} ({roi})" if roi else cam.name, "usual": "—", "ratio": "—"}
        if p.mode == "relative":
            usual = self.usual_people(session, cam.id, r.ts, p)
            if usual is None:
                measure, may_open = 0.0, False
            else:
                k = th[0].at
                ratio = people / max(usual, 1e-9)
                # >= k exactly when people >= k x usual and people >= min_people
                measure = min(ratio, k * people / p.min_people)
                may_open = True
                texts["usual"] = f"{number(usual)} orang"
                texts["ratio"] = f"{number(ratio)}x"
        else:
            measure, may_open = people, people >= p.min_people
        subject = f"roi:{cam.code}/{roi}" if roi else f"camera:{cam.code}"
        return [
            (
                lr,
                Reading(
                    subject=subject,
                    ts=r.ts,
                    measure=measure,
                    value=people,
                    thresholds=th,
                    unit=UNITS[CROWD],
                    texts=texts,
                    may_open=may_open,
                    alert={"subject_type": "camera", "subject_id": cam.code, "camera_id": cam.id},
                    on_open=self._evidence(r, CROWD),
                ),
            )
        ]

    # -------------------------------------------------------------------------- periodic
    def evaluate_periodic(self, session: Session, now: datetime | None = None) -> list[Alert]:
        """What the writer checks every ~30 s: camera health, and the complaint-surge and
        incident-cluster alerts whose window has moved past their reports."""
        from store.rules.cluster import evaluate_clusters
        from store.rules.surge import evaluate_surges

        now = now or datetime.now(UTC)
        changed = self.evaluate_offline(session, now)
        changed += evaluate_surges(session, now, self.book)
        changed += evaluate_clusters(session, now, self.book)
        changed += end_orphans(session, now)
        return changed

    # -------------------------------------------------------------------------- offline
    def evaluate_offline(self, session: Session, now: datetime | None = None) -> list[Alert]:
        """Camera health: open an alert for cameras offline longer than the rule's first
        level (gangguan), escalate (mati), close when the camera is back."""
        now = now or datetime.now(UTC)
        rules = self.book.rules(session, OFFLINE)
        if not rules:
            return []
        offline = session.execute(
            select(Camera.id, Camera.code, Camera.name, Camera.kecamatan, Camera.tags,
                   Camera.status_reason).where(
                Camera.status == CameraStatus.OFFLINE,
                Camera.enabled.is_(True),
                Camera.is_demo.is_(False) | Camera.stream_url.is_not(None),
            )
        ).all()  # fmt: skip
        went = _offline_since(session, [row[0] for row in offline])
        items: list[tuple[LoadedRule, Reading]] = []
        offline_ids = set()
        tz = self.settings.timezone
        for cam_id, code, name, kec, tags, reason in offline:
            offline_ids.add(cam_id)
            since = went.get(cam_id)
            if since is None:
                continue
            cam = Subject(cam_id, code, name, kec, tuple(tags or ()))
            lr = pick(rules, cam)
            if lr is None:
                continue
            items.append((lr, self._offline_reading(lr, cam, now, since, reason, tz)))
        # open alerts of cameras that came back: a reading of 0 minutes when they returned
        by_id = {lr.id: lr for lr in rules}
        back = [
            a
            for a in session.scalars(
                select(Alert).where(
                    Alert.rule == OFFLINE, Alert.ended_at.is_(None), Alert.is_demo.is_(False)
                )
            )
            if a.camera_id not in offline_ids
        ]
        returned = _online_since(session, [a.camera_id for a in back if a.camera_id])
        for a in back:
            lr = by_id.get(a.rule_id or -1) or rules[0]
            code = a.subject_id
            ts = returned.get(a.camera_id or -1) or now
            items.append(
                (
                    lr,
                    Reading(
                        subject=f"camera:{code}",
                        ts=min(ts, now),
                        measure=0.0,
                        thresholds=thresholds(lr),
                        unit=UNITS[OFFLINE],
                    ),
                )
            )
        return self.runner.run(session, items)

    @staticmethod
    def _offline_reading(
        lr: LoadedRule, cam: Subject, now: datetime, since: datetime, reason: str | None, tz: str
    ) -> Reading:
        from dashboard.i18n import local_time

        minutes = max(0.0, (now - since).total_seconds() / 60.0)
        return Reading(
            subject=f"camera:{cam.code}",
            ts=now,
            measure=minutes,
            thresholds=thresholds(lr),
            unit=UNITS[OFFLINE],
            decimals=0,
            texts={
                "name": cam.name,
                "since": local_time(since, tz),
                "reason": reason or "tidak diketahui",
            },
            since=since,
            track_peak=False,
            alert={"subject_type": "camera", "subject_id": cam.code, "camera_id": cam.id},
        )


def end_orphans(session: Session, now: datetime) -> list[Alert]:
    """End the open alerts of rules that were disabled or deleted: no rule watches their
    condition any more, so nothing else would ever close them. (Read from the table, not a
    process's cached rules: a rule created a moment ago elsewhere is not an orphan.)"""
    enabled = set(session.scalars(select(AlertRule.id).where(AlertRule.enabled.is_(True))))
    q = select(Alert).where(
        Alert.ended_at.is_(None), Alert.is_demo.is_(False), Alert.dedup_key.is_not(None)
    )
    ended = []
    for a in session.scalars(q):
        if a.rule_id is None or a.rule_id not in enabled:
            a.ended_at = now
            ended.append(a)
            logger.info("alert %s ended: its rule is disabled or deleted", a.id)
    return ended


def _cameras(session: Session, ids: list[int]) -> dict[int, Subject]:
    out = {}
    for start in range(0, len(ids), _CHUNK):
        for cid, code, name, kec, tags in session.execute(
            select(Camera.id, Camera.code, Camera.name, Camera.kecamatan, Camera.tags).where(
                Camera.id.in_(ids[start : start + _CHUNK])
            )
        ):
            out[cid] = Subject(cid, code, name or code, kec, tuple(tags or ()))
    return out


def _offline_since(session: Session, ids: list[int]) -> dict[int, datetime]:
    """When each camera went offline: its first offline event after its last other event."""
    out: dict[int, datetime] = {}
    ev = CameraStatusEvent
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        last_ok = (
            select(ev.camera_id.label("cid"), func.max(ev.ts).label("ts"))
            .where(ev.camera_id.in_(chunk), ev.status != CameraStatus.OFFLINE)
            .group_by(ev.camera_id)
            .subquery()
        )
        rows = session.execute(
            select(ev.camera_id, func.min(ev.ts))
            .outerjoin(last_ok, last_ok.c.cid == ev.camera_id)
            .where(
                ev.camera_id.in_(chunk),
                ev.status == CameraStatus.OFFLINE,
                (last_ok.c.ts.is_(None)) | (ev.ts > last_ok.c.ts),
            )
            .group_by(ev.camera_id)
        )
        out.update({cid: ts for cid, ts in rows})
    return out


def _online_since(session: Session, ids: list[int]) -> dict[int, datetime]:
    """When each camera came back: its latest event that is not offline."""
    ev = CameraStatusEvent
    out: dict[int, datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(ev.camera_id, func.max(ev.ts))
            .where(
                and_(ev.camera_id.in_(ids[start : start + _CHUNK]),
                     ev.status != CameraStatus.OFFLINE)
            )
            .group_by(ev.camera_id)
        )  # fmt: skip
        out.update({cid: ts for cid, ts in rows})
    return out


# ------------------------------------------------------------------------------ sensors
_sensor_book = RuleBook()


def evaluate_sensors(
    session: Session,
    readings: dict[int, tuple[Sensor, list[tuple[datetime, float]]]],
    book: RuleBook | None = None,
) -> list[Alert]:
    """Apply the sensor-level rules to new readings: ``{sensor_id: (sensor, [(ts, value),
    ...])}`` with each sensor's readings in time order and newer than what it had before
    (late or re-sent readings do not open or close alerts). One open alert per sensor and
    key (subject ``sensor:CODE``); waspada / siaga from the sensor's registered levels unless
    the rule gives numbers. Never commits."""
    rules = (book or _sensor_book).rules(session, SENSOR)
    if not rules:
        return []
    items: list[tuple[LoadedRule, Reading]] = []
    for sensor, rows in readings.values():
        if not rows:
            continue
        subj = Subject(sensor.id, sensor.code, sensor.name, sensor.kecamatan)
        cands = [
            lr
            for lr in rules
            if lr.rule.params.sensor_kind in (None, sensor.kind)
            and (lr.rule.scope.type != ScopeType.SENSOR or lr.rule.scope.value == sensor.code)
        ]
        lr = pick(cands, subj)
        if lr is None:
            continue
        th = thresholds(lr, sensor)
        if not th:
            continue
        for ts, value in rows:
            items.append(
                (
                    lr,
                    Reading(
                        subject=f"sensor:{sensor.code}",
                        ts=ts,
                        measure=float(value),
                        thresholds=th,
                        unit=sensor.unit,
                        texts={"name": sensor.name, "code": sensor.code},
                        alert={"subject_type": "sensor", "subject_id": sensor.code},
                    ),
                )
            )
    return RuleRunner().run(session, items)


def describe(alert: Alert) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "level": alert.level,
        "severity": alert.severity,
        "camera_id": alert.camera_id,
        "title": alert.title,
        "value": alert.value,
        "open": alert.ended_at is None,
        "evidence": alert.evidence_path,
        "sha256": alert.evidence_sha256,
    }
