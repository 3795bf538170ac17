"""OPD indicator values: validation, plausibility, periods and the one write path.

Every way a value comes in (``pantau import indicators FILE``, the upload on ``/indikator-opd``,
``PUT /api/v1/indicators/{opd}/{code}/{period}``) goes through :func:`plan` (validate every row,
all-or-nothing, nothing written) and :func:`apply` (write the plan in the caller's transaction):

* a row names the OPD (code), the indicator (code, of that OPD), the period and the value, with
  an optional note;
* the period follows the indicator's frequency: ``YYYY-MM`` (monthly), ``YYYY-Qn`` (quarterly)
  or ``YYYY`` (yearly), stored as the first day of the period (``period_start``);
* the value must be a finite number inside the indicator's plausible range: its
  ``plausible_min``/``plausible_max`` columns, else the unit's default (:data:`UNIT_RANGES`:
  percentages 0..1000, counts, durations, prices and speeds at least 0);
* upsert by (indicator, period): the same value (and note) again is *unchanged* and writes
  nothing; a new value is *inserted*, a different one *updated*. Every insert and update adds an
  :class:`~store.models.OpdIndicatorValueChange` row (old value, new value, who, when, source).

Concurrent writers of the same (indicator, period) are serialised: the value row is locked
(PostgreSQL ``SELECT ... FOR UPDATE``; SQLite takes its single write lock before reading), and a
concurrent first insert is caught with ``ON CONFLICT DO NOTHING`` and retried as an update, so
the history always chains (each change's old value is the previous change's new value).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store import audit
from store.indicator_rules import (
    ABSOLUTE_MAX,
    PERIOD_FORMAT,
    UNIT_RANGES,  # noqa: F401 - re-exported: the defaults callers read
    check_plausible,
    example_period,
    parse_period,
    period_label,
    plausible_range,
)
from store.models import (
    IndicatorActorKind,
    IndicatorSource,
    Opd,
    OpdIndicator,
    OpdIndicatorValue,
    OpdIndicatorValueChange,
)
from store.rejections import AllOrNothingError
from store.types import utcnow

logger = logging.getLogger(__name__)


#: Bounds of one file / upload (a city's month of indicators is a few hundred rows).
MAX_ROWS = 10_000
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NOTE = 500

COLUMNS = ("opd", "indicator", "period", "value")
OPTIONAL_COLUMNS = ("note",)


class Outcome:
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RowError:
    """One problem of one row: the row number (file line; 0 for the file itself), the column,
    the value as sent and why it is refused (English; :attr:`code` for translations)."""

    row: int
    column: str
    value: str
    reason: str
    code: str = "invalid"
    #: what a translation of ``code`` needs (OPD, owners, unit, bounds, format...)
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, column '{self.column}', value {self.value!r}: {self.reason}"


class IndicatorImportError(AllOrNothingError):
    """A file or request that cannot be written; ``errors`` lists every problem found
    (:class:`RowError`)."""

    outcome = "written"


@dataclass(frozen=True)
class Actor:
    """Who writes: a user name, an API key's name, or the command line's ``--by``."""

    name: str
    kind: str = IndicatorActorKind.USER  # IndicatorActorKind
    source: str = IndicatorSource.UPLOAD  # IndicatorSource
    source_ref: str | None = None  # the file name of an import or upload
    ip: str | None = None  # the client address of an upload or API call (audit log)


# --------------------------------------------------------------------------------------------
# rows
#: Control characters (C0 but tab/newline/CR, DEL, C1): PostgreSQL refuses NUL in text, and
#: none of them belongs in a code, a period or a note.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("contains control characters")
    return v


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("not a number")
    if isinstance(raw, int) and abs(raw) > ABSOLUTE_MAX:
        raise ValueError(f"larger than {ABSOLUTE_MAX:g}")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        s = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        if not s:
            raise ValueError("empty: a number is required")
        if "," in s:
            raise ValueError("use a dot as the decimal separator and no thousands separator")
        try:
            value = float(s)
        except ValueError:
            raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if abs(value) > ABSOLUTE_MAX:
        raise ValueError(f"larger than {ABSOLUTE_MAX:g}")
    return value


class ValueRow(BaseModel):
    """One row as sent (file, upload or API), before the database is asked."""

    opd: str = Field(min_length=1, max_length=32)
    indicator: str = Field(min_length=1, max_length=64)
    period: str = Field(min_length=1, max_length=16)
    value: float
    note: str | None = Field(default=None, max_length=MAX_NOTE)

    @field_validator("opd", "indicator", "period", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        if v is None:
            raise ValueError("required")
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # a year typed as a number in a spreadsheet
        if isinstance(v, int | date | datetime) and not isinstance(v, bool):
            v = str(v) if not isinstance(v, date | datetime) else f"{v.year:04d}-{v.month:02d}"
        if not isinstance(v, str):
            raise ValueError("must be text")
        return _no_control(v.strip())

    @field_validator("opd")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: Any) -> float:
        return _number(v)

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, str):
            v = str(v)
        v = _no_control(v.strip())
        return v or None


@dataclass
class PlannedRow:
    row: int
    opd_code: str
    indicator_id: int
    indicator_code: str
    indicator_name: str
    unit: str
    frequency: str
    period_start: date
    period: str
    value: float
    note: str | None
    outcome: str
    old_value: float | None = None
    old_note: str | None = None


@dataclass
class Plan:
    """What writing the rows will do; ``errors`` empty means it may be applied."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o: self.count(o) for o in (Outcome.INSERTED, Outcome.UPDATED, Outcome.UNCHANGED)}


def _clip(v: Any) -> str:
    s = "" if v is None else str(v)
    return s if len(s) <= 80 else s[:77] + "..."


def plan(
    session: Session,
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    only_opd: str | None = None,
) -> Plan:
    """Validate every row against the database; nothing is written. ``only_opd``: the OPD the
    writer is restricted to (OPD staff, a per-OPD key): rows of another OPD are row errors."""
    result = Plan()
    rows = list(rows)
    if not rows:
        result.errors.append(RowError(0, "file", "", "the file has no rows", "empty"))
        return result
    parsed: list[tuple[int, ValueRow]] = []
    for number, raw in rows:
        try:
            parsed.append((number, ValueRow.model_validate(raw)))
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else "row"
                reason = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "missing":
                    reason = "required"
                result.errors.append(RowError(number, column, _clip(raw.get(column)), reason))
    opd_codes = {r.opd for _, r in parsed}
    opds = {o.code: o for o in session.scalars(select(Opd).where(Opd.code.in_(list(opd_codes))))}
    indicators: dict[tuple[str, str], OpdIndicator] = {}
    if opds:
        for ind, code in session.execute(
            select(OpdIndicator, Opd.code)
            .join(Opd, Opd.id == OpdIndicator.opd_id)
            .where(Opd.code.in_(list(opds)))
        ):
            indicators[(code, ind.code)] = ind
    by_code: dict[str, list[str]] = {}
    for ind, code in session.execute(
        select(OpdIndicator, Opd.code).join(Opd, Opd.id == OpdIndicator.opd_id)
    ):
        by_code.setdefault(ind.code, []).append(code)
    seen: dict[tuple[int, date], int] = {}
    good: list[tuple[int, ValueRow, OpdIndicator, date]] = []
    for number, r in parsed:
        if only_opd is not None and r.opd != only_opd.upper():
            result.errors.append(
                RowError(
                    number,
                    "opd",
                    r.opd,
                    f"you may only send values of {only_opd}",
                    "scope",
                    {"opd": only_opd.upper()},
                )
            )
            continue
        if r.opd not in opds:
            result.errors.append(RowError(number, "opd", r.opd, "no OPD has this code", "opd"))
            continue
        ind = indicators.get((r.opd, r.indicator))
        if ind is None:
            owners = by_code.get(r.indicator)
            reason = (
                f"indicator {r.indicator} belongs to {', '.join(sorted(owners))}, not {r.opd}"
                if owners
                else f"{r.opd} has no indicator with this code"
            )
            code = "other_opd" if owners else "indicator"
            result.errors.append(
                RowError(
                    number,
                    "indicator",
                    r.indicator,
                    reason,
                    code,
                    {"opd": r.opd, "owners": ", ".join(sorted(owners or []))},
                )
            )
            continue
        try:
            start = parse_period(r.period, ind.frequency)
        except ValueError as exc:
            freq = ind.frequency
            result.errors.append(
                RowError(
                    number,
                    "period",
                    r.period,
                    str(exc),
                    "period",
                    {
                        "frequency": freq,
                        "format": PERIOD_FORMAT.get(freq, "?"),  # type: ignore[call-overload]
                        "example": example_period(freq),
                    },
                )
            )
            continue
        reason = check_plausible(r.value, ind)
        if reason is not None:
            low, high = plausible_range(ind)
            result.errors.append(
                RowError(
                    number,
                    "value",
                    f"{r.value:g}",
                    reason,
                    "plausible",
                    {"unit": ind.unit, "min": low, "max": high},
                )
            )
            continue
        key = (ind.id, start)
        if key in seen:
            result.errors.append(
                RowError(
                    number,
                    "period",
                    r.period,
                    f"{r.opd} {r.indicator} {r.period} is already on row {seen[key]}",
                    "duplicate",
                    {"other": seen[key]},
                )
            )
            continue
        seen[key] = number
        good.append((number, r, ind, start))
    result.errors.sort(key=lambda e: e.row)
    existing = _existing(session, [(ind.id, start) for _, _, ind, start in good])
    for number, r, ind, start in good:
        old = existing.get((ind.id, start))
        if old is None:
            outcome = Outcome.INSERTED
        elif old[0] == r.value and (r.note is None or r.note == old[1]) and not old[2]:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATED
        result.rows.append(
            PlannedRow(
                row=number,
                opd_code=r.opd,
                indicator_id=ind.id,
                indicator_code=ind.code,
                indicator_name=ind.name,
                unit=ind.unit,
                frequency=ind.frequency,
                period_start=start,
                period=period_label(start, ind.frequency),
                value=r.value,
                note=r.note,
                outcome=outcome,
                old_value=old[0] if old else None,
                old_note=old[1] if old else None,
            )
        )
    return result


def _existing(
    session: Session, keys: list[tuple[int, date]]
) -> dict[tuple[int, date], tuple[float, str | None, bool]]:
    """(value, note, is_demo) of the stored rows among ``keys``."""
    out: dict[tuple[int, date], tuple[float, str | None, bool]] = {}
    ids = sorted({i for i, _ in keys})
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        for ind_id, start, value, note, demo in session.execute(
            select(
                OpdIndicatorValue.indicator_id,
                OpdIndicatorValue.period_start,
                OpdIndicatorValue.value,
                OpdIndicatorValue.note,
                OpdIndicatorValue.is_demo,
            ).where(OpdIndicatorValue.indicator_id.in_(part))
        ):
            out[(ind_id, start)] = (value, note, bool(demo))
    return {k: out[k] for k in keys if k in out}


# --------------------------------------------------------------------------------------------
# writing
@dataclass
class Applied:
    """What :func:`apply` did, row by row (outcomes as found under the lock)."""

    rows: list[PlannedRow]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o: self.count(o) for o in (Outcome.INSERTED, Outcome.UPDATED, Outcome.UNCHANGED)}


def take_write_lock(session: Session) -> None:
    """SQLite: hold the database's write lock before reading what is there, so a concurrent
    writer waits for this transaction instead of acting on a value about to change.
    (PostgreSQL locks the rows themselves with FOR UPDATE.)"""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE opd_indicator_values SET id = id WHERE 1 = 0"))


def _insert_if_absent(session: Session, row: PlannedRow, actor: Actor, now: datetime) -> bool:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(OpdIndicatorValue)
        .values(
            indicator_id=row.indicator_id,
            period_start=row.period_start,
            value=row.value,
            note=row.note,
            is_demo=False,
            updated_at=now,
            updated_by=actor.name[:100],
            updated_by_kind=actor.kind,
            source=actor.source,
            source_ref=(actor.source_ref or None) and actor.source_ref[:200],
        )
        .on_conflict_do_nothing(index_elements=["indicator_id", "period_start"])
        .returning(OpdIndicatorValue.id)
    )
    return session.execute(stmt).scalar() is not None


def apply(session: Session, planned: Plan, actor: Actor) -> Applied:
    """Write a validated plan in the caller's transaction (commit = all rows, error = none).
    Outcomes are decided again under the lock: a value another writer stored meanwhile turns
    an insert into an update (or unchanged), and the history records what was replaced."""
    if planned.errors:
        raise IndicatorImportError(planned.errors)
    take_write_lock(session)
    now = utcnow()
    done: list[PlannedRow] = []
    for row in planned.rows:
        current = session.scalar(
            select(OpdIndicatorValue)
            .where(
                OpdIndicatorValue.indicator_id == row.indicator_id,
                OpdIndicatorValue.period_start == row.period_start,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if current is None:
            if _insert_if_absent(session, row, actor, now):
                _history(session, row, None, None, actor, now)
                done.append(_as(row, Outcome.INSERTED, None, None))
                continue
            current = session.scalar(  # a concurrent writer inserted it first: update that
                select(OpdIndicatorValue)
                .where(
                    OpdIndicatorValue.indicator_id == row.indicator_id,
                    OpdIndicatorValue.period_start == row.period_start,
                )
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert current is not None
        old_value, old_note = current.value, current.note
        new_note = row.note if row.note is not None else old_note
        if old_value == row.value and new_note == old_note and not current.is_demo:
            done.append(_as(row, Outcome.UNCHANGED, old_value, old_note))
            continue
        current.value, current.note, current.is_demo = row.value, new_note, False
        current.updated_at, current.updated_by = now, actor.name[:100]
        current.updated_by_kind, current.source = actor.kind, actor.source
        current.source_ref = (actor.source_ref or None) and actor.source_ref[:200]
        _history(session, row, old_value, old_note, actor, now, new_note=new_note)
        done.append(_as(row, Outcome.UPDATED, old_value, old_note))
    session.flush()
    _audit(session, done, actor)
    counts = Applied(done).counts
    logger.info(
        "indicator values by %s (%s, %s %s): %d inserted, %d updated, %d unchanged",
        actor.name,
        actor.kind,
        actor.source,
        actor.source_ref or "-",
        counts[Outcome.INSERTED],
        counts[Outcome.UPDATED],
        counts[Outcome.UNCHANGED],
    )
    return Applied(done)


#: The audit log's action for indicator writes (one row per OPD and write, changes only).
AUDIT_ACTION = "indicator_values"
AUDIT_MAX_ROWS = 50


def _audit(session: Session, done: list[PlannedRow], actor: Actor) -> None:
    per_opd: dict[str, list[PlannedRow]] = {}
    for r in done:
        if r.outcome != Outcome.UNCHANGED:
            per_opd.setdefault(r.opd_code, []).append(r)
    for opd_code, rows in per_opd.items():
        audit.record(
            session,
            AUDIT_ACTION,
            username=actor.name,
            target=f"indicators:{opd_code}",
            ip=actor.ip,
            detail={
                "source": str(actor.source),
                "file": actor.source_ref,
                "inserted": sum(1 for r in rows if r.outcome == Outcome.INSERTED),
                "updated": sum(1 for r in rows if r.outcome == Outcome.UPDATED),
                "values": [
                    [r.indicator_code, r.period, r.old_value, r.value]
                    for r in rows[:AUDIT_MAX_ROWS]
                ],
            },
        )


def _as(row: PlannedRow, outcome: str, old_value: float | None, old_note: str | None):
    return PlannedRow(
        **{**row.__dict__, "outcome": outcome, "old_value": old_value, "old_note": old_note}
    )


def _history(
    session: Session,
    row: PlannedRow,
    old_value: float | None,
    old_note: str | None,
    actor: Actor,
    now: datetime,
    *,
    new_note: str | None = None,
) -> None:
    session.add(
        OpdIndicatorValueChange(
            indicator_id=row.indicator_id,
            period_start=row.period_start,
            old_value=old_value,
            new_value=row.value,
            old_note=old_note,
            new_note=new_note if new_note is not None else row.note,
            actor=actor.name[:100],
            actor_kind=actor.kind,
            source=actor.source,
            source_ref=(actor.source_ref or None) and actor.source_ref[:200],
            ts=now,
        )
    )


def write_rows(
    session: Session,
    rows: Iterable[tuple[int, dict[str, Any]]],
    actor: Actor,
    *,
    only_opd: str | None = None,
) -> Applied:
    """:func:`plan` then :func:`apply`: all rows or none (raises IndicatorImportError)."""
    take_write_lock(session)
    planned = plan(session, rows, only_opd=only_opd)
    return apply(session, planned, actor)


# --------------------------------------------------------------------------------------------
# reading (the API and the page)
def value_dict(value: OpdIndicatorValue, indicator: OpdIndicator, opd_code: str) -> dict:
    """The stored row as the API answers it."""
    return {
        "opd": opd_code,
        "indicator": indicator.code,
        "period": period_label(value.period_start, indicator.frequency),
        "period_start": value.period_start.isoformat(),
        "frequency": indicator.frequency,
        "value": value.value,
        "unit": indicator.unit,
        "note": value.note,
        "is_demo": bool(value.is_demo),
        "updated_at": _iso(value.updated_at),
        "updated_by": value.updated_by,
        "source": value.source,
    }


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat().replace("+00:00", "Z") if ts is not None else None
