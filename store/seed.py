"""Reference data (cameras, OPD, indicators, sensors) and the deterministic demo history.

``seed_reference`` loads the files under ``data/``. ``seed_demo`` writes a year of plausible,
reproducible history (same seed, same rows): daily and weekly traffic cycles, crowds at the
riverfront in the evening and at weekends, rain-driven flooding in the wet season, incidents,
complaints through their workflow, OPD indicator values and water-level sensors. Every demo row
is marked ``is_demo`` so the UI can say so.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from analytics import demo_model
from analytics.synthetic import SyntheticScene
from ingestion.importers import import_cameras
from pantau.settings import DATA_DIR
from store.models import (
    Alert,
    AlertRule,
    AlertSeverity,
    Camera,
    CameraStatus,
    Complaint,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintStatus,
    Incident,
    IncidentKind,
    IncidentStatus,
    Observation,
    ObservationRollup,
    Opd,
    OpdIndicator,
    OpdIndicatorValue,
    PrivacyMode,
    RollupPeriod,
    Sensor,
    SensorReading,
)
from store.rollups import floor_bucket, refresh_area_rollups
from store.rules.catalog import seed_rules

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)

WIB = 7  # hours ahead of UTC


def _noop(stage: str, done: int, total: int) -> None:
    return None


# ------------------------------------------------------------------------------------------
# Reference data
# ------------------------------------------------------------------------------------------
def seed_opd(session: Session, data_dir: Path = DATA_DIR) -> int:
    existing = {o.code: o for o in session.scalars(select(Opd))}
    with (data_dir / "opd.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            cats = [c for c in (row.get("categories") or "").split(";") if c]
            opd = existing.get(row["code"])
            if opd is None:
                opd = Opd(code=row["code"])
                session.add(opd)
                existing[row["code"]] = opd
            opd.name, opd.short_name, opd.categories = row["name"], row["short_name"], cats
    session.flush()
    with (data_dir / "opd_indicators.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            opd = existing[row["opd"]]
            ind = session.scalar(
                select(OpdIndicator).where(
                    OpdIndicator.opd_id == opd.id, OpdIndicator.code == row["code"]
                )
            )
            if ind is None:
                ind = OpdIndicator(opd_id=opd.id, code=row["code"])
                session.add(ind)
            ind.name, ind.name_en, ind.unit = row["name"], row["name_en"], row["unit"]
            ind.target = float(row["target"]) if row["target"] else None
            ind.higher_is_better = row["higher_is_better"].lower() == "true"
            ind.frequency = row["frequency"]
            for column in ("plausible_min", "plausible_max"):  # optional columns
                raw = (row.get(column) or "").strip()
                setattr(ind, column, float(raw) if raw else None)
    session.flush()
    return len(existing)


#: Plausibility columns a city sets per sensor in data/sensors.csv (empty: the kind's default,
#: ingestion/sensor_ranges.py); `pantau seed` writes them to existing sensors too.
RANGE_COLUMNS = ("plausible_min", "plausible_max", "max_rate_per_min")


def _optional_float(raw: str | None, column: str, line: int) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"sensors.csv line {line}: {column} must be a number, got {raw!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"sensors.csv line {line}: {column} must be finite, got {raw!r}")
    return value


def load_sensor_rows(path: Path) -> list[dict]:
    """Rows of the sensor registry CSV, checked (one bad value rejects the file)."""
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            values = {c: _optional_float(row.get(c), c, line) for c in RANGE_COLUMNS}
            low, high, rate = (values[c] for c in RANGE_COLUMNS)
            if low is not None and high is not None and low >= high:
                raise ValueError(f"sensors.csv line {line}: plausible_min must be < plausible_max")
            if rate is not None and rate <= 0:
                raise ValueError(f"sensors.csv line {line}: max_rate_per_min must be > 0")
            for c in ("lat", "lon", "warning_level", "danger_level"):
                values[c] = _optional_float(row.get(c), c, line)
            values.update(
                code=row["code"].strip(),
                name=row["name"].strip(),
                kind=(row.get("kind") or "water_level").strip(),
                unit=(row.get("unit") or "cm").strip(),
                kecamatan=(row.get("kecamatan") or "").strip() or None,
            )
            rows.append(values)
    return rows


def seed_sensors(session: Session, data_dir: Path = DATA_DIR) -> int:
    """Create the sensors of data/sensors.csv that are missing; set every listed sensor's
    plausible range and rate (the CSV is where they are set; existing levels are kept)."""
    rows = load_sensor_rows(data_dir / "sensors.csv")
    have = {s.code: s for s in session.scalars(select(Sensor))}
    for row in rows:
        sensor = have.get(row["code"])
        if sensor is None:
            session.add(Sensor(**row))
            continue
        for column in RANGE_COLUMNS:
            setattr(sensor, column, row[column])
    session.flush()
    return len(rows)


def seed_reference(session: Session, data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Load OPD, indicators, sensors and the city's camera registry (idempotent)."""
    n_opd = seed_opd(session, data_dir)
    n_sensors = seed_sensors(session, data_dir)
    result = import_cameras(session, data_dir / "cameras_palembang.csv")
    n_rules = seed_rules(session, data_dir / "alert_rules.json")
    return {"opd": n_opd, "sensors": n_sensors, "cameras": result.total, "alert_rules": n_rules}


def seed_demo_areas(session: Session) -> int:
    """Load the approximate demo kecamatan polygons (store.demo_areas) when no kecamatan
    boundaries are stored; a city's own (``pantau import areas``) are never replaced."""
    from store.areas import store_areas
    from store.demo_areas import demo_kecamatan
    from store.models import Area, AreaLevel

    have = session.scalar(
        select(func.count()).select_from(Area).where(Area.level == str(AreaLevel.KECAMATAN))
    )
    if have:
        return 0
    features = demo_kecamatan()
    store_areas(session, features, is_demo=True)
    return len(features)


# ------------------------------------------------------------------------------------------
# Demo history
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoSpec:
    days: int = 365
    seed: int = 20261123
    end: datetime | None = None  # default: now, rounded down to the hour
    raw_hours: int = 48  # raw observations (every 5 min) for the most recent hours
    complaints_per_day: float = 18.0


INCIDENT_TITLES = {
    IncidentKind.CRIME: "Laporan pencurian / begal",
    IncidentKind.FIRE: "Kebakaran permukiman",
    IncidentKind.TRAFFIC_ACCIDENT: "Kecelakaan lalu lintas",
    IncidentKind.FLOOD: "Genangan air di jalan",
    IncidentKind.ILLEGAL_DUMPING: "Pembuangan sampah liar",
    IncidentKind.ILLEGAL_RACING: "Balap liar",
    IncidentKind.ILLEGAL_PARKING: "Parkir liar",
    IncidentKind.STREET_CHILDREN: "Anak jalanan di simpang",
    IncidentKind.CROWD: "Kerumunan massa",
    IncidentKind.STREET_VENDORS: "PKL di trotoar",
}
INCIDENT_RATE = {  # per day, city-wide
    IncidentKind.CRIME: 2.2,
    IncidentKind.FIRE: 0.35,
    IncidentKind.TRAFFIC_ACCIDENT: 3.0,
    IncidentKind.ILLEGAL_DUMPING: 1.2,
    IncidentKind.ILLEGAL_RACING: 0.5,
    IncidentKind.ILLEGAL_PARKING: 2.5,
    IncidentKind.STREET_CHILDREN: 0.8,
    IncidentKind.CROWD: 0.4,
    IncidentKind.STREET_VENDORS: 1.5,
}

COMPLAINT_CATEGORIES = {
    # category: (weight, OPD code, sample text)
    "road_damage": (0.20, "PUPR", "Jalan berlubang cukup dalam, membahayakan pengendara motor."),
    "drainage": (0.12, "PUPR", "Saluran air tersumbat, air meluap ke jalan saat hujan."),
    "waste": (0.14, "DLHK", "Sampah menumpuk sudah tiga hari belum diangkut."),
    "illegal_dumping": (0.06, "DLHK", "Warga membuang sampah sembarangan di pinggir sungai."),
    "traffic_light": (0.07, "DISHUB", "Lampu lalu lintas mati sejak pagi, simpang macet."),
    "illegal_parking": (0.09, "DISHUB", "Parkir liar memakan badan jalan di depan pasar."),
    "street_vendors": (0.08, "SATPOLPP", "PKL berjualan di trotoar, pejalan kaki turun ke jalan."),
    "public_order": (0.06, "SATPOLPP", "Suara bising hingga larut malam di sekitar permukiman."),
    "crime": (0.05, "POLRESTA", "Sering terjadi penjambretan di ruas jalan ini malam hari."),
    "illegal_racing": (0.04, "POLRESTA", "Balap liar setiap malam minggu, sangat meresahkan."),
    "flood": (0.05, "PUPR", "Genangan setinggi lutut setiap hujan deras."),
    "health": (0.04, "DINKES", "Banyak nyamuk, mohon fogging di lingkungan kami."),
}


def _working_days_after(start: datetime, days: int) -> datetime:
    """Deadlines as the complaint workflow computes them (weekends and holidays skipped)."""
    from store.workdays import WorkCalendar, load_holidays

    return WorkCalendar(load_holidays(DATA_DIR / "holidays_id.csv")).add_working_days(start, days)


#: Notes the workflow requires on some transitions (store.complaints), for demo events.
DEMO_EVENT_NOTES = {
    ComplaintStatus.REJECTED: "Bukan kewenangan Pemerintah Kota (demo).",
    ComplaintStatus.RESOLVED: "Sudah ditangani petugas di lapangan (demo).",
    ComplaintStatus.CLOSED: "Ditutup otomatis: tidak ada tanggapan pelapor dalam 10 hari kerja.",
}


def seed_demo(
    session: Session,
    spec: DemoSpec | None = None,
    progress: Progress = _noop,
) -> dict[str, int]:
    """Write a year of deterministic demo history. Refuses if observations already exist."""
    spec = spec or DemoSpec()
    rng = np.random.default_rng(spec.seed)
    if session.scalar(select(func.count()).select_from(ObservationRollup)):
        raise RuntimeError(
            "the database already has history; demo data is only seeded into an empty one"
        )
    seed_reference(session)
    counts: dict[str, int] = {}
    counts["demo_kecamatan_polygons"] = seed_demo_areas(session)
    cameras = list(session.scalars(select(Camera).order_by(Camera.code)))
    for cam in cameras:
        cam.is_demo = True
    end = floor_bucket(spec.end or datetime.now(UTC), RollupPeriod.HOUR)
    start = end - timedelta(days=spec.days)
    hours = [start + timedelta(hours=i) for i in range(spec.days * 24)]
    hour_local = np.array([(t.hour + WIB) % 24 for t in hours])
    weekday = np.array([(t + timedelta(hours=WIB)).weekday() for t in hours])
    rain = demo_model.rain_series(hours, WIB)  # the live flood scenes share this weather
    # the one demo model: each camera's history is what its simulated scene shows at that
    # local time as the pipeline measures it (analytics.demo_model), so live agrees with it
    from ingestion.simulator import default_video

    kinds = demo_model.scene_kinds([c.tags for c in cameras], has_video=bool(default_video()))

    # --- hourly rollups per camera -----------------------------------------------------------
    roll = ObservationRollup.__table__
    total = len(cameras)
    n_rows = 0
    daily_frames = []
    import pandas as pd

    for ci, cam in enumerate(cameras):
        progress("Riwayat kamera / camera history", ci, total)
        tags = set(cam.tags or [])
        water = (
            demo_model.water_from_rain(rain, demo_model.susceptibility(ci))
            if "flood" in tags
            else np.zeros(len(hours))
        )
        # the hour's mean is close to the level at its middle; the shares of the camera's
        # scene (simulator seed 1000 + position) shown at that level
        shown = None
        if kinds[ci] in ("street", "crowd", "flood"):
            scene = SyntheticScene(kinds[ci], 1000 + ci, 640, 360)
            shown = demo_model.shown_shares(*scene.mover_ranks())
        exp_v, exp_p, exp_flow = demo_model.expected(
            kinds[ci], hour_local + 0.5, weekday, shown, water
        )
        noise = rng.normal(1.0, 0.12, len(hours)).clip(0.5, 1.6)
        rain_damp = 1 / (1 + rain / 30.0)  # heavy rain empties the streets
        vehicles = exp_v * noise * rain_damp
        people = exp_p * rng.normal(1.0, 0.15, len(hours)).clip(0.4, 1.8) * rain_damp
        crossings = exp_flow * 60 * noise * rain_damp  # 60 samples an hour
        mix = rng.dirichlet([2.0, 6.0, 0.4, 0.6])  # car, motorcycle, bus, truck
        motion = np.clip(0.02 + (vehicles + people) / 150.0, 0, 1)
        df = pd.DataFrame(
            {
                "camera_id": cam.id,
                "period": str(RollupPeriod.HOUR),
                "bucket": hours,
                "samples": 60,
                "people_avg": people.round(2),
                "people_max": np.ceil(people * 1.6).astype(int),
                "vehicles_avg": vehicles.round(2),
                "vehicles_max": np.ceil(vehicles * 1.5).astype(int),
                "car_avg": (vehicles * mix[0]).round(2),
                "motorcycle_avg": (vehicles * mix[1]).round(2),
                "bus_avg": (vehicles * mix[2]).round(2),
                "truck_avg": (vehicles * mix[3]).round(2),
                "flow_in_sum": np.round(crossings * 0.52).astype(int),
                "flow_out_sum": np.round(crossings * 0.48).astype(int),
                "motion_avg": motion.round(3),
                "water_avg": water.round(3),
                "water_max": np.clip(water * 1.15, 0, 1).round(3),
                "people_n": 60,
                "vehicles_n": 60,
                "motion_n": 60,
                "water_n": 60,
            }
        )
        session.execute(insert(roll), df.to_dict("records"))
        n_rows += len(df)
        df["day"] = [floor_bucket(t, RollupPeriod.DAY, WIB) for t in hours]
        daily_frames.append(df)
    progress("Riwayat kamera / camera history", total, total)
    counts["hourly_rollups"] = n_rows

    # --- daily rollups from the hourly ones ----------------------------------------------------
    all_hours = pd.concat(daily_frames)
    agg = all_hours.groupby(["camera_id", "day"]).agg(
        samples=("samples", "sum"),
        people_avg=("people_avg", "mean"),
        people_max=("people_max", "max"),
        vehicles_avg=("vehicles_avg", "mean"),
        vehicles_max=("vehicles_max", "max"),
        car_avg=("car_avg", "mean"),
        motorcycle_avg=("motorcycle_avg", "mean"),
        bus_avg=("bus_avg", "mean"),
        truck_avg=("truck_avg", "mean"),
        flow_in_sum=("flow_in_sum", "sum"),
        flow_out_sum=("flow_out_sum", "sum"),
        motion_avg=("motion_avg", "mean"),
        water_avg=("water_avg", "mean"),
        water_max=("water_max", "max"),
        people_n=("people_n", "sum"),
        vehicles_n=("vehicles_n", "sum"),
        motion_n=("motion_n", "sum"),
        water_n=("water_n", "sum"),
    )
    agg = agg.round(3).reset_index().rename(columns={"day": "bucket"})
    agg["period"] = str(RollupPeriod.DAY)
    agg["bucket"] = [t.to_pydatetime() for t in agg["bucket"]]
    session.execute(insert(roll), agg.to_dict("records"))
    counts["daily_rollups"] = len(agg)
    counts["area_rollups"] = refresh_area_rollups(session)  # per-kecamatan sums for trends

    # --- raw observations for the most recent hours (5-minute samples) -------------------------
    progress("Observasi terbaru / recent observations", 0, 1)
    obs_rows = []
    by_cam = dict(tuple(all_hours.groupby("camera_id")))
    # whole local days, so the daily rollups recomputed from raw observations stay complete
    raw_start = floor_bucket(end - timedelta(hours=spec.raw_hours), RollupPeriod.DAY, WIB)
    for cam in cameras:
        g = by_cam[cam.id]
        g = g[g["bucket"] >= raw_start]
        for _, r in g.iterrows():
            for m in range(0, 60, 5):
                ts = r["bucket"] + timedelta(minutes=m)
                jitter = rng.normal(1.0, 0.1)
                veh = max(0, int(round(r["vehicles_avg"] * jitter)))
                car = int(round(veh * r["car_avg"] / max(r["vehicles_avg"], 1e-6)))
                bus = int(round(veh * r["bus_avg"] / max(r["vehicles_avg"], 1e-6)))
                truck = int(round(veh * r["truck_avg"] / max(r["vehicles_avg"], 1e-6)))
                moto = max(0, veh - car - bus - truck)
                ts = ts.to_pydatetime() if hasattr(ts, "to_pydatetime") else ts
                obs_rows.append(
                    {
                        "camera_id": cam.id,
                        "slot": ts,  # the schedule slot (idempotency key) = the frame time here
                        "ts": ts,
                        "people": max(0, int(round(r["people_avg"] * rng.normal(1.0, 0.12)))),
                        "vehicles_car": car,
                        "vehicles_motorcycle": moto,
                        "vehicles_bus": bus,
                        "vehicles_truck": truck,
                        "vehicles_total": veh,
                        "flow_in": int(r["flow_in_sum"] / 12),
                        "flow_out": int(r["flow_out_sum"] / 12),
                        "motion_ratio": float(r["motion_avg"]),
                        "water_coverage": float(r["water_avg"]),
                        "water_confidence": 0.8,
                        "analyser": "demo",
                        "reused": False,
                    }
                )
        cam.status = CameraStatus.ONLINE
        cam.last_seen_at = end
    # two cameras out of service, as in any real city
    for cam in cameras[-2:]:
        cam.status = CameraStatus.OFFLINE
        cam.status_reason = "Tidak ada sinyal sejak pemeliharaan jaringan (demo)"
    session.execute(insert(Observation.__table__), obs_rows)
    counts["observations"] = len(obs_rows)
    progress("Observasi terbaru / recent observations", 1, 1)

    # --- sensors ---------------------------------------------------------------------------------
    sensors = list(session.scalars(select(Sensor)))
    readings = []
    base_musi = 120 + 40 * np.sin(np.arange(len(hours)) / (24 * 365) * 2 * np.pi - 1.2)
    for si, sensor in enumerate(sensors):
        acc = 0.0
        for i, t in enumerate(hours):
            acc = acc * 0.9 + rain[i]
            tide = 12 * math.sin(2 * math.pi * i / 12.42)
            value = base_musi[i] * (0.6 if si else 1.0) + tide + acc * (1.5 + 0.4 * si)
            readings.append({"sensor_id": sensor.id, "ts": t, "value": round(value, 1)})
        sensor.last_value = readings[-1]["value"]
        sensor.last_seen_at = hours[-1]
    session.execute(insert(SensorReading.__table__), readings)
    counts["sensor_readings"] = len(readings)

    # --- incidents ----------------------------------------------------------------------------
    progress("Kejadian & pengaduan / incidents & complaints", 0, 3)
    incidents = []
    kec_points = [(c.lat, c.lon, c.kecamatan, c.id) for c in cameras]
    for kind, rate in INCIDENT_RATE.items():
        n = rng.poisson(rate * spec.days)
        for _ in range(n):
            t = start + timedelta(seconds=float(rng.uniform(0, spec.days * 86400)))
            lat, lon, kec, cam_id = kec_points[int(rng.integers(len(kec_points)))]
            old = (end - t).days > 2
            incidents.append(
                {
                    "kind": str(kind),
                    "source": str(rng.choice(["cctv", "call112", "police", "citizen"])),
                    "title": INCIDENT_TITLES[kind],
                    "lat": lat + rng.normal(0, 0.004),
                    "lon": lon + rng.normal(0, 0.004),
                    "kecamatan": kec,
                    "camera_id": cam_id if rng.random() < 0.4 else None,
                    "occurred_at": t,
                    "status": str(IncidentStatus.CLOSED if old else IncidentStatus.OPEN),
                    "closed_at": t + timedelta(hours=float(rng.uniform(1, 30))) if old else None,
                    "is_demo": True,
                }
            )
    # flood incidents follow the rain
    for i in np.flatnonzero(rain > 25):
        lat, lon, kec, cam_id = kec_points[int(rng.integers(len(kec_points)))]
        incidents.append(
            {
                "kind": str(IncidentKind.FLOOD),
                "source": "cctv",
                "title": INCIDENT_TITLES[IncidentKind.FLOOD],
                "lat": lat,
                "lon": lon,
                "kecamatan": kec,
                "camera_id": cam_id,
                "occurred_at": hours[i],
                "status": str(IncidentStatus.CLOSED),
                "closed_at": hours[i] + timedelta(hours=3),
                "is_demo": True,
            }
        )
    session.execute(insert(Incident.__table__), incidents)
    counts["incidents"] = len(incidents)
    progress("Kejadian & pengaduan / incidents & complaints", 1, 3)

    # --- complaints with status history -------------------------------------------------------
    opd_by_code = {o.code: o.id for o in session.scalars(select(Opd))}
    cats = list(COMPLAINT_CATEGORIES)
    weights = np.array([COMPLAINT_CATEGORIES[c][0] for c in cats])
    weights /= weights.sum()
    n_complaints = rng.poisson(spec.complaints_per_day * spec.days)
    complaint_rows = []
    event_specs = []
    for k in range(n_complaints):
        t = start + timedelta(seconds=float(rng.uniform(0, spec.days * 86400)))
        cat = cats[int(rng.choice(len(cats), p=weights))]
        _, opd_code, text = COMPLAINT_CATEGORIES[cat]
        lat, lon, kec, _ = kec_points[int(rng.integers(len(kec_points)))]
        age_days = (end - t).total_seconds() / 86400
        # how far the workflow got, given the report's age
        verified = t + timedelta(hours=float(rng.gamma(2, 10)))
        dispatched = verified + timedelta(hours=float(rng.gamma(2, 14)))
        followed = dispatched + timedelta(hours=float(rng.gamma(2, 40)))
        resolved = followed + timedelta(hours=float(rng.gamma(2, 60)))
        steps = [(ComplaintStatus.NEW, t)]
        if rng.random() < 0.05:
            steps.append((ComplaintStatus.REJECTED, verified))
        else:
            for status, when in (
                (ComplaintStatus.VERIFIED, verified),
                (ComplaintStatus.DISPATCHED, dispatched),
                (ComplaintStatus.IN_PROGRESS, followed),
                (ComplaintStatus.RESOLVED, resolved),
            ):
                if when < end and (age_days > 2 or rng.random() < 0.5):
                    steps.append((status, when))
                else:
                    break
        autoclose = _working_days_after(resolved, 10)
        if steps[-1][0] == ComplaintStatus.RESOLVED and autoclose < end:
            steps.append((ComplaintStatus.CLOSED, autoclose))
        status, last = steps[-1]
        times = dict(steps)
        privacy = rng.choice(
            [PrivacyMode.NORMAL, PrivacyMode.ANONYMOUS, PrivacyMode.CONFIDENTIAL],
            p=[0.8, 0.15, 0.05],
        )
        channel = rng.choice(
            [ComplaintChannel.WEB, ComplaintChannel.SMS, ComplaintChannel.OPEN311],
            p=[0.6, 0.3, 0.1],
        )
        complaint_rows.append(
            {
                "tracking_id": f"DEMO-{t:%y%m}-{k:06d}",
                "category": cat,
                "description": text,
                "lat": lat + rng.normal(0, 0.01),
                "lon": lon + rng.normal(0, 0.01),
                "kecamatan": kec,
                "privacy": str(privacy),
                "reporter_name": None if privacy != PrivacyMode.NORMAL else "Warga (demo)",
                "channel": str(channel),
                "status": str(status),
                "opd_id": opd_by_code.get(opd_code)
                if ComplaintStatus.DISPATCHED in times
                else None,
                "created_at": t,
                "updated_at": last,
                "verified_at": times.get(ComplaintStatus.VERIFIED),
                "dispatched_at": times.get(ComplaintStatus.DISPATCHED),
                "followed_up_at": times.get(ComplaintStatus.IN_PROGRESS),
                "resolved_at": times.get(ComplaintStatus.RESOLVED),
                "closed_at": times.get(ComplaintStatus.CLOSED)
                or times.get(ComplaintStatus.REJECTED),
                "autoclose_due": autoclose if ComplaintStatus.RESOLVED in times else None,
                "dispatch_due": _working_days_after(t, 3),
                "followup_due": _working_days_after(times[ComplaintStatus.DISPATCHED], 5)
                if ComplaintStatus.DISPATCHED in times
                else None,
                "is_demo": True,
            }
        )
        event_specs.append(steps)
    session.execute(insert(Complaint.__table__), complaint_rows)
    ids = dict(
        session.execute(
            select(Complaint.tracking_id, Complaint.id).where(Complaint.is_demo.is_(True))
        ).all()
    )
    events = []
    for row, steps in zip(complaint_rows, event_specs, strict=True):
        prev = None
        for status, when in steps:
            events.append(
                {
                    "complaint_id": ids[row["tracking_id"]],
                    "ts": when,
                    "from_status": str(prev) if prev else None,
                    "to_status": str(status),
                    "actor": "warga" if status == ComplaintStatus.NEW else "operator.demo",
                    "note": DEMO_EVENT_NOTES.get(status),
                }
            )
            prev = status
    session.execute(insert(ComplaintEvent.__table__), events)
    from store.areas import reassign_all
    from store.complaints import rebuild_area_days, rebuild_cell_months, rebuild_opd_days

    reassign_all(session, rollups=False)  # the rows inserted in bulk get their kecamatan
    counts["complaint_area_days"] = rebuild_area_days(session)  # complaints per kecamatan
    counts["complaint_cells"] = rebuild_cell_months(session)  # the heatmap's monthly rollup
    counts["complaint_opd_days"] = rebuild_opd_days(session)  # per-OPD statistics
    counts["complaints"] = len(complaint_rows)
    progress("Kejadian & pengaduan / incidents & complaints", 2, 3)

    # --- OPD indicator values (monthly) ----------------------------------------------------------
    values = []
    first_month = date(start.year, start.month, 1)
    months = []
    m = first_month
    while m <= end.date():
        months.append(m)
        m = date(m.year + (m.month // 12), m.month % 12 + 1, 1)
    # real values sent before the demo was seeded (pantau import indicators) are kept
    taken = set(
        session.execute(select(OpdIndicatorValue.indicator_id, OpdIndicatorValue.period_start))
        .tuples()
        .all()
    )
    for ind in session.scalars(select(OpdIndicator)):
        target = ind.target or 100.0
        level = rng.uniform(0.82, 1.05)
        for i, month in enumerate(months):
            trend = 1 + 0.01 * i * (1 if ind.higher_is_better else -1)
            v = target * level * trend * rng.normal(1.0, 0.04)
            if ind.unit.startswith("%"):
                v = min(v, 100.0)
            if (ind.id, month) in taken:
                continue
            values.append(
                {
                    "indicator_id": ind.id,
                    "period_start": month,
                    "value": round(v, 1),
                    "is_demo": True,
                }
            )
    session.execute(insert(OpdIndicatorValue.__table__), values)
    counts["opd_values"] = len(values)

    # --- a few open alerts, as the wall screen would show them ---------------------------------
    # keyed like the live rules' alerts ("{kind}:camera:{code}"): a live alert that opens for
    # the same camera ends the demo one, so the room never shows both (store.rules.engine)
    rule_ids = dict(session.execute(select(AlertRule.kind, func.min(AlertRule.id))
                                    .group_by(AlertRule.kind)).all())  # fmt: skip
    flood_cams = [c for c in cameras if "flood" in (c.tags or [])][:2]

    def demo_alert(kind: str, cam: Camera, level: str, severity: str, **kw) -> Alert:
        return Alert(rule=kind, rule_id=rule_ids.get(kind), dedup_key=f"{kind}:camera:{cam.code}",
                     level=level, severity=severity, subject_type="camera", subject_id=cam.code,
                     camera_id=cam.id, is_demo=True, **kw)  # fmt: skip

    from dashboard.i18n import local_time

    went = end - timedelta(hours=3)
    alerts = [
        demo_alert("flood_coverage", flood_cams[0], "siaga", AlertSeverity.CRITICAL,
                   title=f"Genangan 62% di {flood_cams[0].name}",
                   detail=f"Air menutupi 62% ROI jalan di {flood_cams[0].name} (keyakinan "
                   "0.80); level siaga.", value=62.0, started_at=end - timedelta(minutes=25)),
        demo_alert("crowd_density", cameras[0], "padat", AlertSeverity.WARNING,
                   title=f"Kerumunan 48 orang di {cameras[0].name}",
                   detail=f"48 orang di {cameras[0].name}; biasanya 15.5 orang pada jam ini "
                   "(3.1x dari biasa).", value=48.0, started_at=end - timedelta(minutes=8)),
        demo_alert("camera_offline", cameras[-1], "mati", AlertSeverity.WARNING,
                   title=f"Kamera {cameras[-1].name} offline sejak {local_time(went)}",
                   detail=f"Kamera {cameras[-1].name} offline sejak {local_time(went)} (180 menit "
                   "saat level mati tercapai). Alasan: demo.", value=180.0, started_at=went),
    ]  # fmt: skip
    # the river sensors the flood page shows at waspada/siaga have their open alert, as the live
    # sensor rule would have opened it (key, level, value and start of the run above the level)
    for sensor in sensors:
        warn, danger = sensor.warning_level, sensor.danger_level
        run = [r for r in readings if r["sensor_id"] == sensor.id]
        if warn is None or not run or run[-1]["value"] < warn:
            continue
        first = len(run) - 1
        while first > 0 and run[first - 1]["value"] >= warn:
            first -= 1
        value = run[-1]["value"]
        siaga = danger is not None and value >= danger
        alerts.append(Alert(
            rule="sensor_level", rule_id=rule_ids.get("sensor_level"),
            dedup_key=f"sensor_level:sensor:{sensor.code}", level="siaga" if siaga else "waspada",
            severity=AlertSeverity.CRITICAL if siaga else AlertSeverity.WARNING,
            subject_type="sensor", subject_id=sensor.code, is_demo=True, value=value,
            title=f"{sensor.name} {value:g}",
            detail=f"{sensor.name} ({sensor.code}) membaca {value:g}, pada/di atas batas "
            f"{'siaga' if siaga else 'waspada'} {(danger if siaga else warn):g}.",
            started_at=run[first]["ts"]))  # fmt: skip
    taken = set(session.scalars(select(Alert.dedup_key).where(
        Alert.dedup_key.in_([a.dedup_key for a in alerts]), Alert.ended_at.is_(None))))  # fmt: skip
    alerts = [a for a in alerts if a.dedup_key not in taken]  # a live alert already says it
    session.add_all(alerts)
    counts["alerts"] = len(alerts)
    session.flush()
    from store.demo_alerts import seed_alert_history

    # past alerts worked through (acknowledged, assigned, SOP, resolved): the alert list,
    # timelines and response times have history to show
    counts["alert_history"] = seed_alert_history(session, end, spec.days, spec.seed)
    progress("Kejadian & pengaduan / incidents & complaints", 3, 3)
    return counts


def clear_demo(session: Session) -> None:
    """Remove every demo row (keeps reference data and real observations)."""
    demo_cams = select(Camera.id).where(Camera.is_demo.is_(True))
    session.execute(delete(ObservationRollup).where(ObservationRollup.camera_id.in_(demo_cams)))
    session.execute(delete(Observation).where(Observation.analyser == "demo"))
    for model in (Incident, Complaint, OpdIndicatorValue, Alert):
        session.execute(delete(model).where(model.is_demo.is_(True)))
    session.execute(delete(SensorReading))
    refresh_area_rollups(session)
    from store.complaints import rebuild_area_days, rebuild_cell_months, rebuild_opd_days

    rebuild_cell_months(session)
    rebuild_opd_days(session)
    rebuild_area_days(session)
