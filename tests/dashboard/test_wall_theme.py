"""The wall-screen chart theme (dashboard/wall_theme.py): figures of ?kiosk=1 pages become
dark with type of at least 16 px (ticks, legends) and 18 px (titles) on a 1920x1080 wall,
twice that on a 3840x2160 wall, and lose their fixed height (the kiosk stylesheet sizes them)."""

from __future__ import annotations

from flask import Flask

from dashboard import wall_theme


def complaints_like_figure() -> dict:
    """A figure as a light-theme callback sends it (template backgrounds, 11-12 px type)."""
    return {
        "data": [
            {
                "type": "bar",
                "x": [1, 2],
                "y": [3, 4],
                "marker": {"color": "#0b1f33"},
                "textfont": {"size": 10},
            },
        ],  # fmt: skip
        "layout": {
            "template": {"layout": {"paper_bgcolor": "white", "colorway": ["#636efa"]}},
            "height": 340,
            "font": {"size": 12, "color": "#8a94a6"},
            "legend": {"orientation": "h", "y": -0.22, "font": {"size": 10}},
            "xaxis": {"title": {"text": "Waktu (WIB)", "font": {"size": 11}}},
            "yaxis": {"title": "laporan", "gridcolor": "#eee"},
            "annotations": [{"text": "sementara", "font": {"size": 11}}],
            "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
        },
    }


def test_wall_figure_is_dark_big_and_unsized():
    fig = wall_theme.theme_figure(complaints_like_figure(), 1.0)
    layout = fig["layout"]
    assert "template" not in layout and "height" not in layout and layout["autosize"] is True
    assert layout["paper_bgcolor"] == "rgba(0,0,0,0)" and layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    assert layout["font"]["size"] >= 16 and layout["font"]["color"] == "#e9ecef"
    assert layout["legend"]["font"]["size"] >= 16
    assert layout["xaxis"]["tickfont"]["size"] >= 16 and layout["yaxis"]["tickfont"]["size"] >= 16
    assert layout["yaxis"]["title"]["font"]["size"] >= 16
    assert layout["annotations"][0]["font"]["size"] >= 16
    assert fig["data"][0]["textfont"]["size"] >= 16
    # the navy series would vanish on the navy wall
    assert fig["data"][0]["marker"]["color"] != "#0b1f33"
    # a legend below the plot takes the place of the x-axis title
    assert "title" not in layout["xaxis"]
    assert layout["colorway"] == ["#636efa"]


def test_4k_wall_doubles_the_type():
    fig = wall_theme.theme_figure(complaints_like_figure(), 2.0)
    assert fig["layout"]["xaxis"]["tickfont"]["size"] >= 32
    assert fig["layout"]["legend"]["font"]["size"] >= 32


def test_only_callbacks_of_kiosk_pages_are_themed():
    app = Flask(__name__)
    cases = {
        "http://h/banjir?kiosk=1&rotate=0": True,
        "http://h/banjir?kiosk=0": False,
        "http://h/banjir": False,
        "http://h/kiosk-info": False,
    }
    for referrer, expected in cases.items():
        with app.test_request_context("/_dash-update-component", headers={"Referer": referrer}):
            assert wall_theme.is_wall_request() is expected, referrer
    for cookie, expected in {"2": 2.0, "abc": 1.0, "0.5": 1.0, "9": 3.0, "nan": 1.0}.items():
        with app.test_request_context("/", headers={"Cookie": f"pantau_wall_scale={cookie}"}):
            assert wall_theme.wall_scale() == expected, cookie


def test_vertical_axis_titles_keep_their_unit_only_on_the_wall():
    """A "what (unit)" title on the y axis is longer than a wall chart is tall: the wall shows
    the unit (the card heading names the measure); x-axis titles and plain titles stay."""
    fig = {
        "layout": {
            "xaxis": {"title": {"text": "Kamera tergenang (≥30%) (hari tergenang)"}},
            "yaxis": {"title": {"text": "Kamera tergenang (≥30%) (% waktu tergenang)"}},
            "yaxis2": {"title": "Kendaraan (kendaraan/jam)"},
            "yaxis3": {"title": {"text": "laporan"}},
        }
    }
    layout = wall_theme.theme_figure(fig, 1.0)["layout"]
    assert layout["yaxis"]["title"]["text"] == "% waktu tergenang"
    assert layout["yaxis2"]["title"]["text"] == "kendaraan/jam"
    assert layout["yaxis3"]["title"]["text"] == "laporan"
    assert layout["xaxis"]["title"]["text"] == "Kamera tergenang (≥30%) (hari tergenang)"
