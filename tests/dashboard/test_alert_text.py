"""Alert titles and stored codes in the reader's language (issue 15: in English, alert titles
and units stayed Indonesian; in Indonesian, "Fungsi: traffic" and ROI names like
``trotoar_jauh``). Expected texts are written from the alert engine's meaning of each value
(store.rules: flood value = percent of the road ROI under water, crowd value = people, sensor
value = a reading in the sensor's unit)."""

from __future__ import annotations

import pytest
from flask import Flask

from dashboard.alert_text import alert_title
from dashboard.labels import area_label, tags_text, unit_label


@pytest.fixture
def in_lang():
    app = Flask(__name__)

    def use(lang: str):
        return app.test_request_context(f"/?lang={lang}")

    return use


@pytest.mark.parametrize(
    ("lang", "args", "expected"),
    [
        ("en", ("flood_coverage", "critical", 62.0, "Jembatan Ampera"), "Water covers 62% of the road at Jembatan Ampera"),
        ("id", ("flood_coverage", "critical", 62.0, "Jembatan Ampera"), "Genangan 62% di Jembatan Ampera"),
        ("en", ("crowd_density", "warning", 46.0, "Simpang Lima"), "Crowd above usual at Simpang Lima: 46 people"),
        ("id", ("crowd_density", "warning", 46.0, "Simpang Lima"), "Kerumunan di atas biasa di Simpang Lima: 46 orang"),
        ("en", ("camera_offline", "warning", None, "Air Mancur"), "Camera Air Mancur is offline"),
        ("id", ("camera_offline", "warning", None, "Air Mancur"), "Kamera Air Mancur offline"),
        ("en", ("sensor_level", "critical", 412.5, "Pos Musi"), "Pos Musi: 412.5 cm"),
        ("en", ("racing", "warning", 102.0, "Jalan Sudirman"), "Illegal racing at 102 km/h at Jalan Sudirman"),
        ("id", ("racing", "warning", 102.0, "Jalan Sudirman"), "Balap liar 102 km/jam di Jalan Sudirman"),
    ],
)  # fmt: skip
def test_alert_titles(in_lang, lang, args, expected):
    rule, severity, value, subject = args
    with in_lang(lang):
        got = alert_title(rule, severity, value, subject, "stored", unit="cm")
    assert got == expected


def test_unknown_rule_keeps_the_stored_title(in_lang):
    with in_lang("en"):
        assert alert_title("new_rule", "warning", 1.0, "X", "Judul tersimpan") == "Judul tersimpan"
        assert alert_title("flood_coverage", "warning", 0.4, None, "Tersimpan") == "Tersimpan"


def test_codes_as_words(in_lang):
    with in_lang("id"):
        assert tags_text(["traffic", "flood"]) == "lalu lintas, genangan/banjir"
        assert area_label("trotoar_jauh") == "Trotoar jauh"
        assert area_label("zona_pasar") == "Zona pasar"  # a name an admin typed
        assert unit_label("km/jam") == "km/jam"
    with in_lang("en"):
        assert tags_text(["traffic", "crowd"]) == "traffic, crowds"
        assert area_label("trotoar_dekat") == "Near pavement"
        assert unit_label("km/jam") == "km/h"
        assert unit_label("Rp miliar") == "IDR billion"
        assert unit_label("%") == "%"
