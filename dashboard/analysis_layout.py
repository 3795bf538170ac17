"""Layout pieces of the analyst's cards on the trend pages (ids ``{page}-profile-*``): the
hour x weekday profile and the by-hour comparison. Hidden on the wall screen (kiosk)."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard import components
from dashboard.callbacks import _profile  # noqa: F401  - the card's strings
from dashboard.callbacks._compare import COMPARE_MODES
from dashboard.i18n import t


def compare_control(page: str) -> Any:
    """The "compare with" choice of a trend page (``{page}-compare``)."""
    return dbc.Col(
        [
            dbc.Label(t("ui.compare"), className="pantau-eyebrow"),
            components.dropdown(
                id=f"{page}-compare",
                options=[{"label": t(f"ui.compare.{c}"), "value": c} for c in COMPARE_MODES],
                value="previous",
                clearable=False,
            ),
        ],
        className="col-12 col-sm-6 col-lg",
    )


def profile_card(page: str) -> Any:
    """Heatmap (hours across, weekdays down) beside the by-hour comparison, and a note."""
    return dbc.Row(
        dbc.Col(
            components.card(
                t("profile.title"),
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    html.Div(
                                        id=f"{page}-profile-heatmap-title",
                                        className="pantau-eyebrow",
                                    ),
                                    components.graph(f"{page}-profile-heatmap", 300, modebar=False),
                                ],
                                lg=7,
                            ),
                            dbc.Col(
                                [
                                    html.Div(
                                        id=f"{page}-profile-hours-title",
                                        className="pantau-eyebrow",
                                    ),
                                    components.graph(f"{page}-profile-hours", 300, modebar=False),
                                ],
                                lg=5,
                            ),
                        ],
                        className="g-2",
                    ),
                    html.Div(id=f"{page}-profile-note", className="pantau-footnote mt-1"),
                ],
                card_id=f"{page}-profile-card",
                className="pantau-profile",
            ),
            className="mb-3",
        ),
        className="g-3 pantau-no-kiosk",
    )
