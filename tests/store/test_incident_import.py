"""``pantau import incidents FILE`` and store.incidents on SQLite and PostgreSQL: all rows or
none, errors naming row + column + value + why, idempotent re-imports, changed rows update."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ingestion import incident_import
from ingestion.incident_import import IncidentFileError, import_incidents
from store.models import AuditLog, Incident

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "incidents_example.csv"
HEADER = [
    "source", "external_id", "kind", "occurred_at", "lat", "lon", "description", "status",
    "address", "kecamatan", "ended_at",
]  # fmt: skip
GOOD = {
    "source": "damkar",
    "external_id": "DMK-1",
    "kind": "fire",
    "occurred_at": "2026-11-20T10:00:00+07:00",
    "lat": "-2.97",
    "lon": "104.74",
    "description": "Kebakaran gudang",
    "status": "open",
}


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Incident))


def audit_rows(db) -> list[AuditLog]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditLog).where(AuditLog.action == "incident_write").order_by(AuditLog.id)
            )
        )


def run_import(db, path: Path, **kw):
    with db.session() as s:
        return import_incidents(s, path, actor="cli:uji", **kw)


def test_example_file_imports_then_reimport_changes_nothing(db):
    first = run_import(db, EXAMPLE)
    assert (first.result.inserted, first.result.updated, first.result.unchanged) == (4, 0, 0)
    with db.session() as s:
        fire = s.scalar(select(Incident).where(Incident.external_id == "DMK-2026-0877"))
        assert fire.source == "damkar" and fire.kind == "fire" and fire.status == "closed"
        # 13:02 WIB is 06:02 UTC; the record closed when the fire ended (14:20 WIB)
        assert fire.occurred_at == datetime(2026, 11, 24, 6, 2, tzinfo=UTC)
        assert fire.ended_at == datetime(2026, 11, 24, 7, 20, tzinfo=UTC)
        assert fire.closed_at == fire.ended_at
        assert fire.address == "Lorong Sukarela, 26 Ilir" and fire.kecamatan == "Bukit Kecil"
        assert fire.is_demo is False and fire.title.startswith("Kebakaran rumah")
        theft = s.scalar(select(Incident).where(Incident.external_id == "LP/B/1021/XI/2026"))
        assert theft.status == "handling" and theft.closed_at is None and theft.ended_at is None
    assert len(audit_rows(db)) == 3  # one per source: polresta, damkar, satpolpp
    before = [(i.id, i.updated_at) for i in _all(db)]
    again = run_import(db, EXAMPLE)
    assert (again.result.inserted, again.result.updated, again.result.unchanged) == (0, 0, 4)
    assert [(i.id, i.updated_at) for i in _all(db)] == before  # not a single write
    assert len(audit_rows(db)) == 3  # nothing written, nothing audited
    assert count(db) == 4


def _all(db) -> list[Incident]:
    with db.session() as s:
        return list(s.scalars(select(Incident).order_by(Incident.id)))


def test_changed_row_updates_only_that_incident(db, tmp_path):
    run_import(db, EXAMPLE)
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    rows[0]["status"] = "selesai"  # Indonesian alias of closed
    rows[0]["ended_at"] = "2026-11-24T02:00:00+07:00"
    path = write_csv(tmp_path / "changed.csv", rows)
    res = run_import(db, path).result
    assert (res.inserted, res.updated, res.unchanged) == (0, 1, 3)
    (changed,) = [o for o in res.outcomes if o.result == "updated"]
    assert changed.external_id == "LP/B/1021/XI/2026"
    assert set(changed.changed) == {"status", "ended_at", "closed_at"}
    with db.session() as s:
        theft = s.scalar(select(Incident).where(Incident.external_id == "LP/B/1021/XI/2026"))
        assert theft.status == "closed"
        assert theft.closed_at == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    last = audit_rows(db)[-1]
    assert last.username == "cli:uji" and last.target == "incidents:polresta"
    assert last.detail["updated"] == 1 and last.detail["updated_ids"][0][0] == "LP/B/1021/XI/2026"
    assert count(db) == 4


BAD_ROWS = [  # (changes to GOOD, column, value shown, why)
    ({"occurred_at": "2026-11-20T10:00:00"}, "occurred_at", "'2026-11-20T10:00:00'", "no time zone"),
    ({"occurred_at": "20/11/2026 10:00"}, "occurred_at", "'20/11/2026 10:00'", "not an ISO 8601"),
    ({"kind": "gempa"}, "kind", "'gempa'", "unknown kind; use one of: crime, fire"),
    ({"status": "pending"}, "status", "'pending'", "unknown status; use one of: open, handling"),
    ({"lat": "97.5"}, "lat", "'97.5'", "less than or equal to 90"),
    ({"lon": "abc"}, "lon", "'abc'", "valid number"),
    ({"lat": "nan"}, "lat", "'nan'", "finite number"),
    ({"ended_at": "2026-11-20T09:00:00+07:00"}, "ended_at", "'2026-11-20T09:00:00+07:00'",
     "before occurred_at"),
    ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at", "'2099-01-01T00:00:00Z'", "future"),
    ({"source": "Polresta Kota!"}, "source", "'Polresta Kota!'", "lowercase letters"),
    ({"external_id": "LP 12"}, "external_id", "'LP 12'", "1-128 characters"),
    ({"description": ""}, "description", "(empty)", "required column is missing or empty"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "column", "shown", "why"), BAD_ROWS)
def test_one_bad_row_rejects_the_file_naming_row_column_value_why(
    sqlite_db, tmp_path, change, column, shown, why
):
    good2 = GOOD | {"external_id": "DMK-2"}
    path = write_csv(tmp_path / "bad.csv", [GOOD, good2, GOOD | {"external_id": "DMK-3"} | change])
    with pytest.raises(IncidentFileError) as info:
        run_import(sqlite_db, path)
    (error,) = info.value.errors
    assert error.startswith(f"row 4, column '{column}', value {shown}: "), error
    assert why in error, error
    assert "nothing was imported" in str(info.value)
    assert count(sqlite_db) == 0  # the two good rows were not written either


def test_bad_rows_on_postgresql_too_and_every_problem_listed(db, tmp_path):
    run_import(db, EXAMPLE)
    rows = [
        GOOD,
        GOOD | {"external_id": "DMK-9", "kind": "gempa", "lat": "-200"},
        GOOD,  # the same key twice in one file
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(IncidentFileError) as info:
        run_import(db, path)
    errors = info.value.errors
    assert "row 3, column 'kind', value 'gempa': unknown kind" in errors[0]
    assert errors[1].startswith("row 3, column 'lat', value '-200': ")
    assert errors[2] == (
        "row 4, column 'external_id', value 'DMK-1': source damkar has it already on row 2"
    )
    assert count(db) == 4  # only the example file's rows


def test_city_area_is_checked_when_configured(sqlite_db, tmp_path):
    bounds = (104.60, -3.10, 104.90, -2.85)  # Palembang
    outside = GOOD | {"lat": "-6.2", "lon": "106.8"}  # Jakarta
    path = write_csv(tmp_path / "jakarta.csv", [outside])
    with pytest.raises(IncidentFileError) as info:
        run_import(sqlite_db, path, bounds=bounds)
    assert info.value.errors == [
        "row 2, column 'lat', value '-6.2': outside the city area (-3.1..-2.85)",
        "row 2, column 'lon', value '106.8': outside the city area (104.6..104.9)",
    ]
    assert run_import(sqlite_db, path).result.inserted == 1  # no area configured: accepted


def test_header_problems_and_unknown_columns(sqlite_db, tmp_path):
    path = write_csv(tmp_path / "nohdr.csv", [{"source": "damkar"}], header=["source", "kind"])
    with pytest.raises(IncidentFileError, match="lacks column.*external_id, occurred_at"):
        run_import(sqlite_db, path)
    extra = write_csv(tmp_path / "extra.csv", [GOOD | {"korban": "2"}], header=[*HEADER, "korban"])
    with pytest.raises(IncidentFileError) as info:
        run_import(sqlite_db, extra)
    assert info.value.errors[0].startswith("row 2, column 'korban', value '2': unknown column")
    txt = tmp_path / "kejadian.txt"
    txt.write_text(EXAMPLE.read_text())
    with pytest.raises(IncidentFileError, match="unsupported file type '.txt'"):
        run_import(sqlite_db, txt)
    assert count(sqlite_db) == 0


def test_file_bounds(sqlite_db, tmp_path, monkeypatch):
    monkeypatch.setattr(incident_import, "MAX_ROWS", 3)
    rows = [GOOD | {"external_id": f"DMK-{i}"} for i in range(4)]
    with pytest.raises(IncidentFileError, match="more than 3 rows"):
        run_import(sqlite_db, write_csv(tmp_path / "many.csv", rows))
    monkeypatch.setattr(incident_import, "MAX_FILE_BYTES", 100)
    with pytest.raises(IncidentFileError, match="at most 100"):
        run_import(sqlite_db, EXAMPLE)
    assert count(sqlite_db) == 0


def test_xlsx_with_excel_date_cells(db, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER[:8])
    ws.append(
        ["bpbd", 771, "banjir", "2026-11-21T16:00:00+07:00", -2.99, 104.76, "Genangan", "baru"]
    )
    path = tmp_path / "bpbd.xlsx"
    wb.save(path)
    res = run_import(db, path).result
    assert res.inserted == 1
    with db.session() as s:
        row = s.scalar(select(Incident).where(Incident.source == "bpbd"))
        assert (row.external_id, row.kind, row.status) == ("771", "flood", "open")
    # a date cell typed in Excel carries no time zone: refused, with its value
    ws.append(["bpbd", 772, "flood", datetime(2026, 11, 21, 17, 0), -2.99, 104.76, "x", "open"])
    wb.save(path)
    with pytest.raises(IncidentFileError) as info:
        run_import(db, path)
    assert info.value.errors == [
        "row 3, column 'occurred_at', value '2026-11-21 17:00:00': occurred_at has no time zone;"
        " add one, e.g. 2026-11-23T14:00:00+07:00 (WIB) or ...Z"
    ]
    assert count(db) == 1


def test_cli_import_prints_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("PANTAU_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "200")
    from pantau import settings as settings_module

    settings_module.get_settings.cache_clear()
    from pantau.cli import app

    runner = CliRunner()
    try:
        dry = runner.invoke(app, ["import", "incidents", str(EXAMPLE), "--dry-run"])
        assert dry.exit_code == 0 and "4 incident rows are valid" in dry.output, dry.output
        first = runner.invoke(app, ["import", "incidents", str(EXAMPLE)])
        assert first.exit_code == 0, first.output
        assert "4 inserted, 0 updated, 0 unchanged" in first.output
        again = runner.invoke(app, ["import", "incidents", str(EXAMPLE)])
        assert "0 inserted, 0 updated, 4 unchanged" in again.output
        bad = write_csv(tmp_path / "bad.csv", [GOOD | {"kind": "gempa"}])
        failed = runner.invoke(app, ["import", "incidents", str(bad)])
        assert failed.exit_code == 1
        assert "row 2, column 'kind', value 'gempa'" in failed.output
    finally:
        settings_module.get_settings.cache_clear()


def test_kecamatan_from_boundaries_with_the_agency_string_kept(db, tmp_path):
    from store.areas import parse_areas, store_areas

    square = [[104.70, -3.00], [104.80, -3.00], [104.80, -2.90], [104.70, -2.90], [104.70, -3.00]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Kecamatan Uji", "level": "kecamatan"},
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    with db.session() as s:
        store_areas(s, parse_areas(doc))
    inside = GOOD | {"kecamatan": "Ilir Tulisan Agen"}  # -2.97, 104.74: inside the square
    outside = GOOD | {"external_id": "DMK-2", "lat": "-3.05", "kecamatan": "Seberang Ulu"}
    path = write_csv(tmp_path / "kec.csv", [inside, outside])
    assert run_import(db, path).result.inserted == 2
    with db.session() as s:
        got = {
            i.external_id: (i.kecamatan, i.kecamatan_input, i.area_source)
            for i in s.scalars(select(Incident))
        }
    assert got == {
        "DMK-1": ("Kecamatan Uji", "Ilir Tulisan Agen", "polygon"),
        "DMK-2": ("Seberang Ulu", "Seberang Ulu", "input"),
    }
    assert run_import(db, path).result.unchanged == 2  # re-import: nothing moves
    moved = write_csv(tmp_path / "moved.csv", [inside, outside | {"lat": "-2.95"}])
    res = run_import(db, moved).result
    assert (res.updated, res.unchanged) == (1, 1)
    with db.session() as s:
        row = s.scalar(select(Incident).where(Incident.external_id == "DMK-2"))
        assert (row.kecamatan, row.kecamatan_input, row.area_source) == (
            "Kecamatan Uji",
            "Seberang Ulu",
            "polygon",
        )


def test_write_listeners_see_new_and_changed_incidents_in_the_transaction(db, tmp_path):
    """The hook alert rules use (store.incidents.on_written): inserted and updated incidents,
    in the writing transaction; an unchanged re-import calls nobody."""
    from store import incidents as store_incidents

    seen: list[list[str]] = []

    def listener(session, rows):
        seen.append(sorted(r.external_id for r in rows))
        # same transaction: the rows are visible to a query in the writer's session
        assert session.scalar(select(func.count()).select_from(Incident)) >= len(rows)

    store_incidents.on_written(listener)
    try:
        run_import(db, EXAMPLE)
        run_import(db, EXAMPLE)  # unchanged: no call with rows
        rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
        rows[2]["status"] = "handling"
        rows[2]["ended_at"] = ""
        run_import(db, write_csv(tmp_path / "x.csv", rows))
    finally:
        store_incidents._listeners.remove(listener)
    assert seen[0] == sorted(
        ["DMK-2026-0877", "LP/B/1021/XI/2026", "LP/B/1022/XI/2026", "SPP/2026/1130"]
    )
    assert seen[1:] == [["DMK-2026-0877"]]
