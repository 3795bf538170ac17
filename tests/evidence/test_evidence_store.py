"""The evidence store on SQLite and PostgreSQL: items, hashed files, the custody log, holds,
pruning by retention and quota (held items survive), and packages whose manifest verifies
(a tampered package does not)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from evidence_helpers import add_camera, queue
from sqlalchemy import select

from store.evidence import (
    EvidenceError,
    add_file,
    custody_rows,
    get_item,
    hold,
    item_dir,
    prune,
    release,
    stored_bytes,
)
from store.evidence_export import verify_package, write_package
from store.models import AuditLog, EvidenceFile, EvidenceItem


def _finished(db, settings, code: str, size: int, age_days: float = 0.0) -> int:
    """An evidence item with one clip file of ``size`` bytes, recorded ``age_days`` ago."""
    item_id = queue(db, settings, code, 10)
    folder = item_dir(settings, item_id)
    folder.mkdir(parents=True)
    path = folder / "clip.mp4"
    path.write_bytes(bytes([item_id % 251]) * size)
    with db.session() as s:
        item = s.get(EvidenceItem, item_id)
        add_file(s, settings, item, path, "clip", "video/mp4", 10.0)
        item.status = "complete"
        item.created_at = datetime.now(UTC) - timedelta(days=age_days)
    return item_id


def test_item_files_hash_and_custody(db, settings):
    add_camera(db, "CAM-A", "http://127.0.0.1:18699/cam/0/mjpeg", "mjpeg", address="Jl. Merdeka 1")
    item_id = _finished(db, settings, "CAM-A", 1234)
    with db.session() as s:
        item = get_item(s, item_id)
        f = item.files[0]
        expected = hashlib.sha256(bytes([item_id % 251]) * 1234).hexdigest()
        assert (f.sha256, f.bytes, item.bytes_total) == (expected, 1234, 1234)
        assert (item.camera_code, item.location, item.kecamatan) == (
            "CAM-A",
            "Jl. Merdeka 1",
            "Ilir Barat I",
        )
        assert [c.action for c in custody_rows(s, item_id)] == ["created"]
        audit = s.scalars(select(AuditLog).where(AuditLog.target == f"evidence:{item_id}")).all()
        assert [a.action for a in audit] == ["evidence_created"]


def test_seconds_bounds_and_bad_case_refs(db, settings):
    add_camera(db, "CAM-B", "http://127.0.0.1:18699/cam/0/mjpeg", "mjpeg")
    with pytest.raises(EvidenceError, match="between 1 and 300"):
        queue(db, settings, "CAM-B", 301)
    with pytest.raises(EvidenceError, match="between 1"):
        queue(db, settings, "CAM-B", 0)
    item_id = _finished(db, settings, "CAM-B", 10)
    for bad in ("", " ", "x" * 101, "a\nb"):
        with pytest.raises(EvidenceError), db.session() as s:
            hold(s, item_id, bad, "op")
    with pytest.raises(EvidenceError, match="not held"), db.session() as s:
        release(s, item_id, "op")


def test_pruning_keeps_held_items_under_quota_pressure(db, settings):
    add_camera(db, "CAM-C", "http://127.0.0.1:18699/cam/0/mjpeg", "mjpeg")
    # four recordings of 400 kB, oldest first; the oldest is held for a case
    ids = [_finished(db, settings, "CAM-C", 400_000, age_days=4 - i) for i in range(4)]
    with db.session() as s:
        hold(s, ids[0], "PERKARA-12/2026", "operator1")
    quota = settings.model_copy(update={"evidence_quota_mb": 1, "evidence_retention_days": 0})
    result = prune(db, quota)
    # 1.6 MB stored, 1 MB allowed: the held one stays, the next two oldest go (0.8 MB left)
    assert result.by_quota == [ids[1], ids[2]]
    assert result.held_skipped == 1 and result.by_retention == []
    with db.session() as s:
        assert stored_bytes(s) == 800_000
        held = get_item(s, ids[0])
        assert held.pruned_at is None and held.case_ref == "PERKARA-12/2026"
        gone = get_item(s, ids[1])
        assert gone.pruned_at is not None and gone.files[0].deleted_at is not None
        assert gone.files[0].sha256  # the record of what it was stays
        assert [c.action for c in custody_rows(s, ids[1])][-1] == "pruned"
        assert custody_rows(s, ids[1])[-1].detail["why"] == "quota"
    assert (item_dir(settings, ids[0]) / "clip.mp4").is_file()
    assert not (item_dir(settings, ids[1]) / "clip.mp4").exists()
    # retention: 2 days; the held item (4 days old) survives, the 1-day-old one too
    ret = settings.model_copy(update={"evidence_quota_mb": 0, "evidence_retention_days": 2})
    result = prune(db, ret)
    assert result.by_retention == [] and result.held_skipped == 1  # ids[1..2] already pruned
    with db.session() as s:
        release(s, ids[0], "operator1")
    result = prune(db, ret)
    assert result.by_retention == [ids[0]]
    with db.session() as s:
        assert [c.action for c in custody_rows(s, ids[0])] == [
            "created",
            "held",
            "released",
            "pruned",
        ]


def test_package_verifies_and_tampering_is_caught(db, settings, tmp_path):
    add_camera(
        db, "CAM-D", "http://127.0.0.1:18699/cam/0/mjpeg", "mjpeg", address="Simpang Charitas"
    )
    item_id = _finished(db, settings, "CAM-D", 50_000)
    out = tmp_path / "bukti.zip"
    with db.session() as s, out.open("wb") as fh:
        pkg = write_package(s, settings, item_id, fh, actor="operator1", ip="10.0.0.5")
    v = verify_package(out)
    assert v.ok, v.problems
    assert v.checked == 2 and v.item_id == item_id  # the clip and summary.html
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
        clip = z.read("files/clip.mp4")
        summary = z.read("summary.html").decode()
    assert hashlib.sha256(clip).hexdigest() == manifest["files"][0]["sha256"]
    assert manifest["camera"]["location"] == "Simpang Charitas"
    assert manifest["item"]["id"] == item_id and manifest["exported_by"] == "operator1"
    assert "Bukti rekaman CCTV" in summary and "CCTV recording evidence" in summary
    assert manifest["files"][0]["sha256"] in summary
    with db.session() as s:
        last = custody_rows(s, item_id)[-1]
        assert (last.action, last.actor, last.ip) == ("exported", "operator1", "10.0.0.5")
        assert last.detail["manifest_sha256"] == pkg.manifest_sha256 == v.manifest_sha256
        assert s.scalar(select(AuditLog.action).where(AuditLog.target == f"evidence:{item_id}",
                                                      AuditLog.username == "operator1")) == "evidence_exported"  # fmt: skip
    # tamper: one byte of the clip changed, everything else identical
    bad = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "files/clip.mp4":
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            dst.writestr(info, data)
    v = verify_package(bad)
    assert not v.ok and any("files/clip.mp4: SHA-256" in p for p in v.problems)
    # an added file and a removed one
    extra = tmp_path / "extra.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(extra, "w") as dst:
        for info in src.infolist():
            if info.filename != "summary.html":
                dst.writestr(info, src.read(info.filename))
        dst.writestr("files/other.mp4", b"x")
    problems = " | ".join(verify_package(extra).problems)
    assert "summary.html: listed in the manifest, missing" in problems
    assert "files/other.mp4: in the package but not in the manifest" in problems
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert not verify_package(tmp_path / "junk.zip").ok


def test_export_refuses_a_file_changed_on_disk(db, settings, tmp_path):
    add_camera(db, "CAM-E", "http://127.0.0.1:18699/cam/0/mjpeg", "mjpeg")
    item_id = _finished(db, settings, "CAM-E", 1000)
    (item_dir(settings, item_id) / "clip.mp4").write_bytes(b"changed")
    with pytest.raises(EvidenceError, match="SHA-256 differs"), db.session() as s:
        write_package(s, settings, item_id, tmp_path / "x.zip", actor="op")
    with db.session() as s:
        assert [c.action for c in custody_rows(s, item_id)] == ["created"]
        assert s.scalar(select(EvidenceFile.bytes).where(EvidenceFile.item_id == item_id)) == 1000
