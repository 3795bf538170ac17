"""Per-agency API keys (store.api_keys) on SQLite and PostgreSQL, and ``pantau keys``."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pantau.settings import Settings
from store import api_keys
from store.db import Database
from store.models import ApiKey, AuditLog


def test_create_returns_the_token_once_and_stores_only_its_hash(db):
    with db.session() as s:
        row, token = api_keys.create_key(
            s, "Damkar", ["incidents:Damkar", "incidents:damkar"], created_by="cli:uji"
        )
    assert token.startswith("pk_") and len(token) >= 40
    with db.session() as s:
        stored = s.scalar(select(ApiKey).where(ApiKey.name == "damkar"))
        assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert stored.prefix == token[:11] and token not in repr(stored.__dict__)
        assert stored.scopes == ["incidents:damkar"]  # normalised, deduplicated
        assert stored.created_by == "cli:uji" and stored.revoked_at is None
        assert stored.last_used_at is None
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "api_key_create")).one()
        assert audit.target == "api_key:damkar" and token not in str(audit.detail)


def test_authenticate_revoke_and_scopes(db):
    with db.session() as s:
        _, polresta = api_keys.create_key(s, "polresta", ["incidents:polresta"])
        _, dishub = api_keys.create_key(s, "dishub", ["indicators:dishub", "incidents:dishub"])
        _, pusat = api_keys.create_key(s, "pusat", ["incidents:*"])
    with db.session() as s:
        key = api_keys.authenticate(s, polresta)
        assert key is not None and key.name == "polresta"
        assert key.has_scope("incidents", "polresta") and key.has_scope("incidents", "POLRESTA")
        assert not key.has_scope("incidents", "damkar")
        assert not key.has_scope("indicators", "polresta")
        assert key.resources("indicators") == ()
        d = api_keys.authenticate(s, dishub)
        assert d.scopes == ("incidents:dishub", "indicators:DISHUB")
        assert d.has_scope("indicators", "DISHUB") and not d.has_scope("indicators", "BPKAD")
        p = api_keys.authenticate(s, pusat)
        assert p.has_scope("incidents", "damkar") and not p.has_scope("indicators", "DISHUB")
        # wrong, truncated, empty, huge tokens: nothing
        for bad in (polresta[:-1], polresta + "x", "", None, "pk_" + "a" * 500, polresta.upper()):
            assert api_keys.authenticate(s, bad) is None
    with db.session() as s:
        used = s.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "polresta"))
        assert used is not None  # touched by the successful authentication
        api_keys.revoke_key(s, "polresta", actor="cli:uji")
    with db.session() as s:
        assert api_keys.authenticate(s, polresta) is None  # revoked: refused
        assert api_keys.authenticate(s, dishub) is not None  # the others still work
        with pytest.raises(api_keys.ApiKeyError, match="already revoked"):
            api_keys.revoke_key(s, "polresta")
        with pytest.raises(api_keys.ApiKeyError, match="no key named"):
            api_keys.revoke_key(s, "tidak-ada")
        names = [(k.name, k.revoked_at is not None) for k in api_keys.list_keys(s)]
        assert names == [("dishub", False), ("polresta", True), ("pusat", False)]
        assert [k.name for k in api_keys.list_keys(s, include_revoked=False)] == ["dishub", "pusat"]
        assert s.scalar(select(AuditLog.username).where(AuditLog.action == "api_key_revoke")) == (
            "cli:uji"
        )


@pytest.mark.parametrize(
    ("name", "scopes", "message"),
    [
        ("damkar", [], "at least one --scope"),
        ("damkar", ["incidents"], "not 'area:resource'"),
        ("damkar", ["cameras:all"], "unknown area 'cameras'"),
        ("damkar", ["incidents:polresta;drop"], "not 'area:resource'"),
        ("damkar", ["incidents:"], "not 'area:resource'"),
        ("x", ["incidents:damkar"], "2-64 lowercase"),
        ("dam kar", ["incidents:damkar"], "2-64 lowercase"),
    ],
)
def test_bad_key_requests_name_the_problem(sqlite_db, name, scopes, message):
    with sqlite_db.session() as s, pytest.raises(api_keys.ApiKeyError, match=message):
        api_keys.create_key(s, name, scopes)


def test_duplicate_name_refused(sqlite_db):
    with sqlite_db.session() as s:
        api_keys.create_key(s, "damkar", ["incidents:damkar"])
    with sqlite_db.session() as s, pytest.raises(api_keys.ApiKeyError, match="exists already"):
        api_keys.create_key(s, "damkar", ["incidents:damkar"])


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("PANTAU_VAR_DIR", str(var))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "250")  # the key table's columns are not cut short
    from pantau import settings as settings_module

    settings_module.get_settings.cache_clear()
    from pantau.cli import app

    yield app, Settings(var_dir=var, database_url="")
    settings_module.get_settings.cache_clear()


def test_cli_create_list_revoke(cli_env):
    app, settings = cli_env
    runner = CliRunner()  # click 8.2+: result.stdout holds stdout only
    made = runner.invoke(app, ["keys", "create", "--name", "damkar", "--scope", "incidents:damkar"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("pk_")
    db = Database(settings.sqlalchemy_url)
    with db.session() as s:
        assert api_keys.authenticate(s, token).has_scope("incidents", "damkar")
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0 and "damkar" in listed.output and token[:11] in listed.output
    assert token not in listed.output
    bad = runner.invoke(app, ["keys", "create", "--name", "satpol", "--scope", "satpol"])
    assert bad.exit_code == 1 and "area:resource" in bad.output
    revoked = runner.invoke(app, ["keys", "revoke", "damkar"])
    assert revoked.exit_code == 0, revoked.output
    with db.session() as s:
        assert api_keys.authenticate(s, token) is None
    again = runner.invoke(app, ["keys", "revoke", "damkar"])
    assert again.exit_code == 1 and "already revoked" in again.output
    db.dispose()
