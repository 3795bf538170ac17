"""Incident counts per day/week/month read as one index range per period give exactly the
counts of the per-row date expression (kept for hours and very long ranges)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard.queries import security as q
from store.models import Incident

START = datetime(2025, 12, 20, 9, 30, tzinfo=UTC)


def _sorted(df: pd.DataFrame) -> list[tuple]:
    return sorted((p.isoformat(), k, int(n)) for p, k, n in df.itertuples(index=False))


@pytest.mark.parametrize(
    ("days", "granularity"), [(40, "day"), (120, "week"), (400, "month"), (3, "day")]
)
def test_counts_by_ranges_equal_the_per_row_periods(db, monkeypatch, days, granularity):
    rng = random.Random(days)
    with db.session() as s:
        s.add_all(
            Incident(kind=rng.choice(["crime", "fire", "flood"]), source="cctv", title="x",
                     kecamatan=rng.choice(["IB I", "SU II"]),
                     occurred_at=START + timedelta(minutes=rng.randrange(days * 1440 + 2000)))
            for _ in range(1500)
        )  # fmt: skip
    # local period edges (17:00 UTC) exactly on the range bounds and inside
    start, end = START + timedelta(hours=3), START + timedelta(days=days, hours=1)
    with db.session() as s:
        for kw in ({}, {"kinds": ["fire"]}, {"kecamatan": ["SU II"]}):
            by_range = q.incident_counts(s, start, end, granularity, **kw)
            monkeypatch.setattr(q, "MAX_RANGE_PERIODS", 0)  # the per-row expression
            per_row = q.incident_counts(s, start, end, granularity, **kw)
            monkeypatch.setattr(q, "MAX_RANGE_PERIODS", 120)
            assert len(by_range) > 0
            assert _sorted(by_range) == _sorted(per_row)
