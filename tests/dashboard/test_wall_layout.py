"""The video wall's rules (dashboard/wall_layout.py): layouts, group specs, rotation pages and
the new-alert takeover. Expected values are counted by hand from the issue's rules."""

from __future__ import annotations

import pytest

from dashboard.wall_layout import GroupSpec, compose, parse_group, parse_layout, tile_count

CAMS = [f"C{i:02d}" for i in range(1, 21)]  # 20 cameras


@pytest.mark.parametrize(("layout", "tiles"), [("1", 1), ("2x2", 4), ("3x3", 9), ("4x4", 16)])
def test_each_layout_has_its_tiles(layout, tiles):
    assert tile_count(layout) == tiles
    page = compose(CAMS, [], layout, 0)
    assert len(page.codes) == tiles
    assert page.codes == tuple(CAMS[:tiles])


@pytest.mark.parametrize("junk", [None, "", "5x5", 4, ["2x2"], {"a": 1}, "1 ", True])
def test_an_unknown_layout_is_the_default(junk):
    assert parse_layout(junk) == "2x2"
    assert tile_count(junk) == 4


def test_rotation_pages_through_the_group_and_wraps():
    # 20 cameras on 3x3: pages of 9, 9 and 2
    pages = [compose(CAMS, [], "3x3", tick) for tick in range(4)]
    assert [p.pages for p in pages] == [3, 3, 3, 3]
    assert pages[0].codes == tuple(CAMS[0:9])
    assert pages[1].codes == tuple(CAMS[9:18])
    assert pages[2].codes == ("C19", "C20")
    assert pages[3].codes == pages[0].codes  # after the last page, the first again
    assert [p.page for p in pages] == [0, 1, 2, 0]


def test_a_group_smaller_than_the_wall_is_one_page():
    page = compose(CAMS[:3], [], "4x4", 7)
    assert (page.pages, page.page, page.codes) == (1, 0, ("C01", "C02", "C03"))
    assert compose([], [], "2x2", 3).codes == ()


def test_junk_ticks_show_the_first_page():
    for tick in (-1, None, "3", 2.5):
        assert compose(CAMS, [], "2x2", tick).page == 0  # type: ignore[arg-type]


def test_a_new_alert_takes_the_first_tile_on_every_page():
    # C05 has a new alert: pinned first, the other 19 rotate in the 3 free tiles of 2x2
    pages = [compose(CAMS, ["C05"], "2x2", tick) for tick in range(8)]
    assert all(p.codes[0] == "C05" for p in pages)
    assert all(p.pinned == frozenset({"C05"}) for p in pages)
    assert pages[0].pages == 7  # ceil(19 / 3)
    assert pages[0].codes == ("C05", "C01", "C02", "C03")
    assert pages[1].codes == ("C05", "C04", "C06", "C07")  # C05 is not shown twice
    rotated = [c for p in pages[:7] for c in p.codes[1:]]
    assert sorted(rotated) == sorted(c for c in CAMS if c != "C05")


def test_a_camera_outside_the_group_with_a_new_alert_still_takes_a_tile():
    page = compose(CAMS[:4], ["X99"], "2x2", 0)
    assert page.codes == ("X99", "C01", "C02", "C03")
    assert page.pinned == frozenset({"X99"})


def test_takeover_uses_at_most_half_the_tiles_and_the_whole_single_tile():
    alerts = ["A1", "A2", "A3", "A4", "A5"]
    page = compose(CAMS, alerts, "2x2", 0)
    assert page.codes[:2] == ("A1", "A2") and len(page.codes) == 4  # 2 of 4 tiles
    assert compose(CAMS, alerts, "3x3", 0).codes[:4] == ("A1", "A2", "A3", "A4")  # 4 of 9
    single = compose(CAMS, alerts, "1", 5)
    assert single.codes == ("A1",) and single.pinned == frozenset({"A1"})


def test_an_enlarged_tile_is_alone_and_holds_the_rotation():
    page = compose(CAMS, ["C07"], "4x4", 3, focus="C12")
    assert page.codes == ("C12",) and page.pages == 1 and page.pinned == frozenset()
    assert compose(CAMS, ["C07"], "4x4", 3, focus="C07").pinned == frozenset({"C07"})


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("kecamatan", "Ilir Barat I", GroupSpec("kecamatan", "Ilir Barat I")),
        ("kecamatan:Bukit Kecil", None, GroupSpec("kecamatan", "Bukit Kecil")),
        ("custom", 3, GroupSpec("custom", "3")),
        ("alert", "ignored", GroupSpec("alert")),
        ("all", None, GroupSpec("all")),
        ("tag", None, GroupSpec("all")),  # a kind that needs a value, without one
        ("tag", "  ", GroupSpec("all")),
        ("owner", "x" * 101, GroupSpec("all")),
        ("nonsense", "x", GroupSpec("all")),
        (["kecamatan"], "x", GroupSpec("all")),
        ("custom", float("nan"), GroupSpec("all")),
        ("custom", True, GroupSpec("all")),
    ],
)
def test_group_specs_and_junk(kind, value, expected):
    assert parse_group(kind, value) == expected
