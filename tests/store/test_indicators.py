"""OPD indicator values (issue 11): validation, plausibility, periods, all-or-nothing imports,
upserts with a correction history, and concurrent writers — on SQLite and PostgreSQL.

Expected values come from the issue and data/README.md: periods ``YYYY-MM`` / ``YYYY-Qn`` /
``YYYY`` by frequency, a percentage over 1,000 and a negative count refused, the same value
again unchanged, a correction kept with old value, new value, who, when and source.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from store.db import Database
from store.indicator_files import read_rows
from store.indicators import (
    Actor,
    IndicatorImportError,
    parse_period,
    plan,
    write_rows,
)
from store.models import (
    Opd,
    OpdIndicator,
    OpdIndicatorValue,
    OpdIndicatorValueChange,
)
from store.seed import seed_opd

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "indikator-opd.csv"
CLI_ACTOR = Actor("uji.cli", "cli", "import", "nilai.csv")


@pytest.fixture
def idb(db: Database) -> Database:
    with db.session() as s:
        seed_opd(s)
        bppd = s.scalar(select(Opd).where(Opd.code == "BPPD"))
        s.add_all(  # frequencies the reference list does not use yet
            [
                OpdIndicator(
                    opd_id=bppd.id, code="pad_triwulan", name="PAD per triwulan", unit="% target",
                    target=100, frequency="quarterly",
                ),
                OpdIndicator(
                    opd_id=bppd.id, code="pad_tahunan", name="PAD tahunan", unit="Rp miliar",
                    target=900, frequency="yearly", plausible_min=10, plausible_max=5000,
                ),
            ]
        )  # fmt: skip
    return db


def csv_rows(text: str) -> list[tuple[int, dict]]:
    return read_rows(text.encode(), "nilai.csv")


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        values = s.scalar(select(func.count()).select_from(OpdIndicatorValue))
        changes = s.scalar(select(func.count()).select_from(OpdIndicatorValueChange))
    return values, changes


def stored(db: Database, opd: str, code: str, start: date) -> OpdIndicatorValue | None:
    with db.session() as s:
        return s.scalar(
            select(OpdIndicatorValue)
            .join(OpdIndicator, OpdIndicator.id == OpdIndicatorValue.indicator_id)
            .join(Opd, Opd.id == OpdIndicator.opd_id)
            .where(Opd.code == opd, OpdIndicator.code == code)
            .where(OpdIndicatorValue.period_start == start)
        )


# --------------------------------------------------------------------------------------------
def test_parse_period_follows_the_frequency():
    assert parse_period("2026-10", "monthly") == date(2026, 10, 1)
    assert parse_period("2026-3", "monthly") == date(2026, 3, 1)
    assert parse_period("2026-Q3", "quarterly") == date(2026, 7, 1)
    assert parse_period("2026-q1", "quarterly") == date(2026, 1, 1)
    assert parse_period("2026", "yearly") == date(2026, 1, 1)
    for raw, freq in [
        ("2026-Q3", "monthly"),
        ("2026", "monthly"),
        ("2026-10", "quarterly"),
        ("2026-Q5", "quarterly"),
        ("2026-10", "yearly"),
        ("2026-13", "monthly"),
        ("Okt 2026", "monthly"),
        ("1890-01", "monthly"),
    ]:
        with pytest.raises(ValueError):
            parse_period(raw, freq)


def test_a_bad_file_names_every_bad_row_and_writes_nothing(idb):
    text = (
        "opd,indicator,period,value\n"
        "DISHUB,apill_berfungsi,2026-10,97.5\n"  # good
        "DISHUB,apill_berfungsi,2026-Q3,97.5\n"  # quarterly period for a monthly indicator
        "DISHUB,tidak_ada,2026-10,1\n"  # unknown indicator
        "DISHUB,pad_realisasi,2026-10,101\n"  # BPPD's indicator under DISHUB
        "DISHUB,apill_berfungsi,2026-09,1200.5\n"  # a percentage over 1,000
        "SATPOLPP,penertiban_pkl,2026-10,-3\n"  # a negative count
        "DISHUB,kecepatan_rata,2026-10,dua puluh\n"  # not a number
        "XYZ,apill_berfungsi,2026-10,1\n"  # unknown OPD
        "BPPD,pad_triwulan,2026-10,100\n"  # monthly period for a quarterly indicator
        "BPPD,pad_tahunan,2026,6000\n"  # over the indicator's own plausible_max 5000
        "DISHUB,apill_berfungsi,2026-10,98\n"  # same indicator and period as row 2
    )
    with idb.session() as s:
        result = plan(s, csv_rows(text))
    got = {(e.row, e.column, e.value) for e in result.errors}
    assert got == {
        (3, "period", "2026-Q3"),
        (4, "indicator", "tidak_ada"),
        (5, "indicator", "pad_realisasi"),
        (6, "value", "1200.5"),
        (7, "value", "-3"),
        (8, "value", "dua puluh"),
        (9, "opd", "XYZ"),
        (10, "period", "2026-10"),
        (11, "value", "6000"),
        (12, "period", "2026-10"),
    }
    reasons = {e.row: e.reason for e in result.errors}
    assert "monthly" in reasons[3] and "YYYY-MM" in reasons[3]
    assert "BPPD" in reasons[5]
    assert "1000" in reasons[6]
    assert "negative" in reasons[7]
    assert "number" in reasons[8]
    assert "quarterly" in reasons[10] and "YYYY-Qn" in reasons[10]
    assert "5000" in reasons[11]
    assert "row 2" in reasons[12]
    with pytest.raises(IndicatorImportError) as exc, idb.session() as s:
        write_rows(s, csv_rows(text), CLI_ACTOR)
    assert "row 6, column 'value', value '1200.5'" in str(exc.value)
    assert counts(idb) == (0, 0)  # the good row 2 was not written either


def test_import_then_reimport_unchanged_then_correction_with_history(idb):
    text = (
        "opd,indicator,period,value,note\n"
        "DISHUB,apill_berfungsi,2026-10,97.5,\n"
        "BPPD,pad_triwulan,2026-Q3,88.25,triwulan III\n"
        "BPPD,pad_tahunan,2025,812,\n"
    )
    with idb.session() as s:
        first = write_rows(s, csv_rows(text), CLI_ACTOR)
    assert first.counts == {"inserted": 3, "updated": 0, "unchanged": 0}
    assert counts(idb) == (3, 3)
    v = stored(idb, "BPPD", "pad_triwulan", date(2026, 7, 1))
    assert v.value == 88.25 and v.note == "triwulan III" and v.source == "import"
    assert v.updated_by == "uji.cli" and v.source_ref == "nilai.csv"
    assert stored(idb, "BPPD", "pad_tahunan", date(2025, 1, 1)).value == 812

    with idb.session() as s:
        again = write_rows(s, csv_rows(text), Actor("orang.lain", "cli", "import", "lagi.csv"))
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": 3}
    assert counts(idb) == (3, 3)  # no history row for an unchanged value
    assert stored(idb, "DISHUB", "apill_berfungsi", date(2026, 10, 1)).updated_by == "uji.cli"

    before = datetime.now(UTC)
    corrected = text.replace("97.5,", "96.0,salah ketik")
    who = Actor("dishub.budi", "user", "upload", "koreksi-okt.csv")
    with idb.session() as s:
        third = write_rows(s, csv_rows(corrected), who)
    assert third.counts == {"inserted": 0, "updated": 1, "unchanged": 2}
    assert counts(idb) == (3, 4)
    v = stored(idb, "DISHUB", "apill_berfungsi", date(2026, 10, 1))
    assert v.value == 96.0 and v.note == "salah ketik" and v.updated_by == "dishub.budi"
    assert v.source == "upload" and v.updated_by_kind == "user"
    with idb.session() as s:
        last = s.scalar(select(OpdIndicatorValueChange).order_by(OpdIndicatorValueChange.id.desc()))
    assert (last.old_value, last.new_value) == (97.5, 96.0)
    assert (last.actor, last.actor_kind, last.source, last.source_ref) == (
        "dishub.budi",
        "user",
        "upload",
        "koreksi-okt.csv",
    )
    assert last.new_note == "salah ketik" and last.period_start == date(2026, 10, 1)
    assert before - timedelta(seconds=5) <= last.ts <= datetime.now(UTC) + timedelta(seconds=5)


def test_a_real_value_replaces_a_demo_value_of_the_same_period(idb):
    with idb.session() as s:
        ind = s.scalar(select(OpdIndicator).where(OpdIndicator.code == "apill_berfungsi"))
        s.add(OpdIndicatorValue(indicator_id=ind.id, period_start=date(2026, 10, 1), value=97.5,
                                is_demo=True))  # fmt: skip
    with idb.session() as s:
        result = write_rows(s, csv_rows("opd,indicator,period,value\nDISHUB,apill_berfungsi,2026-10,97.5\n"), CLI_ACTOR)  # fmt: skip
    assert result.counts["updated"] == 1
    v = stored(idb, "DISHUB", "apill_berfungsi", date(2026, 10, 1))
    assert v.is_demo is False and v.updated_by == "uji.cli"


def test_rows_of_another_opd_are_refused_for_a_scoped_writer(idb):
    text = (
        "opd,indicator,period,value\n"
        "DISHUB,apill_berfungsi,2026-10,97.5\n"
        "BPPD,pad_realisasi,2026-10,101\n"
    )
    with idb.session() as s:
        result = plan(s, csv_rows(text), only_opd="DISHUB")
    assert [(e.row, e.column, e.value) for e in result.errors] == [(3, "opd", "BPPD")]
    assert "DISHUB" in result.errors[0].reason
    assert counts(idb) == (0, 0)


def test_xlsx_and_semicolon_csv_read_like_the_comma_csv(idb, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["OPD", "Indicator", "Period", "Value", "Note"])
    ws.append(["dishub", "apill_berfungsi", "2026-10", 97.5, None])
    ws.append(["BPPD", "pad_tahunan", 2025, 812, "audit BPK"])  # a year typed as a number
    ws.append([None, None, None, None, None])  # empty rows are skipped
    path = tmp_path / "nilai.xlsx"
    wb.save(path)
    rows = read_rows(path.read_bytes(), "nilai.xlsx")
    with idb.session() as s:
        result = write_rows(s, rows, CLI_ACTOR)
    assert result.counts["inserted"] == 2
    assert stored(idb, "BPPD", "pad_tahunan", date(2025, 1, 1)).note == "audit BPK"
    semi = "opd;indicator;period;value\nDISHUB;apill_berfungsi;2026-10;97.5\n"
    with idb.session() as s:
        assert write_rows(s, csv_rows(semi), CLI_ACTOR).counts["unchanged"] == 1


@pytest.mark.parametrize(
    "body, where",
    [
        (b"opd,indicator,value\nDISHUB,apill_berfungsi,1\n", "period"),  # header lacks period
        (b"opd,indicator,period,value\n", "no rows"),
        ("opd,indicator,period,value\nDISHUB,x,2026-10,1\n".encode("utf-16"), "UTF-8"),
        (b"PK\x03\x04 not really a workbook", "cannot be read"),
    ],
)
def test_unreadable_files_say_why(body, where):
    name = "rusak.xlsx" if body.startswith(b"PK") else "nilai.csv"
    with pytest.raises(IndicatorImportError) as exc:
        read_rows(body, name)
    assert where in str(exc.value)


def test_decimal_comma_is_refused_with_the_reason(idb):
    with idb.session() as s:
        result = plan(s, csv_rows('opd,indicator,period,value\nDISHUB,apill_berfungsi,2026-10,"97,5"\n'))  # fmt: skip
    assert result.errors[0].column == "value" and "dot" in result.errors[0].reason


def test_concurrent_writers_of_one_period_leave_one_value_and_a_chained_history(idb):
    """Two writers (threads, own sessions) send different values for the same period over and
    over: no error, one row, and the history chains (each old value is the previous new)."""
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(name: str, values: list[float]) -> None:
        try:
            start.wait(timeout=30)
            for v in values:
                with idb.session() as s:
                    write_rows(
                        s,
                        [(2, {"opd": "DISHUB", "indicator": "apill_berfungsi",
                              "period": "2026-10", "value": v})],
                        Actor(name, "api_key", "api"),
                    )  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    a = threading.Thread(target=writer, args=("kunci-a", [90.0 + i for i in range(8)]))
    b = threading.Thread(target=writer, args=("kunci-b", [50.0 + i for i in range(8)]))
    a.start(), b.start()
    a.join(120), b.join(120)
    assert not errors, errors
    with idb.session() as s:
        rows = list(s.scalars(select(OpdIndicatorValue)))
        changes = list(s.scalars(select(OpdIndicatorValueChange).order_by(OpdIndicatorValueChange.id)))  # fmt: skip
    assert len(rows) == 1
    assert changes[0].old_value is None  # the first write inserted
    assert sum(1 for c in changes if c.old_value is None) == 1
    for prev, nxt in zip(changes, changes[1:], strict=False):
        assert nxt.old_value == prev.new_value
    assert rows[0].value == changes[-1].new_value
    assert len(changes) == 16  # every write changed the value (a and b never send the same)


def test_cli_import_prints_counts_and_refuses_a_bad_file(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setenv("PANTAU_VAR_DIR", str(var))
    monkeypatch.setenv("PANTAU_DATABASE_URL", "")
    from pantau import settings as settings_module

    settings_module.get_settings.cache_clear()
    from pantau.cli import app
    from pantau.settings import Settings

    runner = CliRunner()
    try:
        assert runner.invoke(app, ["seed"]).exit_code == 0
        dry = runner.invoke(app, ["import", "indicators", str(EXAMPLE), "--dry-run"])
        assert dry.exit_code == 0 and "nothing written" in dry.output
        assert "6 inserted, 0 updated, 0 unchanged" in dry.output  # the example's 6 rows
        good = runner.invoke(app, ["import", "indicators", str(EXAMPLE), "--by", "bappeda.sari"])
        assert good.exit_code == 0, good.output
        assert "6 inserted, 0 updated, 0 unchanged" in good.output
        again = runner.invoke(app, ["import", "indicators", str(EXAMPLE)])
        assert again.exit_code == 0 and "0 inserted, 0 updated, 6 unchanged" in again.output
        bad = tmp_path / "salah.csv"
        bad.write_text(
            "opd,indicator,period,value\nDISHUB,apill_berfungsi,2026-10,1500\n", encoding="utf-8"
        )
        refused = runner.invoke(app, ["import", "indicators", str(bad)])
        assert refused.exit_code == 1
        flat = " ".join(refused.output.split())
        assert "row 2, column 'value', value '1500'" in flat and "nothing was written" in flat
        db = Database(Settings(var_dir=var, database_url="").sqlalchemy_url)
        with db.session() as s:
            change = s.scalar(select(OpdIndicatorValueChange).limit(1))
            assert change.actor == "bappeda.sari" and change.source_ref == EXAMPLE.name
        db.dispose()
    finally:
        settings_module.get_settings.cache_clear()


def test_demo_seed_after_real_values_keeps_them(idb):
    """A city that sent values before seeding the demo: the demo fills the other months and
    the real value of this month stays (no unique-key failure)."""
    from store.seed import DemoSpec, seed_demo

    now = datetime.now(UTC)
    period = f"{now.year:04d}-{now.month:02d}"
    with idb.session() as s:
        write_rows(s, [(2, {"opd": "DISHUB", "indicator": "apill_berfungsi", "period": period,
                            "value": 12.5})], CLI_ACTOR)  # fmt: skip
    with idb.session() as s:
        seed_demo(s, DemoSpec(days=2, raw_hours=1, complaints_per_day=1))
    v = stored(idb, "DISHUB", "apill_berfungsi", date(now.year, now.month, 1))
    assert v.value == 12.5 and v.is_demo is False and v.updated_by == "uji.cli"
    with idb.session() as s:
        demo = s.scalar(select(func.count()).select_from(OpdIndicatorValue).where(OpdIndicatorValue.is_demo.is_(True)))  # fmt: skip
    assert demo >= 1
