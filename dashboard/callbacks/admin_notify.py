"""Callbacks of the notifications page (``/admin/notifikasi``): the tables, the channel form
(validated by :func:`ingestion.notify.channels.check_config`: allow-list, templates), "send a
test", and retrying dead letters. Every action re-checks the admin role and is audited."""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update

from dashboard import auth, context
from dashboard.i18n import fmt_number, local_time, t
from dashboard.queries import notify as q
from ingestion.notify.channels import ChannelConfigError, check_config, describe_target
from store import audit, outbox
from store.audit import AuditAction
from store.models import NotificationChannel
from store.notify_channels import ChannelError, delete_channel, save_channel

logger = logging.getLogger(__name__)

STATUS_COLOR = {
    "pending": "secondary",
    "delivering": "info",
    "delivered": "success",
    "dead": "danger",
}
TILES = (
    ("pending", "bi-hourglass-split"),
    ("delivering", "bi-send"),
    ("delivered", "bi-check2-circle"),
    ("dead", "bi-exclamation-octagon"),
)
PHONE_HIDDEN = "d-none d-md-table-cell"  # columns a 390 px phone leaves out
TARGET_KEY = {"webhook": "url", "mqtt": "topic", "email": "to", "http": "url_template"}


def tiles(counts: dict[str, int]) -> list[Any]:
    out = []
    for status, icon in TILES:
        n = counts.get(status, 0)
        state = "bad" if status == "dead" and n else ""
        out.append(
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(
                                [html.I(className=f"bi {icon} me-2"), t(f"notify.tile.{status}")],
                                className="pantau-eyebrow mb-1",
                            ),
                            html.Div(
                                fmt_number(n),
                                className="pantau-tile-value",
                                id=f"admin-notify-tile-{status}",
                            ),
                        ],
                        className="py-2 px-3",
                    ),
                    className=f"pantau-card pantau-tile h-100 {'is-' + state if state else ''}",
                ),
                xs=6,
                md=3,
            )
        )
    return out


def _route_text(routes: list[dict[str, Any]]) -> str:
    parts = []
    for r in routes:
        if not r["enabled"]:
            continue
        ev = ", ".join(t(f"notify.ev.{e}") if e in _EVENT_KEYS else e for e in r["events"])
        rule = r["rule"]
        if rule in _RULE_KEYS:
            rule = t("notify.rule." + rule)
        elif rule.startswith("rule:"):
            rule = t("notify.rule_named", name=rule[5:])
        parts.append(
            f"{rule} · ≥ {t('notify.sev.' + r['min_severity'])}" + (f" · {ev}" if ev else "")
        )
    return "; ".join(parts) or "—"


_EVENT_KEYS = {
    "alert.opened",
    "alert.escalated",
    "alert.deescalated",
    "alert.closed",
    "alert.status",
    "alert.assigned",
    "briefing.*",
}
_PHONE_HIDDEN_CHANNEL_COLS = {"notify.col.target", "notify.col.quiet"}
_PHONE_HIDDEN_MESSAGE_COLS = {"notify.col.channel", "notify.col.attempts"}
_RULE_KEYS = {
    "*",
    "flood_coverage",
    "crowd_density",
    "camera_offline",
    "sensor_level",
    "complaint_surge",
    "incident_cluster",
    "vehicle_dwell",
    "racing",
    "illegal_dumping",
}


def _channel_buttons(channel_id: int) -> list[Any]:
    return [
        dbc.Button(
            [html.I(className="bi bi-send me-1"), t("notify.test")],
            id={"type": "admin-notify-test", "index": channel_id},
            size="sm",
            color="primary",
            outline=True,
            n_clicks=0,
            className="me-1 py-0",
        ),
        dbc.Button(
            t("notify.edit"),
            id={"type": "admin-notify-edit", "index": channel_id},
            size="sm",
            color="secondary",
            outline=True,
            n_clicks=0,
            className="py-0",
        ),
    ]


def channels_table(rows: list[q.ChannelRow], tz: str, has_secret: bool) -> Any:
    if not rows:
        return html.Div(t("notify.none"), className="text-secondary small p-2")
    body = []
    for c in rows:
        badges = [dbc.Badge(t(f"notify.kind.{c.kind}"), color="light", text_color="dark")]
        if c.source == "env":
            badges.append(dbc.Badge(t("notify.env"), color="info", className="ms-1"))
        if not c.enabled:
            badges.append(dbc.Badge(t("notify.off"), color="secondary", className="ms-1"))
        if c.kind == "webhook" and not (c.config.get("secret") or has_secret):
            badges.append(dbc.Badge(t("notify.unsigned"), color="warning", className="ms-1"))
        last = "—"
        if c.last_status:
            last = [
                dbc.Badge(t(f"notify.st.{c.last_status}"), color=STATUS_COLOR[c.last_status]),
                html.Span(" " + local_time(c.last_at, tz), className="small"),
            ]
        if c.dead:
            last = [
                *last,
                dbc.Badge(t("notify.dead_n", n=c.dead), color="danger", className="ms-1"),
            ]
        last = html.Div(last)  # one block: phones show the cells as flex rows
        body.append(
            html.Tr(
                [
                    html.Td(
                        html.Div(  # one block: phones show the cells as flex rows
                            [
                                html.Div(c.name, className="fw-semibold"),
                                html.Div(badges),
                                html.Div(_channel_buttons(c.id), className="mt-1 text-nowrap"),
                            ]
                        )
                    ),
                    html.Td(
                        html.Code(describe_target(c.kind, c.config), className="small text-break"),
                        className=PHONE_HIDDEN,
                    ),
                    html.Td(_route_text(c.routes), className="small"),
                    html.Td(c.quiet or "—", className="small text-nowrap " + PHONE_HIDDEN),
                    html.Td(last),
                ]
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(k), className=PHONE_HIDDEN if k in _PHONE_HIDDEN_CHANNEL_COLS else None)
                for k in (
                    "notify.col.channel",
                    "notify.col.target",
                    "notify.col.route",
                    "notify.col.quiet",
                    "notify.col.last",
                )
            ]
        )
    )
    return dbc.Table(
        [head, html.Tbody(body)], hover=True, responsive=True, size="sm", className="mb-0"
    )


def messages_table(rows: list[q.MessageRow], tz: str) -> Any:
    if not rows:
        return html.Div(t("notify.no_messages"), className="text-secondary small p-2")
    body = []
    for m in rows:
        when = [local_time(m.delivered_at or m.created_at, tz)]
        if m.status == "pending" and m.held_until:
            when.append(
                html.Div(
                    t("notify.held", time=local_time(m.held_until, tz)), className="pantau-footnote"
                )
            )
        elif m.status == "pending" and m.attempts:
            when.append(
                html.Div(
                    t("notify.next", time=local_time(m.next_attempt_at, tz)),
                    className="pantau-footnote",
                )
            )
        status = [dbc.Badge(t(f"notify.st.{m.status}"), color=STATUS_COLOR.get(m.status, "light"))]
        if m.status == "dead":
            status.append(
                dbc.Button(
                    t("notify.retry"),
                    id={"type": "admin-notify-retry", "index": m.id},
                    size="sm",
                    color="warning",
                    outline=True,
                    n_clicks=0,
                    className="ms-1 py-0",
                )
            )
        body.append(
            html.Tr(
                [
                    html.Td(html.Div(when), className="small text-nowrap"),
                    html.Td(m.channel, className="small " + PHONE_HIDDEN),
                    html.Td(
                        html.Div(
                            [
                                html.Div(m.title, className="small"),
                                html.Div(
                                    [m.event_type, " · ", html.Code(m.delivery_id)],
                                    className="pantau-footnote text-break",
                                ),
                            ]
                        )
                    ),
                    html.Td(html.Div(status), className="text-nowrap"),
                    html.Td(str(m.attempts), className="small " + PHONE_HIDDEN),
                    html.Td((m.last_error or "")[:160], className="small text-break"),
                ]
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(k), className=PHONE_HIDDEN if k in _PHONE_HIDDEN_MESSAGE_COLS else None)
                for k in (
                    "notify.col.time",
                    "notify.col.channel",
                    "notify.col.message",
                    "notify.col.status",
                    "notify.col.attempts",
                    "notify.col.error",
                )
            ]
        )
    )
    return dbc.Table(
        [head, html.Tbody(body)], hover=True, responsive=True, size="sm", className="mb-0"
    )


def refresh(_n: Any, _changed: Any, status: str | None):
    """Tiles, channels and messages (every refresh and after every action)."""
    auth.require_role("admin")
    cfg = context.settings()
    with context.db().session() as s:
        counts = q.outbox_counts(s)
        channels = q.channels(s)
        # anything but a known status (a crafted request) lists every message
        known = isinstance(status, str) and status in STATUS_COLOR
        messages = q.messages(s, status=status if known else None)
    return (
        tiles(counts),
        channels_table(channels, cfg.timezone, bool(cfg.notify_webhook_secret)),
        messages_table(messages, cfg.timezone),
    )


def kind_help(kind: str | None):
    kind = kind or "webhook"
    show = {"display": "block"}
    hide = {"display": "none"}
    return (
        t(f"notify.help.{kind}"),
        show if kind == "webhook" else hide,
        show if kind == "http" else hide,
    )


FORM_FIELDS = 13  # outputs of the form (name ... title)


def _form(channel: NotificationChannel | None) -> tuple:
    if channel is None:
        return (
            "",
            "webhook",
            "",
            "",
            "",
            "application/json",
            "*",
            "warning",
            [],
            "",
            "",
            True,
            t("notify.form.new"),
        )
    cfg = channel.config or {}
    target = cfg.get(TARGET_KEY.get(channel.kind, "url"), "")
    if isinstance(target, list):
        target = ", ".join(target)
    route = channel.routes[0] if channel.routes else None
    return (
        channel.name,
        channel.kind,
        target,
        "",  # secrets are never sent back to the browser
        cfg.get("body_template", ""),
        cfg.get("content_type", "application/json"),
        route.rule if route else "*",
        route.min_severity if route else "info",
        list(route.events or []) if route else [],
        channel.quiet_start or "",
        channel.quiet_end or "",
        channel.enabled,
        t("notify.form.edit", name=channel.name),
    )


def _config(kind: str, target: str, secret: str, body: str, ctype: str, old: dict) -> dict:
    target = (target or "").strip()
    if kind == "webhook":
        cfg: dict[str, Any] = {"url": target, "secret": secret or old.get("secret")}
    elif kind == "http":
        cfg = {"url_template": target, "body_template": body or "", "content_type": ctype}
    else:
        cfg = {TARGET_KEY.get(kind, "url"): target}
    if old.get("env"):
        cfg["env"] = old["env"]
    return cfg


def _ok(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="success", dismissable=True, className="py-2")


def _bad(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="danger", dismissable=True, className="py-2")


def act(
    _save: int,
    _delete: int,
    _new: int,
    _retry_all: int,
    _tests: list,
    _edits: list,
    _retries: list,
    editing: int | None,
    name: str | None,
    kind: str | None,
    target: str | None,
    secret: str | None,
    body: str | None,
    ctype: str | None,
    rule: str | None,
    severity: str | None,
    events: list | None,
    quiet_start: str | None,
    quiet_end: str | None,
    enabled: bool | None,
    changed: int | None,
):
    """Run the clicked action. Returns (feedback, changed, editing, *form fields)."""
    auth.require_role("admin")
    trigger = ctx.triggered_id
    if trigger is None or (isinstance(trigger, dict) and not ctx.triggered[0].get("value")):
        raise dash.exceptions.PreventUpdate  # a table re-render, not a click
    actor = auth.current_username()
    ip = auth.client_ip()
    keep = (no_update,) * FORM_FIELDS
    bump = (changed if isinstance(changed, int) else 0) + 1
    if editing is not None and not isinstance(editing, int):
        editing = None  # the store only ever holds a channel id
    settings = context.settings()
    kind_of = trigger.get("type") if isinstance(trigger, dict) else trigger
    try:
        with context.db().session() as s:
            if kind_of == "admin-notify-new":
                return None, no_update, None, *_form(None)
            if kind_of == "admin-notify-edit":
                channel = s.get(NotificationChannel, int(trigger["index"]))
                return None, no_update, channel.id if channel else None, *_form(channel)
            if kind_of == "admin-notify-test":
                row = outbox.send_test(s, int(trigger["index"]), actor)
                channel = s.get(NotificationChannel, int(trigger["index"]))
                audit.record(
                    s,
                    AuditAction.NOTIFY_TEST,
                    username=actor,
                    target=channel.name if channel else None,
                    ip=ip,
                )
                msg = t("notify.tested", name=channel.name if channel else "?", id=row)
                return _ok(msg), bump, no_update, *keep
            if kind_of in ("admin-notify-retry", "admin-notify-retry-all"):
                ids = [int(trigger["index"])] if isinstance(trigger, dict) else None
                n = outbox.retry(s, ids)
                audit.record(
                    s,
                    AuditAction.NOTIFY_RETRY,
                    username=actor,
                    target=str(ids or "all"),
                    ip=ip,
                    detail={"n": n},
                )
                return _ok(t("notify.retried", n=n)), bump, no_update, *keep
            if kind_of == "admin-notify-delete":
                if not editing:
                    return _bad(t("notify.pick")), no_update, no_update, *keep
                channel = s.get(NotificationChannel, int(editing))
                label = channel.name if channel else str(editing)
                delete_channel(s, int(editing))
                audit.record(
                    s,
                    AuditAction.NOTIFY_CHANNEL,
                    username=actor,
                    target=label,
                    ip=ip,
                    detail={"op": "delete"},
                )
                return _ok(t("notify.deleted", name=label)), bump, None, *_form(None)
            if kind_of == "admin-notify-save":
                kind = kind or "webhook"
                old = s.get(NotificationChannel, int(editing)) if editing else None
                config = _config(
                    kind,
                    target or "",
                    secret or "",
                    body or "",
                    ctype or "",
                    dict(old.config or {}) if old else {},
                )
                clean = check_config(kind, config, settings)
                channel = save_channel(
                    s,
                    name=name or "",
                    kind=kind,
                    config=clean,
                    enabled=bool(enabled),
                    quiet_start=quiet_start,
                    quiet_end=quiet_end,
                    source=old.source if old else "admin",
                    channel_id=old.id if old else None,
                    rule=rule or "*",
                    min_severity=severity or "info",
                    events=list(events or []),
                )
                audit.record(
                    s,
                    AuditAction.NOTIFY_CHANNEL,
                    username=actor,
                    target=channel.name,
                    ip=ip,
                    detail={"op": "update" if old else "create", "kind": kind},
                )
                return (
                    _ok(t("notify.saved", name=channel.name)),
                    bump,
                    channel.id,
                    *(no_update,) * (FORM_FIELDS - 1),
                    t("notify.form.edit", name=channel.name),
                )
    except (ChannelConfigError, ChannelError) as exc:
        return _bad(t("notify.error", error=str(exc))), no_update, no_update, *keep
    raise dash.exceptions.PreventUpdate


def register(app: dash.Dash) -> None:
    app.callback(
        Output("admin-notify-tiles", "children"),
        Output("admin-notify-channels", "children"),
        Output("admin-notify-messages", "children"),
        Input("admin-notify-interval", "n_intervals"),
        Input("admin-notify-changed", "data"),
        Input("admin-notify-status", "value"),
    )(refresh)
    app.callback(
        Output("admin-notify-help", "children"),
        Output("admin-notify-secret-box", "style"),
        Output("admin-notify-http-box", "style"),
        Input("admin-notify-kind", "value"),
    )(kind_help)
    app.callback(
        Output("admin-notify-feedback", "children"),
        Output("admin-notify-changed", "data"),
        Output("admin-notify-editing", "data"),
        Output("admin-notify-name", "value"),
        Output("admin-notify-kind", "value"),
        Output("admin-notify-target", "value"),
        Output("admin-notify-secret", "value"),
        Output("admin-notify-body", "value"),
        Output("admin-notify-ctype", "value"),
        Output("admin-notify-rule", "value"),
        Output("admin-notify-severity", "value"),
        Output("admin-notify-events", "value"),
        Output("admin-notify-quiet-start", "value"),
        Output("admin-notify-quiet-end", "value"),
        Output("admin-notify-enabled", "value"),
        Output("admin-notify-form-title", "children"),
        Input("admin-notify-save", "n_clicks"),
        Input("admin-notify-delete", "n_clicks"),
        Input("admin-notify-new", "n_clicks"),
        Input("admin-notify-retry-all", "n_clicks"),
        Input({"type": "admin-notify-test", "index": ALL}, "n_clicks"),
        Input({"type": "admin-notify-edit", "index": ALL}, "n_clicks"),
        Input({"type": "admin-notify-retry", "index": ALL}, "n_clicks"),
        State("admin-notify-editing", "data"),
        State("admin-notify-name", "value"),
        State("admin-notify-kind", "value"),
        State("admin-notify-target", "value"),
        State("admin-notify-secret", "value"),
        State("admin-notify-body", "value"),
        State("admin-notify-ctype", "value"),
        State("admin-notify-rule", "value"),
        State("admin-notify-severity", "value"),
        State("admin-notify-events", "value"),
        State("admin-notify-quiet-start", "value"),
        State("admin-notify-quiet-end", "value"),
        State("admin-notify-enabled", "value"),
        State("admin-notify-changed", "data"),
        prevent_initial_call=True,
    )(act)
