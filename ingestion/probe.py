""" "Uji kamera": fetch ONE frame of a camera with ingestion's own fetch path and timeouts, run
the analytics on it (history-free counts, like ``pantau analyze``) and return the annotated
preview and the counts. Runs in a worker thread with a hard bound, so a dead or hanging camera
gives an error within the bound and never holds the caller longer."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.process import CameraSpec
from pantau.settings import Settings

logger = logging.getLogger(__name__)

#: Tests running at once in this process: each holds a web server thread for up to its bound,
#: so a burst of clicks cannot take every thread of the dashboard.
MAX_CONCURRENT = 4
_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


@dataclass
class ProbeResult:
    ok: bool
    error: str = ""
    preview_jpeg: bytes | None = None  # annotated frame
    raw_jpeg: bytes | None = None  # the frame as fetched (background of the ROI editor)
    width: int = 0
    height: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0


def bound_s(settings: Settings) -> float:
    """How long a test may take at most: the fetch timeouts plus a margin for the analysis."""
    return float(settings.connect_timeout_s + settings.read_timeout_s + 10.0)


def _run(spec: CameraSpec, settings: Settings) -> ProbeResult:
    import cv2

    from analytics.annotate import annotate
    from analytics.pipeline import Analyser
    from ingestion.fetch import fetch_sample
    from ingestion.sources import SourceError, encode_jpeg

    t0 = time.monotonic()
    if not spec.url:
        return ProbeResult(False, "no stream URL / URL aliran kosong")
    try:
        frame = fetch_sample({}, spec, settings).decode().frames[-1]
    except SourceError as exc:
        return ProbeResult(False, str(exc), elapsed_s=time.monotonic() - t0)
    model = settings.mediapipe_model_path
    try:
        analyser = Analyser(
            spec.analytics,
            detector=spec.analytics.get("detector") or settings.detector,
            model_path=str(model) if model and Path(model).is_file() else None,
            cold_start="history-free",
        )
        result = analyser.analyse(frame, time.time())
    except Exception as exc:  # a config the analytics refuse, a detector that fails
        logger.warning("camera test of %s: analysis failed: %s", spec.code, exc)
        return ProbeResult(False, f"analysis failed: {exc}", elapsed_s=time.monotonic() - t0)
    from zoneinfo import ZoneInfo

    from ingestion.process import TZ_LABELS

    ts = datetime.now(UTC)
    label = TZ_LABELS.get(settings.timezone, settings.timezone)
    annotated = annotate(
        frame, result, analyser.config, ts, tz_label=label, tz=ZoneInfo(settings.timezone)
    )
    h, w = frame.shape[:2]
    counts = {
        "people": result.people,
        "vehicles": result.vehicles_total,
        "water_coverage": result.water_coverage,
        "count_path": result.count_path,
        "rois": [{"name": r.name, "people": r.people, "vehicles": r.vehicles} for r in result.rois],
        "detector": analyser.name,
        "ts": ts.isoformat(),
    }
    ok, raw = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return ProbeResult(
        True,
        preview_jpeg=encode_jpeg(annotated),
        raw_jpeg=bytes(raw) if ok else None,
        width=w,
        height=h,
        counts=counts,
        elapsed_s=time.monotonic() - t0,
    )


def probe(spec: CameraSpec, settings: Settings, bound: float | None = None) -> ProbeResult:
    """Fetch and analyse one frame; an error (never an exception) when the camera fails or the
    whole test takes longer than ``bound`` seconds (default :func:`bound_s`)."""
    limit = bound if bound is not None else bound_s(settings)
    box: list[ProbeResult] = []
    if not _slots.acquire(blocking=False):
        return ProbeResult(
            False,
            f"{MAX_CONCURRENT} tests are already running; try again in a moment / "
            f"{MAX_CONCURRENT} uji sedang berjalan, coba lagi sebentar lagi",
        )

    def work() -> None:
        try:
            box.append(_run(spec, settings))
        except Exception as exc:  # pragma: no cover - anything else: reported, not raised
            logger.exception("camera test of %s failed", spec.code)
            box.append(ProbeResult(False, f"{type(exc).__name__}: {exc}"))
        finally:
            _slots.release()  # when the work ends, also after the caller stopped waiting

    t0 = time.monotonic()
    thread = threading.Thread(target=work, name=f"pantau-probe-{spec.code}", daemon=True)
    thread.start()
    thread.join(limit)
    if not box:
        return ProbeResult(
            False,
            f"no answer within {limit:.0f} s / tidak ada jawaban dalam {limit:.0f} detik",
            elapsed_s=time.monotonic() - t0,
        )
    return box[0]
