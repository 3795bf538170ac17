"""Camera management writes (store/cameras.py, the admin page's store layer) on SQLite and
PostgreSQL: add, edit, disable, validation errors per field, audit rows with a readable diff,
registry upload preview (new / changed / unchanged) and its all-or-nothing commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ingestion.importers import RegistryImportError
from store import cameras
from store.models import AuditLog, Camera

BASE = {
    "code": "PLG-UJI-01",
    "name": "Simpang Uji",
    "lat": -2.98,
    "lon": 104.75,
    "kecamatan": "Bukit Kecil",
    "protocol": "snapshot",
    "stream_url": "http://10.20.0.7/snap.jpg",
    "is_public": False,
    "sample_interval_s": 60,
}


def _audit(s, action: str) -> list[AuditLog]:
    return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_add_edit_disable_are_saved_and_audited(db):
    with db.session() as s:
        cameras.create(s, dict(BASE), actor="admin_budi")
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "PLG-UJI-01"))
        assert (cam.name, cam.enabled, cam.status) == ("Simpang Uji", True, "unknown")
        created = _audit(s, "camera_create")
        assert [(a.username, a.target) for a in created] == [("admin_budi", "PLG-UJI-01")]
        assert created[0].detail["changes"]["name"] == {"old": None, "new": "Simpang Uji"}
    with db.session() as s:
        changes = cameras.update(
            s,
            "PLG-UJI-01",
            {"name": "Simpang Uji Baru", "sample_interval_s": "30", "is_public": "ya"},
            actor="admin_budi",
        )
        assert set(changes) == {"name", "sample_interval_s", "is_public"}
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "PLG-UJI-01"))
        assert (cam.name, cam.sample_interval_s, cam.is_public) == ("Simpang Uji Baru", 30, True)
        row = _audit(s, "camera_update")[0]
        assert row.username == "admin_budi"
        assert row.detail["changes"]["sample_interval_s"] == {"old": 60, "new": 30}
        assert "name: 'Simpang Uji' → 'Simpang Uji Baru'" in row.detail["summary"]
    with db.session() as s:  # saving the same values again changes and audits nothing
        assert cameras.update(s, "PLG-UJI-01", {"name": "Simpang Uji Baru"}, actor="x") == {}
    with db.session() as s:
        assert len(_audit(s, "camera_update")) == 1
        assert cameras.set_enabled(s, "PLG-UJI-01", False, actor="admin_budi") is True
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "PLG-UJI-01"))
        assert (cam.enabled, cam.status) == (False, "disabled")
        assert _audit(s, "camera_disable")[0].detail["changes"]["enabled"] == {
            "old": True,
            "new": False,
        }
        cameras.set_enabled(s, "PLG-UJI-01", True, actor="admin_budi")
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "PLG-UJI-01"))
        assert (cam.enabled, cam.status) == (True, "unknown")
        assert len(_audit(s, "camera_enable")) == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"lat": -97.0}, "lat", "greater than or equal to -90"),
        ({"code": "bad code!"}, "code", "letters, digits"),
        ({"name": ""}, "name", "required"),
        ({"sample_interval_s": 0}, "sample_interval_s", "greater than or equal to 1"),
        ({"stream_url": "file:///etc/passwd"}, "stream_url", "scheme"),
        ({"stream_url": "http://169.254.169.254/latest"}, "stream_url", "link-local"),
        ({"protocol": "gopher"}, "protocol", "'rtsp'"),
        ({"rois": [{"name": "a", "kind": "crowd", "points": [[0, 0], [1, 1]]}]}, "rois", "3"),
    ],
)
def test_bad_values_name_the_field_and_save_nothing(db, change, field, words):
    with db.session() as s, pytest.raises(cameras.CameraError) as err:
        cameras.create(s, {**BASE, **change}, actor="admin")
    assert field in err.value.errors, err.value.errors
    assert words in err.value.errors[field].lower()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Camera)) == 0
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_duplicate_code_and_missing_camera(db):
    with db.session() as s:
        cameras.create(s, dict(BASE), actor="admin")
    with db.session() as s, pytest.raises(cameras.CameraError) as err:
        cameras.create(s, dict(BASE), actor="admin")
    assert "already used" in err.value.errors["code"]
    with db.session() as s, pytest.raises(cameras.CameraError):
        cameras.update(s, "NOPE", {"name": "x"}, actor="admin")


def test_geometry_is_saved_in_normalised_coordinates_and_audited(db):
    with db.session() as s:
        cameras.create(s, dict(BASE), actor="admin")
    rois = [
        {
            "name": "Trotoar",
            "kind": "crowd",
            "points": [[0.1, 0.5], [0.5, 0.5], [0.5, 0.9]],
            "normalized": True,
        }
    ]
    lines = [{"name": "Masuk", "a": [0.0, 0.6], "b": [1.0, 0.6], "normalized": True}]
    with db.session() as s:
        changes = cameras.save_geometry(s, "PLG-UJI-01", rois, lines, actor="admin_sari")
        assert set(changes) == {"rois", "lines"}
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "PLG-UJI-01"))
        assert cam.rois == rois and cam.lines == lines
        row = _audit(s, "camera_update")[-1]
        assert row.username == "admin_sari"
        assert "rois: 0 item(s) → 1 item(s)" in row.detail["summary"]
    bad = [{"name": "x", "kind": "sungai", "points": [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]]}]
    with db.session() as s, pytest.raises(cameras.CameraError) as err:
        cameras.save_geometry(s, "PLG-UJI-01", bad, [], actor="admin")
    assert "kind must be one of" in err.value.errors["rois"]


def test_credentials_in_stream_urls_are_not_written_to_the_audit(db):
    with db.session() as s:
        cameras.create(
            s, {**BASE, "stream_url": "http://admin:rahasia@10.20.0.7/snap.jpg"}, actor="a"
        )
    with db.session() as s:
        details = [str(a.detail) for a in s.scalars(select(AuditLog))]
        assert details and not any("rahasia" in d for d in details)


def _rows(*dicts):
    return [(i, {k: str(v) for k, v in d.items()}) for i, d in enumerate(dicts, start=2)]


def test_registry_preview_diff_then_commit_all_or_nothing(db):
    with db.session() as s:
        cameras.create(s, dict(BASE), actor="admin")
        cameras.create(s, {**BASE, "code": "PLG-UJI-02", "name": "Dua"}, actor="admin")
    rows = _rows(
        {**BASE, "name": "Simpang Uji (ganti)"},  # changed
        {**BASE, "code": "PLG-UJI-02", "name": "Dua"},  # unchanged
        {**BASE, "code": "PLG-UJI-03", "name": "Tiga"},  # new
    )
    with db.session() as s:
        preview = cameras.preview_registry(s, rows)
        assert preview.errors == []
        kinds = {r.code: r.kind for r in preview.rows}
        assert kinds == {"PLG-UJI-01": "changed", "PLG-UJI-02": "unchanged", "PLG-UJI-03": "new"}
        changed = next(r for r in preview.rows if r.code == "PLG-UJI-01")
        assert changed.changes == {"name": {"old": "Simpang Uji", "new": "Simpang Uji (ganti)"}}
    with db.session() as s:  # the preview wrote nothing
        assert s.scalar(select(func.count()).select_from(Camera)) == 2
    # one bad row: the preview lists it, the commit refuses the whole file
    bad = [*rows, (5, {k: str(v) for k, v in {**BASE, "code": "PLG-UJI-04", "lat": "abc"}.items()})]
    with db.session() as s:
        preview = cameras.preview_registry(s, bad)
        assert preview.rows == [] and any("row 5, field 'lat'" in e for e in preview.errors)
    with pytest.raises(RegistryImportError), db.session() as s:
        cameras.commit_registry(s, bad, actor="admin", filename="kamera.csv")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Camera)) == 2
        assert s.scalar(select(Camera.name).where(Camera.code == "PLG-UJI-01")) == "Simpang Uji"
        assert _audit(s, "camera_import") == []
    with db.session() as s:
        cameras.commit_registry(s, rows, actor="admin_budi", filename="kamera.csv")
    with db.session() as s:
        names = dict(s.execute(select(Camera.code, Camera.name)).all())
        assert names == {
            "PLG-UJI-01": "Simpang Uji (ganti)",
            "PLG-UJI-02": "Dua",
            "PLG-UJI-03": "Tiga",
        }
        imp = _audit(s, "camera_import")
        assert len(imp) == 1 and imp[0].username == "admin_budi"
        assert imp[0].detail["summary"] == "1 new, 1 changed, 1 unchanged"
        per_camera = [
            (a.action, a.target) for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]
        assert per_camera[-3:] == [
            ("camera_update", "PLG-UJI-01"),
            ("camera_create", "PLG-UJI-03"),
            ("camera_import", "kamera.csv"),
        ]


def test_registry_rows_with_rois_the_analytics_refuse_are_row_errors(db):
    rows = _rows({**BASE, "rois": '[{"name": "a", "points": [[0, 0]]}]'})
    with db.session() as s:
        preview = cameras.preview_registry(s, rows)
    assert preview.errors and "row 2, field 'rois'" in preview.errors[0]


def test_kecamatan_comes_from_the_boundaries_and_the_typed_one_is_what_the_form_compares(db):
    """With boundaries loaded (store.areas), a camera saved on the page lies in the polygon's
    kecamatan; the typed value stays the form's (and a registry re-upload's) reference, so the
    same row again is "unchanged", and moving the camera moves its kecamatan."""
    from store.areas import parse_areas, store_areas

    def square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]

    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name, "level": "kecamatan"},
                "geometry": {"type": "Polygon", "coordinates": [square(*box)]},
            }
            for name, box in (
                ("Utara", (104.7, -3.0, 104.8, -2.9)),
                ("Selatan", (104.7, -3.1, 104.8, -3.0)),
            )
        ],
    }
    with db.session() as s:
        store_areas(s, parse_areas(doc))
    with db.session() as s:
        cameras.create(s, {**BASE, "lat": -2.95, "kecamatan": "Tulisan Admin"}, actor="a")
    with db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "PLG-UJI-01"))
        assert cam.kecamatan == "Utara"
        assert cameras.record_of(cam)["kecamatan"] == "Tulisan Admin"
        same = _rows({**BASE, "lat": -2.95, "kecamatan": "Tulisan Admin"})
        assert [r.kind for r in cameras.preview_registry(s, same).rows] == ["unchanged"]
    with db.session() as s:
        changes = cameras.update(s, "PLG-UJI-01", {"lat": -3.05}, actor="a")
        assert set(changes) == {"lat"}
    with db.session() as s:
        assert s.scalar(select(Camera.kecamatan).where(Camera.code == "PLG-UJI-01")) == "Selatan"
