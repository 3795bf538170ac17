"""Cameras near a report (issue 12): distances by known coordinates, the latest snapshots copied
onto a located report when it arrives (store.complaint_cameras), and staff only — the public
status page, the public status API and Open311 never show them; /evidence is staff-only.

Coordinates around (-2.9911, 104.7567). Expected distances by hand on a sphere of radius
6,371,000 m: 0.0018 deg of latitude = 0.0018 * pi/180 * 6,371,000 = 200.2 m; 0.0030 deg =
333.6 m; 0.0025 deg of longitude at latitude 2.9911 S = 0.0025 * pi/180 * 6,371,000 *
cos(2.9911 deg) = 277.6 m; 0.00045 deg of latitude = 50.0 m.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from complaints_helpers import API_KEY, report
from sqlalchemy import select

from store import users
from store.complaint_cameras import snapshots_for
from store.complaints import ComplaintService
from store.models import Camera, Complaint, ComplaintCameraSnapshot
from store.nearby import cameras_near, complaints_near

LAT, LON = -2.9911, 104.7567
CAMS = {
    # code: (lat, lon, enabled)
    "NEAR-N200": (LAT + 0.0018, LON, True),  # 200.2 m
    "NEAR-E278": (LAT, LON + 0.0025, True),  # 277.6 m
    "FAR-N334": (LAT + 0.0030, LON, True),  # 333.6 m: outside 300 m
    "OFF-N50": (LAT + 0.00045, LON, False),  # 50.0 m but disabled
}
JPEG_N = b"\xff\xd8\xff\xe0 snapshot of NEAR-N200 \xff\xd9"


def _cameras(db, settings) -> None:
    with db.session() as s:
        for code, (lat, lon, enabled) in CAMS.items():
            s.add(Camera(code=code, name=f"Kamera {code}", lat=lat, lon=lon, enabled=enabled,
                         last_seen_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC)))  # fmt: skip
    settings.snapshot_dir.mkdir(parents=True, exist_ok=True)
    (settings.snapshot_dir / "NEAR-N200.jpg").write_bytes(JPEG_N)  # NEAR-E278 has none yet
    (settings.snapshot_dir / "OFF-N50.jpg").write_bytes(b"\xff\xd8 off \xff\xd9")


def test_cameras_and_reports_near_a_point(seeded, csettings):
    _cameras(seeded, csettings)
    with seeded.session() as s:
        near = cameras_near(s, LAT, LON, 300)
        assert [c.code for c in near] == ["NEAR-N200", "NEAR-E278"]
        assert near[0].distance_m == pytest.approx(200.2, abs=0.1)
        assert near[1].distance_m == pytest.approx(277.6, abs=0.1)
        wide = cameras_near(s, LAT, LON, 400)
        assert [c.code for c in wide] == ["NEAR-N200", "NEAR-E278", "FAR-N334"]
        assert wide[2].distance_m == pytest.approx(333.6, abs=0.1)
        assert cameras_near(s, LAT, LON, 199) == []
        assert cameras_near(s, LAT, LON, 0) == []
        t0 = datetime(2026, 11, 20, tzinfo=UTC)
        for i, (dlat, days) in enumerate(((0.0018, 0), (0.0030, 0), (0.00045, 10))):
            s.add(Complaint(tracking_id=f"LPR-T{i}", category="flood", description="banjir",
                            lat=LAT + dlat, lon=LON, created_at=t0 - timedelta(days=days)))  # fmt: skip
        s.flush()
        got = complaints_near(s, LAT, LON, 300, t0 - timedelta(days=3), t0 + timedelta(days=1))
        assert [(c.tracking_id, round(c.distance_m, 1)) for c in got] == [("LPR-T0", 200.2)]


def test_located_report_gets_the_nearby_snapshots_copied(seeded, csettings):
    _cameras(seeded, csettings)
    svc = ComplaintService(seeded, csettings)  # radius 300 m by default
    assert csettings.complaint_camera_radius_m == 300
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    res = svc.submit(report(lat=LAT, lon=LON), now=now)
    with seeded.session() as s:
        shots = snapshots_for(s, res.complaint.id)
        assert [(x.camera_code, x.distance_m) for x in shots] == [
            ("NEAR-N200", pytest.approx(200.2, abs=0.1)),
            ("NEAR-E278", pytest.approx(277.6, abs=0.1)),
        ]
        first, second = shots
        assert first.path == f"complaints/{res.complaint.tracking_id}-NEAR-N200.jpg"
        assert first.sha256 == hashlib.sha256(JPEG_N).hexdigest()
        assert first.taken_at == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
        assert second.path is None and second.sha256 is None  # no snapshot yet: listed only
    copy = csettings.evidence_dir / first.path
    assert copy.read_bytes() == JPEG_N
    # a later frame replaces the camera's snapshot; the report keeps the one from its arrival
    (csettings.snapshot_dir / "NEAR-N200.jpg").write_bytes(b"\xff\xd8 later \xff\xd9")
    assert copy.read_bytes() == JPEG_N
    # no location, or the setting at 0: nothing attached
    res2 = svc.submit(report(lat=None, lon=None, address="Jl. Merdeka No. 1, Palembang"), now=now)
    off = ComplaintService(seeded, csettings.model_copy(update={"complaint_camera_radius_m": 0}))
    res3 = off.submit(report(lat=LAT, lon=LON), now=now)
    with seeded.session() as s:
        assert snapshots_for(s, res2.complaint.id) == []
        assert snapshots_for(s, res3.complaint.id) == []


def _login(client, db, role: str, opd_code: str | None = None) -> None:
    name, password = f"uji.{role}", "Uji-Pantau-2026!x"
    with db.session() as s:
        if users.get_by_username(s, name) is None:
            opd_id = users.find_opd(s, opd_code).id if opd_code else None
            users.create_user(s, name, password, role, opd_id=opd_id)
    client.get("/masuk")
    with client.session_transaction() as sess:
        token = sess["_csrf"]
    resp = client.post("/auth/login", data={"username": name, "password": password,
                                            "csrf_token": token, "next": "/"})  # fmt: skip
    assert resp.status_code == 302 and "/masuk" not in resp.headers["Location"]


def test_snapshots_are_staff_only(app, sqlite_seeded, csettings):
    db = sqlite_seeded
    _cameras(db, csettings)
    client = app.server.test_client()
    # a report through Open311 at the point
    resp = client.post(
        "/open311/v2/requests.json",
        data={"api_key": API_KEY, "service_code": "flood", "lat": str(LAT), "long": str(LON),
              "description": "Banjir setinggi lutut di jalan depan pasar."},
    )  # fmt: skip
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)
    sid = json.loads(resp.get_data(as_text=True))[0]["service_request_id"]
    with db.session() as s:
        c = s.scalar(select(Complaint).where(Complaint.tracking_id == sid))
        shot = s.scalar(
            select(ComplaintCameraSnapshot).where(ComplaintCameraSnapshot.complaint_id == c.id)
        )
        assert shot.camera_code == "NEAR-N200" and shot.path
    evidence_url = f"/evidence/{shot.path}"
    leaks = ("NEAR-N200", "NEAR-E278", "/evidence", "snapshot")
    public = {
        "open311 json": client.get(f"/open311/v2/requests/{sid}.json"),
        "open311 xml": client.get(f"/open311/v2/requests/{sid}.xml"),
        "open311 list": client.get("/open311/v2/requests.json"),
        "status api": client.get(f"/api/lapor/{sid}"),
    }
    for name, r in public.items():
        assert r.status_code == 200, name
        body = r.get_data(as_text=True)
        assert not any(x in body for x in leaks), (name, body[:300])
    from dashboard.callbacks.lapor_status import render_status

    with app.server.test_request_context("/lapor/status"):
        page = str(render_status(sid))
    assert sid in page and not any(x in page for x in leaks)
    # the file itself: anonymous -> refused; OPD staff -> refused; an operator -> the bytes
    assert client.get(evidence_url).status_code in (302, 401)
    opd_client = app.server.test_client()
    _login(opd_client, db, "opd", "DISHUB")
    assert opd_client.get(evidence_url).status_code == 403
    staff = app.server.test_client()
    _login(staff, db, "operator")
    got = staff.get(evidence_url)
    assert got.status_code == 200 and got.data == JPEG_N
    assert got.headers["X-Content-SHA256"] == hashlib.sha256(JPEG_N).hexdigest()
    for bad in (
        "/evidence/../pantau.db",
        "/evidence/complaints/..%2f..%2fx.jpg",
        "/evidence/x.png",
    ):
        assert staff.get(bad).status_code == 404, bad
    # the operator's queue shows them
    from dashboard.callbacks.complaints_queue import nearby_snapshots

    with app.server.test_request_context("/pengaduan/antrian"), db.session() as s:
        block = str(nearby_snapshots(s, c.id, 300))
    assert evidence_url in block and "Kamera NEAR-N200" in block and "200 m" in block
