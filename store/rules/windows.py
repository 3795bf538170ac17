"""Counting rules over a sliding time window (complaint surge, incident cluster): which rule
applies, and the exact moment a count falls below the closing threshold."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from store.rules.catalog import LoadedRule
from store.rules.engine import clear_below
from store.rules.schema import ScopeType


def scoped(rules: list[LoadedRule], kecamatan: str | None, what: str, field: str) -> list[Any]:
    """Rules whose scope holds ``kecamatan`` and whose ``params.<field>`` is empty or
    ``what``; most specific first (a kecamatan over the city, a named category or kind over
    "every")."""
    out = []
    for lr in rules:
        scope = lr.rule.scope
        if (
            scope.type == ScopeType.KECAMATAN
            and (scope.value or "").casefold() != (kecamatan or "").casefold()
        ):
            continue
        wanted = getattr(lr.rule.params, field)
        if wanted not in (None, "", what):
            continue
        rank = (0 if scope.type == ScopeType.KECAMATAN else 1, 0 if wanted else 1, lr.id)
        out.append((rank, lr))
    return [lr for _, lr in sorted(out, key=lambda x: x[0])]


def count_at(times: list[datetime], at: datetime, window: timedelta) -> int:
    return sum(1 for t in times if at - window < t <= at)


def cleared_at(
    lr: LoadedRule, th: list[Any], times: list[datetime], window: timedelta, now: datetime
) -> datetime | None:
    """When the count in the window went below the closing line, if it has by ``now``: the
    moment the k-th newest event left the window (k = the smallest count that stays open)."""
    keep = max(1, math.ceil(clear_below(lr.rule.hysteresis, th) - 1e-9))
    newest = sorted((t for t in times if t <= now), reverse=True)
    if len(newest) < keep:  # already below (rows gone or the rule changed): now
        return now
    at = newest[keep - 1] + window
    return at if at <= now else None
