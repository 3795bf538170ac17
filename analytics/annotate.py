"""Draw detections, ROIs, counting lines, counts and a timestamp on a copy of a frame
(the dashboard's annotated snapshot). Blur for privacy *before* annotating public output."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timezone

import cv2
import numpy as np

from analytics.types import PERSON, AnalyticsConfig, FrameResult, validate_frame

logger = logging.getLogger(__name__)

COLOURS: dict[str, tuple[int, int, int]] = {
    PERSON: (0, 200, 255),
    "car": (255, 160, 0),
    "motorcycle": (255, 0, 200),
    "bus": (0, 120, 255),
    "truck": (60, 60, 255),
    "bicycle": (200, 255, 0),
}


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float) -> None:
    # the dark outline is hidden under the anti-aliased white text: a plain LINE_8 stroke looks
    # the same and costs 0.13 ms instead of 0.44 ms per call (4 calls per snapshot)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_8)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def annotate(
    frame: np.ndarray,
    result: FrameResult | None = None,
    config: AnalyticsConfig | None = None,
    ts: float | datetime | None = None,
    tz_label: str = "UTC",
    tz: timezone | None = None,
) -> np.ndarray:
    """Annotated copy of ``frame``. ``ts`` (epoch seconds or datetime) defaults to ``result.ts``;
    it is shown in ``tz`` (UTC by default) followed by ``tz_label`` (e.g. "WIB")."""
    validate_frame(frame)
    img = frame.copy()
    h, w = img.shape[:2]
    scale = max(0.4, w / 1280.0)
    overlay = img.copy()
    tinted: list[np.ndarray] = []
    if config is not None:
        for roi in config.rois:
            pts = roi.polygon.to_pixels(w, h)
            tinted.append(pts)
            colour = (0, 255, 0) if roi.kind != "road" else (255, 200, 0)
            cv2.fillPoly(overlay, [pts], colour)
            cv2.polylines(img, [pts], True, colour, 1, cv2.LINE_AA)
        if config.flood_region is not None:
            cv2.polylines(
                img, [config.flood_region.to_pixels(w, h)], True, (255, 80, 0), 1, cv2.LINE_AA
            )
        for line in config.lines:
            a, b = line.to_pixels(w, h)
            pa, pb = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
            cv2.arrowedLine(img, pa, pb, (0, 0, 255), 2, cv2.LINE_AA, tipLength=0.03)
            if result is not None and line.name in result.line_crossings:
                c = result.line_crossings[line.name]
                _text(
                    img,
                    f"{line.name}: " + " ".join(f"{k} {v}" for k, v in c.items()),
                    (pa[0] + 4, pa[1] + 16),
                    scale * 0.6,
                )
        if tinted:  # blend only the ROIs' bounding box (the rest of the overlay is the frame)
            rx, ry, bw, bh = cv2.boundingRect(np.concatenate(tinted).astype(np.int32))
            x0, y0, x1, y1 = max(0, rx), max(0, ry), min(w, rx + bw), min(h, ry + bh)
            if x1 > x0 and y1 > y0:
                img[y0:y1, x0:x1] = cv2.addWeighted(
                    overlay[y0:y1, x0:x1], 0.18, img[y0:y1, x0:x1], 0.82, 0
                )
    if result is not None:
        for d in result.detections:
            x, y, bw, bh = d.box
            colour = COLOURS.get(d.label, (255, 255, 255))
            cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, 2)
        parts = [f"orang {result.people}", f"kendaraan {result.vehicles_total}"]
        if result.water_coverage is not None:
            parts.append(f"genangan {result.water_coverage * 100:.0f}%")
        _text(img, "  ".join(parts), (8, h - 10), scale * 0.7)
    when = ts if ts is not None else (result.ts if result is not None else None)
    if when is not None:
        dt = when if isinstance(when, datetime) else datetime.fromtimestamp(float(when), tz=UTC)
        if tz is not None:
            dt = dt.astimezone(tz)
        _text(
            img,
            dt.strftime("%Y-%m-%d %H:%M:%S ") + tz_label,
            (8, int(22 * scale / 0.5)),
            scale * 0.7,
        )
    return img
