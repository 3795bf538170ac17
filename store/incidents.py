"""Incidents fed by agencies (police, fire, Satpol PP, Dishub, BPBD): validation and an
idempotent upsert keyed by (source, external_id).

Both feeds use this module: ``pantau import incidents FILE`` (``ingestion.incident_import``,
all rows or none) and ``POST/PATCH /api/v1/incidents`` (``dashboard.api.incidents``, item by
item). A row is validated into an :class:`IncidentRecord`; every problem is reported as
(column, value, why). :func:`upsert_incidents` then writes a batch:

* a new (source, external_id) is **inserted**;
* a known one whose values differ is **updated** (the fed values replace the stored ones; the
  agency's ``kecamatan`` string is kept in ``kecamatan_input`` and the resolved ``kecamatan``
  comes from the boundary polygons when loaded, ``store.areas``);
* a known one with the same values is **unchanged** (nothing is written).

Inserts run as ``INSERT ... ON CONFLICT DO NOTHING`` in key order and the rows are then read
``FOR UPDATE``, so concurrent writers of overlapping batches neither duplicate rows nor fail
(PostgreSQL), and on SQLite the transaction takes the write lock with its first statement.
``closed_at`` is set exactly while the status is ``closed`` (``ended_at`` when known).
Every write is audited (one row per batch and source, with the external ids written), and
listeners registered with :func:`on_written` (alert rules) see the written incidents in the
same transaction.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from store import audit
from store.areas import load_index
from store.audit import AuditAction
from store.incident_validation import (  # noqa: F401  (re-exported: the feeds' one entry point)
    COLUMNS,
    EARLIEST,
    EXTERNAL_ID_RE,
    FUTURE_SLACK,
    KIND_ALIASES,
    MAX_BATCH,
    OPTIONAL_COLUMNS,
    SOURCE_RE,
    STATUS_ALIASES,
    IncidentInvalid,
    IncidentRecord,
    Problem,
    parse_time,
    to_choice,
    validate_incident,
)
from store.models import AreaSource, Incident, IncidentStatus
from store.types import utcnow

logger = logging.getLogger(__name__)

AUDIT_ACTION = AuditAction.INCIDENT_WRITE
AUDIT_MAX_IDS = 1000
INSERT_CHUNK = 1000  # rows per executemany (SQLAlchemy batches them into multi-row VALUES)

# --------------------------------------------------------------------------------------------
# writing
INSERTED, UPDATED, UNCHANGED = "inserted", "updated", "unchanged"

Listener = Callable[[Session, list[Incident]], None]
_listeners: list[Listener] = []


def on_written(listener: Listener) -> Listener:
    """Register ``listener(session, incidents)``: called with every inserted or updated
    incident, in the writing transaction (e.g. alert rules). Usable as a decorator."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def title_for(rec: IncidentRecord) -> str:
    first = rec.description.strip().splitlines()[0].strip() if rec.description.strip() else ""
    return (first or rec.kind.value)[:200]


def _closed_at(rec_status: str, ended_at: datetime | None, stored: datetime | None, now: datetime):
    if rec_status != IncidentStatus.CLOSED:
        return None
    return ended_at or stored or now


def _values(rec: IncidentRecord, stored: Incident | None, now: datetime) -> dict[str, Any]:
    values = {
        "kind": rec.kind.value,
        "title": title_for(rec),
        "description": rec.description,
        "lat": float(rec.lat),
        "lon": float(rec.lon),
        "address": rec.address,
        "occurred_at": rec.occurred_at,
        "ended_at": rec.ended_at,
        "status": rec.status.value,
        "closed_at": _closed_at(
            rec.status.value, rec.ended_at, stored.closed_at if stored else None, now
        ),
    }
    # the kecamatan as the agency wrote it; the resolved ``kecamatan`` (boundary polygons,
    # store.areas) follows from it and the point when the row is written
    values["kecamatan_input"] = rec.kecamatan
    return values


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.astimezone(UTC) == b.astimezone(UTC)
    return a == b


@dataclass
class Outcome:
    index: int  # position in the batch (API item index, or file row number)
    source: str
    external_id: str
    result: str  # inserted / updated / unchanged
    id: int
    changed: tuple[str, ...] = ()


@dataclass
class UpsertResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def inserted(self) -> int:
        return self.count(INSERTED)

    @property
    def updated(self) -> int:
        return self.count(UPDATED)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)


def _insert_new(session: Session, params: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """INSERT ... ON CONFLICT (source, external_id) DO NOTHING, in key order; -> ids of the
    rows this statement inserted."""
    if not params:
        return {}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    inserted: dict[tuple[str, str], int] = {}
    # a Core insert of the table (executemany, batched into multi-row VALUES by SQLAlchemy):
    # the ORM's bulk insert of the entity would start a new statement whenever the set of
    # NULL columns changes (668 round trips for 1,000 rows of mixed status on PostgreSQL)
    stmt = (
        insert(Incident.__table__)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Incident.__table__.c.id, Incident.__table__.c.source,
                   Incident.__table__.c.external_id)
    )  # fmt: skip
    for start in range(0, len(params), INSERT_CHUNK):
        rows = session.execute(stmt, params[start : start + INSERT_CHUNK])
        inserted.update({(r.source, r.external_id): r.id for r in rows})
    return inserted


def _locate_inserted(
    session: Session, inserted: dict[tuple[str, str], int], recs: dict[tuple[str, str], Any]
) -> None:
    """Resolve kecamatan/kelurahan of the rows just inserted from the boundary polygons (the
    Core insert bypasses the ORM hooks of store.areas); without polygons the agency's
    kecamatan string stays."""
    if not inserted:
        return
    index = load_index(session)
    if index.empty:
        return
    keys = list(inserted)
    kecs, kels, sources = index.resolve(
        [recs[k].lon for k in keys], [recs[k].lat for k in keys], [recs[k].kecamatan for k in keys]
    )
    t = Incident.__table__
    session.execute(
        update(t)
        .where(t.c.id == bindparam("_id"))
        .values(kecamatan=bindparam("_kec"), kelurahan=bindparam("_kel"),
                area_source=bindparam("_src")),
        [{"_id": inserted[k], "_kec": kec, "_kel": kel, "_src": src}
         for k, kec, kel, src in zip(keys, kecs, kels, sources, strict=True)],
    )  # fmt: skip


def upsert_incidents(
    session: Session,
    records: list[tuple[int, IncidentRecord]],
    *,
    actor: str,
    channel: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> UpsertResult:
    """Insert, update or leave each ``(index, record)``; keys must be unique in the batch.
    Writes nothing for unchanged rows; the caller's transaction commits (all or nothing)."""
    now = now or utcnow()
    keys = [rec.key for _, rec in records]
    if len(set(keys)) != len(keys):
        raise ValueError("a batch holds the same (source, external_id) twice")
    ordered = sorted(records, key=lambda item: item[1].key)  # one lock order for every writer
    params = []
    for _, rec in ordered:
        values = _values(rec, None, now)
        params.append(
            {**values, "source": rec.source, "external_id": rec.external_id, "is_demo": False,
             "updated_at": now, "kecamatan": rec.kecamatan, "kelurahan": None,
             "area_source": str(AreaSource.INPUT)}
        )  # fmt: skip
    inserted = _insert_new(session, params)  # first statement: takes SQLite's write lock
    _locate_inserted(session, inserted, {rec.key: rec for _, rec in records})
    existing: dict[tuple[str, str], Incident] = {}
    rest = [rec for _, rec in ordered if rec.key not in inserted]
    by_source: dict[str, list[str]] = {}
    for rec in rest:
        by_source.setdefault(rec.source, []).append(rec.external_id)
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = session.scalars(
                select(Incident)
                .where(Incident.source == source, Incident.external_id.in_(chunk))
                .order_by(Incident.external_id)
                .with_for_update()
            )
            existing.update({(r.source, r.external_id): r for r in rows})
    result = UpsertResult()
    written: list[Incident] = []
    for index, rec in records:
        if rec.key in inserted:
            result.outcomes.append(
                Outcome(index, rec.source, rec.external_id, INSERTED, inserted[rec.key])
            )
            continue
        row = existing.get(rec.key)
        if row is None:  # pragma: no cover - the insert conflicted, so the row exists
            raise RuntimeError(f"incident {rec.key} neither inserted nor found")
        target = _values(rec, row, now)
        changed = tuple(
            name for name, value in target.items() if not _same(getattr(row, name), value)
        )
        if changed:
            for name in changed:
                setattr(row, name, target[name])
            row.updated_at = now
            written.append(row)
        result.outcomes.append(
            Outcome(index, rec.source, rec.external_id, UPDATED if changed else UNCHANGED,
                    row.id, changed)
        )  # fmt: skip
    session.flush()
    if inserted:
        written.extend(session.scalars(select(Incident).where(Incident.id.in_(inserted.values()))))
    _audit(session, result, actor=actor, channel=channel, ip=ip)
    for listener in _listeners if written else ():
        listener(session, written)
    return result


def _audit(
    session: Session, result: UpsertResult, *, actor: str, channel: str, ip: str | None
) -> None:
    per_source: dict[str, dict[str, list]] = {}
    for o in result.outcomes:
        if o.result == UNCHANGED:
            continue
        entry = per_source.setdefault(o.source, {INSERTED: [], UPDATED: []})
        entry[o.result].append(
            o.external_id if o.result == INSERTED else [o.external_id, list(o.changed)]
        )
    for source, entry in per_source.items():
        audit.record(
            session,
            AUDIT_ACTION,
            username=actor,
            target=f"incidents:{source}",
            ip=ip,
            detail={
                "channel": channel,
                "inserted": len(entry[INSERTED]),
                "updated": len(entry[UPDATED]),
                "inserted_ids": entry[INSERTED][:AUDIT_MAX_IDS],
                "updated_ids": entry[UPDATED][:AUDIT_MAX_IDS],
            },
        )


@dataclass
class StatusChange:
    incident: Incident
    changed: tuple[str, ...]


def update_status(
    session: Session,
    source: str,
    external_id: str,
    changes: dict[str, Any],
    *,
    actor: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> StatusChange | None:
    """Apply ``{"status": ..., "ended_at": ...}`` (either or both) to one fed incident.
    None when there is no such incident; :class:`IncidentInvalid` for bad values."""
    now = now or utcnow()
    if not isinstance(changes, dict) or not changes:
        raise IncidentInvalid([Problem("(body)", changes, "an object with status and/or ended_at")])
    unknown = sorted(set(changes) - {"status", "ended_at"})
    problems = [Problem(c, changes[c], "unknown field (status, ended_at)") for c in unknown]
    status = ended_at = None
    if "status" in changes:
        try:
            status = to_choice(changes["status"], IncidentStatus, STATUS_ALIASES, "status")
        except ValueError as exc:
            problems.append(Problem("status", changes["status"], str(exc)))
    if changes.get("ended_at") is not None:
        try:
            ended_at = parse_time(changes["ended_at"], "ended_at")
        except ValueError as exc:
            problems.append(Problem("ended_at", changes["ended_at"], str(exc)))
    if problems:
        raise IncidentInvalid(problems)
    row = session.scalar(
        select(Incident)
        .where(Incident.source == source, Incident.external_id == external_id)
        .with_for_update()
    )
    if row is None:
        return None
    new_ended = ended_at if "ended_at" in changes else row.ended_at
    if new_ended is not None and new_ended < row.occurred_at:
        raise IncidentInvalid(
            [Problem("ended_at", changes.get("ended_at"), "is before occurred_at (must be >= it)")]
        )
    if new_ended is not None and new_ended > now + FUTURE_SLACK:
        raise IncidentInvalid([Problem("ended_at", changes.get("ended_at"), "is in the future")])
    new_status = status.value if status is not None else row.status
    target = {
        "status": new_status,
        "ended_at": new_ended,
        "closed_at": _closed_at(new_status, new_ended, row.closed_at, now),
    }
    changed = tuple(k for k, v in target.items() if not _same(getattr(row, k), v))
    if changed:
        for k in changed:
            setattr(row, k, target[k])
        row.updated_at = now
        session.flush()
        audit.record(
            session,
            AUDIT_ACTION,
            username=actor,
            target=f"incidents:{source}",
            ip=ip,
            detail={"channel": "api", "updated": 1, "inserted": 0,
                    "updated_ids": [[external_id, list(changed)]], "inserted_ids": []},
        )  # fmt: skip
        for listener in _listeners:
            listener(session, [row])
    return StatusChange(row, changed)


# --------------------------------------------------------------------------------------------
# reading (the machine API)
def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_json(row: Incident) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "external_id": row.external_id,
        "kind": row.kind,
        "title": row.title,
        "description": row.description,
        "status": row.status,
        "occurred_at": iso(row.occurred_at),
        "ended_at": iso(row.ended_at),
        "closed_at": iso(row.closed_at),
        "lat": row.lat,
        "lon": row.lon,
        "address": row.address,
        "kecamatan": row.kecamatan,
        "kelurahan": row.kelurahan,
        "is_demo": bool(row.is_demo),
        "updated_at": iso(row.updated_at),
    }


def list_incidents(
    session: Session,
    *,
    sources: Iterable[str] | None,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Iterable[str] = (),
    statuses: Iterable[str] = (),
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    """Incidents newest first (occurred_at, id), filtered; ``sources`` None: every source.
    -> (page, total matching)."""
    conditions = []
    if sources is not None:
        conditions.append(Incident.source.in_(list(sources)))
    if since is not None:
        conditions.append(Incident.occurred_at >= since)
    if until is not None:
        conditions.append(Incident.occurred_at < until)
    kinds, statuses = list(kinds), list(statuses)
    if kinds:
        conditions.append(Incident.kind.in_(kinds))
    if statuses:
        conditions.append(Incident.status.in_(statuses))
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    rows = list(
        session.scalars(
            select(Incident)
            .where(*conditions)
            .order_by(Incident.occurred_at.desc(), Incident.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    return rows, total


import store.rules.cluster  # noqa: E402,F401  - registers the incident-cluster rule (on_written)
