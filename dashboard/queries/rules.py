"""Read queries of the alert-rule page (``/admin/aturan``): the rules as table rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.i18n import current_lang
from dashboard.labels import unit_label
from store.models import AlertRule
from store.rules.schema import Kind
from store.rules.text import UNITS, level_label, number


@dataclass(frozen=True)
class RuleRow:
    id: int
    name: str
    kind: str
    enabled: bool
    scope_type: str  # store.rules.schema.ScopeType
    scope_value: str | None
    levels: str  # "waspada ≥ 25 % · siaga ≥ 50 %"
    min_duration_s: int
    clear_s: int
    cooldown_s: int
    updated_at: datetime
    updated_by: str | None


def _levels(kind: str, definition: dict[str, Any]) -> str:
    unit = UNITS.get(kind, "")
    if (
        kind == Kind.CROWD
        and (definition.get("params") or {}).get("mode", "relative") == "relative"
    ):
        unit = "× biasa"
    unit = unit_label(unit)  # in the interface language (menit -> min, laporan -> reports)
    english = current_lang() == "en"
    parts = []
    for lv in definition.get("levels") or []:
        at = lv.get("at")
        shown = at if isinstance(at, str) else f"{number(float(at))} {unit}".strip()
        name = str(lv.get("name", "?"))
        name = level_label(name, "en").lower() if english else name.replace("_", " ")
        parts.append(f"{name} ≥ {shown}")
    return " · ".join(parts)


def rule_rows(session: Session) -> list[RuleRow]:
    out = []
    for r in session.scalars(select(AlertRule).order_by(AlertRule.kind, AlertRule.name)):
        d = r.definition or {}
        out.append(
            RuleRow(
                id=r.id,
                name=r.name,
                kind=r.kind,
                enabled=bool(r.enabled),
                scope_type=r.scope_type,
                scope_value=r.scope_value,
                levels=_levels(r.kind, d),
                min_duration_s=int(d.get("min_duration_s") or 0),
                clear_s=int((d.get("hysteresis") or {}).get("clear_s") or 0),
                cooldown_s=int(d.get("cooldown_s") or 0),
                updated_at=r.updated_at,
                updated_by=r.updated_by,
            )
        )
    return out


def rule_definition(session: Session, rule_id: int) -> dict[str, Any] | None:
    row = session.get(AlertRule, rule_id)
    return dict(row.definition) if row is not None else None
