"""Approximate demo kecamatan boundaries for the demo city (no real boundaries ship here).

Built, deterministically, from the camera registry in data/: the Voronoi cells of the cameras,
merged per kecamatan named in the registry and clipped to an outline (the cameras' hull widened
by ~3 km). Every camera falls in its own kecamatan; the lines between kecamatan are NOT the
real ones. Stored with ``is_demo`` and drawn labelled as demo; a city replaces them with
``pantau import areas``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, Point
from shapely.ops import unary_union

from pantau.settings import DATA_DIR
from store.areas import AreaFeature

logger = logging.getLogger(__name__)

OUTLINE_MARGIN_DEG = 0.03  # ~3.3 km around the outermost cameras


def demo_kecamatan(registry: Path | None = None) -> list[AreaFeature]:
    """Demo kecamatan polygons from a camera registry CSV (code, lat, lon, kecamatan)."""
    registry = registry or DATA_DIR / "cameras_palembang.csv"
    points: list[tuple[float, float, str]] = []
    with registry.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kec = (row.get("kecamatan") or "").strip()
            if kec:
                points.append((float(row["lon"]), float(row["lat"]), kec))
    hull = MultiPoint([(x, y) for x, y, _ in points]).convex_hull
    outline = hull.buffer(OUTLINE_MARGIN_DEG, quad_segs=4)
    cells = shapely.voronoi_polygons(
        MultiPoint([(x, y) for x, y, _ in points]), extend_to=outline.envelope
    )
    by_kec: dict[str, list] = {}
    for cell in cells.geoms:
        owner = next(k for x, y, k in points if cell.covers(Point(x, y)))
        by_kec.setdefault(owner, []).append(cell)
    features = []
    for i, (kec, parts) in enumerate(sorted(by_kec.items())):
        geom = shapely.make_valid(unary_union(parts).intersection(outline))
        geom = shapely.set_precision(geom, 1e-6)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            geom = unary_union([g for g in getattr(geom, "geoms", [geom]) if g.area > 0])
        features.append(AreaFeature(i, "kecamatan", kec, None, None, geom))
    return features
