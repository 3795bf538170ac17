"""Camera registry import: valid files land whole, bad files land not at all."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ingestion.importers import RegistryImportError, import_cameras
from store.models import Camera

GOOD = (
    "code,name,lat,lon,kecamatan,protocol,stream_url,is_public,tags\n"
    "MLG-001,Alun-Alun Malang,-7.9826,112.6308,Klojen,rtsp,rtsp://10.0.0.5/live,ya,crowd;traffic\n"
    "MLG-002,Simpang Balapan,-7.9700,112.6320,Klojen,,,false,\n"
)


def test_import_csv_creates_then_updates(db, tmp_path):
    f = tmp_path / "cams.csv"
    f.write_text(GOOD)
    with db.session() as s:
        r = import_cameras(s, f)
        assert (r.created, r.updated) == (2, 0)
    f.write_text(GOOD.replace("Alun-Alun Malang", "Alun-Alun Kota Malang"))
    with db.session() as s:
        r = import_cameras(s, f)
        assert (r.created, r.updated) == (0, 2)
        cam = s.scalar(select(Camera).where(Camera.code == "MLG-001"))
        assert cam.name == "Alun-Alun Kota Malang"
        assert cam.is_public is True and cam.protocol == "rtsp" and cam.tags == ["crowd", "traffic"]


def test_one_bad_row_rejects_the_whole_file(db, tmp_path):
    f = tmp_path / "cams.csv"
    f.write_text(
        GOOD + "MLG-003,Bad Lat,-97.1,112.6,Klojen,,,false,\nMLG-001,Dup,-7.9,112.6,,,,,\n"
    )
    with db.session() as s, pytest.raises(RegistryImportError) as err:
        import_cameras(s, f)
    text = str(err.value)
    assert "row 4, field 'lat'" in text
    assert "row 5: code MLG-001 already used on row 2" in text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Camera)) == 0


def test_geojson_registry(db, tmp_path):
    f = tmp_path / "cams.geojson"
    f.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [119.4327, -5.1477]},
                        "properties": {
                            "code": "MKS-01",
                            "name": "Pantai Losari",
                            "is_public": True,
                        },
                    }
                ],
            }
        )
    )
    with db.session() as s:
        assert import_cameras(s, f).created == 1
        cam = s.scalar(select(Camera))
        assert (cam.lat, cam.lon, cam.is_public) == (-5.1477, 119.4327, True)


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "header row"),
        ("name,lat\nx,1\n", "header row"),
        ("code,name,lat,lon\n", "no camera rows"),
        ("code,name,lat,lon,rois\nA,B,1,1,{not json\n", "not valid JSON"),
    ],
)
def test_unreadable_files_have_clear_errors(sqlite_db, tmp_path, content, message):
    f = tmp_path / "cams.csv"
    f.write_text(content)
    with sqlite_db.session() as s, pytest.raises(RegistryImportError, match=message):
        import_cameras(s, f)


def test_cli_import_exits_non_zero_and_names_the_row(settings, tmp_path, monkeypatch):
    from pantau import cli
    from pantau import settings as settings_mod

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(settings_mod, "get_settings", lambda: settings)
    f = tmp_path / "cams.csv"
    f.write_text("code,name,lat,lon\nOK-1,Baik,-2.9,104.7\nOK-2,Buruk,abc,104.7\n")
    result = CliRunner().invoke(cli.app, ["import", "cameras", str(f)])
    assert result.exit_code == 1
    assert "row 3" in result.output and "lat" in result.output
    result = CliRunner().invoke(
        cli.app, ["import", "cameras", "--dry-run", str(tmp_path / "none.csv")]
    )
    assert result.exit_code == 1 and "not found" in result.output
