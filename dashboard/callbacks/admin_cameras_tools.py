"""Callbacks of the camera management page's tools: "Uji" (one frame fetched and analysed, in a
bounded thread), the ROI / counting-line editor (a Plotly figure with the latest frame as its
background; shapes drawn with ``drawclosedpath`` / ``drawline`` arrive in ``relayoutData``).
Admin only, re-checked in each callback; writes go through store/cameras.py (validated and
audited). The registry upload is in admin_cameras_upload.py."""

from __future__ import annotations

import base64
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import select

from dashboard import auth, context
from dashboard.i18n import local_time, register, t
from dashboard.labels import area_label
from store import cameras
from store.models import Camera

logger = logging.getLogger(__name__)

P = "admin-kamera"
MAX_ITEMS = 2 * cameras.MAX_SHAPES
BLANK = (1280, 720)  # canvas when the camera has no frame yet
_NUM = re.compile(r"(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*,\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)")

register(
    {
        "cam.test.ok": {
            "id": "Gambar diambil dan dianalisis dalam {s} detik ({w}×{h} piksel, {ts}).",
            "en": "Frame fetched and analysed in {s} s ({w}×{h} pixels, {ts}).",
        },
        "cam.test.fail": {"id": "Uji gagal: {why}", "en": "Test failed: {why}"},
        "cam.test.people": {"id": "Orang terlihat", "en": "People in view"},
        "cam.test.vehicles": {"id": "Kendaraan terlihat", "en": "Vehicles in view"},
        "cam.test.water": {"id": "Genangan air", "en": "Water coverage"},
        "cam.test.path": {"id": "Cara hitung", "en": "Count path"},
        "cam.roi.none_frame": {
            "id": "Belum ada gambar kamera ini: jalankan Uji dulu untuk latar belakang.",
            "en": "No frame of this camera yet: run Test first for a background.",
        },
        "cam.roi.kind": {"id": "Peran", "en": "Role"},
        "cam.roi.name": {"id": "Nama", "en": "Name"},
        "cam.roi.delete": {"id": "Hapus", "en": "Delete"},
        "cam.roi.empty": {
            "id": "Belum ada ROI atau garis hitung.",
            "en": "No ROI or counting line yet.",
        },
        "cam.roi.kind.crowd": {"id": "kerumunan (orang)", "en": "crowd (people)"},
        "cam.roi.kind.road": {"id": "jalan (kendaraan)", "en": "road (vehicles)"},
        "cam.roi.kind.any": {"id": "semua", "en": "any"},
        "cam.roi.kind.no_parking": {
            "id": "larangan parkir (lama berhenti)",
            "en": "no parking (dwell time)",
        },
        "cam.roi.kind.no_dumping": {
            "id": "larangan buang sampah (benda diam)",
            "en": "no dumping (static objects)",
        },
        "cam.roi.line": {"id": "garis", "en": "line"},
        "cam.roi.mark": {
            "id": "tanda kalibrasi (isi tinggi m di Nama)",
            "en": "calibration mark (height in m as Name)",
        },
        "cam.roi.mark_height": {
            "id": "Tanda kalibrasi: tulis tinggi sebenarnya dalam meter di kolom Nama (mis. 1,7)",
            "en": "Calibration mark: write the real height in metres as its Name (e.g. 1.7)",
        },
        "cam.roi.marks_two": {
            "id": "Kalibrasi perspektif perlu tepat dua tanda (satu dekat, satu jauh); ada {n}.",
            "en": "Perspective calibration needs exactly two marks (one near, one far); got {n}.",
        },
        "cam.roi.saved": {
            "id": "ROI dan garis tersimpan ({n} ROI, {m} garis); ingesti memakainya dalam ±30 "
            "detik.",
            "en": "ROIs and lines saved ({n} ROIs, {m} lines); ingestion uses them within about "
            "30 s.",
        },
    }
)


# -- Uji (test one frame) -----------------------------------------------------------------------


def test_dir() -> Path:
    path = context.settings().var_dir / "camera-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def run_test(_n: int, selected: Any):
    """Fetch and analyse one frame of the selected camera (bounded; see ingestion.probe)."""
    auth.require_role("admin")
    from ingestion.probe import probe
    from ingestion.process import CameraSpec

    if not isinstance(selected, str):
        return dbc.Alert(t("cam.pick_first"), color="warning", className="py-2 small")
    settings = context.settings()
    with context.db().session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == selected))
        if cam is None:
            raise PreventUpdate
        spec = CameraSpec.from_camera(cam, settings)
    result = probe(spec, settings)
    if not result.ok:
        return dbc.Alert(
            [html.I(className="bi bi-x-octagon me-2"), t("cam.test.fail", why=result.error)],
            color="danger",
            id=f"{P}-test-error",
            className="py-2 small",
        )
    if result.raw_jpeg:
        (test_dir() / f"{spec.code}.jpg").write_bytes(result.raw_jpeg)
    c = result.counts
    water = c.get("water_coverage")
    facts = [
        (t("cam.test.people"), f"{c['people']} {t('unit.people')}"),
        (t("cam.test.vehicles"), f"{c['vehicles']} {t('unit.vehicles')}"),
        (t("cam.test.water"), "—" if water is None else f"{water * 100:.0f} %"),
        (t("cam.test.path"), f"{c['count_path']} ({c['detector']})"),
    ]
    facts += [(area_label(r["name"]), f"{r['people']} {t('unit.people')}") for r in c["rois"]]
    return html.Div(
        [
            html.Img(
                src=_data_uri(result.preview_jpeg or b""),
                id=f"{P}-test-img",
                className="img-fluid rounded border mb-2",
                alt="preview",
            ),
            html.Div(
                t(
                    "cam.test.ok",
                    s=f"{result.elapsed_s:.1f}",
                    w=result.width,
                    h=result.height,
                    ts=local_time(datetime.fromisoformat(c["ts"]), context.settings().timezone),
                ),
                className="small text-secondary mb-1",
            ),
            dbc.Table(
                html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in facts]),
                size="sm",
                className="mb-0 small",
                id=f"{P}-test-counts",
            ),
        ]
    )


# -- ROI and counting-line editor ---------------------------------------------------------------


def _background(code: str) -> tuple[bytes | None, int, int]:
    """The camera's latest raw test frame, else its latest snapshot: (jpeg, width, height)."""
    from ingestion.sources import jpeg_size

    settings = context.settings()
    for path in (test_dir() / f"{code}.jpg", settings.snapshot_dir / f"{code}.jpg"):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        size = jpeg_size(data)
        if size:
            return data, size[0], size[1]
    return None, *BLANK


def _to_px(value: float, size: int, normalized: bool) -> float:
    return float(value) * size if normalized else float(value)


def items_of(
    rois: list[dict], lines: list[dict], w: int, h: int, perspective: Any = None
) -> list[dict[str, Any]]:
    """The camera's stored shapes (and perspective marks: lines with the role ``mark`` and the
    height in metres as their name) as editor items in pixels of a ``w`` x ``h`` frame."""
    from analytics.perspective import PerspectiveMarks
    from analytics.types import CountingLine, Polygon

    items: list[dict[str, Any]] = []
    for r in rois or []:
        try:
            poly = Polygon.from_dict(r)
        except (ValueError, TypeError):
            continue
        pts = [
            [_to_px(x, w, poly.normalized), _to_px(y, h, poly.normalized)] for x, y in poly.points
        ]
        items.append(
            {"t": "roi", "name": r.get("name", ""), "kind": r.get("kind", "any"), "pts": pts}
        )
    for ln in lines or []:
        try:
            line = CountingLine.from_dict(ln)
        except (ValueError, TypeError):
            continue
        pts = [
            [_to_px(p[0], w, line.normalized), _to_px(p[1], h, line.normalized)]
            for p in (line.a, line.b)
        ]
        items.append({"t": "line", "name": line.name, "kind": "", "pts": pts})
    try:
        marks = PerspectiveMarks.from_dict(perspective) if perspective else None
    except (ValueError, TypeError):
        marks = None
    for m in marks.marks if marks else ():
        pts = [[_to_px(x, w, marks.normalized), _to_px(y, h, marks.normalized)]
               for x, y in (m.foot, m.top)]  # fmt: skip
        items.append({"t": "line", "name": f"{m.height_m:g}", "kind": "mark", "pts": pts})
    return items


def _shape(item: dict[str, Any]) -> dict[str, Any]:
    pts = item["pts"]
    if item["t"] == "line":
        (x0, y0), (x1, y1) = pts[0], pts[1]
        style = (
            {"color": "#e040fb", "width": 3, "dash": "dot"}
            if item.get("kind") == "mark"
            else {"color": "#ffab00", "width": 3}
        )
        return {
            "type": "line", "x0": x0, "y0": y0, "x1": x1, "y1": y1, "editable": True,
            "line": style,
        }  # fmt: skip
    path = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z"
    colour = "#00c853" if item.get("kind") != "road" else "#2196f3"
    return {
        "type": "path", "path": path, "editable": True, "fillcolor": colour, "opacity": 0.35,
        "line": {"color": colour, "width": 2},
    }  # fmt: skip


def figure(jpeg: bytes | None, w: int, h: int, items: list[dict], mode: str) -> dict[str, Any]:
    images = []
    if jpeg:
        images.append(
            {
                "source": _data_uri(jpeg), "xref": "x", "yref": "y", "x": 0, "y": 0,
                "sizex": w, "sizey": h, "sizing": "stretch", "layer": "below",
            }
        )  # fmt: skip
    annotations = []
    if not jpeg:
        annotations.append(
            {"text": t("cam.roi.none_frame"), "x": w / 2, "y": h / 2, "showarrow": False}
        )
    return {
        "data": [],
        "layout": {
            "images": images,
            "shapes": [_shape(i) for i in items],
            "annotations": annotations,
            "xaxis": {"range": [0, w], "visible": False, "constrain": "domain"},
            "yaxis": {
                "range": [h, 0], "visible": False, "scaleanchor": "x", "constrain": "domain",
            },
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "dragmode": mode if mode in ("drawclosedpath", "drawline") else "drawclosedpath",
            "newshape": {"line": {"color": "#00c853", "width": 2}, "fillcolor": "#00c853",
                         "opacity": 0.35},
            "plot_bgcolor": "#222", "paper_bgcolor": "#fff",
            "uirevision": "keep",
        },
    }  # fmt: skip


def load_editor(selected: Any, active_tab: Any, _version: Any):
    """(figure, editor store) for the selected camera when the ROI tab is open."""
    auth.require_role("admin")
    if not isinstance(selected, str) or active_tab != "roi":
        raise PreventUpdate
    with context.db().session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == selected))
        if cam is None:
            raise PreventUpdate
        rois, lines = list(cam.rois or []), list(cam.lines or [])
        perspective = (cam.config or {}).get("perspective")
    jpeg, w, h = _background(selected)
    items = items_of(rois, lines, w, h, perspective)
    return figure(jpeg, w, h, items, "drawclosedpath"), {
        "code": selected, "w": w, "h": h, "items": items,
    }  # fmt: skip


def set_mode(mode: Any):
    auth.require_role("admin")
    if mode not in ("drawclosedpath", "drawline"):
        raise PreventUpdate
    fig = Patch()
    fig["layout"]["dragmode"] = mode
    return fig


def _pts_of(shape: dict[str, Any]) -> tuple[str, list[list[float]]] | None:
    if not isinstance(shape, dict):
        return None
    if shape.get("type") == "line":
        try:
            return "line", [
                [float(shape["x0"]), float(shape["y0"])],
                [float(shape["x1"]), float(shape["y1"])],
            ]
        except (KeyError, TypeError, ValueError):
            return None
    path = shape.get("path")
    if isinstance(path, str) and len(path) < 20_000:
        pts = [[float(x), float(y)] for x, y in _NUM.findall(path)]
        return ("roi", pts[: cameras.MAX_POINTS]) if len(pts) >= 3 else None
    return None


def shapes_changed(relayout: Any, store: Any):
    """Keep the editor store in step with what was drawn, moved or erased."""
    auth.require_role("admin")
    if not isinstance(relayout, dict) or not isinstance(store, dict):
        raise PreventUpdate
    items: list[dict[str, Any]] = list(store.get("items") or [])
    if isinstance(relayout.get("shapes"), list):  # drawn or erased: the full list
        new: list[dict[str, Any]] = []
        for i, shape in enumerate(relayout["shapes"][:MAX_ITEMS]):
            got = _pts_of(shape)
            if got is None:
                continue
            kind, pts = got
            old = items[i] if i < len(items) and items[i]["t"] == kind else None
            n = sum(1 for x in new if x["t"] == kind) + 1
            name = old["name"] if old else (f"ROI {n}" if kind == "roi" else f"Garis {n}")
            new.append({"t": kind, "name": name, "kind": old["kind"] if old else
                        ("crowd" if kind == "roi" else ""), "pts": pts})  # fmt: skip
        store["items"] = new
        return store
    edited = False
    for key, value in relayout.items():  # one shape moved or reshaped: "shapes[2].path"...
        m = re.fullmatch(r"shapes\[(\d+)\]\.(path|x0|y0|x1|y1)", str(key))
        if not m or int(m.group(1)) >= len(items):
            continue
        item = items[int(m.group(1))]
        if m.group(2) == "path" and isinstance(value, str):
            got = _pts_of({"path": value})
            if got:
                item["pts"] = got[1]
                edited = True
        elif item["t"] == "line" and isinstance(value, int | float):
            j, axis = (0 if m.group(2)[1] == "0" else 1), (0 if m.group(2)[0] == "x" else 1)
            item["pts"][j][axis] = float(value)
            edited = True
    if not edited:
        raise PreventUpdate
    store["items"] = items
    return store


def shape_list(store: Any):
    auth.require_role("admin")
    items = (store or {}).get("items") if isinstance(store, dict) else None
    if not items:
        return html.Div(t("cam.roi.empty"), className="small text-secondary")
    rows = []
    for i, it in enumerate(items):
        kind = (
            dbc.Select(
                id={"type": f"{P}-shape-kind", "index": i},
                options=[{"label": t(f"cam.roi.kind.{k}"), "value": k} for k in cameras.ROI_KINDS],
                value=it.get("kind") or "any",
                size="sm",
            )
            if it["t"] == "roi"
            else dbc.Select(
                id={"type": f"{P}-shape-kind", "index": i},
                options=[
                    {"label": t("cam.roi.line"), "value": ""},
                    {"label": t("cam.roi.mark"), "value": "mark"},
                ],
                value=it.get("kind") or "",
                size="sm",
            )
        )
        rows.append(
            html.Tr(
                [
                    html.Td(
                        dbc.Input(
                            id={"type": f"{P}-shape-name", "index": i},
                            value=it.get("name", ""),
                            maxLength=cameras.MAX_NAME,
                            size="sm",
                        )
                    ),  # fmt: skip
                    html.Td(kind),
                    html.Td(
                        dbc.Button(
                            html.I(className="bi bi-trash"),
                            id={"type": f"{P}-shape-del", "index": i},
                            color="danger",
                            outline=True,
                            size="sm",
                            n_clicks=0,
                            title=t("cam.roi.delete"),
                        )
                    ),
                ]
            )
        )
    head = html.Thead(html.Tr([html.Th(t("cam.roi.name")), html.Th(t("cam.roi.kind")), html.Th()]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-0", id=f"{P}-shape-table")


def _named(store: dict[str, Any]) -> list[dict[str, Any]]:
    """Items with the names and roles typed into the list (matched by their index)."""
    items = [dict(i) for i in store.get("items") or []]
    for group in ctx.states_list or []:
        for entry in group if isinstance(group, list) else []:
            cid, value = entry.get("id"), entry.get("value")
            if not isinstance(cid, dict) or not isinstance(cid.get("index"), int):
                continue
            i = cid["index"]
            if 0 <= i < len(items) and isinstance(value, str):
                key = "name" if cid.get("type") == f"{P}-shape-name" else "kind"
                items[i][key] = value[: cameras.MAX_NAME]
    return items


def delete_shape(_clicks: Any, store: Any, _names: Any, _kinds: Any):
    auth.require_role("admin")
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not isinstance(store, dict) or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    items = _named(store)
    i = trig.get("index")
    if not isinstance(i, int) or not 0 <= i < len(items):
        raise PreventUpdate
    del items[i]
    store["items"] = items
    fig = Patch()
    fig["layout"]["shapes"] = [_shape(it) for it in items]
    return store, fig


def geometry(store: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """Editor items -> (rois, lines) in normalised 0..1 frame coordinates (clamped);
    calibration marks are left out (:func:`marks_of`)."""
    w, h = float(store.get("w") or BLANK[0]), float(store.get("h") or BLANK[1])

    def norm(p: list[float]) -> list[float]:
        return [round(min(max(p[0] / w, 0.0), 1.0), 5), round(min(max(p[1] / h, 0.0), 1.0), 5)]

    rois, lines = [], []
    for it in store.get("items") or []:
        if it.get("kind") == "mark":
            continue
        pts = [norm(p) for p in it["pts"]]
        if it["t"] == "roi":
            rois.append({"name": it["name"] or "roi", "kind": it.get("kind") or "any",
                         "points": pts, "normalized": True})  # fmt: skip
        else:
            lines.append({"name": it["name"] or "line", "a": pts[0], "b": pts[1],
                          "normalized": True})  # fmt: skip
    return rois, lines


def marks_of(store: dict[str, Any]) -> dict[str, Any] | None:
    """The lines with the role ``mark`` as perspective marks (normalised; the lower end is the
    foot, the name the height in metres); None without marks. Raises ValueError with the
    reader's words when they cannot be marks."""
    w, h = float(store.get("w") or BLANK[0]), float(store.get("h") or BLANK[1])
    marks = []
    for it in store.get("items") or []:
        if it.get("kind") != "mark":
            continue
        try:
            height = float(str(it.get("name") or "").replace(",", ".").removesuffix("m"))
        except ValueError:
            raise ValueError(t("cam.roi.mark_height")) from None
        (xa, ya), (xb, yb) = sorted(it["pts"][:2], key=lambda p: -float(p[1]))  # foot first
        clamp = lambda v, s: round(min(max(float(v) / s, 0.0), 1.0), 5)  # noqa: E731
        marks.append({"foot": [clamp(xa, w), clamp(ya, h)], "top": [clamp(xb, w), clamp(yb, h)],
                      "height_m": height})  # fmt: skip
    if not marks:
        return None
    if len(marks) != 2:
        raise ValueError(t("cam.roi.marks_two", n=len(marks)))
    return {"marks": marks, "normalized": True}


def save_shapes(_n: Any, store: Any, selected: Any, _names: Any, _kinds: Any):
    auth.require_role("admin")
    if not isinstance(store, dict) or not isinstance(selected, str):
        return dbc.Alert(t("cam.pick_first"), color="warning", className="py-2 small"), no_update
    if store.get("code") != selected:
        raise PreventUpdate
    store = {**store, "items": _named(store)}
    try:
        rois, lines = geometry(store)
        marks = marks_of(store)
        with context.db().session() as s:
            cameras.save_geometry(s, selected, rois, lines, actor=auth.current_username())
            cameras.save_perspective(s, selected, marks, actor=auth.current_username())
    except (cameras.CameraError, KeyError, IndexError, TypeError, ValueError) as exc:
        why = (
            exc.errors.get("rois") or exc.errors.get("perspective") or str(exc)
            if isinstance(exc, cameras.CameraError)
            else exc
        )
        return dbc.Alert(str(why), color="danger", className="py-2 small"), no_update
    fig = Patch()  # redraw the saved shapes in their roles' colours
    fig["layout"]["shapes"] = [_shape(it) for it in store["items"]]
    return dbc.Alert(
        t("cam.roi.saved", n=len(rois), m=len(lines)),
        color="success",
        dismissable=True,
        className="py-2 small",
    ), fig


def register(app: dash.Dash) -> None:
    app.callback(
        Output(f"{P}-test-out", "children"),
        Input(f"{P}-test-run", "n_clicks"),
        State(f"{P}-selected", "data"),
        prevent_initial_call=True,
    )(run_test)
    app.callback(
        Output(f"{P}-roi-graph", "figure"),
        Output(f"{P}-shapes", "data"),
        Input(f"{P}-selected", "data"),
        Input(f"{P}-tabs", "active_tab"),
        Input(f"{P}-test-out", "children"),
        prevent_initial_call=True,
    )(load_editor)
    app.callback(
        Output(f"{P}-roi-graph", "figure", allow_duplicate=True),
        Input(f"{P}-roi-mode", "value"),
        prevent_initial_call=True,
    )(set_mode)
    app.callback(
        Output(f"{P}-shapes", "data", allow_duplicate=True),
        Input(f"{P}-roi-graph", "relayoutData"),
        State(f"{P}-shapes", "data"),
        prevent_initial_call=True,
    )(shapes_changed)
    app.callback(
        Output(f"{P}-roi-list", "children"),
        Input(f"{P}-shapes", "data"),
    )(shape_list)
    app.callback(
        Output(f"{P}-shapes", "data", allow_duplicate=True),
        Output(f"{P}-roi-graph", "figure", allow_duplicate=True),
        Input({"type": f"{P}-shape-del", "index": ALL}, "n_clicks"),
        State(f"{P}-shapes", "data"),
        State({"type": f"{P}-shape-name", "index": ALL}, "value"),
        State({"type": f"{P}-shape-kind", "index": ALL}, "value"),
        prevent_initial_call=True,
    )(delete_shape)
    app.callback(
        Output(f"{P}-roi-feedback", "children"),
        Output(f"{P}-roi-graph", "figure", allow_duplicate=True),
        Input(f"{P}-roi-save", "n_clicks"),
        State(f"{P}-shapes", "data"),
        State(f"{P}-selected", "data"),
        State({"type": f"{P}-shape-name", "index": ALL}, "value"),
        State({"type": f"{P}-shape-kind", "index": ALL}, "value"),
        prevent_initial_call=True,
    )(save_shapes)
