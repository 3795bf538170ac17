"""Sign-in page (``/masuk``): a plain HTML form posted to ``/auth/login`` with a CSRF token.

The form is a real ``<form method="post">`` (works without the Dash callback machinery, and the
password never passes through a Dash store). Error messages never say whether a name exists.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, context
from dashboard.i18n import current_lang, register, t

dash.register_page(
    __name__,
    path="/masuk",
    title="Masuk — Pantau",
    roles="public",
    id_prefix="login",
)

register(
    {
        "login.heading": {"id": "Masuk ke Ruang Situasi", "en": "Sign in to the Situation Room"},
        "login.sub": {
            "id": "Khusus petugas command center. Warga tidak perlu masuk.",
            "en": "For command center staff only. Citizens need no account.",
        },
        "login.username": {"id": "Nama pengguna", "en": "Username"},
        "login.password": {"id": "Kata sandi", "en": "Password"},
        "login.submit": {"id": "Masuk", "en": "Sign in"},
        "login.err.invalid": {
            "id": "Nama pengguna atau kata sandi salah.",
            "en": "Wrong username or password.",
        },
        "login.err.locked": {
            "id": "Terlalu banyak percobaan gagal. Akun dikunci sementara selama {minutes} menit; "
            "coba lagi nanti atau hubungi admin.",
            "en": "Too many failed attempts. The account is locked for {minutes} minutes; try "
            "again later or ask the admin.",
        },
        "login.err.csrf": {
            "id": "Sesi formulir kedaluwarsa. Silakan coba lagi.",
            "en": "The form expired. Please try again.",
        },
        "login.out": {"id": "Anda telah keluar.", "en": "You have signed out."},
        "login.public": {"id": "Untuk warga:", "en": "For citizens:"},
        "login.public_cctv": {"id": "CCTV publik", "en": "Public CCTV"},
        "login.public_report": {"id": "Lapor keluhan", "en": "File a complaint"},
        "login.secure": {
            "id": "Koneksi dan aktivitas masuk dicatat dalam log audit.",
            "en": "Sign-ins and activity are recorded in the audit log.",
        },
    }
)

MESSAGES = {
    "invalid": ("login.err.invalid", "danger"),
    "locked": ("login.err.locked", "warning"),
    "csrf": ("login.err.csrf", "warning"),
    "out": ("login.out", "success"),
}


def layout(e: str | None = None, next: str | None = None, **_kwargs) -> html.Div:  # noqa: A002
    cfg = context.settings()
    lang = current_lang()
    other = "en" if lang == "id" else "id"
    alert = None
    if e in MESSAGES:
        key, color = MESSAGES[e]
        alert = dbc.Alert(
            t(key, minutes=cfg.login_lockout_minutes),
            color=color,
            id="login-alert",
            className="py-2",
        )
    form = html.Form(
        [
            dcc.Input(
                type="hidden", name=auth.CSRF_FIELD, value=auth.csrf_token(), id="login-csrf"
            ),
            dcc.Input(type="hidden", name="next", value=auth.safe_next(next), id="login-next"),
            dbc.Label(t("login.username"), html_for="login-username"),
            dbc.Input(
                id="login-username",
                name="username",
                type="text",
                autocomplete="username",
                required=True,
                maxLength=64,
                autoFocus=True,
                className="mb-3",
            ),
            dbc.Label(t("login.password"), html_for="login-password"),
            dbc.Input(
                id="login-password",
                name="password",
                type="password",
                autocomplete="current-password",
                required=True,
                maxLength=256,
                className="mb-4",
            ),
            dbc.Button(
                [html.I(className="bi bi-box-arrow-in-right me-2"), t("login.submit")],
                type="submit",
                color="primary",
                size="lg",
                className="w-100",
                id="login-submit",
            ),
        ],
        method="POST",
        action="/auth/login",
        id="login-form",
    )
    card = dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Img(src=dash.get_asset_url("logo.svg"), height="48px"),
                        html.Div(
                            [
                                html.Div("Pantau", className="fw-bold fs-4 lh-1"),
                                html.Div(
                                    f"{cfg.command_center_name} · {cfg.city_name}",
                                    className="text-secondary small",
                                ),
                            ],
                            className="ms-3",
                        ),
                        html.A(
                            [html.I(className="bi bi-translate me-1"), other.upper()],
                            href=f"/lang/{other}?next=/masuk",
                            className="btn btn-sm btn-outline-secondary ms-auto",
                            id="login-lang",
                        ),
                    ],
                    className="d-flex align-items-center mb-4",
                ),
                html.H1(t("login.heading"), className="h4 mb-1"),
                html.P(t("login.sub"), className="text-secondary mb-4"),
                alert,
                form,
                html.Hr(className="my-4"),
                html.Div(
                    [
                        html.Span(t("login.public"), className="text-secondary me-2"),
                        html.A(
                            [html.I(className="bi bi-camera-video me-1"), t("login.public_cctv")],
                            href="/cctv",
                            className="me-3",
                            id="login-to-cctv",
                        ),
                        html.A(
                            [html.I(className="bi bi-megaphone me-1"), t("login.public_report")],
                            href="/lapor",
                            id="login-to-lapor",
                        ),
                    ],
                    className="small",
                ),
                html.P(
                    [html.I(className="bi bi-shield-check me-1"), t("login.secure")],
                    className="text-secondary small mt-3 mb-0",
                ),
            ],
            className="p-4 p-md-5",
        ),
        className="shadow-lg border-0 login-card",
    )
    return html.Div(
        dbc.Container(
            dbc.Row(dbc.Col(card, xs=12, sm=10, md=7, lg=5, xl=4), justify="center"),
            className="py-5",
        ),
        className="login-page",
        id="login-page",
        lang=lang,
    )
