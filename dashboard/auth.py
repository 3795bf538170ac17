"""Sign-in, roles and the server-side guard in front of every route.

Who may reach what is decided on the server, per request, in one place (:func:`guard`), never
only by hiding links:

* **Dash pages** declare ``roles=(...)`` (or ``roles="public"``) in ``dash.register_page``.
  A page load (``GET /path``) by an anonymous visitor redirects to ``/masuk?next=/path``; a
  signed-in user without the role gets the 403 page with status 403. The page layouts are
  wrapped too, so the Dash router callback renders the login redirect / 403 page instead of the
  layout (client-side navigation cannot get around it).
* **Dash callbacks** (``POST /_dash-update-component``): the callback is looked up in the app's
  own callback map (never trusting the ids the client sends), every component id it outputs to
  or reads is mapped to a page by its prefix (``<page>-...``; the page's ``id_prefix`` key or
  its module name), and the user needs a role allowed on *every* page involved. Ids that map to
  nothing are refused for everyone but admins (fail closed). Write-level components (acknowledge,
  dispatch, edit...) are listed with :func:`mark_write` (or a page's ``write_ids`` /
  ``write_roles`` keys): pimpinan can see everything and change nothing.
* **Flask routes** (snapshots, GeoJSON, downloads, APIs) match :data:`ROUTE_RULES` by path
  prefix (longest wins; add yours with :func:`allow_route`). A route no rule covers is refused
  for everyone but admins, and logged, so it is noticed.
* **OPD staff** (role ``opd``) are not in :data:`STAFF_ROLES`: they reach only pages that name
  ``"opd"`` (their follow-up page) and complaint photos of reports dispatched to their own OPD.
  Which reports are theirs is checked per object by ``store.complaints.opd_can_see`` (queries,
  details, transitions, photos). An ``opd`` account without an existing OPD has no role at all
  (:func:`current_role` answers :data:`OPD_UNLINKED`): it sees nothing.

Accountability: sign-ins, sign-outs, exports (``dcc.Download`` callbacks and attachment
responses) and views of non-public cameras are written to the audit log (``store.audit``).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlparse

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import Blueprint, Response, current_app, g, jsonify, redirect, request, session
from flask_login import AnonymousUserMixin, LoginManager, current_user, login_user, logout_user

from dashboard import context
from dashboard.i18n import register as register_strings
from dashboard.i18n import t
from dashboard.routes import same_site_path
from store import audit
from store import users as user_store
from store.audit import AuditAction
from store.models import Camera

logger = logging.getLogger(__name__)

PUBLIC = "public"
ADMIN = "admin"
STAFF_ROLES: tuple[str, ...] = ("pimpinan", "operator", "analis", "admin")
#: Who may change data by default (README role table: pimpinan change nothing, analis only
#: export, which is a read; operators run alerts and complaints, admins everything).
WRITE_DEFAULT: tuple[str, ...] = ("operator", "admin")
Roles = str | tuple[str, ...]
OPD_ROLE = "opd"
OPD_UNLINKED = "opd:unlinked"  # an opd account with no (existing) OPD: matches no rule
OPD_HOME = "/opd/pengaduan"
PHOTO_ROUTE = "/api/pengaduan/foto"

LOGIN_PATH = "/masuk"
FORBIDDEN_PATH = "/403"
CSRF_KEY = "_csrf"
CSRF_FIELD = "csrf_token"

#: Flask routes outside Dash pages: path prefix -> roles ("public" or a tuple). Longest wins.
ROUTE_RULES: dict[str, Roles] = {
    # Dash machinery: the shell and bundles hold no city data
    "/assets": PUBLIC,
    "/_dash-component-suites": PUBLIC,
    "/_dash-dependencies": PUBLIC,
    "/_dash-layout": PUBLIC,
    "/_favicon.ico": PUBLIC,
    "/_reload-hash": PUBLIC,
    # public services (Open311 and the SMS webhook have their own api_key / token checks)
    "/healthz": PUBLIC,
    "/lang": PUBLIC,
    "/auth": PUBLIC,
    "/api/public": PUBLIC,
    "/open311": PUBLIC,
    "/api/sms": PUBLIC,
    "/api/lapor": PUBLIC,  # public complaint intake and status (rate-limited there)
    "/api/sensors/readings": PUBLIC,  # sensor gateways: API key checked there, not a session
    "/lapor": PUBLIC,
    # staff data: any signed-in role
    "/snapshots": STAFF_ROLES,
    "/evidence": STAFF_ROLES,
    "/api": STAFF_ROLES,
    # complaint photos: OPD staff too, only their own reports' photos (checked in the guard)
    PHOTO_ROUTE: (*STAFF_ROLES, OPD_ROLE),
    "/download": STAFF_ROLES,
    "/export": STAFF_ROLES,
}

#: Component-id prefixes outside pages (the shell around every page).
COMPONENT_ROLES: dict[str, Roles] = {
    "_pages_location": PUBLIC,  # the Dash Pages router; layouts are guarded themselves
    "_pages_content": PUBLIC,
    "_pages_store": PUBLIC,
    "_pages_dummy": PUBLIC,
    "url": PUBLIC,
    "navbar": PUBLIC,
    "shell": PUBLIC,
    "lang": PUBLIC,
    "user-menu": PUBLIC,
}

#: Write-level component-id prefixes -> roles allowed to trigger them.
WRITE_ROLES: dict[str, tuple[str, ...]] = {}

#: POST routes that are machine APIs with their own credentials (no Origin check).
ORIGIN_EXEMPT = ("/open311", "/api/sms", "/api/sensors/readings", "/api/v1/")

CAMERA_VIEW_THROTTLE_S = 300
SNAPSHOT_RE = re.compile(r"^/snapshots/([A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:\.public)?\.jpg$")

register_strings(
    {
        "auth.user": {"id": "Pengguna", "en": "User"},
        "auth.role.pimpinan": {"id": "Pimpinan", "en": "Leadership"},
        "auth.role.operator": {"id": "Operator", "en": "Operator"},
        "auth.role.analis": {"id": "Analis", "en": "Analyst"},
        "auth.role.admin": {"id": "Admin", "en": "Admin"},
        "auth.role.opd": {"id": "OPD", "en": "Agency (OPD)"},
        "auth.forbidden.title": {"id": "Akses ditolak", "en": "Access denied"},
        "auth.forbidden.body": {
            "id": "Peran Anda tidak memiliki akses ke halaman ini. Hubungi admin command center "
            "bila Anda memerlukannya.",
            "en": "Your role has no access to this page. Ask the command center's admin if you "
            "need it.",
        },
        "auth.forbidden.home": {"id": "Kembali ke beranda", "en": "Back to the start page"},
        "auth.redirecting": {"id": "Mengalihkan ke halaman masuk…", "en": "Redirecting…"},
    }
)


# --------------------------------------------------------------------------------------------
# registries page authors use
def allow_route(prefix: str, roles: Roles) -> None:
    """Declare who may reach Flask routes under ``prefix`` (e.g. ``"/api/traffic"``)."""
    ROUTE_RULES[prefix.rstrip("/") or "/"] = roles if roles == PUBLIC else tuple(roles)


def allow_components(prefix: str, roles: Roles) -> None:
    """Declare roles for component ids under ``prefix`` that belong to no page."""
    COMPONENT_ROLES[prefix] = roles if roles == PUBLIC else tuple(roles)


def mark_write(prefix: str, roles: Iterable[str] = WRITE_DEFAULT) -> None:
    """Callbacks touching components under ``prefix`` change data: only ``roles`` may run them
    (pimpinan are never in the default)."""
    WRITE_ROLES[prefix] = tuple(roles)


# --------------------------------------------------------------------------------------------
# users
class SessionUser:
    """The signed-in user, loaded from the database on every request. The session holds
    ``id:fingerprint``; the fingerprint covers the password hash and ``users.session_version``,
    so a sign-out, password or role change or deactivation refuses every older cookie."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(
        self,
        user_id: int,
        username: str,
        full_name: str,
        role: str,
        fp: str,
        opd_id: int | None = None,
    ) -> None:
        self.id, self.username, self.full_name, self.role, self.fp = (
            user_id,
            username,
            full_name,
            role,
            fp,
        )
        self.opd_id = opd_id  # role opd: the OPD whose reports the user follows up

    def get_id(self) -> str:
        return f"{self.id}:{self.fp}"

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class AnonymousUser(AnonymousUserMixin):
    role: str | None = None
    username: str | None = None
    opd_id: int | None = None
    display_name = ""


def current_role() -> str | None:
    """Role of the request's user (None for the public). An ``opd`` account whose OPD is
    missing gets :data:`OPD_UNLINKED`, which no page, callback or route allows."""
    if not current_user.is_authenticated:
        return None
    role = getattr(current_user, "role", None)
    if role == OPD_ROLE and getattr(current_user, "opd_id", None) is None:
        return OPD_UNLINKED
    return role


def current_opd_id() -> int | None:
    """The OPD of a signed-in ``opd`` user (None for every other user: no OPD scope)."""
    if current_role() != OPD_ROLE:
        return None
    return current_user.opd_id


def home_path(role: str | None = None) -> str:
    """Where a role starts: OPD staff on their follow-up page, everyone else on ``/``."""
    role = current_role() if role is None else role
    return OPD_HOME if role == OPD_ROLE else "/"


def current_username() -> str | None:
    return current_user.username if current_user.is_authenticated else None


def require_role(*roles: str) -> None:
    """Inside a callback: raise PreventUpdate unless the user has one of ``roles``. Defence in
    depth for write callbacks; the guard has already checked the request."""
    if current_role() not in roles:
        from dash.exceptions import PreventUpdate

        raise PreventUpdate


def client_ip() -> str | None:
    return request.remote_addr if request else None


def audit_event(action: str, target: str | None = None, **detail: Any) -> None:
    """Write an audit row for the current request's user and address."""
    audit.record_now(
        context.db(),
        action,
        username=current_username(),
        target=target,
        ip=client_ip(),
        detail=detail or None,
    )


def session_token(user) -> str:  # type: ignore[no-untyped-def]
    """What the session cookie holds for a user: ``id:session_version:fingerprint``."""
    return f"{user.session_version or 0}:{user_store.session_fingerprint(user)}"


def _load_user(token: str) -> SessionUser | None:
    """Flask-Login's user loader, on every request: the cookie's session version must be the
    user's current one (sign-out, password/role change and deactivation move it on)."""
    try:
        raw_id, raw_version, fp = token.split(":", 2)
        user_id, version = int(raw_id), int(raw_version)
    except (ValueError, AttributeError):
        return None
    from store.models import User

    with context.db().session() as s:
        user = s.get(User, user_id)
        if user is None or not user.is_active or version != (user.session_version or 0):
            return None
        if not hmac.compare_digest(user_store.session_fingerprint(user), fp):
            return None
        return SessionUser(
            user.id,
            user.username,
            user.full_name,
            user.role,
            session_token(user),
            _linked_opd(s, user),
        )


def _linked_opd(s, user) -> int | None:  # type: ignore[no-untyped-def]
    """The user's OPD when the role is ``opd`` and that OPD still exists (else None)."""
    from store.models import Opd

    if user.role != OPD_ROLE or user.opd_id is None:
        return None
    return user.opd_id if s.get(Opd, user.opd_id) is not None else None


# --------------------------------------------------------------------------------------------
# CSRF for the plain form posts (sign-in, sign-out)
def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def _csrf_ok() -> bool:
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_KEY, "")
    return bool(sent and expected) and hmac.compare_digest(sent, expected)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths, never an open redirect nor back to the login page."""
    target = same_site_path(target)
    if urlparse(target).path in (LOGIN_PATH, FORBIDDEN_PATH):
        return "/"
    return target


# --------------------------------------------------------------------------------------------
# sign-in throttle per client address (password spraying across many names)
class _IpThrottle:
    def __init__(self, limit: int = 30, window_s: float = 600.0) -> None:
        self.limit, self.window = limit, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, ip: str | None) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._hits.get(ip or "-")
            while q and now - q[0] > self.window:
                q.popleft()
            return bool(q) and len(q) >= self.limit

    def failure(self, ip: str | None) -> None:
        with self._lock:
            if len(self._hits) > 10000:
                self._hits.clear()
            self._hits.setdefault(ip or "-", deque()).append(time.monotonic())


# --------------------------------------------------------------------------------------------
# the auth blueprint: form posts
bp = Blueprint("pantau_auth", __name__)


@bp.post("/auth/login")
def login_post():
    next_url = safe_next(request.form.get("next"))
    back = f"{LOGIN_PATH}?next={quote(next_url)}"
    if not _csrf_ok():
        return redirect(back + "&e=csrf")
    throttle: _IpThrottle = current_app.extensions["pantau_ip_throttle"]
    ip = client_ip()
    cfg = context.settings()
    if throttle.blocked(ip):
        audit.record_now(
            context.db(),
            AuditAction.LOGIN_LOCKED,
            username=(request.form.get("username") or "")[:64] or None,
            ip=ip,
            detail={"reason": "ip"},
        )
        return redirect(back + "&e=locked")
    with context.db().session() as s:
        result = user_store.authenticate(
            s,
            request.form.get("username", ""),
            request.form.get("password", ""),
            ip=ip,
            max_failures=cfg.login_max_failures,
            lockout=timedelta(minutes=cfg.login_lockout_minutes),
        )
        loaded = None
        if result.ok and result.user is not None:
            u = result.user
            s.flush()
            loaded = SessionUser(
                u.id, u.username, u.full_name, u.role, session_token(u), _linked_opd(s, u)
            )
    if loaded is None:
        throttle.failure(ip)
        return redirect(back + f"&e={result.reason}")
    session.clear()  # no session fixation: a fresh session for the signed-in user
    session.permanent = True
    login_user(loaded)
    csrf_token()
    logger.info("sign-in %s (%s) from %s", loaded.username, loaded.role, ip)
    if next_url == "/" and loaded.role == OPD_ROLE:
        next_url = OPD_HOME
    return redirect(next_url)


@bp.post("/auth/logout")
def logout_post():
    if not _csrf_ok():
        return redirect("/")
    if current_user.is_authenticated:
        _end_sessions(current_user.id)
        audit_event(AuditAction.LOGOUT, current_user.username)
    logout_user()
    session.clear()
    return redirect(f"{LOGIN_PATH}?e=out")


def _end_sessions(user_id: int) -> None:
    """Sign-out ends the session on the server too: the user's session version moves on, so a
    copy of the cookie (another tab, another machine, a stolen one) is refused from now on.
    Every session of that account ends (one version per user)."""
    from store.models import User

    with context.db().session() as s:
        user = s.get(User, user_id)
        if user is not None:
            user_store.end_sessions(user)
    logger.info("sign-out of user id %s: every session of the account ended", user_id)


# --------------------------------------------------------------------------------------------
# mapping requests to roles
@dataclass(frozen=True)
class Decision:
    allow: bool
    status: int = 200  # 401 (sign in first), 403 (role), 400 (malformed)
    reason: str = ""


ALLOW = Decision(True)


def _roles_allow(roles: Roles, role: str | None) -> bool:
    return roles == PUBLIC or (role is not None and role in roles)


def page_roles(page: dict[str, Any]) -> Roles:
    """A page's roles; pages that declare none are admin-only (the 404 page is public)."""
    roles = page.get("roles")
    if roles is None:
        return PUBLIC if str(page.get("module", "")).endswith("not_found_404") else (ADMIN,)
    if roles == PUBLIC or roles == (PUBLIC,) or roles == [PUBLIC]:
        return PUBLIC
    return tuple(roles)


def page_prefixes(page: dict[str, Any]) -> set[str]:
    base = page.get("id_prefix") or str(page.get("module", "")).rsplit(".", 1)[-1]
    return {p for p in {base, base.replace("_", "-")} if p}


def decide(roles: Roles) -> Decision:
    if roles == PUBLIC:
        return ALLOW
    if not current_user.is_authenticated:
        return Decision(False, 401, "login")
    if current_role() in roles:
        return ALLOW
    return Decision(False, 403, "role")


def page_for_path(path: str, app: dash.Dash | None = None) -> dict[str, Any]:
    """The registered page a path opens ({} for none: Dash's 404 page)."""
    from dash._pages import _path_to_page

    app = app or dash.get_app()
    page, _vars = _path_to_page(app.strip_relative_path(path) or "")
    return page


def _longest(table: Iterable[tuple[str, Any]], value: str) -> tuple[str, Any] | None:
    best: tuple[str, Any] | None = None
    for prefix, roles in table:
        if (value == prefix or value.startswith(prefix + "-")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, roles)
    return best


def _id_key(component_id: Any) -> str | None:
    """The string a component id is matched on: the id itself, or a pattern id's ``type``."""
    if isinstance(component_id, str) and component_id.startswith("{"):
        try:
            component_id = json.loads(component_id)
        except ValueError:
            return None
    if isinstance(component_id, dict):
        kind = component_id.get("type")
        return kind if isinstance(kind, str) else None
    return component_id if isinstance(component_id, str) else None


def _callback_ids(entry: dict[str, Any]) -> list[Any]:
    outputs = entry.get("output")
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    ids = [getattr(o, "component_id", None) for o in outputs if o is not None]
    ids += [dep.get("id") for dep in (entry.get("inputs") or []) + (entry.get("state") or [])]
    return ids


def _scopes() -> tuple[list[tuple[str, Roles]], list[tuple[str, tuple[str, ...]]]]:
    read: list[tuple[str, Roles]] = list(COMPONENT_ROLES.items())
    write: list[tuple[str, tuple[str, ...]]] = list(WRITE_ROLES.items())
    for page in dash.page_registry.values():
        roles = page_roles(page)
        for prefix in page_prefixes(page):
            read.append((prefix, roles))
        write_roles = tuple(page.get("write_roles") or WRITE_DEFAULT)
        for prefix in page.get("write_ids") or ():
            write.append((prefix, write_roles))
    return read, write


def callback_roles(entry: dict[str, Any]) -> tuple[Roles, tuple[str, ...] | None, list[str]]:
    """(read roles, write roles or None, unmapped ids) of one registered callback."""
    read_table, write_table = _scopes()
    allowed: set[str] | None = None  # None: public so far
    write: set[str] | None = None
    unmapped: list[str] = []
    for component_id in _callback_ids(entry):
        key = _id_key(component_id)
        hit = _longest(read_table, key) if key else None
        if hit is None:
            unmapped.append(str(component_id))
            roles: Roles = (ADMIN,)
        else:
            roles = hit[1]
        if roles != PUBLIC:
            allowed = set(roles) if allowed is None else allowed & set(roles)
        w = _longest(write_table, key) if key else None
        if w is not None:
            write = set(w[1]) if write is None else write & set(w[1])
    read: Roles = PUBLIC if allowed is None else tuple(sorted(allowed))
    return read, (tuple(sorted(write)) if write is not None else None), unmapped


def callback_decision(app: dash.Dash, body: Any) -> tuple[Decision, dict[str, Any] | None]:
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return Decision(False, 400, "malformed"), None
    entry = app.callback_map.get(body["output"])
    if entry is None:
        return Decision(False, 400, "unknown callback"), None
    read, write, unmapped = callback_roles(entry)
    if unmapped:
        logger.warning("callback %s has ids no page owns: %s", body["output"][:200], unmapped)
    decision = decide(read)
    if decision.allow and write is not None:
        decision = decide(write)
    return decision, entry


def route_roles(path: str) -> Roles | None:
    """Roles of a Flask route by its longest matching rule ("/snapshots" covers
    "/snapshots/x.jpg"); None when no rule matches."""
    for prefix, roles in sorted(ROUTE_RULES.items(), key=lambda kv: -len(kv[0])):
        if path == prefix or path.startswith(prefix + "/"):
            return roles
    return None


def _canonical(path: str) -> bool:
    if "\\" in path or "\x00" in path or "//" in path:
        return False
    return not any(seg in (".", "..") for seg in path.split("/"))


def _deny(decision: Decision, *, page: bool) -> Response:
    if decision.status == 401 and page:
        target = request.path + (
            "?" + request.query_string.decode("latin-1") if request.query_string else ""
        )
        return redirect(f"{LOGIN_PATH}?next={quote(safe_next(target))}")
    messages = {401: "login required", 403: "forbidden", 400: "bad request", 404: "not found"}
    if request.path.startswith("/open311"):  # Open311 clients read its own error list
        from dashboard.input_limits import error_response

        return error_response(decision.status, "not_found", messages.get(decision.status, ""))
    resp = jsonify(error=messages.get(decision.status, "forbidden"))
    resp.status_code = decision.status
    return resp


# --------------------------------------------------------------------------------------------
# layouts the guard serves instead of a page
def forbidden_layout(**_kwargs: Any) -> dbc.Container:
    return dbc.Container(
        dbc.Row(
            dbc.Col(
                [
                    html.I(className="bi bi-shield-lock display-1 text-danger"),
                    html.H1(t("auth.forbidden.title"), className="mt-3 h2"),
                    html.P(t("auth.forbidden.body"), className="lead text-secondary"),
                    dbc.Button(t("auth.forbidden.home"), href=home_path(), color="primary"),
                ],
                md=8,
                lg=6,
                className="text-center py-5",
            ),
            justify="center",
        ),
        className="py-5",
        id="forbidden-page",
    )


def _login_redirect_layout() -> html.Div:
    pathname = "/"
    with contextlib.suppress(Exception):  # outside a callback: back to the start page
        pathname = dash.callback_context.inputs.get("_pages_location.pathname") or "/"
    return html.Div(
        [
            dcc.Location(
                id="login-redirect",
                href=f"{LOGIN_PATH}?next={quote(safe_next(pathname))}",
                refresh=True,
            ),
            html.P(t("auth.redirecting"), className="text-secondary p-4"),
        ]
    )


def _guard_page_layouts() -> None:
    """Wrap every registered page's layout so the router renders it only for allowed roles."""
    for page in dash.page_registry.values():
        layout = page.get("layout")
        if getattr(layout, "_pantau_guarded", False):
            continue

        def guarded(_page=page, _layout=layout, **kwargs: Any):
            decision = decide(page_roles(_page))
            if decision.status == 401:
                return _login_redirect_layout()
            if not decision.allow:
                audit_event(AuditAction.ACCESS_DENIED, _page.get("path"), kind="page")
                return forbidden_layout()
            if "code" in kwargs and str(_page.get("path_template") or "").startswith("/camera/"):
                note_camera_view(str(kwargs["code"]), "page")
            return _layout(**kwargs) if callable(_layout) else _layout

        guarded._pantau_guarded = True  # type: ignore[attr-defined]
        page["layout"] = guarded


# --------------------------------------------------------------------------------------------
# audit helpers for views and exports
_view_lock = threading.Lock()
_last_view: dict[tuple[str, str], float] = {}


def note_camera_view(code: str, via: str) -> None:
    """Record that the current user looked at camera ``code`` (non-public cameras only,
    at most once per user and camera every few minutes)."""
    if not current_user.is_authenticated or not code:
        return
    key = (current_user.username, code)
    now = time.monotonic()
    with _view_lock:
        if now - _last_view.get(key, -1e9) < CAMERA_VIEW_THROTTLE_S:
            return
        if len(_last_view) > 50000:
            _last_view.clear()
        _last_view[key] = now
    from sqlalchemy import select

    with context.db().session() as s:
        public = s.scalar(select(Camera.is_public).where(Camera.code == code[:64]))
    if public is None or public:
        return
    audit_event(AuditAction.VIEW_CAMERA, code, via=via)


_FILENAME_RE = re.compile(rb'"filename"\s*:\s*"([^"]{0,200})"')


def _audit_after(resp: Response) -> Response:
    if resp.status_code != 200:
        return resp
    path = request.path
    entry = g.get("pantau_callback")
    disposition = resp.headers.get("Content-Disposition") or ""
    match = SNAPSHOT_RE.match(path)
    if entry is None and not match and "attachment" not in disposition.lower():
        return resp
    if not current_user.is_authenticated:
        return resp
    if entry is not None:
        ids = [_id_key(c) or "" for c in _callback_ids(entry)[:8]]
        outputs = entry.get("output")
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        out_ids = [_id_key(getattr(o, "component_id", None)) or "" for o in outputs]
        if any("download" in i.lower() for i in out_ids):
            found = _FILENAME_RE.search(resp.get_data()[:4096]) if not resp.is_streamed else None
            audit_event(
                AuditAction.EXPORT,
                ",".join(i for i in out_ids if "download" in i.lower())[:200],
                filename=found.group(1).decode("utf-8", "replace") if found else None,
                ids=ids,
            )
        return resp
    if "attachment" in disposition.lower():
        audit_event(AuditAction.EXPORT, path, disposition=disposition[:200])
    if match:
        note_camera_view(match.group(1), "snapshot")
    return resp


def _security_headers(resp: Response) -> Response:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault(
        "Content-Security-Policy",
        "frame-ancestors 'self'; object-src 'none'; base-uri 'self'; form-action 'self'",
    )
    if not request.path.startswith(("/assets", "/_dash-component-suites", "/api/public")) and (
        current_user.is_authenticated
    ):
        resp.headers["Cache-Control"] = "no-store"
    return resp


# --------------------------------------------------------------------------------------------
# the guard
def make_guard(app: dash.Dash) -> Callable[[], Response | None]:
    prefix = app.config.routes_pathname_prefix
    page_endpoints = {prefix, prefix + "<path:path>"}
    callback_endpoint = prefix + "_dash-update-component"

    def guard() -> Response | None:
        path = request.path
        if not _canonical(path):
            return _deny(Decision(False, 404, "path"), page=False)
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not path.startswith(
            ORIGIN_EXEMPT
        ):
            origin = request.headers.get("Origin")
            if origin and urlparse(origin).netloc != request.host:
                logger.warning("cross-origin %s %s from %s refused", request.method, path, origin)
                return _deny(Decision(False, 403, "origin"), page=False)
        endpoint = request.endpoint
        if endpoint is None:  # no route: Flask answers 404/405 itself
            return None
        if endpoint == callback_endpoint:
            if request.content_length and request.content_length > (
                current_app.config.get("MAX_CONTENT_LENGTH") or 1 << 62
            ):
                return None  # Flask's 413 when Dash reads the body
            decision, entry = callback_decision(app, request.get_json(silent=True))
            if not decision.allow:
                if decision.status == 403:
                    audit_event(AuditAction.ACCESS_DENIED, "callback", output=str(
                        (request.get_json(silent=True) or {}).get("output", ""))[:200])  # fmt: skip
                return _deny(decision, page=False)
            g.pantau_callback = entry
            return None
        if endpoint in page_endpoints:
            if request.method not in ("GET", "HEAD"):
                return None
            page = page_for_path(path, app)
            if not page:  # Dash shows the 404 page, unless a route rule covers the path
                roles = route_roles(path)
                decision = ALLOW if roles is None else decide(roles)
                return None if decision.allow else _deny(decision, page=False)
            decision = decide(page_roles(page))
            if decision.allow:
                csrf_token()
                return None
            if decision.status == 403 and path == "/" and home_path() != "/":
                return redirect(home_path())  # OPD staff have their own start page
            if decision.status == 403:
                csrf_token()
                body = app.index()
                return Response(body, status=403, mimetype="text/html")
            return _deny(decision, page=True)
        roles = route_roles(path)
        if roles is None:
            logger.warning("route %s (%s) has no access rule: admins only", path, endpoint)
            roles = (ADMIN,)
        decision = decide(roles)
        if not decision.allow:
            return _deny(decision, page=False)
        own_only = current_role() == OPD_ROLE and path.startswith(PHOTO_ROUTE + "/")
        if own_only and not _own_photo(path[len(PHOTO_ROUTE) + 1 :]):
            return _deny(Decision(False, 404, "not theirs"), page=False)
        return None

    return guard


def _own_photo(name: str) -> bool:
    """Whether the photo ``name`` belongs to a report the current OPD user may see (another
    OPD's photo answers 404, like a missing file)."""
    from sqlalchemy import select

    from store.complaints import opd_can_see
    from store.models import Complaint

    opd_id = current_opd_id()
    if opd_id is None:
        return False
    with context.db().session() as s:  # the OPD's reports first (indexed), then the photo
        c = s.scalar(
            select(Complaint)
            .where(Complaint.opd_id == opd_id, Complaint.photo_path == name[:300])
            .limit(1)
        )
        return opd_can_see(c, opd_id)


def init_auth(app: dash.Dash) -> None:
    """Install sign-in, session settings, the guard and audit hooks on ``app``."""
    server = app.server
    cfg = server.config["PANTAU_SETTINGS"]
    server.config.update(
        SESSION_COOKIE_NAME="pantau_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(cfg.secure_cookies),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=bool(cfg.secure_cookies),
    )
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.anonymous_user = AnonymousUser
    manager.user_loader(_load_user)
    manager.init_app(server)
    server.extensions["pantau_ip_throttle"] = _IpThrottle()
    server.register_blueprint(bp)
    server.before_request(make_guard(app))
    server.after_request(_audit_after)
    server.after_request(_security_headers)
    _guard_page_layouts()
    _warn_without_accounts(server.config["PANTAU_DB"])

    @server.before_request
    def _wrap_late_pages() -> None:  # pages registered after create_app (tests, plugins)
        _guard_page_layouts()


def _warn_without_accounts(db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from store.models import User

    try:
        with db.session() as s:
            count = s.scalar(select(func.count()).select_from(User)) or 0
    except Exception:  # pragma: no cover - the shell still starts
        logger.exception("could not count staff accounts")
        return
    if not count:
        logger.warning(
            "no staff accounts yet: only public pages are reachable. Create the first admin "
            "with `pantau users create-admin NAME`"
        )


# --------------------------------------------------------------------------------------------
# navigation helpers for the shell
def nav_visible(page: dict[str, Any]) -> bool:
    """Whether the current user may open ``page`` (the shell hides links they may not)."""
    return _roles_allow(page_roles(page), current_role())


def user_menu(lang: str | None = None) -> Any:
    """The navbar's right end: sign-in link for the public, name + role + sign-out for staff."""
    if not current_user.is_authenticated:
        return dbc.NavItem(
            dbc.NavLink(
                [html.I(className="bi bi-box-arrow-in-right me-1"), t("app.login", lang)],
                href=LOGIN_PATH,
                id="user-menu-login",
            )
        )
    return dbc.NavItem(
        html.Form(
            [
                dcc.Input(type="hidden", name=CSRF_FIELD, value=csrf_token(), id="user-menu-csrf"),
                html.Span(
                    [
                        html.I(className="bi bi-person-circle me-1"),
                        html.Span(current_user.display_name, id="user-menu-name"),
                        html.Span(
                            t(f"auth.role.{current_user.role}", lang),
                            className="badge text-bg-secondary ms-2",
                            id="user-menu-role",
                        ),
                    ],
                    className="navbar-text text-white-50 me-2 text-truncate",
                    style={"maxWidth": "16rem"},
                ),
                html.Button(
                    [html.I(className="bi bi-box-arrow-right me-1"), t("app.logout", lang)],
                    type="submit",
                    className="btn btn-sm btn-outline-light",
                    id="user-menu-logout",
                ),
            ],
            method="POST",
            action="/auth/logout",
            className="d-flex align-items-center ms-lg-2",
            id="user-menu",
        )
    )
