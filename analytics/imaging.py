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

A :class:`ScaledFrame` stands in for a frame whose full pixels may never be needed: it carries
the frame's size and a reduced copy (for a JPEG, decoded at 1/2, 1/4 or 1/8 scale by libjpeg,
which skips most of the decode's work), and loads the full frame only when asked
(:func:`as_array`). :func:`downscale` serves it from the reduced copy whenever that copy is at
least the size asked for, so the motion gate and the blob detector's background model (192x144)
never need the full frame; stages that need full-resolution pixels (detectors other than the
blob detector, flood coverage, annotation) call :func:`as_array`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


class ScaledFrame:
    """A BGR frame known by its size (``shape``, like the array's) and a reduced copy
    (``small``, BGR ``uint8``, any size up to the frame's); ``load()`` returns the full frame
    and is called at most once, on the first :meth:`full`. No I/O here: ``load`` is whatever
    the caller hands in (typically decoding the JPEG it already holds)."""

    __slots__ = ("small", "_shape", "_load", "_full")
    ndim = 3
    dtype = np.dtype(np.uint8)

    def __init__(
        self, small: np.ndarray, size: tuple[int, int], load: Callable[[], np.ndarray]
    ) -> None:
        w, h = int(size[0]), int(size[1])
        if not isinstance(small, np.ndarray) or small.ndim != 3 or small.shape[2] != 3:
            raise ValueError("ScaledFrame.small must be a BGR image (H, W, 3)")
        if small.shape[1] > w or small.shape[0] > h:
            raise ValueError(
                f"reduced copy {small.shape[1]}x{small.shape[0]} is larger than the frame {w}x{h}"
            )
        self.small = small
        self._shape = (h, w, 3)
        self._load = load
        self._full: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._shape

    @property
    def size(self) -> int:
        return self._shape[0] * self._shape[1] * 3

    @property
    def loaded(self) -> bool:
        """True once the full frame was needed (and decoded)."""
        return self._full is not None

    def full(self) -> np.ndarray:
        """The full frame (loaded on first use; ValueError when it is not the declared size)."""
        if self._full is None:
            frame = self._load()
            if not isinstance(frame, np.ndarray) or tuple(frame.shape[:2]) != self._shape[:2]:
                got = getattr(frame, "shape", None)
                raise ValueError(f"full frame {got} does not match the declared {self._shape}")
            self._full = frame
        return self._full


def as_array(frame: np.ndarray | ScaledFrame) -> np.ndarray:
    """The full pixels of ``frame`` (a :class:`ScaledFrame` is loaded; an array is itself)."""
    return frame.full() if isinstance(frame, ScaledFrame) else frame


def downscale(img: np.ndarray | ScaledFrame, width: int, height: int | None = None) -> np.ndarray:
    """``img`` resized to ``width`` x ``height`` (height keeps the aspect ratio when ``None``).
    Images not larger than the target come back unchanged when the size already matches.
    A :class:`ScaledFrame` is served from its reduced copy when that is large enough."""
    h, w = img.shape[:2]
    if height is None:
        height = max(1, round(h * width / w))
    if isinstance(img, ScaledFrame):
        sh, sw = img.small.shape[:2]
        if width <= sw and height <= sh and (width, height) != (w, h):
            return downscale(img.small, width, height)
        img = img.full()
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
