"""Callbacks of the video wall (``/dinding``, ids ``dinding-*``): which cameras are on screen
(group, layout, rotation page, new-alert takeover, a tile enlarged), the group choices, pause,
and saving or deleting custom groups (operators and admins: ``write_ids`` on the page).

The tiles carry ``data-code``; assets/pantau_dinding.js streams their pictures and keeps the
picture age ("12 s lalu") current. Re-rendering the tiles every few seconds (status, alerts)
does not restart their pictures: the script keeps the stream while the codes stay the same.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import Input, Output, State, ctx, html, no_update

from dashboard import auth, context
from dashboard.i18n import t
from dashboard.queries import wall as wall_queries
from dashboard.wall_layout import columns, compose, parse_group, parse_layout, tile_count
from store import wall_groups
from store.wall_groups import WallGroupError

logger = logging.getLogger(__name__)

STATUS_CLASS = {"online": "ok", "degraded": "warn", "offline": "down"}


def _status_label(status: str) -> str:
    key = status if status in ("online", "degraded", "offline", "disabled") else "unknown"
    return t(f"wall.status.{key}")


def alert_label(severity: str, level: str | None) -> str:
    """The alert's own level word (SIAGA, GANGGUAN…, in the page's language), else its
    severity, as on the alert pages."""
    from dashboard.callbacks.alerts_common import label
    from dashboard.i18n import current_lang
    from store.rules.text import level_label

    if level:
        return level_label(str(level), current_lang())[:24]
    return label("severity", severity if severity in ("info", "warning", "critical") else "info")


def tile(info: wall_queries.TileInfo, fps: float, alert: tuple | None, pinned: bool) -> html.Div:
    """One tile: the picture (filled by the script), name, kecamatan, status, picture age and
    the alert badge. ``pinned``: a camera with a new alert, highlighted."""
    status = info.status or "unknown"
    badges: list[Any] = [
        html.Span(
            _status_label(status),
            className=f"dinding-badge dinding-st-{STATUS_CLASS.get(status, 'unknown')}",
        ),
        html.Span("—", className="dinding-age", title=t("wall.age_hint")),
    ]
    if alert is not None:
        badges.append(
            html.Span(
                [
                    html.I(className="bi bi-exclamation-triangle-fill me-1"),
                    alert_label(alert[0], alert[1]),
                ],
                className=f"dinding-badge dinding-alert dinding-sev-{alert[0]}",
            )
        )
    top: list[Any] = [html.Span(info.name, className="dinding-name")]
    if pinned:
        top.insert(0, html.Span(t("wall.new_alert"), className="dinding-new"))
    classes = (
        "dinding-tile"
        + (" dinding-pinned" if pinned else "")
        + (f" dinding-has-alert dinding-sev-{alert[0]}" if alert else "")
    )
    return html.Div(
        [
            html.Img(className="dinding-img", alt=info.name),
            html.Div(className="dinding-state"),
            html.Div(top, className="dinding-cap dinding-cap-top"),
            html.Div(
                [
                    html.Span(
                        [info.kecamatan or "—"]
                        + ([" · ", t("wall.public")] if info.is_public else []),
                        className="dinding-kec",
                    ),
                    html.Span(badges, className="dinding-badges"),
                ],
                className="dinding-cap dinding-cap-bottom",
            ),
        ],
        className=classes,
        title=t("wall.enlarge"),
        **{"data-code": info.code, "data-fps": f"{fps:g}"},
    )


def wall_state(layout: Any, kind: Any, value: Any, tick: Any, focus: Any) -> dict[str, Any]:
    """What the wall shows now: the page (dashboard.wall_layout.compose) and each tile's data."""
    cfg = context.settings()
    layout = parse_layout(layout)
    spec = parse_group(kind, value)
    focus = focus if isinstance(focus, str) and len(focus) <= 64 else None
    tick = tick if isinstance(tick, int) and not isinstance(tick, bool) and tick >= 0 else 0
    with context.db().session() as s:
        group = wall_queries.group_cameras(s, spec)
        alerts = wall_queries.open_alert_cameras(s)
        pinned = wall_queries.new_alert_cameras(alerts, cfg.wall_takeover_minutes)
        page = compose(group, pinned, layout, tick, focus)
        infos = wall_queries.tile_info(s, list(page.codes))
    if focus and focus not in infos:  # an enlarged camera that went away: back to the wall
        return wall_state(layout, kind, value, tick, None)
    tiles = 1 if focus else tile_count(layout)
    fps = cfg.wall_stream_fps if tiles <= 4 else min(cfg.wall_stream_fps, cfg.wall_tile_fps)
    return {
        "layout": layout,
        "group": group,
        "page": page,
        "tiles": [
            (infos[c], fps, alerts.get(c), c in page.pinned) for c in page.codes if c in infos
        ],
        "cols": 1 if focus else columns(layout),
        "focus": focus,
    }


def render(
    layout: Any,
    kind: Any,
    value: Any,
    tick: Any,
    _refresh: Any,
    focus: Any,
    paused: Any,
    seconds: Any,
) -> tuple[Any, str, str, bool]:
    """(tiles, grid class, status line, back bar hidden)."""
    state = wall_state(layout, kind, value, tick, focus)
    page = state["page"]
    tiles = [tile(*args) for args in state["tiles"]]
    if not tiles:
        tiles = [html.Div(t("wall.empty"), className="dinding-empty")]
    if state["focus"]:
        mode = t("wall.paused")
    elif page.pages == 1:
        mode = t("wall.single")
    elif paused:
        mode = t("wall.paused")
    else:
        every = seconds if isinstance(seconds, int | float) and 5 <= seconds <= 600 else 20
        mode = t("wall.rotating", s=int(every))
    status = t("wall.page", page=page.page + 1, pages=page.pages, n=len(state["group"]), state=mode)
    grid = f"dinding-grid dinding-cols-{state['cols']}"
    if state["focus"]:
        grid += " dinding-focused"
    return tiles, grid, status, state["focus"] is None


def value_choices(kind: Any, _version: Any) -> tuple[list[dict], Any, bool]:
    """(options, value, disabled) of the group value dropdown for a kind."""
    from dashboard.pages.dinding import group_value_options

    spec_kind = kind if isinstance(kind, str) else "all"
    if spec_kind in ("all", "alert") or parse_group(spec_kind, "x").kind == "all":
        return [], None, True
    options = group_value_options(spec_kind)
    trigger = ctx.triggered_id if ctx else None
    keep = no_update if trigger == "dinding-groups-version" else None
    return options, keep, False


def back_to_wall(_back: Any) -> None:
    """The back button returns from an enlarged tile to the wall. (A click on a tile sets
    ``dinding-focus`` in the browser, assets/pantau_dinding.js: the tiles are re-rendered every
    few seconds, and a click counted on a tile that is being replaced was lost or replayed.)"""
    return None


def toggle_pause(n_clicks: Any) -> tuple[bool, list]:
    paused = isinstance(n_clicks, int) and n_clicks % 2 == 1
    icon = "bi-play-fill" if paused else "bi-pause-fill"
    return paused, [
        html.I(className=f"bi {icon} me-1"),
        html.Span(t("wall.play" if paused else "wall.pause")),
    ]


def rotate_interval(seconds: Any) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        return context.settings().wall_rotate_seconds * 1000
    return int(max(5, min(600, seconds)) * 1000)


def kiosk_link(layout: Any, kind: Any, value: Any, seconds: Any) -> str:
    from urllib.parse import urlencode

    spec = parse_group(kind, value)
    query = {"kiosk": "1", "layout": parse_layout(layout), "group": spec.text()}
    query["every"] = str(rotate_interval(seconds) // 1000)
    return "/dinding?" + urlencode(query)


def save_or_delete(
    _save: Any, _delete: Any, name: Any, cameras: Any, kind: Any, value: Any, version: Any
) -> tuple[Any, Any]:
    """(feedback, groups version) after saving the group or deleting the chosen one."""
    auth.require_role("operator", "admin")
    version = version if isinstance(version, int) and not isinstance(version, bool) else 0
    trigger = ctx.triggered_id
    try:
        with context.db().session() as s:
            if trigger == "dinding-save-button":
                group = wall_groups.save_group(s, name, cameras, auth.current_username())
                message = t("wall.saved", name=group.name, n=len(group.cameras))
            elif trigger == "dinding-delete-button":
                if kind != "custom" or not wall_groups.delete_group(s, value):
                    return t("wall.delete_none"), no_update
                message = t("wall.deleted")
            else:
                return no_update, no_update
    except WallGroupError as exc:
        return str(exc), no_update
    return message, version + 1


def register(app) -> None:
    app.callback(
        Output("dinding-grid", "children"),
        Output("dinding-grid", "className"),
        Output("dinding-status", "children"),
        Output("dinding-back-bar", "hidden"),
        Input("dinding-layout", "value"),
        Input("dinding-kind", "value"),
        Input("dinding-value", "value"),
        Input("dinding-rotate", "n_intervals"),
        Input("dinding-refresh", "n_intervals"),
        Input("dinding-focus", "data"),
        Input("dinding-rotate", "disabled"),
        State("dinding-every", "value"),
    )(render)
    app.callback(
        Output("dinding-value", "options"),
        Output("dinding-value", "value"),
        Output("dinding-value", "disabled"),
        Input("dinding-kind", "value"),
        Input("dinding-groups-version", "data"),
        prevent_initial_call=True,
    )(value_choices)
    app.callback(
        Output("dinding-focus", "data"),
        Input("dinding-back", "n_clicks"),
        prevent_initial_call=True,
    )(back_to_wall)
    app.callback(
        Output("dinding-rotate", "disabled"),
        Output("dinding-pause", "children"),
        Input("dinding-pause", "n_clicks"),
    )(toggle_pause)
    app.callback(Output("dinding-rotate", "interval"), Input("dinding-every", "value"))(
        rotate_interval
    )
    app.callback(
        Output("dinding-kiosk-link", "href"),
        Input("dinding-layout", "value"),
        Input("dinding-kind", "value"),
        Input("dinding-value", "value"),
        Input("dinding-every", "value"),
    )(kiosk_link)
    app.callback(
        Output("dinding-editor", "is_open"),
        Input("dinding-edit-toggle", "n_clicks"),
        State("dinding-editor", "is_open"),
        prevent_initial_call=True,
    )(lambda _n, is_open: not bool(is_open))
    app.callback(
        Output("dinding-save-feedback", "children"),
        Output("dinding-groups-version", "data"),
        Input("dinding-save-button", "n_clicks"),
        Input("dinding-delete-button", "n_clicks"),
        State("dinding-save-name", "value"),
        State("dinding-save-cameras", "value"),
        State("dinding-kind", "value"),
        State("dinding-value", "value"),
        State("dinding-groups-version", "data"),
        prevent_initial_call=True,
    )(save_or_delete)
