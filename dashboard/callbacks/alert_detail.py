"""The alert detail page (``/peringatan/<id>``, ``alert-*``): its sections and the callbacks of
the response workflow.

* ``alert-act-*`` (operators and admins): acknowledge, assign, escalate, resolve;
* ``alert-opd-*`` (operators, admins and the OPD the alert is assigned to): notes, SOP ticks;
* ``alert-version`` bumps after an action; the state, checklist and timeline re-render from it.

Every write goes through ``store.alert_workflow`` with the acting user from the server session
(never from the browser): OPD staff reach only alerts assigned to their own OPD, and another
OPD's alert answers "not found" like a missing one. Refusals show the workflow's message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from dashboard import auth, cache, components, context
from dashboard.alert_text import alert_title
from dashboard.callbacks.alerts_common import (
    WRITE_ROLES,
    as_id,
    as_text,
    current_actor,
    label,
    severity_badge,
    status_badge,
)
from dashboard.i18n import current_lang, fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import alert_detail as q
from store import alert_workflow as wf
from store.complaints import category_label, status_label
from store.models import AlertStatus

logger = logging.getLogger(__name__)

auth.mark_write("alert-opd", (*WRITE_ROLES, "opd"))

register_strings(
    {
        "alert.title": {"id": "Peringatan #{id}", "en": "Alert #{id}"},
        "alert.back": {"id": "Semua peringatan", "en": "All alerts"},
        "alert.not_found": {
            "id": "Peringatan #{id} tidak ditemukan.",
            "en": "Alert #{id} was not found.",
        },
        "alert.state": {"id": "Status", "en": "State"},
        "alert.kind": {"id": "Jenis", "en": "Kind"},
        "alert.place": {"id": "Lokasi", "en": "Place"},
        "alert.started": {"id": "Mulai", "en": "Started"},
        "alert.condition": {"id": "Kondisi", "en": "Condition"},
        "alert.acknowledged": {"id": "Diterima", "en": "Acknowledged"},
        "alert.assigned": {"id": "Ditugaskan ke", "en": "Assigned to"},
        "alert.escalated": {"id": "Eskalasi", "en": "Escalated"},
        "alert.resolved": {"id": "Diselesaikan", "en": "Resolved"},
        "alert.by_at": {"id": "{who} · {at}", "en": "{who} · {at}"},
        "alert.actions": {"id": "Tindakan", "en": "Actions"},
        "alert.ack": {"id": "Tandai diterima", "en": "Acknowledge"},
        "alert.assign": {"id": "Tugaskan", "en": "Assign"},
        "alert.assign_user": {"id": "Operator", "en": "Operator"},
        "alert.assign_opd": {"id": "OPD", "en": "Agency (OPD)"},
        "alert.escalate": {"id": "Eskalasi", "en": "Escalate"},
        "alert.escalate_severity": {"id": "Naikkan tingkat ke", "en": "Raise severity to"},
        "alert.escalate_pimpinan": {"id": "Laporkan ke pimpinan", "en": "Escalate to leadership"},
        "alert.resolve": {"id": "Selesaikan", "en": "Resolve"},
        "alert.outcome": {"id": "Hasil penanganan", "en": "Outcome"},
        "alert.note": {"id": "Catatan", "en": "Note"},
        "alert.note_optional": {"id": "Catatan (opsional)", "en": "Note (optional)"},
        "alert.add_note": {"id": "Tambah catatan", "en": "Add note"},
        "alert.sop": {"id": "Langkah SOP", "en": "SOP checklist"},
        "alert.sop_done": {"id": "{n} dari {total} selesai", "en": "{n} of {total} done"},
        "alert.tick": {"id": "Centang", "en": "Tick"},
        "alert.untick": {"id": "Batalkan", "en": "Undo"},
        "alert.timeline": {"id": "Linimasa", "en": "Timeline"},
        "alert.evidence": {"id": "Bukti", "en": "Evidence"},
        "alert.snapshot": {"id": "Gambar saat peringatan dibuka", "en": "Frame when it opened"},
        "alert.no_snapshot": {"id": "Tidak ada gambar bukti.", "en": "No evidence frame."},
        "alert.readings": {"id": "Data di sekitar waktu peringatan", "en": "Readings around it"},
        "alert.no_readings": {"id": "Tidak ada data pada periode ini.", "en": "No readings."},
        "alert.readings_sub": {
            "id": "{name}, {start} – {end}",
            "en": "{name}, {start} – {end}",
        },
        "alert.metric.water": {"id": "Genangan (% ROI jalan)", "en": "Water (% of road ROI)"},
        "alert.metric.people": {"id": "Orang terlihat", "en": "People in view"},
        "alert.nearby_reports": {
            "id": "Pengaduan dalam {m} m",
            "en": "Reports within {m} m",
        },
        "alert.no_reports": {"id": "Tidak ada pengaduan di sekitar.", "en": "No reports nearby."},
        "alert.nearby_cameras": {"id": "Kamera dalam {m} m", "en": "Cameras within {m} m"},
        "alert.no_cameras": {
            "id": "Tidak ada kamera lain di sekitar.",
            "en": "No other cameras nearby.",
        },
        "alert.no_location": {
            "id": "Lokasi peringatan tidak diketahui.",
            "en": "The alert has no location.",
        },
        "alert.done": {"id": "Tersimpan.", "en": "Saved."},
        "alert.ev.opened": {
            "id": "Peringatan dibuka ({severity})",
            "en": "Alert opened ({severity})",
        },
        "alert.ev.severity": {
            "id": "Tingkat berubah: {src} → {dst}",
            "en": "Severity: {src} → {dst}",
        },
        "alert.ev.level": {"id": "Level berubah: {src} → {dst}", "en": "Level: {src} → {dst}"},
        "alert.ev.cleared": {"id": "Kondisi kembali normal", "en": "Condition cleared"},
        "alert.ev.reopened": {"id": "Kondisi muncul lagi", "en": "Condition returned"},
        "alert.ev.acknowledged": {"id": "Diterima", "en": "Acknowledged"},
        "alert.ev.assigned": {"id": "Ditugaskan ke {target}", "en": "Assigned to {target}"},
        "alert.ev.note": {"id": "Catatan", "en": "Note"},
        "alert.ev.escalated": {"id": "Eskalasi: {target}", "en": "Escalated: {target}"},
        "alert.ev.resolved": {"id": "Diselesaikan: {outcome}", "en": "Resolved: {outcome}"},
        "alert.ev.sop_tick": {"id": "Langkah SOP dicentang", "en": "SOP step ticked"},
        "alert.ev.sop_untick": {"id": "Centang SOP dibatalkan", "en": "SOP tick undone"},
        "alert.system": {"id": "sistem", "en": "system"},
    }
)


# --------------------------------------------------------------------------------------------
# sections
def _row(label_text: str, value: Any) -> html.Tr:
    return html.Tr(
        [html.Th(label_text, className="text-secondary fw-normal small"), html.Td(value)]
    )


def _by_at(who: str | None, at: datetime | None) -> str:
    return t("alert.by_at", who=who or "—", at=local_time(at, context.settings().timezone))


def place_link(d: q.AlertDetail) -> Any:
    if d.camera is not None:
        return html.A(f"{d.camera.name} ({d.camera.code})", href=f"/camera/{d.camera.code}")
    if d.sensor is not None:
        return html.A(f"{d.sensor.name} ({d.sensor.code})", href="/banjir")
    return d.alert.subject_id or "—"


def display_title(d: q.AlertDetail) -> str:
    """The alert's title in the reader's language (dashboard.alert_text)."""
    a = d.alert
    subject = d.sensor.name if d.sensor is not None else (d.camera.name if d.camera else None)
    unit = d.sensor.unit if d.sensor is not None else None
    return alert_title(a.rule, a.severity, a.value, subject, a.title, unit=unit)


def state_table(d: q.AlertDetail) -> Any:
    a = d.alert
    tz = context.settings().timezone
    condition = (
        f"{t('alerts.cleared')} · {local_time(a.ended_at, tz)}"
        if a.ended_at
        else t("alerts.active_condition")
    )
    escalated = None
    if a.escalated_at:
        targets = [
            t("alerts.pimpinan") if x == "pimpinan" else label("severity", x)
            for x in (a.escalated_to or "").split(",")
            if x
        ]
        escalated = f"{', '.join(targets)} · {local_time(a.escalated_at, tz)}"
    assigned = ", ".join(x for x in (a.assigned_user, d.opd_name) if x) or None
    rows = [
        _row(
            t("alert.state"),
            [status_badge(a.status, id="alert-status"), severity_badge(a.severity, a.level)],
        ),
        _row(t("alert.kind"), label("kind", a.rule)),
        _row(t("alert.place"), place_link(d)),
        _row(t("alert.started"), local_time(a.started_at, tz)),
        _row(t("alert.condition"), condition),
        _row(
            t("alert.acknowledged"),
            _by_at(a.acknowledged_by, a.acknowledged_at) if a.acknowledged_at else "—",
        ),
        _row(
            t("alert.assigned"),
            html.Span(
                f"{assigned} · {local_time(a.assigned_at, tz)}" if assigned else "—",
                id="alert-assigned",
            ),
        ),
        _row(t("alert.escalated"), escalated or "—"),
        _row(
            t("alert.resolved"),
            html.Span(
                [
                    _by_at(a.resolved_by, a.resolved_at),
                    html.Br(),
                    html.Strong(label("outcome", a.outcome)),
                    f" — {a.outcome_note}" if a.outcome_note else "",
                ]
                if a.status == AlertStatus.RESOLVED
                else "—",
                id="alert-resolution",
            ),
        ),
    ]
    if a.detail:
        rows.insert(2, _row("", html.Span(a.detail, className="small")))
    return dbc.Table(html.Tbody(rows), size="sm", className="mb-0", borderless=True)


def sop_list(d: q.AlertDetail, can_tick: bool) -> Any:
    lang = current_lang()
    done = sum(1 for s in d.steps if s.ticked_at)
    resolved = d.alert.status == AlertStatus.RESOLVED
    items = []
    for s in d.steps:
        ticked = s.ticked_at is not None
        button = None
        if can_tick and not resolved:
            button = dbc.Button(
                t("alert.untick") if ticked else t("alert.tick"),
                id={"type": "alert-opd-tick", "index": f"{'-' if ticked else '+'}{s.step.key}"},
                size="sm",
                color="secondary" if ticked else "primary",
                outline=True,
                n_clicks=0,
                className="ms-auto flex-shrink-0",
            )
        items.append(
            html.Li(
                [
                    html.I(
                        className="bi bi-check-square-fill text-success me-2"
                        if ticked
                        else "bi bi-square text-secondary me-2"
                    ),
                    html.Div(
                        [
                            html.Div(s.step.text(lang)),
                            html.Div(_by_at(s.ticked_by, s.ticked_at), className="pantau-footnote")
                            if ticked
                            else None,
                        ]
                    ),
                    button,
                ],
                className="d-flex align-items-start gap-1 py-1 border-bottom",
                id=f"alert-step-{s.step.key}",
            )
        )
    return [
        html.Div(t("alert.sop_done", n=done, total=len(d.steps)), className="small text-secondary"),
        html.Ul(items, className="list-unstyled mb-0"),
    ]


def _event_text(ev) -> str:
    data = ev.data or {}
    kind = ev.type
    if kind == "opened":
        return t("alert.ev.opened", severity=label("severity", data.get("severity")))
    if kind in ("severity", "level"):
        return t(
            f"alert.ev.{kind}",
            src=label(kind, data.get("from")) if kind == "severity" else data.get("from"),
            dst=label(kind, data.get("to")) if kind == "severity" else data.get("to"),
        )
    if kind == "assigned":
        target = ", ".join(str(x) for x in (data.get("user"), data.get("opd")) if x) or "—"
        return t("alert.ev.assigned", target=target)
    if kind == "escalated":
        parts = []
        if data.get("pimpinan"):
            parts.append(t("alerts.pimpinan"))
        if data.get("severity_to"):
            parts.append(
                f"{label('severity', data.get('severity_from'))} → "
                f"{label('severity', data['severity_to'])}"
            )
        return t("alert.ev.escalated", target=", ".join(parts))
    if kind == "resolved":
        return t("alert.ev.resolved", outcome=label("outcome", data.get("outcome")))
    key = f"alert.ev.{kind}"
    text = t(key)
    return kind if text == key else text


def timeline(d: q.AlertDetail) -> Any:
    tz = context.settings().timezone
    lang = current_lang()
    items = []
    for ev in reversed(d.events):  # newest first
        data = ev.data or {}
        extra = data.get("text") or data.get("note")
        if ev.type in ("sop_tick", "sop_untick"):
            step = next((s.step for s in d.steps if s.step.key == data.get("step")), None)
            extra = step.text(lang) if step else data.get("text")
        actor = t("alert.system") if ev.actor == "sistem" else ev.actor
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Strong(_event_text(ev)),
                            html.Span(f" · {actor}", className="text-secondary"),
                        ]
                    ),
                    html.Div(extra, className="small") if extra else None,
                    html.Div(local_time(ev.at, tz), className="pantau-footnote"),
                ],
                className=f"pantau-tl pantau-tl-{ev.type}",
            )
        )
    return html.Ul(items, className="pantau-timeline list-unstyled mb-0", id="alert-timeline-list")


def evidence_frame(d: q.AlertDetail) -> Any:
    a = d.alert
    if not a.evidence_path:
        return html.P(t("alert.no_snapshot"), className="text-secondary small mb-0")
    return html.Div(
        [
            html.A(
                html.Img(src=f"/evidence/{a.evidence_path}", alt=a.title, className="w-100"),
                href=f"/evidence/{a.evidence_path}",
                target="_blank",
                className="pantau-frame d-block mb-1",
            ),
            html.Div(f"SHA-256 {a.evidence_sha256 or '—'}", className="pantau-footnote text-break"),
        ]
    )


def readings_figure(data: dict[str, Any] | None) -> Any:
    if not data or not data["ts"]:
        return html.P(t("alert.no_readings"), className="text-secondary small mb-0")
    tz = context.settings().timezone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    fig = components.base_figure(200)
    name = (
        t(f"alert.metric.{data['metric']}")
        if data["metric"] in ("water", "people")
        else f"{data['name']} ({data['unit']})"
    )
    fig.add_trace(
        go.Scatter(
            x=[ts.astimezone(zone).replace(tzinfo=None) for ts in data["ts"]],
            y=data["values"],
            mode="lines+markers",
            name=name,
            marker={"size": 4},
        )
    )
    fig.update_layout(
        showlegend=False, yaxis_title=name, margin={"l": 50, "r": 10, "t": 10, "b": 30}
    )
    return html.Div(
        [
            html.Div(
                t(
                    "alert.readings_sub",
                    name=data["name"],
                    start=local_time(data["ts"][0], tz),
                    end=local_time(data["ts"][-1], tz, with_date=False),
                ),
                className="pantau-footnote",
            ),
            dcc.Graph(figure=fig, config={"displayModeBar": False}, id="alert-readings-graph"),
        ]
    )


def reports_list(rows) -> Any:
    if not rows:
        return html.P(t("alert.no_reports"), className="text-secondary small mb-0")
    lang = current_lang()
    tz = context.settings().timezone
    return html.Ul(
        [
            html.Li(
                f"{r.tracking_id} · {fmt_number(r.distance_m)} m · {category_label(r.category, lang)}"
                f" · {status_label(r.status, lang)} · {local_time(r.created_at, tz)}",
                className="small",
            )
            for r in rows
        ],
        className="mb-0 ps-3",
        id="alert-reports-list",
    )


def cameras_grid(cams) -> Any:
    if not cams:
        return html.P(t("alert.no_cameras"), className="text-secondary small mb-0")
    tz = context.settings().timezone
    return dbc.Row(
        [
            dbc.Col(
                html.A(
                    [
                        html.Img(
                            src=f"/snapshots/{c.code}.jpg?v={int(c.last_seen_at.timestamp()) if c.last_seen_at else 0}",
                            alt=c.name,
                            className="w-100 pantau-frame",
                        ),
                        html.Div(
                            f"{c.name} · {fmt_number(c.distance_m)} m",
                            className="small fw-semibold",
                        ),
                        html.Div(local_time(c.last_seen_at, tz), className="pantau-footnote"),
                    ],
                    href=f"/camera/{c.code}",
                    className="text-decoration-none text-reset",
                ),
                xs=6,
                md=4,
                className="mb-2",
            )
            for c in cams
        ],
        className="g-2",
        id="alert-cameras-grid",
    )


def visible(d: q.AlertDetail | None, actor: wf.Actor) -> bool:
    """Whether ``actor`` may see this alert (OPD staff: only their OPD's assignments)."""
    if d is None:
        return False
    return not actor.is_opd or wf.opd_can_see(d.alert, actor.opd_id)


def sections(alert_id: int, actor: wf.Actor) -> tuple[Any, Any, Any] | None:
    """State table, SOP checklist and timeline of one alert (None: not visible)."""
    with context.db().session() as s:
        d = q.load(s, alert_id)
        if not visible(d, actor):
            return None
        can_tick = actor.role in (*WRITE_ROLES, "opd")
        return state_table(d), sop_list(d, can_tick), timeline(d)


# --------------------------------------------------------------------------------------------
# callbacks
def _message(ok: bool, text: str) -> Any:
    return dbc.Alert(text, color="success" if ok else "danger", className="py-1 px-2 mb-0 small",
                     id="alert-feedback", duration=6000 if ok else None)  # fmt: skip


def _button_states(status: str) -> tuple[bool, bool, bool, bool]:
    """disabled flags of ack, assign, escalate, resolve in ``status``."""
    resolved = status == AlertStatus.RESOLVED
    return status != AlertStatus.OPEN, resolved, resolved, resolved


def operator_action(
    trigger: str | None,
    alert_id: int | None,
    values: dict[str, Any],
    actor: wf.Actor | None = None,
    now: datetime | None = None,
) -> tuple[Any, ...]:
    """Apply one operator action; returns (message, 4 disabled flags, version bump)."""
    actor = actor or current_actor()
    lang = current_lang()
    alert_id = as_id(alert_id)
    if alert_id is None or not isinstance(trigger, str):
        return (no_update,) * 6
    values = {
        "user": as_text(values.get("user"), 64),
        "opd": as_id(values.get("opd")),
        "severity": as_text(values.get("severity"), 32),
        "pimpinan": values.get("pimpinan") is True,
        "esc_note": as_text(values.get("esc_note")),
        "outcome": as_text(values.get("outcome"), 32),
        "res_note": as_text(values.get("res_note")),
    }
    try:
        with context.db().session() as s:
            if trigger == "alert-act-ack":
                a = wf.acknowledge(s, alert_id, actor, now=now)
            elif trigger == "alert-act-assign":
                a = wf.assign(s, alert_id, actor, user=values.get("user"),
                              opd_id=values.get("opd"), now=now)  # fmt: skip
            elif trigger == "alert-act-escalate":
                a = wf.escalate(s, alert_id, actor, severity=values.get("severity"),
                                to_pimpinan=bool(values.get("pimpinan")),
                                note=values.get("esc_note"), now=now)  # fmt: skip
            elif trigger == "alert-act-resolve":
                a = wf.resolve(s, alert_id, actor, values.get("outcome") or "",
                               note=values.get("res_note"), now=now)  # fmt: skip
            else:
                return (no_update,) * 6
            status = a.status
    except wf.WorkflowError as exc:
        with context.db().session() as s:
            from store.models import Alert

            row = s.get(Alert, alert_id)
            flags = _button_states(row.status) if row is not None else (True,) * 4
        return (_message(False, exc.text(lang)), *flags, datetime.now(UTC).isoformat())
    cache.clear()
    return (_message(True, t("alert.done")), *_button_states(status), datetime.now(UTC).isoformat())


def opd_action(
    trigger: Any,
    alert_id: int | None,
    note: str | None,
    actor: wf.Actor | None = None,
    now: datetime | None = None,
) -> tuple[Any, Any, Any]:
    """A note or a SOP tick (allowed to the alert's OPD too): (message, note box, version)."""
    actor = actor or current_actor()
    lang = current_lang()
    alert_id = as_id(alert_id)
    note = as_text(note)
    if alert_id is None or trigger is None:
        return no_update, no_update, no_update
    try:
        with context.db().session() as s:
            if trigger == "alert-opd-note-save":
                wf.add_note(s, alert_id, actor, note or "", now=now)
                cleared: Any = ""
            elif isinstance(trigger, dict) and trigger.get("type") == "alert-opd-tick":
                raw = str(trigger.get("index") or "")
                wf.tick_step(s, alert_id, actor, raw[1:], done=raw.startswith("+"), now=now)
                cleared = no_update
            else:
                return no_update, no_update, no_update
    except wf.WorkflowError as exc:
        return _message(False, exc.text(lang)), no_update, datetime.now(UTC).isoformat()
    return _message(True, t("alert.done")), cleared, datetime.now(UTC).isoformat()


def _act(_a, _b, _c, _d, alert_id, user, opd, severity, pimpinan, esc_note, outcome, res_note):
    trigger = ctx.triggered_id if ctx.triggered else None
    if not isinstance(trigger, str) or not any(t_["value"] for t_ in ctx.triggered):
        return (no_update,) * 6
    values = {"user": user, "opd": opd, "severity": severity, "pimpinan": pimpinan,
              "esc_note": esc_note, "outcome": outcome, "res_note": res_note}  # fmt: skip
    return operator_action(trigger, alert_id, values)


def _opd(_save, _ticks, alert_id, note):
    trigger = ctx.triggered_id if ctx.triggered else None
    if not trigger or not any(t_["value"] for t_ in ctx.triggered):
        return no_update, no_update, no_update
    return opd_action(trigger, alert_id, note)


def _render(_version, alert_id):
    alert_id = as_id(alert_id)
    if alert_id is None:
        return no_update, no_update, no_update
    out = sections(alert_id, current_actor())
    if out is None:
        return no_update, no_update, no_update
    return out


def register_callbacks(app) -> None:
    app.callback(
        Output("alert-act-msg", "children"),
        Output("alert-act-ack", "disabled"),
        Output("alert-act-assign", "disabled"),
        Output("alert-act-escalate", "disabled"),
        Output("alert-act-resolve", "disabled"),
        Output("alert-version", "data"),
        Input("alert-act-ack", "n_clicks"),
        Input("alert-act-assign", "n_clicks"),
        Input("alert-act-escalate", "n_clicks"),
        Input("alert-act-resolve", "n_clicks"),
        State("alert-id", "data"),
        State("alert-act-user", "value"),
        State("alert-act-opd", "value"),
        State("alert-act-severity", "value"),
        State("alert-act-pimpinan", "value"),
        State("alert-act-esc-note", "value"),
        State("alert-act-outcome", "value"),
        State("alert-act-res-note", "value"),
        prevent_initial_call=True,
    )(_act)
    app.callback(
        Output("alert-opd-msg", "children"),
        Output("alert-opd-note", "value"),
        Output("alert-version", "data", allow_duplicate=True),
        Input("alert-opd-note-save", "n_clicks"),
        Input({"type": "alert-opd-tick", "index": ALL}, "n_clicks"),
        State("alert-id", "data"),
        State("alert-opd-note", "value"),
        prevent_initial_call=True,
    )(_opd)
    app.callback(
        Output("alert-state", "children"),
        Output("alert-sop", "children"),
        Output("alert-timeline", "children"),
        Input("alert-version", "data"),
        State("alert-id", "data"),
        prevent_initial_call=True,
    )(_render)


def register(app) -> None:
    register_callbacks(app)
