"""Boundary files: the GeoJSON a city imports with ``pantau import areas``, validated
completely before anything is written (``store.areas`` stores them and reassigns rows).

Every problem is reported with the feature's index (0-based), its name and why: not a
FeatureCollection, empty or duplicate names (per level, case-insensitive), unknown level, a
geometry that is not a Polygon/MultiPolygon, positions outside WGS84 (with a hint when lat and
lon look swapped), open or short rings, polygons without area, invalid polygons with shapely's
``explain_validity``. Files are bounded in bytes, features and vertices.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from store.models import AreaLevel
from store.rejections import AllOrNothingError

logger = logging.getLogger(__name__)

#: files over this size are refused before they are parsed
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_FEATURES = 5000
MAX_VERTICES = 2_000_000
NAME_MAX = 100
CODE_MAX = 32
LEVELS = tuple(str(level) for level in AreaLevel)


class AreasImportError(AllOrNothingError):
    """A boundaries file that cannot be imported; ``errors`` lists every problem found."""


@dataclass(frozen=True)
class AreaFeature:
    """One validated feature of a boundaries file."""

    index: int  # 0-based position in the file's ``features``
    level: str
    name: str
    code: str | None
    parent: str | None
    geometry: Any  # shapely Polygon/MultiPolygon


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def _km2(geom: Any) -> float:
    """Area in km² on a local equirectangular projection (plenty for a city's districts)."""
    lat0 = math.radians(geom.centroid.y)
    kx, ky = 111.320 * math.cos(lat0), 110.574
    projected = shapely.transform(geom, lambda xy: xy * np.array([kx, ky]))
    return float(projected.area)


def _check_positions(rings: list, where: str, errors: list[str]) -> int:
    """Check every [lon, lat] of a polygon's rings; returns the vertex count."""
    n = 0
    for r, ring in enumerate(rings):
        if not isinstance(ring, list) or len(ring) < 4:
            errors.append(f"{where}: ring {r} needs at least 4 positions (a closed ring)")
            continue
        for pos in ring:
            n += 1
            if (
                not isinstance(pos, list)
                or len(pos) < 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos[:2])
                or not all(math.isfinite(v) for v in pos[:2])
            ):
                errors.append(f"{where}: ring {r} has a position that is not [lon, lat]: {pos!r}")
                return n
            lon, lat = pos[0], pos[1]
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                hint = (
                    " (lat/lon swapped? GeoJSON positions are [lon, lat])"
                    if -90 <= lon <= 90 and -180 <= lat <= 180
                    else ""
                )
                errors.append(
                    f"{where}: position [{lon}, {lat}] is outside WGS84 "
                    f"(lon -180..180, lat -90..90){hint}"
                )
                return n
        if ring[0][:2] != ring[-1][:2]:
            errors.append(f"{where}: ring {r} is not closed (first and last positions differ)")
    return n


def parse_areas(doc: Any) -> list[AreaFeature]:
    """Validate a GeoJSON document completely; raise AreasImportError listing every problem
    (feature index, name and why), or return the features."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise AreasImportError(["the file is not a GeoJSON FeatureCollection"])
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise AreasImportError(["the FeatureCollection has no features"])
    if len(features) > MAX_FEATURES:
        raise AreasImportError([f"{len(features)} features: at most {MAX_FEATURES} a file"])
    errors: list[str] = []
    out: list[AreaFeature] = []
    seen: dict[tuple[str, str], int] = {}
    vertices = 0
    for i, feat in enumerate(features):
        props = feat.get("properties") if isinstance(feat, dict) else None
        props = props if isinstance(props, dict) else {}
        raw_name = props.get("name")
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        where = f"feature {i} ({name!r})" if name else f"feature {i}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            errors.append(f"{where}: not a GeoJSON Feature")
            continue
        if not name:
            errors.append(f"{where}: property 'name' is missing or empty")
        elif len(name) > NAME_MAX:
            errors.append(f"{where}: name longer than {NAME_MAX} characters")
        level = str(props.get("level") or "").strip().lower()
        if level not in LEVELS:
            errors.append(
                f"{where}: property 'level' must be one of {', '.join(LEVELS)}, "
                f"got {props.get('level')!r}"
            )
        code = props.get("code")
        code = str(code).strip() if code not in (None, "") else None
        if code and len(code) > CODE_MAX:
            errors.append(f"{where}: code longer than {CODE_MAX} characters")
        parent = props.get("kecamatan")
        parent = parent.strip() if isinstance(parent, str) and parent.strip() else None
        geom = feat.get("geometry")
        gtype = geom.get("type") if isinstance(geom, dict) else None
        if gtype not in ("Polygon", "MultiPolygon"):
            errors.append(
                f"{where}: geometry type {gtype or 'missing'}: only Polygon or MultiPolygon"
            )
            continue
        coords = geom.get("coordinates")
        polys = [coords] if gtype == "Polygon" else coords
        if not isinstance(polys, list) or not polys:
            errors.append(f"{where}: empty {gtype}")
            continue
        before = len(errors)
        for p, rings in enumerate(polys):
            label = where if gtype == "Polygon" else f"{where} part {p}"
            if not isinstance(rings, list) or not rings:
                errors.append(f"{label}: polygon without rings")
                continue
            vertices += _check_positions(rings, label, errors)
        if vertices > MAX_VERTICES:
            raise AreasImportError([*errors, f"more than {MAX_VERTICES:,} vertices in the file"])
        if len(errors) > before:
            continue
        try:
            shp = shape(geom)
        except Exception as exc:  # noqa: BLE001 - shapely's messages name the problem
            errors.append(f"{where}: geometry cannot be read ({exc})")
            continue
        if not shp.is_empty and not shp.is_valid:
            errors.append(f"{where}: invalid polygon: {explain_validity(shp)}")
            continue
        if shp.is_empty or shp.area <= 0:
            errors.append(f"{where}: the polygon is empty (no area)")
            continue
        if name and level in LEVELS:
            key = (level, name.casefold())
            if key in seen:
                errors.append(f"{where}: {level} {name!r} already defined by feature {seen[key]}")
                continue
            seen[key] = i
        out.append(AreaFeature(i, level, name, code, parent, shp))
    if errors:
        raise AreasImportError(errors)
    return out


def read_areas_file(path: Path) -> list[AreaFeature]:
    """Read and validate a boundaries file (size bounded before it is parsed)."""
    if not path.is_file():
        raise AreasImportError([f"{path}: file not found"])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise AreasImportError(
            [f"{path.name}: {size:,} bytes, at most {MAX_FILE_BYTES:,} (simplify the polygons)"]
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise AreasImportError([f"{path.name}: not valid JSON ({exc})"]) from exc
    return parse_areas(doc)
