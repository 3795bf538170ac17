"""Kecamatan shapes and per-kecamatan figures for the "by kecamatan" rankings and choropleths.

Everything here reads rollups or covering indexes, never raw observations:

- flooding: ``area_rollups`` hourly rows (per kecamatan and hour, ``wet_n`` = cameras with
  water on 30 % or more of the road in that hour);
- incidents: the ``incidents`` covering index ``(occurred_at, kind, kecamatan, ...)``;
- complaints: ``complaint_area_days`` (reports and still-open reports per day of intake and
  kecamatan) and, for "late now" (it depends on the clock), the overdue reports.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from store.areas import polygons_version
from store.models import (
    Area,
    AreaLevel,
    AreaRollup,
    Complaint,
    ComplaintAreaDay,
    Incident,
    IncidentDay,
    RollupPeriod,
)
from store.models import ComplaintStatus as S

logger = logging.getLogger(__name__)

#: polygons drawn in choropleths are simplified to ~30 m (a city's official boundaries can
#: carry tens of thousands of vertices per kecamatan)
SIMPLIFY_DEG = 0.0003
_shapes: dict[str, tuple[tuple, list[dict[str, Any]]]] = {}


def kecamatan_shapes(session: Session) -> list[dict[str, Any]]:
    """The kecamatan polygons as GeoJSON features (name, demo flag), simplified for drawing;
    cached per process until the areas table changes."""
    key = str(session.get_bind().url)
    version = polygons_version(session)
    hit = _shapes.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    rows = session.execute(
        select(Area.name, Area.is_demo, Area.geometry)
        .where(Area.level == str(AreaLevel.KECAMATAN))
        .order_by(Area.name)
    ).all()
    feats = []
    for name, demo, geometry in rows:
        geom = shapely.simplify(shape(json.loads(geometry)), SIMPLIFY_DEG, preserve_topology=True)
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(shapely.set_precision(geom, 1e-5)),
                "properties": {"name": name, "demo": bool(demo)},
            }
        )
    _shapes[key] = (version, feats)
    return feats


def flood_hours(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """Per kecamatan over [start, end): ``hours`` with at least one camera flooded (water on
    ≥30 % of the road) and ``camera_hours`` (cameras flooded, summed over the hours), from the
    hourly ``area_rollups``; ``cameras`` is the most cameras reporting in one hour."""
    r = AreaRollup.__table__
    rows = session.execute(
        select(
            r.c.kecamatan,
            func.sum(case((r.c.wet_n > 0, 1), else_=0)),
            func.sum(r.c.wet_n),
            func.max(r.c.cameras),
        )
        .where(r.c.period == str(RollupPeriod.HOUR), r.c.bucket >= start, r.c.bucket < end)
        .group_by(r.c.kecamatan)
    ).all()
    df = pd.DataFrame(rows, columns=["kecamatan", "hours", "camera_hours", "cameras"])
    df = df[df["kecamatan"] != ""]
    for c in ("hours", "camera_hours", "cameras"):
        df[c] = df[c].fillna(0).astype(int)
    return df.sort_values(["hours", "camera_hours", "kecamatan"], ascending=[False, False, True])


def incidents_by_kecamatan(
    session: Session,
    start: datetime,
    end: datetime,
    kinds: list[str] | None = None,
    offset_hours: int = 7,
) -> pd.DataFrame:
    """Incidents per kecamatan and kind over [start, end) (kecamatan '' when unknown); whole
    local days are summed from the daily incident rollup (``store.incident_days``)."""
    from dashboard.queries import security

    days = security._whole_days(start, end, offset_hours)
    if days is not None:
        d = IncidentDay.__table__.c
        q = (
            security._rollup_query(
                session,
                (d.kecamatan, d.kind, func.sum(d.n)),
                days,
                None,
                kinds,
                offset_hours,
                False,
            )
            .group_by(d.kecamatan, d.kind)
            .having(func.sum(d.n) > 0)
        )
        df = pd.DataFrame(session.execute(q).all(), columns=["kecamatan", "kind", "count"])
        return df.astype({"count": int}) if len(df) else df
    q = (
        select(func.coalesce(Incident.kecamatan, ""), Incident.kind, func.count())
        .where(Incident.occurred_at >= start, Incident.occurred_at < end)
        .group_by(Incident.kecamatan, Incident.kind)
    )
    if kinds:
        q = q.where(Incident.kind.in_(kinds))
    return pd.DataFrame(session.execute(q).all(), columns=["kecamatan", "kind", "count"])


def complaints_by_kecamatan(session: Session, days: int, now: datetime) -> pd.DataFrame:
    """Per kecamatan: ``reports`` received in the last ``days`` (whole UTC days from the
    rollup, like the page's period; rejected and duplicates not counted), ``open`` of those
    still open, and ``late`` = every report late right now (dispatch or follow-up deadline
    passed), whatever its age."""
    first = (now - timedelta(days=days)).date()
    d = ComplaintAreaDay.__table__
    rows = session.execute(
        select(d.c.kecamatan, func.sum(d.c.reports), func.sum(d.c.open))
        .where(d.c.day >= first, d.c.day <= now.date())
        .group_by(d.c.kecamatan)
    ).all()
    df = pd.DataFrame(rows, columns=["kecamatan", "reports", "open"])
    # late now: waiting for dispatch past its deadline, or dispatched and not followed up in
    # time (the page's KPI rules); one covering-index range per status (ix_complaints_area_late)
    parts = []
    for statuses, due in (
        ([S.NEW, S.VERIFIED], Complaint.dispatch_due),
        ([S.DISPATCHED], Complaint.followup_due),
    ):
        for status in statuses:
            parts.extend(
                session.execute(
                    select(func.coalesce(Complaint.kecamatan, ""), func.count())
                    .where(Complaint.status == status, due < now)
                    .group_by(Complaint.kecamatan)
                ).all()
            )
    late = pd.DataFrame(parts, columns=["kecamatan", "late"])
    late = late.groupby("kecamatan", as_index=False)["late"].sum()
    df = df.merge(late, on="kecamatan", how="outer")
    for c in ("reports", "open", "late"):
        df[c] = df[c].fillna(0).astype(int)
    df = df[df["kecamatan"] != ""]
    return df.sort_values(["reports", "late", "kecamatan"], ascending=[False, False, True])
