"""Callbacks of the complaint statistics page (``/pengaduan``)."""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
import dash_leaflet as dl
import plotly.graph_objects as go
from dash import Input, Output, html

from dashboard import components, context
from dashboard.callbacks import complaints_common  # noqa: F401
from dashboard.i18n import current_lang, fmt_number, local_time, t
from dashboard.queries import complaints as q
from store.complaints import CELL_DEG as STORE_CELL_DEG
from store.complaints import category_label

logger = logging.getLogger(__name__)

CACHE_S = 30
CELL_DEG = STORE_CELL_DEG  # ~550 m at Palembang's latitude (the rollup's cell)
#: yellow -> red, by share of the busiest cell
PALETTE = ["#fff3b0", "#ffd166", "#f8961e", "#f3722c", "#d62828", "#9d0208"]


def _color(share: float) -> str:
    idx = min(len(PALETTE) - 1, int(share * len(PALETTE)))
    return PALETTE[idx]


def heat_layer(cells: list[dict], cell_deg: float = CELL_DEG) -> list:
    """One rectangle per grid cell, coloured and shaded by its weight (log scale)."""
    if not cells:
        return []
    top = max(c["weight"] for c in cells)
    scale = math.log1p(top) or 1.0
    shapes = []
    for c in cells:
        share = math.log1p(c["weight"]) / scale
        colour = _color(share)
        shapes.append(
            dl.Rectangle(
                bounds=q.cell_bounds(c["cy"], c["cx"], cell_deg),
                color=colour,
                weight=0.5,
                fillColor=colour,
                fillOpacity=0.25 + 0.5 * share,
                children=dl.Tooltip(
                    t(
                        "complaints.cell_tip",
                        total=fmt_number(c["total"]),
                        open=fmt_number(c["open"]),
                    )
                ),
            )
        )
    return shapes


def legend(cells: list[dict]) -> list:
    if not cells:
        return [html.Span("0 " + t("unit.reports"), className="text-secondary")]
    top = max(c["weight"] for c in cells)
    items = []
    for i, colour in enumerate(PALETTE):
        lo = math.expm1(i / len(PALETTE) * math.log1p(top))
        items.append(
            html.Span(
                [
                    html.Span(
                        className="d-inline-block me-1 align-middle border",
                        style={"width": "14px", "height": "14px", "background": colour},
                    ),
                    f"≥ {fmt_number(lo, 1 if lo < 10 else 0)}",
                ],
                className="me-3",
            )
        )
    items.append(html.Span(t("unit.reports"), className="text-secondary"))
    return items


def _tile(label: str, value: str, unit: str, tone: str = "") -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(label, className="text-secondary small"),
                    html.Span(value, className=f"fs-3 fw-bold me-1 {tone}"),
                    html.Span(unit, className="text-secondary small"),
                ]
            ),
            className="shadow-sm h-100",
        ),
        xs=6,
        md=4,
        xl=2,
        className="mb-3",
    )


def kpi_tiles(k: q.ComplaintKpis) -> dbc.Row:
    pct = lambda v: "—" if v is None else fmt_number(v, 0)  # noqa: E731
    rep = t("unit.reports")
    return dbc.Row(
        [
            _tile(t("complaints.kpi_total"), fmt_number(k.total), rep),
            _tile(t("complaints.kpi_open"), fmt_number(k.open_now), rep),
            _tile(
                t("complaints.kpi_overdue_dispatch"),
                fmt_number(k.overdue_dispatch),
                rep,
                "text-danger" if k.overdue_dispatch else "",
            ),
            _tile(
                t("complaints.kpi_overdue_followup"),
                fmt_number(k.overdue_followup),
                rep,
                "text-danger" if k.overdue_followup else "",
            ),
            _tile(t("complaints.kpi_dispatch_ontime"), pct(k.dispatch_on_time_pct), "%"),
            _tile(t("complaints.kpi_followup_ontime"), pct(k.followup_on_time_pct), "%"),
        ],
        id="complaints-kpi-row",
    )


def daily_figure(df, lang: str) -> go.Figure:
    fig = components.base_figure()
    if not df.empty:
        fig.add_bar(x=df["day"], y=df["reports"] - df["open"], name=t("complaints.view_closed"))
        fig.add_bar(x=df["day"], y=df["open"], name=t("complaints.kpi_open"))
    fig.update_layout(
        barmode="stack",
        margin=dict(l=40, r=10, t=10, b=30),
        yaxis_title=t("unit.reports"),
        height=None,  # the graph's style sets it
        hovermode="x",
    )
    return fig


def category_figure(df, lang: str) -> go.Figure:
    fig = components.base_figure()
    if not df.empty:
        df = df.head(10).iloc[::-1]
        fig.add_bar(
            y=[category_label(c, lang) for c in df["category"]],
            x=df["reports"],
            orientation="h",
            marker_color="#0b5ed7",
        )
    fig.update_layout(
        margin=dict(l=10, r=10, t=10, b=30),
        xaxis_title=t("unit.reports"),
        yaxis=dict(dtick=1, automargin=True),
        height=None,  # the graph's style sets it
        hovermode="closest",
        showlegend=False,
    )
    return fig


def opd_table(df) -> dbc.Table | html.Div:
    if df.empty:
        return html.Div("—", className="p-3 text-secondary")

    def num(v, d=0):
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt_number(v, d)

    head = html.Thead(
        html.Tr(
            [
                html.Th(t(f"complaints.col.{c}"))
                for c in (
                    "opd",
                    "reports",
                    "open",
                    "median_dispatch",
                    "median_resolve",
                    "dispatch_ok",
                    "followup_ok",
                    "late_now",
                )  # fmt: skip
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(r.opd),
                    html.Td(num(r.reports)),
                    html.Td(num(r.open)),
                    html.Td(num(r.median_dispatch_h, 1)),
                    html.Td(num(r.median_resolve_h, 1)),
                    html.Td(num(r.dispatch_on_time_pct)),
                    html.Td(num(r.followup_on_time_pct)),
                    html.Td(num(r.late_now), className="text-danger" if r.late_now else ""),
                ]
            )
            for r in df.itertuples()
        ]
    )
    return dbc.Table([head, body], striped=True, hover=True, responsive=True, size="sm",
                     className="mb-0", id="complaints-opd-table")  # fmt: skip


def refresh(period: str | None, category: str | None, view: str | None, _n: int | None):
    """Everything on the page for one filter choice."""
    started = time.perf_counter()
    lang = current_lang()
    days = int(period or 30)
    category = category if category and category != "all" else None
    view = view if view in ("live", "all", "closed") else "live"
    now = datetime.now(UTC)
    cfg = context.settings()

    def build():
        with context.db().session() as s:
            return (
                q.heatmap_cells(
                    s, days=days, category=category, view=view, cell_deg=CELL_DEG, now=now
                ),
                q.kpis(s, days=days, category=category, now=now),
                q.daily_counts(s, days=days, category=category, now=now),
                q.category_counts(s, days=days, now=now),
                q.opd_performance(s, days=days, category=category, now=now),
            )

    # every screen on the same filters shares one computation for CACHE_S seconds
    from dashboard.cache import memo

    cells, k, daily, cats, perf = memo(f"complaints:{days}:{category}:{view}", CACHE_S, build)
    now = k.as_of
    ms = (time.perf_counter() - started) * 1000
    logger.debug("complaints page refreshed in %.0f ms (%d cells)", ms, len(cells))
    title = t("complaints.map_title", m=int(CELL_DEG * 111_000))
    updated = f"{t('app.updated')}: {local_time(now, cfg.timezone)}"
    return (
        kpi_tiles(k),
        heat_layer(cells),
        legend(cells),
        title,
        daily_figure(daily, lang),
        category_figure(cats, lang),
        opd_table(perf),
        updated,
    )


def register(app: dash.Dash) -> None:
    app.callback(
        Output("complaints-kpis", "children"),
        Output("complaints-heat", "children"),
        Output("complaints-legend", "children"),
        Output("complaints-map-title", "children"),
        Output("complaints-daily", "figure"),
        Output("complaints-categories", "figure"),
        Output("complaints-opd", "children"),
        Output("complaints-updated", "children"),
        Input("complaints-period", "value"),
        Input("complaints-category", "value"),
        Input("complaints-view", "value"),
        Input("complaints-refresh", "n_intervals"),
    )(refresh)
