"""The video wall's staff frame hub and wall stream (dashboard/wall_hub.py): a camera is read
at the most any of its tiles wants (never above the hub's rate), one channel per camera however
many walls show it, and one wall stream sends each new picture of each tile once, with the
shared bytes, and releases every slot when it closes."""

from __future__ import annotations

import numpy as np

from dashboard.streaming import PublicCamera
from dashboard.wall_hub import StaffFrameHub, Tile, WallStream


class _Source:
    def __init__(self, shade: int) -> None:
        self.shade, self.n = shade, 0

    def read(self) -> np.ndarray:
        self.n += 1
        return np.full((90, 160, 3), (self.shade + 7 * self.n) % 255, np.uint8)

    def close(self) -> None:
        pass


def _camera(code: str) -> PublicCamera:
    return PublicCamera(code, "Kamera", "K1", None, 0.0, 0.0, "file:///dev/null", "file")


def _hub(tmp_path, fps: float = 4.0) -> StaffFrameHub:
    return StaffFrameHub(
        snapshot_dir=tmp_path, fps=fps, opener=lambda cam: _Source(int(cam.code[1:]) * 40)
    )


def test_a_camera_is_read_at_the_most_its_tiles_want(tmp_path):
    hub = _hub(tmp_path, fps=4)
    try:
        slow = hub.subscribe(_camera("C1"), fps=2)
        channel = slow.channel
        assert hub.channel_period(channel) == 0.5  # 4x4 tiles only: 2 frames/s
        fast = hub.subscribe(_camera("C1"), fps=10)  # asks above the hub's rate
        assert fast.channel is channel  # one channel per camera
        assert hub.channel_period(channel) == 0.25  # the hub's 4 frames/s at most
        fast.close()
        assert hub.channel_period(channel) == 0.5
        fast.close()  # twice: nothing more released
        assert hub.viewers("C1") == 1
        slow.close()
        assert hub.viewers("C1") == 0
        assert hub.channel_period(channel) == 0.25  # no viewer: the hub's rate
    finally:
        hub.close()


def test_a_wall_stream_sends_each_new_picture_once_and_releases_its_slots(tmp_path):
    hub = _hub(tmp_path, fps=8)
    tiles = [Tile(_camera("C1"), hub), Tile(_camera("C2"), hub)]
    stream = WallStream(tiles, fps=8, max_seconds=2.0, keepalive_s=0.5)
    seen: dict[str, list[bytes]] = {"C1": [], "C2": []}
    for chunk in stream:
        for part in chunk.split(b"--pantauwall\r\n")[1:]:
            head, _, rest = part.partition(b"\r\n\r\n")
            fields = dict(x.split(": ", 1) for x in head.decode().split("\r\n"))
            if fields["X-State"] == "live":
                body = rest[: int(fields["Content-Length"])]
                assert body[:2] == b"\xff\xd8"  # a JPEG
                seen[fields["X-Camera"]].append(body)
        assert hub.viewers("C1") == 1 and hub.viewers("C2") == 1
    stream.close()
    for pictures in seen.values():
        assert len(pictures) >= 2  # pictures arrived and changed
        assert len(set(pictures)) == len(pictures)  # never the same picture twice
    assert hub.viewers("C1") == 0 and hub.viewers("C2") == 0
    hub.close()


def test_a_closed_wall_stream_stops_and_a_second_close_is_harmless(tmp_path):
    hub = _hub(tmp_path)
    stream = WallStream([Tile(_camera("C3"), hub)], fps=4, max_seconds=30, keepalive_s=0.2)
    parts = iter(stream)
    next(parts)
    assert hub.viewers("C3") == 1
    stream.close()
    stream.close()
    assert hub.viewers("C3") == 0
    assert list(parts) == []  # the loop ends after close
    hub.close()
