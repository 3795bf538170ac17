"""The ``racing`` rule kind (balap liar) on recorded sequences: bursts whose tracked speeds
(``extra.speeds_kmh``) pass the rule's km/h with enough objects, at night in the city's time
zone (WIB), open one alert; by day, or with one fast object, nothing opens; the cooldown keeps
the next race quiet. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ingestion.alerts import RACING, AlertEngine
from store.rules.schema import RuleInvalid, parse_rule
from tests.rules.rule_helpers import MIN, T0, alerts, camera, install, sample

RACING_RULE = {
    "name": "balap-liar-uji",
    "kind": "racing",
    "params": {"night_start_hour": 22, "night_end_hour": 4, "min_tracks": 2},
    "levels": [{"name": "balap_liar", "severity": "warning", "at": 70}],
    "min_duration_s": 0,
    "hysteresis": {"ratio": 1.0, "clear_s": 120},
    "cooldown_s": 1800,
    "title": "Balap liar {value} di {name}",
    "detail": "{count} kendaraan >= {threshold} pada jam malam {night}.",
}

NIGHT = T0 + 12 * 60 * MIN  # T0 is 10:00 WIB; this is 22:00 WIB


def _run(db, engine, cam_id, code, series):  # noqa: ANN001
    """``series``: (datetime, speeds in km/h or None for a sample without a speed)."""
    for ts, speeds in series:
        extra = {} if speeds is None else {"speeds_kmh": speeds, "max_speed_kmh": max(speeds)}
        with db.session() as s:
            engine.evaluate(s, [sample(cam_id, code, ts, extra=extra)])


def test_night_race_is_one_alert_with_cooldown(db, settings):
    install(db, RACING_RULE)
    cam_id = camera(db, "RC-1", "Jalan Jenderal Sudirman")
    engine = AlertEngine(settings, rules_ttl_s=0)
    # by day (10:00-10:02 WIB) two bikes at 95 and 90 km/h: not at night, nothing opens
    _run(db, engine, cam_id, "RC-1", [(T0 + m * MIN, [95.0, 90.0]) for m in range(3)])
    assert alerts(db, RACING) == []
    # 22:05 one fast object (min_tracks 2), 22:06 no burst speed at all: nothing
    _run(db, engine, cam_id, "RC-1", [(NIGHT + 5 * MIN, [95.0, 30.0]), (NIGHT + 6 * MIN, None)])
    assert alerts(db, RACING) == []
    # 22:07 three objects, two at or above 70 km/h: opens
    _run(db, engine, cam_id, "RC-1", [(NIGHT + 7 * MIN, [102.4, 71.0, 40.0])])
    [a] = alerts(db, RACING)
    assert (a.level, a.severity, a.value) == ("balap_liar", "warning", 102.0)
    assert a.title == "Balap liar 102 km/jam di Jalan Jenderal Sudirman"
    assert a.detail == "2 kendaraan >= 70 km/jam pada jam malam 22.00-04.00."
    assert a.dedup_key == "racing:camera:RC-1" and a.ended_at is None
    # quiet for 2 minutes (clear_s 120): closes at 22:08
    _run(db, engine, cam_id, "RC-1", [(NIGHT + m * MIN, [20.0]) for m in (8, 9, 10)])
    [a] = alerts(db, RACING)
    assert a.ended_at == NIGHT + 8 * MIN
    # another race at 22:20 is inside the 30-minute cooldown; one at 23:00 opens again
    _run(db, engine, cam_id, "RC-1", [(NIGHT + 20 * MIN, [90.0, 85.0])])
    assert len(alerts(db, RACING)) == 1
    _run(db, engine, cam_id, "RC-1", [(NIGHT + m * MIN, [25.0]) for m in (30, 31, 32)])
    _run(db, engine, cam_id, "RC-1", [(NIGHT + 60 * MIN, [90.0, 85.0])])
    first, second = alerts(db, RACING)
    assert second.started_at == NIGHT + 60 * MIN and second.value == 90.0


def test_night_window_wraps_past_midnight(db, settings):
    install(db, RACING_RULE)
    cam_id = camera(db, "RC-2", "Jembatan Ampera")
    engine = AlertEngine(settings, rules_ttl_s=0)
    # 04:30 WIB is after the window (22-04): nothing; 03:30 WIB is inside: opens
    after = T0 - 5 * 60 * MIN - 30 * MIN  # 04:30 WIB
    _run(db, engine, cam_id, "RC-2", [(after, [120.0, 110.0])])
    assert alerts(db, RACING) == []
    _run(db, engine, cam_id, "RC-2", [(after - 60 * MIN, [120.0, 110.0])])
    assert [a.value for a in alerts(db, RACING)] == [120.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"levels": [{"name": "balap_liar", "severity": "warning", "at": 5}]}, "levels.0.at"),
        ({"levels": [{"name": "padat", "severity": "warning", "at": 80}]}, "balap_liar"),
        ({"params": {"night_start_hour": 3, "night_end_hour": 3}}, "params.night_end_hour"),
        ({"params": {"min_tracks": 0}}, "min_tracks"),
        ({"params": {"speed": 70}}, "speed"),
        ({"scope": {"type": "roi", "value": "RC-1/jalan"}}, "scope.type"),
        ({"title": "Balap {roi}"}, "unknown placeholder {roi}"),
    ],
)
def test_bad_racing_rules_are_refused(change, message):
    with pytest.raises(RuleInvalid) as exc:
        parse_rule({**RACING_RULE, **change})
    assert message in str(exc.value)
