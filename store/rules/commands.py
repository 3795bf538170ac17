"""``pantau rules list | validate FILE | import FILE | export [FILE]``: the alert rules from the
command line (the same validation as /admin/aturan; an invalid file changes nothing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from pantau.cli import app, console, fail, open_database
from pantau.settings import get_settings

rules_app = typer.Typer(
    help="Alert rules (alert_rules table; defaults in data/alert_rules.json).",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")


def _actor() -> str:
    return f"cli:{os.environ.get('USER') or os.environ.get('LOGNAME') or 'unknown'}"


@rules_app.command("list")
def list_cmd() -> None:
    """The stored rules: name, kind, scope, levels, on/off."""
    from dashboard.queries.rules import rule_rows
    from store.rules.catalog import seed_rules

    database = open_database(get_settings())
    with database.session() as s:
        seed_rules(s)
    with database.session() as s:
        for r in rule_rows(s):
            scope = r.scope_type + (f":{r.scope_value}" if r.scope_value else "")
            state = "on " if r.enabled else "off"
            print(f"{state} {r.name:<28} {r.kind:<17} {scope:<24} {r.levels}")


@rules_app.command("validate")
def validate_cmd(file: Path = typer.Argument(..., help='JSON file: {"rules": [...]}')) -> None:
    """Check a rule file; every problem is listed as `[index] rule 'name': field: why`."""
    from store.rules.catalog import read_file
    from store.rules.schema import RuleInvalid

    try:
        rules = read_file(file)
    except RuleInvalid as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem}[/]")
        raise fail(f"{file}: {len(exc.problems)} problem(s); nothing was changed") from None
    console.print(f"[green]{len(rules)} rules are valid[/]")


@rules_app.command("import")
def import_cmd(file: Path = typer.Argument(..., help='JSON file: {"rules": [...]}')) -> None:
    """Insert new rule names and update changed ones (all or none); others stay as they are."""
    from store import audit
    from store.audit import AuditAction
    from store.rules.catalog import import_rules, read_file
    from store.rules.schema import RuleInvalid

    try:
        rules = read_file(file)
    except RuleInvalid as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem}[/]")
        raise fail(f"{file}: {len(exc.problems)} problem(s); nothing was changed") from None
    database = open_database(get_settings())
    with database.session() as s:
        result = import_rules(s, rules, who=_actor())
        audit.record(s, AuditAction.ALERT_RULE, username=_actor(), target=file.name[:200],
                     detail={"op": "import", "inserted": result.inserted,
                             "updated": result.updated})  # fmt: skip
    console.print(
        f"[green]{result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged[/]"
    )


@rules_app.command("export")
def export_cmd(
    file: Path | None = typer.Argument(None, help="Write here (default: standard output)."),
) -> None:
    """All stored rules as JSON (the format `pantau rules import` reads)."""
    from store.rules.catalog import export_rules, seed_rules

    database = open_database(get_settings())
    with database.session() as s:
        seed_rules(s)
    with database.session() as s:
        text = json.dumps(export_rules(s), ensure_ascii=False, indent=2) + "\n"
    if file is None:
        print(text, end="")
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"[green]wrote {file}[/]")
