"""The wall-screen chart theme: the one place that makes every Plotly chart readable on the
dark kiosk screen (``?kiosk=1``).

Charts are built by many callbacks (as dicts or ``go.Figure``), for desks and phones. Rather
than teach each of them about the wall, a Flask ``after_request`` hook rewrites the figures in
the callback responses of a kiosk page (the request's ``Referer`` carries ``kiosk=1``; the
app sends ``Referrer-Policy: same-origin``, so the query string is there):

- dark: transparent paper and plot, light text, faint grid, navy series made light, no
  ``plotly_white``-style template backgrounds;
- type: every font at least ``TICK_PX`` (axis ticks, legends, bar labels) and titles at least
  ``TITLE_PX``, times the wall scale (the kiosk script stores ``pantau_wall_scale`` =
  viewport / 1920x1080, so a 3840x2160 wall gets twice the size);
- size: the figure's fixed ``height`` is dropped (``autosize``), so the kiosk stylesheet sizes
  the chart to the screen (assets/pantau.css, "wall screen"); axes get ``automargin``.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlparse

from flask import Flask, Response, request

logger = logging.getLogger(__name__)

#: minimum chart type on a 1920x1080 wall, CSS px (see README "Wall screen")
TICK_PX = 16
TITLE_PX = 18
TEXT = "#e9ecef"
MUTED_TEXT = "#ced4da"
GRID = "rgba(233, 236, 239, 0.14)"
#: series colours that vanish on the navy wall, and what they become
DARK_SERIES = {"#0b1f33": "#74c0fc", "#12304d": "#74c0fc", "#0b5ed7": "#4dabf7"}
SCALE_COOKIE = "pantau_wall_scale"
FONT_KEYS = {"font", "tickfont", "textfont", "insidetextfont", "outsidetextfont"}


def is_wall_request() -> bool:
    """True for a callback made by a page opened with ``?kiosk=1``."""
    ref = request.referrer or ""
    if "kiosk" not in ref:
        return False
    return parse_qs(urlparse(ref).query).get("kiosk", [""])[0] == "1"


def wall_scale() -> float:
    """The wall's size against 1920x1080 (1 to 3), from the kiosk script's cookie."""
    try:
        value = float(request.cookies.get(SCALE_COOKIE, "1"))
    except ValueError:
        return 1.0
    return min(3.0, max(1.0, value)) if value == value else 1.0  # NaN -> 1


def _font(font: Any, minimum: float, color: str | None) -> dict:
    font = dict(font) if isinstance(font, dict) else {}
    size = font.get("size")
    font["size"] = max(float(size) if isinstance(size, int | float) else 0.0, minimum)
    if color is not None:
        font["color"] = color
    return font


def _recolor(value: Any) -> Any:
    if isinstance(value, str):
        return DARK_SERIES.get(value.lower(), value)
    if isinstance(value, list):
        return [_recolor(v) for v in value]
    return value


def _walk_fonts(node: Any, minimum: float, title_min: float) -> None:
    """Raise every font size below ``minimum`` (titles: ``title_min``) in place."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key in FONT_KEYS and isinstance(value, dict | type(None)):
                node[key] = _font(value, minimum, None)
            elif key == "title" and not (isinstance(value, dict) and "font" in value):
                if isinstance(value, str):
                    node[key] = {"text": value, "font": {"size": title_min}}
                elif isinstance(value, dict):
                    value["font"] = _font(value.get("font"), title_min, None)
            elif key in ("color", "fillcolor", "colorway", "line", "marker"):
                node[key] = _recolor(value) if key in ("color", "colorway") else value
                if isinstance(value, dict):
                    _walk_fonts(value, minimum, title_min)
            else:
                _walk_fonts(value, minimum, title_min)
    elif isinstance(node, list):
        for item in node:
            _walk_fonts(item, minimum, title_min)


def unit_only(title: object) -> object:
    """A vertical axis title "what (unit)" as its unit alone: at wall sizes the whole title is
    taller than the chart ("Kamera tergenang (≥30%) (% waktu tergenang)" was cut off on a
    1080p wall); the card's heading already says what is drawn. Other titles are kept."""
    if not isinstance(title, str) or not title.endswith(")") or " (" not in title:
        return title
    return title[title.rindex(" (") + 2 : -1] or title


def theme_figure(fig: dict, scale: float = 1.0) -> dict:
    """``fig`` (a Plotly figure as JSON) in the wall theme, in place; returns it."""
    layout = fig.setdefault("layout", {})
    if not isinstance(layout, dict):
        return fig
    tick, title = TICK_PX * scale, TITLE_PX * scale
    template = layout.pop("template", None)
    if isinstance(template, dict) and isinstance(template.get("layout"), dict):
        # keep what a template says about the data (colorway), not its light backgrounds
        colorway = template["layout"].get("colorway")
        if colorway and "colorway" not in layout:
            layout["colorway"] = colorway
    layout.pop("height", None)
    layout["autosize"] = True
    layout["paper_bgcolor"] = "rgba(0,0,0,0)"
    layout["plot_bgcolor"] = "rgba(0,0,0,0)"
    layout["font"] = _font(layout.get("font"), tick, TEXT)
    legend = layout.get("legend") if isinstance(layout.get("legend"), dict) else {}
    legend["font"] = _font(legend.get("font"), tick, MUTED_TEXT)
    legend["bgcolor"] = "rgba(0,0,0,0)"
    layout["legend"] = legend
    margin = layout.get("margin") if isinstance(layout.get("margin"), dict) else {}
    layout["margin"] = {k: v * scale for k, v in margin.items() if isinstance(v, int | float)}
    for key, axis in list(layout.items()):
        if (key.startswith("xaxis") or key.startswith("yaxis")) and isinstance(axis, dict):
            axis["gridcolor"] = GRID
            axis["linecolor"] = GRID
            axis["zerolinecolor"] = GRID
            axis["automargin"] = True
            axis["tickfont"] = _font(axis.get("tickfont"), tick, MUTED_TEXT)
            if isinstance(axis.get("title"), str):
                axis["title"] = {"text": axis["title"]}
            if isinstance(axis.get("title"), dict):  # axis titles: tick size, not title size
                axis["title"]["font"] = _font(axis["title"].get("font"), tick, None)
                if key.startswith("yaxis"):
                    axis["title"]["text"] = unit_only(axis["title"].get("text"))
    y = legend.get("y")
    if isinstance(y, int | float) and y < 0 and isinstance(layout.get("xaxis"), dict):
        # a legend below the plot would cover the x-axis title at wall sizes: the ticks
        # (dates, names) say what the axis is
        layout["xaxis"].pop("title", None)
    _walk_fonts(layout, tick, title)
    for ann in layout.get("annotations") or []:
        if isinstance(ann, dict):
            ann["font"] = _font(ann.get("font"), tick, MUTED_TEXT)
    if isinstance(layout.get("colorway"), list):
        layout["colorway"] = _recolor(layout["colorway"])
    _walk_fonts(fig.get("data") or [], tick, title)
    return fig


def _theme_tree(node: Any, scale: float) -> int:
    """Theme every figure found in a callback response; returns how many."""
    if isinstance(node, dict):
        if isinstance(node.get("data"), list) and isinstance(node.get("layout"), dict):
            theme_figure(node, scale)
            return 1
        return sum(_theme_tree(v, scale) for v in node.values())
    if isinstance(node, list):
        return sum(_theme_tree(v, scale) for v in node)
    return 0


def _after(response: Response) -> Response:
    if (
        not request.path.endswith("/_dash-update-component")
        or response.status_code != 200
        or response.mimetype != "application/json"
        or response.direct_passthrough
        or not is_wall_request()
    ):
        return response
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return response
    if _theme_tree(body, wall_scale()):
        response.set_data(json.dumps(body, separators=(",", ":")))
    return response


def init_app(server: Flask) -> None:
    server.after_request(_after)
