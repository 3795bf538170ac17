"""The frame hub's default privacy filter on live frames: one StreamBlur per channel, every
served picture with the faces (a real face photo on real CCTV footage) pixelated."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from analytics.privacy import detect_faces
from analytics.privacy_stream import StreamBlur
from dashboard.streaming import BOUNDARY, FrameHub, PublicCamera

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analytics"))  # eval helpers
from privacy_stream_eval import DATA, clip_frames, with_faces  # noqa: E402


class _Source:
    """A camera showing the clip in a loop (the producer reads one frame per tick)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames, self.i = frames, -1

    def read(self) -> np.ndarray:
        self.i += 1
        return self.frames[self.i % len(self.frames)]

    def close(self) -> None:
        pass


def test_hub_serves_live_frames_with_faces_pixelated(tmp_path):
    """Every served picture is one of the clip's frames; each face the strict full search finds
    on that frame is pixelated in it (the face photo walks ~150 px per frame here)."""
    frames = with_faces(clip_frames(DATA / "vtest_trim.avi", 1, 8))
    faces = [detect_faces(f) for f in frames]
    assert all(len(f) >= 1 for f in faces)
    hub = FrameHub(snapshot_dir=tmp_path, fps=8, opener=lambda camera: _Source(frames))
    camera = PublicCamera("CAM-1", "Kamera", None, None, 0.0, 0.0, "file:///x.avi", "file")
    sub = hub.subscribe(camera)

    def pictures(data: bytes) -> list[bytes]:
        """The served JPEGs that are frames (not the placeholder sent until the first one)."""
        parts = [p for p in data.split(b"\xff\xd8")[1:] if b"\xff\xd9" in p]
        jpegs = [p[: p.rindex(b"\xff\xd9") + 2] for p in parts]
        return [j for j in jpegs if b"\xff\xd8" + j != hub.placeholder]

    try:
        data = b""
        # 8 pictures: ~1 s at 8 fps on an idle box, far longer under load (the blur is CPU work)
        for part in sub.parts(max_seconds=90.0):
            data += part
            if len(pictures(data)) >= 9:  # the last may still be arriving
                break
        assert isinstance(hub._channels["CAM-1"].blur, StreamBlur)
    finally:
        sub.close()
        hub.close()
    jpegs = pictures(data)[:8]
    assert len(jpegs) == 8
    for jpeg in jpegs:
        img = cv2.imdecode(np.frombuffer(b"\xff\xd8" + jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape == frames[0].shape
        # which frame is it? the one it differs least from (outside the pixelated faces too)
        src = min(range(len(frames)), key=lambda i: float(cv2.absdiff(img, frames[i]).mean()))
        for x, y, w, h in faces[src]:
            sharp = cv2.Laplacian(frames[src][y : y + h, x : x + w], cv2.CV_64F).var()
            got = cv2.Laplacian(img[y : y + h, x : x + w], cv2.CV_64F).var()
            assert got < 0.25 * sharp, f"face {(x, y, w, h)} of frame {src} is sharp"
    assert hub.stats()["blur_failures"] == 0


def test_hub_serves_live_frames_with_the_plate_unreadable(tmp_path):
    """A parked car's plate (rendered on real footage, no stubbed detector) is unreadable in
    every picture the public stream serves."""
    from test_privacy_plates import PLATE, dark_share, edge_energy, frame_with_plate

    frames = [frame_with_plate(i) for i in range(0, 8, 2)]
    hub = FrameHub(snapshot_dir=tmp_path, fps=8, opener=lambda camera: _Source(frames))
    camera = PublicCamera("CAM-P", "Kamera", None, None, 0.0, 0.0, "file:///x.avi", "file")
    sub = hub.subscribe(camera)
    try:
        data = b""
        for part in sub.parts(max_seconds=10.0):
            data += part
            if data.count(f"--{BOUNDARY}".encode()) >= 8:
                break
    finally:
        sub.close()
        hub.close()
    jpegs = [p[: p.rindex(b"\xff\xd9") + 2] for p in data.split(b"\xff\xd8")[1:]]
    jpegs = [j for j in jpegs if b"\xff\xd8" + j != hub.placeholder]
    assert len(jpegs) >= 4
    x, y, w, h = PLATE
    sharp = edge_energy(frames[0][y : y + h, x : x + w])
    for jpeg in jpegs:
        img = cv2.imdecode(np.frombuffer(b"\xff\xd8" + jpeg, np.uint8), cv2.IMREAD_COLOR)
        plate = img[y : y + h, x : x + w]
        assert dark_share(plate) < 0.02 and edge_energy(plate) < 0.15 * sharp
    assert hub.stats()["blur_failures"] == 0
