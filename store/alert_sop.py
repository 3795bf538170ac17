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


MESSAGES: dict[str, tuple[str, str]] = {
    "empty": ("daftar langkah tidak boleh kosong", "steps must be a non-empty list"),
    "too_many": ("paling banyak {n} langkah", "at most {n} steps"),
    "not_object": (
        "langkah {i}: harus berisi key, id, en",
        "step {i}: must be an object with key, id, en",
    ),
    "bad_key": (
        "langkah {i}: kunci hanya huruf kecil, angka, - atau _",
        "step {i}: key must be lower-case letters, digits, - or _",
    ),
    "dup_key": (
        "langkah {i}: kunci '{step}' dipakai dua kali",
        "step {i}: key '{step}' used twice",
    ),
    "bad_text": (
        "langkah {i}: teks Indonesia wajib, paling banyak {n} karakter",
        "step {i}: text 'id' is required, at most {n} characters",
    ),
    "bad_kind": (
        "jenis wajib diisi (paling banyak 64 karakter)",
        "kind is required (at most 64 characters)",
    ),
    "bad_file": (
        "berkas harus berisi objek: jenis -> daftar langkah",
        "the file must hold an object: kind -> list of steps",
    ),
    "bad_line": (
        "baris {n}: tulis 'kunci | teks Indonesia | teks Inggris'",
        "line {n}: write 'key | Indonesian text | English text'",
    ),
}


class SopError(ValueError):
    """A template that cannot be stored, with the reason in both languages (``.text(lang)``;
    ``str()`` is English)."""

    def __init__(self, message_key: str, /, **fmt: Any) -> None:
        self.key, self.fmt = message_key, fmt
        super().__init__(self.text("en"))

    def text(self, lang: str = "id") -> str:
        ind, eng = MESSAGES[self.key]
        return (eng if lang == "en" else ind).format(**self.fmt)


def parse_steps(raw: Any) -> list[SopStep]:
    """Validate a list of steps (from JSON or an admin form); clear errors, nothing partial."""
    if not isinstance(raw, list) or not raw:
        raise SopError("empty")
    if len(raw) > MAX_STEPS:
        raise SopError("too_many", n=MAX_STEPS)
    steps: list[SopStep] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise SopError("not_object", i=i)
        key = item.get("key")
        text_id = str(item.get("id") or "").strip()
        text_en = str(item.get("en") or "").strip()
        if not isinstance(key, str) or not _KEY.match(key):
            raise SopError("bad_key", i=i)
        if key in seen:
            raise SopError("dup_key", i=i, step=key)
        if not text_id or len(text_id) > MAX_TEXT or len(text_en) > MAX_TEXT:
            raise SopError("bad_text", i=i, n=MAX_TEXT)
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
        raise SopError("bad_kind")
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
        raise SopError("bad_file")
    parsed = {k: parse_steps(v) for k, v in data.items() if not k.startswith("_")}
    for kind in parsed:
        save_template(session, kind, data[kind], who)
    return {k: len(v) for k, v in parsed.items()}


def steps_to_lines(steps: list[SopStep]) -> str:
    """The editable text of a checklist: one step a line, ``key | Indonesian | English``."""
    return "\n".join(f"{s.key} | {s.text_id} | {s.text_en}" for s in steps)


def lines_to_steps(text: str) -> list[dict[str, str]]:
    """Parse the admin page's text (:func:`steps_to_lines`); blank lines are skipped. Errors
    name the line; :func:`parse_steps` checks the rest when the steps are saved."""
    raw: list[dict[str, str]] = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (2, 3):
            raise SopError("bad_line", n=n)
        raw.append({"key": parts[0], "id": parts[1], "en": parts[2] if len(parts) == 3 else ""})
    return raw


def reset_template(session: Session, kind: str) -> bool:
    """Drop the database's list of ``kind``: the file's default applies again."""
    row = session.scalar(select(SopTemplate).where(SopTemplate.kind == kind))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def known_kinds(session: Session, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Kinds with a checklist in the file or the database, plus ``extra`` (e.g. alert kinds)."""
    stored = set(session.scalars(select(SopTemplate.kind)))
    return sorted(set(_defaults(DEFAULTS_FILE)) | stored | {k for k in extra if k})


def stored_template(session: Session, kind: str) -> SopTemplate | None:
    return session.scalar(select(SopTemplate).where(SopTemplate.kind == kind))
