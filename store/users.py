"""Staff accounts: argon2id password hashes, roles, lockout after repeated failures.

Roles (``store.models.Role``): *pimpinan* (mayor and officials: see everything, change nothing),
*operator* (alerts and the complaints workflow), *analis* (trends, exports), *admin* (cameras,
users, settings), *opd* (a department's staff: follow up the complaints dispatched to their own
OPD, nothing else; the account must be linked to one OPD, ``users.opd_id``). The public needs no
account.

:func:`authenticate` never tells an unknown name from a wrong password: both cost one argon2
verification, both answer ``invalid``, and both lock after ``max_failures`` attempts (names that
do not exist are counted in the audit log, so the lock works across processes too).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import audit
from store.audit import AuditAction
from store.models import Opd, Role, User

logger = logging.getLogger(__name__)

ROLES: tuple[str, ...] = tuple(r.value for r in Role)
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A user-management request that cannot be done; the message is for the admin."""


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str  # "ok", "invalid", "locked"
    user: User | None = None


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def validate_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME_RE.fullmatch(name):
        raise UserError(
            "Nama pengguna 3–64 karakter: huruf kecil, angka, titik, garis bawah atau tanda "
            "hubung / Username: 3–64 characters, lowercase letters, digits, '.', '_' or '-'."
        )
    return name


def validate_password(password: str, username: str = "") -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(
            f"Kata sandi minimal {MIN_PASSWORD} karakter / Password must have at least "
            f"{MIN_PASSWORD} characters."
        )
    if username and password.strip().lower() == normalize_username(username):
        raise UserError("Kata sandi tidak boleh sama dengan nama pengguna / Password = username.")
    return password


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"Peran tidak dikenal / Unknown role: {role!r} ({', '.join(ROLES)})")
    return role


def find_opd(session: Session, code: str | None) -> Opd:
    """The OPD with ``code`` (case-insensitive, e.g. ``DISHUB``); a clear error otherwise."""
    wanted = (code or "").strip().upper()
    opd = session.scalar(select(Opd).where(func.upper(Opd.code) == wanted)) if wanted else None
    if opd is None:
        codes = ", ".join(session.scalars(select(Opd.code).order_by(Opd.code)))
        raise UserError(
            f"OPD tidak dikenal / Unknown agency (OPD): {code!r} ({codes or 'belum ada OPD'})"
        )
    return opd


def _opd_for_role(session: Session, role: str, opd_id: int | None) -> int | None:
    """The OPD link a role keeps: required (and existing) for ``opd``, none for other roles."""
    if role != Role.OPD:
        return None
    if opd_id is None:
        raise UserError(
            "Peran opd wajib dikaitkan ke satu OPD (pilih OPD) / The opd role needs an agency "
            "(choose the OPD)."
        )
    if session.get(Opd, opd_id) is None:
        raise UserError(f"OPD tidak dikenal / Unknown agency (OPD): id {opd_id}")
    return opd_id


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def random_password(nbytes: int = 12) -> str:
    """A strong temporary password (16 URL-safe characters for 12 bytes)."""
    return secrets.token_urlsafe(nbytes)


def session_fingerprint(user: User) -> str:
    """Changes whenever the password or the session version changes: kept in the session
    cookie and compared on every request, so a sign-out, a password reset, a role change or a
    deactivation ends every session issued before (a copied cookie included)."""
    import hashlib

    seed = f"pantau-session:{user.session_version or 0}:{user.password_hash}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def end_sessions(user: User) -> None:
    """Revoke every session of ``user`` on the server (bump ``users.session_version``): a
    cookie issued before, wherever it was copied to, is refused from the next request on."""
    user.session_version = (user.session_version or 0) + 1


# --------------------------------------------------------------------------------------------
def get_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalize_username(username)))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def count_active_admins(session: Session, exclude_id: int | None = None) -> int:
    q = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active)
    if exclude_id is not None:
        q = q.where(User.id != exclude_id)
    return session.scalar(q) or 0


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str = Role.OPERATOR,
    *,
    full_name: str = "",
    opd_id: int | None = None,
    actor: str | None = None,
) -> User:
    name = validate_username(username)
    validate_password(password, name)
    validate_role(role)
    opd_id = _opd_for_role(session, role, opd_id)
    if get_by_username(session, name) is not None:
        raise UserError(f"Nama pengguna sudah dipakai / Username taken: {name}")
    user = User(
        username=name,
        full_name=(full_name or "").strip()[:200],
        password_hash=hash_password(password),
        role=role,
        opd_id=opd_id,
        is_active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    detail: dict[str, object] = {"role": role}
    if opd_id is not None:
        detail["opd_id"] = opd_id
    audit.record(session, AuditAction.USER_CREATE, username=actor, target=name, detail=detail)
    return user


def _guard_last_admin(session: Session, user: User, *, new_role: str | None, active: bool) -> None:
    losing_admin = (
        user.role == Role.ADMIN and user.is_active and (new_role != Role.ADMIN or not active)
    )
    if losing_admin and count_active_admins(session, exclude_id=user.id) == 0:
        raise UserError(
            "Harus ada minimal satu admin aktif / At least one active admin must remain."
        )


def set_role(
    session: Session,
    user: User,
    role: str,
    *,
    opd_id: int | None = None,
    actor: str | None = None,
) -> None:
    """Change the role; ``opd`` needs ``opd_id`` (other roles drop any OPD link)."""
    validate_role(role)
    new_opd = _opd_for_role(session, role, opd_id)
    _guard_last_admin(session, user, new_role=role, active=user.is_active)
    old, old_opd = user.role, user.opd_id
    user.role, user.opd_id = role, new_opd
    if (old, old_opd) != (role, new_opd):
        end_sessions(user)  # signs in again with the new role
    detail: dict[str, object] = {"from": old, "to": role}
    if old_opd != new_opd:
        detail.update(opd_from=old_opd, opd_to=new_opd)
    audit.record(
        session, AuditAction.USER_ROLE, username=actor, target=user.username, detail=detail
    )


def set_password(session: Session, user: User, password: str, *, actor: str | None = None) -> None:
    validate_password(password, user.username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user)
    audit.record(session, AuditAction.USER_PASSWORD, username=actor, target=user.username)


def set_active(session: Session, user: User, active: bool, *, actor: str | None = None) -> None:
    _guard_last_admin(session, user, new_role=user.role, active=active)
    if user.is_active and not active:
        end_sessions(user)
    user.is_active = active
    audit.record(
        session, AuditAction.USER_ACTIVE, username=actor, target=user.username,
        detail={"active": active},
    )  # fmt: skip


def unlock(session: Session, user: User, *, actor: str | None = None) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, AuditAction.USER_UNLOCK, username=actor, target=user.username)


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return user.locked_until is not None and user.locked_until > now


# --------------------------------------------------------------------------------------------
def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None = None,
    max_failures: int = 5,
    lockout: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
) -> LoginResult:
    """Check a sign-in and write its audit row. Same answers and about the same time for
    unknown names, inactive accounts and wrong passwords."""
    now = now or datetime.now(UTC)
    name = normalize_username(username)[:64]
    password = (password or "")[:MAX_PASSWORD]
    user = get_by_username(session, name) if name else None

    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)  # same cost as a real check
        # the same arithmetic as a real account: the max_failures-th failure locks
        recent = count_recent_failures(session, name, now - lockout)
        already = recent >= max_failures
        audit.record(
            session,
            AuditAction.LOGIN_LOCKED if already else AuditAction.LOGIN_FAILED,
            username=name or None,
            target=name or None,
            ip=ip,
            detail={"reason": "unknown" if user is None else "inactive"},
        )
        return LoginResult(False, "locked" if recent + 1 >= max_failures else "invalid")

    if is_locked(user, now):
        verify_password(_DUMMY_HASH, password)
        audit.record(session, AuditAction.LOGIN_LOCKED, username=name, target=name, ip=ip)
        return LoginResult(False, "locked")

    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        locked = user.failed_logins >= max_failures
        if locked:
            user.locked_until = now + lockout
            user.failed_logins = 0
        audit.record(
            session,
            AuditAction.LOGIN_FAILED,
            username=name,
            target=name,
            ip=ip,
            detail={"reason": "password", "locked": locked},
        )
        return LoginResult(False, "locked" if locked else "invalid")

    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, AuditAction.LOGIN, username=name, target=name, ip=ip)
    return LoginResult(True, "ok", user)


def count_recent_failures(session: Session, name: str, since: datetime) -> int:
    if not name:
        return 0
    return audit.count_recent(session, AuditAction.LOGIN_FAILED, name, since)
