"""The long-term background's ghost rule (analytics/longterm.py) must not copy a person who
is there into the empty scene.

A person walking over textured ground (a railing, paving joints) can show a weaker outline
than the background behind them, which is what a ghost looks like. Seen on vtest: a walker at
the left edge was copied into the long-term background during its first samples and, once
gone, counted as a standing person in every later sample. A difference the short-term model
holds as foreground (something is there now) is not healed as a ghost.
"""

from __future__ import annotations

import numpy as np

from analytics.longterm import LongTermBackground

H, W = 144, 192  # short-term model size (luma); chroma at half


def _textured() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.where(((yy // 4) + (xx // 4)) % 2 == 0, 60, 180).astype(np.uint8)


def _planes(luma: np.ndarray):
    chroma = np.full((H // 2, W // 2, 2), 128, np.uint8)
    spread = np.full((H // 2, W // 2), 16, np.uint8)
    return luma, chroma, spread


def _with_person() -> tuple[np.ndarray, np.ndarray]:
    """The textured scene with a smooth, person-sized patch at the left edge, and its mask."""
    luma = _textured()
    mask = np.zeros((H, W), np.uint8)
    mask[40:80, 0:16] = 255
    luma[mask > 0] = 120
    return luma, mask


def _seeded() -> LongTermBackground:
    lt = LongTermBackground()
    luma, chroma, _ = _planes(_textured())
    lt.seed(luma, chroma, 0.0)
    return lt


def test_walker_held_by_the_short_term_model_is_not_learnt_as_empty_scene():
    lt = _seeded()
    before = lt.luma.copy()
    luma, mask = _with_person()
    step = lt.step(*_planes(luma), 60.0, moving=mask)
    assert step is not None
    # the person (at the long-term model's half size: rows 20-40, columns 0-8) is present ...
    assert step.present[22:38, 1:7].mean() > 0.8
    # ... and the long-term background there is still the empty textured scene (a healed
    # ghost would hold the patch's 120: 60 away from every textured pixel)
    diff = np.abs(lt.luma[22:38, 1:7].astype(int) - before[22:38, 1:7].astype(int))
    assert diff.max() <= 8, diff
    # once the walker has gone the empty scene matches: nothing standing there
    step = lt.step(*_planes(_textured()), 120.0, moving=np.zeros((H, W), np.uint8))
    assert not step.present.any()


def test_true_ghost_is_still_healed_when_the_short_term_model_agrees():
    """A difference the short-term model does not hold (its background shows the frame): a
    ghost of something the long-term model learnt, healed at once and not reported."""
    lt = _seeded()
    luma, _ = _with_person()
    step = lt.step(*_planes(luma), 60.0, moving=np.zeros((H, W), np.uint8))
    assert step is not None
    assert not step.present[20:40, 0:8].any()
    assert abs(int(lt.luma[30, 3]) - 120) <= 2  # copied from the frame
