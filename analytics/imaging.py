"""Fast image helpers shared by the analytics stages.

OpenCV's ``INTER_AREA`` is fast only for integer scale factors; a 640 -> 240 or 640 -> 384
resize takes its generic path and costs 1.4-1.8 ms on one core, more than the motion gate's
own work. :func:`downscale` halves with ``INTER_AREA`` while the frame is at least twice the
target (exact 2x: the fast path, same pixels as before) and finishes with ``INTER_AREA`` when
the remaining factor is an integer, else ``INTER_LINEAR`` (a factor below 2 aliases little):
~0.2 ms for the same job.

Inside ``with shared_halvings():`` (the pipeline wraps each sample in it) the 2x halvings of
one frame are computed once and shared by every stage that shrinks that frame (motion gate,
background model): the first halving of a 768x576 frame is most of a quiet sample's cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import cv2
import numpy as np

_HALVINGS: ContextVar[dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] | None] = (
    ContextVar("pantau_halvings", default=None)
)


@contextmanager
def shared_halvings() -> Iterator[None]:
    """Within this block, :func:`downscale` remembers the 2x halvings it made (keyed by the
    source array; frames must not be modified in place inside the block)."""
    token = _HALVINGS.set({})
    try:
        yield
    finally:
        _HALVINGS.reset(token)


def _halve(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    cache = _HALVINGS.get()
    if cache is None:
        return cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    key = (id(img), w, h)
    hit = cache.get(key)
    if hit is not None and hit[0] is img:
        return hit[1]
    out = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    cache[key] = (img, out)  # keeps img alive, so its id cannot be reused within the block
    return out


def downscale(img: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """``img`` resized to ``width`` x ``height`` (height keeps the aspect ratio when ``None``).
    Images not larger than the target come back unchanged when the size already matches."""
    h, w = img.shape[:2]
    if height is None:
        height = max(1, round(h * width / w))
    if (w, h) == (width, height):
        return img
    if width > w or height > h:
        return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    while w >= 2 * width and h >= 2 * height and w % 2 == 0 and h % 2 == 0:
        if (w // 2, h // 2) == (width, height):
            break
        img = _halve(img)
        h, w = img.shape[:2]
    if w % width == 0 and h % height == 0:
        return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
