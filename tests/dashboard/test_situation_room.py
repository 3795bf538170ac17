"""Overview, security, OPD and camera callbacks, and the geo/snapshot routes, on a real store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from known_data import NOW, WIB
from sqlalchemy import select

from dashboard.callbacks import camera, opd, overview, security
from dashboard.queries import alerts as alert_queries
from dashboard.queries import opd as opd_queries
from store.models import Alert, Camera, Incident, Opd, OpdIndicator, OpdIndicatorValue


def _text(component) -> str:
    return str(component)


# --------------------------------------------------------------------------------------------
# overview
def _alerts(db) -> dict[str, int]:
    with db.session() as s:
        cam_b = s.scalar(select(Camera).where(Camera.code == "CAM-B"))
        crit = Alert(rule="flood_coverage", severity="critical", subject_type="camera",
                     subject_id="CAM-B", camera_id=cam_b.id, title="Genangan 50% di Jalan Uji B",
                     value=50.0, started_at=NOW - timedelta(minutes=20))  # fmt: skip
        warn = Alert(rule="camera_offline", severity="warning", subject_type="camera",
                     subject_id="CAM-B", camera_id=cam_b.id, title="Kamera Jalan Uji B offline",
                     started_at=NOW - timedelta(hours=2))  # fmt: skip
        ended = Alert(rule="crowd_density", severity="critical", subject_type="camera",
                      subject_id="CAM-A", title="selesai", started_at=NOW - timedelta(days=1),
                      ended_at=NOW - timedelta(hours=20))  # fmt: skip
        s.add_all([crit, warn, ended])
        s.flush()
        return {"critical": crit.id, "warning": warn.id, "ended": ended.id}


def test_overview_tiles_and_feed(known_db):
    ids = _alerts(known_db)
    with known_db.session() as s:  # two incidents today (WIB), one yesterday
        today = datetime(2026, 12, 5, tzinfo=UTC) - WIB
        for when in (
            today + timedelta(hours=1),
            today + timedelta(hours=9),
            today - timedelta(hours=2),
        ):
            s.add(Incident(kind="fire", source="call112", title="Kebakaran", occurred_at=when))
    now = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)  # 10:30 WIB
    tiles, feed, alert_ids, count, url, updated = overview.refresh_overview(1, db=known_db, now=now)
    text = _text(tiles)
    assert "1/2" in text  # CAM-A online, CAM-B offline
    assert "1 offline" in text
    assert "overview-tile-incidents-value" in text
    incidents_tile = tiles[5].children
    assert incidents_tile.children.children[1].children[0].children == "2"
    flood_tile = tiles[3].children
    assert flood_tile.children.children[1].children[0].children == "1"  # one open flood alert
    # feed: open alerts only, critical first; both can be acknowledged
    assert alert_ids == [ids["critical"], ids["warning"]]
    assert "Genangan 50% di Jalan Uji B" in _text(feed[0])
    assert "overview-ack" in _text(feed[0])
    assert count == "2"
    assert url.startswith("/api/cameras.geojson?v=")
    assert "WIB" in updated


def test_people_and_vehicles_now_against_the_usual(known_db):
    # rollups end 30 Nov 2026 16:59 UTC; "now" one hour later: the latest bucket is 16:00 UTC
    now = datetime(2026, 11, 30, 17, 10, tzinfo=UTC)
    tiles, *_ = overview.refresh_overview(1, db=known_db, now=now)
    people = tiles[1].children
    vehicles = tiles[2].children
    assert people.children.children[1].children[0].children == "8"  # 2 + 6 people in view
    assert vehicles.children.children[1].children[0].children == "12"  # 4 + 8 vehicles
    assert "+0 % vs biasanya" in _text(people) or "0 % vs biasanya" in _text(people)
    assert "23:00 WIB" in _text(people)  # the hour the numbers are for


def test_acknowledge_writes_who_and_when_and_patches_one_entry(known_db):
    ids = _alerts(known_db)
    order = [ids["critical"], ids["warning"]]
    patch = overview.acknowledge_alert(
        [0, 1], order, db=known_db, trigger={"type": "overview-ack", "index": ids["warning"]},
        who="operator.siang",
    )  # fmt: skip
    with known_db.session() as s:
        alert = s.get(Alert, ids["warning"])
        assert alert.acknowledged_by == "operator.siang"
        assert alert.acknowledged_at is not None
        assert s.get(Alert, ids["critical"]).acknowledged_at is None
    ops = patch.to_plotly_json()["operations"]
    assert len(ops) == 1 and ops[0]["location"] == [1]
    assert "operator.siang" in str(ops[0]["params"]["value"])
    # a second acknowledgement does not overwrite the first
    with known_db.session() as s:
        assert not alert_queries.acknowledge(s, ids["warning"], "someone.else")
    with known_db.session() as s:
        assert s.get(Alert, ids["warning"]).acknowledged_by == "operator.siang"


def test_no_click_no_write(known_db):
    ids = _alerts(known_db)
    result = overview.acknowledge_alert(
        [0, 0], [ids["critical"], ids["warning"]], db=known_db,
        trigger={"type": "overview-ack", "index": ids["critical"]},
    )  # fmt: skip
    assert result is overview.dash.no_update
    with known_db.session() as s:
        assert s.get(Alert, ids["critical"]).acknowledged_at is None


def test_select_camera_shows_its_snapshot_and_ignores_clusters(known_db):
    panel = overview.select_camera({"properties": {"c": "CAM-A"}}, db=known_db)
    assert "/snapshots/CAM-A.jpg" in _text(panel) and "/camera/CAM-A" in _text(panel)
    assert (
        overview.select_camera({"properties": {"cluster": True}}, db=known_db)
        is overview.dash.no_update
    )
    assert (
        overview.select_camera({"properties": {"c": "../etc"}}, db=known_db)
        is overview.dash.no_update
    )


# --------------------------------------------------------------------------------------------
# security
def _incidents(db) -> None:
    with db.session() as s:
        cam_a = s.scalar(select(Camera.id).where(Camera.code == "CAM-A"))
        day = datetime(2026, 11, 12, tzinfo=UTC) - WIB  # 00:00 WIB 12 Nov
        rows = [
            ("fire", day + timedelta(hours=2), "Kemuning", cam_a),
            ("fire", day + timedelta(hours=10), "Kemuning", None),
            ("fire", day + timedelta(hours=23, minutes=30), "Plaju", None),  # still 12 Nov WIB
            ("crime", day + timedelta(days=1, hours=1), "Plaju", None),
            ("crime", day - timedelta(days=7, hours=-3), "Plaju", None),  # previous week
        ]
        for kind, when, kec, cam in rows:
            s.add(Incident(kind=kind, source="police", title=kind, occurred_at=when, kecamatan=kec,
                           camera_id=cam, lat=-2.98, lon=104.76))  # fmt: skip


def test_security_counts_by_kind_and_day(known_db):
    _incidents(known_db)
    fig, tiles, payload, _note, gran, top_fig, geo, top = security.update_security(
        "2026-11-12", "2026-11-13", "day", None, None, None, db=known_db
    )
    assert gran == "day"
    bars = {t["name"]: list(t["y"]) for t in fig["data"] if t["type"] == "bar"}
    assert bars == {"Kebakaran": [3, 0], "Kriminalitas": [0, 1]}
    assert [row[-3] for row in payload["table"]] == [3, 1]  # totals
    assert "4" in str(tiles[0])
    assert len(geo["features"]) == 4
    assert sorted((r["Kecamatan"], r["kejadian"]) for r in top["rows"]) == [
        ("Kemuning", 2),
        ("Plaju", 2),
    ]


def test_security_filters(known_db):
    _incidents(known_db)
    fig, _t, payload, *_ = security.update_security(
        "2026-11-12", "2026-11-13", "day", ["Plaju"], None, ["fire"], db=known_db
    )
    assert [row[1] for row in payload["table"]] == [1, 0]
    fig, _t, payload, *_ = security.update_security(
        "2026-11-12", "2026-11-13", "day", None, ["CAM-A"], None, db=known_db
    )
    assert sum(row[-3] for row in payload["table"]) == 1
    fig, _t, payload, *_ = security.update_security(
        "2026-11-05", "2026-11-13", "week", None, None, None, db=known_db
    )
    assert [row[0] for row in payload["table"]] == ["2026-11-02", "2026-11-09"]
    assert [row[-3] for row in payload["table"]] == [1, 4]


# --------------------------------------------------------------------------------------------
# OPD
def _indicators(db) -> dict[str, int]:
    with db.session() as s:
        o = Opd(code="POLRESTA", name="Polresta", short_name="Polresta")
        s.add(o)
        s.flush()
        fast = OpdIndicator(opd_id=o.id, code="respon", name="Waktu respons 112", unit="menit",
                            target=10, higher_is_better=False)  # fmt: skip
        share = OpdIndicator(opd_id=o.id, code="kasus", name="Kasus selesai", unit="%",
                             target=80, higher_is_better=True)  # fmt: skip
        s.add_all([fast, share])
        s.flush()
        for i, (v1, v2) in enumerate([(12.0, 70.0), (9.0, 78.0), (8.0, 75.0)]):
            month = date(2026, 9 + i, 1)
            s.add(OpdIndicatorValue(indicator_id=fast.id, period_start=month, value=v1))
            s.add(OpdIndicatorValue(indicator_id=share.id, period_start=month, value=v2))
        return {"fast": fast.id, "share": share.id}


def test_opd_attainment_respects_direction(known_db):
    ids = _indicators(known_db)
    with known_db.session() as s:
        cards = {c.id: c for c in opd_queries.indicator_cards(s)}
    fast, share = cards[ids["fast"]], cards[ids["share"]]
    assert fast.latest == 8.0 and fast.attainment == pytest.approx(10 / 8) and fast.status == "good"
    assert share.latest == 75.0 and share.attainment == pytest.approx(75 / 80)
    assert share.status == "watch"  # within 10 % of target
    children, summary = opd.update_cards(None, db=known_db)
    assert len(children) == 2
    assert summary == "1 tercapai · 1 perlu perhatian · 0 di bawah target"


def test_opd_history_modal(known_db):
    ids = _indicators(known_db)
    is_open, title, _meta, fig, table, changes = opd.open_history(
        [0, 1], None, False, db=known_db, trigger={"type": "opd-card", "index": ids["share"]}
    )
    assert is_open is True and title == "Kasus selesai"
    assert list(fig.data[0].y) == [70.0, 78.0, 75.0]
    assert "Nov 2026" in str(table)
    # demo values only: no value was ever sent or corrected
    assert "Belum ada nilai yang dikirim atau dikoreksi." in str(changes)
    assert opd.open_history([1], 1, True, db=known_db, trigger="opd-modal-close")[0] is False


# --------------------------------------------------------------------------------------------
# camera detail
def test_roi_and_lines_overlay():
    img = camera.shapes_svg(
        [{"name": "trotoar", "kind": "crowd", "points": [[0.1, 0.2], [0.5, 0.2], [0.5, 0.6]]}],
        [{"name": "garis <1>", "a": [0.0, 0.5], "b": [1.0, 0.5]}],
    )
    import base64

    svg = base64.b64decode(img.src.split(",", 1)[1]).decode()
    assert 'points="10.00,20.00 50.00,20.00 50.00,60.00"' in svg
    assert 'x1="0.00" y1="50.00" x2="100.00" y2="50.00"' in svg
    assert "Garis &lt;1&gt;" in svg  # names are escaped (and shown as words: dashboard/labels.py)
    assert camera.shapes_svg([], []) is None


def test_camera_counts_and_health(known_db):
    fig = camera.update_counts(1, "CAM-A", db=known_db, now=datetime(2026, 11, 30, 17, tzinfo=UTC))
    vehicles = next(t for t in fig.data if "Kendaraan" in t.name)
    assert len(vehicles.y) == 24 and set(vehicles.y) == {4.0}
    health = camera.health_timeline(
        "CAM-A", db=known_db, now=datetime(2026, 11, 30, 17, tzinfo=UTC)
    )
    assert "100 %" in str(health)  # every hour of the week has data
    src, _shapes, taken, _sample = camera.update_snapshot(1, True, "CAM-A", db=known_db)
    assert src.startswith("/snapshots/CAM-A.jpg")
    assert camera.update_snapshot(1, True, "../../x", db=known_db) == ("", None, "", "")
