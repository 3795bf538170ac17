"""``pantau keys ...``: per-agency API keys for the machine APIs (``store.api_keys``).

pantau keys create --name damkar --scope incidents:damkar     # prints the token once (stdout)
pantau keys create --name dishub --scope indicators:DISHUB --scope incidents:dishub
pantau keys list
pantau keys revoke damkar
"""

from __future__ import annotations

import logging
import os

import typer
from rich.table import Table

from pantau.cli import app, console, fail, open_database
from pantau.settings import get_settings

logger = logging.getLogger(__name__)

keys_app = typer.Typer(
    help="API keys of agencies and OPD systems: create, list, revoke.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


def _actor() -> str:
    return f"cli:{os.environ.get('USER') or os.environ.get('LOGNAME') or 'unknown'}"


@keys_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Key name, e.g. damkar or polresta-gateway."),
    scope: list[str] = typer.Option(
        ...,
        "--scope",
        help="What the key may write: incidents:<source> or indicators:<OPD code> (repeat).",
    ),
) -> None:
    """Create a key. The token is printed ONCE on stdout; only its hash is stored."""
    from store import api_keys

    database = open_database(get_settings())
    try:
        with database.session() as s:
            row, token = api_keys.create_key(s, name, scope, created_by=_actor())
            shown = (row.name, row.prefix, ", ".join(row.scopes))
    except api_keys.ApiKeyError as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"[green]Created key {shown[0]}[/] ({shown[1]}…, scopes: {shown[2]}). "
        "Copy the token now: it is not shown again."
    )
    print(token)


@keys_app.command("list")
def list_keys() -> None:
    """List keys with prefix, scopes, creation, last use and revocation (never the token)."""
    from store import api_keys

    database = open_database(get_settings())
    table = Table(
        "name", "prefix", "scopes", "created (UTC)", "by", "last used (UTC)", "revoked (UTC)"
    )

    def when(ts) -> str:  # type: ignore[no-untyped-def]
        return f"{ts:%Y-%m-%d %H:%M}" if ts else "—"

    with database.session() as s:
        for k in api_keys.list_keys(s):
            table.add_row(
                k.name,
                k.prefix + "…",
                ", ".join(k.scopes or []),
                when(k.created_at),
                k.created_by or "",
                when(k.last_used_at),
                when(k.revoked_at),
            )
    console.print(table)


@keys_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key: every request with it is refused from now on."""
    from store import api_keys

    database = open_database(get_settings())
    try:
        with database.session() as s:
            api_keys.revoke_key(s, name, actor=_actor())
    except api_keys.ApiKeyError as exc:
        raise fail(str(exc)) from exc
    console.print(f"[green]Revoked key {name}[/]")
