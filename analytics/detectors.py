"""Pluggable object detectors behind one small interface.

``Detector.detect(frame, regions=None) -> list[Detection]``; ``regions`` are motion boxes (full
frame pixels) that a detector may restrict itself to. Detectors may keep per-camera state (the
background model of the blob detector), so make one per camera with :func:`make_detector`.

Registered names (``available_detectors()`` tells which work on this machine):

- ``mediapipe``: MediaPipe Tasks ObjectDetector with an EfficientDet-Lite COCO ``.tflite`` file.
- ``hog``: OpenCV's default people SVM on upscaled motion regions, with non-max suppression.
- ``blob``: MOG2 background subtraction + morphology, blobs split by the expected person size at
  their image row (a perspective model), big wide blobs classed as vehicles by size.
- ``blob+hog``: blobs, with HOG run on the motion regions to confirm/split people groups.
- ``auto``: ``mediapipe`` when its model file exists and loads, else ``blob`` (same MAE as
  ``blob+hog`` on the vtest fixture, and 3-4x cheaper).
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from analytics.imaging import downscale
from analytics.types import PERSON, Box, Detection, validate_frame

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
    is scanned once (upscaled by ``full_frame_scale``).
    """

    name = "hog"

    def __init__(
        self,
        size_model: PersonSizeModel | None = None,
        target_height: float = 120.0,
        hit_threshold: float = 0.0,
        full_frame_scale: float = 1.0,
        max_upscale: float = 3.0,
    ) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.size_model = size_model or PersonSizeModel()
        self.target_height = target_height
        self.hit_threshold = hit_threshold
        self.full_frame_scale = full_frame_scale
        self.max_upscale = max_upscale

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


# --------------------------------------------------------------------------------------------
# background-subtraction blobs


class BackgroundBlobDetector(Detector):
    """MOG2 foreground blobs on a downscaled frame, split and classed by expected object size.

    Useful on static CCTV where people and vehicles are the only things that move. Needs a few
    frames to learn the background (``warm``); on the very first frame it returns nothing.
    Stationary objects fade into the background after roughly ``history`` samples.
    """

    name = "blob"

    def __init__(
        self,
        width: int = 320,
        history: int = 120,
        var_threshold: float = 24.0,
        size_model: PersonSizeModel | None = None,
        person_fill: float = 0.62,
        min_person_frac: float = 0.22,
        vehicle_aspect: float = 1.25,
        learning_rate: float = -1.0,
        background_ratio: float = 0.6,
    ) -> None:
        self.width = width
        self.background_ratio = background_ratio
        self.history = history
        self.var_threshold = var_threshold
        self.size_model = size_model or PersonSizeModel()
        self.person_fill = person_fill
        self.min_person_frac = min_person_frac
        self.vehicle_aspect = vehicle_aspect
        self.learning_rate = learning_rate
        self.frames_seen = 0
        self._mog: cv2.BackgroundSubtractorMOG2 | None = None
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 9))
        self.reset()

    def reset(self) -> None:
        self._mog = cv2.createBackgroundSubtractorMOG2(
            history=self.history, varThreshold=self.var_threshold, detectShadows=True
        )
        self._mog.setShadowThreshold(0.6)
        self._mog.setBackgroundRatio(self.background_ratio)
        self.frames_seen = 0

    @property
    def warm(self) -> bool:
        return self.frames_seen >= 3

    def foreground(self, frame: np.ndarray, want_mask: bool = True) -> tuple[np.ndarray, float]:
        """Update the model with ``frame``; return (clean foreground mask at small size, scale).
        ``want_mask=False`` only learns (the raw MOG2 output comes back, not cleaned)."""
        validate_frame(frame)
        h, w = frame.shape[:2]
        scale = w / float(self.width) if w > self.width else 1.0
        small = frame if scale == 1.0 else downscale(frame, self.width, max(1, round(h / scale)))
        assert self._mog is not None
        fg = self._mog.apply(small, learningRate=self.learning_rate)
        self.frames_seen += 1
        if not want_mask:
            return fg, scale
        mask = np.where(fg == 255, 255, 0).astype(np.uint8)  # 127 = shadow
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        return mask, scale

    def observe(self, frame: np.ndarray) -> None:
        self.foreground(frame, want_mask=False)  # learning only: no mask clean-up

    def detect(self, frame: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        mask, scale = self.foreground(frame)
        if self.frames_seen <= 1:
            return []
        return self.blobs_to_detections(mask, scale, frame.shape[0], frame.shape[1])

    def blobs_to_detections(
        self, mask: np.ndarray, scale: float, fh: int, fw: int
    ) -> list[Detection]:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        out: list[Detection] = []
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            comp = labels[y : y + h, x : x + w] == i
            vehicle = self._vehicle_part(comp, x, y, scale, fh)
            if vehicle is not None:
                vbox, rest = vehicle
                out.append(
                    Detection(
                        self._vehicle_class(
                            vbox[2], vbox[3], self.size_model.height(vbox[1] + vbox[3], fh)
                        ),
                        0.5,
                        _clip_box(vbox[0], vbox[1], vbox[0] + vbox[2], vbox[1] + vbox[3], fw, fh),
                    )
                )
                # what is left (people walking past the vehicle) is counted as people blobs
                m2, l2, st2, _ = cv2.connectedComponentsWithStats(
                    rest.astype(np.uint8), connectivity=8
                )
                for j in range(1, m2):
                    rx, ry, rw, rh, ra = (int(v) for v in st2[j])
                    out.extend(self._people_blob(x + rx, y + ry, rw, rh, ra, scale, fh, fw))
                continue
            out.extend(self._people_blob(x, y, w, h, area, scale, fh, fw))
        return out

    def _vehicle_part(
        self, comp: np.ndarray, x: int, y: int, scale: float, fh: int
    ) -> tuple[Box, np.ndarray] | None:
        """If the blob has a solid band much wider than a person (a vehicle body) at least
        ``0.35 * person height`` tall, return (vehicle box in full-frame px, remaining mask)."""
        h, w = comp.shape
        bottom = (y + h) * scale
        hp = self.size_model.height(bottom, fh)
        wp = hp * self.size_model.width_ratio
        if w * scale < 2.2 * wp:
            return None
        row_fill = comp.sum(axis=1) * scale
        wide = np.flatnonzero(row_fill > 2.2 * wp)
        if wide.size == 0 or wide.size * scale < 0.35 * hp:
            return None
        r0, r1 = int(wide[0]), int(wide[-1]) + 1
        # wheels/shadow below the body: extend down while rows stay at least half as wide
        while r1 < h and row_fill[r1] > 0.5 * row_fill[r0:r1].mean():
            r1 += 1
        cols = np.flatnonzero(comp[r0:r1].any(axis=0))
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        rest = comp.copy()
        rest[r0:r1, c0:c1] = False
        box = (
            int((x + c0) * scale),
            int((y + r0) * scale),
            int((c1 - c0) * scale),
            int((r1 - r0) * scale),
        )
        return box, rest

    def _people_blob(
        self, x: int, y: int, w: int, h: int, area: int, scale: float, fh: int, fw: int
    ) -> list[Detection]:
        X, Y, W, H = x * scale, y * scale, w * scale, h * scale
        hp = self.size_model.height(Y + H, fh)
        wp = hp * self.size_model.width_ratio
        fg_area = area * scale * scale
        person_area = self.person_fill * hp * wp
        if fg_area < self.min_person_frac * person_area or 0.3 * hp > H:
            return []
        box = _clip_box(X, Y, X + W, Y + H, fw, fh)
        if W > 2.2 * H and 0.8 * hp > H:
            return [Detection("motorcycle" if 1.6 * hp > W else "car", 0.4, box)]
        return self._split_people(box, fg_area, hp, wp, person_area)

    @staticmethod
    def _vehicle_class(w: float, h: float, hp: float) -> str:
        """Class by size relative to a person at the same row (a person ~1.7 m)."""
        length_m = 1.7 * w / hp
        height_m = 1.7 * h / hp
        if length_m < 2.6:
            return "motorcycle"
        if height_m > 2.4 or length_m > 7.5:
            return "bus" if w / h > 2.6 else "truck"
        return "car"

    def _split_people(
        self, box: Box, fg_area: float, hp: float, wp: float, person_area: float
    ) -> list[Detection]:
        x, y, w, h = box
        n_area = fg_area / person_area
        n_width = w / (1.05 * wp)
        n = int(
            max(
                1,
                round(min(n_area, max(n_width, n_area * 0.7)) if n_area >= 1.5 else round(n_area)),
            )
        )
        n = max(1, min(n, 40))
        score = float(np.clip(1.0 - abs(n_area - n) / max(n, 1), 0.2, 0.9))
        if n == 1:
            return [Detection(PERSON, score, box)]
        # split along the wider dimension relative to a person's box
        dets: list[Detection] = []
        if w / wp >= h / hp:
            step = w / n
            for k in range(n):
                dets.append(Detection(PERSON, score, (int(x + k * step), y, max(1, int(step)), h)))
        else:
            step = h / n
            for k in range(n):
                dets.append(Detection(PERSON, score, (x, int(y + k * step), w, max(1, int(step)))))
        return dets


class BlobHogDetector(Detector):
    """Blobs from :class:`BackgroundBlobDetector`; HOG on the people blobs decides how many
    people a blob holds when HOG finds more than the size estimate (groups of people)."""

    name = "blob+hog"

    def __init__(
        self, blob: BackgroundBlobDetector | None = None, hog: HogPeopleDetector | None = None
    ) -> None:
        self.blob = blob or BackgroundBlobDetector()
        self.hog = hog or HogPeopleDetector(size_model=self.blob.size_model)

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

_REGISTRY: dict[str, DetectorFactory] = {
    "mediapipe": lambda model_path=None, **kw: MediaPipeObjectDetector(model_path, **kw),
    "hog": lambda model_path=None, **kw: HogPeopleDetector(**kw),
    "blob": lambda model_path=None, **kw: BackgroundBlobDetector(**kw),
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
