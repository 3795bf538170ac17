"""One recording (``/bukti/<id>``, staff): the clip, where and when, who or what started it,
each file with its SHA-256, the chain of custody, the package download, and (operators and
admins) the hold for a case. Opening the page is a "viewed" entry in the custody log."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, components, context
from dashboard.api.evidence_items import note_view
from dashboard.callbacks.evidence import status_badge
from dashboard.i18n import fmt_number, local_time, t
from store import evidence as ev

STAFF = ("pimpinan", "operator", "analis", "admin")

dash.register_page(
    __name__,
    path_template="/bukti/<item_id>",
    path="/bukti/1",
    title="Bukti — Pantau",
    order=93,
    roles=STAFF,
    id_prefix="rekaman",
    write_ids=("rekaman-hold", "rekaman-release"),
)


def seconds_time(ts, tz: str) -> str:  # noqa: ANN001
    """Evidence times to the second, in the display zone (e.g. ``30-11-2026 05:48:07 WIB``)."""
    if ts is None:
        return "—"
    zone = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(tz, tz)
    return ts.astimezone(ZoneInfo(tz)).strftime("%d-%m-%Y %H:%M:%S") + f" {zone}"


def _row(label: str, value) -> html.Tr:  # noqa: ANN001
    return html.Tr([html.Th(label, className="text-secondary fw-normal small"), html.Td(value)])


def _missing(raw: str) -> dbc.Container:
    return dbc.Container(
        [
            html.H1(t("404.title"), className="h3 mt-4"),
            html.P(t("ev.not_found", id=raw[:20]), className="lead", id="rekaman-missing"),
            dbc.Button(t("ev.back"), href="/bukti", color="primary"),
        ],
        className="py-4",
    )


def _hold_form(item) -> html.Div:  # noqa: ANN001
    if item.held_for_case:
        return html.Div(
            [
                dbc.Badge(t("ev.held", case=item.case_ref), color="dark", className="me-2"),
                dbc.Button(
                    t("ev.release"),
                    id="rekaman-release-btn",
                    size="sm",
                    color="secondary",
                    outline=True,
                ),  # fmt: skip
                html.Div(id="rekaman-release-msg", className="small mt-1"),
            ]
        )
    return html.Div(
        [
            dbc.InputGroup(
                [
                    dbc.Input(id="rekaman-hold-case", maxLength=100, placeholder=t("ev.hold_ph")),
                    dbc.Button(t("ev.hold"), id="rekaman-hold-btn", color="dark"),
                ],
                size="sm",
            ),
            html.Div(id="rekaman-hold-msg", className="small mt-1"),
        ]
    )


def layout(item_id: str | None = None, **_kwargs):
    raw = str(item_id or "")
    if not raw.isdigit() or len(raw) > 12:
        return _missing(raw)
    tz = context.settings().timezone
    with context.db().session() as s:
        try:
            item = ev.get_item(s, int(raw))
        except ev.EvidenceError:
            return _missing(raw)
    note_view(item.id, "page")  # before the log is read: this view is on it
    with context.db().session() as s:
        item = ev.get_item(s, item.id)
        files = list(item.files)
        chain = ev.custody_rows(s, item.id)
    live = [f for f in files if f.deleted_at is None]
    clip = next((f for f in live if f.kind == "clip" and f.mime == "video/mp4"), None)
    player = (
        html.Video(
            src=f"/evidence/rekaman/{item.id}/{clip.path.rsplit('/', 1)[-1]}",
            controls=True,
            preload="metadata",
            className="w-100 pantau-evidence-video",
            id="rekaman-video",
        )
        if clip
        else html.P(t("ev.no_clip"), className="text-secondary")
    )
    wall = f"{seconds_time(item.started_at, tz)} – {seconds_time(item.ended_at, tz)}"
    timeline = (
        f"{fmt_number(item.stream_start_s, 2)} + {fmt_number(item.stream_duration_s, 2)}"
        if item.stream_duration_s is not None
        else "—"
    )
    details = dbc.Table(
        html.Tbody(
            [
                _row(
                    t("ev.status"),
                    [
                        status_badge(item.status),
                        html.Span(f" {item.reason or ''}", className="small"),
                    ],
                ),  # fmt: skip
                _row(
                    t("ev.camera"),
                    html.A(
                        f"{item.camera_code} — {item.camera_name}",
                        href=f"/camera/{item.camera_code}",
                    ),
                ),  # fmt: skip
                _row(t("ev.f.location"), item.location or "—"),
                _row(t("ev.f.kecamatan"), item.kecamatan or "—"),
                _row(t("ev.f.stream"), f"{item.stream_kind} · {item.method or '—'}"),
                _row(t("ev.f.wall"), wall),
                _row(t("ev.f.stream_time"), timeline),
                _row(t("ev.f.asked"), fmt_number(item.requested_seconds)),
                _row(t("ev.f.preroll"), fmt_number(item.preroll_seconds, 1)),
                _row(t("ev.f.frames"), fmt_number(item.frames) if item.frames else "—"),
                _row(t("ev.col.by"), f"{item.started_by} ({t('ev.trigger.' + item.trigger)})"),
                _row(
                    t("ev.f.alert"),
                    html.A(f"#{item.alert_id}", href=f"/peringatan/{item.alert_id}")
                    if item.alert_id
                    else "—",
                ),  # fmt: skip
            ]
        ),
        size="sm",
        borderless=True,
        className="mb-0",
    )
    file_rows = [
        html.Tr(
            [
                html.Td(f.path.rsplit("/", 1)[-1]),
                html.Td(f.kind),
                html.Td(fmt_number(f.bytes), className="text-end"),
                html.Td(html.Code(f.sha256, className="small text-break")),
            ],
            className="text-decoration-line-through" if f.deleted_at else None,
        )
        for f in files
    ]
    files_table = dbc.Table(
        [html.Thead(html.Tr([html.Th(t("ev.f.file")),
                             html.Th(t("ev.f.kind")), html.Th(t("ev.f.bytes")), html.Th("SHA-256")])),
         html.Tbody(file_rows)],
        size="sm", className="mb-0 small pantau-evidence-files",
    )  # fmt: skip
    chain_rows = [
        html.Tr(
            [
                html.Td(seconds_time(c.at, tz), className="text-nowrap"),
                html.Td(t(f"ev.c.{c.action}")),
                html.Td(c.actor),
            ]
        )  # fmt: skip
        for c in chain
    ]
    chain_table = dbc.Table(
        [html.Thead(html.Tr([html.Th(t("audit.time")), html.Th(t("ev.f.action")),
                             html.Th(t("ev.f.actor"))])), html.Tbody(chain_rows)],
        size="sm", className="mb-0 small",
    )  # fmt: skip
    can_get = bool(live) and item.status in ("complete", "partial")
    right = html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-download me-1"), t("ev.zip")],
                href=f"/evidence/paket/{item.id}.zip",
                external_link=True,
                size="sm",
                color="primary",
                disabled=not can_get,
                id="rekaman-download",
            ),  # fmt: skip
            dbc.Button(
                [html.I(className="bi bi-arrow-left me-1"), t("ev.back")],
                href="/bukti",
                size="sm",
                color="secondary",
                outline=True,
            ),  # fmt: skip
        ],
        className="d-flex gap-2",
    )
    can_write = auth.current_role() in auth.WRITE_DEFAULT
    left = [
        components.card(t("ev.clip"), player, fill=False, className="mb-3"),
        components.card(t("ev.files"), files_table, fill=False, className="mb-3"),
    ]
    side = [
        components.card(t("ev.details"), details, fill=False, className="mb-3"),
        components.card(t("ev.col.hold"), _hold_form(item), fill=False, className="mb-3")
        if can_write
        else None,
        components.card(
            t("ev.custody"),
            html.Div(chain_table, className="pantau-evidence-custody"),
            fill=False,
            className="mb-3",
        ),  # fmt: skip
    ]
    return dbc.Container(
        [
            components.page_header(
                t("ev.item", id=item.id),
                f"{item.camera_code} · {local_time(item.created_at, tz)}",
                right=right,
                page="rekaman",
            ),  # fmt: skip
            dbc.Row([dbc.Col(left, lg=7), dbc.Col(side, lg=5)], className="g-3"),
            dcc.Store(id="rekaman-id", data=item.id),
        ],
        fluid=True,
        className="pb-3",
    )
