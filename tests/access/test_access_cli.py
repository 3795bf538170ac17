"""``pantau users ...`` and the demo admin."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from pantau.settings import Settings
from store import users
from store.audit import AuditAction
from store.db import Database


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("PANTAU_VAR_DIR", str(var))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    from pantau import settings as settings_module

    settings_module.get_settings.cache_clear()
    import dashboard.commands  # noqa: F401 - registers `pantau users`
    from pantau.cli import app

    yield app, Settings(var_dir=var, database_url="")
    settings_module.get_settings.cache_clear()


def test_create_admin_from_stdin_and_list(cli_env):
    app, settings = cli_env
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["users", "create-admin", "Kepala.Dinas", "--password-stdin", "--full-name", "Bu Kadis"],
        input="sangat-rahasia-2026\n",
    )
    assert result.exit_code == 0, result.output
    db = Database(settings.sqlalchemy_url)
    with db.session() as s:
        user = users.get_by_username(s, "kepala.dinas")
        assert user.role == "admin" and user.full_name == "Bu Kadis"
        assert users.verify_password(user.password_hash, "sangat-rahasia-2026")
    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0 and "kepala.dinas" in listed.output
    assert "sangat-rahasia" not in listed.output
    # a short password and a taken name are refused with a message, nothing written
    short = runner.invoke(app, ["users", "create", "op.satu", "--password-stdin"], input="pendek\n")
    assert short.exit_code == 1 and "10" in short.output
    again = runner.invoke(
        app, ["users", "create-admin", "kepala.dinas", "--password-stdin"], input="x" * 12 + "\n"
    )
    assert again.exit_code == 1
    # prompts twice when not from stdin; a mismatch is refused
    mismatch = runner.invoke(
        app, ["users", "create-admin", "admin.dua"], input="satu-dua-tiga-4\nlain-lagi-5678\n"
    )
    assert mismatch.exit_code == 1
    db.dispose()


def test_demo_admin_only_into_an_empty_user_table(cli_env):
    from dashboard.commands import DEMO_ADMIN_FILE, create_demo_admin

    _app, settings = cli_env
    settings.ensure_dirs()
    password = create_demo_admin(settings)
    assert password and len(password) >= 16
    path = settings.var_dir / DEMO_ADMIN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert password in path.read_text()
    db = Database(settings.sqlalchemy_url)
    with db.session() as s:
        user = users.get_by_username(s, "admin")
        assert user.role == "admin" and users.verify_password(user.password_hash, password)
        result = users.authenticate(s, "admin", password)
        assert result.ok
    assert create_demo_admin(settings) is None  # accounts exist: nothing more is created
    with db.session() as s:
        assert len(users.list_users(s)) == 1
        from sqlalchemy import select

        from store.models import AuditLog

        actions = list(s.scalars(select(AuditLog.action)))
        assert AuditAction.USER_CREATE in actions
    db.dispose()
