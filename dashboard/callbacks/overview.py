"""Callbacks of the situation room (``overview-*``): live tiles and alert feed, the selected
camera's snapshot, acknowledging alerts.

Refreshes never overlap: the interval is disabled while the refresh callback runs
(``running=``), so a slow database delays the next refresh instead of stacking requests.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, ctx, html
from sqlalchemy import func, select

from dashboard import cache, components, context, queries
from dashboard.alert_text import row_title
from dashboard.callbacks import _compare, alerts_common
from dashboard.i18n import current_lang, fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import alerts as alert_queries
from dashboard.queries import flood as flood_queries
from dashboard.queries import security as security_queries
from dashboard.queries import trends
from store.db import Database
from store.models import Alert, Camera, CameraStatus
from store.rollups import utc_offset_hours
from store.rules.text import level_label

logger = logging.getLogger(__name__)

# strings of the page (registered here: callbacks are imported wherever the app is built)
register_strings(
    {
        "overview.sub": {"id": "{center} · {city}", "en": "{center} · {city}"},
        "overview.live": {"id": "LANGSUNG", "en": "LIVE"},
        "overview.map": {"id": "Peta kamera", "en": "Camera map"},
        "overview.alerts": {"id": "Peringatan aktif", "en": "Active alerts"},
        "overview.no_alerts": {"id": "Tidak ada peringatan aktif.", "en": "No active alerts."},
        "overview.ack": {"id": "Tandai diterima", "en": "Acknowledge"},
        "overview.acked": {"id": "Diterima {who} · {time}", "en": "Acknowledged by {who} · {time}"},
        "overview.since": {"id": "sejak {time}", "en": "since {time}"},
        "overview.selected": {"id": "Kamera terpilih", "en": "Selected camera"},
        "overview.select_hint": {
            "id": "Klik titik kamera di peta untuk melihat gambar terakhirnya.",
            "en": "Click a camera point on the map to see its latest picture.",
        },
        "overview.open_camera": {"id": "Buka detail kamera", "en": "Open camera details"},
        "overview.tile.cameras": {"id": "Kamera online", "en": "Cameras online"},
        "overview.tile.people": {"id": "Orang terlihat", "en": "People in view"},
        "overview.tile.vehicles": {"id": "Kendaraan terlihat", "en": "Vehicles in view"},
        "overview.tile.flood": {"id": "Peringatan banjir", "en": "Flood alerts"},
        "overview.tile.complaints": {"id": "Pengaduan terbuka", "en": "Open complaints"},
        "overview.tile.incidents": {"id": "Kejadian hari ini", "en": "Incidents today"},
        "overview.offline": {"id": "{n} offline", "en": "{n} offline"},
        "overview.hour": {"id": "jam {time}", "en": "hour {time}"},
        "overview.sensors_high": {
            "id": "{n} sensor di atas waspada",
            "en": "{n} sensors above warning",
        },
        "overview.since_midnight": {"id": "sejak 00:00 {tz}", "en": "since 00:00 {tz}"},
        "overview.legend.alert": {"id": "cincin = peringatan", "en": "ring = alert"},
        "overview.rule.flood_coverage": {"id": "Genangan", "en": "Flooding"},
        "overview.rule.crowd_density": {"id": "Kerumunan", "en": "Crowd"},
        "overview.rule.camera_offline": {"id": "Kamera offline", "en": "Camera offline"},
        "overview.rule.sensor_level": {"id": "Ambang sensor", "en": "Sensor threshold"},
        "overview.rule.complaint_surge": {"id": "Lonjakan pengaduan", "en": "Complaint surge"},
        "overview.rule.incident_cluster": {"id": "Klaster kejadian", "en": "Incident cluster"},
        "overview.rule.vehicle_dwell": {"id": "Parkir liar", "en": "Illegal parking"},
        "overview.rule.racing": {"id": "Balap liar", "en": "Illegal racing"},
        "overview.rule.illegal_dumping": {"id": "Buang sampah liar", "en": "Illegal dumping"},
        "overview.severity.critical": {"id": "SIAGA", "en": "CRITICAL"},
        "overview.severity.warning": {"id": "WASPADA", "en": "WARNING"},
        "overview.severity.info": {"id": "INFO", "en": "INFO"},
    }
)

SEVERITY_CLASS = {"critical": "danger", "warning": "warning", "info": "info"}
WRITE_ROLES = ("operator", "admin")  # dashboard.auth.WRITE_DEFAULT: analis only export


def _db(db: Database | None) -> Database:
    return db or context.db()


def _role() -> str | None:
    try:
        from dashboard import auth

        return auth.current_role()
    except Exception:  # noqa: BLE001 - no request / no auth module: treat as operator
        return None


def _username() -> str:
    try:
        from dashboard import auth

        return auth.current_username() or "operator"
    except Exception:  # noqa: BLE001
        return "operator"


def overview_numbers(session, now: datetime) -> dict[str, Any]:
    """Every number of the tiles, read in one session."""
    offset = utc_offset_hours(context.settings().timezone)
    head = queries.headline(session, now)
    offline = (
        session.scalar(
            select(func.count())
            .select_from(Camera)
            .where(Camera.enabled.is_(True), Camera.status == str(CameraStatus.OFFLINE))
        )
        or 0
    )
    flood_alerts = (
        session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.ended_at.is_(None), Alert.rule.like("flood%"))
        )
        or 0
    )
    sensors = flood_queries.water_sensors(session)
    return {
        "head": head,
        "offline": offline,
        "flood_alerts": flood_alerts,
        "sensors_high": sum(1 for s in sensors if s.level in ("warning", "danger")),
        "incidents_today": security_queries.incidents_today(session, now, offset),
        "usual": trends.now_vs_usual(session, now),
    }


def build_tiles(n: dict[str, Any], now: datetime) -> list[Any]:
    tz = context.settings().timezone
    head = n["head"]
    at = local_time(now, tz, with_date=False)  # the date is in the "updated" line
    cols = []

    def col(tile):
        return dbc.Col(tile, xs=6, md=4, xl=2, className="mb-2")

    share = head.cameras_online / head.cameras_total if head.cameras_total else 0
    cols.append(
        col(
            components.tile(
                "overview-tile-cameras",
                "bi-camera-video",
                t("overview.tile.cameras"),
                f"{fmt_number(head.cameras_online)}/{fmt_number(head.cameras_total)}",
                t("unit.cameras"),
                f"{t('overview.offline', n=fmt_number(n['offline']))} · {at}",
                state="ok" if share >= 0.95 else ("warn" if share >= 0.8 else "bad"),
            )
        )
    )
    for key, icon, unit in (
        ("people", "bi-people", "unit.people"),
        ("vehicles", "bi-car-front", "unit.vehicles"),
    ):
        value, usual, bucket = n["usual"].get(key, (None, None, None))
        sub = [
            # people and vehicles have no good direction: the change in a neutral colour, and
            # grey when it is less than one person/vehicle in view city-wide (a quiet night)
            _compare.change_badge(value, usual, t("ui.vs_usual"), key, min_abs=1.0),
            html.Br(),
            t("overview.hour", time=local_time(bucket, tz, with_date=False)) if bucket else at,
        ]
        state = ""
        if value is not None and usual:
            state = "warn" if value > usual * 1.3 else ""
        cols.append(
            col(
                components.tile(
                    f"overview-tile-{key}",
                    icon,
                    t(f"overview.tile.{key}"),
                    fmt_number(value),
                    t(unit),
                    sub,
                    state=state,
                )  # fmt: skip
            )
        )
    cols.append(
        col(
            components.tile(
                "overview-tile-flood",
                "bi-water",
                t("overview.tile.flood"),
                fmt_number(n["flood_alerts"]),
                t("unit.alerts"),
                f"{t('overview.sensors_high', n=fmt_number(n['sensors_high']))} · {at}",
                state="bad" if n["flood_alerts"] else "ok",
            )
        )
    )
    cols.append(
        col(
            components.tile(
                "overview-tile-complaints",
                "bi-chat-left-text",
                t("overview.tile.complaints"),
                fmt_number(head.open_complaints),
                t("unit.reports"),
                at,
            )  # fmt: skip
        )
    )
    cols.append(
        col(
            components.tile(
                "overview-tile-incidents",
                "bi-shield-exclamation",
                t("overview.tile.incidents"),
                fmt_number(n["incidents_today"]),
                t("unit.incidents"),
                f"{t('overview.since_midnight', tz=components.tz_label())} · {at}",
            )
        )
    )
    return cols


def alert_item(a: alert_queries.AlertRow, can_ack: bool) -> Any:
    tz = context.settings().timezone
    sev = a.severity if a.severity in SEVERITY_CLASS else "info"
    rule = t(f"overview.rule.{a.rule}") if f"overview.rule.{a.rule}" in _known_rules() else a.rule
    meta = [
        html.Span(
            # the word of the kind's own scale (SIAGA, GANGGUAN...), else the severity
            level_label(a.level, current_lang()) if a.level else t(f"overview.severity.{sev}"),
            className=f"badge text-bg-{SEVERITY_CLASS[sev]} me-2",
        ),
        html.Span(rule, className="me-2"),
        html.Span(t("overview.since", time=local_time(a.started_at, tz))),
    ]
    if a.camera_code:
        meta += [" · ", html.A(a.camera_code, href=f"/camera/{a.camera_code}")]
    elif a.sensor_code:  # sensors are charted on the flood page
        meta += [" · ", html.A(a.sensor_code, href="/banjir")]
    if a.status not in (None, "open", "acknowledged"):  # acknowledged: the line below says so
        meta += [" · ", alerts_common.status_badge(a.status)]
    if a.assigned_user or a.assigned_opd:
        meta += [" · ", ", ".join(x for x in (a.assigned_user, a.assigned_opd) if x)]
    if a.acknowledged_at:
        action = html.Div(
            [html.I(className="bi bi-check2-circle me-1"),
             t("overview.acked", who=a.acknowledged_by or "—", time=local_time(a.acknowledged_at, tz))],
            className="pantau-alert-meta mt-1", id={"type": "overview-acked", "index": a.id},
        )  # fmt: skip
    elif can_ack:
        action = dbc.Button(
            [html.I(className="bi bi-check2 me-1"), t("overview.ack")],
            id={"type": "overview-ack", "index": a.id},
            size="sm",
            color="secondary",
            outline=True,
            className="mt-1 pantau-ack",
            n_clicks=0,
        )
    else:
        action = None
    return html.Div(
        [
            html.A(
                row_title(a),
                href=f"/peringatan/{a.id}",
                className="pantau-alert-title d-block text-reset text-decoration-none",
                id={"type": "overview-alert-link", "index": a.id},
            ),
            html.Div(meta, className="pantau-alert-meta"),
            action,
        ],
        className=f"pantau-alert sev-{sev}{' is-ack' if a.acknowledged_at else ''}",
        id={"type": "overview-alert", "index": a.id},
    )


def _known_rules() -> set[str]:
    from dashboard.i18n import STRINGS

    return {k for k in STRINGS if k.startswith("overview.rule.")}


def alert_feed(alerts: list[alert_queries.AlertRow], can_ack: bool) -> list[Any]:
    if not alerts:
        return [html.P(t("overview.no_alerts"), className="text-secondary small mb-0")]
    return [alert_item(a, can_ack) for a in alerts]


def layer_version(session) -> str:
    """Changes whenever a camera's status or the open alerts change (map layer cache key)."""
    cams = session.execute(select(func.count(), func.max(Camera.updated_at))).one()
    alerts = session.execute(
        select(func.count(), func.max(Alert.id), func.max(Alert.acknowledged_at)).where(
            Alert.ended_at.is_(None)
        )
    ).one()
    raw = f"{cams[0]}-{cams[1]}-{alerts[0]}-{alerts[1]}"
    import hashlib

    return hashlib.sha1(raw.encode()).hexdigest()[:10]


def refresh_overview(
    _n: int | None, *, db: Database | None = None, now: datetime | None = None
) -> tuple:
    """Tiles, alert feed (+ ids for partial updates), alert count, map layer URL, time."""
    now = now or datetime.now(UTC)
    can_ack = _role() in (*WRITE_ROLES, None)
    with _db(db).session() as s:
        numbers = cache.memo(
            f"overview:numbers:{_db(db).url}|{now.replace(second=0, microsecond=0).isoformat()}",
            5,
            lambda: overview_numbers(s, now),
        )
        alerts = alert_queries.open_alerts(s)
        version = layer_version(s)
    # open siaga alerts first (a pimpinan reading the phone sees them at the top), the rest in
    # the query's order
    alerts.sort(key=lambda a: a.severity != "critical")
    unacked = sum(1 for a in alerts if a.acknowledged_at is None)
    return (
        build_tiles(numbers, now),
        alert_feed(alerts, can_ack),
        [a.id for a in alerts],
        fmt_number(unacked) if unacked else "",
        f"/api/cameras.geojson?v={version}",
        components.updated_text(now),
    )


def acknowledge_alert(
    clicks: list[int | None],
    ids: list[int] | None,
    *,
    db: Database | None = None,
    trigger: Any = None,
    who: str | None = None,
) -> Any:
    """Acknowledge the clicked alert and patch only its entry of the feed."""
    trigger = trigger if trigger is not None else ctx.triggered_id
    if not isinstance(trigger, dict) or not isinstance(clicks, list) or not any(clicks):
        return dash.no_update
    alert_id = alerts_common.as_id(trigger.get("index"))
    if alert_id is None:
        return dash.no_update
    who = who or _username()
    with _db(db).session() as s:
        alert_queries.acknowledge(s, alert_id, who)
    cache.clear()
    with _db(db).session() as s:
        row = next((a for a in alert_queries.open_alerts(s, limit=200) if a.id == alert_id), None)
    if row is None or not isinstance(ids, list) or alert_id not in ids:
        return dash.no_update
    patch = Patch()
    patch[ids.index(alert_id)] = alert_item(row, can_ack=True)
    return patch


def select_camera(feature: dict | None, *, db: Database | None = None) -> Any:
    """The clicked camera's latest snapshot and status (clusters are ignored: they zoom)."""
    if not feature or (feature.get("properties") or {}).get("cluster"):
        return dash.no_update
    code = (feature.get("properties") or {}).get("c")
    from dashboard.queries import cameras as camera_queries

    if not camera_queries.valid_code(code):
        return dash.no_update
    with _db(db).session() as s:
        cam = camera_queries.camera_info(s, code)
    if cam is None:
        return dash.no_update
    tz = context.settings().timezone
    stamp = int(cam.last_seen_at.timestamp()) if cam.last_seen_at else 0
    status_cls = {"online": "success", "degraded": "warning", "offline": "danger"}.get(
        cam.status, "secondary"
    )
    return html.Div(
        [
            html.Div(
                html.Img(
                    src=f"/snapshots/{cam.code}.jpg?v={stamp}",
                    alt=cam.name,
                    id="overview-camera-img",
                ),
                className="pantau-frame mb-2",
            ),
            html.Div(
                [
                    html.Span(
                        t(f"status.{cam.status}"), className=f"badge text-bg-{status_cls} me-2"
                    ),
                    html.Strong(cam.name, id="overview-camera-name"),
                ]
            ),
            html.Div(
                f"{cam.code} · {cam.kecamatan or ''} · {local_time(cam.last_seen_at, tz)}",
                className="pantau-footnote mb-2",
            ),
            dbc.Button(
                [html.I(className="bi bi-box-arrow-up-right me-1"), t("overview.open_camera")],
                href=f"/camera/{cam.code}",
                size="sm",
                color="primary",
                id="overview-camera-open",
            ),
        ]
    )


def register(app) -> None:
    app.callback(
        Output("overview-tiles", "children"),
        Output("overview-alerts", "children"),
        Output("overview-alert-ids", "data"),
        Output("overview-alert-count", "children"),
        Output("overview-cameras", "url"),
        Output("overview-updated", "children"),
        Input("overview-interval", "n_intervals"),
        running=[(Output("overview-interval", "disabled"), True, False)],
    )(refresh_overview)
    app.callback(
        Output("overview-alerts", "children", allow_duplicate=True),
        Input({"type": "overview-ack", "index": ALL}, "n_clicks"),
        State("overview-alert-ids", "data"),
        prevent_initial_call=True,
    )(acknowledge_alert)
    app.callback(
        Output("overview-camera", "children"),
        Input("overview-cameras", "clickData"),
        prevent_initial_call=True,
    )(select_camera)
