"""The Pantau Dash application.

``create_app(settings=None, database=None)`` builds a Dash app (Dash Pages from
``dashboard/pages``, callbacks registered from ``dashboard/callbacks``, Flask routes beside it).
Production servers import the WSGI callable ``dashboard.app:server``, e.g.::

    gunicorn -w 4 -b 0.0.0.0:8050 'dashboard.app:server'
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, context
from dashboard.i18n import current_lang, t
from pantau.settings import ASSETS_DIR, Settings, get_settings
from store.db import Database

logger = logging.getLogger(__name__)

PAGES_DIR = Path(__file__).resolve().parent / "pages"


#: Navigation menus: pages registered with ``nav_group=<key>`` sit in one dropdown (icon, label
#: key). "public" holds the public pages (complaint form, public CCTV) for a signed-in user, who
#: has the staff pages beside them; a visitor sees those two as plain links.
NAV_GROUPS = {"public": ("bi-globe2", "nav.group.public"), "admin": ("bi-gear", "nav.admin")}


def _nav_links(lang: str) -> list:
    """Links for the registered pages that ask to be in the navigation, in their order; the
    public pages (for staff) and the administration pages sit in one menu each, the admin one
    at the end, so the bar stays one line at 1440 px in both languages."""
    pages = [
        page
        for page in sorted(
            dash.page_registry.values(), key=lambda p: 99 if p.get("order") is None else p["order"]
        )
        if page.get("nav_key") and auth.nav_visible(page)
    ]
    staff = any(p.get("nav_group") != "public" for p in pages)
    items: list = []
    menus: dict[str, list] = {}
    for page in pages:
        label = [
            html.I(className=f"bi {page.get('icon', 'bi-circle')} me-1"),
            t(page["nav_key"], lang),
        ]
        group = page.get("nav_group")
        if group in NAV_GROUPS and (group != "public" or staff):
            if group not in menus:
                menus[group] = []
                if group != "admin":  # the menu stands where its first page would
                    items.append(group)
            menus[group].append(
                dbc.DropdownMenuItem(
                    label, href=page["relative_path"], class_name=f"pantau-nav-{group}-item"
                )
            )
            continue
        items.append(
            dbc.NavItem(
                dbc.NavLink(label, href=page["relative_path"], active="exact", className="px-2")
            )
        )
    if "admin" in menus:
        items.append("admin")

    def menu(group: str):
        icon, key = NAV_GROUPS[group]
        return dbc.DropdownMenu(
            menus[group],
            label=[html.I(className=f"bi {icon} me-1"), t(key, lang)],
            nav=True,
            in_navbar=True,
            align_end=True,
            id=f"pantau-nav-{group}",
            toggle_class_name="px-2",
            menu_variant="dark",
        )

    return [menu(item) if isinstance(item, str) else item for item in items]


def _has_demo_data() -> bool:
    from sqlalchemy import select

    from store.models import Camera

    try:
        with context.db().session() as s:
            return bool(s.scalar(select(Camera.id).where(Camera.is_demo.is_(True)).limit(1)))
    except Exception:  # pragma: no cover - shell must render even if the DB is down
        logger.exception("could not check for demo data")
        return False


def _kiosk_bar(lang: str, demo) -> html.Div:
    """Header of the wall screen (?kiosk=1, see assets/pantau_map.js): hidden otherwise. It
    lists the pages to rotate through (nav pages registered with ``kiosk=True`` that the viewer
    may open) and the period."""
    cfg = context.settings()
    pages = [
        p["relative_path"]
        for p in sorted(dash.page_registry.values(), key=lambda p: p.get("order") or 0)
        if p.get("nav_key") and p.get("kiosk") and auth.nav_visible(p)  # pages opt in
    ]
    tz_label = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
    return html.Div(
        [
            html.Img(src=dash.get_asset_url("logo.svg"), height="40px"),
            html.Span("Pantau", className="fw-bold fs-4"),
            html.Span(
                f"{cfg.command_center_name} · {cfg.city_name}", className="text-white-50 fs-5"
            ),
            html.Span(t("app.demo_badge", lang), className="badge pantau-demo-badge")
            if demo is not None
            else None,
            html.Span(
                "",
                id="shell-kiosk-clock",
                className="kiosk-clock",
                **{"data-tz": cfg.timezone, "data-tzlabel": tz_label.get(cfg.timezone, "")},
            ),
        ],
        id="shell-kiosk-bar",
        **{"data-pages": ",".join(pages), "data-rotate": str(cfg.kiosk_rotate_seconds)},
    )


def serve_layout() -> html.Div:
    """The page shell, rendered per request (language and demo badge come from the request)."""
    lang = current_lang()
    cfg = context.settings()
    other = "en" if lang == "id" else "id"
    demo = (
        html.Span(
            t("app.demo_badge", lang),
            className="badge text-bg-warning ms-2 pantau-demo-badge",
            id="demo-badge",
            title=t("app.demo_hint", lang),
        )
        if _has_demo_data()
        else None
    )
    navbar = dbc.Navbar(
        dbc.Container(
            [
                html.A(
                    [
                        html.Img(
                            src=dash.get_asset_url("logo.svg"), height="32px", className="me-2"
                        ),
                        html.Span("Pantau", className="fw-bold fs-5 me-2"),
                        html.Span(cfg.city_name, className="text-white-50 d-none d-md-inline"),
                        demo,
                    ],
                    href="/",
                    className="navbar-brand d-flex align-items-center text-decoration-none",
                ),
                dbc.NavbarToggler(id="navbar-toggler"),
                dbc.Collapse(
                    dbc.Nav(
                        [
                            *_nav_links(lang),
                            dbc.NavItem(
                                html.A(
                                    [html.I(className="bi bi-translate me-1"), other.upper()],
                                    href=f"/lang/{other}",
                                    id="lang-toggle",
                                    className="nav-link",
                                    title=t("app.language", lang),
                                )
                            ),
                            auth.user_menu(lang),
                        ],
                        className="ms-auto",
                        navbar=True,
                    ),
                    id="navbar-collapse",
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="pantau-navbar py-1",
        id="pantau-navbar",
    )
    return html.Div(
        [
            dcc.Location(id="url"),
            _kiosk_bar(lang, demo),
            navbar,
            html.Main(dash.page_container, className="pantau-main"),
        ],
        id="pantau-shell",
        lang=lang,
    )


#: Title strings of pages that have no navigation key (``nav_key``) of their own.
TITLE_KEYS = {
    "/peringatan/<alert_id>": "nav.alerts",
    "/camera/<code>": "nav.cameras",
    "/pengaduan/antrian": "queue.title",
    "/403": "auth.forbidden.title",
    "/lapor/status": "laporstatus.title",
    "/masuk": "app.login",
    "/waktu-respons": "response.title",
}


def _html_lang(app: dash.Dash) -> None:
    """``<html lang="id|en">`` on every page: screen readers read the right language and the
    browser scripts (date pickers, charts, map buttons) know it before Dash renders."""
    render = app.interpolate_index

    def interpolate_index(**kwargs: str) -> str:
        return render(**kwargs).replace("<html>", f'<html lang="{current_lang()}">', 1)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


def localize_page_titles() -> None:
    """Browser tab titles in the request's language: each page's static title becomes a
    function of its ``title_key`` / ``nav_key`` (or :data:`TITLE_KEYS`). Pages without a key
    keep their title."""
    for page in dash.page_registry.values():
        if callable(page.get("title")):
            continue
        path = page.get("path_template") or page.get("path")
        key = page.get("title_key") or page.get("nav_key") or TITLE_KEYS.get(path)
        if not key:
            continue

        def title(_key: str = key, **_path_vars: str) -> str:
            # never the path's own text: Dash puts titles into meta tags unescaped
            return f"{t(_key)} — Pantau"

        page["title"] = title


def create_app(settings: Settings | None = None, database: Database | None = None) -> dash.Dash:
    """Build the Dash app for the given settings (default: from the environment)."""
    settings = settings or get_settings()
    settings.ensure_dirs()
    database = database or Database(settings.sqlalchemy_url)
    database.migrate()

    app = dash.Dash(
        # the package name, so Dash imports pages as dashboard.pages.X: the same modules tests
        # and callbacks import (as "pages.X" they would register every path twice)
        "dashboard",
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR),
        title="Pantau",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        # vendored CSS is linked explicitly so it loads before Pantau's own stylesheets
        external_stylesheets=[
            "/assets/vendor/bootstrap/bootstrap.min.css",
            "/assets/vendor/bootstrap-icons/bootstrap-icons.min.css",
        ],
        # Dash matches this against file *names* (not paths): "vendor/.*" never matched, so
        # Bootstrap was linked a second time after pantau.css and won over it
        assets_ignore=r"^bootstrap(-icons)?\.min\.css$",
        meta_tags=[
            {"name": "viewport", "content": "width=device-width, initial-scale=1"},
            {"name": "theme-color", "content": "#0b1f33"},
        ],
    )
    _html_lang(app)
    server = app.server
    server.config["PANTAU_SETTINGS"] = settings
    from store import outbox

    outbox.use_settings(settings)  # alert changes made here build their messages with these
    server.config["PANTAU_DB"] = database
    server.config["SECRET_KEY"] = settings.resolved_secret_key()
    # photos reach Dash callbacks base64-encoded (4/3 of their size)
    server.config["MAX_CONTENT_LENGTH"] = settings.upload_max_bytes * 4 // 3 + 64 * 1024

    from dashboard.routes import bp

    server.register_blueprint(bp)
    from dashboard.api import intake, keyauth, open311, sensors  # noqa: F401  (keyauth: /api/v1)

    server.register_blueprint(intake.bp)
    server.register_blueprint(open311.bp)
    server.register_blueprint(sensors.bp)
    from dashboard.api import indicators as indicators_api

    server.register_blueprint(indicators_api.bp)
    from dashboard.api import incidents as incidents_api

    server.register_blueprint(incidents_api.bp)
    from dashboard.callbacks import register_all

    register_all(app)
    localize_page_titles()
    app.layout = serve_layout
    from dashboard.api import dinding, public, wall

    server.register_blueprint(public.bp)
    server.register_blueprint(wall.bp)
    server.register_blueprint(dinding.bp)  # the staff video wall's live tiles
    with server.app_context():
        public.warm_snapshots()  # /cctv's thumbnails blurred before the first visitor
    from dashboard import cache
    from dashboard.api import geo

    cache.init_app(server)
    server.register_blueprint(geo.bp)
    from dashboard.api import evidence

    server.register_blueprint(evidence.bp)
    from dashboard.api import evidence_items

    server.register_blueprint(evidence_items.bp)
    from dashboard.api import metrics as metrics_api

    server.register_blueprint(metrics_api.bp)
    from dashboard.api import apidocs, openapi

    server.register_blueprint(openapi.bp)
    server.register_blueprint(apidocs.bp)
    from dashboard import callback_boundary, input_limits, wall_theme

    wall_theme.init_app(server)  # charts of ?kiosk=1 pages: dark, big type, sized by CSS

    input_limits.init_app(server)  # JSON size/depth before anyone (the guard too) parses
    callback_boundary.init_app(server)  # malformed inputs: 400, faults: logged 500, as JSON
    auth.init_auth(app)  # after every page and route exists: the guard covers them all
    server.before_request(input_limits.api_path_not_a_page)  # after the guard: JSON, no shell
    logger.info("Pantau dashboard ready (database %s)", database.engine.url.render_as_string(True))
    return app


def __getattr__(name: str):
    """``dashboard.app:server`` for WSGI servers, built on first access."""
    if name == "server":
        global server
        server = create_app().server
        return server
    raise AttributeError(name)
