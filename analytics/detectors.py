"""Pluggable object detectors behind one small interface.

``Detector.detect(frame, regions=None) -> list[Detection]``; ``regions`` are motion boxes (full
frame pixels) that a detector may restrict itself to. Detectors may keep per-camera state (the
background model of the blob detector), so make one per camera with :func:`make_detector`.

Registered names (``available_detectors()`` tells which work on this machine):

- ``mediapipe``: MediaPipe Tasks ObjectDetector with an EfficientDet-Lite COCO ``.tflite`` file.
- ``hog``: OpenCV's default people SVM on upscaled motion regions, with non-max suppression.
- ``blob``: foreground against a small per-pixel mean + spread background (``analytics.blobs``,
  serialisable), blobs split by the expected person size at their image row (a perspective
  model), big wide blobs classed as vehicles by size. Needs history (``needs_history``).
- ``blob-mog2``: the same splitting on OpenCV's MOG2 mixture (the older ``blob``).
- ``blob+hog``: blobs, with HOG run on the motion regions to confirm/split people groups.
- ``auto``: ``mediapipe`` when its model file exists and loads, else ``blob`` (same MAE as
  ``blob+hog`` on the vtest fixture, and 3-4x cheaper).

:func:`make_history_free_detector` gives the detector for a frame without history (one image,
a cold camera): MediaPipe when its model loads, else full-frame HOG upscaled for small people.

A stateful detector exposes its per-camera state as ``state() -> (scalars, arrays)`` and
``load(scalars, arrays)`` (see ``analytics.state``) and tells with ``warm`` whether it has
enough history to count.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from analytics.types import PERSON, Box, Detection, validate_frame

if TYPE_CHECKING:
    from analytics.blobs import BackgroundBlobDetector

logger = logging.getLogger(__name__)

COCO_TO_PANTAU: dict[str, str] = {
    "person": "person",
    "car": "car",
    "motorcycle": "motorcycle",
    "bus": "bus",
    "truck": "truck",
    "bicycle": "bicycle",
}
"""COCO category names kept by the MediaPipe detector (others are dropped)."""

MODEL_PATH_ENV = "PANTAU_DETECTOR_MODEL"


class DetectorUnavailable(RuntimeError):
    """Raised when a detector cannot run here; ``str(exc)`` says why."""


class Detector(ABC):
    """One detector instance per camera (it may hold background state)."""

    name: str = "detector"
    needs_history: bool = False
    """True when the detector counts nothing useful until it has seen a few frames."""
    accepts_scaled: bool = False
    """True when ``detect``/``observe``/``warm_up`` work from a reduced copy of the frame
    (an :class:`analytics.imaging.ScaledFrame` at least :meth:`reduced_size`): no full
    decode for them. Others get the full frame."""

    def reduced_size(self, width: int, height: int) -> tuple[int, int]:
        """Smallest copy (w, h) of a ``width`` x ``height`` frame this detector works from
        (only meaningful with ``accepts_scaled``)."""
        return width, height

    @property
    def warm(self) -> bool:
        """Has enough history to count (always, for detectors that need none)."""
        return True

    def warm_up(self, frames: Sequence[np.ndarray]) -> None:  # noqa: B027 - optional hook
        """Learn from a short burst of frames at once (detectors with history)."""

    def params(self) -> dict[str, Any]:
        """What changes the meaning of this detector's state (part of the state fingerprint)."""
        return {"name": self.name}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able scalars, uint8 arrays) carried from one sample to the next."""
        return {}, {}

    def load(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:  # noqa: B027
        """Restore :meth:`state` output; raise ValueError when it does not fit."""

    @abstractmethod
    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        """Objects in ``frame`` (BGR uint8). ``regions``: optional motion boxes to focus on."""

    def observe(self, frame: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Let a stateful detector learn from a frame it is not asked to detect on."""

    def reset(self) -> None:  # noqa: B027 - optional hook
        """Forget any per-camera state (e.g. after a lighting change or camera move)."""


# --------------------------------------------------------------------------------------------
# geometry helpers


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def non_max_suppression(dets: Sequence[Detection], iou_threshold: float = 0.4) -> list[Detection]:
    """Greedy NMS per label (keeps the highest score)."""
    if not dets:
        return []
    boxes = [list(d.box) for d in dets]
    scores = [float(d.score) for d in dets]
    keep = cv2.dnn.NMSBoxes(boxes, scores, 0.0, iou_threshold)
    return [dets[int(i)] for i in np.asarray(keep).reshape(-1)]


def _clip_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> Box:
    xa, ya = max(0, int(round(x0))), max(0, int(round(y0)))
    xb, yb = min(w, int(round(x1))), min(h, int(round(y1)))
    return (xa, ya, max(0, xb - xa), max(0, yb - ya))


# --------------------------------------------------------------------------------------------
# perspective model


class PersonSizeModel:
    """Expected standing-person height in pixels as a function of the box's bottom row.

    ``h(y) = H * (a + b * y / H)`` for a ``W`` x ``H`` frame: a linear perspective model that fits
    the usual elevated CCTV view. The defaults suit a pole/building camera looking down at
    15-35 degrees; override per camera with two (bottom_row_fraction, height_fraction) pairs.
    """

    def __init__(self, a: float = 0.03, b: float = 0.22, width_ratio: float = 0.42) -> None:
        self.a, self.b, self.width_ratio = a, b, width_ratio
        self.calibrated = False
        """True when ``a``, ``b`` come from this camera's perspective (marks or a learned
        fit): vehicles are then also recognised by their size in metres."""

    @classmethod
    def from_points(cls, p1: tuple[float, float], p2: tuple[float, float]) -> PersonSizeModel:
        """From two (bottom_y_fraction, height_fraction) observations."""
        (y1, h1), (y2, h2) = p1, p2
        if y1 == y2:
            raise ValueError("person size points need two different rows")
        b = (h2 - h1) / (y2 - y1)
        return cls(a=h1 - b * y1, b=b)

    def height(self, bottom_y: float, frame_h: int) -> float:
        return max(8.0, frame_h * (self.a + self.b * bottom_y / frame_h))

    def on_ground(self, bottom_y: float, frame_h: int) -> bool:
        """False for a foot row at or just below the horizon (where the model's height
        reaches 0): nothing standing on the ground has its feet there. A pole camera's
        horizon lies above the picture; a low camera's crosses it."""
        return frame_h * self.a + self.b * bottom_y > 0.02 * frame_h * max(self.b, 1e-6)

    def metres_per_px(self, bottom_y: float, frame_h: int) -> float:
        """Ground scale at a row: a person (1.7 m) is :meth:`height` pixels tall there."""
        return 1.7 / self.height(bottom_y, frame_h)

    def width(self, bottom_y: float, frame_h: int) -> float:
        return self.height(bottom_y, frame_h) * self.width_ratio


# --------------------------------------------------------------------------------------------
# MediaPipe


class MediaPipeObjectDetector(Detector):
    """MediaPipe Tasks ObjectDetector (EfficientDet-Lite0/2 COCO ``.tflite``).

    Raises :class:`DetectorUnavailable` when the model file is missing or does not load.
    """

    name = "mediapipe"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None,
        score_threshold: float = 0.35,
        max_results: int = 100,
    ) -> None:
        if not model_path:
            raise DetectorUnavailable(
                f"mediapipe: no model path given (set {MODEL_PATH_ENV} or the camera's model_path "
                "to an EfficientDet-Lite COCO .tflite file)"
            )
        path = Path(model_path)
        if not path.is_file():
            raise DetectorUnavailable(f"mediapipe: model file not found: {path}")
        try:
            import mediapipe as mp

            options = mp.tasks.vision.ObjectDetectorOptions(
                base_options=mp.tasks.BaseOptions(model_asset_path=str(path)),
                running_mode=mp.tasks.vision.RunningMode.IMAGE,
                max_results=max_results,
                score_threshold=score_threshold,
                category_allowlist=list(COCO_TO_PANTAU),
            )
            self._detector = mp.tasks.vision.ObjectDetector.create_from_options(options)
        except Exception as exc:  # mediapipe raises ValueError/RuntimeError for bad models
            raise DetectorUnavailable(f"mediapipe: cannot load model {path}: {exc}") from exc
        self._mp = mp
        self.model_path = str(path)

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        validate_frame(frame)
        rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        result = self._detector.detect(image)
        fh, fw = frame.shape[:2]
        out: list[Detection] = []
        for det in result.detections:
            if not det.categories:
                continue
            cat = det.categories[0]
            label = COCO_TO_PANTAU.get(str(cat.category_name))
            if label is None:
                continue
            bb = det.bounding_box
            box = _clip_box(
                bb.origin_x, bb.origin_y, bb.origin_x + bb.width, bb.origin_y + bb.height, fw, fh
            )
            out.append(Detection(label, float(cat.score or 0.0), box))
        return out

    def close(self) -> None:
        self._detector.close()


# --------------------------------------------------------------------------------------------
# HOG


class HogPeopleDetector(Detector):
    """OpenCV HOG + default people SVM, run on motion regions upscaled for small people.

    The SVM window is 64x128 with the person ~96 px tall inside it, so a region is upscaled until
    the expected person there is at least ``target_height`` px. Without regions the whole frame
    is scanned once (upscaled by ``full_frame_scale``), or, with ``full_frame_bands`` > 0, as
    that many horizontal bands (each tall enough for a person standing at its bottom row),
    each upscaled for the person size the perspective model expects there: what a frame
    without history gets (:func:`make_history_free_detector`).
    """

    name = "hog"

    def __init__(
        self,
        size_model: PersonSizeModel | None = None,
        target_height: float = 120.0,
        hit_threshold: float = 0.0,
        full_frame_scale: float = 1.0,
        max_upscale: float = 3.0,
        full_frame_bands: int = 0,
    ) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.size_model = size_model or PersonSizeModel()
        sm = self.size_model
        self._size_params = [sm.a, sm.b, sm.width_ratio]  # the configured model (fingerprint)
        self.target_height = target_height
        self.hit_threshold = hit_threshold
        self.full_frame_scale = full_frame_scale
        self.max_upscale = max_upscale
        self.full_frame_bands = int(full_frame_bands)

    def bands(self, fw: int, fh: int) -> list[Box]:
        """``full_frame_bands`` boxes covering the frame: band k holds the people whose feet
        are in the k-th horizontal slice (it reaches up one person height above the slice)."""
        edges = np.linspace(0, fh, self.full_frame_bands + 1).round().astype(int)
        out: list[Box] = []
        for y0, y1 in zip(edges[:-1], edges[1:], strict=True):
            top = max(0, int(y0 - 1.1 * self.size_model.height(float(y1), fh)))
            out.append((0, top, fw, int(y1) - top))
        return out

    def params(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size_model": list(self._size_params),
            "target_height": self.target_height,
            "hit_threshold": self.hit_threshold,
            "full_frame": [self.full_frame_scale, self.full_frame_bands],
            "max_upscale": self.max_upscale,
        }

    def _run(self, img: np.ndarray, scale: float, ox: int, oy: int) -> list[Detection]:
        if scale != 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        if img.shape[0] < 128 or img.shape[1] < 64:
            pad_y, pad_x = max(0, 128 - img.shape[0]), max(0, 64 - img.shape[1])
            img = cv2.copyMakeBorder(img, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
        rects, weights = self._hog.detectMultiScale(
            img, hitThreshold=self.hit_threshold, winStride=(8, 8), padding=(16, 16), scale=1.06
        )
        out: list[Detection] = []
        for (x, y, w, h), wt in zip(rects, np.asarray(weights).reshape(-1), strict=False):
            # the default SVM's window has ~16 px margins around the person at 64x128
            x0, y0 = x + 0.15 * w, y + 0.08 * h
            x1, y1 = x + 0.85 * w, y + 0.94 * h
            out.append(
                Detection(
                    PERSON,
                    float(1.0 / (1.0 + np.exp(-float(wt)))),
                    (
                        int(ox + x0 / scale),
                        int(oy + y0 / scale),
                        int((x1 - x0) / scale),
                        int((y1 - y0) / scale),
                    ),
                )
            )
        return out

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        validate_frame(frame)
        fh, fw = frame.shape[:2]
        dets: list[Detection] = []
        if regions is None and self.full_frame_bands > 0:
            regions = self.bands(fw, fh)
        if regions is None:
            dets = self._run(frame, self.full_frame_scale, 0, 0)
        else:
            for rx, ry, rw, rh in regions:
                hp = self.size_model.height(ry + rh, fh)
                mx, my = int(0.5 * hp * self.size_model.width_ratio) + 8, int(0.25 * hp) + 8
                x0, y0 = max(0, rx - mx), max(0, ry - my)
                x1, y1 = min(fw, rx + rw + mx), min(fh, ry + rh + my)
                if x1 - x0 < 8 or y1 - y0 < 8:
                    continue
                scale = float(np.clip(self.target_height / hp, 1.0, self.max_upscale))
                dets.extend(self._run(frame[y0:y1, x0:x1], scale, x0, y0))
        return non_max_suppression(dets, 0.35)


class BlobHogDetector(Detector):
    """Blobs from :class:`BackgroundBlobDetector`; HOG on the people blobs decides how many
    people a blob holds when HOG finds more than the size estimate (groups of people)."""

    name = "blob+hog"

    needs_history = True

    def __init__(
        self, blob: BackgroundBlobDetector | None = None, hog: HogPeopleDetector | None = None
    ) -> None:
        from analytics.blobs import BackgroundBlobDetector

        self.blob = blob or BackgroundBlobDetector()
        self.hog = hog or HogPeopleDetector(size_model=self.blob.size_model)

    @property
    def warm(self) -> bool:
        return self.blob.warm

    def warm_up(self, frames: Sequence[np.ndarray]) -> None:
        self.blob.warm_up(frames)

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "blob": self.blob.params()}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.blob.state()

    def load(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.blob.load(meta, arrays)

    def reset(self) -> None:
        self.blob.reset()

    def observe(self, frame: np.ndarray) -> None:
        self.blob.observe(frame)

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        blobs = self.blob.detect(frame, regions)
        people = [d for d in blobs if d.label == PERSON]
        others = [d for d in blobs if d.label != PERSON]
        if not people:
            return others
        # group split boxes back to their blob (same y/h) and look for HOG people inside it
        groups: dict[tuple[int, int], list[Detection]] = {}
        for d in people:
            groups.setdefault((d.box[1], d.box[3]), []).append(d)
        out = list(others)
        for members in groups.values():
            xs = [m.box[0] for m in members]
            x0 = min(xs)
            x1 = max(m.box[0] + m.box[2] for m in members)
            y0, hh = members[0].box[1], members[0].box[3]
            blob_box = (x0, y0, x1 - x0, hh)
            hog_hits = [
                h for h in self.hog.detect(frame, [blob_box]) if _center_inside(h.box, blob_box)
            ]
            if len(hog_hits) > len(members):
                out.extend(hog_hits)
            else:
                out.extend(members)
        return out


def _center_inside(inner: Box, outer: Box) -> bool:
    cx, cy = inner[0] + inner[2] / 2, inner[1] + inner[3] / 2
    return outer[0] <= cx <= outer[0] + outer[2] and outer[1] <= cy <= outer[1] + outer[3]


# --------------------------------------------------------------------------------------------
# registry


DetectorFactory = Callable[..., Detector]


def _blob(**kw: Any) -> Detector:
    from analytics.blobs import BackgroundBlobDetector

    return BackgroundBlobDetector(**kw)


def _blob_mog2(**kw: Any) -> Detector:
    from analytics.blobs import Mog2BlobDetector

    return Mog2BlobDetector(**kw)


_REGISTRY: dict[str, DetectorFactory] = {
    "mediapipe": lambda model_path=None, **kw: MediaPipeObjectDetector(model_path, **kw),
    "hog": lambda model_path=None, **kw: HogPeopleDetector(**kw),
    "blob": lambda model_path=None, **kw: _blob(**kw),
    "blob-mog2": lambda model_path=None, **kw: _blob_mog2(**kw),
    "blob+hog": lambda model_path=None, **kw: BlobHogDetector(**kw),
}

BEST_OFFLINE = "blob"


def register_detector(name: str, factory: DetectorFactory) -> None:
    """Add a detector plugin: ``factory(model_path=None, **kwargs) -> Detector``."""
    _REGISTRY[name] = factory


def _resolve_model_path(model_path: str | os.PathLike[str] | None) -> str | None:
    return str(model_path) if model_path else os.environ.get(MODEL_PATH_ENV) or None


def available_detectors(model_path: str | os.PathLike[str] | None = None) -> dict[str, str | None]:
    """Every registered name -> ``None`` when usable here, else the reason it is not."""
    out: dict[str, str | None] = {}
    for name in _REGISTRY:
        if name == "mediapipe":
            try:
                MediaPipeObjectDetector(_resolve_model_path(model_path)).close()
                out[name] = None
            except DetectorUnavailable as exc:
                out[name] = str(exc)
        else:
            out[name] = None
    return out


def make_history_free_detector(
    model_path: str | os.PathLike[str] | None = None, bands: int = 5
) -> Detector:
    """The detector for a frame without history (one image, a cold camera): MediaPipe when its
    model file loads, else OpenCV's HOG people SVM over the whole frame in ``bands``
    horizontal bands, each upscaled so the people the perspective model expects there reach
    the SVM's window (vtest: MAE 0.65 on single cold frames, ~0.6 s CPU at 768x576)."""
    path = _resolve_model_path(model_path)
    if path:
        try:
            return MediaPipeObjectDetector(path)
        except DetectorUnavailable as exc:
            logger.warning("%s; history-free counting falls back to HOG", exc)
    return HogPeopleDetector(full_frame_bands=bands)


def make_detector(
    name: str = "auto", model_path: str | os.PathLike[str] | None = None, **kwargs: object
) -> Detector:
    """Build a fresh detector (one per camera). ``auto``: MediaPipe if its model loads, else
    the best OpenCV detector. Unknown names raise ``ValueError``; a named detector that cannot
    run raises :class:`DetectorUnavailable`."""
    path = _resolve_model_path(model_path)
    if name == "auto":
        if path:
            try:
                return MediaPipeObjectDetector(path)
            except DetectorUnavailable as exc:
                logger.warning("%s; falling back to %s", exc, BEST_OFFLINE)
        return _REGISTRY[BEST_OFFLINE](**kwargs)
    if name not in _REGISTRY:
        raise ValueError(f"unknown detector {name!r}; known: {sorted(_REGISTRY)} or 'auto'")
    return _REGISTRY[name](model_path=path, **kwargs)


def __getattr__(name: str) -> Any:
    """``BackgroundBlobDetector`` / ``Mog2BlobDetector`` live in ``analytics.blobs`` (which
    imports this module); importing them from here still works."""
    if name in ("BackgroundBlobDetector", "Mog2BlobDetector", "BlobSplitter"):
        from analytics import blobs

        return getattr(blobs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
