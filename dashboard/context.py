"""Access to the running app's settings and database from layouts, callbacks and routes."""

from __future__ import annotations

from flask import current_app, has_app_context

from pantau.settings import Settings, get_settings
from store.db import Database, get_database


def settings() -> Settings:
    if has_app_context() and "PANTAU_SETTINGS" in current_app.config:
        return current_app.config["PANTAU_SETTINGS"]
    return get_settings()


def db() -> Database:
    if has_app_context() and "PANTAU_DB" in current_app.config:
        return current_app.config["PANTAU_DB"]
    return get_database()
