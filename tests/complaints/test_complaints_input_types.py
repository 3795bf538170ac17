"""Strict types and bounded photos on every public complaint input.

* a JSON list/object/boolean where text is expected (``/api/lapor``, Open311, the SMS webhook)
  is a 400 naming the field, never stored as its string form;
* a photo that cannot be read on the ``/lapor`` form is reported to the reporter and nothing is
  stored (the form keeps what they typed; they remove or replace the photo and send again);
* the pixel limit is read from the image header before anything is decoded (413 on the API);
* the real app, a real SQLite store, requests over the Flask test client."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from io import BytesIO

import pytest
from complaints_helpers import API_KEY, SMS_TOKEN, make_app
from sqlalchemy import func, select

from store.models import Complaint, SmsMessage

GOOD = {
    "category": "road_damage",
    "description": "Jalan berlubang dalam di lajur kiri Jl. Sudirman.",
    "lat": -2.976,
    "lon": 104.745,
}


def count(app, model=Complaint) -> int:
    db = app.server.config["PANTAU_DB"]
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def png_bytes(width: int, height: int) -> bytes:
    """A valid, fully decodable black RGB PNG of any size (zlib of zero rows: tiny file)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + b"\0" * (3 * width)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------------------------
# JSON types on the APIs
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", ["Jalan berlubang", "dalam sekali di lajur kiri"]),
        ("description", {"text": "Jalan berlubang dalam sekali"}),
        ("category", ["road_damage"]),
        ("name", ["Budi"]),
        ("contact", 81234567890),
        ("privacy", True),
        ("lat", [-2.976]),
        ("lon", True),
    ],
)
def test_api_lapor_refuses_wrong_json_types_naming_the_field(app, client, field, value):
    resp = client.post("/api/lapor", json=GOOD | {field: value})
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert field in body["errors"], body
    assert field in body["message"]
    assert count(app) == 0
    en = client.post("/api/lapor?lang=en", json=GOOD | {field: value}).get_json()
    assert en["errors"][field].startswith("must be")


def test_api_lapor_still_takes_numbers_and_numeric_text(app, client):
    assert client.post("/api/lapor", json=GOOD).status_code == 201
    text_point = GOOD | {"lat": "-2.977", "lon": "104.746"}
    assert client.post("/api/lapor", json=text_point).status_code == 201
    assert count(app) == 2


def open311(client, **fields):
    data = {
        "api_key": API_KEY,
        "service_code": "road_damage",
        "description": "Lampu jalan mati sepanjang Jl. Merdeka.",
        "lat": -2.99,
        "long": 104.76,
    } | fields
    return client.post("/open311/v2/requests.json", json=data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", ["Lampu jalan mati", "sepanjang Jl. Merdeka"]),
        ("service_code", ["road_damage"]),
        ("first_name", {"x": 1}),
        ("lat", [1]),
        ("attribute[privacy]", ["normal"]),
    ],
)
def test_open311_refuses_wrong_json_types_naming_the_field(app, client, field, value):
    resp = open311(client, **{field: value})
    assert resp.status_code == 400, resp.data
    errors = resp.get_json()
    assert errors[0]["code"] == 400 and errors[0]["description"].startswith(field), errors
    assert count(app) == 0
    assert open311(client).status_code == 201  # the same request with proper types


def test_open311_api_key_of_the_wrong_type_is_a_403_not_a_500(client):
    resp = open311(client, api_key=[API_KEY])
    assert resp.status_code == 403
    assert resp.get_json()[0]["code"] == 403


def test_sms_webhook_refuses_a_list_as_text(app, client):
    body = {"token": SMS_TOKEN, "sender": "0812", "message_id": "m-1", "text": ["LAPOR#x"]}
    resp = client.post("/api/sms", json=body)
    assert resp.status_code == 400 and "text" in resp.get_json()["errors"]
    assert count(app, SmsMessage) == 0
    # numbers for ids and times are what gateways send: still fine
    ok = body | {"text": "Pohon tumbang di Jl. Kapten Rivai", "message_id": 12345, "sent_at": 1}
    assert client.post("/api/sms", json=ok).status_code == 200


# --------------------------------------------------------------------------------------------
# photos
def submit_body(app, photo: str | None) -> dict:
    key = next(k for k in app.callback_map if "lapor-feedback.children" in k)
    entry = app.callback_map[key]
    state = {
        "lapor-category": "road_damage",
        "lapor-title": None,
        "lapor-description": GOOD["description"],
        "lapor-latlon": {"lat": GOOD["lat"], "lon": GOOD["lon"]},
        "lapor-address": None,
        "lapor-photo": photo,
        "lapor-privacy": "normal",
        "lapor-name": None,
        "lapor-contact": None,
    }
    props = {"lapor-latlon": "data", "lapor-photo": "contents"}
    return {
        "output": key,
        "outputs": [
            {"id": o.component_id, "property": o.component_property} for o in entry["output"]
        ],
        "inputs": [{"id": "lapor-submit", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": cid, "property": props.get(cid, "value"), "value": v} for cid, v in state.items()
        ],
        "changedPropIds": ["lapor-submit.n_clicks"],
    }


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


BROKEN_PHOTOS = {
    "not-base64": "data:image/png;base64,!!!!not base64 at all!!!!",
    "empty": "data:image/png;base64,",
    "no-data-url": "just some text",
    "truncated-png": data_url(png_bytes(40, 30)[:60]),
    "not-an-image": data_url(b"MZ\x90\x00 this is an exe", "image/jpeg"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_PHOTOS))
def test_broken_photo_on_the_form_is_reported_and_nothing_is_stored(app, client, name):
    """Decision: refuse the submission with the photo's message (the form keeps its text),
    rather than accept the report without the photo the reporter thinks is attached."""
    resp = client.post("/_dash-update-component", json=submit_body(app, BROKEN_PHOTOS[name]))
    assert resp.status_code == 200, resp.data[:300]
    out = resp.get_json()["response"]
    feedback = json.dumps(out["lapor-feedback"]["children"])
    assert "lapor-errors" in feedback and "Foto" in feedback, feedback
    assert "lapor-result" not in out or not out["lapor-result"].get("children")
    assert count(app) == 0


def test_a_good_photo_on_the_form_is_stored(app, client, csettings):
    resp = client.post(
        "/_dash-update-component", json=submit_body(app, data_url(png_bytes(40, 30)))
    )
    assert "lapor-tracking-id" in json.dumps(resp.get_json()["response"]["lapor-result"])
    assert count(app) == 1
    assert len(list((csettings.upload_dir / "complaints").glob("*.png"))) == 1


def test_multipart_with_an_empty_chosen_file_is_reported(app, client):
    data = GOOD | {"photo": (BytesIO(b""), "foto.jpg")}
    resp = client.post("/api/lapor", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and "photo" in resp.get_json()["errors"]
    assert count(app) == 0
    # no file chosen at all (an empty file part without a name, as browsers send it): fine
    data = GOOD | {"photo": (BytesIO(b""), "")}
    assert (
        client.post("/api/lapor", data=data, content_type="multipart/form-data").status_code == 201
    )


@pytest.fixture
def big_photo_app(csettings, sqlite_seeded):
    return make_app(csettings.model_copy(update={"upload_max_bytes": 1_000_000}), sqlite_seeded)


def test_pixel_limit_is_checked_from_the_header_before_decoding(big_photo_app, monkeypatch):
    """A real, valid 6300x6300 PNG (39.7 MP, 120 KB of zlib) is refused with 413 and a
    message, and OpenCV never decodes it (a spy on cv2.imdecode)."""
    import cv2

    photo = png_bytes(6300, 6300)
    assert len(photo) < 1_000_000
    calls = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: calls.append(a) or real(*a, **k))
    client = big_photo_app.server.test_client()
    data = GOOD | {"photo": (BytesIO(photo), "besar.png")}
    resp = client.post("/api/lapor", data=data, content_type="multipart/form-data")
    assert resp.status_code == 413, resp.get_json()
    assert "megapiksel" in resp.get_json()["errors"]["photo"]
    assert calls == []
    assert count(big_photo_app) == 0
    # through the public form: the reporter reads the same message
    resp = client.post("/_dash-update-component", json=submit_body(big_photo_app, data_url(photo)))
    assert "megapiksel" in json.dumps(resp.get_json()["response"]["lapor-feedback"])
    assert calls == [] and count(big_photo_app) == 0
    # a photo under the limit is decoded and stored
    small = GOOD | {"photo": (BytesIO(png_bytes(400, 300)), "kecil.png")}
    assert (
        client.post("/api/lapor", data=small, content_type="multipart/form-data").status_code == 201
    )
    assert len(calls) == 1
