"""Fed incidents (file import) reach the security page, its map and the situation room's
headline, on SQLite and PostgreSQL; demo rows are counted too and marked demo on the map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.callbacks import security
from dashboard.queries import headline
from ingestion.incident_import import import_incidents
from store.models import Incident

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "incidents_example.csv"


def test_fed_incidents_on_the_security_page_and_map(db):
    with db.session() as s:
        import_incidents(s, EXAMPLE, actor="cli:uji")
        s.add(Incident(kind="crime", source="police", title="Laporan pencurian / begal",
                       lat=-2.98, lon=104.75, occurred_at=datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
                       is_demo=True))  # fmt: skip
    # 23-25 November (WIB): the example file's four incidents and the demo one
    fig, tiles, payload, _note, gran, _top, geo, _tp = security.update_security(
        "2026-11-23", "2026-11-25", "day", None, None, None, db=db
    )
    assert gran == "day"
    bars = {tr["name"]: list(tr["y"]) for tr in fig["data"] if tr["type"] == "bar"}
    # per WIB day: theft 23rd; accident, fire and the demo theft 24th; street vendors 25th
    assert bars == {
        "Kriminalitas": [1, 1, 0],
        "Kebakaran": [0, 1, 0],
        "Kecelakaan": [0, 1, 0],
        "PKL": [0, 0, 1],
    }
    assert [row[-3] for row in payload["table"]] == [1, 3, 1]
    labels = {f["properties"]["label"] for f in geo["features"]}
    assert len(geo["features"]) == 5
    fire = next(f for f in geo["features"] if f["properties"]["kind"] == "fire")
    assert fire["geometry"]["coordinates"] == [104.73, -2.965]
    assert fire["properties"]["label"].startswith("Kebakaran rumah, 2 unit mobil damkar")
    assert "sumber: damkar" in fire["properties"]["label"]
    assert fire["properties"]["demo"] is False and "DEMO" not in fire["properties"]["label"]
    demo = [f for f in geo["features"] if f["properties"]["demo"]]
    assert len(demo) == 1 and demo[0]["properties"]["label"].endswith("DATA DEMO")
    assert sum("DATA DEMO" in label for label in labels) == 1


def test_fed_incident_in_the_situation_room_headline(db, tmp_path):
    now = datetime.now(UTC)
    path = tmp_path / "baru.csv"
    path.write_text(
        "source,external_id,kind,occurred_at,lat,lon,description,status\n"
        f"satpolpp,SPP-NOW-1,balap liar,{(now - timedelta(hours=2)).isoformat()},-2.98,104.75,"
        "Balap liar di Jl. Merdeka,open\n"
        f"satpolpp,SPP-OLD-1,crowd,{(now - timedelta(hours=30)).isoformat()},-2.98,104.75,"
        "Kerumunan,closed\n"
    )
    with db.session() as s:
        import_incidents(s, path, actor="cli:uji")
    with db.session() as s:
        assert headline(s, now).incidents_24h == 1  # the one of the last 24 hours


def test_feed_writes_are_named_on_the_audit_page():
    from dashboard.callbacks.audit import _label, action_options

    values = {o["value"] for o in action_options()}
    assert {"incident_write", "api_key_create", "api_key_revoke"} <= values
    assert _label("incident_write") == "Kejadian dari instansi (berkas/API)"
    assert _label("api_key_revoke") == "Cabut kunci API"
