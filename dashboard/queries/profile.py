"""Hour-of-day profiles and kecamatan rankings for the analyst (read from the rollups).

- ``hour_weekday``: the mean of a metric at each local hour of each weekday over a range
  (a 7 x 24 heatmap instead of ~700 overlapping hourly points), for the cameras or kecamatan
  the filter selects;
- ``by_hour``: the mean at each local hour of the day (0-23) over a range, to put two periods
  side by side ("this month vs last month, by hour");
- ``traffic_by_kecamatan``: vehicles crossing per camera and hour in each kecamatan.

A cell's value is the mean over the hours *with data* of that (weekday, hour): for vehicle
flow the vehicles crossing per hour (summed over the selected cameras), for means the mean
per camera, for "% waktu tergenang" the share of camera-hours flooded.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries import trends
from store.models import AreaRollup, RollupPeriod

WEEKDAYS = 7
HOURS = 24


def hourly(session: Session, f: trends.TrendFilter, metric: str) -> pd.DataFrame:
    """One row per local hour of the range with data: period, value."""
    df = trends.trend(session, replace(f, granularity="hour", metrics=(metric,)))
    df = df[df["samples"] > 0].rename(columns={metric: "value"})
    return df[["period", "value"]].dropna()


def hour_weekday(session: Session, f: trends.TrendFilter, metric: str) -> pd.DataFrame:
    """Columns weekday (0 = Monday), hour (0-23, local), value, hours (hours with data);
    all 168 cells, ``value`` NaN where there is no data."""
    df = hourly(session, f, metric)
    df = df.assign(weekday=df["period"].dt.weekday, hour=df["period"].dt.hour)
    cells = df.groupby(["weekday", "hour"])["value"].agg(["mean", "count"]).reset_index()
    full = pd.MultiIndex.from_product(
        [range(WEEKDAYS), range(HOURS)], names=["weekday", "hour"]
    ).to_frame(index=False)
    out = full.merge(cells, on=["weekday", "hour"], how="left")
    out = out.rename(columns={"mean": "value", "count": "hours"})
    out["hours"] = out["hours"].fillna(0).astype(int)
    return out


def by_hour(session: Session, f: trends.TrendFilter, metric: str) -> pd.DataFrame:
    """Columns hour (0-23, local), value (mean over the days with data), hours."""
    df = hourly(session, f, metric)
    df = df.assign(hour=df["period"].dt.hour)
    cells = df.groupby("hour")["value"].agg(["mean", "count"]).reset_index()
    out = pd.DataFrame({"hour": range(HOURS)}).merge(cells, on="hour", how="left")
    out = out.rename(columns={"mean": "value", "count": "hours"})
    out["hours"] = out["hours"].fillna(0).astype(int)
    return out


def traffic_by_kecamatan(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """Per kecamatan over [start, end): ``per_camera_hour`` = vehicles crossing per camera
    and hour (total crossings / camera-hours with data), ``vehicles`` = total crossings,
    ``cameras`` = the most cameras reporting in one hour; busiest first."""
    a = AreaRollup.__table__
    trends.ensure_area_rollups(session)
    rows = session.execute(
        select(
            a.c.kecamatan,
            func.sum(a.c.flow_sum),
            func.sum(a.c.cameras),
            func.max(a.c.cameras),
        )
        .where(a.c.period == str(RollupPeriod.HOUR), a.c.bucket >= start, a.c.bucket < end)
        .group_by(a.c.kecamatan)
    ).all()
    df = pd.DataFrame(rows, columns=["kecamatan", "vehicles", "camera_hours", "cameras"])
    df = df[df["kecamatan"] != ""]
    for c in ("vehicles", "camera_hours", "cameras"):
        df[c] = pd.to_numeric(df[c]).fillna(0).astype(int)
    df["per_camera_hour"] = df["vehicles"] / df["camera_hours"].where(df["camera_hours"] > 0)
    return df.sort_values(
        ["per_camera_hour", "kecamatan"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)
