"""OPD staff (role ``opd``) follow up the reports dispatched to their own OPD, and nothing else:
the store-level scope (both backends), account rules, the CLI, and the Dash callbacks called
straight at ``/_dash-update-component`` with forged ids for another OPD's report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from complaints_helpers import report
from sqlalchemy import func, select

from store import users
from store.complaints import (
    ComplaintNotFound,
    ComplaintService,
    TransitionError,
    overdue_kind,
)
from store.models import Complaint, ComplaintEvent, ComplaintStatus, Opd, PrivacyMode, User

S = ComplaintStatus
MONDAY = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB
NOTE = "Petugas Dishub dikirim ke lokasi, lampu diperbaiki."


def opd_id(db, code: str) -> int:
    with db.session() as s:
        return s.scalar(select(Opd.id).where(Opd.code == code))


def dispatched(svc: ComplaintService, code: str, now: datetime = MONDAY, **kw) -> int:
    """A report verified and dispatched to OPD ``code`` by an operator; returns its id."""
    c = svc.submit(report(category="traffic_light", **kw), now=now).complaint
    svc.transition(c.id, S.VERIFIED, actor="opr", now=now)
    svc.transition(c.id, S.DISPATCHED, actor="opr", opd_id=opd_id(svc.db, code), now=now)
    return c.id


def state(db, cid: int) -> tuple[str, int]:
    with db.session() as s:
        c = s.get(Complaint, cid)
        n = s.scalar(
            select(func.count())
            .select_from(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == cid)
        )
        return c.status, n


# --------------------------------------------------------------------------------------------
# the store: ComplaintService.transition(as_opd=...)
def test_opd_follows_up_own_report_and_stops_the_clock(svc: ComplaintService, seeded):
    dishub = opd_id(seeded, "DISHUB")
    cid = dispatched(svc, "DISHUB")
    late = MONDAY + timedelta(days=2)
    svc.transition(cid, S.IN_PROGRESS, actor="dishub.budi", note="Dicek besok pagi", now=late,
                   as_opd=dishub)  # fmt: skip
    with seeded.session() as s:
        c = s.get(Complaint, cid)
        assert c.status == S.IN_PROGRESS and c.followed_up_at == late
        # past the follow-up deadline, but followed up in time: not overdue
        assert overdue_kind(c, now=c.followup_due + timedelta(days=3)) is None
    done = late + timedelta(hours=5)
    svc.transition(cid, S.RESOLVED, actor="dishub.budi", note=NOTE, now=done, as_opd=dishub)
    with seeded.session() as s:
        c = s.get(Complaint, cid)
        assert c.status == S.RESOLVED and c.resolved_at == done and c.autoclose_due > done
        history = [
            (e.from_status, e.to_status, e.actor, e.note, e.ts, e.opd_id)
            for e in s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == cid)
                .order_by(ComplaintEvent.id)
            )
        ]
    assert history[-2:] == [
        (S.DISPATCHED, S.IN_PROGRESS, "dishub.budi", "Dicek besok pagi", late, dishub),
        (S.IN_PROGRESS, S.RESOLVED, "dishub.budi", NOTE, done, dishub),
    ]


def test_another_opds_report_is_not_found_like_a_missing_one(svc: ComplaintService, seeded):
    dishub, pupr = opd_id(seeded, "DISHUB"), opd_id(seeded, "PUPR")
    theirs = dispatched(svc, "PUPR")
    before = state(seeded, theirs)
    with pytest.raises(ComplaintNotFound) as other:
        svc.transition(theirs, S.RESOLVED, actor="dishub.budi", note=NOTE, as_opd=dishub)
    with seeded.session() as s:
        missing_id = (s.scalar(select(func.max(Complaint.id))) or 0) + 1000
    with pytest.raises(ComplaintNotFound) as missing:
        svc.transition(missing_id, S.RESOLVED, actor="dishub.budi", note=NOTE, as_opd=dishub)
    assert other.value.text("id") == missing.value.text("id") == "Laporan tidak ditemukan."
    assert state(seeded, theirs) == before
    # an account without an OPD may do nothing, even on a report that has one
    with pytest.raises(ComplaintNotFound):
        svc.transition(theirs, S.RESOLVED, actor="x", note=NOTE, as_opd=None)
    # the right OPD can
    svc.transition(theirs, S.RESOLVED, actor="pupr.sari", note=NOTE, as_opd=pupr)
    assert state(seeded, theirs)[0] == S.RESOLVED


def test_opd_cannot_do_the_command_centers_work(svc: ComplaintService, seeded):
    dishub = opd_id(seeded, "DISHUB")
    fresh = svc.submit(report(category="traffic_light"), now=MONDAY).complaint.id
    # not yet dispatched to them: not theirs to see, whatever they try
    for to in (S.VERIFIED, S.REJECTED, S.IN_PROGRESS):
        with pytest.raises(ComplaintNotFound):
            svc.transition(fresh, to, actor="dishub.budi", note=NOTE, as_opd=dishub)
    cid = dispatched(svc, "DISHUB")
    before = state(seeded, cid)
    for to in (S.VERIFIED, S.REJECTED, S.DUPLICATE, S.CLOSED, S.NEW):
        with pytest.raises(TransitionError) as err:
            svc.transition(cid, to, actor="dishub.budi", note=NOTE, as_opd=dishub)
        assert err.value.key == "opd_forbidden", to
    # re-routing to another OPD (dispatched -> dispatched) is the operator's call
    with pytest.raises(TransitionError) as err:
        svc.transition(cid, S.DISPATCHED, actor="dishub.budi", note=NOTE,
                       opd_id=opd_id(seeded, "PUPR"), as_opd=dishub)  # fmt: skip
    assert "hanya dapat menindaklanjuti" in err.value.text("id")
    assert "can only follow up" in err.value.text("en")
    assert state(seeded, cid) == before
    # resolved: reopening and closing stay with the operator
    svc.transition(cid, S.RESOLVED, actor="dishub.budi", note=NOTE, as_opd=dishub)
    for to in (S.IN_PROGRESS, S.CLOSED):
        with pytest.raises(TransitionError):
            svc.transition(cid, to, actor="dishub.budi", note=NOTE, as_opd=dishub)
    assert state(seeded, cid)[0] == S.RESOLVED


@pytest.mark.parametrize("note", [None, "", "   \n "])
def test_follow_up_needs_a_note(svc: ComplaintService, seeded, note):
    dishub = opd_id(seeded, "DISHUB")
    cid = dispatched(svc, "DISHUB")
    before = state(seeded, cid)
    for to in (S.IN_PROGRESS, S.RESOLVED):
        with pytest.raises(TransitionError) as err:
            svc.transition(cid, to, actor="dishub.budi", note=note, as_opd=dishub)
        assert err.value.key == "followup_note_required"
        assert "wajib" in err.value.text("id") and "required" in err.value.text("en")
    assert state(seeded, cid) == before


def test_rerouted_report_leaves_the_old_opd(svc: ComplaintService, seeded):
    dishub = opd_id(seeded, "DISHUB")
    cid = dispatched(svc, "DISHUB")
    svc.transition(cid, S.DISPATCHED, actor="opr", note="Bukan wewenang Dishub",
                   opd_id=opd_id(seeded, "PUPR"))  # fmt: skip
    with pytest.raises(ComplaintNotFound):
        svc.transition(cid, S.IN_PROGRESS, actor="dishub.budi", note=NOTE, as_opd=dishub)


def test_opd_work_list_query_on_both_backends(svc: ComplaintService, seeded):
    """The page's query: only the OPD's reports, nearest follow-up deadline first, the late one
    flagged, and the flag gone once the OPD has started (its clock stopped)."""
    from dashboard.queries import complaints as q

    dishub = opd_id(seeded, "DISHUB")
    late = dispatched(svc, "DISHUB", now=MONDAY - timedelta(days=14))
    recent = dispatched(svc, "DISHUB", now=MONDAY)
    middle = dispatched(svc, "DISHUB", now=MONDAY - timedelta(days=3))
    dispatched(svc, "PUPR", now=MONDAY - timedelta(days=20))
    open_ = [S.DISPATCHED, S.IN_PROGRESS]
    with seeded.session() as s:
        df = q.queue(s, statuses=open_, opd_id=dishub, sort="followup_due", now=MONDAY)
    assert list(df["id"]) == [late, middle, recent]
    assert list(df["overdue"]) == ["followup", "", ""]
    svc.transition(late, S.IN_PROGRESS, actor="dishub.budi", note=NOTE, now=MONDAY, as_opd=dishub)
    with seeded.session() as s:
        df = q.queue(s, statuses=open_, opd_id=dishub, overdue_only=True, now=MONDAY)
    assert df.empty


# --------------------------------------------------------------------------------------------
# accounts
def test_opd_accounts_need_an_existing_opd(seeded):
    with seeded.session() as s:
        with pytest.raises(users.UserError) as err:
            users.create_user(s, "dishub.tanpa", "Kata-Sandi-Panjang-1", "opd")
        assert "wajib dikaitkan ke satu OPD" in str(err.value)
        assert "needs an agency" in str(err.value)
        with pytest.raises(users.UserError) as err:
            users.create_user(s, "dishub.salah", "Kata-Sandi-Panjang-1", "opd", opd_id=987654)
        assert "OPD tidak dikenal" in str(err.value) and "Unknown agency" in str(err.value)
        with pytest.raises(users.UserError) as err:
            users.find_opd(s, "DINAS-FIKTIF")
        assert "DISHUB" in str(err.value)  # the message lists the valid codes
        assert users.find_opd(s, " dishub ").code == "DISHUB"
        u = users.create_user(
            s, "dishub.budi", "Kata-Sandi-Panjang-1", "opd", opd_id=users.find_opd(s, "DISHUB").id
        )
        assert u.role == "opd" and u.opd_id == users.find_opd(s, "DISHUB").id
        with pytest.raises(users.UserError):
            users.set_role(s, u, "opd")  # still needs the OPD
        users.set_role(s, u, "opd", opd_id=users.find_opd(s, "PUPR").id)
        assert u.opd_id == users.find_opd(s, "PUPR").id
        users.set_role(s, u, "operator")  # other roles keep no OPD link
        assert u.role == "operator" and u.opd_id is None
    assert "opd" in users.ROLES


def test_cli_creates_opd_staff_by_opd_code(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pantau import settings as settings_module
    from pantau.settings import Settings
    from store.db import Database
    from store.seed import seed_opd

    var = tmp_path / "var"
    monkeypatch.setenv("PANTAU_VAR_DIR", str(var))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    settings_module.get_settings.cache_clear()
    settings = Settings(var_dir=var, database_url="")
    settings.ensure_dirs()
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    with db.session() as s:
        seed_opd(s)
    import dashboard.commands  # noqa: F401 - registers `pantau users`
    from pantau.cli import app

    run = CliRunner().invoke
    pw = "Kata-Sandi-Dishub-1\n"
    try:
        ok = run(app, ["users", "create", "dishub.budi", "--role", "opd", "--opd", "dishub",
                       "--password-stdin"], input=pw)  # fmt: skip
        assert ok.exit_code == 0, ok.output
        no_opd = run(app, ["users", "create", "dishub.ani", "--role", "opd", "--password-stdin"],
                     input=pw)  # fmt: skip
        assert no_opd.exit_code == 1 and "wajib dikaitkan ke satu OPD" in no_opd.output
        bad = run(app, ["users", "create", "dishub.ani", "--role", "opd", "--opd", "NOPE",
                        "--password-stdin"], input=pw)  # fmt: skip
        assert bad.exit_code == 1 and "OPD tidak dikenal" in bad.output
        listed = run(app, ["users", "list"])
        assert "dishub.budi" in listed.output and "DISHUB" in listed.output
        moved = run(app, ["users", "set-role", "dishub.budi", "opd", "--opd", "PUPR"])
        assert moved.exit_code == 0, moved.output
        refused = run(app, ["users", "set-role", "dishub.budi", "opd"])
        assert refused.exit_code == 1
        with db.session() as s:
            u = users.get_by_username(s, "dishub.budi")
            assert (u.role, u.opd_id) == ("opd", users.find_opd(s, "PUPR").id)
            assert users.get_by_username(s, "dishub.ani") is None
    finally:
        db.dispose()
        settings_module.get_settings.cache_clear()


# --------------------------------------------------------------------------------------------
# the page's callbacks, called straight (a browser would send the same requests)
def callback_key(app, output: str) -> str:
    app.server.test_client().get("/healthz")
    return next(k for k in app.callback_map if output in k)


def call(client, app, output: str, values: dict[str, object], changed: str | None = None):
    """POST one registered callback with ``values`` by "id.property" (others None)."""
    key = callback_key(app, output)
    entry = app.callback_map[key]
    outs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]

    def dep(d: dict) -> dict:
        name = f"{d['id']}.{d['property']}"
        return {"id": d["id"], "property": d["property"], "value": values.get(name)}

    body = {
        "output": key,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in outs]
        if isinstance(entry["output"], list)
        else {"id": outs[0].component_id, "property": outs[0].component_property},
        "inputs": [dep(d) for d in entry["inputs"]],
        "state": [dep(d) for d in entry["state"]],
        "changedPropIds": [changed] if changed else [],
    }
    return client.post("/_dash-update-component", json=body)


def signed_in(app, db, username: str, role: str, code: str | None):
    from tests.access.access_helpers import login_with

    password = f"Uji-{username}-2026"
    with db.session() as s:
        if users.get_by_username(s, username) is None:
            oid = users.find_opd(s, code).id if code else None
            users.create_user(s, username, password, role, opd_id=oid)
    client = app.server.test_client()
    resp = login_with(client, username, password)
    assert resp.status_code == 302 and "/masuk" not in resp.headers["Location"]
    return client, resp


@pytest.fixture
def opd_app(app, sqlite_seeded, csettings):
    """The app with reports for DISHUB (normal, anonymous, confidential) and one for PUPR."""
    svc = ComplaintService(sqlite_seeded, csettings)
    ids = {
        "normal": dispatched(
            svc, "DISHUB", reporter_name="Budi Warga", reporter_contact="081234567890"
        ),  # fmt: skip
        "anonymous": dispatched(
            svc,
            "DISHUB",
            privacy=PrivacyMode.ANONYMOUS,
            reporter_name="Rahasia Satu",
            reporter_contact="081200000001",
        ),  # fmt: skip
        "confidential": dispatched(
            svc,
            "DISHUB",
            privacy=PrivacyMode.CONFIDENTIAL,
            reporter_name="Rahasia Dua",
            reporter_contact="081200000002",
        ),  # fmt: skip
        "pupr": dispatched(svc, "PUPR", reporter_name="Warga PUPR"),
    }
    new = svc.submit(report(category="traffic_light"), now=MONDAY).complaint.id
    ids["new"] = new
    return app, sqlite_seeded, ids


def test_sign_in_lands_on_the_follow_up_page_which_lists_only_own_reports(opd_app):
    app, db, ids = opd_app
    client, resp = signed_in(app, db, "dishub.budi", "opd", "DISHUB")
    assert resp.headers["Location"] == "/opd/pengaduan"
    assert client.get("/").headers["Location"] == "/opd/pengaduan"
    assert client.get("/opd/pengaduan").status_code == 200
    for path in ("/pengaduan/antrian", "/pengaduan", "/lalu-lintas", "/admin/pengguna"):
        assert client.get(path).status_code == 403, path
    resp = call(client, app, "followup-table.data", {"followup-view.value": "all"})
    assert resp.status_code == 200, resp.data[:300]
    rows = json.loads(resp.data)["response"]["followup-table"]["data"]
    assert sorted(r["id"] for r in rows) == sorted(
        [ids["normal"], ids["anonymous"], ids["confidential"]]
    )
    # nobody else's reports, not even through the search box
    with db.session() as s:
        pupr_tid = s.get(Complaint, ids["pupr"]).tracking_id
    resp = call(client, app, "followup-table.data", {"followup-view.value": "all",
                                                      "followup-search.value": pupr_tid})  # fmt: skip
    assert json.loads(resp.data)["response"]["followup-table"]["data"] == []


def test_details_hide_identities_and_other_opds_reports(opd_app):
    app, db, ids = opd_app
    client, _ = signed_in(app, db, "dishub.budi", "opd", "DISHUB")

    def detail(cid: int) -> str:
        resp = call(client, app, "followup-detail.children", {
            "followup-table.selected_rows": [0],
            "followup-table.data": [{"id": cid, "tracking": "x"}],
        })  # fmt: skip
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    normal = detail(ids["normal"])
    assert "Budi Warga" in normal and "+6281234567890" in normal
    for kind, name in (("anonymous", "Rahasia Satu"), ("confidential", "Rahasia Dua")):
        text = detail(ids[kind])
        assert name not in text and "0812000000" not in text and "dirahasiakan" in text
    # another OPD's report and an undispatched one answer exactly like an id that is not there
    with db.session() as s:
        missing = (s.scalar(select(func.max(Complaint.id))) or 0) + 1000
    assert detail(ids["pupr"]) == detail(ids["new"]) == detail(missing)
    assert "Laporan tidak ditemukan" in detail(missing) and "Warga PUPR" not in detail(ids["pupr"])


def test_forged_follow_up_of_another_opds_report_changes_nothing(opd_app):
    app, db, ids = opd_app
    client, _ = signed_in(app, db, "dishub.budi", "opd", "DISHUB")
    before = state(db, ids["pupr"])

    def resolve(cid: int, note: str | None = NOTE):
        return call(client, app, "followup-feedback.children", {
            "followup-resolve.n_clicks": 1,
            "followup-table.selected_rows": [0],
            "followup-table.data": [{"id": cid, "tracking": "forged"}],
            "followup-note.value": note,
            "followup-version.data": 0,
        }, changed="followup-resolve.n_clicks")  # fmt: skip

    forged = resolve(ids["pupr"])
    assert forged.status_code == 200 and "Laporan tidak ditemukan" in forged.get_data(as_text=True)
    assert state(db, ids["pupr"]) == before
    # the operator's queue callbacks are refused outright
    dispatch = call(client, app, "queue-feedback.children", {
        "queue-dispatch.n_clicks": 1,
        "queue-table.selected_rows": [0],
        "queue-table.data": [{"id": ids["new"], "tracking": "x"}],
        "queue-dispatch-opd.value": str(opd_id(db, "DISHUB")),
    }, changed="queue-dispatch.n_clicks")  # fmt: skip
    assert dispatch.status_code == 403
    assert state(db, ids["new"])[0] == S.NEW
    # own report: no note, refused with the message; with a note, resolved and recorded
    no_note = resolve(ids["normal"], note="  ")
    assert "Catatan tindak lanjut wajib diisi" in no_note.get_data(as_text=True)
    assert state(db, ids["normal"])[0] == S.DISPATCHED
    ok = resolve(ids["normal"])
    assert "Selesai ditangani" in ok.get_data(as_text=True)
    with db.session() as s:
        last = s.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == ids["normal"])
            .order_by(ComplaintEvent.id.desc())
        ).first()
        assert (last.to_status, last.actor, last.note) == (S.RESOLVED, "dishub.budi", NOTE)


def test_opd_account_without_opd_sees_nothing(opd_app):
    app, db, ids = opd_app
    client, _ = signed_in(app, db, "dishub.lepas", "opd", "DISHUB")
    with db.session() as s:  # the link is gone (the OPD was removed: ondelete SET NULL)
        s.scalar(select(User).where(User.username == "dishub.lepas")).opd_id = None
    assert client.get("/opd/pengaduan").status_code == 403
    resp = call(client, app, "followup-table.data", {"followup-view.value": "all"})
    assert resp.status_code == 403
    resp = call(client, app, "followup-feedback.children", {
        "followup-resolve.n_clicks": 1,
        "followup-table.selected_rows": [0],
        "followup-table.data": [{"id": ids["normal"], "tracking": "x"}],
        "followup-note.value": NOTE,
    }, changed="followup-resolve.n_clicks")  # fmt: skip
    assert resp.status_code == 403
    assert state(db, ids["normal"])[0] == S.DISPATCHED


def test_photos_only_of_own_reports(opd_app, csettings):
    app, db, ids = opd_app
    names = {}
    with db.session() as s:
        for kind in ("normal", "pupr"):
            name = f"complaints/uji-{kind}.jpg"
            (csettings.upload_dir / "complaints").mkdir(parents=True, exist_ok=True)
            (csettings.upload_dir / name).write_bytes(b"\xff\xd8\xff" + kind.encode())
            s.get(Complaint, ids[kind]).photo_path = name
            names[kind] = name
    client, _ = signed_in(app, db, "dishub.budi", "opd", "DISHUB")
    own = client.get(f"/api/pengaduan/foto/{names['normal']}")
    assert own.status_code == 200 and own.data.endswith(b"normal")
    other = client.get(f"/api/pengaduan/foto/{names['pupr']}")
    missing = client.get("/api/pengaduan/foto/complaints/tidak-ada.jpg")
    assert other.status_code == missing.status_code == 404
    assert other.data == missing.data
    assert client.get("/api/pengaduan/heatmap.geojson").status_code == 403
    operator, _ = signed_in(app, db, "opr.foto", "operator", None)
    assert operator.get(f"/api/pengaduan/foto/{names['pupr']}").status_code == 200


def test_opd_indicators_only_of_own_opd(opd_app):
    """OPD staff open the indicators page, but only their OPD's cards and histories, whatever
    filter or card id the browser sends."""
    from store.models import OpdIndicator

    app, db, _ids = opd_app
    client, _ = signed_in(app, db, "dishub.budi", "opd", "DISHUB")
    assert client.get("/indikator-opd").status_code == 200
    resp = call(client, app, "opd-cards.children", {"opd-filter.value": ["PUPR", "DLHK"]})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "APILL berfungsi" in text
    assert "Jalan kondisi mantap" not in text and "Sampah terangkut" not in text
    with db.session() as s:
        pupr_ind = s.scalar(select(OpdIndicator.id).where(OpdIndicator.code == "jalan_mantap"))
        own_ind = s.scalar(select(OpdIndicator.id).where(OpdIndicator.code == "apill_berfungsi"))

    def history(indicator_id: int) -> dict:
        card = {"type": "opd-card", "index": indicator_id}
        key = callback_key(app, "opd-modal.is_open")
        entry = app.callback_map[key]
        body = {
            "output": key,
            "outputs": [
                {"id": o.component_id, "property": o.component_property} for o in entry["output"]
            ],  # fmt: skip
            "inputs": [
                {
                    "id": {"type": "opd-card", "index": ["ALL"]},
                    "property": "n_clicks",
                    "value": [1],
                    "id_index": None,
                },  # fmt: skip
                {"id": "opd-modal-close", "property": "n_clicks", "value": None},
            ],
            "state": [{"id": "opd-modal", "property": "is_open", "value": False}],
            "changedPropIds": [json.dumps(card, separators=(",", ":")) + ".n_clicks"],
        }
        body["inputs"][0] = [{"id": card, "property": "n_clicks", "value": 1}]
        resp = client.post("/_dash-update-component", json=body)
        assert resp.status_code in (200, 204), resp.data[:300]
        return json.loads(resp.data or b"{}").get("response", {})

    assert history(own_ind)["opd-modal"]["is_open"] is True
    assert history(pupr_ind)["opd-modal"]["is_open"] is False
