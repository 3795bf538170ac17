"""Alert response figures and pages (issue 12): response times from hand-written timestamps,
the alert list's filters and OPD scope, the situation room's links, complete English.

Response times, by hand (README: an alert counts in the period, in WIB, in which it started;
median = middle value or mean of the two middle ones; p90 = nearest rank ceil(0.9 n)):

  flood  A1 Nov 10 00:00 WIB  ack +2 min (by assigning to BPBD)  resolved +30 min
         A2 Nov 10 10:00 WIB  ack +4 min, assigned BPBD         resolved +60 min
         A3 Nov 11 10:00 WIB  ack +10 min                        open
         A4 Nov 30 23:30 WIB  ack +5 min                         open   (last half hour)
  crowd  C1 Nov 12 08:00 WIB  ack +1 min, assigned Satpol PP     resolved +20 min
         C2 Nov 12 09:00 WIB  never acknowledged
  outside: Oct 31 23:59 WIB and Dec 1 00:00 WIB (ack +100 min each)

  flood: n 4, acknowledged 4 [120 240 600 300] s -> sorted 120 240 300 600: median 270 s,
         p90 rank 4 = 600 s; resolved 2 [1800 3600]: median 2700 s, p90 rank 2 = 3600 s
  crowd: n 2, acknowledged 1: 60 / 60 s; resolved 1: 1200 / 1200 s
  all:   n 6, acknowledged 5 sorted 60 120 240 300 600: median 240, p90 rank 5 = 600 s;
         resolved 3 sorted 1200 1800 3600: median 1800, p90 rank 3 = 3600 s
  BPBD:  n 2, [120 240]: median 180, p90 240; resolved [1800 3600]: 2700, 3600
  Satpol PP: n 1: 60 / 60; 1200 / 1200
  no OPD: n 3 (A3 A4 C2), acknowledged 2 [600 300]: median 450, p90 rank 2 = 600; resolved 0
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from dashboard.i18n import STRINGS
from dashboard.queries import alerts as alert_queries
from dashboard.queries import response_times as rt
from store import alert_workflow as wf
from store.models import Alert, Opd, User

WIB = timezone(timedelta(hours=7))
OP = wf.Actor("op.uji", "operator")


def _wib(m: int, d: int, h: int, mi: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=WIB).astimezone(UTC)


def _load(db) -> dict[str, int]:
    with db.session() as s:
        bpbd = Opd(code="BPBD", name="Badan Penanggulangan Bencana Daerah", short_name="BPBD")
        satpol = Opd(code="SATPOLPP", name="Satuan Polisi Pamong Praja", short_name="Satpol PP")
        s.add_all([bpbd, satpol, User(username="op.uji", password_hash="x", role="operator")])
        s.flush()
        ids = {"bpbd": bpbd.id, "satpol": satpol.id}
        for name, rule, start in (
            ("A1", "flood_coverage", _wib(11, 10, 0)),
            ("A2", "flood_coverage", _wib(11, 10, 10)),
            ("A3", "flood_coverage", _wib(11, 11, 10)),
            ("A4", "flood_coverage", _wib(11, 30, 23, 30)),
            ("C1", "crowd_density", _wib(11, 12, 8)),
            ("C2", "crowd_density", _wib(11, 12, 9)),
            ("X1", "flood_coverage", _wib(10, 31, 23, 59)),
            ("X2", "flood_coverage", _wib(12, 1, 0)),
        ):
            a = Alert(
                rule=rule, subject_type="camera", subject_id=name, title=name, started_at=start
            )
            s.add(a)
            s.flush()
            ids[name] = a.id
    m = timedelta(minutes=1)
    with db.session() as s:
        start = {k: s.get(Alert, v).started_at for k, v in ids.items() if len(k) == 2}
        wf.assign(s, ids["A1"], OP, opd_id=ids["bpbd"], now=start["A1"] + 2 * m)
        wf.resolve(s, ids["A1"], OP, "handled", now=start["A1"] + 30 * m)
        wf.acknowledge(s, ids["A2"], OP, now=start["A2"] + 4 * m)
        wf.assign(s, ids["A2"], OP, opd_id=ids["bpbd"], now=start["A2"] + 9 * m)
        wf.resolve(s, ids["A2"], OP, "referred", now=start["A2"] + 60 * m)
        wf.acknowledge(s, ids["A3"], OP, now=start["A3"] + 10 * m)
        wf.acknowledge(s, ids["A4"], OP, now=start["A4"] + 5 * m)
        wf.acknowledge(s, ids["C1"], OP, now=start["C1"] + 1 * m)
        wf.assign(s, ids["C1"], OP, opd_id=ids["satpol"], now=start["C1"] + 3 * m)
        wf.resolve(s, ids["C1"], OP, "monitored", now=start["C1"] + 20 * m)
        for x in ("X1", "X2"):
            wf.acknowledge(s, ids[x], OP, now=start[x] + 100 * m)
    return ids


def _fig(f: rt.Figures) -> tuple:
    return (f.group, f.n, f.n_ack, f.tta_median_s, f.tta_p90_s, f.n_resolved, f.ttr_median_s,
            f.ttr_p90_s)  # fmt: skip


def test_response_times_by_hand(db):
    _load(db)
    with db.session() as s:
        res = rt.response_times(s, date(2026, 11, 1), date(2026, 11, 30), "Asia/Jakarta")
    assert _fig(res.total) == ("*", 6, 5, 240, 600, 3, 1800, 3600)
    assert [_fig(f) for f in res.by_kind] == [
        ("crowd_density", 2, 1, 60, 60, 1, 1200, 1200),
        ("flood_coverage", 4, 4, 270, 600, 2, 2700, 3600),
    ]
    assert [_fig(f) for f in res.by_opd] == [
        ("BPBD", 2, 2, 180, 240, 2, 2700, 3600),
        ("Satpol PP", 1, 1, 60, 60, 1, 1200, 1200),
        ("", 3, 2, 450, 600, 0, None, None),
    ]
    # one day: Nov 10 (WIB) holds A1 and A2 only; the period may be given backwards
    with db.session() as s:
        day = rt.response_times(s, date(2026, 11, 10), date(2026, 11, 10), "Asia/Jakarta")
        back = rt.response_times(s, date(2026, 11, 30), date(2026, 11, 1), "Asia/Jakarta")
    assert _fig(day.total) == ("*", 2, 2, 180, 240, 2, 2700, 3600)
    assert (back.start, back.end) == (date(2026, 11, 1), date(2026, 11, 30))


def test_percentile_definitions():
    assert rt.p90([]) is None and rt.median([]) is None
    assert rt.p90([5.0]) == 5.0
    assert rt.p90([float(x) for x in range(1, 11)]) == 9.0  # rank ceil(9.0) = 9
    assert rt.p90([float(x) for x in range(1, 12)]) == 10.0  # rank ceil(9.9) = 10
    assert rt.median([1.0, 2.0, 3.0, 10.0]) == 2.5


def test_response_page_tables_have_units_and_period(known_db, settings):
    _load(known_db)
    from flask import Flask

    from dashboard.callbacks import response_times as cb

    app = Flask(__name__)
    app.config.update(PANTAU_SETTINGS=settings, PANTAU_DB=known_db)
    with app.test_request_context("/waktu-respons"):
        kinds, opds, period = cb.update("2026-11-01", "2026-11-30")
    text = str(kinds)
    assert "01-11-2026 – 30-11-2026" in period and "WIB" in period
    assert "(mnt)" in text  # minutes: 270 s = 4,5 min, 600 s = 10,0 min, 2700 s = 45,0 min
    assert "4,5" in text and "10,0" in text and "45,0" in text
    assert "Genangan" in text and "Kerumunan" in text
    assert "BPBD" in str(opds) and "(tanpa OPD)" in str(opds)


def test_alert_list_filters_and_opd_scope(db):
    ids = _load(db)
    with db.session() as s:
        active = alert_queries.list_alerts(s, status="active")
        assert {r.title for r in active} == {"A3", "A4", "C2", "X1", "X2"}
        assert [r.title for r in alert_queries.list_alerts(s, status="resolved")] == [
            "C1",
            "A2",
            "A1",
        ]
        assert [r.title for r in alert_queries.list_alerts(s, status="open")] == ["C2"]
        crowd = alert_queries.list_alerts(s, status="all", kind="crowd_density")
        assert [r.title for r in crowd] == ["C2", "C1"]
        bpbd = alert_queries.list_alerts(s, status="all", only_opd=ids["bpbd"])
        assert [(r.title, r.assigned_opd) for r in bpbd] == [("A2", "BPBD"), ("A1", "BPBD")]
        assert alert_queries.list_alerts(s, severity="critical", status="all") == []
    with db.session() as s:
        wf.escalate(s, ids["A3"], OP, to_pimpinan=True)
    with db.session() as s:
        assert [r.title for r in alert_queries.list_alerts(s, status="pimpinan")] == ["A3"]
        # the situation room's feed leaves resolved alerts out
        feed = {r.id for r in alert_queries.open_alerts(s, limit=50)}
        assert ids["A1"] not in feed and ids["A3"] in feed


def test_situation_room_links_to_the_alert_page_with_status(known_db):
    ids = _load(known_db)
    from dashboard.callbacks import overview

    now = datetime(2026, 12, 1, 3, tzinfo=UTC)
    _tiles, feed, alert_ids, *_ = overview.refresh_overview(1, db=known_db, now=now)
    text = str(feed)
    assert f"/peringatan/{ids['A3']}" in text
    assert "Diterima" in text  # A3's status
    with known_db.session() as s:
        assert s.scalar(select(Alert.status).where(Alert.id == ids["A3"])) == "acknowledged"


@pytest.mark.parametrize(
    "prefix", ["alerts.", "alert.", "response.", "sop.", "queue.nearby", "queue.camera_no"]
)
def test_every_alert_string_has_indonesian_and_english(prefix):
    import dashboard.callbacks.admin_sop  # noqa: F401
    import dashboard.callbacks.alert_detail  # noqa: F401 - registers the strings
    import dashboard.callbacks.alerts  # noqa: F401
    import dashboard.callbacks.complaints_queue  # noqa: F401
    import dashboard.callbacks.response_times  # noqa: F401

    keys = [k for k in STRINGS if k.startswith(prefix)]
    assert keys
    for k in keys:
        assert STRINGS[k].get("id") and STRINGS[k].get("en"), k
    # every status, outcome and the known kinds have a label
    from store.models import AlertOutcome, AlertStatus

    for code in [*AlertStatus, *AlertOutcome]:
        kind = "status" if code in list(AlertStatus) else "outcome"
        assert f"alerts.{kind}.{code}" in STRINGS


def test_sop_editor_saves_validates_and_resets(known_db, settings):
    """/admin/sop: the text form of the steps, saved by the admin; a bad line changes nothing;
    'back to the default' drops the stored list."""
    from flask import Flask

    from dashboard.callbacks import admin_sop
    from store import alert_sop

    app = Flask(__name__)
    app.config.update(PANTAU_SETTINGS=settings, PANTAU_DB=known_db)
    with app.test_request_context("/admin/sop"):
        text, source = admin_sop.load_kind("camera_offline")
        assert text.splitlines()[0] == (
            "check | Periksa status jaringan dan listrik di lokasi | "
            "Check the network and power at the site"
        )
        assert "data/sop_templates.json" in source
        msg, new_text, source = admin_sop.save(
            "camera_offline",
            "ping | Ping kamera | Ping the camera\n\nlapor | Lapor ke pemilik",
            "save",
            "admin.uji",
        )
        assert "2 langkah" in str(msg)
        assert new_text == "ping | Ping kamera | Ping the camera\nlapor | Lapor ke pemilik | "
        assert "admin.uji" in source
        msg, *_ = admin_sop.save("camera_offline", "ping Ping kamera", "save", "admin.uji")
        assert "baris 1" in str(msg) and "Tidak disimpan" in str(msg)
        msg, *_ = admin_sop.save("camera_offline", "a | x\na | y", "save", "admin.uji")
        assert "dipakai dua kali" in str(msg)
        with known_db.session() as s:
            assert [x.key for x in alert_sop.steps_for(s, "camera_offline")] == ["ping", "lapor"]
        msg, new_text, source = admin_sop.save("camera_offline", "", "reset", "admin.uji")
        assert new_text.startswith("check |") and "data/sop_templates.json" in source


def test_readings_around_the_alert(known_db):
    """Camera flood alert started T (no end, 'now' T+8h): readings from T-2h to T+6h, water in %;
    sensor alert ended T+1h: readings from T-2h to T+1h."""
    from dashboard.queries import alert_detail as q
    from store.models import Camera, Observation, Sensor, SensorReading

    t = datetime(2026, 11, 20, 5, tzinfo=UTC)
    h = timedelta(hours=1)
    with known_db.session() as s:
        cam = s.scalar(select(Camera).where(Camera.code == "CAM-B"))
        for dt, cover in ((-3 * h, 0.9), (-1 * h, 0.25), (h, 0.5), (7 * h, 0.8)):
            s.add(Observation(camera_id=cam.id, slot=t + dt, ts=t + dt, water_coverage=cover))
        sensor = Sensor(
            code="S-1", name="Sungai Musi", kind="water_level", unit="cm", lat=-2.99, lon=104.76
        )
        s.add(sensor)
        s.flush()
        for dt, v in ((-3 * h, 100.0), (-2 * h, 120.0), (0 * h, 180.0), (2 * h, 150.0)):
            s.add(SensorReading(sensor_id=sensor.id, ts=t + dt, value=v))
        flood = Alert(rule="flood_coverage", subject_type="camera", subject_id="CAM-B",
                      camera_id=cam.id, title="Genangan", started_at=t)  # fmt: skip
        level = Alert(rule="sensor_level", subject_type="sensor", subject_id="S-1", title="S-1",
                      started_at=t, ended_at=t + h)  # fmt: skip
        s.add_all([flood, level])
        s.flush()
        d1 = q.load(s, flood.id)
        r1 = q.readings(s, d1, now=t + 8 * h)
        assert (r1["metric"], r1["unit"]) == ("water", "%")
        assert r1["ts"] == [t - h, t + h] and r1["values"] == [25.0, 50.0]
        d2 = q.load(s, level.id)
        r2 = q.readings(s, d2, now=t + 8 * h)
        assert (r2["metric"], r2["unit"], r2["name"]) == ("sensor", "cm", "Sungai Musi")
        assert r2["ts"] == [t - 2 * h, t] and r2["values"] == [120.0, 180.0]
        assert (d2.lat, d2.lon) == (-2.99, 104.76)


def test_action_callbacks_report_refusals_in_the_users_language(known_db, settings):
    from flask import Flask

    from dashboard.callbacks import alert_detail as cb

    ids = _load(known_db)
    op = wf.Actor("op.uji", "operator")
    bpbd = wf.Actor("staf.bpbd", "opd", ids["bpbd"])
    app = Flask(__name__)
    app.config.update(PANTAU_SETTINGS=settings, PANTAU_DB=known_db)
    with app.test_request_context("/peringatan/1"):
        a3 = ids["A3"]  # acknowledged, not resolved
        out = cb.operator_action(
            "alert-act-escalate", a3, {"severity": "critical", "pimpinan": True}, op
        )
        assert "Tersimpan" in str(out[0]) and out[1:5] == (True, False, False, False)
        out = cb.operator_action("alert-act-escalate", a3, {"pimpinan": True}, op)
        assert "sudah dieskalasi ke pimpinan" in str(out[0])
        out = cb.operator_action("alert-act-ack", a3, {}, op)
        assert "sudah diterima oleh op.uji" in str(out[0])
        out = cb.operator_action("alert-act-resolve", a3, {"outcome": ""}, op)
        assert "Pilih hasil penanganan" in str(out[0])
        # the OPD: its own alert A1 is resolved: no more ticks, notes still; another's: none
        msg, *_ = cb.opd_action(
            {"type": "alert-opd-tick", "index": "+verify"}, ids["A1"], None, bpbd
        )
        assert "sudah diselesaikan oleh op.uji" in str(msg)
        msg, note, _v = cb.opd_action("alert-opd-note-save", ids["A1"], "Laporan akhir BPBD", bpbd)
        assert "Tersimpan" in str(msg) and note == ""
        msg, *_ = cb.opd_action("alert-opd-note-save", ids["C1"], "catatan", bpbd)
        assert "tidak ditemukan" in str(msg)
    with app.test_request_context("/peringatan/1?lang=en"):
        out = cb.operator_action("alert-act-ack", a3, {}, op)
        assert "already acknowledged by op.uji" in str(out[0])
        assert cb.sections(ids["C1"], bpbd) is None  # Satpol PP's alert: not for BPBD
        state, sop, timeline = cb.sections(ids["A1"], bpbd)
        assert "Laporan akhir BPBD" in str(timeline) and "Resolved: Handled on site" in str(
            timeline
        )
        assert "0 of 5 done" in str(sop)
