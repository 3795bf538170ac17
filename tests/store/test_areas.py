"""Kecamatan/kelurahan boundaries: validation, atomic replace of one level, point-in-polygon
assignment with fallback to the source's string (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ingestion.importers import import_cameras
from store.areas import (
    MAX_FILE_BYTES,
    AreasImportError,
    assign_point,
    import_areas,
    parse_areas,
    read_areas_file,
)
from store.models import Area, Camera, Complaint, ComplaintAreaDay, Incident, Sensor


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def feature(name, level, geometry, **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, "level": level, **props},
        "geometry": geometry,
    }


def poly(*rings) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


# Two districts side by side on a 0.1° grid; "Utara" has a hole; "Pulau" is a MultiPolygon of
# two islands, one of them filling Utara's hole.
UTARA = feature(
    "Utara",
    "kecamatan",
    poly(square(104.0, -3.0, 104.1, -2.9), square(104.04, -2.96, 104.06, -2.94)),
)
SELATAN = feature("Selatan", "kecamatan", poly(square(104.0, -3.1, 104.1, -3.0)))
PULAU = feature(
    "Pulau",
    "kecamatan",
    {
        "type": "MultiPolygon",
        "coordinates": [
            [square(104.2, -3.0, 104.25, -2.95)],
            [square(104.045, -2.955, 104.055, -2.945)],  # inside Utara's hole
        ],
    },
)
KELURAHAN = feature("Kel Satu", "kelurahan", poly(square(104.0, -3.0, 104.05, -2.95)))


def write(tmp_path, doc, name="areas.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def errors_of(doc) -> list[str]:
    with pytest.raises(AreasImportError) as err:
        parse_areas(doc)
    return err.value.errors


# --------------------------------------------------------------------------------------------
# validation
def test_self_intersecting_ring_is_refused_with_shapely_reason():
    bowtie = [[104.0, -3.0], [104.1, -2.9], [104.1, -3.0], [104.0, -2.9], [104.0, -3.0]]
    errs = errors_of(collection(UTARA, feature("Dasi", "kecamatan", poly(bowtie))))
    assert len(errs) == 1
    assert errs[0].startswith("feature 1 ('Dasi'): invalid polygon: Self-intersection")


def test_swapped_and_out_of_range_coordinates():
    swapped = [[y, x] for x, y in square(104.0, -3.0, 104.1, -2.9)]
    far = square(181.0, -3.0, 181.5, -2.9)
    errs = errors_of(
        collection(
            feature("Tukar", "kecamatan", poly(swapped)), feature("Jauh", "kecamatan", poly(far))
        )
    )
    assert "feature 0 ('Tukar'): position [-3.0, 104.0] is outside WGS84" in errs[0]
    assert "lat/lon swapped" in errs[0]
    assert errs[1].startswith("feature 1 ('Jauh'): position [181.0, -3.0] is outside WGS84")
    assert "swapped" not in errs[1]


def test_empty_name_duplicate_name_point_and_bad_level():
    doc = collection(
        UTARA,
        feature("  ", "kecamatan", poly(square(104.3, -3.0, 104.4, -2.9))),
        feature("utara", "kecamatan", poly(square(104.5, -3.0, 104.6, -2.9))),
        feature("Titik", "kecamatan", {"type": "Point", "coordinates": [104.0, -3.0]}),
        feature("Desa", "desa", poly(square(104.7, -3.0, 104.8, -2.9))),
    )
    errs = errors_of(doc)
    assert "feature 1: property 'name' is missing or empty" in errs
    assert "feature 2 ('utara'): kecamatan 'utara' already defined by feature 0" in errs
    assert "feature 3 ('Titik'): geometry type Point: only Polygon or MultiPolygon" in errs
    assert any(e.startswith("feature 4 ('Desa'): property 'level' must be one of") for e in errs)
    assert len(errs) == 4


def test_same_name_on_two_levels_is_fine():
    doc = collection(UTARA, feature("Utara", "kelurahan", poly(square(104.0, -3.0, 104.02, -2.98))))
    assert [f.level for f in parse_areas(doc)] == ["kecamatan", "kelurahan"]


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"type": "Feature"}, "the file is not a GeoJSON FeatureCollection"),
        ([1, 2], "the file is not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": []}, "the FeatureCollection has no features"),
    ],
)
def test_not_a_feature_collection(doc, message):
    assert errors_of(doc) == [message]


def test_unclosed_ring_and_file_limits(tmp_path):
    ring = square(104.0, -3.0, 104.1, -2.9)[:-1] + [[104.0, -2.95]]
    errs = errors_of(collection(feature("Buka", "kecamatan", poly(ring))))
    assert errs == ["feature 0 ('Buka'): ring 0 is not closed (first and last positions differ)"]
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(AreasImportError, match="at most"):
        read_areas_file(big)
    bad = write(tmp_path, {}, "bad.geojson")
    bad.write_text("{not json")
    with pytest.raises(AreasImportError, match="not valid JSON"):
        read_areas_file(bad)


# --------------------------------------------------------------------------------------------
# import, replace, assignment
def _count(s, level):
    return s.scalar(select(func.count()).select_from(Area).where(Area.level == level))


def test_import_replaces_one_level_atomically(db, tmp_path):
    with db.session() as s:
        import_areas(s, write(tmp_path, collection(UTARA, SELATAN, KELURAHAN)))
    with db.session() as s:
        assert (_count(s, "kecamatan"), _count(s, "kelurahan")) == (2, 1)
        kel = s.scalar(select(Area).where(Area.level == "kelurahan"))
        assert kel.parent == "Utara"  # derived from the kecamatan holding it
        utara = s.scalar(select(Area).where(Area.name == "Utara"))
        # 0.1° x 0.1° minus the 0.02° x 0.02° hole at 3° S: ~123.3 km² (11.12 km x 11.06 km)
        assert utara.area_km2 == pytest.approx(0.96 * 11.117 * 11.057, rel=0.01)
        assert (utara.min_lon, utara.max_lat) == (104.0, -2.9)
    # a new kecamatan file: kelurahan untouched
    with db.session() as s:
        import_areas(s, write(tmp_path, collection(PULAU)))
    with db.session() as s:
        names = s.scalars(select(Area.name).where(Area.level == "kecamatan")).all()
        assert names == ["Pulau"] and _count(s, "kelurahan") == 1
    # a failing file leaves everything as it was
    bad = collection(
        SELATAN, feature("Titik", "kecamatan", {"type": "Point", "coordinates": [1, 2]})
    )
    with pytest.raises(AreasImportError), db.session() as s:
        import_areas(s, write(tmp_path, bad))
    with db.session() as s:
        assert s.scalars(select(Area.name).where(Area.level == "kecamatan")).all() == ["Pulau"]


def test_a_failure_after_writing_rolls_the_level_back(db, tmp_path):
    with db.session() as s:
        import_areas(s, write(tmp_path, collection(UTARA)))
    with pytest.raises(RuntimeError), db.session() as s:
        import_areas(s, write(tmp_path, collection(SELATAN)))
        assert s.scalars(select(Area.name)).all() == ["Selatan"]  # inside the transaction
        raise RuntimeError("power cut")
    with db.session() as s:
        assert s.scalars(select(Area.name)).all() == ["Utara"]


def test_point_in_polygon_expectations(db, tmp_path):
    with db.session() as s:
        import_areas(s, write(tmp_path, collection(UTARA, SELATAN, PULAU, KELURAHAN)))
    with db.session() as s:
        assert assign_point(s, -2.99, 104.01) == ("Utara", "Kel Satu")  # inside both levels
        assert assign_point(s, -2.92, 104.09) == ("Utara", None)  # no kelurahan there
        assert assign_point(s, -3.05, 104.05) == ("Selatan", None)
        assert assign_point(s, -2.975, 104.225) == ("Pulau", None)  # first island
        assert assign_point(s, -2.948, 104.053) == ("Pulau", None)  # island in Utara's hole
        assert assign_point(s, -2.958, 104.058) == (None, None)  # hole, not the island
        assert assign_point(s, -2.5, 104.05) == (None, None)  # north of everything
        assert assign_point(s, None, 104.05) == (None, None)


def test_rows_located_on_insert_and_reassigned_on_import(db, tmp_path, monkeypatch):
    monkeypatch.setattr("store.areas.BATCH", 2)  # 3 cameras: reassigned in two batches
    cams = tmp_path / "cams.csv"
    cams.write_text(
        "code,name,lat,lon,kecamatan\n"
        "C-IN,Dalam Utara,-2.99,104.01,Salah Ketik\n"
        "C-OUT,Di Luar,-2.5,104.05,Kec Lama\n"
        "C-NONE,Tanpa Kec,-3.05,104.05,\n"
    )
    with db.session() as s:  # no polygons yet: the typed strings stand
        import_cameras(s, cams)
        s.add(Complaint(tracking_id="T-1", category="waste", description="x", lat=-3.05,
                        lon=104.05, kecamatan="Ditulis Warga"))  # fmt: skip
        s.add(Incident(kind="fire", source="police", title="api", lat=-2.99, lon=104.01,
                       kecamatan="Dari Polisi", occurred_at=datetime(2026, 11, 1, tzinfo=UTC)))  # fmt: skip
        s.add(Sensor(code="S-1", name="s", kind="water_level", unit="cm", lat=-2.95, lon=104.05))
    with db.session() as s:
        kec = dict(s.execute(select(Camera.code, Camera.kecamatan)).all())
        assert kec == {"C-IN": "Salah Ketik", "C-OUT": "Kec Lama", "C-NONE": None}
        src = set(s.scalars(select(Camera.area_source)))
        assert src == {"input"}
    with db.session() as s:
        stamps = {
            t: s.execute(select(m.id, m.updated_at).order_by(m.id)).all()
            for t, m in (("cameras", Camera), ("complaints", Complaint))
        }
    with db.session() as s:
        summary = import_areas(s, write(tmp_path, collection(UTARA, SELATAN, PULAU, KELURAHAN)))
        assert summary.reassigned == {"cameras": 2, "incidents": 1, "complaints": 1, "sensors": 1}
        assert summary.located == {"cameras": 2, "incidents": 1, "complaints": 1, "sensors": 1}
    with db.session() as s:
        rows = {
            c.code: (c.kecamatan, c.kelurahan, c.kecamatan_input, c.area_source)
            for c in s.scalars(select(Camera))
        }
        assert rows == {
            "C-IN": ("Utara", "Kel Satu", "Salah Ketik", "polygon"),
            "C-OUT": ("Kec Lama", None, "Kec Lama", "input"),  # outside: the string stays
            "C-NONE": ("Selatan", None, None, "polygon"),
        }
        c = s.scalar(select(Complaint))
        assert (c.kecamatan, c.kecamatan_input) == ("Selatan", "Ditulis Warga")
        i = s.scalar(select(Incident))
        assert (i.kecamatan, i.kelurahan, i.kecamatan_input) == ("Utara", "Kel Satu", "Dari Polisi")
        assert s.scalar(select(Sensor.kecamatan)) == "Pulau"
        # reassignment is not an edit: updated_at stays (the live complaint map reads it)
        for t, m in (("cameras", Camera), ("complaints", Complaint)):
            assert s.execute(select(m.id, m.updated_at).order_by(m.id)).all() == stamps[t]
        assert s.execute(select(ComplaintAreaDay.kecamatan, ComplaintAreaDay.reports)).all() == [
            ("Selatan", 1)
        ]
    # a new row is located on insert, an edited point moves, an edited string is the new input
    with db.session() as s:
        s.add(Complaint(tracking_id="T-2", category="waste", description="y", lat=-2.92,
                        lon=104.09, kecamatan="Apa Saja"))  # fmt: skip
        cam = s.scalar(select(Camera).where(Camera.code == "C-OUT"))
        cam.lat, cam.lon = -3.05, 104.02
        other = s.scalar(select(Camera).where(Camera.code == "C-IN"))
        other.lat = -2.5  # moved outside every polygon: falls back to its typed string
    with db.session() as s:
        c2 = s.scalar(select(Complaint).where(Complaint.tracking_id == "T-2"))
        assert (c2.kecamatan, c2.kecamatan_input, c2.area_source) == (
            "Utara",
            "Apa Saja",
            "polygon",
        )
        kec = dict(s.execute(select(Camera.code, Camera.kecamatan)).all())
        assert kec["C-OUT"] == "Selatan" and kec["C-IN"] == "Salah Ketik"


def test_cli_import_areas_and_dry_run(db, tmp_path, monkeypatch):
    from pantau.cli import app
    from pantau.settings import get_settings

    monkeypatch.setenv("PANTAU_DATABASE_URL", db.url)
    get_settings.cache_clear()
    good = write(tmp_path, collection(UTARA, SELATAN))
    runner = CliRunner()
    res = runner.invoke(app, ["import", "areas", str(good), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "2 polygons are valid" in res.output
    with db.session() as s:
        assert _count(s, "kecamatan") == 0
    res = runner.invoke(app, ["import", "areas", str(good)])
    assert res.exit_code == 0, res.output
    assert "2 kecamatan polygons imported" in res.output
    bad = write(tmp_path, collection(feature("", "kecamatan", poly(square(1, 1, 2, 2)))), "b.json")
    res = runner.invoke(app, ["import", "areas", str(bad)])
    assert res.exit_code != 0
    assert "feature 0: property 'name' is missing or empty" in res.output
    with db.session() as s:
        assert _count(s, "kecamatan") == 2


def test_area_rollups_follow_the_new_kecamatan(db, tmp_path):
    from store.models import AreaRollup, ObservationRollup
    from store.rollups import refresh_area_rollups

    hour = datetime(2026, 11, 1, 3, tzinfo=UTC)
    with db.session() as s:
        for code, lat, lon in (("A", -2.99, 104.01), ("B", -3.05, 104.05)):
            cam = Camera(code=code, name=code, lat=lat, lon=lon, kecamatan="Lama")
            s.add(cam)
            s.flush()
            s.add(ObservationRollup(camera_id=cam.id, period="hour", bucket=hour, samples=12,
                                    water_max=0.5, water_n=12))  # fmt: skip
        s.flush()
        refresh_area_rollups(s)

    def wet() -> dict[str, int]:
        with db.session() as s:
            rows = s.execute(
                select(AreaRollup.kecamatan, AreaRollup.wet_n).where(AreaRollup.period == "hour")
            ).all()
            return dict(rows)

    assert wet() == {"Lama": 2}
    with db.session() as s:
        import_areas(s, write(tmp_path, collection(UTARA, SELATAN)))
    assert wet() == {"Utara": 1, "Selatan": 1}
    with db.session() as s:  # kelurahan only: the kecamatan sums need no rebuild, stay right
        summary = import_areas(s, write(tmp_path, collection(KELURAHAN), "kel.geojson"))
        assert summary.reassigned["cameras"] == 1  # camera A is in Kel Satu
    assert wet() == {"Utara": 1, "Selatan": 1}
