"""The audit log page reads as sentences and labelled fields in the chosen language, never raw
JSON (issue 15: "The audit log shows raw JSON"). Entries are made by the real store functions
(accounts, sign-ins, cameras), then the page's table is rendered as an admin would see it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard import audit_text
from store import audit, users
from store.audit import AuditAction
from store.models import Camera


@pytest.fixture
def app_db(settings, sqlite_db):
    from dashboard.app import create_app

    app = create_app(settings, sqlite_db)
    with sqlite_db.session() as s:
        users.create_user(s, "andi.admin", "Kata-Sandi-Uji-2026!", "admin", full_name="Andi")
        users.create_user(
            s, "budi", "Kata-Sandi-Uji-2026!", "operator", full_name="Budi", actor="andi.admin"
        )
        users.set_role(s, users.get_by_username(s, "budi"), "analis", actor="andi.admin")
        users.authenticate(s, "budi", "salah-sekali", ip="10.0.0.7")
        s.add(Camera(code="PLG-UJI-1", name="Simpang Uji", lat=-2.98, lon=104.76))
        s.flush()
        from store import cameras

        cameras.update(s, "PLG-UJI-1", {"name": "Simpang Uji Baru"}, actor="andi.admin")
        audit.record(
            s,
            AuditAction.EXPORT,
            username="budi",
            target="traffic-download",
            detail={"filename": "lalu-lintas.csv", "ids": ["traffic-download"]},
            ts=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
        )
    return app


def _table_text(app, lang: str) -> str:
    from dashboard.callbacks.audit import audit_table

    with app.server.test_request_context(f"/admin/audit?lang={lang}"):
        table, summary = audit_table()
    return _text(table)


def _text(component) -> str:  # type: ignore[no-untyped-def]
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def test_audit_entries_read_as_indonesian_sentences(app_db):
    text = _table_text(app_db, "id")
    assert "andi.admin membuat akun budi dengan peran Operator." in text
    assert "andi.admin mengubah peran budi dari Operator menjadi Analis." in text
    assert "Gagal masuk sebagai budi: kata sandi salah." in text
    assert "andi.admin mengubah kamera PLG-UJI-1." in text
    assert "Nama" in text and "Simpang Uji → Simpang Uji Baru" in text
    assert "budi mengunduh lalu-lintas.csv." in text
    # no JSON: no braces, no quoted keys
    assert "{" not in text and '"' not in text


def test_audit_entries_read_as_english_sentences(app_db):
    text = _table_text(app_db, "en")
    assert "andi.admin created the account budi with the role Operator." in text
    assert "andi.admin changed budi's role from Operator to Analyst." in text
    assert "Sign-in as budi failed: wrong password." in text
    assert "andi.admin changed the camera PLG-UJI-1." in text
    assert "Simpang Uji → Simpang Uji Baru" in text
    assert "budi downloaded lalu-lintas.csv." in text
    assert "mengubah" not in text and "Gagal" not in text


def test_unknown_action_and_keys_still_show():
    assert audit_text.sentence("made_up", "x", "y", {}) == "x: made_up y."
    assert audit_text.fields("made_up", {"colour": "blue", "n": 3}) == [
        ("colour", "blue"),
        ("n", "3"),
    ]
