"""Callbacks, one module per page. Each module defines plain functions (unit-testable) and a
``register(app)`` that wires them to the app with ``app.callback``, so several apps (tests, an
app factory) can live in one process without sharing Dash's global callback list."""

from __future__ import annotations

import importlib
import pkgutil

import dash


def register_all(app: dash.Dash) -> None:
    """Import every module in this package and call its ``register(app)``."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
