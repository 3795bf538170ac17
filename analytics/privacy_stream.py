"""Privacy blur for live streams: :class:`StreamBlur`, one stateful blur per camera.

Same contract as :func:`analytics.privacy.blur_private` (``(blurred copy, n_faces, n_plates)``,
fail closed with ``-1, -1`` and the whole frame pixelated), at a fraction of the cost on
successive frames of one stream: only what moves is searched again. Uses the detectors and
blurring of :mod:`analytics.privacy`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from analytics.imaging import downscale
from analytics.privacy import (
    FACE_CASCADES,
    HEAD_LABELS,
    PLATE_CASCADE,
    _gray_for_detection,
    _haar,
    _merge,
    _rescale,
    blur_boxes,
    detect_faces,
    face_backend,
    head_boxes,
    pixelate,
)
from analytics.types import Box, validate_frame

logger = logging.getLogger(__name__)


def _rect_union(regions: list[tuple[int, int, int, int]], gap: int = 0) -> list[list[int]]:
    """Merge ``(x0, y0, x1, y1)`` rectangles that overlap (or come within ``gap`` px) into their
    bounding rectangles, until none overlap: each pixel is searched once."""
    rects = [list(r) for r in regions if r[2] > r[0] and r[3] > r[1]]
    merged = True
    while merged and len(rects) > 1:
        merged = False
        out: list[list[int]] = []
        for r in rects:
            for o in out:
                if (
                    r[0] <= o[2] + gap
                    and o[0] <= r[2] + gap
                    and r[1] <= o[3] + gap
                    and o[1] <= r[3] + gap
                ):
                    o[0], o[1] = min(o[0], r[0]), min(o[1], r[1])
                    o[2], o[3] = max(o[2], r[2]), max(o[3], r[3])
                    merged = True
                    break
            else:
                out.append(r)
        rects = out
    return rects


class StreamBlur:
    """Privacy blur for the successive frames of ONE live stream (stateful: one per camera and
    producer thread; not thread-safe). Same contract as :func:`blur_private`: call it with a
    BGR frame, get ``(blurred copy, n_faces, n_plates)``; on any error the whole frame comes
    back pixelated with ``-1, -1`` (fail closed) and the state restarts.

    It blurs what the strict full search (``blur_private(frame)``) blurs, at a fraction of the
    cost, by not searching the same still pixels again on every frame:

    * the first frame, every ``refresh_frames``-th frame, and any frame where more than
      ``full_search_share`` of the picture changed (lighting, camera moved) get the strict full
      search (same cascades and parameters, same histogram-equalised grey image);
    * on the other frames only what moves is searched, at full resolution with the same
      cascades on the same grey image (``slack`` fewer Haar neighbours: a crop's windows do not
      line up with the whole frame's): every MOG2 foreground blob (``bg_width`` px model) and
      every change since the previous frame that is not the usual background, padded; faces in
      the upper part (where heads are), plates in all of it;
    * every face or plate found stays blurred (``pad`` around it; grown while things move
      there) until it has been looked for again ``misses_to_forget`` times without being found,
      or ``keep_frames`` after it was last found; where nothing moves, ``checks_per_frame``
      such places are looked at again per frame (a face standing still stays hidden, one that
      walked on leaves no blurred squares behind);
    * the head area of every person and rider the background model sees is pixelated as well
      (``heads``): faces too small for Haar's 20-24 px window, i.e. most faces on CCTV.
    """

    def __init__(
        self,
        face_model_path: str | os.PathLike[str] | None = None,
        plates: bool = True,
        refresh_frames: int = 120,
        keep_frames: int | None = None,
        heads: bool = True,
        bg_width: int = 320,
        full_search_share: float = 0.4,
        upper_share: float = 0.4,
        slack: int = 2,
        pad: float = 0.25,
        checks_per_frame: int = 2,
        misses_to_forget: int = 2,
    ) -> None:
        if refresh_frames < 1:
            raise ValueError("refresh_frames must be >= 1")
        self.face_model_path = (
            str(face_model_path) if face_model_path and Path(face_model_path).is_file() else None
        )
        self.face_backend = face_backend(face_model_path)
        self.plates = plates
        self.refresh_frames = refresh_frames
        self.keep_frames = keep_frames if keep_frames is not None else refresh_frames + 8
        self.heads = heads
        self.bg_width = bg_width
        self.full_search_share = full_search_share
        self.upper_share = upper_share
        self.slack = slack
        self.pad = pad
        self.checks_per_frame = checks_per_frame
        self.misses_to_forget = misses_to_forget
        self.last_boxes: list[Box] = []
        """Every area pixelated in the last frame (faces and plates with their padding, heads)."""
        self.last_heads: list[Box] = []
        """The head areas among ``last_boxes``."""
        self.last_mode = ""
        """``full`` (strict search), ``moving`` (moving areas only) or ``failed``."""
        self.reset()

    def reset(self) -> None:
        from analytics.blobs import Mog2BlobDetector

        # video-rate frames of one stream in one process: MOG2's mixture suits it (the
        # per-camera sampling detector's small serialisable model is made for samples)
        self._bg = Mog2BlobDetector(width=self.bg_width)
        self._tracks: list[list] = []  # [box, kind, last found, last looked at, misses since]
        self._n = 0
        self._since_full = 0
        self._shape: tuple[int, ...] | None = None
        self._prev_small: np.ndarray | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, int, int]:
        validate_frame(frame)
        try:
            return self._process(frame)
        except Exception:
            logger.exception("stream privacy blur failed; whole frame pixelated (fail closed)")
            self.reset()
            self.last_boxes, self.last_mode = [(0, 0, frame.shape[1], frame.shape[0])], "failed"
            try:
                block = max(12, frame.shape[1] // 32)
                return cv2.GaussianBlur(pixelate(frame, block), (0, 0), block / 2), -1, -1
            except Exception:
                return np.zeros_like(frame), -1, -1

    # ----------------------------------------------------------------------------------------
    @staticmethod
    def _search(
        gray: np.ndarray, rects: list[list[int]], plates: bool, slack: int = 0
    ) -> list[Box]:
        """Haar boxes (grey-image px) in each ``[x0, y0, x1, y1]`` of ``gray``: faces, or
        licence plates with ``plates=True``; same cascades and parameters as the full search,
        less ``slack`` neighbours (a crop's windows do not line up with the whole frame's, so
        a face the full search just finds can fall short of its neighbours in a crop)."""
        found: list[Box] = []
        for x0, y0, x1, y1 in rects:
            g = gray[y0:y1, x0:x1]
            if g.shape[0] < 20 or g.shape[1] < 20:
                continue
            boxes = (
                _haar(g, PLATE_CASCADE, (24, 8), 4 - slack)
                if plates
                else _haar(g, FACE_CASCADES[0], (18, 18), 5 - slack)
                + _haar(g, FACE_CASCADES[1], (18, 18), 5 - slack, flip=True)
            )
            found += [(bx + x0, by + y0, bw, bh) for bx, by, bw, bh in boxes]
        return found

    def _process(self, frame: np.ndarray) -> tuple[np.ndarray, int, int]:
        fh, fw = frame.shape[:2]
        if self._shape != frame.shape:
            self.reset()
            self._shape = frame.shape
        n = self._n
        self._n += 1
        mask, mscale = self._bg.foreground(frame)
        people = (
            self._bg.blobs_to_detections(mask, mscale, fh, fw) if self._bg.frames_seen > 1 else []
        )
        # plus whatever changed since the previous frame: MOG2 takes what it saw first (or
        # often) for background, so something reappearing where it was before is not in its
        # foreground
        # foreground (but not where the picture went back to its usual background: the place
        # something just left)
        small = cv2.cvtColor(downscale(frame, mask.shape[1], mask.shape[0]), cv2.COLOR_BGR2GRAY)
        prev, self._prev_small = self._prev_small, small
        if prev is not None and prev.shape == small.shape:
            changed = cv2.absdiff(small, prev) > 25
            if changed.any():
                assert self._bg._mog is not None
                usual = cv2.cvtColor(self._bg._mog.getBackgroundImage(), cv2.COLOR_BGR2GRAY)
                changed &= cv2.absdiff(small, usual) > 25
                changed = cv2.morphologyEx(
                    changed.astype(np.uint8) * 255, cv2.MORPH_OPEN, self._kernel
                )
                mask = cv2.bitwise_or(mask, cv2.dilate(changed, self._kernel))
        moving_share = float(np.count_nonzero(mask)) / mask.size
        gray, gscale = _gray_for_detection(frame)
        gh, gw = gray.shape[:2]
        moving: list[Box] = []
        if (
            n == 0
            or self._since_full + 1 >= self.refresh_frames
            or moving_share > self.full_search_share
        ):
            self.last_mode, self._since_full = "full", 0
            whole = [[0, 0, gw, gh]]
            faces = (
                detect_faces(frame, self.face_model_path)
                if self.face_model_path
                else _rescale(self._search(gray, whole, False), gscale)
            )
            plates = _rescale(self._search(gray, whole, True), gscale) if self.plates else []
        else:
            self.last_mode = "moving"
            self._since_full += 1
            k = mscale / gscale  # foreground-mask px -> grey-image px
            n_c, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            face_rects, plate_rects = [], []
            for i in range(1, n_c):
                x, y, w, h = (int(v) for v in stats[i][:4])
                moving.append(_rescale([(x, y, w, h)], mscale)[0])
                x0, y0 = x * k, y * k
                w, h = w * k, h * k
                px, py = 0.1 * w + 8, 0.1 * h + 8
                upper = min(h, max(self.upper_share * h, 1.2 * w))  # heads are at the top
                face_rects.append(
                    _grey_rect(x0 - px, y0 - py, x0 + w + px, y0 + upper + py, gw, gh)
                )
                plate_rects.append(_grey_rect(x0 - px, y0 - py, x0 + w + px, y0 + h + py, gw, gh))
            # look again where something was found and nothing moves now (oldest check first):
            # still there -> kept; gone (two looks) -> dropped, so a face that walked on leaves
            # no trail of blurred squares behind
            still = [
                t
                for t in self._tracks
                if not any(
                    _inside(_to_grey(t[0], gscale), r)
                    for r in (face_rects if t[1] == "face" else plate_rects)
                )
            ]
            for t in sorted(still, key=lambda t: t[3])[: self.checks_per_frame]:
                x, y, w, h = _to_grey(t[0], gscale)
                rect = _grey_rect(x - w / 2, y - h / 2, x + 1.5 * w, y + 1.5 * h, gw, gh)
                (face_rects if t[1] == "face" else plate_rects).append(rect)
            if self.face_backend == "centerface":  # the same network on the moving parts
                rects = _rect_union(face_rects)
                if sum((r[2] - r[0]) * (r[3] - r[1]) for r in rects) > 0.4 * gw * gh:
                    faces = detect_faces(frame, self.face_model_path)  # one pass is cheaper
                else:
                    faces = _faces_in_rects(frame, rects, gscale, self.face_model_path)
            elif self.face_model_path:
                faces = detect_faces(frame, self.face_model_path)
            else:
                faces = _rescale(
                    self._search(gray, _rect_union(face_rects), False, self.slack), gscale
                )
            plates = (
                _rescale(self._search(gray, _rect_union(plate_rects), True, self.slack), gscale)
                if self.plates
                else []
            )
        if self.last_mode == "full":
            looked = {"face": [[0, 0, gw, gh]], "plate": [[0, 0, gw, gh]]}
        else:
            looked = {"face": face_rects, "plate": plate_rects if self.plates else []}
        boxes, n_faces = self._update_tracks(
            _merge(faces), _merge(plates), moving, looked, gscale, n, fw, fh
        )
        heads = (
            head_boxes([d.box for d in people if d.label in HEAD_LABELS], fw, fh)
            if self.heads
            else []
        )
        out = blur_boxes(frame, boxes, pad=self.pad)
        if heads:
            out = blur_boxes(out, heads, pad=0.0)
        self.last_boxes = [_padded(b, self.pad, fw, fh) for b in boxes] + heads
        self.last_heads = heads
        return out, n_faces, len(boxes) - n_faces

    def _update_tracks(
        self,
        faces: list[Box],
        plates: list[Box],
        moving: list[Box],
        looked: dict[str, list[list[int]]],
        gscale: float,
        n: int,
        fw: int,
        fh: int,
    ) -> tuple[list[Box], int]:
        """Remember what was found and forget what was looked for again and not found twice;
        return (boxes to blur this frame, how many of them are faces)."""
        old = list(self._tracks)
        matched: set[int] = set()
        for kind, found in (("face", faces), ("plate", plates)):
            for b in found:
                for t in old:
                    if t[1] == kind and id(t) not in matched and _overlap(t[0], b) > 0.3:
                        t[0], t[2], t[3], t[4] = b, n, n, 0
                        matched.add(id(t))
                        break
                else:
                    self._tracks.append([b, kind, n, n, 0])
        for t in old:
            if id(t) not in matched and any(
                _inside(_to_grey(t[0], gscale), r) for r in looked[t[1]]
            ):
                t[3], t[4] = n, t[4] + 1
        self._tracks = [
            t for t in self._tracks if n - t[2] <= self.keep_frames and t[4] < self.misses_to_forget
        ]
        out: list[Box] = []
        n_faces = 0
        for box, kind, seen, _, _ in sorted(self._tracks, key=lambda t: t[1]):
            age = n - seen
            if age and any(_overlap(box, m, of_first=False) > 0 for m in moving):
                # it may have moved with what moves there: grow it by its size per frame (2 max)
                a = min(age, 2)
                x, y, w, h = box
                box = _clip((x - a * w, y - a * h // 2, w + 2 * a * w, h + a * h), fw, fh)
            out.append(box)
            n_faces += kind == "face"
        return out, n_faces


def _faces_in_rects(
    frame: np.ndarray, rects: list[list[int]], gscale: float, face_model_path: str | None
) -> list[Box]:
    """Faces found by the model in each ``[x0, y0, x1, y1]`` (grey-image px) of ``frame``."""
    fh, fw = frame.shape[:2]
    found: list[Box] = []
    for x0, y0, x1, y1 in rects:
        fx0, fy0 = int(x0 * gscale), int(y0 * gscale)
        fx1, fy1 = min(fw, int(np.ceil(x1 * gscale))), min(fh, int(np.ceil(y1 * gscale)))
        if fx1 - fx0 < 16 or fy1 - fy0 < 16:
            continue
        crop = np.ascontiguousarray(frame[fy0:fy1, fx0:fx1])
        found += [
            (bx + fx0, by + fy0, bw, bh) for bx, by, bw, bh in detect_faces(crop, face_model_path)
        ]
    return found


def _to_grey(box: Box, gscale: float) -> Box:
    if gscale == 1.0:
        return box
    x, y, w, h = box
    return (int(x / gscale), int(y / gscale), int(np.ceil(w / gscale)), int(np.ceil(h / gscale)))


def _inside(box: Box, rect: list[int]) -> bool:
    """Whether ``box`` lies wholly within ``[x0, y0, x1, y1]`` (searched there: found or not)."""
    x, y, w, h = box
    return rect[0] <= x and rect[1] <= y and x + w <= rect[2] and y + h <= rect[3]


def _grey_rect(x0: float, y0: float, x1: float, y1: float, gw: int, gh: int) -> list[int]:
    return [max(0, int(x0)), max(0, int(y0)), min(gw, int(np.ceil(x1))), min(gh, int(np.ceil(y1)))]


def _overlap(a: Box, b: Box, of_first: bool = True) -> float:
    """Intersection area over the area of ``a`` (or, ``of_first=False``, the raw area)."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    if not of_first:
        return float(ix * iy)
    return ix * iy / max(1, min(a[2] * a[3], b[2] * b[3]))


def _clip(box: tuple[int, int, int, int], fw: int, fh: int) -> Box:
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(fw, x + w), min(fh, y + h)
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def _padded(box: Box, pad: float, fw: int, fh: int) -> Box:
    """The area :func:`blur_boxes` pixelates for ``box``."""
    x, y, w, h = box
    px, py = int(w * pad), int(h * pad)
    return _clip((x - px, y - py, w + 2 * px, h + 2 * py), fw, fh)
