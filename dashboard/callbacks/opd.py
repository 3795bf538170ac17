"""Callbacks of the OPD indicators page (``opd-*``)."""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, ctx, dcc, html

from dashboard import auth, cache, components, context
from dashboard.i18n import current_lang, fmt_number, local_time, t
from dashboard.i18n import register as register_strings
from dashboard.queries import opd as opd_queries
from store.db import Database

logger = logging.getLogger(__name__)

# strings of the page (registered here: callbacks are imported wherever the app is built)
register_strings(
    {
        "opd.sub": {
            "id": "Capaian indikator kinerja tiap OPD terhadap target. Klik kartu untuk riwayat.",
            "en": "Each department's indicators against target. Click a card for its history.",
        },
        "opd.filter": {"id": "OPD", "en": "Department"},
        "opd.filter.all": {"id": "Semua OPD", "en": "All departments"},
        "opd.target": {"id": "Target", "en": "Target"},
        "opd.attainment": {"id": "Capaian", "en": "Attainment"},
        "opd.lower_better": {"id": "makin rendah makin baik", "en": "lower is better"},
        "opd.higher_better": {"id": "makin tinggi makin baik", "en": "higher is better"},
        "opd.status.good": {"id": "Tercapai", "en": "On target"},
        "opd.status.watch": {"id": "Perlu perhatian", "en": "Watch"},
        "opd.status.bad": {"id": "Di bawah target", "en": "Below target"},
        "opd.status.none": {"id": "Tanpa target", "en": "No target"},
        "opd.history": {"id": "Riwayat", "en": "History"},
        "opd.close": {"id": "Tutup", "en": "Close"},
        "opd.period": {"id": "Periode", "en": "Period"},
        "opd.updated": {"id": "Diperbarui {time} oleh {who}", "en": "Updated {time} by {who}"},
        "opd.updated.demo": {"id": "Data demo", "en": "Demo data"},
        "opd.updated.unknown": {"id": "Pengirim tidak tercatat", "en": "Sender not recorded"},
        "opd.changes": {"id": "Riwayat koreksi", "en": "Correction history"},
        "opd.changes.new": {"id": "baru", "en": "new"},
        "opd.who.key": {"id": "kunci API {name}", "en": "API key {name}"},
        "opd.changes.none": {
            "id": "Belum ada nilai yang dikirim atau dikoreksi.",
            "en": "No value has been sent or corrected yet.",
        },
        "opd.changes.when": {"id": "Waktu", "en": "When"},
        "opd.changes.who": {"id": "Oleh", "en": "By"},
        "opd.changes.change": {"id": "Perubahan", "en": "Change"},
        "opd.changes.source": {"id": "Sumber", "en": "Source"},
        "opd.source.import": {"id": "impor", "en": "import"},
        "opd.source.upload": {"id": "unggah", "en": "upload"},
        "opd.source.api": {"id": "API", "en": "API"},
        "opd.value": {"id": "Nilai", "en": "Value"},
        "opd.summary": {
            "id": "{good} tercapai · {watch} perlu perhatian · {bad} di bawah target",
            "en": "{good} on target · {watch} watch · {bad} below target",
        },
    }
)

STATUS_COLOR = {"good": "#2fb344", "watch": "#f59f00", "bad": "#d63939", "none": "#8a94a6"}
MONTHS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]


def _db(db: Database | None) -> Database:
    return db or context.db()


def month_label(d) -> str:
    if current_lang() == "id":
        return f"{MONTHS_ID[d.month - 1]} {d.year}"
    return d.strftime("%b %Y")


def sparkline(card: opd_queries.IndicatorCard) -> go.Figure:
    fig = go.Figure()
    xs = [d for d, _ in card.history]
    ys = [v for _, v in card.history]
    fig.add_scatter(
        x=xs, y=ys, mode="lines", line={"color": STATUS_COLOR[card.status], "width": 2},
        fill="tozeroy", fillcolor="rgba(138,148,166,0.12)", hoverinfo="skip",
    )  # fmt: skip
    if card.target is not None:
        fig.add_hline(y=card.target, line={"color": "#8a94a6", "dash": "dot", "width": 1})
    lo = min([*ys, card.target or ys[0]]) if ys else 0
    hi = max([*ys, card.target or ys[0]]) if ys else 1
    pad = (hi - lo) * 0.15 or 1
    fig.update_layout(
        height=56, margin={"l": 0, "r": 0, "t": 2, "b": 2}, showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False}, yaxis={"visible": False, "range": [lo - pad, hi + pad]},
    )  # fmt: skip
    return fig


def indicator_card(card: opd_queries.IndicatorCard) -> Any:
    name = card.name_en if current_lang() == "en" and card.name_en else card.name
    attainment = card.attainment
    direction = t("opd.higher_better" if card.higher_is_better else "opd.lower_better")
    return dbc.Col(
        html.Button(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(
                            [
                                html.Span(card.opd_code, className="badge text-bg-dark me-2"),
                                html.Span(
                                    t(f"opd.status.{card.status}"),
                                    className="badge",
                                    style={"background": STATUS_COLOR[card.status]},
                                ),
                            ],
                            className="mb-1",
                        ),
                        html.Div(name, className="fw-semibold small", style={"minHeight": "2.4em"}),
                        html.Div(
                            [
                                html.Span(fmt_number(card.latest, 1), className="pantau-kpi-value"),
                                html.Span(f" {card.unit}", className="text-secondary"),
                            ]
                        ),
                        html.Div(
                            [
                                f"{t('opd.target')}: {fmt_number(card.target, 1)} {card.unit}"
                                if card.target is not None
                                else t("opd.status.none"),
                                " · ",
                                f"{t('opd.attainment')}: {fmt_number(attainment * 100, 0)} %"
                                if attainment is not None
                                else "—",
                            ],
                            className="pantau-footnote",
                        ),
                        dcc.Graph(
                            figure=sparkline(card),
                            config={"displayModeBar": False, "staticPlot": True},
                            style={"height": "56px"},
                        ),
                        html.Div(
                            [
                                month_label(card.latest_period) if card.latest_period else "—",
                                f" · {direction}",
                            ],
                            className="pantau-footnote",
                        ),
                        html.Div(
                            updated_line(card),
                            className="pantau-footnote text-truncate opd-card-updated",
                            title=updated_line(card),
                        ),
                    ],
                    className="p-3",
                ),
                className=f"pantau-card pantau-kpi status-{card.status} text-start",
            ),
            id={"type": "opd-card", "index": card.id},
            className="pantau-kpi-open w-100 p-0 border-0 bg-transparent text-start",
            n_clicks=0,
            title=t("opd.history"),
        ),
        xs=12,
        sm=6,
        lg=4,
        xxl=3,
    )


def own_opd_code(db: Database | None = None) -> str | None:
    """The OPD code of a signed-in ``opd`` user (None for command-center staff and outside a
    request). OPD staff see their own OPD's indicators whatever filter the browser sends."""
    from flask import has_request_context

    if not has_request_context() or auth.current_role() != auth.OPD_ROLE:
        return None
    from store.models import Opd

    with _db(db).session() as s:
        opd = s.get(Opd, auth.current_opd_id())
        return opd.code if opd is not None else None


def fmt_value(v: float | None, unit: str = "") -> str:
    """A sent value as written (97.5 -> "97,5 %", 13850 -> "13.850 Rp/kg"), up to 3 decimals."""
    if v is None:
        return "—"
    decimals = next((d for d in range(4) if round(v, d) == v), 3)
    return f"{fmt_number(v, decimals)} {unit}".strip()


def who_label(who: str | None) -> str:
    """A writer as people read it: an account's name, "kunci API dishub-atcs" for a key."""
    if not who:
        return "?"
    if who.startswith("key:"):
        return t("opd.who.key", name=who[4:])
    return who


def updated_line(card: opd_queries.IndicatorCard) -> str:
    """When the latest value was last written and by whom (WIB), or that it is demo data."""
    if card.latest_period is None:
        return ""
    if card.latest_is_demo:
        return t("opd.updated.demo")
    if card.updated_at is None:
        return t("opd.updated.unknown")
    return t(
        "opd.updated",
        time=local_time(card.updated_at, context.settings().timezone),
        who=who_label(card.updated_by),
    )


def update_cards(
    opd_filter: Any, saved: Any = None, *, db: Database | None = None
) -> tuple[list[Any], str]:
    codes = [opd_filter] if isinstance(opd_filter, str) else list(opd_filter or [])
    codes = [c for c in codes if isinstance(c, str)][:50]
    own = own_opd_code(db)
    if own is not None:
        codes = [own]
    with _db(db).session() as s:
        # the newest write's id: any save, import or API write shows at once (no stale cache)
        version = opd_queries.values_version(s)
        cards = cache.memo(
            f"opd:cards:{_db(db).url}|{','.join(codes)}|{version}",
            60,
            lambda: opd_queries.indicator_cards(s, codes or None),
        )
    counts = {k: sum(1 for c in cards if c.status == k) for k in ("good", "watch", "bad")}
    return [indicator_card(c) for c in cards], t("opd.summary", **counts)


def history_figure(card: opd_queries.IndicatorCard) -> go.Figure:
    fig = components.base_figure(320)
    xs = [d for d, _ in card.history]
    ys = [v for _, v in card.history]
    colors = []
    for v in ys:
        probe = opd_queries.IndicatorCard(**{**card.__dict__, "latest": v})
        colors.append(STATUS_COLOR[probe.status])
    fig.add_bar(x=xs, y=ys, marker={"color": colors}, name=t("opd.value"),
                hovertemplate=f"%{{y:,.1f}} {card.unit}<extra></extra>")  # fmt: skip
    if card.target is not None:
        fig.add_hline(
            y=card.target, line={"color": components.NAVY, "dash": "dash"},
            annotation_text=f"{t('opd.target')} {fmt_number(card.target, 1)} {card.unit}",
        )  # fmt: skip
    fig.update_yaxes(title={"text": card.unit, "font": {"size": 11}})
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def open_history(
    clicks: list[int | None],
    close_clicks: int | None,
    is_open: bool,
    *,
    db: Database | None = None,
    trigger: Any = None,
) -> tuple:
    """Open the history modal for the clicked card (or close it)."""
    trigger = trigger if trigger is not None else ctx.triggered_id
    nothing = (dash.no_update,) * 5
    if trigger == "opd-modal-close" or not trigger:
        return (False, *nothing)
    if not any(clicks or []):
        return (dash.no_update, *nothing)
    indicator_id = trigger["index"] if isinstance(trigger, dict) else None
    with _db(db).session() as s:
        card = opd_queries.indicator_history(s, int(indicator_id)) if indicator_id else None
    own = own_opd_code(db)
    if card is None or (own is not None and card.opd_code != own):
        return (False, *nothing)
    with _db(db).session() as s:
        changes = opd_queries.indicator_changes(s, card.id)
    name = card.name_en if current_lang() == "en" and card.name_en else card.name
    meta = html.Div(
        [
            html.Span(card.opd_name, className="badge text-bg-dark me-2"),
            f"{t('opd.target')}: {fmt_number(card.target, 1)} {card.unit} · ",
            t("opd.higher_better" if card.higher_is_better else "opd.lower_better"),
        ],
        className="small",
    )
    rows = [
        html.Tr(
            [
                html.Td(month_label(d)),
                html.Td(f"{fmt_number(v, 1)} {card.unit}", className="text-end"),
            ]
        )
        for d, v in reversed(card.history[-24:])
    ]
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th(t("opd.period")), html.Th(t("opd.value"), className="text-end")])),
         html.Tbody(rows)],
        size="sm", striped=True, className="mb-0",
    )  # fmt: skip
    return True, name, meta, history_figure(card), table, changes_table(changes, card.unit)


def changes_table(changes: list[opd_queries.Change], unit: str) -> Any:
    """Every write of the indicator's values, newest first: period, old -> new, who, when."""
    if not changes:
        return html.Div(t("opd.changes.none"), className="text-secondary")
    tz = context.settings().timezone

    def value(v: float | None) -> str:
        return fmt_value(v, unit)

    rows = [
        html.Tr(
            [
                html.Td(c.period, className="text-nowrap"),
                html.Td(
                    (
                        [value(c.old_value), " → ", html.Strong(value(c.new_value))]
                        if c.old_value is not None
                        else [html.Strong(value(c.new_value)), f" ({t('opd.changes.new')})"]
                    )
                    + ([html.Div(c.note, className="text-secondary")] if c.note else []),
                ),
                html.Td(who_label(c.who), className="text-break"),
                html.Td(local_time(c.ts, tz), className="text-nowrap"),
                html.Td(
                    [t(f"opd.source.{c.source}")]
                    + (
                        [html.Div(c.source_ref, className="text-secondary text-break")]
                        if c.source_ref
                        else []
                    ),
                ),  # fmt: skip
            ]
        )
        for c in changes
    ]
    head = [t("opd.period"), t("opd.changes.change"), t("opd.changes.who"),
            t("opd.changes.when"), t("opd.changes.source")]  # fmt: skip
    return html.Div(
        dbc.Table(
            [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
            size="sm",
            striped=True,
            className="mb-0",
            id="opd-changes-table",
        ),  # fmt: skip
        className="table-responsive",
    )


def register(app) -> None:
    app.callback(
        Output("opd-cards", "children"),
        Output("opd-summary", "children"),
        Input("opd-filter", "value"),
        Input("opd-saved", "data"),
    )(update_cards)
    app.callback(
        Output("opd-modal", "is_open"),
        Output("opd-modal-title", "children"),
        Output("opd-modal-meta", "children"),
        Output("opd-modal-graph", "figure"),
        Output("opd-modal-table", "children"),
        Output("opd-modal-changes", "children"),
        Input({"type": "opd-card", "index": ALL}, "n_clicks"),
        Input("opd-modal-close", "n_clicks"),
        State("opd-modal", "is_open"),
        prevent_initial_call=True,
    )(open_history)
