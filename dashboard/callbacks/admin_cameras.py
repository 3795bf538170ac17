"""Callbacks of the camera management page (``/admin/kamera``): the list (filtered, sorted and
paginated in the database) and the camera form (open, new, save, disable/enable). Every callback
re-checks the admin role (the guard already refused other roles); every write goes through
store/cameras.py, which validates and audits. The test and ROI editor callbacks are in
admin_cameras_tools.py, the registry upload in admin_cameras_upload.py."""

from __future__ import annotations

import logging
import re
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import auth, context
from dashboard.i18n import current_lang, local_time, register, t
from dashboard.queries import camera_admin as q
from store import cameras

logger = logging.getLogger(__name__)

P = "admin-kamera"
#: Form fields in the order of the callbacks' outputs (``value`` of each input).
FORM = (
    "code",
    "name",
    "lat",
    "lon",
    "kecamatan",
    "address",
    "owner",
    "protocol",
    "stream_url",
    "sample_interval_s",
    "tags",
    "is_public",
)
STATUS_COLOUR = {
    "online": "success",
    "degraded": "warning",
    "offline": "danger",
    "disabled": "secondary",
    "unknown": "light",
}

register(
    {
        "cam.col.code": {"id": "Kode", "en": "Code"},
        "cam.col.name": {"id": "Nama", "en": "Name"},
        "cam.col.kecamatan": {"id": "Kecamatan", "en": "Kecamatan"},
        "cam.col.owner": {"id": "Pemilik", "en": "Owner"},
        "cam.col.status": {"id": "Status", "en": "Status"},
        "cam.col.public": {"id": "Publik", "en": "Public"},
        "cam.col.interval": {"id": "Interval", "en": "Interval"},
        "cam.col.seen": {"id": "Terakhir terlihat", "en": "Last seen"},
        "cam.count": {
            "id": "{total} kamera cocok · halaman {page} dari {pages}",
            "en": "{total} matching cameras · page {page} of {pages}",
        },
        "cam.none": {"id": "Tidak ada kamera yang cocok.", "en": "No camera matches."},
        "cam.editing": {"id": "Ubah kamera {code}", "en": "Edit camera {code}"},
        "cam.adding": {"id": "Kamera baru", "en": "New camera"},
        "cam.saved": {"id": "Tersimpan: {what}", "en": "Saved: {what}"},
        "cam.unchanged": {"id": "Tidak ada perubahan.", "en": "Nothing changed."},
        "cam.created": {"id": "Kamera {code} ditambahkan.", "en": "Camera {code} added."},
        "cam.enabled_msg": {
            "id": "Kamera {code} diaktifkan; ingesti mulai mengambil sampel dalam ±30 detik.",
            "en": "Camera {code} enabled; ingestion starts sampling it within about 30 s.",
        },
        "cam.disabled_msg": {
            "id": "Kamera {code} dinonaktifkan; ingesti berhenti dalam ±30 detik.",
            "en": "Camera {code} disabled; ingestion stops sampling it within about 30 s.",
        },
        "cam.fix": {"id": "Periksa kolom yang ditandai.", "en": "Check the marked fields."},
        "cam.seconds": {"id": "{n} dtk", "en": "{n} s"},
    }
)


#: The validation's (English) messages in Bahasa Indonesia: (pattern, template).
_ID_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), tpl)
    for p, tpl in (
        (r"^required$", "Wajib diisi."),
        (r"^Input should be greater than or equal to (\S+)$", "Harus ≥ {0}."),
        (r"^Input should be less than or equal to (\S+)$", "Harus ≤ {0}."),
        (r"^Input should be a valid number", "Harus berupa angka."),
        (r"^Input should be a valid integer", "Harus bilangan bulat."),
        (r"^Input should be ('.+)$", "Pilih salah satu: {0}."),
        (r"^String should have at most (\d+) characters?$", "Paling banyak {0} karakter."),
        (r"^use 1-64 letters", "Gunakan 1–64 huruf, angka, '-' atau '_' (mis. PLG-BKB-01)."),
        (r"^code (\S+) is already used", "Kode {0} sudah dipakai kamera lain."),
        (r"^(.*\(rule: .+\))$", "URL ditolak: {0}"),
    )
)


def localise_error(message: str) -> str:
    """A field error in the user's language (the store's messages are English)."""
    if current_lang() == "en":
        return message
    for pattern, template in _ID_ERRORS:
        m = pattern.search(message)
        if m:
            return template.format(*(g.replace("' or '", "' atau '") for g in m.groups()))
    return message


def kecamatan_options() -> list[dict[str, str]]:
    with context.db().session() as s:
        return [{"label": k, "value": k} for k in q.kecamatan_choices(s)]


def _text(value: Any, limit: int = 100) -> str:
    """A filter's text ("all": no filter), bounded."""
    text = value.strip()[:limit] if isinstance(value, str) else ""
    return "" if text == "all" else text


def camera_list(page: q.CameraListPage) -> Any:
    """The list as a compact table (scrolls sideways inside its box on a phone)."""
    if not page.rows:
        return dbc.Alert(t("cam.none"), color="light", className="my-2")
    tz = context.settings().timezone
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(f"cam.col.{k}"))
                for k in ("code", "name", "kecamatan", "owner", "status", "public", "interval")
            ]
            + [html.Th(t("cam.col.seen")), html.Th("")]
        )
    )
    body = []
    for r in page.rows:
        status = r["status"] if r["enabled"] else "disabled"
        body.append(
            html.Tr(
                [
                    html.Td(html.Code(r["code"]), className="text-nowrap"),
                    html.Td(r["name"]),
                    html.Td(r["kecamatan"] or "—"),
                    html.Td(r["owner"]),
                    html.Td(
                        dbc.Badge(
                            t(f"status.{status}"),
                            color=STATUS_COLOUR.get(status, "light"),
                            text_color="dark" if status == "unknown" else None,
                            title=r["status_reason"] or "",
                        )
                    ),
                    html.Td(t("cam.yes_public") if r["is_public"] else "—"),
                    html.Td(t("cam.seconds", n=r["sample_interval_s"]), className="text-nowrap"),
                    html.Td(local_time(r["last_seen_at"], tz), className="text-nowrap small"),
                    html.Td(
                        dbc.Button(
                            t("cam.open"),
                            id={"type": f"{P}-open", "code": r["code"]},
                            size="sm",
                            color="primary",
                            outline=True,
                            n_clicks=0,
                        )
                    ),
                ],
                className="table-active" if not r["enabled"] else None,
            )
        )
    return dbc.Table(
        [head, html.Tbody(body)],
        hover=True,
        responsive=True,
        size="sm",
        className="mb-0 align-middle",
        id=f"{P}-table",
    )


def refresh_list(search, status, owner, kecamatan, public, enabled, sort, active_page, _version):
    """(list, pages, active page, count text). A filter change goes back to page 1."""
    auth.require_role("admin")
    f = q.CameraFilter(
        search=_text(search),
        status=_text(status, 16),
        owner=_text(owner, 32),
        kecamatan=_text(kecamatan),
        public=_text(public, 3),
        enabled=_text(enabled, 3),
        sort=_text(sort, 10) or "name",
    )
    page_no = (
        active_page if isinstance(active_page, int) and not isinstance(active_page, bool) else 1
    )
    if ctx.triggered_id not in (f"{P}-pager", f"{P}-version", None):
        page_no = 1
    with context.db().session() as s:
        page = q.camera_page(s, f, page_no)
    count = t(
        "cam.count", total=f"{page.total:,}".replace(",", "."), page=page.page, pages=page.pages
    )
    return camera_list(page), page.pages, page.page, count


def _form_values(rec: dict[str, Any] | None) -> list[Any]:
    if rec is None:
        defaults = {"owner": "diskominfo", "protocol": "snapshot", "sample_interval_s": 60}
        return [defaults.get(k, False if k == "is_public" else None) for k in FORM]
    out = []
    for k in FORM:
        v = rec.get(k)
        if k == "tags":
            v = ";".join(v or [])
        out.append(v)
    return out


def _toggle(rec: dict[str, Any] | None) -> tuple[str, bool, str]:
    if rec is None:
        return t("cam.disable"), True, "danger"
    if rec["enabled"]:
        return t("cam.disable"), False, "danger"
    return t("cam.enable"), False, "success"


def _no_errors() -> list[Any]:
    return [False] * len(FORM) + [""] * len(FORM)


def _errors(errors: dict[str, str]) -> list[Any]:
    return [k in errors for k in FORM] + [localise_error(errors.get(k, "")) for k in FORM]


def _outputs(
    values: list[Any] | Any,
    errors: list[Any] | Any,
    title: Any,
    code_locked: Any,
    toggle: tuple | Any,
    selected: Any,
    version: Any,
    feedback: Any,
) -> tuple:
    vals = values if isinstance(values, list) else [values] * len(FORM)
    errs = errors if isinstance(errors, list) else [errors] * (2 * len(FORM))
    tog = toggle if isinstance(toggle, tuple) else (toggle, toggle, toggle)
    return (*vals, *errs, title, code_locked, *tog, selected, version, feedback)


def form_action(*args):
    """Open a camera from the list, start a new one, save, or disable/enable."""
    auth.require_role("admin")
    n = len(FORM)
    _open, _new, _save, _toggle_clicks = args[:4]
    values = dict(zip(FORM, args[4 : 4 + n], strict=True))
    selected, version = args[4 + n], args[5 + n]
    version = version if isinstance(version, int) and not isinstance(version, bool) else 0
    trigger = ctx.triggered_id
    actor = auth.current_username()
    if isinstance(trigger, dict) and trigger.get("type") == f"{P}-open":
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # the list was re-rendered, nobody clicked
        code = str(trigger.get("code", ""))[:64]
        with context.db().session() as s:
            rec = q.camera_record(s, code)
        if rec is None:
            raise PreventUpdate
        return _outputs(
            _form_values(rec), _no_errors(), t("cam.editing", code=code), True, _toggle(rec),
            code, no_update, None,
        )  # fmt: skip
    if trigger == f"{P}-new":
        return _outputs(
            _form_values(None), _no_errors(), t("cam.adding"), False, _toggle(None), None,
            no_update, None,
        )  # fmt: skip
    if trigger == f"{P}-toggle":
        if not isinstance(selected, str):
            raise PreventUpdate
        with context.db().session() as s:
            rec = q.camera_record(s, selected)
            if rec is None:
                raise PreventUpdate
            enable = not rec["enabled"]
            cameras.set_enabled(s, selected, enable, actor=actor)
            rec["enabled"] = enable
        msg = t("cam.enabled_msg" if enable else "cam.disabled_msg", code=selected)
        return _outputs(
            no_update, no_update, no_update, no_update, _toggle(rec), no_update, version + 1,
            dbc.Alert(msg, color="success", dismissable=True, className="py-2 small"),
        )  # fmt: skip
    if trigger != f"{P}-save":
        raise PreventUpdate
    data = {k: v for k, v in values.items() if v not in (None, "")}
    data["is_public"] = bool(values.get("is_public"))
    for k, v in data.items():
        if isinstance(v, str) and len(v) > 1000:
            data[k] = v[:1001]  # the validation refuses it with the field's own message
    try:
        with context.db().session() as s:
            if isinstance(selected, str):
                changes = cameras.update(s, selected, data, actor=actor)
                code = selected
                msg = t("cam.saved", what=", ".join(changes)) if changes else t("cam.unchanged")
            else:
                cam = cameras.create(s, data, actor=actor)
                code = cam.code
                msg = t("cam.created", code=code)
            rec = q.camera_record(s, code)
    except cameras.CameraError as exc:
        logger.info("camera form refused: %s", exc.errors)
        general = exc.errors.get("_")
        return _outputs(
            no_update, _errors(exc.errors), no_update, no_update, no_update, no_update,
            no_update,
            dbc.Alert(general or t("cam.fix"), color="danger", className="py-2 small"),
        )  # fmt: skip
    return _outputs(
        _form_values(rec), _no_errors(), t("cam.editing", code=code), True, _toggle(rec), code,
        version + 1, dbc.Alert(msg, color="success", dismissable=True, className="py-2 small"),
    )  # fmt: skip


def register(app: dash.Dash) -> None:
    filters = ("search", "status", "owner", "kecamatan", "public", "enabled", "sort")
    app.callback(
        Output(f"{P}-list", "children"),
        Output(f"{P}-pager", "max_value"),
        Output(f"{P}-pager", "active_page"),
        Output(f"{P}-count", "children"),
        *[Input(f"{P}-f-{f}", "value") for f in filters],
        Input(f"{P}-pager", "active_page"),
        Input(f"{P}-version", "data"),
    )(refresh_list)
    # on a phone the form is below the list: bring it into view when a camera is opened
    app.clientside_callback(
        """function(title) {
            const el = document.getElementById('admin-kamera-form-title');
            if (title && el && window.innerWidth < 1200) {
                el.scrollIntoView({block: 'start'});
            }
            return window.dash_clientside.no_update;
        }""",
        Output(f"{P}-form-title", "title"),
        Input(f"{P}-form-title", "children"),
        prevent_initial_call=True,
    )
    app.callback(
        *[Output(f"{P}-in-{k}", "value") for k in FORM],
        *[Output(f"{P}-in-{k}", "invalid") for k in FORM],
        *[Output(f"{P}-err-{k}", "children") for k in FORM],
        Output(f"{P}-form-title", "children"),
        Output(f"{P}-in-code", "disabled"),
        Output(f"{P}-toggle", "children"),
        Output(f"{P}-toggle", "disabled"),
        Output(f"{P}-toggle", "color"),
        Output(f"{P}-selected", "data"),
        Output(f"{P}-version", "data"),
        Output(f"{P}-form-feedback", "children"),
        Input({"type": f"{P}-open", "code": ALL}, "n_clicks"),
        Input(f"{P}-new", "n_clicks"),
        Input(f"{P}-save", "n_clicks"),
        Input(f"{P}-toggle", "n_clicks"),
        *[State(f"{P}-in-{k}", "value") for k in FORM],
        State(f"{P}-selected", "data"),
        State(f"{P}-version", "data"),
        prevent_initial_call=True,
    )(form_action)
