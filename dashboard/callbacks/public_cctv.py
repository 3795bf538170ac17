"""Callbacks of the public CCTV page (``/cctv``): open one camera live, refresh thumbnails,
filter the grid. Only codes of public cameras are ever turned into a stream URL."""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update
from sqlalchemy import select

from dashboard import context
from store.models import Camera

logger = logging.getLogger(__name__)


def public_name(code: Any) -> str | None:
    """The name of an enabled public camera with this code, else None."""
    if not isinstance(code, str) or len(code) > 64:
        return None
    with context.db().session() as s:
        return s.scalar(
            select(Camera.name).where(
                Camera.code == code, Camera.is_public.is_(True), Camera.enabled.is_(True)
            )
        )


def open_live(_clicks: list, click_feature: dict | None):
    """(modal open, title, stream src) for the camera a visitor picked on the grid or map."""
    trigger = ctx.triggered_id
    code = None
    if isinstance(trigger, dict) and trigger.get("type") == "cctv-live":
        if not any(ctx.triggered and (t.get("value") or 0) for t in ctx.triggered):
            return no_update, no_update, no_update
        code = trigger.get("code")
    elif trigger == "cctv-map-points" and isinstance(click_feature, dict):
        code = (click_feature.get("properties") or {}).get("code")
    name = public_name(code)
    if name is None:
        return no_update, no_update, no_update
    return True, name, f"/api/public/stream/{code}.mjpg"


BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="

#: Closing the dialog must end the stream in the browser at once: the picture is pointed at a
#: blank GIF directly in the DOM (an empty src alone does not stop a multipart image). Done
#: client-side because a server round trip can lose the race with the dialog unmounting the
#: <img>; a detached image keeps its MJPEG connection (and the viewer slot) until it is
#: garbage-collected.
STOP_STREAM_JS = """
function(is_open) {
    if (is_open) { return window.dash_clientside.no_update; }
    const blank = 'BLANK_GIF';
    const img = document.getElementById('cctv-modal-img');
    if (img && img.src !== blank) { img.src = blank; }
    return blank;
}
""".replace("BLANK_GIF", BLANK_GIF)

REFRESH_JS = """
function(n, srcs) {
    if (document.hidden || !srcs) { return window.dash_clientside.no_update; }
    const t = Date.now();
    return srcs.map(s => (s || '').split('?')[0] + '?t=' + t);
}
"""

FILTER_JS = """
function(query, index, ids) {
    const q = (query || '').trim().toLowerCase();
    return (ids || []).map(id => {
        const text = (index || {})[id.code] || '';
        return (!q || text.includes(q)) ? {} : {display: 'none'};
    });
}
"""


def register(app: dash.Dash) -> None:
    app.callback(
        Output("cctv-modal", "is_open"),
        Output("cctv-modal-title", "children"),
        Output("cctv-modal-img", "src"),
        Input({"type": "cctv-live", "code": ALL}, "n_clicks"),
        Input("cctv-map-points", "clickData"),
        prevent_initial_call=True,
    )(open_live)
    app.clientside_callback(
        STOP_STREAM_JS,
        Output("cctv-modal-img", "src", allow_duplicate=True),
        Input("cctv-modal", "is_open"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        REFRESH_JS,
        Output({"type": "cctv-img", "code": ALL}, "src"),
        Input("cctv-refresh", "n_intervals"),
        State({"type": "cctv-img", "code": ALL}, "src"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        FILTER_JS,
        Output({"type": "cctv-col", "code": ALL}, "style"),
        Input("cctv-search", "value"),
        State("cctv-index", "data"),
        State({"type": "cctv-col", "code": ALL}, "id"),
        prevent_initial_call=True,
    )
