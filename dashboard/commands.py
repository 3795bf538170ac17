"""``pantau users ...``: staff accounts from the command line (the first admin comes from here).

pantau users create-admin ADMIN_NAME                 # prompts for the password twice
echo "$PW" | pantau users create-admin ADMIN_NAME --password-stdin
pantau users create NAME --role operator --full-name "Siti Operator"
pantau users create NAME --role opd --opd DISHUB     # OPD staff: follow up their OPD's reports
pantau users list
pantau users set-password NAME | set-role NAME ROLE [--opd CODE] | unlock NAME | deactivate NAME
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer
from rich.table import Table

from pantau.cli import app, console, fail, open_database
from pantau.settings import Settings, get_settings

logger = logging.getLogger(__name__)

users_app = typer.Typer(help="Staff accounts: create, list, reset, lock.", no_args_is_help=True)
app.add_typer(users_app, name="users")

DEMO_ADMIN = "admin"
DEMO_ADMIN_FILE = "demo-admin.txt"


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Kata sandi / Password", hide_input=True)
        again = typer.prompt("Ulangi / Repeat", hide_input=True)
        if password != again:
            raise fail("passwords do not match")
    return password


def _create(
    username: str, role: str, full_name: str, password_stdin: bool, opd: str | None = None
) -> None:
    from store import users

    password = _read_password(password_stdin)
    database = open_database(get_settings())
    try:
        with database.session() as s:
            opd_id = users.find_opd(s, opd).id if opd else None
            user = users.create_user(
                s, username, password, role, full_name=full_name, opd_id=opd_id, actor="cli"
            )
            name = user.username
    except users.UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"[green]Created {role} {name}[/]")


@users_app.command("create-admin")
def create_admin(
    username: str = typer.Argument(..., help="Login name (lowercase letters, digits, . _ -)."),
    full_name: str = typer.Option("", "--full-name", help="Name shown in the dashboard."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create an administrator (the first account of a new installation)."""
    _create(username, "admin", full_name, password_stdin)


@users_app.command("create")
def create(
    username: str = typer.Argument(...),
    role: str = typer.Option("operator", help="pimpinan, operator, analis, admin or opd."),
    full_name: str = typer.Option("", "--full-name"),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    opd: str | None = typer.Option(
        None, "--opd", help="OPD code (data/opd.csv, e.g. DISHUB); required for --role opd."
    ),
) -> None:
    """Create a staff account with a role."""
    _create(username, role, full_name, password_stdin, opd)


@users_app.command("list")
def list_users() -> None:
    """List accounts with role, status and last sign-in."""
    from sqlalchemy import select

    from store import users
    from store.models import Opd
    from store.users import is_locked

    database = open_database(get_settings())
    table = Table("username", "full name", "role", "OPD", "active", "locked", "last sign-in (UTC)")
    with database.session() as s:
        codes = {o.id: o.code for o in s.scalars(select(Opd))}
        for u in users.list_users(s):
            table.add_row(
                u.username,
                u.full_name,
                u.role,
                codes.get(u.opd_id, "") if u.opd_id else "",
                "yes" if u.is_active else "no",
                "yes" if is_locked(u) else "",
                f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "—",
            )
    console.print(table)


def _with_user(username: str, action) -> None:  # type: ignore[no-untyped-def]
    from store import users

    database = open_database(get_settings())
    try:
        with database.session() as s:
            user = users.get_by_username(s, username)
            if user is None:
                raise fail(f"no such user: {username}")
            action(s, user)
    except users.UserError as exc:
        raise fail(str(exc)) from exc


@users_app.command("set-password")
def set_password(
    username: str, password_stdin: bool = typer.Option(False, "--password-stdin")
) -> None:
    """Set a new password (also unlocks; signs the user out everywhere)."""
    from store import users

    password = _read_password(password_stdin)
    _with_user(username, lambda s, u: users.set_password(s, u, password, actor="cli"))
    console.print(f"[green]Password of {username} changed[/]")


@users_app.command("set-role")
def set_role(
    username: str,
    role: str,
    opd: str | None = typer.Option(
        None, "--opd", help="OPD code (e.g. DISHUB); required for the opd role."
    ),
) -> None:
    """Change a user's role (``opd`` needs ``--opd CODE``)."""
    from store import users

    def change(s, u) -> None:  # type: ignore[no-untyped-def]
        opd_id = users.find_opd(s, opd).id if opd else None
        users.set_role(s, u, role, opd_id=opd_id, actor="cli")

    _with_user(username, change)
    console.print(f"[green]{username} is now {role}{f' ({opd.upper()})' if opd else ''}[/]")


@users_app.command("unlock")
def unlock(username: str) -> None:
    """Lift a lockout after failed sign-ins."""
    from store import users

    _with_user(username, lambda s, u: users.unlock(s, u, actor="cli"))
    console.print(f"[green]{username} unlocked[/]")


@users_app.command("deactivate")
def deactivate(username: str) -> None:
    """Disable an account (kept for the audit log; sign-ins refused at once)."""
    from store import users

    _with_user(username, lambda s, u: users.set_active(s, u, False, actor="cli"))
    console.print(f"[green]{username} deactivated[/]")


# --------------------------------------------------------------------------------------------
def create_demo_admin(settings: Settings) -> str | None:
    """After demo data went into an empty database: an ``admin`` account with a random password,
    printed and written to var/demo-admin.txt (0600). Does nothing when any account exists.
    Returns the password (None when nothing was created)."""
    from store import users

    database = open_database(settings)
    try:
        with database.session() as s:
            if users.list_users(s):
                return None
            password = users.random_password()
            users.create_user(
                s, DEMO_ADMIN, password, "admin", full_name="Admin Demo", actor="demo-seed"
            )
    finally:
        database.dispose()
    path = Path(settings.var_dir) / DEMO_ADMIN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"username: {DEMO_ADMIN}\npassword: {password}\n")
    path.chmod(0o600)
    console.print(
        f"[bold yellow]Demo admin created[/]: username [bold]{DEMO_ADMIN}[/], password "
        f"[bold]{password}[/] (also in {path}). Demo only: create real accounts with "
        "`pantau users create-admin`."
    )
    return password
