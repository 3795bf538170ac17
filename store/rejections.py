"""One error for every all-or-nothing write of a city's files (cameras, boundaries, incidents,
indicator values): it carries every problem found and says that nothing was written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: problems listed in the message (all of them stay in ``errors``)
SHOWN = 50


class AllOrNothingError(Exception):
    """A file (or request) that cannot be written; ``errors`` lists every problem found.
    Subclasses say in ``outcome`` what did not happen ("imported", "written")."""

    outcome = "imported"

    def __init__(self, errors: Sequence[Any]) -> None:
        self.errors = list(errors)
        shown = "\n".join(f"  - {e}" for e in self.errors[:SHOWN])
        extra = len(self.errors) - SHOWN
        more = f"\n  ... and {extra} more" if extra > 0 else ""
        super().__init__(
            f"{len(self.errors)} problem(s), nothing was {self.outcome}:\n{shown}{more}"
        )
