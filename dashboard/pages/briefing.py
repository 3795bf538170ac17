"""Daily briefing (``/laporan-harian``) for the pimpinan: yesterday (a WIB calendar day) against
the usual (same weekday over the previous four weeks), the alerts open now, complaints per OPD
with the LAPOR! deadlines missed, and incidents. Printable on A4 (``assets/briefing.css``:
no navigation, sections kept whole). ``?tanggal=YYYY-MM-DD`` shows another day.
The same content goes out at 07:00 as a message (``dashboard/briefing_job.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboard import context
from dashboard.alert_text import level_text, row_title
from dashboard.briefing_text import (
    DAYS,
    day_label,
    metric_rows,
    num_text,
    pct_text,
)
from dashboard.i18n import fmt_number, local_time, t
from dashboard.queries.briefing import Briefing, Compared, briefing, yesterday

dash.register_page(
    __name__,
    path="/laporan-harian",
    title="Laporan harian — Pantau",
    order=5,
    nav_key="nav.briefing",
    icon="bi-file-earmark-text",
    roles=("pimpinan", "operator", "analis", "admin"),
    id_prefix="briefing",
)


def _parse_day(value: Any, default: date) -> date:
    try:
        day = date.fromisoformat(str(value)) if value else default
    except ValueError:
        return default
    return min(day, default)  # today and later have no whole day yet


def _change(c: Compared) -> Any:
    pct = c.change_pct
    if pct is None:
        return html.Span("—", className="text-secondary")
    cls = "text-danger" if pct >= 25 else "text-primary" if pct <= -25 else "text-body"
    return html.Span(pct_text(pct), className=f"fw-semibold {cls}")


def _table(head: list[str], rows: list[list[Any]], table_id: str) -> html.Table:
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
            html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]),
        ],
        className="table table-sm align-middle mb-0 briefing-table",
        id=table_id,
    )


def _section(title: str, body: Any, section_id: str, note: str | None = None) -> html.Section:
    return html.Section(
        [
            html.H2(title, className="h5 mb-2"),
            html.P(note, className="small text-secondary mb-2") if note else None,
            body,
        ],
        className="briefing-section mb-4",
        id=section_id,
    )


def _yesterday_section(b: Briefing) -> html.Section:
    head = [
        t("briefing.col.measure"),
        day_label(b.day),
        t("briefing.col.usual"),
        t("briefing.col.change"),
    ]
    rows = [
        [label, num_text(c.value), num_text(c.usual), _change(c)] for label, c in metric_rows(b)
    ]
    return _section(
        t("briefing.s.yesterday"),
        _table(head, rows, "briefing-yesterday-table"),
        "briefing-yesterday",
        t("briefing.usual_note", weekday=t(f"briefing.weekday.{DAYS[b.day.weekday()]}")),
    )


def _alerts_section(b: Briefing, tz: str) -> html.Section:
    if not b.alerts:
        body: Any = html.P(t("briefing.no_alerts"), className="mb-0")
    else:
        rows = [
            [
                html.Span(
                    level_text(a),
                    className=f"badge text-bg-{'danger' if a.severity == 'critical' else 'warning'}",
                ),
                row_title(a),
                local_time(a.started_at, tz),
                t(f"briefing.alert_status.{a.status}") if a.status else "—",
            ]
            for a in b.alerts
        ]
        head = [
            t("briefing.col.level"),
            t("briefing.col.alert"),
            t("briefing.col.since"),
            t("briefing.col.status"),
        ]
        body = _table(head, rows, "briefing-alerts-table")
    return _section(t("briefing.s.alerts", n=len(b.alerts)), body, "briefing-alerts")


def _opd_section(b: Briefing) -> html.Section:
    summary = t(
        "briefing.overdue_summary",
        dispatch=fmt_number(b.overdue_dispatch),
        followup=fmt_number(b.overdue_followup),
    )
    if not b.opd:
        body: Any = html.P(t("briefing.no_opd"), className="mb-0")
    else:
        rows = [
            [
                html.Span(o.short_name, title=o.name),
                fmt_number(o.waiting),
                fmt_number(o.in_progress),
                html.Span(fmt_number(o.overdue), className="fw-semibold text-danger")
                if o.overdue
                else "0",
                fmt_number(o.resolved_day),
            ]
            for o in b.opd
        ]
        head = [
            t("briefing.col.opd"),
            t("briefing.col.waiting"),
            t("briefing.col.in_progress"),
            t("briefing.col.overdue"),
            t("briefing.col.resolved_day", day=day_label(b.day, short=True)),
        ]
        body = _table(head, rows, "briefing-opd-table")
    return _section(t("briefing.s.opd"), body, "briefing-opd", summary)


def _incidents_section(b: Briefing) -> html.Section:
    if not b.incidents:
        body: Any = html.P(t("briefing.no_incidents"), className="mb-0")
    else:
        rows = [
            [t(f"kind.{kind}") if kind else "—", num_text(c.value), num_text(c.usual), _change(c)]
            for kind, c in b.incidents.items()
        ]
        head = [
            t("briefing.col.kind"),
            day_label(b.day),
            t("briefing.col.usual"),
            t("briefing.col.change"),
        ]
        body = _table(head, rows, "briefing-incidents-table")
    return _section(t("briefing.s.incidents"), body, "briefing-incidents")


def layout(tanggal: str | None = None, **_kwargs) -> dbc.Container:
    settings = context.settings()
    tz = settings.timezone
    now = datetime.now(UTC)
    latest = yesterday(now, tz)
    day = _parse_day(tanggal, latest)
    with context.db().session() as s:
        b = briefing(s, day, tz, now=now)
    prev_day, next_day = day - timedelta(days=1), day + timedelta(days=1)
    nav = html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-chevron-left me-1"), t("briefing.prev")],
                href=f"/laporan-harian?tanggal={prev_day.isoformat()}",
                color="secondary",
                outline=True,
                size="sm",
                className="me-1",
                id="briefing-prev",
            ),
            dbc.Button(
                [t("briefing.next"), html.I(className="bi bi-chevron-right ms-1")],
                href=f"/laporan-harian?tanggal={next_day.isoformat()}",
                color="secondary",
                outline=True,
                size="sm",
                className="me-1",
                disabled=next_day > latest,
                id="briefing-next",
            ),
            dbc.Button(
                [html.I(className="bi bi-printer me-1"), t("briefing.print")],
                color="primary",
                size="sm",
                id="briefing-print",
            ),
        ],
        className="briefing-noprint d-flex flex-wrap align-items-start",
    )
    return dbc.Container(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H1(
                                t("briefing.title", day=day_label(day, weekday=True)),
                                className="h3 mb-1",
                                id="briefing-title",
                            ),
                            html.P(
                                t(
                                    "briefing.lead",
                                    city=settings.city_name,
                                    time=local_time(now, tz),
                                ),
                                className="text-secondary mb-0",
                            ),
                        ],
                        className="me-3",
                    ),
                    nav,
                ],
                className="d-flex flex-wrap justify-content-between align-items-start mt-3 mb-3",
            ),
            _yesterday_section(b),
            _alerts_section(b, tz),
            _opd_section(b),
            _incidents_section(b),
            html.P(
                t("briefing.footer"),
                className="small text-secondary briefing-footer",
            ),
        ],
        fluid=True,
        className="pb-4 briefing-page",
        id="briefing-page",
    )
