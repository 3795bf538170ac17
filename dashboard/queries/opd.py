"""OPD (city department) indicators: latest value, target, attainment, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Opd, OpdIndicator, OpdIndicatorValue


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
    cards = []
    for ind, opd in pairs:
        hist = values[ind.id][-months:] if months else values[ind.id]
        cards.append(
            IndicatorCard(
                id=ind.id,
                opd_code=opd.code,
                opd_name=opd.short_name or opd.name,
                code=ind.code,
                name=ind.name,
                name_en=ind.name_en,
                unit=ind.unit,
                target=ind.target,
                higher_is_better=ind.higher_is_better,
                frequency=ind.frequency,
                latest=hist[-1][1] if hist else None,
                latest_period=hist[-1][0] if hist else None,
                previous=hist[-2][1] if len(hist) > 1 else None,
                history=hist,
            )
        )
    return cards


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
