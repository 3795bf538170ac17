"""Rule definitions are validated per kind with errors that name the field; templates cannot
run code; the seed file is valid and loads once; import/export round-trips."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from pantau.settings import DATA_DIR
from store.models import AlertRule
from store.rules.catalog import export_rules, import_rules, read_file, save_rule, seed_rules
from store.rules.schema import RuleInvalid, parse_rule, parse_rules, render

GOOD = {
    "name": "banjir-a",
    "kind": "flood_coverage",
    "levels": [
        {"name": "waspada", "severity": "warning", "at": 25},
        {"name": "siaga", "severity": "critical", "at": 50},
    ],
    "title": "Genangan {value} di {name}",
}


def _problems(**change) -> str:  # noqa: ANN003
    data = {**GOOD, **change}
    with pytest.raises(RuleInvalid) as err:
        parse_rule(data)
    return str(err.value)


def test_a_good_rule_passes():
    rule = parse_rule(GOOD)
    assert rule.min_duration_s == 0 and rule.dedup == "{kind}:{subject}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kind": "earthquake"}, "kind: 'earthquake' is not a rule kind"),
        ({"name": "Banjir Kota!"}, "name: String should match pattern"),
        ({"scope": {"type": "planet", "value": "x"}}, "scope.type: Input should be"),
        ({"scope": {"type": "sensor", "value": "WL-1"}}, "scope.type: sensor does not fit"),
        ({"scope": {"type": "camera"}}, "scope.value: a camera scope needs a value"),
        ({"scope": {"type": "roi", "value": "CCTV-1"}}, "CAMERA_CODE/roi name"),
        ({"levels": []}, "levels: List should have at least 1 item"),
        ({"levels": [{"name": "gangguan", "severity": "warning", "at": 25}]},
         "levels.0.name: 'gangguan' is not on the flood_coverage scale"),
        ({"levels": [{"name": "waspada", "severity": "warning", "at": 150}]},
         "levels.0.at: water coverage is a percentage"),
        ({"levels": [{"name": "waspada", "severity": "warning", "at": 50},
                     {"name": "siaga", "severity": "critical", "at": 40}]},
         "levels.at: thresholds must rise"),
        ({"levels": [{"name": "waspada", "severity": "critical", "at": 20},
                     {"name": "siaga", "severity": "warning", "at": 40}]},
         "levels.severity: a higher level cannot have a lower severity"),
        ({"levels": [{"name": "waspada", "severity": "loud", "at": 20}]},
         "levels.0.severity: Input should be"),
        ({"levels": [{"name": "waspada", "severity": "warning", "at": "warning_level"}]},
         "levels.0.at: 'warning_level' only fits sensor_level rules"),
        ({"min_duration_s": -5}, "min_duration_s: Input should be greater than or equal to 0"),
        ({"cooldown_s": 10**9}, "cooldown_s: Input should be less than or equal to 604800"),
        ({"hysteresis": {"ratio": 1.5}}, "hysteresis.ratio: Input should be less than or equal"),
        ({"title": "{__class__.__mro__}"}, "title: unknown placeholder {__class__.__mro__}"),
        ({"title": "{value:>{width}}"}, "title: unknown placeholder"),
        ({"detail": "Air {value"}, "detail: unbalanced { or }"),
        ({"dedup": "semua"}, "dedup: must contain {subject}"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"params": {"min_confidence": 2}}, "params.min_confidence: Input should be less than"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_naming_the_field(change, expected):
    assert expected in _problems(**change)


def test_kind_specific_checks():
    crowd = {**GOOD, "kind": "crowd_density", "title": "x {ratio}",
             "levels": [{"name": "padat", "severity": "warning", "at": 0.5}]}  # fmt: skip
    with pytest.raises(RuleInvalid, match="levels.0.at: a multiple of the usual count"):
        parse_rule(crowd)
    roi = {**crowd, "scope": {"type": "roi", "value": "CCTV-1/trotoar"},
           "levels": [{"name": "padat", "severity": "warning", "at": 2.5}]}  # fmt: skip
    with pytest.raises(RuleInvalid, match="params.mode: a ROI crowd rule"):
        parse_rule(roi)
    surge = {**GOOD, "kind": "complaint_surge", "title": "{value} {category}",
             "levels": [{"name": "meningkat", "severity": "warning", "at": 2.5}]}  # fmt: skip
    with pytest.raises(RuleInvalid, match="levels.0.at: a whole number of reports"):
        parse_rule(surge)
    with pytest.raises(RuleInvalid, match="kind: missing"):
        parse_rule({k: v for k, v in GOOD.items() if k != "kind"})


def test_templates_only_substitute_prepared_text():
    assert render("{LEVEL} {value} {nope}", {"LEVEL": "SIAGA", "value": "59%"}) == (
        "SIAGA 59% {nope}"
    )


def test_a_list_with_one_bad_rule_is_refused_whole():
    with pytest.raises(RuleInvalid) as err:
        parse_rules([GOOD, {**GOOD, "name": "banjir-b", "cooldown_s": -1}, GOOD])
    text = str(err.value)
    assert "[1] rule 'banjir-b': cooldown_s" in text and "used more than once: banjir-a" in text


def test_the_seed_file_is_valid_and_loads_once(db, tmp_path):
    rules = read_file(DATA_DIR / "alert_rules.json")
    kinds = {str(r.kind) for r in rules}
    assert {"flood_coverage", "crowd_density", "camera_offline", "sensor_level",
            "complaint_surge", "incident_cluster"} <= kinds  # fmt: skip
    with db.session() as s:
        assert seed_rules(s) == len(rules)
    with db.session() as s:
        assert seed_rules(s) == 0  # not twice
        exported = export_rules(s)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(exported))
    with db.session() as s:
        result = import_rules(s, read_file(path))
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, len(rules))
        assert s.scalar(select(func.count()).select_from(AlertRule)) == len(rules)


def test_bad_files_and_edits_lose_nothing(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [')
    with pytest.raises(RuleInvalid, match="file: not JSON"):
        read_file(bad)
    with db.session() as s:
        row = save_rule(s, GOOD, "admin")
        rule_id = row.id
    with pytest.raises(RuleInvalid, match="levels.0.at"), db.session() as s:
        save_rule(s, {**GOOD, "levels": [{"name": "waspada", "severity": "warning", "at": -1}]},
                  "admin", rule_id)  # fmt: skip
    with db.session() as s:
        assert s.get(AlertRule, rule_id).definition["levels"][0]["at"] == 25
        other = save_rule(s, {**GOOD, "name": "banjir-b"}, "admin")
        with pytest.raises(RuleInvalid, match="name: 'banjir-a' is already used"):
            save_rule(s, {**GOOD, "name": "banjir-a"}, "admin", other.id)
