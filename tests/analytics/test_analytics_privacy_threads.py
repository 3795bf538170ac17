"""Privacy blurring from many threads at once (the public stream hub and snapshot routes do)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from analytics.privacy import blur_private

FACE = Path(__file__).resolve().parents[1] / "data" / "face_messi5_crop.png"


def test_blur_private_is_safe_from_concurrent_threads():
    face = cv2.imread(str(FACE))
    assert face is not None
    frame = face
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: blur_private(frame.copy()), range(32)))
    # every call returns a blurred frame with the face found (a shared cascade crashed here)
    for out, n_faces, _plates in results:
        assert out.shape == frame.shape
        assert n_faces >= 1
        assert not np.array_equal(out, frame)
