"""Camera management (``/admin/kamera``, admins only): a server-side filtered, paginated list;
a form to add, edit, disable and enable a camera; "Uji" (test one frame with the analytics);
an editor for ROIs and counting lines on the latest frame; a registry upload with a preview.
Layout only: the callbacks are in dashboard/callbacks/admin_cameras.py, admin_cameras_tools.py
and admin_cameras_upload.py.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.components import dropdown
from dashboard.i18n import register, t
from store.models import CameraOwner, CameraProtocol, CameraStatus

P = "admin-kamera"

dash.register_page(
    __name__,
    path="/admin/kamera",
    title="Kelola Kamera — Pantau",
    order=96,
    nav_key="nav.camera_admin",
    nav_group="admin",
    icon="bi-camera-video",
    roles=("admin",),
    id_prefix=P,
    write_ids=(P,),
    write_roles=("admin",),
)

register(
    {
        "nav.camera_admin": {"id": "Kelola Kamera", "en": "Manage cameras"},
        "cam.title": {"id": "Kelola Kamera", "en": "Manage Cameras"},
        "cam.lead": {
            "id": "Cari, tambah, ubah dan nonaktifkan kamera; uji satu gambar; gambar ROI dan "
            "garis hitung; unggah registri. Setiap perubahan dicatat di log audit dan dipakai "
            "ingesti dalam ±30 detik tanpa restart.",
            "en": "Search, add, edit and disable cameras; test one frame; draw ROIs and counting "
            "lines; upload a registry. Every change is audited and picked up by ingestion "
            "within about 30 seconds, without a restart.",
        },
        "cam.search": {"id": "Cari kode, nama, alamat…", "en": "Search code, name, address…"},
        "cam.f.status": {"id": "Semua status", "en": "All statuses"},
        "cam.f.owner": {"id": "Semua pemilik", "en": "All owners"},
        "cam.f.kecamatan": {"id": "Semua kecamatan", "en": "All kecamatan"},
        "cam.f.public": {"id": "Publik & non-publik", "en": "Public & private"},
        "cam.f.enabled": {"id": "Aktif & nonaktif", "en": "Enabled & disabled"},
        "cam.yes_public": {"id": "Publik", "en": "Public"},
        "cam.no_public": {"id": "Non-publik", "en": "Not public"},
        "cam.yes_enabled": {"id": "Aktif", "en": "Enabled"},
        "cam.no_enabled": {"id": "Nonaktif", "en": "Disabled"},
        "cam.sort": {"id": "Urutkan", "en": "Sort"},
        "cam.sort.name": {"id": "Nama", "en": "Name"},
        "cam.sort.code": {"id": "Kode", "en": "Code"},
        "cam.sort.status": {"id": "Status", "en": "Status"},
        "cam.tab.form": {"id": "Data kamera", "en": "Camera"},
        "cam.tab.test": {"id": "Uji", "en": "Test"},
        "cam.tab.roi": {"id": "ROI & garis", "en": "ROIs & lines"},
        "cam.tab.upload": {"id": "Unggah registri", "en": "Upload registry"},
        "cam.field.code": {"id": "Kode", "en": "Code"},
        "cam.field.name": {"id": "Nama", "en": "Name"},
        "cam.field.lat": {"id": "Lintang (lat)", "en": "Latitude"},
        "cam.field.lon": {"id": "Bujur (lon)", "en": "Longitude"},
        "cam.field.kecamatan": {"id": "Kecamatan", "en": "Kecamatan (district)"},
        "cam.field.address": {"id": "Alamat", "en": "Address"},
        "cam.field.owner": {"id": "Pemilik", "en": "Owner"},
        "cam.field.protocol": {"id": "Protokol", "en": "Protocol"},
        "cam.field.stream_url": {"id": "URL aliran", "en": "Stream URL"},
        "cam.field.sample_interval_s": {
            "id": "Interval sampel (detik)",
            "en": "Sample interval (seconds)",
        },
        "cam.field.is_public": {
            "id": "Tampil di CCTV publik (diburamkan)",
            "en": "Shown on public CCTV (blurred)",
        },
        "cam.field.tags": {"id": "Tag (pisahkan dengan ;)", "en": "Tags (separated by ;)"},
        "cam.save": {"id": "Simpan", "en": "Save"},
        "cam.new": {"id": "Kamera baru", "en": "New camera"},
        "cam.disable": {"id": "Nonaktifkan", "en": "Disable"},
        "cam.enable": {"id": "Aktifkan", "en": "Enable"},
        "cam.open": {"id": "Buka", "en": "Open"},
        "cam.test.run": {"id": "Uji satu gambar", "en": "Test one frame"},
        "cam.test.hint": {
            "id": "Mengambil SATU gambar dengan pengaturan kamera yang tersimpan (batas waktu "
            "sama dengan ingesti) lalu menjalankan analitik.",
            "en": "Fetches ONE frame with the camera's saved settings (the same timeouts as "
            "ingestion) and runs the analytics on it.",
        },
        "cam.roi.mode": {"id": "Gambar", "en": "Draw"},
        "cam.roi.mode.roi": {"id": "ROI (poligon)", "en": "ROI (polygon)"},
        "cam.roi.mode.line": {"id": "Garis hitung", "en": "Counting line"},
        "cam.roi.hint": {
            "id": "Klik titik-titik untuk poligon (klik titik awal untuk menutup) atau tarik "
            "garis. Koordinat disimpan relatif terhadap gambar (0–1).",
            "en": "Click points for a polygon (click the first point to close it) or drag a "
            "line. Coordinates are stored relative to the frame (0–1).",
        },
        "cam.roi.save": {"id": "Simpan ROI & garis", "en": "Save ROIs & lines"},
        "cam.upload.drop": {
            "id": "Seret berkas CSV / XLSX / GeoJSON ke sini atau klik untuk memilih (maks. 5 MB)",
            "en": "Drop a CSV / XLSX / GeoJSON file here or click to choose (max. 5 MB)",
        },
        "cam.upload.commit": {"id": "Simpan semua", "en": "Save all"},
        "cam.pick_first": {
            "id": "Pilih kamera dari daftar dulu (tombol Buka).",
            "en": "Pick a camera from the list first (Open button).",
        },
    }
)

STATUSES = [s.value for s in CameraStatus]
OWNERS = [o.value for o in CameraOwner]
PROTOCOLS = [p.value for p in CameraProtocol]


def _select(name: str, options: list[dict[str, str]], value: str = "all") -> dbc.Select:
    return dbc.Select(id=f"{P}-f-{name}", options=options, value=value, size="sm")


def filter_bar() -> html.Div:
    from dashboard.callbacks.admin_cameras import kecamatan_options

    def opts(all_key: str, values: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"label": t(all_key), "value": "all"}] + [
            {"label": lb, "value": v} for v, lb in values
        ]

    return dbc.Row(
        [
            dbc.Col(
                dbc.Input(
                    id=f"{P}-f-search",
                    placeholder=t("cam.search"),
                    type="search",
                    maxLength=100,
                    debounce=True,
                    size="sm",
                ),
                xs=12,
                md=4,
                className="mb-2",
            ),
            dbc.Col(
                _select("status", opts("cam.f.status", [(s, t(f"status.{s}")) for s in STATUSES])),
                xs=6,
                md=2,
                className="mb-2",
            ),
            dbc.Col(
                _select("owner", opts("cam.f.owner", [(o, o) for o in OWNERS])),
                xs=6,
                md=2,
                className="mb-2",
            ),
            dbc.Col(
                dropdown(
                    id=f"{P}-f-kecamatan",
                    options=kecamatan_options(),
                    placeholder=t("cam.f.kecamatan"),
                    clearable=True,
                    className="pantau-dropdown-sm",
                ),
                xs=12,
                md=4,
                className="mb-2",
            ),
            dbc.Col(
                _select(
                    "public",
                    opts(
                        "cam.f.public", [("yes", t("cam.yes_public")), ("no", t("cam.no_public"))]
                    ),
                ),
                xs=6,
                md=3,
                className="mb-2",
            ),
            dbc.Col(
                _select(
                    "enabled",
                    opts(
                        "cam.f.enabled",
                        [("yes", t("cam.yes_enabled")), ("no", t("cam.no_enabled"))],
                    ),
                ),
                xs=6,
                md=3,
                className="mb-2",
            ),
            dbc.Col(
                dbc.InputGroup(
                    [
                        dbc.InputGroupText(t("cam.sort")),
                        dbc.Select(
                            id=f"{P}-f-sort",
                            options=[
                                {"label": t(f"cam.sort.{k}"), "value": k}
                                for k in ("name", "code", "status")
                            ],
                            value="name",
                        ),
                    ],
                    size="sm",
                ),
                xs=12,
                md=3,
                className="mb-2",
            ),
        ],
        className="g-2",
    )


def _field(name: str, component, width: int = 12) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(t(f"cam.field.{name}"), html_for=f"{P}-in-{name}", className="small mb-0"),
            component,
            dbc.FormFeedback(id=f"{P}-err-{name}", type="invalid"),
        ],
        md=width,
        className="mb-2",
    )


def camera_form() -> html.Div:
    def inp(name: str, **kw) -> dbc.Input:
        return dbc.Input(id=f"{P}-in-{name}", size="sm", **kw)

    return html.Div(
        [
            html.Div(id=f"{P}-form-title", className="fw-semibold mb-2"),
            dbc.Row(
                [
                    _field("code", inp("code", maxLength=64), 5),
                    _field("name", inp("name", maxLength=200), 7),
                    _field("lat", inp("lat", type="number", step="any"), 6),
                    _field("lon", inp("lon", type="number", step="any"), 6),
                    _field("kecamatan", inp("kecamatan", maxLength=100), 6),
                    _field(
                        "owner",
                        dbc.Select(
                            id=f"{P}-in-owner",
                            options=[{"label": o, "value": o} for o in OWNERS],
                            value="diskominfo",
                            size="sm",
                        ),
                        6,
                    ),
                    _field("address", inp("address", maxLength=300)),
                    _field(
                        "protocol",
                        dbc.Select(
                            id=f"{P}-in-protocol",
                            options=[{"label": p, "value": p} for p in PROTOCOLS],
                            value="snapshot",
                            size="sm",
                        ),
                        4,
                    ),
                    _field("stream_url", inp("stream_url", maxLength=1000), 8),
                    _field(
                        "sample_interval_s",
                        inp("sample_interval_s", type="number", min=1, max=86400, step=1),
                        6,
                    ),
                    _field("tags", inp("tags", maxLength=300), 6),
                    dbc.Col(
                        [
                            dbc.Checkbox(
                                id=f"{P}-in-is_public",
                                label=t("cam.field.is_public"),
                                value=False,
                            ),
                            dbc.FormFeedback(id=f"{P}-err-is_public", type="invalid"),
                        ],
                        xs=12,
                        className="mb-2",
                    ),
                ],
                className="g-2",
            ),
            html.Div(
                [
                    dbc.Button(
                        [html.I(className="bi bi-save me-1"), t("cam.save")],
                        id=f"{P}-save",
                        color="primary",
                        size="sm",
                        n_clicks=0,
                        className="me-2 mb-1",
                    ),
                    dbc.Button(
                        [html.I(className="bi bi-plus-lg me-1"), t("cam.new")],
                        id=f"{P}-new",
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                        className="me-2 mb-1",
                    ),
                    dbc.Button(
                        t("cam.disable"),
                        id=f"{P}-toggle",
                        color="danger",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                        className="mb-1",
                        disabled=True,
                    ),
                ]
            ),
            html.Div(id=f"{P}-form-feedback", className="mt-2"),
        ]
    )


def test_panel() -> html.Div:
    return html.Div(
        [
            html.P(t("cam.test.hint"), className="small text-secondary"),
            dbc.Button(
                [html.I(className="bi bi-play-circle me-1"), t("cam.test.run")],
                id=f"{P}-test-run",
                color="primary",
                size="sm",
                n_clicks=0,
            ),
            dcc.Loading(html.Div(id=f"{P}-test-out", className="mt-3"), type="circle"),
        ]
    )


def roi_panel() -> html.Div:
    return html.Div(
        [
            html.P(t("cam.roi.hint"), className="small text-secondary"),
            dbc.RadioItems(
                id=f"{P}-roi-mode",
                options=[
                    {"label": t("cam.roi.mode.roi"), "value": "drawclosedpath"},
                    {"label": t("cam.roi.mode.line"), "value": "drawline"},
                ],
                value="drawclosedpath",
                inline=True,
                className="mb-2 small",
            ),
            dcc.Graph(
                id=f"{P}-roi-graph",
                config={
                    "displaylogo": False,
                    "modeBarButtonsToAdd": ["drawclosedpath", "drawline", "eraseshape"],
                    "scrollZoom": False,
                },
                style={"height": "360px"},
            ),
            html.Div(id=f"{P}-roi-list", className="mt-2"),
            dbc.Button(
                [html.I(className="bi bi-save me-1"), t("cam.roi.save")],
                id=f"{P}-roi-save",
                color="primary",
                size="sm",
                n_clicks=0,
                className="mt-2",
            ),
            html.Div(id=f"{P}-roi-feedback", className="mt-2"),
        ]
    )


def upload_panel() -> html.Div:
    return html.Div(
        [
            dcc.Upload(
                id=f"{P}-upload",
                children=html.Div(
                    [html.I(className="bi bi-upload me-2"), t("cam.upload.drop")],
                    className="small",
                ),
                max_size=5 * 1024 * 1024,
                multiple=False,
                accept=".csv,.xlsx,.geojson,.json",
                className="border border-2 rounded p-3 text-center text-secondary",
                style={"borderStyle": "dashed", "cursor": "pointer"},
            ),
            dcc.Loading(html.Div(id=f"{P}-upload-preview", className="mt-3"), type="circle"),
            dbc.Button(
                [html.I(className="bi bi-check2-all me-1"), t("cam.upload.commit")],
                id=f"{P}-upload-commit",
                color="success",
                size="sm",
                n_clicks=0,
                disabled=True,
                className="mt-2",
            ),
            html.Div(id=f"{P}-upload-feedback", className="mt-2"),
        ]
    )


def layout(**_kwargs) -> dbc.Container:
    tabs = dbc.Tabs(
        [
            dbc.Tab(camera_form(), label=t("cam.tab.form"), tab_id="form", className="pt-3"),
            dbc.Tab(test_panel(), label=t("cam.tab.test"), tab_id="test", className="pt-3"),
            dbc.Tab(roi_panel(), label=t("cam.tab.roi"), tab_id="roi", className="pt-3"),
            dbc.Tab(upload_panel(), label=t("cam.tab.upload"), tab_id="upload", className="pt-3"),
        ],
        id=f"{P}-tabs",
        active_tab="form",
    )
    return dbc.Container(
        [
            dcc.Store(id=f"{P}-selected", data=None),
            dcc.Store(id=f"{P}-version", data=0),
            dcc.Store(id=f"{P}-shapes", data=None),
            html.H1(t("cam.title"), className="h3 mt-3 mb-1"),
            html.P(t("cam.lead"), className="text-secondary small"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    filter_bar(),
                                    dcc.Loading(html.Div(id=f"{P}-list"), type="dot"),
                                    html.Div(
                                        [
                                            dbc.Pagination(
                                                id=f"{P}-pager",
                                                max_value=1,
                                                active_page=1,
                                                fully_expanded=False,
                                                first_last=True,
                                                previous_next=True,
                                                size="sm",
                                                className="mb-0 flex-wrap",
                                            ),
                                            html.Span(
                                                id=f"{P}-count", className="small text-secondary"
                                            ),
                                        ],
                                        className="d-flex flex-wrap align-items-center gap-3 mt-2",
                                    ),
                                ]
                            ),
                            className="shadow-sm mb-3",
                        ),
                        xl=7,
                    ),
                    dbc.Col(dbc.Card(dbc.CardBody(tabs), className="shadow-sm mb-3"), xl=5),
                ]
            ),
        ],
        fluid=True,
        id=f"{P}-page",
    )
