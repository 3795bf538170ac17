"""Error boundary around every Dash callback and every API route: never a traceback.

A request to ``/_dash-update-component`` carries whatever a client put into it; a callback fed a
value of the wrong shape (a list where a dict is expected, ``"abc"`` for a latitude, a missing
key) raises ``TypeError``, ``ValueError``, ``KeyError``, ``IndexError`` or ``AttributeError``
while it reads its inputs. Those become a ``400`` with a JSON message (and a WARNING log line
with the traceback, so a real bug of that kind is still seen); any other exception is a server
fault: logged with its traceback (ERROR) and answered ``500`` with a short JSON body. Dash's
own ``PreventUpdate`` (204) and HTTP errors keep their handlers (the most specific handler
wins in Flask). The same applies to the APIs (``/api/...``, ``/open311/...``), where a
database that cannot be reached (connection refused or lost, pool exhausted, SQLite locked) is
a ``503`` with ``Retry-After`` (nothing was stored: send it again), as the OpenAPI document
says (Dash callbacks keep the logged 500); other paths keep Flask's plain 500 page.
"""

from __future__ import annotations

import logging

from dash.exceptions import UnsupportedRelativePath
from flask import Flask, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from dashboard.input_limits import CALLBACK_PATH, error_response, is_api_path

logger = logging.getLogger(__name__)


class BadInput(ValueError):
    """A callback input of the wrong type or shape; the message (in English, naming the
    component property) is sent to the client with the 400."""


def number(value: object, name: str, low: float, high: float) -> float:
    """A finite JSON number within [low, high] (never a bool or a string) or BadInput."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name} must be a number")
    result = float(value)
    if not low <= result <= high:  # NaN fails too
        raise BadInput(f"{name} must be between {low:g} and {high:g}")
    return result


def text_or_none(value: object, name: str) -> str | None:
    """A string (or nothing) from a text input, or BadInput."""
    if value is not None and not isinstance(value, str):
        raise BadInput(f"{name} must be text")
    return value


#: Exceptions that come from reading a malformed input: the client's fault (400). Besides
#: Python's own: a number too large for a date or a C int (1e308), a query built from a value
#: of the wrong shape (SQLAlchemy refuses to build it, nothing reached the database), and a
#: page path Dash cannot resolve.
INPUT_ERRORS: tuple[type[Exception], ...] = (
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    sa_exc.ArgumentError,
    UnsupportedRelativePath,
)


#: PostgreSQL errors a value of the wrong type causes in a query that is right for the right
#: type: no operator for varchar = integer, invalid text for an integer, a number out of range.
_PG_INPUT_ERRORS = ("UndefinedFunction", "InvalidTextRepresentation", "NumericValueOutOfRange",
                    "DatetimeFieldOverflow", "InvalidDatetimeFormat")  # fmt: skip


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a malformed client value (400) rather than a server fault."""
    if isinstance(exc, (*INPUT_ERRORS, sa_exc.DataError)):
        return True
    orig = getattr(exc, "orig", None) if isinstance(exc, sa_exc.DBAPIError) else None
    return type(orig).__name__ in _PG_INPUT_ERRORS


#: Seconds a client should wait after a 503 for a database outage.
DB_RETRY_AFTER_S = 10
#: SQLAlchemy errors of a database that cannot be reached or is busy (connection refused or
#: lost, pool exhausted, SQLite file locked or unreadable): the request may succeed later.
_OUTAGE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                  sa_exc.DisconnectionError)  # fmt: skip


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable (503), not that the request is wrong."""
    return isinstance(exc, _OUTAGE_ERRORS)


def _describe() -> str:
    if request.path != CALLBACK_PATH:
        return request.path
    body = request.get_json(silent=True)
    output = body.get("output") if isinstance(body, dict) else None
    return f"callback {str(output)[:120]!r}"


def _unhandled(exc: Exception):  # type: ignore[no-untyped-def]
    if isinstance(exc, HTTPException):  # pragma: no cover - HTTPException has its own handler
        return exc
    if not is_api_path(request.path):
        raise exc  # Flask's own handling (logged, plain 500 page)
    if is_input_error(exc):
        logger.warning(
            "malformed input to %s refused (400): %s: %s",
            _describe(),
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        message = (
            str(exc)[:200]
            if isinstance(exc, BadInput)
            else "malformed input: a value has the wrong type or shape"
        )
        return error_response(400, "bad_request", message)
    if is_database_outage(exc) and request.path != CALLBACK_PATH:  # machine APIs: retry later
        logger.error("database unavailable in %s: %s", _describe(), exc)
        resp = error_response(
            503,
            "database_unavailable",
            "The database is unavailable; nothing from this request was stored. Send it again.",
        )
        resp.headers["Retry-After"] = str(DB_RETRY_AFTER_S)
        return resp
    logger.error("server error in %s", _describe(), exc_info=exc)
    return error_response(500, "server_error", "internal error; it has been logged")


def init_app(server: Flask) -> None:
    server.register_error_handler(Exception, _unhandled)
