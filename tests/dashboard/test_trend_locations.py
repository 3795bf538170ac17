"""The 'top locations' card and map of the trend pages on a database without rollups yet."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.callbacks import _trend
from dashboard.queries import trends

COLUMNS = ("camera_id", "name", "kecamatan", "code", "lat", "lon", "value")


@pytest.mark.parametrize("metric", sorted(trends.METRICS))
def test_no_rollups_yet_gives_an_empty_card_not_an_error(metric):
    # what an empty query result looks like: every column of dtype object
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})
    fig, geojson, _hideout, _store = _trend.locations("flood", metric, empty)
    assert not fig.get("data")  # the empty-figure placeholder, no bars
    assert geojson["features"] == []


def test_values_read_as_text_still_rank():
    rows = pd.DataFrame(
        {
            "camera_id": [1, 2, 3],
            "name": ["A", "B", "C"],
            "kecamatan": ["K1", "K2", "K3"],
            "code": ["A1", "B1", "C1"],
            "lat": [-2.98, -2.97, -2.96],
            "lon": [104.75, 104.76, 104.77],
            "value": ["0.5", "2", None],  # object column, one missing
        }
    )
    fig, geojson, _hideout, _store = _trend.locations("flood", "people", rows)
    bars = fig["data"][0]
    assert bars["x"] == [0.5, 2.0]  # ascending, the largest drawn on top
    assert [n.strip() for n in bars["y"]] == ["A", "B"]
