"""Callbacks of the admin page "Ingestion" (``/admin/ingestion``): one refresh on a timer that
reads :func:`dashboard.queries.ingestion.ingest_snapshot` and renders tiles, the per-minute
outcome chart, the process table, cameras by status and failing cameras by reason."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, html

from dashboard import auth, context
from dashboard.components import base_layout, tile, tz_label
from dashboard.i18n import current_lang, fmt_number, local_time, t
from dashboard.queries.ingestion import ingest_snapshot
from ingestion import metrics as im

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
OUTCOME_COLOURS = {
    "stored": "#2fb344",
    "failed": "#d63939",
    "expired": "#f59f00",
    "late": "#ae3ec9",
}
STATUS_COLOURS = {
    "online": "success",
    "degraded": "warning",
    "offline": "danger",
    "unknown": "secondary",
    "disabled": "light",
}
MAX_REASONS = 6
MAX_FAILING = 6
MAX_PROCESSES = 6
PHONE_HIDDEN = "d-none d-sm-table-cell"  # columns a 390 px phone leaves out


def _clock(ts: float | datetime | None, with_date: bool = False) -> str:
    """``14:05:09 WIB`` (seconds matter for heartbeats); with the date when asked."""
    if ts is None:
        return "—"
    tz = context.settings().timezone
    when = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    if with_date:
        return local_time(when, tz)
    return f"{when.astimezone(ZoneInfo(tz)):%H:%M:%S} {tz_label()}"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return t("ingest.ago_s", n=fmt_number(seconds))
    if seconds < 5400:
        return t("ingest.ago_min", n=fmt_number(seconds / 60))
    if seconds < 2 * 86400:
        return t("ingest.ago_h", n=fmt_number(seconds / 3600, 1))
    return t("ingest.ago_d", n=fmt_number(seconds / 86400, 1))


def _seconds(value: float | None) -> str:
    return "—" if value is None else fmt_number(value, 1)


def _kind_label(kind: str) -> str:
    """``"Tidak merespons / not responding"`` -> the part in the reader's language."""
    if " / " not in kind:
        return kind
    id_part, en_part = kind.split(" / ", 1)
    return en_part[:1].upper() + en_part[1:] if current_lang() == "en" else id_part


def _outcome_label(outcome: str) -> str:
    return t(f"ingest.outcome.{outcome}") if outcome in im.OUTCOMES else outcome


# --------------------------------------------------------------------------------------------
# pieces
def tiles(snap: dict[str, Any]) -> list:
    s = snap["summary"]
    now = snap["now"]
    until = t("ingest.window", n=s["window_minutes"], time=_clock(now))
    per_min = s["per_minute"]
    stored, failed = per_min.get("stored", 0.0), per_min.get("failed", 0.0)
    p95 = s["lateness_p95_s"]
    queue_total = sum((snap.get("queues") or {}).values())
    sched = snap.get("scheduler") or {}
    waiting = queue_total + int(sched.get("due", 0))
    inflight = int(sched.get("inflight", 0)) + int(snap.get("unacked") or 0)
    backlog = snap.get("writer_backlog")
    rss_total = sum(p.get("rss_bytes") or 0 for p in snap["processes"])
    restarts = snap.get("worker_restarts", 0)
    cols = [
        tile(
            "admin-ingestion-p50",
            "bi-stopwatch",
            t("ingest.tile.p50"),
            _seconds(s["lateness_p50_s"]),
            "s",
            until,
        ),
        tile(
            "admin-ingestion-p95",
            "bi-hourglass-split",
            t("ingest.tile.p95"),
            _seconds(p95),
            "s",
            until,
            state="" if p95 is None else ("bad" if p95 >= 60 else "warn" if p95 >= 15 else "ok"),
        ),
        tile(
            "admin-ingestion-stored",
            "bi-check2-circle",
            t("ingest.tile.stored"),
            fmt_number(stored, 1),
            t("ingest.unit.per_min"),
            t("ingest.total_since", n=fmt_number(s["totals"].get("stored", 0)), time=until),
        ),
        tile(
            "admin-ingestion-failed",
            "bi-x-octagon",
            t("ingest.tile.failed"),
            fmt_number(failed, 1),
            t("ingest.unit.per_min"),
            t("ingest.total_since", n=fmt_number(s["totals"].get("failed", 0)), time=until),
            state="bad" if stored + failed and failed / (stored + failed) > 0.2 else "",
        ),
        tile(
            "admin-ingestion-queue",
            "bi-list-task",
            t("ingest.tile.queue"),
            fmt_number(waiting),
            t("ingest.unit.samples"),
            t(
                "ingest.queue_sub",
                inflight=fmt_number(inflight),
                backlog="—" if backlog is None else fmt_number(backlog),
                time=_clock(now),
            ),
        ),
        tile(
            "admin-ingestion-rss",
            "bi-memory",
            t("ingest.tile.rss"),
            fmt_number(rss_total / MIB) if snap["processes"] else "—",
            "MiB",
            t(
                "ingest.rss_sub",
                n=len(snap["processes"]),
                restarts=fmt_number(restarts),
                time=_clock(now),
            ),
        ),
    ]
    return [dbc.Col(c, xs=6, md=4, xl=2, className="mb-2") for c in cols]


def outcome_figure(snap: dict[str, Any]) -> dict[str, Any]:
    series = im.per_minute_series(snap["metrics"], snap["now"])
    tz = ZoneInfo(context.settings().timezone)
    xs = [
        datetime.fromtimestamp(m, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M") for m, _ in series
    ]
    layout = base_layout(200)
    layout["barmode"] = "stack"
    layout["margin"] = {"l": 44, "r": 8, "t": 28, "b": 36}
    layout["xaxis"] = {
        **layout["xaxis"],
        "title": {"text": t("ui.time_axis", tz=tz_label())},
        "type": "date",
        "tickformat": "%H:%M",
        "hoverformat": "%H:%M",
    }
    layout["yaxis"] = {**layout["yaxis"], "title": {"text": t("ingest.unit.samples_per_min")}}
    data = []
    for outcome in im.OUTCOMES:
        ys = [counts.get(outcome, 0) for _, counts in series]
        if outcome != "stored" and not any(ys):
            continue
        data.append(
            {
                "type": "bar",
                "name": _outcome_label(outcome),
                "x": xs,
                "y": ys,
                "marker": {"color": OUTCOME_COLOURS[outcome]},
                "hovertemplate": "%{y} "
                + t("ingest.unit.samples")
                + "<extra>%{fullData.name}</extra>",
            }
        )
    if not any(any(d["y"]) for d in data):
        layout["annotations"] = [
            {
                "text": t("ingest.no_samples"),
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
            }
        ]
    return {"data": data, "layout": layout}


def process_table(snap: dict[str, Any]) -> Any:
    procs = snap["processes"]
    if not procs:
        return html.P(t("ingest.no_processes"), className="text-secondary small mb-0 p-2")
    now = snap["now"]
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(k), className=PHONE_HIDDEN if k == "ingest.col.host" else None)
                for k in (
                    "ingest.col.role",
                    "ingest.col.pid",
                    "ingest.col.host",
                    "ingest.col.rss",
                    "ingest.col.heartbeat",
                )
            ]
        )
    )
    rows = []
    for p in procs[:MAX_PROCESSES]:
        beat = p.get("heartbeat_at")
        late = beat is not None and now - beat > 15
        role = t(f"ingest.role.{p.get('role')}") if p.get("role") else "—"
        rows.append(
            html.Tr(
                [
                    html.Td([role, html.Span(f" · {p.get('mode')}", className="text-secondary")]),
                    html.Td(html.Code(str(p.get("pid", "—")))),
                    html.Td(str(p.get("host") or "—"), className=f"text-truncate {PHONE_HIDDEN}"),
                    html.Td(
                        "—"
                        if p.get("rss_bytes") is None
                        else f"{fmt_number(p['rss_bytes'] / MIB)} MiB",
                        className="text-end text-nowrap",
                    ),
                    html.Td(
                        [
                            _clock(beat),
                            html.Span(
                                f" ({_ago(now - beat)})" if beat else "",
                                className=("text-danger " if late else "text-secondary ")
                                + ("d-none d-sm-inline" if not late else ""),
                            ),
                        ],
                        className="text-nowrap",
                    ),
                ]
            )
        )
    if len(procs) > MAX_PROCESSES:
        rest = procs[MAX_PROCESSES:]
        rss = sum(p.get("rss_bytes") or 0 for p in rest) / MIB
        rows.append(
            html.Tr(
                html.Td(
                    f"{t('ingest.more', n=len(rest))} · {fmt_number(rss)} MiB",
                    colSpan=5,
                    className="text-secondary",
                )
            )
        )
    return dbc.Table(
        [head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0 small"
    )


def status_badges(snap: dict[str, Any]) -> Any:
    counts = snap["cameras_by_status"]
    total = sum(counts.values())
    items = [
        html.Span(
            [
                t(f"status.{status}"),
                html.Span(
                    f" {fmt_number(counts.get(status, 0))}",
                    className="fw-bold",
                    id=f"admin-ingestion-status-{status}",
                ),
            ],
            className=f"badge rounded-pill text-bg-{colour} me-1 mb-1 fs-6 fw-normal",
        )
        for status, colour in STATUS_COLOURS.items()
    ]
    return html.Div(
        [
            html.Div(items),
            html.Div(
                t("ingest.cameras_total", n=fmt_number(total), time=_clock(snap["now"])),
                className="pantau-footnote",
            ),
        ]
    )


def reasons_table(snap: dict[str, Any]) -> Any:
    groups = snap["failing_by_reason"]
    if not groups:
        return html.P(t("ingest.no_failing"), className="text-secondary small mb-0 p-2")
    now = snap["now"]
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("ingest.col.reason")),
                html.Th(t("ingest.col.cameras"), className="text-end"),
                html.Th(t("ingest.col.offline"), className=f"text-end {PHONE_HIDDEN}"),
                html.Th(t("ingest.col.since")),
                html.Th(t("ingest.col.examples"), className="d-none d-md-table-cell"),
            ]
        )
    )
    rows = []
    for g in groups[:MAX_REASONS]:
        since = g["since"]
        rows.append(
            html.Tr(
                [
                    html.Td(_kind_label(g["kind"])),
                    html.Td(fmt_number(g["cameras"]), className="text-end"),
                    html.Td(fmt_number(g["offline"]), className=f"text-end {PHONE_HIDDEN}"),
                    html.Td(
                        [
                            _clock(since, with_date=True),
                            html.Span(
                                f" ({_ago(now - since.timestamp())})" if since else "",
                                className=f"text-secondary {PHONE_HIDDEN.replace('table-cell', 'inline')}",
                            ),
                        ],
                        className="text-nowrap",
                    ),
                    html.Td(
                        ", ".join(g["codes"]) + (" …" if g["cameras"] > len(g["codes"]) else ""),
                        className="d-none d-md-table-cell text-secondary",
                    ),
                ]
            )
        )
    if len(groups) > MAX_REASONS:
        rows.append(html.Tr(html.Td(t("ingest.more", n=len(groups) - MAX_REASONS), colSpan=5)))
    return dbc.Table(
        [head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0 small"
    )


def failing_table(snap: dict[str, Any]) -> Any:
    rows_in = snap["failing"]
    if not rows_in:
        return html.P(t("ingest.no_failing"), className="text-secondary small mb-0 p-2")
    now = snap["now"]
    rows = []
    for r in rows_in[:MAX_FAILING]:
        since = r["since"]
        rows.append(
            html.Tr(
                [
                    html.Td(
                        html.A(r["code"], href=f"/camera/{r['code']}"), className="text-nowrap"
                    ),
                    html.Td(
                        html.Span(
                            t(f"status.{r['status']}"),
                            className=f"badge text-bg-{STATUS_COLOURS.get(r['status'], 'secondary')}",
                        )
                    ),
                    html.Td(
                        _kind_label(r["kind"]),
                        title=(r["reason"] or "").partition(":")[2].strip() or None,  # detail
                        className="text-truncate",
                        style={"maxWidth": "14rem"},
                    ),
                    html.Td(
                        _ago(now - since.timestamp()) if since else "—",
                        className="text-nowrap text-secondary",
                        title=_clock(since, with_date=True) if since else None,
                    ),
                ]
            )
        )
    if len(rows_in) > MAX_FAILING:
        rows.append(html.Tr(html.Td(t("ingest.more", n=len(rows_in) - MAX_FAILING), colSpan=4)))
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("ingest.col.camera")),
                html.Th(t("ingest.col.status")),
                html.Th(t("ingest.col.reason")),
                html.Th(t("ingest.col.for")),
            ]
        )
    )
    return dbc.Table(
        [head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0 small"
    )


def source_note(snap: dict[str, Any]) -> Any:
    """Where the figures come from, or why there are none."""
    parts = []
    local = snap.get("local")
    if local is not None:
        key = "ingest.src.local" if snap["local_live"] else "ingest.src.local_stale"
        parts.append(t(key, time=_clock(local.get("updated_ts"), with_date=True)))
    if snap.get("celery") is not None:
        parts.append(t("ingest.src.celery"))
    if not parts:
        return dbc.Alert(t("ingest.src.none"), color="secondary", className="py-1 px-2 mb-1 small")
    colour = (
        "warning" if local is not None and not snap["local_live"] and not snap["celery"] else None
    )
    if colour:
        return dbc.Alert(" · ".join(parts), color=colour, className="py-1 px-2 mb-1 small")
    return html.Div(" · ".join(parts), className="pantau-footnote")


def refresh(_n: int | None = None):
    """Everything the page shows, from one snapshot."""
    auth.require_role(auth.ADMIN)
    t0 = time.perf_counter()
    snap = ingest_snapshot(context.settings(), context.db())
    out = (
        tiles(snap),
        outcome_figure(snap),
        process_table(snap),
        status_badges(snap),
        reasons_table(snap),
        failing_table(snap),
        source_note(snap),
        t("ui.updated", time=_clock(snap["now"])),
    )
    logger.debug("ingestion page refresh in %.1f ms", (time.perf_counter() - t0) * 1000)
    return out


def register(app: dash.Dash) -> None:
    app.callback(
        Output("admin-ingestion-tiles", "children"),
        Output("admin-ingestion-outcomes", "figure"),
        Output("admin-ingestion-processes", "children"),
        Output("admin-ingestion-statuses", "children"),
        Output("admin-ingestion-reasons", "children"),
        Output("admin-ingestion-failing", "children"),
        Output("admin-ingestion-source", "children"),
        Output("admin-ingestion-updated", "children"),
        Input("admin-ingestion-interval", "n_intervals"),
    )(refresh)
