"""Texts in the city's language and in English, and refusals that carry one.

Store modules keep their user-facing messages as ``key -> (Indonesian, English)`` tables and
raise :class:`BilingualError` subclasses, so the dashboard, the APIs and the CLI show the same
refusal in the reader's language (``err.text(lang)``) without knowing the module's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

Pair = tuple[str, str]


def pick(table: Mapping[str, Pair], key: str, lang: str = "id", **fmt: Any) -> str:
    """The text of ``key`` in ``lang`` (English for "en", else Indonesian), formatted with
    ``fmt``; the key itself when the table lacks it."""
    pair = table.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**fmt) if fmt else text


class BilingualError(Exception):
    """A refusal whose text comes from the subclass's ``MESSAGES`` table (``.text(lang)``);
    ``str(err)`` is the English text, for logs."""

    MESSAGES: ClassVar[Mapping[str, Pair]] = {}

    def __init__(self, key: str, **fmt: Any) -> None:
        self.key = key
        self.fmt = fmt
        super().__init__(self.text("en"))

    def text(self, lang: str = "id") -> str:
        return pick(self.MESSAGES, self.key, lang, **self.fmt)
