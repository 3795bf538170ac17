"""The app factory, WSGI entry point, health check, language switch and CLI surface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboard.app import create_app
from store.db import Database

ROOT = Path(__file__).resolve().parents[1]


def test_create_app_serves_shell_and_health(settings):
    app = create_app(settings)
    client = app.server.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["database"] == "ok"
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    assert b"pantau-navbar" in layout.data


def test_health_reports_an_unreachable_database_with_503(settings):
    app = create_app(settings)
    app.server.config["PANTAU_DB"] = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.server.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_language_switch_sets_cookie_and_refuses_open_redirects(settings):
    client = create_app(settings).server.test_client()
    ok = client.get("/lang/en?next=/banjir")
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/banjir")
    assert "pantau_lang=en" in ok.headers["Set-Cookie"]
    evil = client.get("/lang/en?next=https://evil.example/")
    assert evil.headers["Location"] in ("/", "http://localhost/")
    assert client.get("/lang/xx").status_code == 404


def test_wsgi_server_attribute_for_gunicorn(tmp_path):
    env = {"PANTAU_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    code = "from dashboard.app import server; print(type(server).__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Flask"
    assert (tmp_path / "var" / "pantau.db").exists()


def test_cli_lists_its_commands():
    from pantau.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "seed", "import", "db"):
        assert command in result.output


@pytest.mark.parametrize("group", ["evidence", "notify", "sop", "rules", "models", "briefing"])
def test_python_m_pantau_cli_has_the_subsystem_commands(tmp_path, group):
    """``python -m pantau.cli`` (README) knows the commands the subsystems register, as the
    installed ``pantau`` script does (they used to be missing: "No such command")."""
    env = {**os.environ, "PANTAU_VAR_DIR": str(tmp_path / "var")}
    out = subprocess.run(
        [sys.executable, "-m", "pantau.cli", group, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "Usage:" in out.stdout and group in out.stdout


def test_cli_seed_refuses_demo_twice(settings, monkeypatch):
    from pantau import cli

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    first = CliRunner().invoke(cli.app, ["seed", "--demo", "--days", "3"])
    assert first.exit_code == 0, first.output
    assert "hourly_rollups" in first.output
    again = CliRunner().invoke(cli.app, ["seed", "--demo", "--days", "3"])
    assert again.exit_code == 1
    assert "already has history" in again.output
