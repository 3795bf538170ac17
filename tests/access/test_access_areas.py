"""``/api/areas.geojson`` (kecamatan boundaries for the staff maps): staff only, one level,
fresh after an import."""

from __future__ import annotations

import csv

from access_helpers import STAFF

from pantau.settings import DATA_DIR
from store.areas import parse_areas, store_areas
from store.demo_areas import demo_kecamatan

URL = "/api/areas.geojson?level=kecamatan"


def registry_kecamatan() -> set[str]:
    with (DATA_DIR / "cameras_palembang.csv").open(encoding="utf-8") as fh:
        return {r["kecamatan"] for r in csv.DictReader(fh) if r["kecamatan"]}


def test_areas_geojson_by_role(env, clients):
    with env.db.session() as s:
        store_areas(s, demo_kecamatan(), is_demo=True)
    assert clients[None].get(URL).status_code == 401
    assert clients["opd"].get(URL).status_code == 403
    for role in STAFF:
        resp = clients[role].get(URL)
        assert resp.status_code == 200, role
        assert resp.mimetype == "application/geo+json"
        doc = resp.get_json()
        names = {f["properties"]["name"] for f in doc["features"]}
        assert names == registry_kecamatan()
        assert all(f["properties"]["demo"] is True for f in doc["features"])
        assert {f["geometry"]["type"] for f in doc["features"]} <= {"Polygon", "MultiPolygon"}
    op = clients["operator"]
    assert op.get("/api/areas.geojson?level=kelurahan").get_json()["features"] == []
    bad = op.get("/api/areas.geojson?level=desa")
    assert bad.status_code == 400 and "level must be one of" in bad.get_json()["error"]
    # a new import is served at once (the cache is keyed by the stored polygons)
    square = [[104.7, -3.0], [104.8, -3.0], [104.8, -2.9], [104.7, -2.9], [104.7, -3.0]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Kota Tengah", "level": "kecamatan", "code": "16.71.01"},
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    with env.db.session() as s:
        store_areas(s, parse_areas(doc))
    feats = op.get(URL).get_json()["features"]
    assert [(f["properties"]["name"], f["properties"]["code"], f["properties"]["demo"])
            for f in feats] == [("Kota Tengah", "16.71.01", False)]  # fmt: skip
    assert feats[0]["properties"]["area_km2"] > 120  # 0.1° x 0.1° at 3° S: ~123 km²
