"""Video wall (``/dinding``): live tiles of a camera group for the operators' screens.

Layouts 1, 2x2, 3x3 and 4x4; groups by kecamatan, function (tag), owner, cameras in alert, or
saved custom groups; pages of the group rotate every few seconds (pausable); a click enlarges a
tile; a camera with a new alert takes a tile of its own. ``?kiosk=1`` is the wall-screen
variant (no controls), e.g. ``/dinding?kiosk=1&layout=3x3&group=kecamatan:Ilir Barat I&every=20``.

The tiles' pictures come over one connection per wall (``/api/dinding/live``,
dashboard/api/dinding.py) read by assets/pantau_dinding.js; the callbacks
(dashboard/callbacks/dinding.py) decide which cameras are on screen.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.i18n import register, t
from dashboard.labels import tag_label
from dashboard.queries import wall as wall_queries
from dashboard.wall_layout import GROUP_KINDS, LAYOUTS, parse_group, parse_layout

STAFF = ("pimpinan", "operator", "analis", "admin")
GROUP_WRITERS = ("operator", "admin")

dash.register_page(
    __name__,
    path="/dinding",
    title="Dinding Video — Pantau",
    order=6,
    nav_key="nav.wall",
    icon="bi-grid-3x3-gap",
    roles=STAFF,
    id_prefix="dinding",
    write_ids=("dinding-save", "dinding-delete"),
    write_roles=GROUP_WRITERS,
)

register(
    {
        "nav.wall": {"id": "Dinding", "en": "Wall"},
        "wall.title": {"id": "Dinding Video", "en": "Video Wall"},
        "wall.layout": {"id": "Tata letak", "en": "Layout"},
        "wall.group": {"id": "Grup kamera", "en": "Camera group"},
        "wall.kind.all": {"id": "Semua kamera", "en": "All cameras"},
        "wall.kind.kecamatan": {"id": "Kecamatan", "en": "District"},
        "wall.kind.tag": {"id": "Fungsi", "en": "Function"},
        "wall.kind.owner": {"id": "Pemilik", "en": "Owner"},
        "wall.kind.alert": {"id": "Sedang ada peringatan", "en": "In alert"},
        "wall.kind.custom": {"id": "Grup tersimpan", "en": "Saved group"},
        "wall.pick": {"id": "Pilih…", "en": "Choose…"},
        "wall.every": {"id": "Ganti halaman tiap", "en": "Next page every"},
        "wall.seconds": {"id": "detik", "en": "s"},
        "wall.pause": {"id": "Jeda", "en": "Pause"},
        "wall.play": {"id": "Lanjut", "en": "Resume"},
        "wall.kiosk": {"id": "Layar dinding", "en": "Wall screen"},
        "wall.edit": {"id": "Grup…", "en": "Groups…"},
        "wall.page": {
            "id": "Halaman {page}/{pages} · {n} kamera · {state}",
            "en": "Page {page}/{pages} · {n} cameras · {state}",
        },
        "wall.rotating": {"id": "berganti tiap {s} detik", "en": "next page every {s} s"},
        "wall.paused": {"id": "dijeda", "en": "paused"},
        "wall.single": {"id": "satu halaman", "en": "one page"},
        "wall.empty": {
            "id": "Tidak ada kamera dalam grup ini.",
            "en": "This group has no cameras.",
        },
        "wall.back": {"id": "Kembali ke dinding", "en": "Back to the wall"},
        "wall.enlarge": {"id": "Klik untuk memperbesar", "en": "Click to enlarge"},
        "wall.waiting": {"id": "Menunggu gambar…", "en": "Waiting for a picture…"},
        "wall.busy": {"id": "Server penuh, mencoba lagi…", "en": "Server busy, retrying…"},
        "wall.none": {
            "id": "Belum ada gambar dari kamera ini",
            "en": "No picture from this camera yet",
        },
        "wall.gone": {"id": "Kamera tidak tersedia", "en": "Camera not available"},
        "wall.public": {"id": "publik · disamarkan", "en": "public · blurred"},
        "wall.new_alert": {"id": "PERINGATAN BARU", "en": "NEW ALERT"},
        "wall.status.online": {"id": "online", "en": "online"},
        "wall.status.degraded": {"id": "gangguan", "en": "degraded"},
        "wall.status.offline": {"id": "mati", "en": "offline"},
        "wall.status.unknown": {"id": "belum diketahui", "en": "unknown"},
        "wall.status.disabled": {"id": "nonaktif", "en": "disabled"},
        "wall.group_name": {"id": "Nama grup", "en": "Group name"},
        "wall.group_cameras": {"id": "Kamera dalam grup", "en": "Cameras in the group"},
        "wall.save": {"id": "Simpan grup", "en": "Save group"},
        "wall.delete": {"id": "Hapus grup terpilih", "en": "Delete chosen group"},
        "wall.saved": {
            "id": "Grup “{name}” disimpan ({n} kamera).",
            "en": "Saved “{name}” ({n} cameras).",
        },
        "wall.deleted": {"id": "Grup dihapus.", "en": "Group deleted."},
        "wall.delete_none": {
            "id": "Pilih dulu grup tersimpan yang akan dihapus.",
            "en": "Choose a saved group to delete first.",
        },
        "wall.age_hint": {
            "id": "Umur gambar: sejak gambar diambil kamera.",
            "en": "Picture age: since the camera took the picture.",
        },
    }
)


def _int_param(value: object, default: int, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def group_value_options(kind: str) -> list[dict]:
    with context.db().session() as s:
        values = wall_queries.group_values(s, kind)
    if kind == "tag":
        return [{"label": tag_label(v), "value": v} for v, _label in values]
    return [{"label": label, "value": v} for v, label in values]


def layout(layout: str | None = None, group: str | None = None, every: str | None = None, **_kw):
    cfg = context.settings()
    kiosk = str(_kw.get("kiosk", "")) == "1"
    chosen = parse_layout(layout or ("3x3" if kiosk else None))
    spec = parse_group(group)
    seconds = _int_param(every, cfg.wall_rotate_seconds, 5, 600)
    with context.db().session() as s:
        cameras = wall_queries.camera_choices(s)
    value_opts = group_value_options(spec.kind)
    controls = html.Div(
        [
            dbc.RadioItems(
                id="dinding-layout",
                options=[{"label": key, "value": key} for key in LAYOUTS],
                value=chosen,
                inline=True,
                className="btn-group dinding-layouts",
                inputClassName="btn-check",
                labelClassName="btn btn-sm btn-outline-light",
                labelCheckedClassName="active",
            ),
            dcc.Dropdown(
                id="dinding-kind",
                options=[{"label": t(f"wall.kind.{k}"), "value": k} for k in GROUP_KINDS],
                value=spec.kind,
                clearable=False,
                searchable=False,
                className="dinding-dd dinding-dd-kind",
            ),
            dcc.Dropdown(
                id="dinding-value",
                options=value_opts,
                value=spec.value,
                placeholder=t("wall.pick"),
                className="dinding-dd dinding-dd-value",
                disabled=spec.kind in ("all", "alert"),
            ),
            html.Label(
                [
                    html.Span(t("wall.every"), className="d-none d-xl-inline"),
                    html.I(className="bi bi-arrow-repeat d-xl-none", title=t("wall.every")),
                    dcc.Input(
                        id="dinding-every",
                        type="number",
                        min=5,
                        max=600,
                        step=1,
                        value=seconds,
                        className="form-control form-control-sm dinding-every",
                    ),
                    html.Span(t("wall.seconds")),
                ],
                className="dinding-every-label",
            ),
            dbc.Button(
                [html.I(className="bi bi-pause-fill me-1"), html.Span(t("wall.pause"))],
                id="dinding-pause",
                n_clicks=0,
                size="sm",
                color="light",
                outline=True,
            ),
            html.Span(id="dinding-status", className="dinding-status"),
            html.Div(
                [
                    dbc.Button(
                        [html.I(className="bi bi-collection me-1"), t("wall.edit")],
                        id="dinding-edit-toggle",
                        n_clicks=0,
                        size="sm",
                        color="light",
                        outline=True,
                    ),
                    html.A(
                        [html.I(className="bi bi-display me-1"), t("wall.kiosk")],
                        id="dinding-kiosk-link",
                        href="/dinding?kiosk=1",
                        target="_blank",
                        className="btn btn-sm btn-outline-light",
                    ),
                ],
                className="ms-lg-auto d-flex gap-2",
            ),
        ],
        className="dinding-controls pantau-no-kiosk",
    )
    editor = dbc.Collapse(
        html.Div(
            [
                dbc.Input(
                    id="dinding-save-name",
                    placeholder=t("wall.group_name"),
                    maxLength=80,
                    size="sm",
                    className="dinding-save-name",
                ),
                dcc.Dropdown(
                    id="dinding-save-cameras",
                    options=[{"label": label, "value": code} for code, label in cameras],
                    multi=True,
                    placeholder=t("wall.group_cameras"),
                    className="dinding-dd dinding-dd-cameras",
                ),
                dbc.Button(
                    t("wall.save"), id="dinding-save-button", n_clicks=0, size="sm", color="primary"
                ),
                dbc.Button(
                    t("wall.delete"),
                    id="dinding-delete-button",
                    n_clicks=0,
                    size="sm",
                    color="danger",
                    outline=True,
                ),
                html.Span(id="dinding-save-feedback", className="small", role="status"),
            ],
            className="dinding-editor",
        ),
        id="dinding-editor",
        is_open=False,
        className="pantau-no-kiosk",
    )
    return html.Div(
        [
            html.H1(t("wall.title"), className="visually-hidden"),
            controls,
            editor,
            html.Div(
                [
                    dbc.Button(
                        [html.I(className="bi bi-arrow-left me-1"), t("wall.back")],
                        id="dinding-back",
                        n_clicks=0,
                        size="sm",
                        color="light",
                        className="dinding-back",
                    ),
                ],
                id="dinding-back-bar",
                className="dinding-back-bar",
                hidden=True,
            ),
            html.Div(
                id="dinding-grid",
                className=f"dinding-grid dinding-cols-{LAYOUTS[chosen][1]}",
                **{
                    "data-wait": t("wall.waiting"),
                    "data-none": t("wall.none"),
                    "data-busy": t("wall.busy"),
                    "data-gone": t("wall.gone"),
                },
            ),
            dcc.Store(id="dinding-focus", data=None),
            dcc.Store(id="dinding-kiosk", data=kiosk),
            dcc.Store(id="dinding-groups-version", data=0),
            dcc.Interval(id="dinding-rotate", interval=seconds * 1000, n_intervals=0),
            dcc.Interval(id="dinding-refresh", interval=5000, n_intervals=0),
        ],
        className="dinding-page" + (" dinding-kiosk" if kiosk else ""),
        id="dinding-page",
    )
