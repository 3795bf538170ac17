"""User management (``/admin/pengguna``, admins only): create accounts, change roles, reset
passwords, unlock, deactivate. Temporary passwords are shown once and never stored in clear."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard.callbacks.admin_users import opd_options, role_options, user_options, users_table
from dashboard.components import dropdown
from dashboard.i18n import register, t

dash.register_page(
    __name__,
    path="/admin/pengguna",
    title="Pengguna — Pantau",
    order=95,
    nav_key="nav.users",
    nav_group="admin",
    icon="bi-people",
    roles=("admin",),
    id_prefix="admin-users",
    write_ids=("admin-users",),
    write_roles=("admin",),
)

register(
    {
        "nav.users": {"id": "Pengguna", "en": "Users"},
        "users.title": {"id": "Pengguna & Peran", "en": "Users & Roles"},
        "users.lead": {
            "id": "Pimpinan melihat semua tanpa mengubah; operator menangani peringatan dan "
            "pengaduan; analis melihat tren dan mengekspor data; admin mengelola kamera, pengguna "
            "dan pengaturan; OPD hanya menindaklanjuti pengaduan yang diteruskan ke OPD-nya.",
            "en": "Leadership see everything and change nothing; operators handle alerts and "
            "complaints; analysts read trends and export; admins manage cameras, users and "
            "settings; agency (OPD) staff only follow up the complaints sent to their OPD.",
        },
        "users.col.username": {"id": "Nama pengguna", "en": "Username"},
        "users.col.name": {"id": "Nama lengkap", "en": "Full name"},
        "users.col.role": {"id": "Peran", "en": "Role"},
        "users.col.opd": {"id": "OPD", "en": "Agency (OPD)"},
        "users.no_opd": {"id": "— tanpa OPD —", "en": "— no agency —"},
        "users.opd_hint": {
            "id": "OPD (wajib untuk peran OPD)",
            "en": "Agency (OPD; required for the OPD role)",
        },
        "users.col.status": {"id": "Status", "en": "Status"},
        "users.col.last": {"id": "Terakhir masuk", "en": "Last sign-in"},
        "users.active": {"id": "Aktif", "en": "Active"},
        "users.inactive": {"id": "Nonaktif", "en": "Inactive"},
        "users.locked": {"id": "Terkunci", "en": "Locked"},
        "users.new": {"id": "Pengguna baru", "en": "New user"},
        "users.password_opt": {
            "id": "Kata sandi (kosongkan untuk dibuatkan)",
            "en": "Password (leave empty to generate one)",
        },
        "users.create": {"id": "Buat pengguna", "en": "Create user"},
        "users.manage": {"id": "Kelola pengguna", "en": "Manage a user"},
        "users.pick": {"id": "Pilih pengguna…", "en": "Pick a user…"},
        "users.set_role": {"id": "Ubah peran", "en": "Change role"},
        "users.reset": {"id": "Atur ulang kata sandi", "en": "Reset password"},
        "users.toggle": {"id": "Aktifkan / nonaktifkan", "en": "Activate / deactivate"},
        "users.unlock": {"id": "Buka kunci", "en": "Unlock"},
        "users.created": {
            "id": "Pengguna {name} dibuat.",
            "en": "User {name} created.",
        },
        "users.temp": {
            "id": "Kata sandi sementara (tampil sekali, sampaikan secara langsung): ",
            "en": "Temporary password (shown once, hand it over in person): ",
        },
        "users.done": {"id": "Tersimpan: {what} untuk {name}.", "en": "Saved: {what} for {name}."},
        "users.need_pick": {"id": "Pilih pengguna dulu.", "en": "Pick a user first."},
    }
)


def layout(**_kwargs) -> dbc.Container:
    create_card = dbc.Card(
        [
            dbc.CardHeader([html.I(className="bi bi-person-plus me-2"), t("users.new")]),
            dbc.CardBody(
                [
                    dbc.Label(t("users.col.username"), html_for="admin-users-new-username"),
                    dbc.Input(id="admin-users-new-username", maxLength=64, className="mb-2"),
                    dbc.Label(t("users.col.name"), html_for="admin-users-new-name"),
                    dbc.Input(id="admin-users-new-name", maxLength=200, className="mb-2"),
                    dbc.Label(t("users.col.role"), html_for="admin-users-new-role"),
                    dbc.Select(
                        id="admin-users-new-role",
                        options=role_options(),
                        value="operator",
                        className="mb-2",
                    ),
                    dbc.Label(t("users.opd_hint"), html_for="admin-users-new-opd"),
                    dbc.Select(
                        id="admin-users-new-opd", options=opd_options(), value="-", className="mb-2"
                    ),
                    dbc.Label(t("users.password_opt"), html_for="admin-users-new-password"),
                    dbc.Input(
                        id="admin-users-new-password",
                        type="password",
                        autocomplete="new-password",
                        maxLength=256,
                        className="mb-3",
                    ),
                    dbc.Button(
                        t("users.create"), id="admin-users-create", color="primary", n_clicks=0
                    ),
                ]
            ),
        ],
        className="shadow-sm mb-3",
    )
    manage_card = dbc.Card(
        [
            dbc.CardHeader([html.I(className="bi bi-person-gear me-2"), t("users.manage")]),
            dbc.CardBody(
                [
                    dropdown(
                        id="admin-users-pick",
                        options=user_options(),
                        placeholder=t("users.pick"),
                        className="mb-2",
                    ),
                    dbc.InputGroup(
                        [
                            dbc.Select(
                                id="admin-users-role", options=role_options(), value="operator"
                            ),
                            dbc.Button(
                                t("users.set_role"),
                                id="admin-users-apply-role",
                                color="secondary",
                                n_clicks=0,
                            ),
                        ],
                        className="mb-1",
                    ),
                    dbc.Select(
                        id="admin-users-opd",
                        options=opd_options(),
                        value="-",
                        className="mb-2",
                        size="sm",
                    ),
                    html.Div(
                        [
                            dbc.Button(
                                [html.I(className="bi bi-key me-1"), t("users.reset")],
                                id="admin-users-reset",
                                color="warning",
                                outline=True,
                                n_clicks=0,
                                className="me-2 mb-2",
                            ),
                            dbc.Button(
                                [html.I(className="bi bi-unlock me-1"), t("users.unlock")],
                                id="admin-users-unlock",
                                color="secondary",
                                outline=True,
                                n_clicks=0,
                                className="me-2 mb-2",
                            ),
                            dbc.Button(
                                [html.I(className="bi bi-person-slash me-1"), t("users.toggle")],
                                id="admin-users-toggle",
                                color="danger",
                                outline=True,
                                n_clicks=0,
                                className="mb-2",
                            ),
                        ]
                    ),
                ]
            ),
        ],
        className="shadow-sm mb-3",
    )
    return dbc.Container(
        [
            html.H1(t("users.title"), className="h3 mt-3 mb-1"),
            html.P(t("users.lead"), className="text-secondary"),
            html.Div(id="admin-users-feedback"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(users_table(), id="admin-users-table", className="p-0"),
                            className="shadow-sm mb-3",
                        ),
                        lg=8,
                    ),
                    dbc.Col([create_card, manage_card], lg=4),
                ]
            ),
        ],
        fluid=True,
        id="admin-users-page",
    )
