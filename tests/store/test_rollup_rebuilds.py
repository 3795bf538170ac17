"""Whole-table rollup rebuilds: PostgreSQL's planner statistics follow them (ANALYZE), and
``pantau db rebuild-rollups`` restores every derived table of an existing database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

from store.models import (
    AreaRollup,
    Camera,
    CameraMonthRollup,
    Complaint,
    ComplaintCellMonth,
    ComplaintOpdDay,
    ObservationRollup,
    Opd,
    RollupPeriod,
)
from store.rollups import refresh_area_rollups

START = datetime(2026, 1, 1, 17, tzinfo=UTC)  # local (WIB) midnight


def _daily_rollups(session, cameras: int, days: int) -> None:
    cams = []
    for i in range(cameras):
        cam = Camera(code=f"CAM-{i}", name=f"Kamera {i}", lat=-2.99, lon=104.76, kecamatan="IB I")
        session.add(cam)
        cams.append(cam)
    session.flush()
    session.add_all(
        ObservationRollup(camera_id=cam.id, period=RollupPeriod.DAY,
                          bucket=START + timedelta(days=d), samples=24, people_avg=3.0,
                          people_max=9, vehicles_avg=10.0, flow_in_sum=5, flow_out_sum=4,
                          water_max=0.1)
        for cam in cams for d in range(days)
    )  # fmt: skip
    session.flush()


def _planner_rows(session, table: str) -> float:
    return session.scalar(text(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass"))


def test_full_rebuild_analyzes_camera_month_rollups_on_postgresql(pg_db):
    with pg_db.session() as s:
        _daily_rollups(s, cameras=6, days=120)  # 6 cameras x 4-5 local months
        assert _planner_rows(s, "camera_month_rollups") < 1  # never analyzed yet
    with pg_db.session() as s:
        refresh_area_rollups(s)  # the whole-table rebuild (seed, CLI, first dashboard read)
    with pg_db.session() as s:
        months = s.scalar(select(func.count()).select_from(CameraMonthRollup))
        areas = s.scalar(select(func.count()).select_from(AreaRollup))
        assert months == 6 * 5
        assert _planner_rows(s, "camera_month_rollups") == months
        assert _planner_rows(s, "area_rollups") == areas
        analyzed = s.scalar(
            text(
                "SELECT last_analyze FROM pg_stat_user_tables "
                "WHERE relid = 'camera_month_rollups'::regclass"
            )
        )
        assert analyzed is not None
    # a second rebuild over more cameras: the estimate follows again
    with pg_db.session() as s:
        _daily_rollups(s, cameras=0, days=0)
        cam = Camera(code="CAM-X", name="Kamera X", lat=-2.99, lon=104.76)
        s.add(cam)
        s.flush()
        s.add_all(
            ObservationRollup(camera_id=cam.id, period=RollupPeriod.DAY,
                              bucket=START + timedelta(days=d), samples=1)
            for d in range(300)
        )  # fmt: skip
    with pg_db.session() as s:
        refresh_area_rollups(s)
    with pg_db.session() as s:
        months = s.scalar(select(func.count()).select_from(CameraMonthRollup))
        assert months == 6 * 5 + 10
        assert _planner_rows(s, "camera_month_rollups") == months


def test_cli_rebuild_rollups_restores_every_derived_table(settings, sqlite_db, monkeypatch):
    import pantau.settings as settings_mod
    from pantau import cli
    from store.complaints import ComplaintService, NewComplaint
    from store.seed import seed_opd

    seeded = sqlite_db  # the database the CLI opens from ``settings``
    now = datetime(2026, 11, 20, 3, tzinfo=UTC)
    service = ComplaintService(seeded, settings)
    with seeded.session() as s:
        seed_opd(s)
        opd = s.scalar(select(Opd.id).order_by(Opd.id))
        _daily_rollups(s, cameras=2, days=40)
    for i in range(5):
        new = NewComplaint(category="waste", description="Sampah menumpuk di tepi jalan.",
                           lat=-2.97 - i * 0.01, lon=104.745)  # fmt: skip
        c = service.submit(new, now=now - timedelta(days=i * 9)).complaint
        service.dispatch_many([c.id], opd, actor="o", now=now - timedelta(days=i * 9, hours=-3))
    with seeded.session() as s:
        refresh_area_rollups(s)

    def snapshot():
        with seeded.session() as s:
            return {
                model.__tablename__: s.scalar(select(func.count()).select_from(model))
                for model in (ComplaintCellMonth, ComplaintOpdDay, AreaRollup, CameraMonthRollup)
            }

    kept = snapshot()
    assert all(kept.values()), kept
    with seeded.session() as s:  # an existing database: derived tables empty or stale
        for model in (ComplaintCellMonth, ComplaintOpdDay, AreaRollup, CameraMonthRollup):
            s.execute(delete(model))
        assert s.scalar(select(func.count()).select_from(Complaint)) == 5
    assert not any(snapshot().values())
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(settings_mod, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["db", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert "complaint_opd_days: 10 rows" in result.output  # 5 days x (waste, *)
    assert snapshot() == kept
