"""Callbacks of the user-management page (``/admin/pengguna``). Every action re-checks the
admin role (the guard already did), is written to the audit log, and refuses to remove the last
active admin."""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from sqlalchemy import select

from dashboard import auth, context
from dashboard.i18n import local_time, t
from store import users
from store.models import Opd
from store.users import ROLES, UserError, is_locked

logger = logging.getLogger(__name__)


def role_options() -> list[dict[str, str]]:
    return [{"label": t(f"auth.role.{r}"), "value": r} for r in ROLES]


def opd_options() -> list[dict[str, str]]:
    """OPD choices for the OPD role (the empty value: no OPD, for every other role)."""
    from dashboard.queries.complaints import opd_options as opds

    with context.db().session() as s:
        choices = [{"label": o["label"], "value": str(o["value"])} for o in opds(s)]
    return [{"label": t("users.no_opd"), "value": "-"}, *choices]


def _opd_id(value: str | None) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def users_table() -> dbc.Table:
    tz = context.settings().timezone
    with context.db().session() as s:
        rows = users.list_users(s)
        opd_names = {o.id: o.short_name for o in s.scalars(select(Opd))}
        body = []
        for u in rows:
            status = [
                dbc.Badge(
                    t("users.active") if u.is_active else t("users.inactive"),
                    color="success" if u.is_active else "secondary",
                    className="me-1",
                )
            ]
            if is_locked(u):
                status.append(dbc.Badge(t("users.locked"), color="warning"))
            body.append(
                html.Tr(
                    [
                        html.Td(html.Code(u.username)),
                        html.Td(u.full_name or "—"),
                        html.Td(t(f"auth.role.{u.role}")),
                        html.Td(opd_names.get(u.opd_id, "—") if u.opd_id else "—"),
                        html.Td(status),
                        html.Td(local_time(u.last_login_at, tz), className="text-nowrap"),
                    ]
                )
            )
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(k))
                for k in (
                    "users.col.username",
                    "users.col.name",
                    "users.col.role",
                    "users.col.opd",
                    "users.col.status",
                    "users.col.last",
                )
            ]
        )
    )
    return dbc.Table([head, html.Tbody(body)], hover=True, responsive=True, className="mb-0")


def user_options() -> list[dict[str, str]]:
    with context.db().session() as s:
        return [
            {
                "label": f"{u.username} — {u.full_name}" if u.full_name else u.username,
                "value": u.username,
            }
            for u in users.list_users(s)
        ]


def _temp_password_alert(message: str, password: str) -> dbc.Alert:
    return dbc.Alert(
        [message, html.Br(), t("users.temp"), html.Code(password, id="admin-users-temp")],
        color="success",
        dismissable=True,
    )


def act(
    _create: int,
    _apply_role: int,
    _reset: int,
    _unlock: int,
    _toggle: int,
    new_username: str | None,
    new_name: str | None,
    new_role: str | None,
    new_password: str | None,
    picked: str | None,
    role: str | None,
    new_opd: str | None = None,
    opd: str | None = None,
):
    """Run the clicked action; returns (feedback, table, user options, password field)."""
    auth.require_role("admin")
    actor = auth.current_username()
    trigger = ctx.triggered_id
    feedback = None
    try:
        with context.db().session() as s:
            if trigger == "admin-users-create":
                password = new_password or users.random_password()
                user = users.create_user(
                    s,
                    new_username or "",
                    password,
                    new_role or "operator",
                    full_name=new_name or "",
                    opd_id=_opd_id(new_opd),
                    actor=actor,
                )
                msg = t("users.created", name=user.username)
                feedback = (
                    dbc.Alert(msg, color="success", dismissable=True)
                    if new_password
                    else _temp_password_alert(msg, password)
                )
            else:
                user = users.get_by_username(s, picked or "")
                if user is None:
                    return (
                        dbc.Alert(t("users.need_pick"), color="warning"),
                        no_update,
                        no_update,
                        "",
                    )
                if trigger == "admin-users-apply-role":
                    users.set_role(s, user, role or "", opd_id=_opd_id(opd), actor=actor)
                    feedback = dbc.Alert(
                        t("users.done", what=t("users.set_role"), name=user.username),
                        color="success",
                        dismissable=True,
                    )
                elif trigger == "admin-users-reset":
                    password = users.random_password()
                    users.set_password(s, user, password, actor=actor)
                    feedback = _temp_password_alert(
                        t("users.done", what=t("users.reset"), name=user.username), password
                    )
                elif trigger == "admin-users-unlock":
                    users.unlock(s, user, actor=actor)
                    feedback = dbc.Alert(
                        t("users.done", what=t("users.unlock"), name=user.username),
                        color="success",
                        dismissable=True,
                    )
                elif trigger == "admin-users-toggle":
                    users.set_active(s, user, not user.is_active, actor=actor)
                    feedback = dbc.Alert(
                        t("users.done", what=t("users.toggle"), name=user.username),
                        color="success",
                        dismissable=True,
                    )
                else:
                    return no_update, no_update, no_update, no_update
    except UserError as exc:
        return dbc.Alert(str(exc), color="danger", dismissable=True), no_update, no_update, ""
    return feedback, users_table(), user_options(), ""


def register(app: dash.Dash) -> None:
    app.callback(
        Output("admin-users-feedback", "children"),
        Output("admin-users-table", "children"),
        Output("admin-users-pick", "options"),
        Output("admin-users-new-password", "value"),
        Input("admin-users-create", "n_clicks"),
        Input("admin-users-apply-role", "n_clicks"),
        Input("admin-users-reset", "n_clicks"),
        Input("admin-users-unlock", "n_clicks"),
        Input("admin-users-toggle", "n_clicks"),
        State("admin-users-new-username", "value"),
        State("admin-users-new-name", "value"),
        State("admin-users-new-role", "value"),
        State("admin-users-new-password", "value"),
        State("admin-users-pick", "value"),
        State("admin-users-role", "value"),
        State("admin-users-new-opd", "value"),
        State("admin-users-opd", "value"),
        prevent_initial_call=True,
    )(act)
