"""The complaint workflow on SQLite and PostgreSQL: intake, transitions with history,
deadlines, duplicates, auto-close, overdue flags, photos, one transaction per report."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from complaints_helpers import report
from sqlalchemy import func, select

from store.complaints import (
    ComplaintService,
    TransitionError,
    ValidationError,
    find_duplicates,
    new_tracking_id,
    normalise_tracking_id,
    overdue_kind,
    sanitize_photo,
)
from store.models import Complaint, ComplaintEvent, ComplaintStatus, Opd

S = ComplaintStatus
MONDAY = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB


def opd_id(db, code: str) -> int:
    with db.session() as s:
        return s.scalar(select(Opd.id).where(Opd.code == code))


def events(db, complaint_id: int) -> list[tuple]:
    with db.session() as s:
        return [
            (e.from_status, e.to_status, e.actor, e.note)
            for e in s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint_id)
                .order_by(ComplaintEvent.id)
            )
        ]


# --------------------------------------------------------------------------------------------
def test_tracking_ids_are_unguessable_and_forgiving():
    ids = {new_tracking_id(MONDAY) for _ in range(2000)}
    assert len(ids) == 2000
    tid = next(iter(ids))
    assert tid.startswith("LPR-2611-") and len(tid) == 17
    assert normalise_tracking_id(tid.lower()) == tid
    assert normalise_tracking_id(" lpr-2611-0o1il2ab ".replace("b", "B")) == "LPR-2611-001112AB"
    assert normalise_tracking_id("LPR-2611-<script>") is None
    assert normalise_tracking_id("x' OR 1=1 --") is None


def test_submit_creates_report_first_event_and_deadline(svc: ComplaintService, seeded):
    result = svc.submit(report(), actor="warga", now=MONDAY)
    c = result.complaint
    assert result.created and c.status == S.NEW
    assert c.dispatch_due == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 3 working days
    assert events(seeded, c.id) == [(None, "new", "warga", "channel=web")]


def test_validation_lists_every_problem_in_both_languages(svc: ComplaintService):
    with pytest.raises(ValidationError) as err:
        svc.submit(report(category="unicorns", description="pendek", lat=None, lon=None))
    ids = err.value.messages("id")
    en = err.value.messages("en")
    assert set(ids) == {"category", "description", "location"}
    assert "tidak dikenal" in ids["category"] and "Unknown category" in en["category"]
    assert "minimal 10 karakter" in ids["description"]
    assert "at least 10 characters" in en["description"]


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"lat": -2.97, "lon": None}, "location", "keduanya"),
        ({"lat": 95, "lon": 104.7}, "location", "tidak valid"),
        ({"lat": "abc", "lon": "104"}, "location", "tidak valid"),
        ({"lat": -6.2, "lon": 106.8}, "location", "luar wilayah"),  # Jakarta, not Palembang
        ({"address": "abc", "lat": None, "lon": None}, "address", "terlalu pendek"),
        ({"privacy": "public"}, "privacy", "tidak dikenal"),
        ({"reporter_contact": "bukan kontak"}, "reporter_contact", "nomor HP"),
        ({"description": "x" * 4001}, "description", "terlalu panjang"),
    ],
)
def test_field_validation(svc, fields, field, text):
    with pytest.raises(ValidationError) as err:
        svc.submit(report(**fields))
    assert text in err.value.messages("id")[field]


def test_contacts_are_normalised(svc):
    c = svc.submit(report(reporter_contact="0812-3456-7890")).complaint
    assert c.reporter_contact == "+6281234567890"


def test_full_workflow_records_every_change(svc: ComplaintService, seeded):
    c = svc.submit(report(), now=MONDAY).complaint
    pupr = opd_id(seeded, "PUPR")
    t1 = MONDAY + timedelta(hours=2)
    svc.transition(c.id, S.VERIFIED, actor="opr.a", now=t1)
    svc.transition(c.id, S.DISPATCHED, actor="opr.a", opd_id=pupr, note="cek lokasi", now=t1)
    done = svc.transition(c.id, S.IN_PROGRESS, actor="pupr.b", now=t1 + timedelta(days=1))
    assert done.followup_due == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # 5 working days
    resolved = svc.transition(
        c.id, S.RESOLVED, actor="pupr.b", note="ditambal", now=t1 + timedelta(days=2)
    )
    assert resolved.autoclose_due == t1 + timedelta(days=2) + timedelta(days=14)  # 10 wd
    assert resolved.opd_id == pupr and resolved.verified_at == t1
    assert [e[:3] for e in events(seeded, c.id)] == [
        (None, "new", "warga"),
        ("new", "verified", "opr.a"),
        ("verified", "dispatched", "opr.a"),
        ("dispatched", "in_progress", "pupr.b"),
        ("in_progress", "resolved", "pupr.b"),
    ]
    # the reporter says it is not fixed: reopened, auto-close cleared
    reopened = svc.transition(c.id, S.IN_PROGRESS, actor="opr.a", note="masih berlubang")
    assert reopened.autoclose_due is None and reopened.resolved_at is None


def test_invalid_transitions_are_refused_with_a_clear_message(svc, seeded):
    c = svc.submit(report()).complaint
    with pytest.raises(TransitionError) as err:
        svc.transition(c.id, S.RESOLVED, actor="opr")
    assert "tidak dapat diubah" in err.value.text("id")
    assert "cannot change to 'resolved'" in err.value.text("en")
    assert "verified" in err.value.text("en")  # says what is allowed
    with pytest.raises(TransitionError, match="note"):
        svc.transition(c.id, S.REJECTED, actor="opr")
    with pytest.raises(TransitionError) as err:
        svc.transition(c.id, S.VERIFIED, actor="opr") and svc.transition(
            c.id, S.DISPATCHED, actor="opr"
        )
    assert err.value.key == "opd_required"
    svc.transition(c.id, S.REJECTED, actor="opr", note="bukan kewenangan kota")
    with pytest.raises(TransitionError):  # final
        svc.transition(c.id, S.VERIFIED, actor="opr")
    assert len(events(seeded, c.id)) == 3  # new, verified, rejected: refusals left no trace


def test_duplicates_are_suggested_and_linked_to_the_root(svc, seeded):
    original = svc.submit(report(), now=MONDAY).complaint
    near = svc.submit(report(lat=-2.9765, lon=104.7452), now=MONDAY + timedelta(hours=3)).complaint
    far = svc.submit(report(lat=-2.9900, lon=104.7450), now=MONDAY + timedelta(hours=3)).complaint
    other_cat = svc.submit(
        report(category="waste", lat=-2.9761, lon=104.7450), now=MONDAY + timedelta(hours=3)
    ).complaint
    with seeded.session() as s:
        hints = find_duplicates(
            s,
            category="road_damage",
            lat=near.lat,
            lon=near.lon,
            created_at=near.created_at,
            radius_m=150,
            exclude_id=near.id,
        )
    assert [h.id for h in hints] == [original.id]
    assert 40 < hints[0].distance_m < 70
    assert far.id not in [h.id for h in hints] and other_cat.id not in [h.id for h in hints]
    third = svc.submit(report(lat=-2.9761, lon=104.7451)).complaint
    svc.transition(near.id, S.DUPLICATE, actor="opr", note="sama", duplicate_of_id=original.id)
    # marking a duplicate of a duplicate links to the original
    svc.transition(third.id, S.DUPLICATE, actor="opr", note="sama", duplicate_of_id=near.id)
    with seeded.session() as s:
        assert s.get(Complaint, third.id).duplicate_of_id == original.id
    with pytest.raises(TransitionError):
        svc.transition(original.id, S.DUPLICATE, actor="opr", note="x", duplicate_of_id=original.id)


def test_overdue_flags_and_auto_close(svc, seeded):
    c = svc.submit(report(), now=MONDAY).complaint
    assert overdue_kind(c, MONDAY + timedelta(days=2)) is None
    assert overdue_kind(c, MONDAY + timedelta(days=3, minutes=1)) == "dispatch"
    pupr = opd_id(seeded, "PUPR")
    done, failed = svc.dispatch_many([c.id], pupr, actor="opr", now=MONDAY + timedelta(days=1))
    assert done == [c.id] and not failed
    with seeded.session() as s:
        d = s.get(Complaint, c.id)
        assert d.status == S.DISPATCHED
        assert overdue_kind(d, MONDAY + timedelta(days=9)) == "followup"  # 5 wd + weekend
    svc.transition(c.id, S.RESOLVED, actor="pupr", note="beres", now=MONDAY + timedelta(days=2))
    assert svc.auto_close(now=MONDAY + timedelta(days=10)) == 0  # not yet
    assert svc.auto_close(now=MONDAY + timedelta(days=17)) == 1
    assert events(seeded, c.id)[-1][:3] == ("resolved", "closed", "sistem")


def test_bulk_dispatch_reports_refusals_per_item(svc, seeded):
    a = svc.submit(report()).complaint
    b = svc.submit(report(lat=-2.95)).complaint
    svc.transition(b.id, S.REJECTED, actor="opr", note="spam")
    done, failed = svc.dispatch_many([a.id, b.id, 999999], opd_id(seeded, "PUPR"), actor="opr")
    assert done == [a.id]
    assert set(failed) == {b.id, 999999}


# --------------------------------------------------------------------------------------------
# photos
def jpeg_with_exif() -> bytes:
    img = np.full((60, 80, 3), 120, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    data = buf.tobytes()
    exif = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + b"GPS-SECRET-LOCATION" * 3
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    return data[:2] + app1 + data[2:]


def test_photo_is_reencoded_without_metadata(svc, csettings):
    raw = jpeg_with_exif()
    assert b"GPS-SECRET" in raw and cv2.imdecode(np.frombuffer(raw, np.uint8), 1) is not None
    c = svc.submit(report(photo=raw)).complaint
    assert c.photo_path and c.photo_path.endswith(".jpg")
    stored = (csettings.upload_dir / c.photo_path).read_bytes()
    assert b"GPS-SECRET" not in stored and b"Exif" not in stored
    assert stored.startswith(b"\xff\xd8\xff")
    assert len(c.photo_path.split("/")[-1]) >= 32  # random, unguessable name


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (b"GIF89a" + b"\0" * 100, "photo_type"),
        (b"<svg onload=alert(1)>", "photo_type"),
        (b"\xff\xd8\xff" + b"\0" * 300_000, "photo_large"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 10, "photo_corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (50000).to_bytes(4, "big") * 2, "photo_pixels"),
    ],
)
def test_bad_photos_are_refused(payload, key):
    with pytest.raises(ValidationError) as err:
        sanitize_photo(payload, 200_000)
    assert err.value.errors["photo"][0] == key


def test_nothing_half_way_no_orphan_photo(svc, csettings, seeded):
    def boom(session, complaint):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        svc.submit(report(photo=jpeg_with_exif()), on_created=boom)
    with seeded.session() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 0
        assert s.scalar(select(func.count()).select_from(ComplaintEvent)) == 0
    assert list((csettings.upload_dir / "complaints").glob("*")) == []


def test_external_id_is_created_once_under_concurrency(svc, seeded):
    results = []
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        results.append(svc.submit(report(channel="sms", external_id="sms:abc-1")))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(results) == 6
    assert sum(r.created for r in results) == 1
    assert len({r.complaint.tracking_id for r in results}) == 1
    with seeded.session() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 1
