"""Video wall groups on SQLite and PostgreSQL: which cameras a kecamatan, function (tag),
owner, "in alert" or saved custom group holds, the new-alert takeover list, and saving and
deleting custom groups (store/wall_groups.py, dashboard/queries/wall.py). The expected lists
are written out by hand from the cameras and alerts made here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.queries import wall as q
from dashboard.wall_layout import GroupSpec
from store import wall_groups
from store.models import Alert, AlertStatus, Camera, WallGroup
from store.types import utcnow

# code, name, kecamatan, tags, owner, enabled
CAMERAS = [
    ("W-A", "Cam A", "K1", ["traffic", "flood"], "dishub", True),
    ("W-B", "Cam B", "K1", ["crowd"], "diskominfo", True),
    ("W-C", "Cam C", "K2", ["flood"], "dishub", True),
    ("W-D", "Cam D", "K2", ["flood"], "dishub", False),  # disabled: never on the wall
    ("W-E", "Cam E", "K3", [], "polresta", True),
]


@pytest.fixture
def wall_db(db):
    now = utcnow()
    with db.session() as s:
        ids = {}
        for code, name, kec, tags, owner, enabled in CAMERAS:
            cam = Camera(
                code=code, name=name, lat=-2.9, lon=104.7, kecamatan=kec, tags=tags, owner=owner,
                enabled=enabled, status="online",
            )  # fmt: skip
            s.add(cam)
            s.flush()
            ids[code] = cam.id

        def alert(code, minutes_ago, severity="warning", **kw):
            s.add(
                Alert(
                    rule="r", severity=severity, subject_type="camera", subject_id=code,
                    camera_id=ids[code], title=f"alert {code}",
                    started_at=now - timedelta(minutes=minutes_ago), **kw,
                )
            )  # fmt: skip

        alert("W-A", 60)  # open for an hour: in alert, not new
        alert("W-B", 2, "critical", level="siaga")  # new
        alert("W-C", 1, status=str(AlertStatus.RESOLVED))  # resolved: not in alert
        alert("W-E", 3, ended_at=now)  # the condition cleared: not in alert
        alert("W-D", 1)  # a disabled camera: not on the wall
    return db


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (GroupSpec("all"), ["W-A", "W-B", "W-C", "W-E"]),
        (GroupSpec("kecamatan", "K1"), ["W-A", "W-B"]),
        (GroupSpec("kecamatan", "K2"), ["W-C"]),
        (GroupSpec("kecamatan", "nowhere"), []),
        (GroupSpec("tag", "flood"), ["W-A", "W-C"]),
        (GroupSpec("tag", "crowd"), ["W-B"]),
        (GroupSpec("owner", "dishub"), ["W-A", "W-C"]),
        (GroupSpec("owner", "polresta"), ["W-E"]),
        (GroupSpec("alert"), ["W-A", "W-B"]),
    ],
)
def test_group_resolution(wall_db, spec, expected):
    with wall_db.session() as s:
        assert q.group_cameras(s, spec) == expected


def test_open_alerts_and_the_new_ones_that_take_a_tile(wall_db):
    with wall_db.session() as s:
        alerts = q.open_alert_cameras(s)
    assert set(alerts) == {"W-A", "W-B"}
    assert alerts["W-B"][0:2] == ("critical", "siaga")
    assert q.new_alert_cameras(alerts, 10) == ["W-B"]
    assert q.new_alert_cameras(alerts, 90) == ["W-B", "W-A"]  # newest first


def test_a_saved_group_keeps_its_order_and_skips_disabled_cameras(wall_db):
    with wall_db.session() as s:
        group = wall_groups.save_group(s, "  Pos  pantau ", ["W-E", "W-C", "W-D", "W-A"], "op1")
        gid = group.id
        assert group.name == "Pos pantau" and group.created_by == "op1"
    with wall_db.session() as s:
        assert q.group_cameras(s, GroupSpec("custom", str(gid))) == ["W-E", "W-C", "W-A"]
        assert q.group_values(s, "custom") == [(str(gid), "Pos pantau")]
        # the same name again replaces the cameras (no second group)
        wall_groups.save_group(s, "Pos pantau", ["W-B"], "op2")
    with wall_db.session() as s:
        assert q.group_cameras(s, GroupSpec("custom", str(gid))) == ["W-B"]
        assert len(wall_groups.list_groups(s)) == 1
        assert wall_groups.delete_group(s, gid) is True
    with wall_db.session() as s:
        assert q.group_cameras(s, GroupSpec("custom", str(gid))) == []
        assert wall_groups.delete_group(s, gid) is False


@pytest.mark.parametrize(
    ("name", "codes", "message"),
    [
        ("", ["W-A"], "name"),
        ("x" * 81, ["W-A"], "80"),
        ("ok", [], "camera"),
        ("ok", "W-A", "camera"),
        ("ok", ["W-A", "NOPE-1"], "NOPE-1"),
        ("ok", ["W-A", 5], "Invalid"),
        ("ok", ["../../etc"], "Unknown"),
        (None, ["W-A"], "name"),
    ],
)
def test_a_bad_group_is_refused_with_a_reason_and_nothing_is_saved(wall_db, name, codes, message):
    with wall_db.session() as s:
        with pytest.raises(wall_groups.WallGroupError) as err:
            wall_groups.save_group(s, name, codes, "op")
        assert message in str(err.value)
    with wall_db.session() as s:
        assert s.query(WallGroup).count() == 0


@pytest.mark.parametrize("junk", [None, "abc", "", "99999999999999999999", -1, 0, 2**40, [1]])
def test_junk_custom_group_ids_resolve_to_nothing(wall_db, junk):
    with wall_db.session() as s:
        assert q.group_cameras(s, GroupSpec("custom", junk)) == []  # type: ignore[arg-type]
        assert wall_groups.delete_group(s, junk) is False


def test_group_choices_come_from_enabled_cameras(wall_db):
    with wall_db.session() as s:
        assert q.group_values(s, "kecamatan") == [("K1", "K1"), ("K2", "K2"), ("K3", "K3")]
        assert [v for v, _ in q.group_values(s, "tag")] == ["crowd", "flood", "traffic"]
        assert [v for v, _ in q.group_values(s, "owner")] == ["dishub", "diskominfo", "polresta"]
        assert q.group_values(s, "alert") == []
