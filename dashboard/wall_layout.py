"""What the video wall (``/dinding``) shows: layouts, group specs, rotation pages and the
new-alert takeover, as pure functions (no database, no Dash) so each rule is tested alone.

* Layouts ``1``, ``2x2``, ``3x3``, ``4x4``: 1, 4, 9 and 16 tiles.
* A group is ``kind:value`` (``kecamatan:Ilir Barat I``, ``tag:flood``, ``owner:dishub``,
  ``custom:3``) or ``all`` / ``alert`` (cameras with an open alert).
* Rotation: the group's cameras in pages of the layout's tiles; page ``n`` of ``p`` pages
  after ``n`` ticks (``n mod p``), so pausing (no ticks) holds the page.
* Takeover: cameras with a *new* alert (opened within ``wall_takeover_minutes`` and still
  open) take the first tiles, newest first, on every page, whatever the group; at most half
  the tiles (the whole tile on the 1-tile layout), so the rotation goes on beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: layout -> (tiles, columns)
LAYOUTS: dict[str, tuple[int, int]] = {"1": (1, 1), "2x2": (4, 2), "3x3": (9, 3), "4x4": (16, 4)}
DEFAULT_LAYOUT = "2x2"
GROUP_KINDS = ("all", "kecamatan", "tag", "owner", "alert", "custom")
KINDS_WITH_VALUE = frozenset({"kecamatan", "tag", "owner", "custom"})


def parse_layout(value: object) -> str:
    """A layout key; anything else is the default."""
    return value if isinstance(value, str) and value in LAYOUTS else DEFAULT_LAYOUT


def tile_count(layout: object) -> int:
    return LAYOUTS[parse_layout(layout)][0]


def columns(layout: object) -> int:
    return LAYOUTS[parse_layout(layout)][1]


@dataclass(frozen=True)
class GroupSpec:
    kind: str
    value: str | None = None

    def text(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_group(kind: object, value: object = None) -> GroupSpec:
    """A group from a kind and a value (or one ``kind:value`` string); junk is ``all``."""
    if isinstance(kind, str) and value is None and ":" in kind:
        kind, value = kind.split(":", 1)
    if not isinstance(kind, str) or kind not in GROUP_KINDS:
        return GroupSpec("all")
    if kind not in KINDS_WITH_VALUE:
        return GroupSpec(kind)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value)) if value == value and abs(value) < 1e12 else None
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return GroupSpec("all")
    return GroupSpec(kind, value.strip())


@dataclass(frozen=True)
class WallPage:
    """The tiles on screen: camera codes in order, which of them are pinned (new alert), the
    page shown (0-based) and how many pages the group has."""

    codes: tuple[str, ...]
    pinned: frozenset[str]
    page: int
    pages: int


def compose(
    group: list[str], pinned: list[str], layout: object, tick: int, focus: str | None = None
) -> WallPage:
    """The page of the wall after ``tick`` rotation ticks.

    ``group``: the group's cameras in order; ``pinned``: cameras with a new alert, newest
    first; ``focus``: a camera enlarged by a click (alone on the wall, rotation held).
    """
    if focus:
        return WallPage((focus,), frozenset(p for p in pinned if p == focus), 0, 1)
    tiles = tile_count(layout)
    limit = tiles if tiles == 1 else tiles // 2
    shown_pins = list(dict.fromkeys(pinned))[:limit]
    rest = [c for c in dict.fromkeys(group) if c not in shown_pins]
    slots = tiles - len(shown_pins)
    pages = max(1, math.ceil(len(rest) / slots)) if slots else 1
    page = tick % pages if isinstance(tick, int) and tick >= 0 else 0
    codes = shown_pins + (rest[page * slots : (page + 1) * slots] if slots else [])
    return WallPage(tuple(codes), frozenset(shown_pins), page, pages)
