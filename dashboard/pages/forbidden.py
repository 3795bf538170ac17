"""403 page: shown (with status 403) to signed-in users whose role may not open a page."""

from __future__ import annotations

import dash

from dashboard.auth import forbidden_layout

dash.register_page(
    __name__, path="/403", title="Akses ditolak — Pantau", roles="public", id_prefix="forbidden"
)


def layout(**kwargs):
    return forbidden_layout(**kwargs)
