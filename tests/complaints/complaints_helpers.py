"""Constants and builders shared by the E-Lapor tests (importable by name, unlike conftest)."""

from __future__ import annotations

from pantau.settings import Settings
from store.complaints import NewComplaint
from store.db import Database

API_KEY = "test-open311-key"
SMS_TOKEN = "test-sms-token"
OPERATOR = ("opr.test", "Operator-Test-2026!")


def report(**kw) -> NewComplaint:
    values = {
        "category": "road_damage",
        "description": "Jalan berlubang dalam di lajur kiri, berbahaya untuk motor.",
        "lat": -2.9760,
        "lon": 104.7450,
    }
    values.update(kw)
    return NewComplaint(**values)


def make_app(settings: Settings, database: Database):
    from dashboard.app import create_app

    return create_app(settings, database)
