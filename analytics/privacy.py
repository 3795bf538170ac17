"""Privacy blurring for anything shown to the public: faces and licence plates.

``blur_private(frame) -> (blurred copy, n_faces, n_plates)``. Faces come from CenterFace
through OpenCV DNN (:mod:`analytics.faces`) when ``face_model_path`` names an existing ``.onnx``
(``pantau models install centerface``; faces from 24 px), from MediaPipe's FaceDetector when it
names an existing ``.tflite``, else from OpenCV's Haar cascades (frontal + profile, both
orientations; the fallback: faces under ~40 px are mostly missed). Which one is used is logged
once per model path. Plates come from the Haar plate cascade. Fails closed: if detection or blurring raises anything, the whole frame comes
back pixelated and both counts are ``-1`` (so callers can tell and log it) — never the input.
Input that is not a BGR image raises ``ValueError`` (there is nothing to leak).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from analytics.imaging import downscale
from analytics.types import PERSON, VEHICLE_CLASSES, Box, Detection, validate_frame

logger = logging.getLogger(__name__)

FACE_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")
PLATE_CASCADE = "haarcascade_russian_plate_number.xml"
DETECT_WIDTH = 960
"""Frames wider than this are scanned at this width (boxes are scaled back)."""

_lock = threading.Lock()
_announced: set[tuple[str, str]] = set()


_per_thread = threading.local()


def _cascade(name: str) -> cv2.CascadeClassifier:
    """This thread's copy of a cascade.

    A CascadeClassifier is not thread-safe: two threads in ``detectMultiScale`` on one object
    crash the process (seen with the public stream hub and snapshot routes blurring at once).
    """
    cache = getattr(_per_thread, "cascades", None)
    if cache is None:
        cache = _per_thread.cascades = {}
    c = cache.get(name)
    if c is None:
        path = os.path.join(cv2.data.haarcascades, name)
        c = cv2.CascadeClassifier(path)
        if c.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        cache[name] = c
    return c


@lru_cache(maxsize=4)
def _mediapipe_face_detector(model_path: str):  # type: ignore[no-untyped-def]
    import mediapipe as mp

    options = mp.tasks.vision.FaceDetectorOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=model_path),
        running_mode=mp.tasks.vision.RunningMode.IMAGE,
        min_detection_confidence=0.4,
    )
    return mp.tasks.vision.FaceDetector.create_from_options(options)


@lru_cache(maxsize=4)
def _centerface(model_path: str):  # type: ignore[no-untyped-def]
    from analytics.faces import CenterFace

    return CenterFace(model_path)


def face_backend(face_model_path: str | os.PathLike[str] | None) -> str:
    """What :func:`detect_faces` uses with this model setting: ``centerface`` (an existing
    ``.onnx``), ``mediapipe`` (an existing ``.tflite``) or ``haar`` (anything else: no model
    installed). Logged once per setting."""
    path = Path(face_model_path) if face_model_path else None
    if path is not None and path.is_file():
        backend = "centerface" if path.suffix.lower() == ".onnx" else "mediapipe"
    else:
        backend = "haar"
    key = (backend, str(path))
    if key not in _announced:
        _announced.add(key)
        if backend == "haar":
            logger.warning(
                "privacy blur: no face model %s (pantau models install centerface): faces are "
                "found by OpenCV's Haar cascades, which miss most faces under ~40 px",
                f"at {path}" if path else "configured",
            )
        else:
            logger.info("privacy blur: faces are found by %s (%s)", backend, path)
    return backend


def _haar(
    gray: np.ndarray, name: str, min_size: tuple[int, int], neighbours: int, flip: bool = False
) -> list[Box]:
    c = _cascade(name)
    found = [
        tuple(int(v) for v in r)
        for r in c.detectMultiScale(gray, 1.2, neighbours, minSize=min_size)
    ]
    if flip:  # the profile cascade only knows one side
        w = gray.shape[1]
        for x, y, bw, bh in c.detectMultiScale(
            cv2.flip(gray, 1), 1.2, neighbours, minSize=min_size
        ):
            found.append((int(w - x - bw), int(y), int(bw), int(bh)))
    return found  # type: ignore[return-value]


def detect_faces(
    frame: np.ndarray, face_model_path: str | os.PathLike[str] | None = None
) -> list[Box]:
    """Face boxes (full-frame pixels). CenterFace's boxes take in forehead, hair and ears."""
    validate_frame(frame)
    backend = face_backend(face_model_path)
    if backend == "centerface":
        return _centerface(str(face_model_path)).detect(frame)
    if backend == "mediapipe":
        import mediapipe as mp

        det = _mediapipe_face_detector(str(face_model_path))
        rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        with _lock:  # one MediaPipe graph per model; calls are serialised
            result = det.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        return [
            (
                int(d.bounding_box.origin_x),
                int(d.bounding_box.origin_y),
                int(d.bounding_box.width),
                int(d.bounding_box.height),
            )
            for d in result.detections
        ]
    gray, scale = _gray_for_detection(frame)
    boxes = _haar(gray, FACE_CASCADES[0], (18, 18), 5) + _haar(
        gray, FACE_CASCADES[1], (18, 18), 5, flip=True
    )
    return _merge(_rescale(boxes, scale))


def detect_plates(frame: np.ndarray) -> list[Box]:
    """Licence plate boxes (full-frame pixels), Haar plate cascade."""
    validate_frame(frame)
    gray, scale = _gray_for_detection(frame)
    return _merge(_rescale(_haar(gray, PLATE_CASCADE, (24, 8), 4), scale))


def _gray_for_detection(frame: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = frame.shape[:2]
    scale = w / DETECT_WIDTH if w > DETECT_WIDTH else 1.0
    small = (
        frame
        if scale == 1.0
        else cv2.resize(frame, (DETECT_WIDTH, round(h / scale)), interpolation=cv2.INTER_AREA)
    )
    gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
    return gray, scale


def _rescale(boxes: list[Box], scale: float) -> list[Box]:
    if scale == 1.0:
        return boxes
    return [
        (int(x * scale), int(y * scale), int(np.ceil(w * scale)), int(np.ceil(h * scale)))
        for x, y, w, h in boxes
    ]


def _merge(boxes: list[Box]) -> list[Box]:
    """Drop boxes mostly inside another (frontal + profile hits on one face)."""
    boxes = sorted(boxes, key=lambda b: -b[2] * b[3])
    kept: list[Box] = []
    for b in boxes:
        x, y, w, h = b
        inside = False
        for k in kept:
            ix = max(0, min(x + w, k[0] + k[2]) - max(x, k[0]))
            iy = max(0, min(y + h, k[1] + k[3]) - max(y, k[1]))
            if ix * iy > 0.5 * w * h:
                inside = True
                break
        if not inside:
            kept.append(b)
    return kept


def pixelate(img: np.ndarray, block: int = 16) -> np.ndarray:
    """Coarse mosaic of ``img`` (any size >= 1 px)."""
    h, w = img.shape[:2]
    sw, sh = max(1, w // block), max(1, h // block)
    return cv2.resize(
        cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA),
        (w, h),
        interpolation=cv2.INTER_NEAREST,
    )


def blur_boxes(frame: np.ndarray, boxes: list[Box], pad: float = 0.15) -> np.ndarray:
    """Copy of ``frame`` with each box (grown by ``pad``) pixelated and smoothed: reduced to
    one pixel per block (``min(side) // 6`` px, at least 3) and scaled back up bilinearly,
    which keeps nothing finer than the block (as a mosaic plus a Gaussian of half a block did,
    at a fraction of the cost for big boxes)."""
    out = frame.copy()
    fh, fw = frame.shape[:2]
    for x, y, w, h in boxes:
        px, py = int(w * pad), int(h * pad)
        x0, y0 = max(0, x - px), max(0, y - py)
        x1, y1 = min(fw, x + w + px), min(fh, y + h + py)
        if x1 <= x0 or y1 <= y0:
            continue
        bw, bh = x1 - x0, y1 - y0
        block = max(3, min(bw, bh) // 6)
        small = cv2.resize(
            out[y0:y1, x0:x1],
            (max(1, bw // block), max(1, bh // block)),
            interpolation=cv2.INTER_AREA,
        )
        out[y0:y1, x0:x1] = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_LINEAR)
    return out


def _faces_in_regions(frame: np.ndarray, regions: list[Box], face_model_path) -> list[Box]:  # type: ignore[no-untyped-def]
    fh, fw = frame.shape[:2]
    found: list[Box] = []
    for x, y, w, h in regions:
        px, py = int(0.2 * w) + 8, int(0.1 * h) + 8
        x0, y0, x1, y1 = max(0, x - px), max(0, y - py), min(fw, x + w + px), min(fh, y + h + py)
        if x1 - x0 < 20 or y1 - y0 < 20:
            continue
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        found += [
            (bx + x0, by + y0, bw, bh) for bx, by, bw, bh in detect_faces(crop, face_model_path)
        ]
    return _merge(found)


COARSE_SCALE = 0.5
"""Fast mode (``detections`` given): the full-frame face pass runs at this scale. Haar's
smallest window is 20-24 px and needs ~1.3x that to be reliable, so it finds faces from ~64 px
up anywhere; smaller faces are searched at full resolution on the detected objects and the
heads of people and riders are pixelated regardless. Frames narrower than
``COARSE_MIN_WIDTH`` are searched at full size."""
COARSE_MIN_WIDTH = 480
HEAD_SHARE = 0.28
"""Fast mode: the top share of every person/rider box is pixelated whether or not a face was
found there (Haar cannot see faces under ~24 px: most faces in a 640x360 CCTV frame)."""
HEAD_LABELS = frozenset({PERSON, "motorcycle", "bicycle"})
"""Detections whose top part is a head (people, and riders on two-wheelers)."""


PLATE_ZONE = (0.15, 0.45, 0.85, 1.0)
"""Fast mode: the part of every vehicle box pixelated whether or not a plate was found there
(x0, y0, x1, y1 as shares of the box): the middle 70 % of its lower 55 %, where the plates of a
vehicle seen from the front or back are. The Haar plate cascade found none of OpenCV's real
plate picture (analytics/README.md, privacy), so detected vehicles are not left to it."""


def plate_zones(vehicles: list[Box], frame_w: int, frame_h: int) -> list[Box]:
    """The ``PLATE_ZONE`` of each vehicle box, clipped to the frame."""
    a, b, c, d = PLATE_ZONE
    out: list[Box] = []
    for x, y, w, h in vehicles:
        x0, y0 = max(0, int(x + a * w)), max(0, int(y + b * h))
        x1, y1 = min(frame_w, int(np.ceil(x + c * w))), min(frame_h, int(np.ceil(y + d * h)))
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1 - x0, y1 - y0))
    return out


def head_boxes(people: list[Box], frame_w: int, frame_h: int) -> list[Box]:
    """Conservative head areas of person (or rider) boxes: the top ``HEAD_SHARE`` of each, a little wider
    than the box and starting a little above it (split boxes of a group, tilted heads)."""
    out: list[Box] = []
    for x, y, w, h in people:
        if w <= 0 or h <= 0:
            continue
        hh = max(6, int(np.ceil(h * HEAD_SHARE)))
        px, py = max(2, int(0.15 * w)), max(2, int(0.06 * h))
        x0, y0 = max(0, x - px), max(0, y - py)
        x1, y1 = min(frame_w, x + w + px), min(frame_h, y + hh)
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1 - x0, y1 - y0))
    return out


def _upper_parts(people: list[Box], frame_w: int, frame_h: int) -> list[Box]:
    """Upper halves of person boxes, where a face can be (searched at full resolution)."""
    return [(x, y, w, max(1, int(np.ceil(h * 0.55)))) for x, y, w, h in people if w > 0 and h > 0]


def _faces_fast(frame: np.ndarray, boxes: list[Box], face_model_path) -> list[Box]:  # type: ignore[no-untyped-def]
    if face_backend(face_model_path) == "centerface":
        # one pass over the whole frame finds faces from 24 px anywhere, within the budget
        # the Haar passes below need for less
        return detect_faces(frame, face_model_path)
    fh, fw = frame.shape[:2]
    scale = COARSE_SCALE if fw >= COARSE_MIN_WIDTH else 1.0
    if scale != 1.0:
        sw, sh = max(1, round(fw * scale)), max(1, round(fh * scale))
        small = downscale(frame, sw, sh)
        sx, sy = fw / sw, fh / sh
        coarse = [
            (int(x * sx), int(y * sy), int(np.ceil(w * sx)), int(np.ceil(h * sy)))
            for x, y, w, h in detect_faces(small, face_model_path)
        ]
    else:
        coarse = detect_faces(frame, face_model_path)
    fine_regions = _upper_parts(boxes, fw, fh)
    fine_area = sum(w * h for _, _, w, h in fine_regions)
    if scale == 1.0 or not fine_regions:
        fine: list[Box] = []
    elif fine_area > 0.5 * fw * fh:  # crowded: one full-resolution pass is cheaper
        fine = detect_faces(frame, face_model_path)
    else:
        fine = _faces_in_regions(frame, fine_regions, face_model_path)
    return _merge(coarse + fine)


def blur_private(
    frame: np.ndarray,
    face_model_path: str | os.PathLike[str] | None = None,
    plates: bool = True,
    regions: list[Box] | None = None,
    detections: Sequence[Detection] | None = None,
) -> tuple[np.ndarray, int, int]:
    """Blur faces and licence plates. Returns (new frame, n_faces, n_plates); the input array
    is never modified. On any detector/blur error: (whole frame pixelated, -1, -1).

    With a CenterFace model (``.onnx``) every mode searches the whole frame once with it
    (~85-120 ms CPU for 768x576 on one core; faces from 24 px); ``detections`` then only adds
    the head areas. The rest of this describes the Haar fallback.

    ``detections`` (the frame's :class:`FrameResult` detections, possibly empty) selects the
    fast mode, ~4x cheaper: faces are searched on the whole frame at ``COARSE_SCALE`` (faces
    from ~64 px), at full resolution in the upper part of every detected object, and the head
    area of every person and rider is pixelated even when no face is found there (most CCTV
    faces are below Haar's 24 px window). Plates: whole frame at full resolution, as before,
    plus the ``PLATE_ZONE`` of every detected vehicle pixelated regardless.
    A 24-64 px face on someone the detector missed can stay sharp in this mode.

    ``regions`` alone limits the face search to those boxes (full resolution): a face on a
    person the detector missed stays sharp. With neither, the whole frame is searched at full
    resolution (strict, slowest: ~0.6 s for 640x360 on one core)."""
    validate_frame(frame)
    try:
        heads: list[Box] = []
        if detections is not None:
            boxes = [d.box for d in detections] + list(regions or [])
            faces = _faces_fast(frame, boxes, face_model_path)
            heads = head_boxes(
                [d.box for d in detections if d.label in HEAD_LABELS],
                frame.shape[1],
                frame.shape[0],
            )
            if plates:
                heads += plate_zones(
                    [d.box for d in detections if d.label in VEHICLE_CLASSES],
                    frame.shape[1],
                    frame.shape[0],
                )
        elif regions is not None and face_backend(face_model_path) != "centerface":
            faces = _faces_in_regions(frame, regions, face_model_path)
        else:
            faces = detect_faces(frame, face_model_path)
        plate_boxes = detect_plates(frame) if plates else []
        out = blur_boxes(frame, faces + plate_boxes)
        if heads:
            out = blur_boxes(out, heads, pad=0.0)
        return out, len(faces), len(plate_boxes)
    except Exception:
        logger.exception("privacy blur failed; returning the whole frame pixelated (fail closed)")
        try:
            block = max(12, frame.shape[1] // 32)
            return cv2.GaussianBlur(pixelate(frame, block), (0, 0), block / 2), -1, -1
        except Exception:
            logger.exception("pixelation failed too; returning a blank frame")
            return np.zeros_like(frame), -1, -1
