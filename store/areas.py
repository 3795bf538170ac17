"""Kecamatan and kelurahan boundaries: GeoJSON import, point-in-polygon assignment.

A city loads its boundaries with ``pantau import areas FILE.geojson`` (Polygon/MultiPolygon
features with properties ``name`` and ``level``). The file is validated completely first
(:func:`parse_areas`), then the levels it holds replace the stored ones in one transaction
and every row with a location is assigned again (:func:`reassign_all`).

Schema of a located row (cameras, incidents, complaints, sensors):

- ``kecamatan``: the resolved district: the kecamatan polygon holding the point; outside every
  polygon, or with no polygons loaded, the string the source gave (``kecamatan_input``).
  Every dashboard query and rollup reads this column.
- ``kecamatan_input``: the string as the file, form or API gave it, never overwritten.
- ``kelurahan``: the kelurahan polygon holding the point (NULL outside or none loaded).
- ``area_source``: ``polygon`` or ``input`` (:class:`AreaSource`); NULL for a row written
  without going through this module (bulk inserts): its ``kecamatan`` is then taken as the
  input when it is first located.

ORM inserts and updates of these models are located automatically (``before_insert`` /
``before_update`` hooks below) when they carry lat/lon; :func:`assign_point` answers one point
for code that builds rows itself. The polygon index is cached per process and rebuilt when
the ``areas`` table changes (checked with one small query per use).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import bindparam, delete, event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from store.area_files import (  # re-exported: callers import them from here
    LEVELS,
    MAX_FILE_BYTES,
    AreaFeature,
    AreasImportError,
    _km2,
    parse_areas,
    read_areas_file,
)
from store.models import Area, AreaLevel, AreaSource, Camera, Complaint, Incident, Sensor

logger = logging.getLogger(__name__)

#: the models whose rows carry a point and a kecamatan
LOCATED_MODELS = (Camera, Incident, Complaint, Sensor)

Progress = Callable[[str, int, int], None]
__all__ = ["LEVELS", "MAX_FILE_BYTES", "AreaFeature", "AreasImportError", "parse_areas",
           "read_areas_file", "assign_point", "load_index", "store_areas", "import_areas",
           "reassign_all", "areas_geojson", "polygons_version"]  # fmt: skip


# --------------------------------------------------------------------------------------------
# The polygon index
# --------------------------------------------------------------------------------------------
@dataclass
class _Level:
    names: list[str] = field(default_factory=list)
    parents: list[str | None] = field(default_factory=list)
    areas: np.ndarray = field(default_factory=lambda: np.zeros(0))
    geoms: list[Any] = field(default_factory=list)
    tree: Any = None

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index of the polygon holding each point (-1: none). A point on a shared border
        goes to the smaller polygon, then to the first name: the same answer every time."""
        out = np.full(len(lon), -1, dtype=np.int64)
        if self.tree is None or not len(lon):
            return out
        points = shapely.points(lon, lat)
        pt, poly = self.tree.query(points, predicate="intersects")
        if not len(pt):
            return out
        # sort by point, then smaller area, then name order (the polygons are sorted by name)
        order = np.lexsort((poly, self.areas[poly], pt))
        pt, poly = pt[order], poly[order]
        first = np.r_[True, pt[1:] != pt[:-1]]
        out[pt[first]] = poly[first]
        return out


@dataclass
class AreaIndex:
    """STRtree per level over the stored polygons."""

    version: tuple
    levels: dict[str, _Level]

    @property
    def empty(self) -> bool:
        return all(lv.tree is None for lv in self.levels.values())

    def resolve(
        self, lon: Iterable[float | None], lat: Iterable[float | None], typed: list[str | None]
    ) -> tuple[list[str | None], list[str | None], list[str]]:
        """(kecamatan, kelurahan, source) for each point; a missing point keeps ``typed``."""
        lon_a = np.array([np.nan if v is None else v for v in lon], dtype=float)
        lat_a = np.array([np.nan if v is None else v for v in lat], dtype=float)
        ok = np.isfinite(lon_a) & np.isfinite(lat_a)
        idx = np.flatnonzero(ok)
        kec_i = np.full(len(lon_a), -1, dtype=np.int64)
        kel_i = np.full(len(lon_a), -1, dtype=np.int64)
        kec_lv = self.levels[AreaLevel.KECAMATAN]
        kel_lv = self.levels[AreaLevel.KELURAHAN]
        kec_i[idx] = kec_lv.locate(lon_a[idx], lat_a[idx])
        kel_i[idx] = kel_lv.locate(lon_a[idx], lat_a[idx])
        kecs: list[str | None] = []
        kels: list[str | None] = []
        sources: list[str] = []
        for i, given in enumerate(typed):
            kel = kel_lv.names[kel_i[i]] if kel_i[i] >= 0 else None
            kec = kec_lv.names[kec_i[i]] if kec_i[i] >= 0 else None
            if kec is None and kel is not None:
                kec = kel_lv.parents[kel_i[i]]
            if kec is None:
                kecs.append(given)
                sources.append(str(AreaSource.INPUT))
            else:
                kecs.append(kec)
                sources.append(str(AreaSource.POLYGON))
            kels.append(kel)
        return kecs, kels, sources


_cache_lock = threading.Lock()
_cache: dict[str, AreaIndex] = {}


def polygons_version(conn: Connection | Session) -> tuple:
    """Changes whenever the stored polygons change (a key for caches). Polygons change only by
    an import, which replaces a level's rows (new ids, a new ``imported_at``), so counting and
    the newest id and time tell; no scan of the geometry text (this runs for every located row
    written, and a city's kelurahan polygons are megabytes)."""
    a = Area.__table__
    row = conn.execute(select(func.count(), func.max(a.c.id), func.max(a.c.imported_at))).one()
    return tuple(str(v) for v in row)


def load_index(conn: Connection | Session) -> AreaIndex:
    """The polygon index of the database ``conn`` reads (cached while ``areas`` is unchanged;
    inside an import's transaction the new polygons are seen at once)."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    key = str(bind.engine.url) if hasattr(bind, "engine") else str(bind.url)
    version = polygons_version(conn)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.version == version:
            return cached
    a = Area.__table__
    rows = conn.execute(
        select(a.c.level, a.c.name, a.c.parent, a.c.geometry, a.c.area_km2).order_by(
            a.c.level, a.c.name
        )
    ).all()
    levels = {str(lv): _Level() for lv in AreaLevel}
    for level, name, parent, geometry, km2 in rows:
        lv = levels.setdefault(level, _Level())
        lv.names.append(name)
        lv.parents.append(parent)
        lv.geoms.append(shape(json.loads(geometry)))
        lv.areas = np.append(lv.areas, km2)
    for lv in levels.values():
        if lv.geoms:
            shapely.prepare(lv.geoms)
            lv.tree = shapely.STRtree(lv.geoms)
    index = AreaIndex(version, levels)
    with _cache_lock:
        _cache[key] = index
    return index


def assign_point(
    session: Session | Connection, lat: float | None, lon: float | None
) -> tuple[str | None, str | None]:
    """(kecamatan, kelurahan) of the polygons holding a point; (None, None) outside every
    polygon, without a point, or with no boundaries loaded (the caller then keeps the
    kecamatan string the source gave)."""
    if lat is None or lon is None:
        return None, None
    index = load_index(session)
    if index.empty:
        return None, None
    kecs, kels, sources = index.resolve([lon], [lat], [None])
    return (kecs[0] if sources[0] == AreaSource.POLYGON else None), kels[0]


def locate_row(conn: Session | Connection, row: Any, typed: str | None) -> None:
    """Set ``kecamatan``/``kelurahan``/``area_source`` of an ORM row from its point, keeping
    ``typed`` (the source's string) in ``kecamatan_input`` as the fallback."""
    row.kecamatan_input = typed
    lat, lon = getattr(row, "lat", None), getattr(row, "lon", None)
    index = load_index(conn) if lat is not None and lon is not None else None
    if index is None or index.empty:
        row.kecamatan, row.kelurahan, row.area_source = typed, None, str(AreaSource.INPUT)
        return
    kecs, kels, sources = index.resolve([lon], [lat], [typed])
    row.kecamatan, row.kelurahan, row.area_source = kecs[0], kels[0], sources[0]


def _history_changed(row: Any, *names: str) -> bool:
    state = inspect(row)
    return any(state.attrs[n].history.has_changes() for n in names)


def _before_insert(_mapper, connection: Connection, row: Any) -> None:
    typed = row.kecamatan_input if row.kecamatan_input is not None else row.kecamatan
    locate_row(connection, row, typed)


def _before_update(_mapper, connection: Connection, row: Any) -> None:
    if _history_changed(row, "kecamatan"):
        typed = row.kecamatan  # a writer set the string: it is the new input
    elif _history_changed(row, "kecamatan_input") or row.area_source is not None:
        typed = row.kecamatan_input
    else:
        typed = row.kecamatan  # written before locating existed: its string is the input
    if _history_changed(row, "lat", "lon", "kecamatan", "kecamatan_input") or (
        row.area_source is None
    ):
        locate_row(connection, row, typed)


for _model in LOCATED_MODELS:
    event.listen(_model, "before_insert", _before_insert)
    event.listen(_model, "before_update", _before_update)


# --------------------------------------------------------------------------------------------
# Import and reassignment
# --------------------------------------------------------------------------------------------
@dataclass
class ImportSummary:
    levels: dict[str, int]  # features stored per level replaced
    reassigned: dict[str, int]  # rows whose kecamatan/kelurahan changed, per table
    located: dict[str, int]  # rows inside a kecamatan polygon, per table


def _parents(features: list[AreaFeature], session: Session) -> dict[int, str | None]:
    """A kelurahan's kecamatan: its ``kecamatan`` property, else the kecamatan polygon holding
    its representative point (from the file, or the stored ones)."""
    kec = [f for f in features if f.level == AreaLevel.KECAMATAN]
    if kec:
        lv = _Level(
            names=[f.name for f in kec],
            parents=[None] * len(kec),
            areas=np.array([_km2(f.geometry) for f in kec]),
            geoms=[f.geometry for f in kec],
        )
        lv.tree = shapely.STRtree(lv.geoms)
    else:
        lv = load_index(session).levels[AreaLevel.KECAMATAN]
    out: dict[int, str | None] = {}
    for f in features:
        if f.level != AreaLevel.KELURAHAN:
            continue
        if f.parent:
            out[f.index] = f.parent
            continue
        p = f.geometry.representative_point()
        i = lv.locate(np.array([p.x]), np.array([p.y]))[0]
        out[f.index] = lv.names[i] if i >= 0 else None
    return out


def store_areas(
    session: Session,
    features: list[AreaFeature],
    *,
    is_demo: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Replace the levels present in ``features`` (each level wholly; other levels stay) and
    reassign every located row, in the caller's transaction: an error anywhere leaves the old
    polygons and assignments as they were."""
    now = now or datetime.now(UTC)
    levels = sorted({f.level for f in features})
    parents = _parents(features, session)
    table = Area.__table__
    session.execute(delete(table).where(table.c.level.in_(levels)))
    rows = []
    for f in features:
        minx, miny, maxx, maxy = f.geometry.bounds
        rows.append(
            {
                "level": f.level,
                "name": f.name,
                "code": f.code,
                "parent": parents.get(f.index),
                "geometry": json.dumps(mapping(f.geometry), separators=(",", ":")),
                "area_km2": round(_km2(f.geometry), 4),
                "min_lon": minx,
                "min_lat": miny,
                "max_lon": maxx,
                "max_lat": maxy,
                "is_demo": is_demo,
                "imported_at": now,
            }
        )
    session.execute(insert(table), rows)
    counts = {lv: sum(1 for f in features if f.level == lv) for lv in levels}
    logger.info("areas stored: %s", counts)
    reassigned, located = reassign_all(session, progress=progress)
    return ImportSummary(counts, reassigned, located)


def import_areas(
    session: Session, path: Path, *, is_demo: bool = False, progress: Progress | None = None
) -> ImportSummary:
    """Validate a boundaries file completely, then replace its levels and reassign."""
    return store_areas(session, read_areas_file(path), is_demo=is_demo, progress=progress)


BATCH = 20_000


def reassign_table(
    session: Session, model: Any, index: AreaIndex, progress: Progress | None = None
) -> tuple[int, int, int]:
    """Locate every row of one table again, ``BATCH`` rows at a time (memory stays bounded
    for a million complaints); writes only rows that change. Returns (rows changed, rows
    whose kecamatan changed, rows inside a kecamatan polygon)."""
    t = model.__table__
    total = session.scalar(select(func.count()).select_from(t)) or 0
    stage = f"kecamatan: {t.name}"
    if progress:
        progress(stage, 0, total)
    values: dict[str, Any] = {
        "kecamatan": bindparam("_kec"),
        "kecamatan_input": bindparam("_in"),
        "kelurahan": bindparam("_kel"),
        "area_source": bindparam("_src"),
    }
    if "updated_at" in t.c:  # not an edit of the row: its onupdate stamp must not move
        values["updated_at"] = t.c.updated_at  # (closed complaints would return to the map)
    stmt = (
        update(t)
        .where(t.c.id == bindparam("_id"))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    conn = session.connection()
    cols = (t.c.id, t.c.lat, t.c.lon, t.c.kecamatan, t.c.kecamatan_input, t.c.kelurahan,
            t.c.area_source)  # fmt: skip
    n_changed = kec_changed = located = done = 0
    last_id = None
    while True:
        q = select(*cols).order_by(t.c.id).limit(BATCH)
        if last_id is not None:
            q = q.where(t.c.id > last_id)
        rows = conn.execute(q).all()
        if not rows:
            break
        last_id = rows[-1][0]
        # a row never located (area_source NULL) holds the source's string in kecamatan
        typed = [r[4] if r[6] is not None else r[3] for r in rows]
        kecs, kels, sources = index.resolve([r[2] for r in rows], [r[1] for r in rows], typed)
        changed = []
        for r, given, kec, kel, src in zip(rows, typed, kecs, kels, sources, strict=True):
            located += src == AreaSource.POLYGON
            kec_changed += r[3] != kec
            if (r[3], r[4], r[5], r[6]) != (kec, given, kel, src):
                changed.append({"_id": r[0], "_kec": kec, "_in": given, "_kel": kel, "_src": src})
        if changed:
            conn.execute(stmt, changed)
        n_changed += len(changed)
        done += len(rows)
        if progress:
            progress(stage, min(done, total), total)
    if progress:
        progress(stage, total, total)
    return n_changed, kec_changed, located


def reassign_all(
    session: Session, *, progress: Progress | None = None, rollups: bool = True
) -> tuple[dict[str, int], dict[str, int]]:
    """Locate every camera, incident, complaint and sensor again (after an areas import),
    then rebuild what is summed by kecamatan (area_rollups from the camera rollups,
    complaint_area_days). Returns (rows changed, rows inside a polygon) per table."""
    session.flush()
    index = load_index(session)
    changed: dict[str, int] = {}
    moved: dict[str, int] = {}  # rows whose kecamatan changed (kelurahan alone sums nothing)
    located: dict[str, int] = {}
    for model in LOCATED_MODELS:
        name = model.__tablename__
        changed[name], moved[name], located[name] = reassign_table(session, model, index, progress)
    session.expire_all()  # ORM objects loaded before see the new values
    if rollups and moved.get("cameras"):
        from store.rollups import refresh_area_rollups

        if progress:
            progress("rekap kecamatan / area rollups", 0, 1)
        refresh_area_rollups(session, periods=("hour", "day"))
        if progress:
            progress("rekap kecamatan / area rollups", 1, 1)
    if rollups and moved.get("complaints"):
        from store.complaints import rebuild_area_days

        rebuild_area_days(session)
    logger.info("reassigned: %s (inside a polygon: %s)", changed, located)
    return changed, located


def areas_geojson(session: Session, level: str = AreaLevel.KECAMATAN) -> dict[str, Any]:
    """The stored polygons of one level as a FeatureCollection (name, code, parent, km²,
    is_demo as properties)."""
    a = Area.__table__
    rows = session.execute(
        select(a.c.name, a.c.code, a.c.parent, a.c.area_km2, a.c.is_demo, a.c.geometry)
        .where(a.c.level == str(level))
        .order_by(a.c.name)
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(geometry),
                "properties": {
                    "name": name,
                    "code": code,
                    "kecamatan": parent,
                    "area_km2": km2,
                    "demo": bool(demo),
                },
            }
            for name, code, parent, km2, demo, geometry in rows
        ],
    }
