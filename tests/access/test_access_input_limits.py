"""Bounded input: deeply nested or oversized JSON, malformed Dash callback inputs and HTTP errors
on the APIs get a 4xx with a JSON message, never a 500, a RecursionError or a traceback.

Everything is sent anonymously (no credential), as the outside probe did, to a real app with the
SMS webhook, Open311 and the sensor intake configured (so each route gets as far as parsing)."""

from __future__ import annotations

import json
import random

import pytest
from access_helpers import make_env

SMS_TOKEN = "limits-sms-token"
OPEN311_KEY = "limits-open311-key"
SENSOR_KEY = "limits-sensor-key"
DEEP = "[" * 100_000 + "]" * 100_000
JSON_ROUTES = (
    "/api/sms",
    "/api/lapor",
    "/open311/v2/requests.json",
    "/_dash-update-component",
    "/api/sensors/readings",
)


@pytest.fixture(scope="module")
def lenv(tmp_path_factory):
    e = make_env(
        tmp_path_factory.mktemp("limits") / "var",
        sms_webhook_token=SMS_TOKEN,
        open311_api_keys=OPEN311_KEY,
        sensor_api_keys=SENSOR_KEY,
        complaint_submit_limit=0,
        complaint_lookup_limit=0,
        upload_max_bytes=200_000,  # Dash callbacks: MAX_CONTENT_LENGTH ~330 KB
        json_max_bytes=250_000,  # the APIs' JSON: less than that
    )
    yield e
    e.db.dispose()


@pytest.fixture(scope="module")
def anon(lenv):
    return lenv.app.server.test_client()


def assert_json_error(resp, status: int) -> dict | list:
    assert resp.status_code == status, (resp.status_code, resp.data[:300])
    assert resp.mimetype == "application/json", resp.mimetype
    assert b"Traceback" not in resp.data and b"RecursionError" not in resp.data
    body = resp.get_json()
    assert body, resp.data[:200]
    return body


# --------------------------------------------------------------------------------------------
# the depth scan itself
def reference_depth(value) -> int:  # noqa: ANN001
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


def random_json(rng: random.Random, depth: int):  # noqa: ANN201
    tricky = ['["[{', '}]"', '\\"[', "a\\\\", "\\u005b", "]]]]", "{", 'x\\"}{"']
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([1, 2.5, None, True, rng.choice(tricky), "plain"])
    if rng.random() < 0.5:
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(tricky) + str(i): random_json(rng, depth - 1) for i in range(3)}


def test_depth_scan_matches_the_parsed_depth_and_ignores_brackets_in_strings():
    from dashboard.input_limits import json_depth

    rng = random.Random(7)
    for _ in range(400):
        doc = random_json(rng, rng.randint(0, 12))
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.5)
        assert json_depth(text.encode()) == reference_depth(doc), text
    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[["}') == 1
    assert json_depth(b'["\\\\", [["\\"]]]"]]]') == 3
    assert json_depth(DEEP.encode()) == 100_000


# --------------------------------------------------------------------------------------------
# deep and large JSON on every JSON route
@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    "body",
    [DEEP, '{"a":' * 30_000 + "1" + "}" * 30_000, '{"text": ' + "[" * 5000 + "]" * 5000 + "}"],
    ids=["list-100000", "object-30000", "value-5000"],
)
def test_deeply_nested_json_is_a_400_with_a_json_message(anon, path, body):
    headers = {"X-Pantau-Token": SMS_TOKEN, "Authorization": f"Bearer {SENSOR_KEY}"}
    resp = anon.post(path, data=body, content_type="application/json", headers=headers)
    err = assert_json_error(resp, 400)
    text = json.dumps(err)
    assert "deeper than" in text, text


def test_brackets_inside_strings_are_not_nesting(anon, lenv):
    """A report whose description is full of brackets is a report, not an attack."""
    description = "Jalan rusak " + "[" * 3000 + " di Jl. Sudirman " + "{" * 3000
    resp = anon.post(
        "/api/lapor",
        json={
            "category": "road_damage",
            "description": description[:3900],
            "lat": -2.976,
            "lon": 104.745,
        },
    )
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("path", ["/api/lapor", "/api/sms", "/open311/v2/requests.json"])
def test_oversized_json_is_a_json_413(anon, lenv, path):
    limit = lenv.settings.json_max_bytes
    body = json.dumps({"description": "x" * (limit + 10)})
    resp = anon.post(path, data=body, content_type="application/json")
    assert_json_error(resp, 413)


def test_oversized_multipart_is_a_json_413_not_an_html_page(anon, lenv):
    limit = lenv.app.server.config["MAX_CONTENT_LENGTH"]
    import io

    resp = anon.post(
        "/api/lapor",
        data={
            "category": "road_damage",
            "description": "Jalan berlubang di depan pasar",
            "photo": (io.BytesIO(b"\xff\xd8\xff" + b"\0" * (limit + 1)), "big.jpg"),
        },
        content_type="multipart/form-data",
    )
    body = assert_json_error(resp, 413)
    assert body["error"] == "too_large"


def test_oversized_dash_callback_is_a_json_413(anon, lenv):
    limit = lenv.app.server.config["MAX_CONTENT_LENGTH"]
    body = json.dumps({"output": "x", "inputs": [{"value": "x" * (limit + 10)}]})
    resp = anon.post("/_dash-update-component", data=body, content_type="application/json")
    assert_json_error(resp, 413)


def test_http_errors_on_apis_are_json(anon):
    assert_json_error(anon.put("/api/sms"), 405)  # POST only
    assert_json_error(anon.get("/api/lapor/LPR-0000-00000000"), 404)
    body = assert_json_error(anon.get("/open311/v2/requests/nope.json"), 404)
    assert body[0]["code"] == 404  # Open311's error list


# --------------------------------------------------------------------------------------------
# the callback error boundary
def callback_key(app, output_id: str) -> str:
    return next(k for k in app.callback_map if f"{output_id}." in k)


def forged(app, output_id: str, inputs: list[dict], state: list[dict] | None = None) -> dict:
    key = callback_key(app, output_id)
    entry = app.callback_map[key]
    outs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]
    outputs = [{"id": o.component_id, "property": o.component_property} for o in outs]
    return {
        "output": key,
        "outputs": outputs if isinstance(entry["output"], list) else outputs[0],
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }


@pytest.mark.parametrize(
    "click",
    [
        {"latlng": {"lat": "abc", "lng": "1"}},
        {"latlng": {"lat": 1}},
        {"latlng": [1, 2]},
        {"latlng": None},
        {"latlng": {"lat": True, "lng": 1}},
        {"latlng": {"lat": 1e308, "lng": 1}},
        [1, 2],
        "latlng",
    ],
)
def test_malformed_map_clicks_are_a_400_with_a_message(lenv, anon, click):
    body = forged(
        lenv.app, "lapor-marker", [{"id": "lapor-map", "property": "clickData", "value": click}]
    )
    err = assert_json_error(anon.post("/_dash-update-component", json=body), 400)
    assert "lapor-map.clickData" in err["message"], err


def test_a_good_map_click_still_marks_the_point(lenv, anon):
    click = {"latlng": {"lat": -2.9761, "lng": 104.7452}}
    body = forged(
        lenv.app, "lapor-marker", [{"id": "lapor-map", "property": "clickData", "value": click}]
    )
    resp = anon.post("/_dash-update-component", json=body)
    assert resp.status_code == 200
    assert resp.get_json()["response"]["lapor-latlon"]["data"] == {"lat": -2.9761, "lon": 104.7452}


SUBMIT_STATE = {
    "lapor-category": "road_damage",
    "lapor-title": None,
    "lapor-description": "Jalan berlubang besar di lajur kiri",
    "lapor-latlon": {"lat": -2.976, "lon": 104.745},
    "lapor-address": None,
    "lapor-photo": None,
    "lapor-privacy": "normal",
    "lapor-name": None,
    "lapor-contact": None,
}
PROPS = {"lapor-latlon": "data", "lapor-photo": "contents"}


def submit_body(app, **overrides) -> dict:
    values = SUBMIT_STATE | {k.replace("_", "-"): v for k, v in overrides.items()}
    state = [
        {"id": cid, "property": PROPS.get(cid, "value"), "value": value}
        for cid, value in values.items()
    ]
    return forged(
        app,
        "lapor-feedback",
        [{"id": "lapor-submit", "property": "n_clicks", "value": 1}],
        state,
    )


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("lapor_latlon", [1, 2], "lapor-latlon.data"),
        ("lapor_latlon", {"lat": "x", "lon": 1}, "lapor-latlon.data.lat"),
        ("lapor_description", ["Jalan", "berlubang besar sekali"], "lapor-description.value"),
        ("lapor_category", {"a": 1}, "lapor-category.value"),
        ("lapor_photo", ["data:image/png;base64,AAAA"], "lapor-photo.contents"),
    ],
)
def test_malformed_form_state_is_a_400_and_stores_nothing(lenv, anon, field, value, named):
    from sqlalchemy import func, select

    from store.models import Complaint

    with lenv.db.session() as s:
        before = s.scalar(select(func.count()).select_from(Complaint))
    body = submit_body(lenv.app, **{field: value})
    err = assert_json_error(anon.post("/_dash-update-component", json=body), 400)
    assert named in err["message"], err
    with lenv.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == before


def test_malformed_dash_bodies_are_400_not_500(lenv, anon):
    """Bodies Dash itself cannot read (public callback, wrong shapes) -> 400 JSON."""
    good = forged(
        lenv.app, "lapor-marker", [{"id": "lapor-map", "property": "clickData", "value": None}]
    )
    for broken in (
        good | {"inputs": "nope"},
        good | {"inputs": [{"id": "lapor-map"}]},
        good | {"outputs": 5},
    ):
        resp = anon.post("/_dash-update-component", json=broken)
        assert resp.status_code == 400 or resp.status_code == 204, resp.status_code
        assert b"Traceback" not in resp.data


def test_a_server_fault_in_a_callback_is_a_logged_json_500(lenv, anon, caplog, monkeypatch):
    """Not every exception is the client's: a database fault stays a 500 (logged with its
    traceback), answered as short JSON without the traceback."""
    from sqlalchemy.exc import OperationalError

    import dashboard.api.intake as intake

    def broken(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(intake, "check_rate", broken)
    body = submit_body(lenv.app)
    with caplog.at_level("ERROR"):
        resp = anon.post("/_dash-update-component", json=body)
    assert_json_error(resp, 500)
    assert any("database is locked" in (r.exc_text or "") for r in caplog.records) or any(
        r.exc_info for r in caplog.records
    )


def test_a_chunked_json_body_is_not_read_past_the_limit(lenv):
    """No Content-Length (chunked): the body is read up to the JSON limit only, then 413."""
    import io

    limit = lenv.settings.json_max_bytes

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size=-1):  # noqa: ANN001, ANN202
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

        def readinto(self, buffer):  # noqa: ANN001, ANN202
            n = super().readinto(buffer)
            Counting.read_bytes += n
            return n

    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Response

    environ = EnvironBuilder(
        path="/api/lapor", method="POST", content_type="application/json"
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)  # chunked: the length is unknown
    environ["wsgi.input"] = Counting(b" " * (limit * 8))
    environ["wsgi.input_terminated"] = True  # as waitress sets it
    resp = Response.from_app(lenv.app.server.wsgi_app, environ)
    assert resp.status_code == 413 and b"too_large" in resp.data, resp.data[:200]
    assert Counting.read_bytes <= limit + 64 * 1024, Counting.read_bytes


# --------------------------------------------------------------------------------------------
# every callback, fed junk: never a 500
JUNK = ([1, 2], {"latlng": [1, 2]}, "x" * 300, 1e308, True, -1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def junk_env(request, tmp_path_factory):  # noqa: ANN001, ANN201
    from access_helpers import env_on

    var = tmp_path_factory.mktemp(f"junk-{request.param}") / "var"
    with env_on(request.param, var, complaint_submit_limit=0, complaint_lookup_limit=0) as e:
        yield e


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: type(j).__name__)
def test_every_callback_fed_junk_answers_without_a_server_error(junk_env, junk):
    """Each registered callback, with every input and state set to a value of the wrong type
    or shape, called as admin (and as opd for the OPD's own page): a 2xx, 204 or 4xx with a
    JSON message, never a 500 or a traceback."""
    from access_helpers import login

    lenv = junk_env
    lenv.app.server.test_client().get("/")  # Dash registers the router on the first request
    clients = {
        role: login(lenv.app.server.test_client(), lenv.db, role) for role in ("admin", "opd")
    }
    wrong = []
    for key, entry in lenv.app.callback_map.items():
        if not callable(entry.get("callback")):
            continue
        outs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]
        outputs = [{"id": o.component_id, "property": o.component_property} for o in outs]

        def dep(d: dict) -> dict:
            cid = d["id"]
            if isinstance(cid, str) and cid.startswith("{"):
                cid = json.loads(cid) | {"index": 1}
                cid = {k: ("index-1" if v == ["ALL"] else v) for k, v in cid.items()}
            return {"id": cid, "property": d["property"], "value": junk}

        inputs = [dep(d) for d in entry["inputs"]]
        body = {
            "output": key,
            "outputs": outputs if isinstance(entry["output"], list) else outputs[0],
            "inputs": inputs,
            "state": [dep(d) for d in entry["state"]],
            "changedPropIds": [
                f"{json.dumps(i['id']) if isinstance(i['id'], dict) else i['id']}.{i['property']}"
                for i in inputs[:1]
            ],  # fmt: skip
        }
        role = "opd" if "followup" in key else "admin"
        resp = clients[role].post("/_dash-update-component", json=body)
        if resp.status_code >= 500 or b"Traceback" in resp.data:
            wrong.append((key[:80], resp.status_code, resp.data[:120]))
        elif resp.status_code >= 400:
            assert resp.mimetype == "application/json", (key[:80], resp.status_code)
    assert not wrong, wrong
