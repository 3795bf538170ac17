"""The "per kecamatan" rankings and choropleths (flooding, incidents, complaints): values
checked against rows written here, in kecamatan drawn here (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.callbacks import areas as cb
from store.areas import parse_areas, store_areas
from store.complaints import rebuild_area_days
from store.models import Camera, Complaint, Incident, ObservationRollup
from store.rollups import refresh_area_rollups


def square(x0, x1):
    return [[x0, -3.0], [x1, -3.0], [x1, -2.9], [x0, -2.9], [x0, -3.0]]


AREAS = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"name": n, "level": "kecamatan"},
         "geometry": {"type": "Polygon", "coordinates": [square(x0, x0 + 0.1)]}}
        for n, x0 in (("West", 104.0), ("East", 104.1))
    ],
}  # fmt: skip
WEST, EAST, OUTSIDE = (-2.95, 104.05), (-2.95, 104.15), (-2.5, 104.05)


def load_areas(db):
    with db.session() as s:
        store_areas(s, parse_areas(AREAS))


def bars(fig) -> dict[str, dict[str, list]]:
    """{series name: {kecamatan: value}} of a ranking figure."""
    return {
        tr["name"]: {y.strip(): x for y, x in zip(tr["y"], tr["x"], strict=True)}
        for tr in fig["data"]
    }


def shades(geo) -> dict[str, float]:
    return {f["properties"]["name"]: f["properties"]["v"] for f in geo["features"]}


def test_flood_hours_per_kecamatan(db):
    load_areas(db)
    h = datetime(2026, 11, 1, 3, tzinfo=UTC)  # 10:00 WIB on 1 November
    with db.session() as s:
        cams = {}
        for code, (lat, lon), kec in (("W1", WEST, None), ("W2", (WEST[0], 104.06), None),
                                      ("E1", EAST, None), ("X", OUTSIDE, "Luar")):  # fmt: skip
            cams[code] = Camera(code=code, name=code, lat=lat, lon=lon, kecamatan=kec)
            s.add(cams[code])
        s.flush()
        water = [  # (camera, hour, water_max): >= 0.3 is a flooded camera-hour
            ("W1", h, 0.5), ("W2", h, 0.4), ("E1", h, 0.1),
            ("W1", h + timedelta(hours=1), 0.35), ("E1", h + timedelta(hours=1), 0.6),
            ("X", h + timedelta(hours=2), 0.9),
            ("E1", h - timedelta(days=12), 0.9),  # before the range
        ]  # fmt: skip
        for code, bucket, wmax in water:
            s.add(ObservationRollup(camera_id=cams[code].id, period="hour", bucket=bucket,
                                    samples=12, water_max=wmax, water_n=12))  # fmt: skip
        s.flush()
        refresh_area_rollups(s)
    fig, geo, note = cb.update_flood_areas("2026-11-01", "2026-11-03", db=db)
    assert bars(fig) == {"jam genangan": {"West": 2, "East": 1, "Luar": 1}}
    assert [y.strip() for y in fig["data"][0]["y"]] == ["West", "East", "Luar"]
    assert shades(geo) == {"West": 2, "East": 1}
    labels = {f["properties"]["name"]: f["properties"]["label"] for f in geo["features"]}
    assert labels["West"] == "2 jam genangan (3 kamera-jam, 2 kamera)"
    assert "≥30%" in str(note) and "01/11/2026–03/11/2026" in str(note)


def test_incidents_per_kecamatan_by_kind(db):
    load_areas(db)
    t0 = datetime(2026, 11, 2, 5, tzinfo=UTC)
    rows = [("crime", WEST)] * 3 + [("fire", WEST)] + [("fire", EAST)] * 2
    with db.session() as s:
        for kind, (lat, lon) in rows:
            s.add(Incident(kind=kind, source="police", title=kind, lat=lat, lon=lon,
                           kecamatan="Tertulis", occurred_at=t0))  # fmt: skip
        s.add(Incident(kind="crime", source="police", title="x", lat=OUTSIDE[0], lon=OUTSIDE[1],
                       kecamatan="Luar", occurred_at=t0))  # fmt: skip
        s.add(Incident(kind="crime", source="police", title="old", lat=EAST[0], lon=EAST[1],
                       occurred_at=t0 - timedelta(days=30)))  # fmt: skip
    fig, geo, _note = cb.update_security_areas("2026-11-01", "2026-11-03", None, db=db)
    assert bars(fig) == {
        "Kriminalitas": {"West": 3, "East": 0, "Luar": 1},
        "Kebakaran": {"West": 1, "East": 2, "Luar": 0},
    }
    assert shades(geo) == {"West": 4.0, "East": 2.0}
    fig, geo, _note = cb.update_security_areas("2026-11-01", "2026-11-03", ["fire"], db=db)
    assert bars(fig) == {"Kebakaran": {"East": 2, "West": 1}}
    assert [y.strip() for y in fig["data"][0]["y"]] == ["East", "West"]
    # new boundaries (the names swapped): the reassigned incidents move in the daily rollup
    swapped = {**AREAS, "features": [
        {**f, "properties": {**f["properties"], "name": {"West": "East", "East": "West"}[
            f["properties"]["name"]]}}
        for f in AREAS["features"]
    ]}  # fmt: skip
    with db.session() as s:
        store_areas(s, parse_areas(swapped))
    from dashboard import cache

    cache.clear()
    fig, geo, _note = cb.update_security_areas("2026-11-01", "2026-11-03", None, db=db)
    assert shades(geo) == {"East": 4.0, "West": 2.0}


def test_complaints_per_kecamatan_open_and_late(db):
    load_areas(db)
    now = datetime.now(UTC)
    past, future = now - timedelta(days=1), now + timedelta(days=3)
    spec = [  # (point, status, created days ago, dispatch_due, followup_due)
        (WEST, "new", 2, past, None),  # late: not dispatched in time
        (WEST, "new", 1, future, None),
        (WEST, "resolved", 5, past, None),  # resolved: not late
        (EAST, "rejected", 3, past, None),  # not counted, not late
        (EAST, "dispatched", 40, past, past),  # before the 30 days; late follow-up now
    ]
    with db.session() as s:
        for i, ((lat, lon), status, ago, ddue, fdue) in enumerate(spec):
            s.add(Complaint(tracking_id=f"T{i}", category="waste", description="d", lat=lat,
                            lon=lon, status=status, created_at=now - timedelta(days=ago),
                            dispatch_due=ddue, followup_due=fdue))  # fmt: skip
        s.flush()
        rebuild_area_days(s)
    fig, geo, _note = cb.update_complaint_areas("30", 0, db=db)
    assert bars(fig) == {
        "Masih terbuka": {"West": 2, "East": 0},
        "Selesai/ditutup": {"West": 1, "East": 0},
    }
    assert shades(geo) == {"West": 3, "East": 0}
    labels = {f["properties"]["name"]: f["properties"]["label"] for f in geo["features"]}
    assert labels["West"] == "3 laporan, 2 masih terbuka; 1 terlambat sekarang"
    assert labels["East"] == "0 laporan, 0 masih terbuka; 1 terlambat sekarang"
    fig, geo, _note = cb.update_complaint_areas("90", 0, db=db)
    assert shades(geo) == {"West": 3, "East": 1}
