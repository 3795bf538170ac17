"""OPD (city department) indicators: latest value, target, attainment, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.labels import unit_label
from store.indicators import period_label
from store.models import (
    IndicatorActorKind,
    Opd,
    OpdIndicator,
    OpdIndicatorValue,
    OpdIndicatorValueChange,
    User,
)


@dataclass(frozen=True)
class IndicatorCard:
    id: int
    opd_code: str
    opd_name: str
    code: str
    name: str
    name_en: str | None
    unit: str
    target: float | None
    higher_is_better: bool
    frequency: str
    latest: float | None
    latest_period: date | None
    previous: float | None
    history: list[tuple[date, float]] = field(default_factory=list)
    #: the latest value's last write: when (UTC), by whom (display name), demo or not
    updated_at: datetime | None = None
    updated_by: str | None = None
    latest_is_demo: bool = False

    @property
    def attainment(self) -> float | None:
        """How far the latest value meets the target (1.0 = on target), respecting direction."""
        if self.latest is None or not self.target:
            return None
        if self.higher_is_better:
            return self.latest / self.target
        return self.target / self.latest if self.latest else None

    @property
    def status(self) -> str:
        """good (on target), watch (within 10 %), bad, or none (no target/value)."""
        a = self.attainment
        if a is None:
            return "none"
        if a >= 1.0:
            return "good"
        if a >= 0.9:
            return "watch"
        return "bad"


def indicator_cards(
    session: Session, opd_codes: list[str] | None = None, months: int = 12
) -> list[IndicatorCard]:
    q = (
        select(OpdIndicator, Opd)
        .join(Opd, Opd.id == OpdIndicator.opd_id)
        .order_by(Opd.code, OpdIndicator.code)
    )
    if opd_codes:
        q = q.where(Opd.code.in_(opd_codes))
    pairs = session.execute(q).all()
    ids = [ind.id for ind, _ in pairs]
    values: dict[int, list[tuple[date, float]]] = {i: [] for i in ids}
    if ids:
        for ind_id, period, value in session.execute(
            select(
                OpdIndicatorValue.indicator_id,
                OpdIndicatorValue.period_start,
                OpdIndicatorValue.value,
            )
            .where(OpdIndicatorValue.indicator_id.in_(ids))
            .order_by(OpdIndicatorValue.indicator_id, OpdIndicatorValue.period_start)
        ):
            values[ind_id].append((period, value))
    latest_meta = _latest_meta(session, {i: v[-1][0] for i, v in values.items() if v})
    cards = []
    for ind, opd in pairs:
        hist = values[ind.id][-months:] if months else values[ind.id]
        meta = latest_meta.get(ind.id, (None, None, False))
        cards.append(
            IndicatorCard(
                id=ind.id,
                opd_code=opd.code,
                opd_name=opd.short_name or opd.name,
                code=ind.code,
                name=ind.name,
                name_en=ind.name_en,
                unit=unit_label(ind.unit),
                target=ind.target,
                higher_is_better=ind.higher_is_better,
                frequency=ind.frequency,
                latest=hist[-1][1] if hist else None,
                latest_period=hist[-1][0] if hist else None,
                previous=hist[-2][1] if len(hist) > 1 else None,
                history=hist,
                updated_at=meta[0],
                updated_by=meta[1],
                latest_is_demo=meta[2],
            )
        )
    return cards


def values_version(session: Session) -> int:
    """Moves on with every write of an indicator value (import, upload, API)."""
    return session.scalar(select(func.max(OpdIndicatorValueChange.id))) or 0


def display_names(session: Session, names: set[str]) -> dict[str, str]:
    """Full names of the accounts among ``names`` (user name -> "Full Name")."""
    if not names:
        return {}
    return {
        u: f or u
        for u, f in session.execute(
            select(User.username, User.full_name).where(User.username.in_(sorted(names)))
        )
    }


def who(actor: str | None, kind: str | None, names: dict[str, str]) -> str | None:
    """How a writer is shown: an account by its full name (and user name), a key by name."""
    if not actor:
        return None
    if kind == IndicatorActorKind.USER and names.get(actor, actor) != actor:
        return f"{names[actor]} ({actor})"
    return actor


def _latest_meta(
    session: Session, latest: dict[int, date]
) -> dict[int, tuple[datetime | None, str | None, bool]]:
    """(updated_at, who, is_demo) of each indicator's latest value."""
    if not latest:
        return {}
    rows = session.execute(
        select(
            OpdIndicatorValue.indicator_id,
            OpdIndicatorValue.period_start,
            OpdIndicatorValue.updated_at,
            OpdIndicatorValue.updated_by,
            OpdIndicatorValue.updated_by_kind,
            OpdIndicatorValue.is_demo,
        ).where(
            OpdIndicatorValue.indicator_id.in_(list(latest)),
            OpdIndicatorValue.period_start.in_(sorted(set(latest.values()))),
        )
    ).all()
    rows = [r for r in rows if latest.get(r[0]) == r[1]]
    names = display_names(session, {r[3] for r in rows if r[3] and r[4] == "user"})
    return {r[0]: (r[2], who(r[3], r[4], names), bool(r[5])) for r in rows}


@dataclass(frozen=True)
class Change:
    """One write of an indicator value, as the history table shows it."""

    period: str
    old_value: float | None
    new_value: float
    note: str | None
    who: str
    ts: datetime
    source: str
    source_ref: str | None


def indicator_changes(session: Session, indicator_id: int, limit: int = 50) -> list[Change]:
    """The latest writes of one indicator's values, newest first."""
    ind = session.get(OpdIndicator, indicator_id)
    if ind is None:
        return []
    rows = list(
        session.scalars(
            select(OpdIndicatorValueChange)
            .where(OpdIndicatorValueChange.indicator_id == indicator_id)
            .order_by(OpdIndicatorValueChange.id.desc())
            .limit(limit)
        )
    )
    names = display_names(session, {r.actor for r in rows if r.actor_kind == "user"})
    return [
        Change(
            period=period_label(r.period_start, ind.frequency),
            old_value=r.old_value,
            new_value=r.new_value,
            note=r.new_note,
            who=who(r.actor, r.actor_kind, names) or "",
            ts=r.ts,
            source=r.source,
            source_ref=r.source_ref,
        )
        for r in rows
    ]


def indicator_history(session: Session, indicator_id: int) -> IndicatorCard | None:
    ind = session.get(OpdIndicator, indicator_id)
    if ind is None:
        return None
    return next(
        (c for c in indicator_cards(session, [ind.opd.code], months=0) if c.id == indicator_id),
        None,
    )


def opd_options(session: Session) -> list[dict[str, str]]:
    return [
        {"label": f"{short} — {name}", "value": code}
        for code, short, name in session.execute(
            select(Opd.code, Opd.short_name, Opd.name).order_by(Opd.code)
        )
    ]
