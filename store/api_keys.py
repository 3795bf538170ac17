"""Per-agency API keys for the machine APIs (incidents, OPD indicators).

A key is a random token shown ONCE when it is created (``pantau keys create``); the database
keeps only its SHA-256 (hex) and a short visible prefix (``pk_xxxxxxxx``) so keys can be told
apart in listings and logs. A key carries scopes ``"<area>:<resource>"``:

* ``incidents:<source>`` — may write and read incidents of that source only (``polresta``,
  ``damkar``, ``satpolpp``...; compared case-insensitively); ``incidents:*`` any source;
* ``indicators:<OPD code>`` — may write indicator values of that OPD (``indicators:DISHUB``).

:func:`authenticate` looks the token up by its hash (a unique index: the lookup time does not
depend on how much of a guess matches) and refuses revoked keys. Creating and revoking keys is
audited.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from store import audit
from store.audit import AuditAction
from store.models import ApiKey
from store.types import utcnow

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "pk_"
PREFIX_LEN = len(TOKEN_PREFIX) + 8  # "pk_" + 8 characters shown in listings
MAX_TOKEN_LEN = 200
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: Scope areas a key may carry; the resource part is a source or an OPD code.
SCOPE_AREAS = ("incidents", "indicators")
SCOPE_RE = re.compile(r"^(?P<area>[a-z_]+):(?P<resource>\*|[A-Za-z0-9][A-Za-z0-9._-]{0,31})$")
#: ``last_used_at`` is written at most this often per key (not one UPDATE per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A key request that cannot be done; the message is for the admin."""


@dataclass(frozen=True)
class KeyInfo:
    """What a request learns about the key it was sent with (no token, no hash)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    needs_touch: bool = False  # last_used_at is over a minute old (authenticate(touch=False))

    def has_scope(self, area: str, resource: str) -> bool:
        return has_scope(self.scopes, area, resource)

    def resources(self, area: str) -> tuple[str, ...]:
        """The resources of ``area`` this key holds (``"*"`` for any)."""
        return tuple(s.split(":", 1)[1] for s in self.scopes if s.split(":", 1)[0] == area)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_scope(scope: str) -> str:
    """``"incidents:Polresta"`` -> ``"incidents:polresta"``; OPD codes upper case. Raises
    :class:`ApiKeyError` naming the scope when it is not ``area:resource`` of a known area."""
    m = SCOPE_RE.fullmatch((scope or "").strip())
    if not m:
        raise ApiKeyError(
            f"scope {scope!r} is not 'area:resource' (e.g. incidents:polresta, indicators:DISHUB)"
        )
    area, resource = m["area"], m["resource"]
    if area not in SCOPE_AREAS:
        raise ApiKeyError(
            f"scope {scope!r}: unknown area {area!r} (known: {', '.join(SCOPE_AREAS)})"
        )
    if resource != "*":
        resource = resource.upper() if area == "indicators" else resource.lower()
    return f"{area}:{resource}"


def has_scope(scopes: tuple[str, ...] | list[str], area: str, resource: str) -> bool:
    """Whether ``scopes`` allow ``area`` on ``resource`` (case-insensitive; ``area:*`` any)."""
    wanted = (resource or "").strip().lower()
    for scope in scopes:
        a, _, r = str(scope).partition(":")
        if a == area and (r == "*" or r.lower() == wanted) and wanted:
            return True
    return False


def create_key(
    session: Session, name: str, scopes: list[str], *, created_by: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the token (shown once, never stored)."""
    name = (name or "").strip().lower()
    if not NAME_RE.fullmatch(name):
        raise ApiKeyError(
            f"key name {name!r}: 2-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if not scopes:
        raise ApiKeyError("a key needs at least one --scope (e.g. incidents:polresta)")
    normalized = sorted(set(normalize_scope(s) for s in scopes))
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} exists already (revoke it or pick another name)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        token_sha256=token_hash(token),
        prefix=token[:PREFIX_LEN],
        scopes=normalized,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        AuditAction.API_KEY_CREATE,
        username=created_by,
        target=f"api_key:{name}",
        detail={"prefix": row.prefix, "scopes": normalized},
    )
    logger.info("API key %s (%s) created with scopes %s", name, row.prefix, normalized)
    return row, token


def authenticate(session: Session, token: str | None, *, touch: bool = True) -> KeyInfo | None:
    """The key ``token`` belongs to, or None (unknown, revoked, malformed). Touches
    ``last_used_at`` (at most once a minute) unless ``touch`` is false (then the caller may
    call :func:`touch_last_used` in a transaction of its own)."""
    if not token or len(token) > MAX_TOKEN_LEN:
        return None
    digest = token_hash(token)
    row = session.scalar(select(ApiKey).where(ApiKey.token_sha256 == digest))
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    if row.revoked_at is not None:
        return None
    now = utcnow()
    stale = row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION
    if touch and stale:
        row.last_used_at = now
    return KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes or ()),
        needs_touch=stale and not touch,
    )


def touch_last_used(session: Session, key_id: int) -> None:
    """Set ``last_used_at`` to now unless it was set less than a minute ago: one UPDATE (a
    write as the transaction's first statement waits for SQLite's lock instead of failing)."""
    now = utcnow()
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )


def revoke_key(session: Session, name: str, *, actor: str | None = None) -> ApiKey:
    """Revoke the key ``name`` (refused from the next request on). Revoking twice is an error."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == (name or "").strip().lower()))
    if row is None:
        raise ApiKeyError(f"no key named {name!r}")
    if row.revoked_at is not None:
        raise ApiKeyError(
            f"key {row.name!r} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC"
        )
    row.revoked_at = utcnow()
    audit.record(
        session,
        AuditAction.API_KEY_REVOKE,
        username=actor,
        target=f"api_key:{row.name}",
        detail={"prefix": row.prefix},
    )
    logger.info("API key %s (%s) revoked", row.name, row.prefix)
    return row


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.name)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))
