"""Flood coverage on real footage under light changes, shadows, a wet sheen and painted water.

The cases come from ``tests/analytics/flood_eval.py`` (its docstring says how each is made);
only its TEST cases are used here: frames 560 and 700 of vtest.avi, shadow polygon B, sheen
band B, synthetic flood seeds 7-9. ``analytics.flood``'s lighting normalisation was tuned on
the tuning cases (frames 120 and 260, shadow A, sheen A, seeds 1-3) only.

Truth is the construction of each case: a change of light adds no water; painted water's
share of the road polygon is counted in pixels; synthetic scenes report their own share.
Measured on these test cases (2026-11-29, ``flood_eval.py --split test``), before -> after
the normalisation: global gain x0.65..x1.3 and gamma 0.6/1.5 up to 0.45 -> 0.00; cast shadow
to 45-50 % 0.34 -> at most 0.07; wet sheen 0.68-0.75 -> 0.00; water cases mean |error|
0.035 -> 0.057, worst 0.09 -> 0.09 (painted and synthetic). Limits below are those figures
plus a margin, never the values themselves.
"""

from __future__ import annotations

import numpy as np
import pytest

GLOBAL_LIGHT_LIMIT = 0.05  # measured 0.00 (before: 0.45 at x0.65; the issue: 22 % at -30 %)
SHADOW_LIMIT = 0.15  # measured <= 0.07 (before: 0.34)
SHEEN_LIMIT = 0.10  # measured 0.00 (before: 0.75)
WATER_WORST = 0.18  # |coverage - truth|, measured <= 0.09
WATER_MEAN = 0.10  # mean |coverage - truth|, measured 0.057


@pytest.fixture(scope="module")
def test_rows():
    from flood_eval import run

    rows = run("test")
    assert rows and all(c.split == "test" for c, _, _ in rows)
    return rows


def _pick(rows, prefix):
    got = [(c, cov) for c, cov, _ in rows if c.name.startswith(prefix)]
    assert got, prefix
    return got


def test_dry_frames_read_dry(test_rows):
    for c, cov in _pick(test_rows, "dry "):
        assert cov <= GLOBAL_LIGHT_LIMIT, (c.name, cov)


@pytest.mark.parametrize("prefix", ["gain x0.7 ", "gain x1.3 ", "gain x0.65 ", "gain x1.25 "])
def test_global_brightness_change_is_not_water(test_rows, prefix):
    """The issue's case: a frame 30 % darker (or brighter) than the dry reference."""
    for c, cov in _pick(test_rows, prefix):
        assert c.truth == 0.0
        assert cov <= GLOBAL_LIGHT_LIMIT, (c.name, cov)


@pytest.mark.parametrize("prefix", ["gamma 0.6 ", "gamma 1.5 "])
def test_gamma_change_is_not_water(test_rows, prefix):
    for c, cov in _pick(test_rows, prefix):
        assert cov <= GLOBAL_LIGHT_LIMIT, (c.name, cov)


def test_cast_shadow_is_not_water(test_rows):
    for c, cov in _pick(test_rows, "shadow "):
        assert cov <= SHADOW_LIMIT, (c.name, cov)


def test_wet_sheen_without_standing_water_is_not_water(test_rows):
    for c, cov in _pick(test_rows, "wet sheen "):
        assert cov <= SHEEN_LIMIT, (c.name, cov)


def test_water_is_still_measured_also_on_a_dark_day(test_rows):
    wet = _pick(test_rows, "water ") + _pick(test_rows, "synthetic ")
    errs = []
    for c, cov in wet:
        errs.append(abs(cov - c.truth))
        assert abs(cov - c.truth) <= WATER_WORST, (c.name, c.truth, cov)
    assert np.mean(errs) <= WATER_MEAN, errs
    # the water cases cover the range, and the darker copies are among them
    truths = sorted(c.truth for c, _ in wet)
    assert truths[-1] >= 0.7 and any(0.2 <= t <= 0.4 for t in truths)
    assert any("gain x0.7" in c.name and c.truth > 0.5 for c, _ in wet)


def test_flood_cases_are_split_and_truth_comes_from_the_scene():
    """Tuning and test cases share no frame, shadow, sheen band or synthetic seed."""
    from flood_eval import cases

    tune, test = cases("tune"), cases("test")
    frames = {sp: {c.name.split(" f")[-1] for c in cs if c.name.startswith(("dry", "gain"))}
              for sp, cs in (("tune", tune), ("test", test))}  # fmt: skip
    assert frames["tune"] and frames["test"] and not frames["tune"] & frames["test"]
    seeds = {sp: {c.name.split()[1] for c in cs if c.name.startswith("synthetic")}
             for sp, cs in (("tune", tune), ("test", test))}  # fmt: skip
    assert not seeds["tune"] & seeds["test"]
    assert all(c.truth == 0 for c in test if c.name.startswith(("gain", "gamma", "shadow", "wet")))
