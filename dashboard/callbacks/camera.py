"""Callbacks of the camera detail page (``camera-*``)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from dash import Input, Output, State, html

from dashboard import components, context
from dashboard.i18n import local_time, t
from dashboard.i18n import register as register_strings
from dashboard.labels import area_label
from dashboard.queries import cameras as camera_queries
from store.db import Database

logger = logging.getLogger(__name__)

# strings of the page (registered here: callbacks are imported wherever the app is built)
register_strings(
    {
        "camera.not_found": {
            "id": "Kamera {code} tidak ditemukan.",
            "en": "Camera {code} not found.",
        },
        "camera.snapshot": {
            "id": "Gambar terakhir (teranotasi)",
            "en": "Latest snapshot (annotated)",
        },
        "camera.overlay": {
            "id": "Tampilkan ROI & garis hitung",
            "en": "Show ROIs & counting lines",
        },
        "camera.info": {"id": "Keterangan", "en": "Details"},
        "camera.health": {"id": "Riwayat kesehatan", "en": "Health history"},
        "camera.counts": {"id": "Hitungan per jam", "en": "Hourly counts"},
        "camera.profile": {
            "id": "Profil jam × hari, 28 hari terakhir",
            "en": "Hour × weekday profile, last 28 days",
        },
        "camera.profile.note": {
            "id": "{metric} ({unit}), rata-rata per jam dan hari dari jam yang ada datanya, "
            "{start}–{end} ({tz}).",
            "en": "{metric} ({unit}), mean by hour and weekday over the hours with data, "
            "{start}–{end} ({tz}).",
        },
        "camera.daily_mean": {
            "id": "rata-rata per sampel, per hari",
            "en": "mean per sample, per day",
        },
        "camera.hourly_mean": {
            "id": "rata-rata per sampel, per jam",
            "en": "mean per sample, per hour",
        },
        "camera.range.1": {"id": "24 jam", "en": "24 hours"},
        "camera.range.7": {"id": "7 hari", "en": "7 days"},
        "camera.range.30": {"id": "30 hari", "en": "30 days"},
        "camera.status": {"id": "Status", "en": "Status"},
        "camera.last_seen": {"id": "Terakhir terlihat", "en": "Last seen"},
        "camera.kecamatan": {"id": "Kecamatan", "en": "District"},
        "camera.address": {"id": "Alamat", "en": "Address"},
        "camera.owner": {"id": "Pemilik", "en": "Owner"},
        "camera.public": {"id": "Publik", "en": "Public"},
        "camera.tags": {"id": "Fungsi", "en": "Watches"},
        "camera.uptime": {"id": "Aktif (jam dengan data)", "en": "Up (hours with data)"},
        "camera.yes": {"id": "Ya", "en": "Yes"},
        "camera.no": {"id": "Tidak", "en": "No"},
        "camera.back": {"id": "Kembali ke peta", "en": "Back to the map"},
        "camera.no_events": {
            "id": "Belum ada perubahan status tercatat.",
            "en": "No status changes recorded yet.",
        },
        "camera.water": {"id": "Genangan tertinggi", "en": "Highest water coverage"},
        "camera.sample": {"id": "Sampel {at}", "en": "Sample {at}"},
        "camera.sample.none": {"id": "Belum ada sampel.", "en": "No sample yet."},
        "camera.sample.unknown": {
            "id": "hitungan belum diketahui (kamera baru mulai)",
            "en": "counts not known yet (camera just started)",
        },
        "camera.sample.people": {
            "id": "{n} orang ({moving} bergerak, {standing} berdiri)",
            "en": "{n} people ({moving} moving, {standing} standing)",
        },
        "camera.sample.vehicles": {
            "id": "{n} kendaraan ({moving} bergerak, {parked} parkir)",
            "en": "{n} vehicles ({moving} moving, {parked} parked)",
        },
        "camera.sample.dwell": {
            "id": "{roi}: kendaraan berhenti {min} menit",
            "en": "{roi}: vehicle stopped {min} min",
        },
        "camera.sample.objects": {
            "id": "{roi}: {n} benda diam {min} menit",
            "en": "{roi}: {n} static object(s) for {min} min",
        },
    }
)

ROI_COLORS = {
    "crowd": "#f2b705",
    "road": "#4dabf7",
    "flood": "#20c997",
    "no_parking": "#e8590c",
    "no_dumping": "#ae3ec9",
}
STATUS_COLORS = {"online": "#2fb344", "degraded": "#f59f00", "offline": "#d63939"}


def _db(db: Database | None) -> Database:
    return db or context.db()


def shapes_svg(rois: list[dict[str, Any]], lines: list[dict[str, Any]]) -> Any:
    """ROIs (polygons) and counting lines (a->b) in relative coordinates, as an SVG overlay
    with viewBox 0..100 so it stretches with the image."""
    parts = []
    for roi in rois or []:
        pts = roi.get("points") or []
        if len(pts) < 3:
            continue
        color = ROI_COLORS.get(roi.get("kind", ""), "#f2b705")
        coords = " ".join(f"{float(x) * 100:.2f},{float(y) * 100:.2f}" for x, y in pts)
        cx = sum(float(p[0]) for p in pts) / len(pts) * 100
        cy = sum(float(p[1]) for p in pts) / len(pts) * 100
        parts.append(
            f'<polygon points="{coords}" fill="{color}" fill-opacity="0.18" stroke="{color}" '
            f'stroke-width="0.5" vector-effect="non-scaling-stroke"/>'
            f'<text x="{cx:.2f}" y="{cy:.2f}" fill="{color}" font-size="3" text-anchor="middle">'
            f"{_esc(area_label(roi.get('name')))}</text>"
        )
    for line in lines or []:
        a, b = line.get("a"), line.get("b")
        if not a or not b:
            continue
        x1, y1, x2, y2 = (
            float(a[0]) * 100,
            float(a[1]) * 100,
            float(b[0]) * 100,
            float(b[1]) * 100,
        )
        parts.append(
            f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="#d63939" '
            f'stroke-width="3" vector-effect="non-scaling-stroke" stroke-dasharray="6 3"/>'
            f'<circle cx="{x2:.2f}" cy="{y2:.2f}" r="1" fill="#d63939"/>'
            f'<text x="{x1:.2f}" y="{y1 - 1.5:.2f}" fill="#ffffff" font-size="3">'
            f"{_esc(area_label(line.get('name')))}</text>"
        )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" preserveAspectRatio="none">'
        + "".join(parts)
        + "</svg>"
    )
    # an <img> of the SVG as a data URL: no raw HTML injection into the page
    import base64

    src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    if not parts:
        return None
    return html.Img(
        src=src,
        className="pantau-overlay",
        style={"position": "absolute", "inset": 0, "width": "100%", "height": "100%"},
        id="camera-shapes-img",
        alt="ROI",
        **{"data-shapes": str(len(parts))},
    )


def _esc(text: str) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def update_snapshot(
    _n: int | None, overlay: bool, code: str | None, *, db: Database | None = None
) -> tuple:
    """Refresh the snapshot (cache-busting query), overlay, the 'taken at' line and the
    latest sample's counts (moving / standing / parked, dwell per ROI)."""
    if not camera_queries.valid_code(code):
        return "", None, "", ""
    with _db(db).session() as s:
        cam = camera_queries.camera_info(s, code)
        obs = camera_queries.latest_sample(s, cam.id) if cam is not None else None
    if cam is None:
        return "", None, "", ""
    tz = context.settings().timezone
    stamp = int(cam.last_seen_at.timestamp()) if cam.last_seen_at else 0
    shapes = shapes_svg(cam.rois, cam.lines) if overlay else None
    taken = f"{t('camera.last_seen')}: {local_time(cam.last_seen_at, tz)}"
    return f"/snapshots/{cam.code}.jpg?v={stamp}", shapes, taken, sample_line(obs, tz)


def sample_line(obs: dict[str, Any] | None, tz: str) -> str:
    """The latest sample in one line: people moving / standing, vehicles moving / parked, and
    the ROIs where a vehicle is parked or a static object stays (minutes)."""
    if obs is None:
        return t("camera.sample.none")
    parts = [t("camera.sample", at=local_time(obs["ts"], tz))]
    extra = obs.get("extra") or {}
    if obs.get("people") is None or extra.get("cold"):
        return f"{parts[0]}: {t('camera.sample.unknown')}"
    people, vehicles = int(obs["people"] or 0), int(obs.get("vehicles") or 0)
    standing = min(people, int(extra.get("people_standing") or 0))
    parked = min(vehicles, int(extra.get("vehicles_parked") or 0))
    parts.append(t("camera.sample.people", n=people, moving=people - standing, standing=standing))
    parts.append(t("camera.sample.vehicles", n=vehicles, moving=vehicles - parked, parked=parked))
    for roi in extra.get("rois") or []:
        if not isinstance(roi, dict):
            continue
        name = str(roi.get("name", ""))[:40]
        if roi.get("dwell_s"):
            parts.append(t("camera.sample.dwell", roi=name, min=round(roi["dwell_s"] / 60)))
        if roi.get("objects"):
            parts.append(
                t("camera.sample.objects", roi=name, n=int(roi["objects"]),
                  min=round(float(roi.get("object_dwell_s") or 0) / 60))
            )  # fmt: skip
    return f"{parts[0]}: " + " · ".join(parts[1:])


def health_timeline(
    code: str | None, *, db: Database | None = None, now: datetime | None = None
) -> Any:
    """Status history of the last 7 days as a timeline strip and a list of changes."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=7)
    with _db(db).session() as s:
        cam = camera_queries.camera_info(s, code or "") if camera_queries.valid_code(code) else None
        if cam is None:
            return html.Div()
        events = camera_queries.status_history(s, cam.id, since, now)
        uptime = camera_queries.uptime_share(s, cam.id, since, now)
    tz = context.settings().timezone
    fig = components.base_figure(110)
    if events.empty:
        body = html.P(t("camera.no_events"), className="text-secondary small mb-1")
    else:
        ev = events.copy()
        ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
        ev["end"] = list(ev["ts"].iloc[1:]) + [pd.Timestamp(now)]
        for r in ev.itertuples():
            start = r.ts.tz_convert(tz).tz_localize(None)
            end = r.end.tz_convert(tz).tz_localize(None)
            fig.add_scatter(
                x=[start, end], y=[0, 0], mode="lines",
                line={"color": STATUS_COLORS.get(r.status, "#8a94a6"), "width": 22},
                name=t(f"status.{r.status}"), showlegend=False,
                hovertemplate=f"{t(f'status.{r.status}')}: {local_time(r.ts.to_pydatetime(), tz)}<extra></extra>",
            )  # fmt: skip
        fig.update_yaxes(visible=False)
        fig.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 24}, hovermode="closest")
        items = [
            html.Li(
                [
                    html.Span(t(f"status.{r.status}"), className="fw-semibold me-2"),
                    html.Span(
                        local_time(r.ts.to_pydatetime(), tz), className="text-secondary me-2"
                    ),
                    html.Span(r.reason or "", className="small"),
                ]
            )
            for r in ev.iloc[::-1].head(8).itertuples()
        ]
        body = html.Div(
            [
                components.dcc.Graph(
                    figure=fig, config={"displayModeBar": False}, style={"height": "110px"}
                ),
                html.Ul(items, className="list-unstyled small mb-0"),
            ]
        )
    up = (
        f"{t('camera.uptime')} (7 {t('ui.gran.day').lower()}): "
        f"{components.fmt_number(uptime * 100 if uptime is not None else None, 0)} %"
    )
    return html.Div([html.Div(up, className="pantau-footnote mb-1", id="camera-uptime"), body])


def update_counts(
    days: int | None, code: str | None, *, db: Database | None = None, now: datetime | None = None
) -> Any:
    now = now or datetime.now(UTC)
    days = days if days in (1, 7, 30) else 7
    with _db(db).session() as s:
        cam = camera_queries.camera_info(s, code or "") if camera_queries.valid_code(code) else None
        if cam is None:
            return components.empty_figure()
        df = camera_queries.camera_counts(s, cam.id, now - timedelta(days=days), now)
    if df.empty:
        return components.empty_figure(height=320)
    tz = context.settings().timezone
    x = pd.to_datetime(df["bucket"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    daily = days == 30  # 720 hourly points overlap: one mean per local day
    if daily:
        df = (
            df.assign(day=x.dt.floor("D"))
            .groupby("day", as_index=False)[["people", "vehicles", "water"]]
            .agg({"people": "mean", "vehicles": "mean", "water": "max"})
        )
        x = df["day"]
    fig = components.base_figure(320)
    fig.add_scatter(x=x, y=df["vehicles"], name=t("metric.vehicles"),
                    line={"color": components.NAVY, "width": 2},
                    hovertemplate=f"%{{y:,.1f}} {t('unit.vehicles')}")  # fmt: skip
    fig.add_scatter(x=x, y=df["people"], name=t("metric.people"),
                    line={"color": components.GOLD, "width": 2},
                    hovertemplate=f"%{{y:,.1f}} {t('unit.people')}")  # fmt: skip
    if df["water"].fillna(0).max() > 0:
        fig.add_scatter(x=x, y=df["water"], name=f"{t('camera.water')} (%)", yaxis="y2",
                        line={"color": "#4dabf7", "width": 1.5, "dash": "dot"},
                        hovertemplate="%{y:.0f} %")  # fmt: skip
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 100],
                                  "title": {"text": "%", "font": {"size": 11}}, "showgrid": False})  # fmt: skip
    mean = t("camera.daily_mean" if daily else "camera.hourly_mean")
    fig.update_yaxes(
        title={"text": f"{t('unit.vehicles')} / {t('unit.people')} ({mean})", "font": {"size": 11}}
    )
    fig.update_xaxes(
        title={"text": t("ui.time_axis", tz=components.tz_label()), "font": {"size": 11}}
    )
    return fig


def profile_metric(tags: list[str]) -> str:
    """What a camera's profile shows: vehicle flow for traffic cameras, people for crowd
    cameras, the share of time flooded for flood cameras."""
    tags = set(tags or [])
    if "traffic" in tags:
        return "flow"
    if "crowd" in tags:
        return "people"
    return "wet" if "flood" in tags else "vehicles"


def update_profile(
    code: str | None, *, db: Database | None = None, today: date | None = None
) -> tuple:
    """The camera's hour x weekday heatmap over the last 28 local days, and its note."""
    from dashboard.callbacks import _compare, _profile, _trend
    from dashboard.queries import profile as profile_queries

    database = _db(db)
    with database.session() as s:
        cam = camera_queries.camera_info(s, code or "") if camera_queries.valid_code(code) else None
        if cam is None:
            return components.empty_dict_figure(height=300), ""
        metric = profile_metric(cam.tags)
        last = today or components.default_range(1)[1]
        first = last - timedelta(days=27)
        sel = _trend.selection(first.isoformat(), last.isoformat(), "day")
        f = _trend.make_filter(sel, None, [cam.code], (metric,))
        cells = profile_queries.hour_weekday(s, f, metric)
    note = t(
        "camera.profile.note",
        metric=t(f"metric.{metric}"),
        unit=_compare.profile_unit(metric),
        start=f"{first:%d/%m/%Y}",
        end=f"{last:%d/%m/%Y}",
        tz=components.tz_label(),
    )
    return _profile.heatmap(cells, metric), note


def register(app) -> None:
    app.callback(
        Output("camera-profile", "figure"),
        Output("camera-profile-note", "children"),
        Input("camera-code", "data"),
    )(update_profile)
    app.callback(
        Output("camera-snapshot", "src"),
        Output("camera-shapes", "children"),
        Output("camera-snapshot-time", "children"),
        Output("camera-sample", "children"),
        Input("camera-interval", "n_intervals"),
        Input("camera-overlay", "value"),
        State("camera-code", "data"),
    )(update_snapshot)
    app.callback(
        Output("camera-health", "children"),
        Input("camera-code", "data"),
    )(health_timeline)
    app.callback(
        Output("camera-counts", "figure"),
        Input("camera-range", "value"),
        State("camera-code", "data"),
    )(update_counts)
