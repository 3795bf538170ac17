"""SOP checklists per alert kind: the steps an operator works through on an alert.

A kind's steps are the ``sop_templates`` row for it (admins replace them: :func:`save_template`,
``pantau sop load FILE``), else the kind's list in data/sop_templates.json, else that file's
``default`` list. Each step is ``{"key": str, "id": Indonesian text, "en": English text}``;
the key is what a tick refers to, so texts can be reworded without losing ticks.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pantau.settings import DATA_DIR
from store.models import SopTemplate

logger = logging.getLogger(__name__)

DEFAULTS_FILE = DATA_DIR / "sop_templates.json"
DEFAULT_KIND = "default"
MAX_STEPS = 30
MAX_TEXT = 300
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class SopStep:
    key: str
    text_id: str
    text_en: str

    def text(self, lang: str = "id") -> str:
        return self.text_en if lang == "en" and self.text_en else self.text_id


class SopError(ValueError):
    """A template that cannot be stored, with the reason."""


def parse_steps(raw: Any) -> list[SopStep]:
    """Validate a list of steps (from JSON or an admin form); clear errors, nothing partial."""
    if not isinstance(raw, list) or not raw:
        raise SopError("steps must be a non-empty list")
    if len(raw) > MAX_STEPS:
        raise SopError(f"at most {MAX_STEPS} steps")
    steps: list[SopStep] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise SopError(f"step {i}: must be an object with key, id, en")
        key = item.get("key")
        text_id = str(item.get("id") or "").strip()
        text_en = str(item.get("en") or "").strip()
        if not isinstance(key, str) or not _KEY.match(key):
            raise SopError(f"step {i}: key must be lower-case letters, digits, - or _")
        if key in seen:
            raise SopError(f"step {i}: key {key!r} used twice")
        if not text_id or len(text_id) > MAX_TEXT or len(text_en) > MAX_TEXT:
            raise SopError(f"step {i}: text 'id' is required, at most {MAX_TEXT} characters")
        seen.add(key)
        steps.append(SopStep(key, text_id, text_en))
    return steps


@lru_cache(maxsize=4)
def _defaults(path: Path) -> dict[str, list[SopStep]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: parse_steps(v) for k, v in data.items() if not k.startswith("_")}


def default_steps(kind: str, path: Path = DEFAULTS_FILE) -> list[SopStep]:
    table = _defaults(path)
    return table.get(kind) or table.get(DEFAULT_KIND, [])


def steps_for(session: Session, kind: str) -> list[SopStep]:
    """The SOP of alert kind ``kind`` (the database's list, else the file's)."""
    row = session.scalar(select(SopTemplate).where(SopTemplate.kind == kind))
    if row is not None:
        try:
            return parse_steps(row.steps)
        except SopError as exc:  # stored before validation existed: say so, use the default
            logger.warning("SOP template %s in the database is invalid (%s)", kind, exc)
    return default_steps(kind)


def save_template(session: Session, kind: str, raw_steps: Any, who: str) -> list[SopStep]:
    """Replace the steps of ``kind`` (validated first; ticks keep their keys)."""
    kind = (kind or "").strip()
    if not kind or len(kind) > 64:
        raise SopError("kind is required (at most 64 characters)")
    steps = parse_steps(raw_steps)
    stored = [{"key": s.key, "id": s.text_id, "en": s.text_en} for s in steps]
    row = session.scalar(select(SopTemplate).where(SopTemplate.kind == kind))
    if row is None:
        session.add(SopTemplate(kind=kind, steps=stored, updated_by=who[:100]))
    else:
        row.steps = stored
        row.updated_by = who[:100]
    session.flush()
    return steps


def load_file(session: Session, path: Path, who: str = "cli") -> dict[str, int]:
    """Store every kind of a JSON file shaped like data/sop_templates.json (all or nothing)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SopError("the file must hold an object: kind -> list of steps")
    parsed = {k: parse_steps(v) for k, v in data.items() if not k.startswith("_")}
    for kind in parsed:
        save_template(session, kind, data[kind], who)
    return {k: len(v) for k, v in parsed.items()}
