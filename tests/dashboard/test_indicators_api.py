"""``PUT /api/v1/indicators/{opd}/{code}/{period}`` and ``GET /api/v1/indicators/{opd}`` with
per-OPD API keys, on SQLite and PostgreSQL (issue 11).

Expected answers come from the issue and the module's documented contract: 201 created,
200 updated / unchanged with the stored row; a DISHUB key cannot write another OPD's indicator
(403); 400/404/409/422 with ``{"error", "message"}``; rate limit 429; database outage 503 with
``Retry-After``; concurrent writers leave one value and a chained history, never a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select, text

from store import api_keys
from store.models import AuditLog, OpdIndicatorValue, OpdIndicatorValueChange
from tests.access.access_helpers import AccessEnv, env_on

URL = "/api/v1/indicators"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api_env(request, tmp_path_factory) -> Iterator[tuple[AccessEnv, dict[str, str]]]:
    with env_on(request.param, tmp_path_factory.mktemp("indapi") / "var") as e:
        with e.db.session() as s:
            tokens = {
                "dishub": api_keys.create_key(s, "dishub-sim", ["indicators:DISHUB"])[1],
                "bppd": api_keys.create_key(s, "bppd-sipd", ["indicators:BPPD"])[1],
                "incidents": api_keys.create_key(s, "damkar", ["incidents:damkar"])[1],
                "all": api_keys.create_key(s, "bappeda", ["indicators:*"])[1],
            }
        yield e, tokens


def put(client, path: str, body, token: str | None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.put(URL + path, json=body, headers=headers)


def changes(env: AccessEnv, code: str = "apill_berfungsi") -> list[OpdIndicatorValueChange]:
    from store.models import OpdIndicator

    with env.db.session() as s:
        ind = s.scalar(select(OpdIndicator).where(OpdIndicator.code == code))
        return list(
            s.scalars(
                select(OpdIndicatorValueChange)
                .where(OpdIndicatorValueChange.indicator_id == ind.id)
                .order_by(OpdIndicatorValueChange.id)
            )
        )


def test_put_creates_updates_and_leaves_unchanged(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    path = "/DISHUB/apill_berfungsi/2026-10"
    created = put(client, path, {"value": 97.5, "note": "rekap ATCS"}, tokens["dishub"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["result"] == "created" and body["previous_value"] is None
    row = body["indicator_value"]
    assert row["opd"] == "DISHUB" and row["indicator"] == "apill_berfungsi"
    assert row["period"] == "2026-10" and row["period_start"] == "2026-10-01"
    assert row["value"] == 97.5 and row["unit"] == "%" and row["note"] == "rekap ATCS"
    assert row["updated_by"] == "key:dishub-sim" and row["source"] == "api"
    assert row["updated_at"].endswith("Z")

    same = put(client, path, {"value": 97.5}, tokens["dishub"])
    assert same.status_code == 200 and same.get_json()["result"] == "unchanged"
    assert same.get_json()["indicator_value"]["note"] == "rekap ATCS"  # kept

    fixed = put(client, path, {"value": 96, "note": "koreksi"}, tokens["dishub"])
    assert fixed.status_code == 200
    assert fixed.get_json()["result"] == "updated" and fixed.get_json()["previous_value"] == 97.5
    assert fixed.get_json()["indicator_value"]["value"] == 96
    hist = [(c.old_value, c.new_value, c.actor, c.source) for c in changes(env)]
    assert hist == [(None, 97.5, "key:dishub-sim", "api"), (97.5, 96.0, "key:dishub-sim", "api")]

    with env.db.session() as s:  # every write with a key is in the audit log too
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "indicator_values",
                                                     AuditLog.username == "key:dishub-sim")))  # fmt: skip
    assert len(rows) == 2 and {r.target for r in rows} == {"indicators:DISHUB"}
    assert rows[-1].detail["values"] == [["apill_berfungsi", "2026-10", 97.5, 96]]

    # optimistic write: only if the stored value is still the one the client saw
    stale = put(client, path, {"value": 95, "previous_value": 97.5}, tokens["dishub"])
    assert stale.status_code == 409 and stale.get_json()["error"] == "conflict"
    assert stale.get_json()["indicator_value"]["value"] == 96
    ok = put(client, path, {"value": 95, "previous_value": 96}, tokens["dishub"])
    assert ok.status_code == 200 and ok.get_json()["result"] == "updated"

    listed = client.get(URL + "/DISHUB", headers={"X-API-Key": tokens["dishub"]})
    assert listed.status_code == 200
    items = {i["indicator"]: i for i in listed.get_json()["indicators"]}
    assert set(items) == {"apill_berfungsi", "kecepatan_rata"}  # data/opd_indicators.csv
    assert items["apill_berfungsi"]["latest"]["value"] == 95
    assert items["apill_berfungsi"]["period_format"] == "YYYY-MM"
    assert items["apill_berfungsi"]["plausible_max"] == 1000
    assert items["kecepatan_rata"]["latest"] is None


def test_a_key_of_another_opd_or_area_is_refused(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    before = len(changes(env, "pad_realisasi"))
    for token in (tokens["dishub"], tokens["incidents"]):
        resp = put(client, "/BPPD/pad_realisasi/2026-10", {"value": 101}, token)
        assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden"
    assert client.get(URL + "/BPPD", headers={"X-API-Key": tokens["dishub"]}).status_code == 403
    assert len(changes(env, "pad_realisasi")) == before  # nothing written
    with env.db.session() as s:
        denied = s.scalars(
            select(AuditLog).where(AuditLog.action == "access_denied",
                                   AuditLog.target == "indicators:BPPD")
        ).all()  # fmt: skip
    assert "key:dishub-sim" in {d.username for d in denied}
    ok = put(client, "/BPPD/pad_realisasi/2026-10", {"value": 101}, tokens["bppd"])
    assert ok.status_code in (200, 201)
    assert put(client, "/BPPD/pad_realisasi/2026-10", {"value": 101}, tokens["all"]).status_code == 200  # fmt: skip
    for token in (None, "pk_salah", tokens["dishub"] + "x"):
        resp = put(client, "/DISHUB/apill_berfungsi/2026-10", {"value": 1}, token)
        assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "path, body, status, error",
    [
        ("/DISHUB/apill_berfungsi/2026-Q3", {"value": 90}, 422, "invalid_period"),
        ("/DISHUB/apill_berfungsi/2026-13", {"value": 90}, 422, "invalid_period"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": 1500}, 422, "implausible_value"),
        ("/DISHUB/kecepatan_rata/2026-09", {"value": -4}, 422, "implausible_value"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": "97,5"}, 422, "invalid_value"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": True}, 422, "invalid_value"),
        ("/DISHUB/apill_berfungsi/2026-09", {"note": "tanpa nilai"}, 422, "invalid_value"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": 90, "note": 5}, 422, "invalid_note"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": 90, "nilai": 1}, 400, "bad_request"),
        ("/DISHUB/apill_berfungsi/2026-09", [90], 400, "bad_request"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": 10**400}, 422, "invalid_value"),
        ("/DISHUB/apill_berfungsi/2026-09", {"value": 90, "note": "a\u0000b"}, 422, "invalid_note"),
        ("/DISHUB/apill_berfungsi/2026-09%07", {"value": 90}, 422, "invalid_period"),
        ("/DISHUB/apill%07/2026-09", {"value": 90}, 422, "invalid_indicator"),
        ("/DISHUB/tidak_ada/2026-09", {"value": 90}, 404, "not_found"),
        ("/DISHUB/pad_realisasi/2026-09", {"value": 90}, 404, "not_found"),
    ],
)
def test_refused_requests_say_why_and_write_nothing(api_env, path, body, status, error):
    env, tokens = api_env
    client = env.app.server.test_client()
    with env.db.session() as s:
        n = s.query(OpdIndicatorValueChange).count()
    resp = put(client, path, body, tokens["dishub"])
    assert resp.status_code == status, resp.get_json()
    got = resp.get_json()
    assert got["error"] == error and got["message"]
    with env.db.session() as s:
        assert s.query(OpdIndicatorValueChange).count() == n


def test_not_json_and_too_large(api_env):
    env, tokens = api_env
    client = env.app.server.test_client()
    auth = {"Authorization": f"Bearer {tokens['dishub']}"}
    resp = client.put(URL + "/DISHUB/apill_berfungsi/2026-09", data="value=1", headers=auth)
    assert resp.status_code == 415
    big = {"value": 1, "note": "x" * 20000}
    resp = client.put(URL + "/DISHUB/apill_berfungsi/2026-09", json=big, headers=auth)
    assert resp.status_code == 413 and resp.get_json()["error"]


def test_concurrent_puts_of_one_period_one_value_chained_history_no_500(api_env):
    """Two OPD systems (threads, the real WSGI app) PUT the same period at once, repeatedly."""
    env, tokens = api_env
    client_a, client_b = env.app.server.test_client(), env.app.server.test_client()
    path = "/DISHUB/kecepatan_rata/2026-08"
    codes: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(2)

    def run(client, values):
        go.wait(timeout=30)
        for v in values:
            resp = put(client, path, {"value": v}, tokens["dishub"])
            with lock:
                codes.append(resp.status_code)

    a = threading.Thread(target=run, args=(client_a, [20.0 + i for i in range(6)]))
    b = threading.Thread(target=run, args=(client_b, [30.0 + i for i in range(6)]))
    a.start(), b.start()
    a.join(120), b.join(120)
    assert sorted(set(codes)) in ([200, 201], [201, 200]) and codes.count(201) == 1, codes
    hist = [c for c in changes(env, "kecepatan_rata") if c.period_start == date(2026, 8, 1)]
    with env.db.session() as s:
        rows = [
            v
            for v in s.scalars(select(OpdIndicatorValue))
            if v.period_start == date(2026, 8, 1) and v.value >= 20
        ]
    assert len(rows) == 1 and len(hist) == 12
    assert hist[0].old_value is None
    for prev, nxt in zip(hist, hist[1:], strict=False):
        assert nxt.old_value == prev.new_value
    assert rows[0].value == hist[-1].new_value


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    with env_on("sqlite", tmp_path / "var", api_key_rate_limit=3) as e:
        with e.db.session() as s:
            token = api_keys.create_key(s, "dishub-sim", ["indicators:DISHUB"])[1]
        client = e.app.server.test_client()
        codes = [
            put(client, "/DISHUB/apill_berfungsi/2026-10", {"value": 97}, token).status_code
            for _ in range(4)
        ]
        assert codes[:3] == [201, 200, 200] and codes[3] == 429
        last = put(client, "/DISHUB/apill_berfungsi/2026-10", {"value": 97}, token)
        assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1


def test_database_failure_mid_write_is_503_and_nothing_is_half_stored(tmp_path):
    """The history insert fails after the value row was written: 503 with Retry-After, the
    value row is rolled back with it; the retry stores value and history once."""
    with env_on("sqlite", tmp_path / "var") as e:
        with e.db.session() as s:
            token = api_keys.create_key(s, "dishub-sim", ["indicators:DISHUB"])[1]
        with e.db.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER no_history BEFORE INSERT ON opd_indicator_value_changes "
                    "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
                )
            )
        client = e.app.server.test_client()
        resp = put(client, "/DISHUB/apill_berfungsi/2026-10", {"value": 97}, token)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "10"
        assert resp.get_json()["error"] == "database_unavailable"
        with e.db.session() as s:
            assert s.query(OpdIndicatorValue).count() == 0
        with e.db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER no_history"))
        assert put(client, "/DISHUB/apill_berfungsi/2026-10", {"value": 97}, token).status_code == 201  # fmt: skip
        with e.db.session() as s:
            assert s.query(OpdIndicatorValue).count() == 1
            assert s.query(OpdIndicatorValueChange).count() == 1
