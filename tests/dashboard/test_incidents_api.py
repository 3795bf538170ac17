"""``POST/GET /api/v1/incidents`` and ``PATCH /api/v1/incidents/{source}/{external_id}`` with
per-agency API keys, on SQLite and PostgreSQL (issue 11).

Expected answers come from the issue and dashboard/api/incidents.py's documented contract:
per-item accepted/rejected with index and reason like the sensor API; a Damkar key cannot
write Polresta's incidents (rejected, never re-sourced); revoked keys 401; at most 1,000 items
(1,001: 413); malformed / too deep JSON 400; concurrent writers of overlapping batches leave
no duplicates and no errors; database outage 503 + Retry-After; every write audited.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from store import api_keys
from store.models import AuditLog, Incident
from tests.access.access_helpers import AccessEnv, env_on

URL = "/api/v1/incidents"


def item(ext: str, source: str | None = "damkar", **over) -> dict:
    body = {
        "external_id": ext,
        "kind": "fire",
        "occurred_at": "2026-11-20T10:00:00+07:00",
        "lat": -2.97,
        "lon": 104.74,
        "description": f"Kebakaran {ext}",
        "status": "open",
    }
    if source is not None:
        body["source"] = source
    return body | over


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api_env(request, tmp_path_factory) -> Iterator[tuple[AccessEnv, dict[str, str]]]:
    with env_on(request.param, tmp_path_factory.mktemp("incapi") / "var") as e:
        with e.db.session() as s:
            tokens = {
                "damkar": api_keys.create_key(s, "damkar", ["incidents:damkar"])[1],
                "polresta": api_keys.create_key(s, "polresta", ["incidents:polresta"])[1],
                "pusat": api_keys.create_key(s, "pusat", ["incidents:*"])[1],
                "dishub-ind": api_keys.create_key(s, "dishub-ind", ["indicators:DISHUB"])[1],
                "revoked": api_keys.create_key(s, "lama", ["incidents:damkar"])[1],
            }
            api_keys.revoke_key(s, "lama")
        yield e, tokens


def post(client, body, token: str | None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(URL, json=body, headers=headers)


def count(env: AccessEnv, **where) -> int:
    with env.db.session() as s:
        q = select(func.count()).select_from(Incident)
        for k, v in where.items():
            q = q.where(getattr(Incident, k) == v)
        return s.scalar(q)


def test_post_inserts_then_unchanged_then_updates(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    # one object; source left out: the key has one source, it is the item's
    first = post(client, item("A-1", source=None), tokens["damkar"])
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["inserted"] == 1 and body["updated"] == 0 and body["rejected"] == []
    (acc,) = body["accepted"]
    assert (acc["index"], acc["source"], acc["external_id"], acc["result"]) == (
        0,
        "damkar",
        "A-1",
        "inserted",
    )
    again = post(client, [item("A-1")], tokens["damkar"]).get_json()
    assert again["unchanged"] == 1 and again["accepted"][0]["result"] == "unchanged"
    assert again["accepted"][0]["id"] == acc["id"]
    closed = item("A-1", status="selesai", ended_at="2026-11-20T11:30:00+07:00")
    upd = post(client, [closed], tokens["damkar"]).get_json()
    assert upd["updated"] == 1 and upd["accepted"][0]["result"] == "updated"
    with env.db.session() as s:
        row = s.scalar(select(Incident).where(Incident.external_id == "A-1"))
        assert row.status == "closed" and row.closed_at == datetime(2026, 11, 20, 4, 30, tzinfo=UTC)
        assert row.source == "damkar" and row.is_demo is False
        audit = list(
            s.scalars(
                select(AuditLog).where(
                    AuditLog.action == "incident_write", AuditLog.target == "incidents:damkar"
                )
            )
        )
    # two writes (insert, update) audited with the key's name; the unchanged post wrote nothing
    assert [a.detail["inserted"] + a.detail["updated"] for a in audit] == [1, 1]
    assert {a.username for a in audit} == {"key:damkar"}
    assert count(env, external_id="A-1") == 1
    with env.db.session() as s:  # the key's last use is recorded (pantau keys list shows it)
        from store.models import ApiKey

        used = s.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "damkar"))
        assert used is not None and datetime.now(UTC) - used < timedelta(minutes=10)


def test_wrong_agency_is_rejected_per_item_never_resourced(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    resp = post(client, [item("B-1"), item("LP/B/9/XI/2026", source="polresta")], tokens["damkar"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert [a["external_id"] for a in body["accepted"]] == ["B-1"]
    (rej,) = body["rejected"]
    assert rej["index"] == 1 and rej["error"] == "forbidden"
    assert "may not write incidents of source 'polresta'" in rej["reason"]
    assert count(env, external_id="LP/B/9/XI/2026") == 0  # neither as polresta nor as damkar
    only_foreign = post(client, item("LP/B/10/XI/2026", source="polresta"), tokens["damkar"])
    assert only_foreign.status_code == 422  # nothing accepted
    # the polresta key writes its own
    assert post(client, item("LP/B/9/XI/2026", source="polresta"), tokens["polresta"]).status_code == 200  # fmt: skip
    with env.db.session() as s:
        denied = s.scalars(
            select(AuditLog).where(
                AuditLog.action == "access_denied", AuditLog.target == "incidents:polresta"
            )
        ).all()
    assert len(denied) == 2 and {d.username for d in denied} == {"key:damkar"}
    # an indicators-only key has no incidents scope at all
    other = post(client, item("B-2"), tokens["dishub-ind"])
    assert other.status_code == 403 and other.get_json()["error"] == "forbidden"


def test_revoked_unknown_and_missing_keys(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    for token in (tokens["revoked"], tokens["damkar"] + "x", None):
        resp = post(client, item("C-1"), token)
        assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = client.post(URL, json=item("C-1"), headers={"X-API-Key": tokens["revoked"]})
    assert resp.status_code == 401
    assert count(env, external_id="C-1") == 0
    ok = client.post(URL, json=item("C-1"), headers={"X-API-Key": tokens["damkar"]})
    assert ok.status_code == 200


def test_thousand_items_accepted_thousand_and_one_refused(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    batch = [item(f"K-{i:04d}") for i in range(1000)]
    resp = post(client, batch, tokens["damkar"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["inserted"] == 1000 and len(body["accepted"]) == 1000
    assert [a["index"] for a in body["accepted"]] == list(range(1000))
    assert count(env, source="damkar") >= 1000
    again = post(client, batch, tokens["damkar"]).get_json()
    assert again["unchanged"] == 1000 and again["inserted"] == 0
    over = post(client, [*batch, item("K-1000")], tokens["damkar"])
    assert over.status_code == 413 and over.get_json()["error"] == "too_many_items"
    assert count(env, external_id="K-1000") == 0


def test_malformed_bodies(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    auth = {"Authorization": f"Bearer {tokens['damkar']}", "Content-Type": "application/json"}
    cases = [
        (b'{"external_id": "D-1", ', 400, "bad_request"),  # cut short
        (b"\xff\xfe{}", 400, "bad_request"),  # not UTF-8
        (b'"just a string"', 400, "bad_request"),
        (b"42", 400, "bad_request"),
        (b"[]", 400, "bad_request"),
        (b"[" * 150 + b"]" * 150, 400, "too_deep"),  # deeper than PANTAU_JSON_MAX_DEPTH (100)
        (json.dumps({"d": "x" * (1024 * 1024)}).encode(), 413, "too_large"),  # over 1 MiB
    ]
    for raw, status, error in cases:
        resp = client.post(URL, data=raw, headers=auth)
        assert resp.status_code == status, (raw[:30], resp.status_code, resp.get_data()[:200])
        assert resp.get_json()["error"] == error and resp.get_json()["message"]
    form = client.post(
        URL, data="external_id=D-1", headers={"Authorization": f"Bearer {tokens['damkar']}"}
    )
    assert form.status_code == 415
    # nested values where text belongs are a per-item rejection naming the column
    nested = post(client, [item("D-2", description={"a": [1, {"b": 2}]})], tokens["damkar"])
    assert nested.status_code == 422
    (rej,) = nested.get_json()["rejected"]
    assert rej["error"] == "invalid" and rej["problems"][0]["column"] == "description"


def test_invalid_items_say_which_column_value_and_why(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    batch = [
        item("E-1", occurred_at="2026-11-20T10:00:00"),  # no time zone
        item("E-2", kind="gempa"),
        item("E-3", lat=91),
        item("E-4", ended_at="2026-11-20T09:00:00+07:00"),
        "not an object",
        item("E-5"),
        item("E-5", status="closed"),  # the same key twice in one request
        item("E-6", priority="high"),  # unknown field
    ]
    body = post(client, batch, tokens["damkar"]).get_json()
    rejected = {r["index"]: r for r in body["rejected"]}
    assert sorted(rejected) == [0, 1, 2, 3, 4, 6, 7]
    assert [a["external_id"] for a in body["accepted"]] == ["E-5"]

    def first(i):
        return rejected[i]["problems"][0]

    assert first(0)["column"] == "occurred_at" and "no time zone" in first(0)["message"]
    assert first(0)["value"] == "2026-11-20T10:00:00"
    assert first(1) | {"message": ""} == {"column": "kind", "value": "gempa", "message": ""}
    assert "unknown kind" in first(1)["message"]
    assert first(2)["column"] == "lat" and first(2)["value"] == 91
    assert first(3)["column"] == "ended_at" and "before occurred_at" in first(3)["message"]
    assert rejected[4]["error"] == "invalid" and "JSON object" in rejected[4]["reason"]
    assert rejected[6]["error"] == "duplicate" and "item 5" in rejected[6]["reason"]
    assert first(7)["column"] == "priority" and "unknown column" in first(7)["message"]
    assert rejected[1]["external_id"] == "E-2" and "column 'kind'" in rejected[1]["reason"]
    assert count(env, external_id="E-1") == 0


def test_concurrent_writers_overlapping_batches_no_duplicates_no_errors(api_env):
    """Two agency gateways (threads, the real WSGI app) post overlapping batches at once, in
    opposite orders: four rounds of new incidents (every round inserts, so both writers hold
    new rows the other wants), then a round re-sending changed ones."""
    env, tokens = api_env
    rounds = 4

    def ids(r: int, lo: int, hi: int) -> list[str]:
        return [f"R{r}-{i:03d}" for i in range(lo, hi)]

    codes: list[int] = []
    inserted: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(2)

    def run(reverse: bool):
        client = env.app.server.test_client()
        for r in range(rounds + 1):
            batch = ids(r % rounds, 150, 450)[::-1] if reverse else ids(r % rounds, 0, 300)
            status = "handling" if r == rounds else "open"
            go.wait(timeout=60)
            resp = post(client, [item(i, status=status) for i in batch], tokens["damkar"])
            with lock:
                codes.append(resp.status_code)
                if resp.status_code == 200:
                    inserted.append(resp.get_json()["inserted"])

    threads = [threading.Thread(target=run, args=(rev,)) for rev in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert codes == [200] * (2 * (rounds + 1)), codes
    assert sum(inserted) == 450 * rounds  # each incident inserted exactly once
    with env.db.session() as s:
        dupes = s.execute(
            select(Incident.external_id, func.count())
            .where(Incident.external_id.like("R%-%"))
            .group_by(Incident.external_id)
            .having(func.count() > 1)
        ).all()
        n = s.scalar(select(func.count()).where(Incident.external_id.like("R%-%")))
        handling = s.scalar(
            select(func.count()).where(
                Incident.external_id.like("R0-%"), Incident.status == "handling"
            )
        )
    assert dupes == [] and n == 450 * rounds and handling == 450


def test_get_filters_pagination_and_own_source_only(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    mine = [
        item("G-1", occurred_at="2026-10-01T08:00:00+07:00", kind="crime", status="open"),
        item("G-2", occurred_at="2026-10-02T08:00:00+07:00", kind="fire", status="closed"),
        item("G-3", occurred_at="2026-10-03T08:00:00+07:00", kind="fire", status="handling"),
    ]
    assert post(client, [{**m, "source": "satpolpp"} for m in mine], tokens["pusat"]).status_code == 200  # fmt: skip
    hdr = {"Authorization": f"Bearer {tokens['pusat']}"}
    window = "since=2026-10-01T00:00:00%2B07:00&until=2026-10-04T00:00:00%2B07:00"
    got = client.get(f"{URL}?{window}&source=satpolpp", headers=hdr).get_json()
    assert [i["external_id"] for i in got["items"]] == ["G-3", "G-2", "G-1"]  # newest first
    assert got["total"] == 3 and got["next_offset"] is None
    g2 = got["items"][1]
    assert g2["occurred_at"] == "2026-10-02T01:00:00Z" and g2["closed_at"] is not None
    assert g2["is_demo"] is False and g2["source"] == "satpolpp" and g2["kind"] == "fire"
    page = client.get(f"{URL}?{window}&source=satpolpp&limit=2", headers=hdr).get_json()
    assert [i["external_id"] for i in page["items"]] == ["G-3", "G-2"] and page["next_offset"] == 2
    page2 = client.get(f"{URL}?{window}&source=satpolpp&limit=2&offset=2", headers=hdr).get_json()
    assert [i["external_id"] for i in page2["items"]] == ["G-1"] and page2["next_offset"] is None
    plus = window.replace("%2B", "+")  # a client that did not encode '+' (arrives as ' ')
    assert client.get(f"{URL}?{plus}&source=satpolpp", headers=hdr).get_json()["total"] == 3
    fires = client.get(f"{URL}?{window}&kind=fire&status=closed,handling", headers=hdr).get_json()
    assert [i["external_id"] for i in fires["items"]] == ["G-3", "G-2"]
    # a single-source key sees its own rows only; asking for another source is 403
    damkar = {"Authorization": f"Bearer {tokens['damkar']}"}
    assert post(client, item("G-DMK"), tokens["damkar"]).status_code == 200
    own = client.get(f"{URL}?limit=1000", headers=damkar).get_json()
    assert own["total"] >= 1 and {i["source"] for i in own["items"]} == {"damkar"}
    assert client.get(f"{URL}?source=satpolpp", headers=damkar).status_code == 403
    assert client.get(URL).status_code == 401
    for bad in ("since=2026-10-01T00:00:00", "kind=gempa", "limit=0", "limit=1001", "offset=-1",
                "since=kemarin"):  # fmt: skip
        resp = client.get(f"{URL}?{bad}", headers=hdr)
        assert resp.status_code == 400 and resp.get_json()["error"] == "bad_request", bad


def test_patch_status(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    post(client, item("LP/B/77/XI/2026", source="polresta"), tokens["polresta"])
    path = f"{URL}/polresta/LP/B/77/XI/2026"
    hdr = {"Authorization": f"Bearer {tokens['polresta']}"}
    resp = client.patch(path, json={"status": "handling"}, headers=hdr)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["result"] == "updated" and resp.get_json()["changed"] == ["status"]
    done = {"status": "closed", "ended_at": "2026-11-20T12:00:00+07:00"}
    body = client.patch(path, json=done, headers=hdr).get_json()
    assert body["incident"]["status"] == "closed"
    assert body["incident"]["closed_at"] == "2026-11-20T05:00:00Z" == body["incident"]["ended_at"]
    assert client.patch(path, json=done, headers=hdr).get_json()["result"] == "unchanged"
    reopened = client.patch(path, json={"status": "open"}, headers=hdr).get_json()["incident"]
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    assert reopened["ended_at"] == "2026-11-20T05:00:00Z"  # the event's end stays as reported
    client.patch(path, json={"status": "closed"}, headers=hdr)  # closes at its ended_at again
    # another agency's key, unknown incidents, bad values
    damkar = {"Authorization": f"Bearer {tokens['damkar']}"}
    assert client.patch(path, json={"status": "open"}, headers=damkar).status_code == 403
    assert client.patch(f"{URL}/polresta/TIDAK-ADA", json=done, headers=hdr).status_code == 404
    bad = client.patch(path, json={"status": "beres"}, headers=hdr)
    assert bad.status_code == 422 and bad.get_json()["problems"][0]["column"] == "status"
    early = client.patch(path, json={"ended_at": "2026-11-19T00:00:00+07:00"}, headers=hdr)
    assert early.status_code == 422 and "before occurred_at" in early.get_json()["message"]
    extra = client.patch(path, json={"kind": "crime"}, headers=hdr)
    assert extra.status_code == 422 and extra.get_json()["problems"][0]["column"] == "kind"
    assert client.patch(path, json=[1], headers=hdr).status_code == 400
    with env.db.session() as s:
        row = s.scalar(select(Incident).where(Incident.external_id == "LP/B/77/XI/2026"))
        assert row.status == "closed" and row.kind == "fire"
        rows = s.scalars(
            select(AuditLog).where(
                AuditLog.action == "incident_write", AuditLog.username == "key:polresta"
            )
        ).all()
    about = [r for r in rows if "LP/B/77/XI/2026" in json.dumps(r.detail)]
    assert len(about) == 5  # insert + four status changes; the unchanged PATCH wrote nothing


def test_rate_limit_and_database_outage(tmp_path):
    with env_on("sqlite", tmp_path / "var", api_key_rate_limit=3) as e:
        with e.db.session() as s:
            token = api_keys.create_key(s, "damkar", ["incidents:damkar"])[1]
        client = e.app.server.test_client()
        codes = [post(client, item("F-1"), token).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        last = post(client, item("F-1"), token)
        assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    with env_on("sqlite", tmp_path / "var2") as e:
        with e.db.session() as s:
            token = api_keys.create_key(s, "damkar", ["incidents:damkar"])[1]
        with e.db.engine.begin() as conn:  # the audit insert fails after the incidents
            conn.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
                )
            )
        client = e.app.server.test_client()
        resp = post(client, [item("F-2"), item("F-3")], token)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "10"
        assert resp.get_json()["error"] == "database_unavailable"
        assert count(e) == 0  # nothing half-written
        with e.db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER no_audit"))
        again = post(client, [item("F-2"), item("F-3")], token)
        assert again.status_code == 200 and again.get_json()["inserted"] == 2


def test_hostile_values_are_refused_not_a_database_error(api_env):
    """Values PostgreSQL itself would refuse (NUL characters) or Python cannot represent
    (times past year 9999 in UTC) are item errors / 400 / 404, never a 503 for the batch."""
    env, tokens = api_env
    client = env.app.server.test_client()
    hdr = {"Authorization": f"Bearer {tokens['damkar']}"}
    batch = [
        item("H-1", description="api\x00padam"),
        item("H-2", address="Jl.\x1b[31m"),
        item("H-3", occurred_at="0001-01-01T00:00:00+14:00"),
        item("H-4", ended_at="9999-12-31T23:59:59-14:00"),
        item("H-5", description="baris satu\nbaris dua"),
    ]
    resp = post(client, batch, tokens["damkar"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [a["external_id"] for a in body["accepted"]] == ["H-5"]
    why = {r["index"]: r["problems"][0] for r in body["rejected"]}
    assert why[0]["column"] == "description" and "control characters" in why[0]["message"]
    assert why[1]["column"] == "address" and "control characters" in why[1]["message"]
    assert why[2]["column"] == "occurred_at" and "out of range" in why[2]["message"]
    assert why[3]["column"] == "ended_at" and "out of range" in why[3]["message"]
    assert client.patch(f"{URL}/damkar/H-5%00", json={"status": "closed"}, headers=hdr).status_code == 404  # fmt: skip
    assert client.patch(f"{URL}/dam%00kar/H-5", json={"status": "closed"}, headers=hdr).status_code == 404  # fmt: skip
    assert client.get(f"{URL}?source=dam%00kar", headers=hdr).status_code == 400
    late = client.get(f"{URL}?since=9999-12-31T23:59:59-14:00", headers=hdr)
    assert late.status_code == 400 and "out of range" in late.get_json()["message"]
