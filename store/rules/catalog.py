"""The alert rules in the database: seeded from ``data/alert_rules.json``, imported, exported,
edited one by one (the admin page), and read by the engine through a small per-process cache.

An empty ``alert_rules`` table is filled with the defaults on first use (``pantau seed``, the
first evaluation): to silence a kind, disable its rules rather than deleting all of them.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pantau.settings import DATA_DIR
from store.models import AlertRule
from store.rules.schema import RuleInvalid, dump_rule, parse_rule, parse_rules
from store.types import utcnow

logger = logging.getLogger(__name__)

SEED_FILE = DATA_DIR / "alert_rules.json"


def read_file(path: Path) -> list[Any]:
    """Validated rules from a JSON file (``{"rules": [...]}`` or a bare list)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleInvalid([f"file: cannot be read ({exc})"]) from None
    except json.JSONDecodeError as exc:
        raise RuleInvalid([f"file: not JSON (line {exc.lineno}: {exc.msg})"]) from None
    items = data.get("rules") if isinstance(data, dict) else data
    return parse_rules(items)


def _apply(row: AlertRule, rule: Any, who: str | None) -> None:
    row.kind = str(rule.kind)
    row.enabled = rule.enabled
    row.scope_type = str(rule.scope.type)
    row.scope_value = rule.scope.value
    row.definition = dump_rule(rule)
    row.updated_at = utcnow()
    row.updated_by = (who or "")[:100] or None


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def import_rules(session: Session, rules: list[Any], who: str | None = None) -> ImportResult:
    """Insert new rule names, update changed ones; rules not in ``rules`` are left alone."""
    result = ImportResult()
    existing = {r.name: r for r in session.scalars(select(AlertRule))}
    for rule in rules:
        row = existing.get(rule.name)
        if row is None:
            row = AlertRule(name=rule.name)
            _apply(row, rule, who)
            session.add(row)
            result.inserted += 1
        elif row.definition != dump_rule(rule):
            _apply(row, rule, who)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    return result


def seed_rules(session: Session, path: Path = SEED_FILE) -> int:
    """Load the default rules into an empty table (idempotent; concurrent callers are fine)."""
    if session.scalar(select(func.count()).select_from(AlertRule)):
        return 0
    rules = read_file(path)
    try:
        with session.begin_nested():
            n = import_rules(session, rules, who="seed").inserted
    except IntegrityError:  # another process seeded at the same moment
        return 0
    logger.info("seeded %d alert rules from %s", n, path)
    return n


def export_rules(session: Session) -> dict[str, Any]:
    rows = session.scalars(select(AlertRule).order_by(AlertRule.kind, AlertRule.name))
    return {"rules": [r.definition for r in rows]}


def save_rule(session: Session, data: dict[str, Any], who: str, rule_id: int | None = None):
    """Validate and store one rule (new when ``rule_id`` is None). Raises RuleInvalid."""
    rule = parse_rule(data)
    clash = session.scalar(select(AlertRule).where(AlertRule.name == rule.name))
    if clash is not None and clash.id != rule_id:
        raise RuleInvalid([f"name: {rule.name!r} is already used by another rule"], rule.name)
    row = session.get(AlertRule, rule_id) if rule_id is not None else None
    if rule_id is not None and row is None:
        raise RuleInvalid([f"rule {rule_id} no longer exists"])
    if row is None:
        row = AlertRule(name=rule.name)
        session.add(row)
    row.name = rule.name
    _apply(row, rule, who)
    session.flush()
    return row


def delete_rule(session: Session, rule_id: int) -> bool:
    row = session.get(AlertRule, rule_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def template_for(kind: str, path: Path = SEED_FILE) -> dict[str, Any]:
    """A new rule's starting definition for ``kind`` (the seed file's rule of that kind)."""
    for rule in read_file(path):
        if str(rule.kind) == kind:
            data = dump_rule(rule)
            data["name"] = f"{rule.name}-baru"[:64]
            return data
    raise RuleInvalid([f"kind: {kind!r} is not a rule kind"])


@dataclass(frozen=True)
class LoadedRule:
    id: int
    rule: Any  # a store.rules.schema model

    @property
    def kind(self) -> str:
        return str(self.rule.kind)


class RuleBook:
    """The enabled rules, re-read from the database at most every ``ttl_s`` seconds (an edit
    on the admin page reaches every ingestion process within that time)."""

    def __init__(self, ttl_s: float = 15.0) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, list[LoadedRule]]] = {}  # per database URL

    def invalidate(self) -> None:
        self._cache.clear()

    def rules(self, session: Session, kind: str | None = None) -> list[LoadedRule]:
        now = time.monotonic()
        url = str(session.get_bind().engine.url)
        at, rules = self._cache.get(url, (-1e18, []))
        if now - at >= self.ttl_s:
            seeded = seed_rules(session)
            rules = load_rules(session)
            if not seeded:  # seeded rows are not committed yet: the transaction may roll back
                self._cache[url] = (now, rules)
        return [r for r in rules if kind is None or r.kind == kind]


def load_rules(session: Session) -> list[LoadedRule]:
    """Enabled rules, seeding the defaults into an empty table; a stored rule that no longer
    validates is skipped with an error in the log (the others keep working)."""
    seed_rules(session)
    out = []
    for row in session.scalars(
        select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)
    ):
        try:
            out.append(LoadedRule(row.id, parse_rule(row.definition)))
        except RuleInvalid as exc:
            logger.error("alert rule %s skipped: %s", row.name, exc)
    return out
