"""Making evidence clips from a camera (no database here; ``ingestion.evidence_recorder``
orchestrates and records the result).

* **RTSP**: FFmpeg copies the camera's video packets (``-c copy``: no decode, no re-encode)
  into MPEG-TS while recording (a TS file stays readable whatever happens to the process), then
  remuxes them, still by copy, into an MP4 that browsers play.
* **HLS**: Pantau fetches the playlist and segments itself (``ingestion.hls_mirror``: every
  URL checked by the camera URL rules), keeps each new segment, and FFmpeg joins them by copy.
  A clip starts at the newest segment the camera lists when recording starts.
* **MJPEG / snapshot**: the camera's own JPEGs are kept byte for byte (``frames.mjpeg``, one
  after another, with ``frames.json`` giving each frame's capture time, offset and SHA-256) and
  an H.264 MP4 is encoded from them with each frame shown for as long as it really lasted.

Every capture is bounded: a length (seconds), a size (bytes) and a wall-clock deadline. A
camera that fails part-way gives what was recorded so far plus the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingestion.sources import SourceError, Timeouts, check_url, open_source, redact
from ingestion.url_policy import UrlPolicy

logger = logging.getLogger(__name__)

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"
#: a clip within this much of the length asked for is complete (GOP boundaries, segment sizes)
COMPLETE_MARGIN_S = 2.0
COMPLETE_MARGIN_RATIO = 0.1


def is_complete(recorded_s: float, requested_s: float) -> bool:
    margin = max(COMPLETE_MARGIN_S, COMPLETE_MARGIN_RATIO * requested_s)
    return recorded_s >= requested_s - margin


@dataclass
class Capture:
    """What a capture produced: files in ``workdir`` (the clip first) and how it went."""

    clip: Path | None = None
    extra: list[tuple[Path, str, str]] = field(default_factory=list)  # (path, kind, mime)
    method: str = ""
    reason: str | None = None  # why it stopped early (None: it ran its full length)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    frames: int | None = None
    live_s: float = 0.0  # seconds recorded after the request (pre-roll excluded)
    preroll_s: float = 0.0


@dataclass(frozen=True)
class MediaInfo:
    codec: str
    width: int
    height: int
    start_s: float
    duration_s: float


def probe(path: Path, timeout: float = 30.0) -> MediaInfo | None:
    """The first video stream's codec, size, start and duration (ffprobe), or None."""
    try:
        out = subprocess.run(
            [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
             "stream=codec_name,width,height,start_time:format=duration,start_time",
             "-of", "json", str(path)],
            capture_output=True, text=True, timeout=timeout, check=True,
        ).stdout  # fmt: skip
        data = json.loads(out)
        st = (data.get("streams") or [{}])[0]
        fmt = data.get("format") or {}
        return MediaInfo(
            codec=st.get("codec_name", ""),
            width=int(st.get("width") or 0),
            height=int(st.get("height") or 0),
            start_s=float(st.get("start_time") or fmt.get("start_time") or 0.0),
            duration_s=float(fmt.get("duration") or 0.0),
        )
    except (subprocess.SubprocessError, ValueError, OSError, KeyError, IndexError):
        return None


def _tail(text: str, n: int = 300) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[-n:]


def _run_bounded(
    cmd: list[str], deadline_s: float, stop: threading.Event | None = None
) -> tuple[int, str]:
    """Run FFmpeg; past the deadline (or on ``stop``) ask it to finish (SIGINT: it closes its
    file properly), then kill. Returns (exit code, stderr)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else ""))
    reader.daemon = True
    reader.start()
    end = time.monotonic() + deadline_s
    interrupted = False
    while proc.poll() is None:
        if not interrupted and (time.monotonic() > end or (stop is not None and stop.is_set())):
            proc.send_signal(signal.SIGINT)
            interrupted = True
            end = time.monotonic() + 5
        elif interrupted and time.monotonic() > end:
            proc.kill()
        time.sleep(0.1)
    reader.join(timeout=5)
    return proc.returncode, "".join(err)


def remux_mp4(src: Path, out: Path, *, inputs: list[str] | None = None) -> str | None:
    """Copy the video packets of ``src`` into a browser-friendly MP4; None or the error."""
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           *(inputs or []), "-i", str(src), "-map", "0:v:0", "-c", "copy",
           "-movflags", "+faststart", str(out)]  # fmt: skip
    code, err = _run_bounded(cmd, 120)
    if code != 0 or not out.is_file() or out.stat().st_size == 0:
        out.unlink(missing_ok=True)
        return _tail(err) or f"ffmpeg exit {code}"
    return None


# ----------------------------------------------------------------------------------------- RTSP
def capture_rtsp(
    url: str,
    workdir: Path,
    seconds: int,
    max_bytes: int,
    timeouts: Timeouts,
    policy: UrlPolicy | None = None,
    stop: threading.Event | None = None,
) -> Capture:
    cap = Capture(method="stream_copy")
    check_url(url, "rtsp", policy)  # UrlNotAllowed: nothing is opened
    ts = workdir / "clip.ts"
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           "-rtsp_transport", "tcp", "-timeout", str(int(timeouts.read_s * 1_000_000)),
           "-i", url, "-map", "0:v:0", "-c", "copy", "-t", str(seconds),
           "-fs", str(max_bytes), "-f", "mpegts", str(ts)]  # fmt: skip
    cap.started_at = datetime.now(UTC)
    code, err = _run_bounded(cmd, seconds + timeouts.connect_s + timeouts.read_s + 5, stop)
    cap.ended_at = datetime.now(UTC)
    if not ts.is_file() or ts.stat().st_size == 0:
        ts.unlink(missing_ok=True)
        cap.reason = f"no video received from {redact(url)}: {_tail(err) or f'ffmpeg exit {code}'}"
        return cap
    if code != 0:
        cap.reason = f"stream failed while recording: {_tail(err) or f'ffmpeg exit {code}'}"
    if ts.stat().st_size >= max_bytes * 0.98:
        cap.reason = f"size limit reached ({max_bytes / 1e6:.0f} MB)"
    _finish_clip(cap, ts, workdir)
    return cap


def _finish_clip(cap: Capture, ts: Path, workdir: Path, inputs: list[str] | None = None) -> None:
    mp4 = workdir / "clip.mp4"
    problem = remux_mp4(ts, mp4, inputs=inputs)
    if problem is None:
        ts.unlink(missing_ok=True)
        cap.clip = mp4
    else:  # keep what was received as it came (TS plays in VLC), and say so
        logger.warning("remux to MP4 failed (%s); keeping the MPEG-TS", problem)
        cap.clip = ts
        cap.reason = (cap.reason + "; " if cap.reason else "") + f"kept as MPEG-TS: {problem}"
    info = probe(cap.clip)
    cap.live_s = max(0.0, (info.duration_s if info else 0.0) - cap.preroll_s)


# ------------------------------------------------------------------------------------------ HLS
def _playlist_entries(playlist: Path) -> list[tuple[str, float]]:
    out, dur = [], 0.0
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            with contextlib.suppress(ValueError):
                dur = float(line[8:].split(",", 1)[0])
        elif line and not line.startswith("#"):
            out.append((line.strip(), dur))
    return out


def capture_hls(
    url: str,
    workdir: Path,
    seconds: int,
    max_bytes: int,
    timeouts: Timeouts,
    policy: UrlPolicy | None = None,
    stop: threading.Event | None = None,
    preroll_s: float = 0.0,
) -> Capture:
    """Keep every new segment for ``seconds`` (plus, with ``preroll_s``, the segments the
    camera still lists from before the request), then join them by stream copy."""
    from ingestion.hls_mirror import HlsMirror
    from ingestion.sources import default_policy

    cap = Capture(method="stream_copy")
    policy = policy or default_policy()
    check_url(url, "hls", policy)
    segdir = workdir / "segments"
    segdir.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[str, float]] = []  # local names in workdir/segments, durations
    seen: set[str] = set()
    size = 0
    cap.started_at = datetime.now(UTC)
    deadline = time.monotonic() + seconds + timeouts.connect_s + timeouts.read_s + 10
    mirror = HlsMirror(url, policy, timeouts.httpx(), window=8)
    live_s = 0.0
    try:
        first = True
        last_new = time.monotonic()
        while True:
            try:
                mirror.refresh()
            except Exception as exc:  # noqa: BLE001 - any failure of the camera ends the clip
                cap.reason = f"camera stopped answering: {type(exc).__name__}: {exc}"[:400]
                break
            entries = _playlist_entries(mirror.playlist)
            if first:  # the newest segment, and before it as much pre-roll as asked and listed
                start = len(entries) - 1
                pre = 0.0
                while start > 0 and pre + entries[start - 1][1] <= preroll_s + 0.01:
                    start -= 1
                    pre += entries[start][1]
                seen.update(n for n, _ in entries[:start])
                cap.preroll_s = pre
                first = False
            for name, dur in entries:
                if name in seen:
                    continue
                seen.add(name)
                local = f"{len(kept):05d}.ts"
                shutil.copyfile(mirror.dir / name, segdir / local)
                size += (segdir / local).stat().st_size
                kept.append((local, dur))
                last_new = time.monotonic()
            live_s = sum(d for _, d in kept) - cap.preroll_s
            if live_s >= seconds:
                break
            if size >= max_bytes:
                cap.reason = f"size limit reached ({max_bytes / 1e6:.0f} MB)"
                break
            if mirror.ended:
                cap.reason = "the camera's playlist ended (EXT-X-ENDLIST)"
                break
            stalled = time.monotonic() - last_new
            if stalled > max(3 * mirror.target_s, timeouts.read_s):
                cap.reason = f"no new segment for {stalled:.0f} s: camera stopped sending"
                break
            if stop is not None and stop.is_set():
                cap.reason = "stopped by the recorder service"
                break
            if time.monotonic() > deadline:
                cap.reason = "deadline passed before the clip was complete"
                break
            time.sleep(max(0.25, mirror.target_s / 2))
    finally:
        mirror.close()
    cap.ended_at = datetime.now(UTC)
    if not kept:
        shutil.rmtree(segdir, ignore_errors=True)
        cap.reason = cap.reason or "no segment received"
        return cap
    listing = segdir / "list.m3u8"
    target = max(1, round(max(d for _, d in kept) + 0.5))
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-MEDIA-SEQUENCE:0"]  # fmt: skip
    for name, dur in kept:
        lines += [f"#EXTINF:{dur:.3f},", name]
    listing.write_text("\n".join(lines + ["#EXT-X-ENDLIST"]) + "\n")
    _finish_clip(cap, listing, workdir)
    if cap.clip == listing:  # the join failed: keep the camera's segments as they came
        cap.clip = None
        cap.extra = [(segdir / name, "clip", "video/mp2t") for name, _ in kept]
        cap.extra.append((listing, "index", "application/vnd.apple.mpegurl"))
        return cap
    shutil.rmtree(segdir, ignore_errors=True)
    return cap


# --------------------------------------------------------------------------------- MJPEG/snapshot
@dataclass
class FrameWriter:
    """Appends camera JPEGs byte for byte to ``frames.mjpeg`` and indexes them."""

    workdir: Path
    index: list[dict] = field(default_factory=list)
    size: int = 0

    def __post_init__(self) -> None:
        self.path = self.workdir / "frames.mjpeg"
        self._f = self.path.open("ab")

    def add(self, t: float, jpeg: bytes, preroll: bool = False) -> None:
        self.index.append({
            "t": datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds"),
            "unix": round(t, 3), "offset": self.size, "bytes": len(jpeg),
            "sha256": hashlib.sha256(jpeg).hexdigest(), "preroll": preroll,
        })  # fmt: skip
        self._f.write(jpeg)
        self.size += len(jpeg)

    def close(self) -> None:
        self._f.close()


def capture_frames(
    url: str,
    protocol: str,
    workdir: Path,
    seconds: int,
    max_bytes: int,
    timeouts: Timeouts,
    fps: float,
    policy: UrlPolicy | None = None,
    stop: threading.Event | None = None,
    preroll: list[tuple[float, bytes]] | None = None,
) -> Capture:
    """Keep the camera's frames (at most ``fps`` a second) for ``seconds``, then encode them."""
    cap = Capture(method="frames_h264")
    writer = FrameWriter(workdir)
    for t, jpeg in preroll or []:
        writer.add(t, jpeg, preroll=True)
    cap.started_at = datetime.now(UTC)
    t_open = time.time()
    deadline = t_open + seconds + timeouts.connect_s + timeouts.read_s
    first: float | None = None  # the clip's length counts from the first frame received
    src = None
    try:
        src = open_source(url, protocol, timeouts, max_width=None,
                          persistent=protocol == "mjpeg", policy=policy)  # fmt: skip
        step = 1.0 / fps
        last: bytes | None = None
        next_at = time.monotonic()
        while (first is None or time.time() - first < seconds) and time.time() < deadline:
            if stop is not None and stop.is_set():
                cap.reason = "stopped by the recorder service"
                break
            try:
                jpeg = src.read_jpeg()
            except SourceError as exc:
                cap.reason = (
                    f"camera failed after {time.time() - first:.1f} s: {exc}"
                    if first is not None
                    else f"no frame from the camera: {exc}"
                )
                break
            now = time.time()
            if first is None:
                first = now
                cap.started_at = datetime.fromtimestamp(now, UTC)
            if jpeg != last:  # the same frame again is not a new moment
                writer.add(now, jpeg)
                last = jpeg
            if writer.size >= max_bytes:
                cap.reason = f"size limit reached ({max_bytes / 1e6:.0f} MB)"
                break
            next_at += step
            time.sleep(max(0.0, next_at - time.monotonic()))
    except SourceError as exc:
        cap.reason = f"cannot open the camera: {exc}"
    finally:
        if src is not None:
            src.close()
        writer.close()
    cap.ended_at = datetime.now(UTC)
    live = [e for e in writer.index if not e["preroll"]]
    cap.frames = len(writer.index)
    if not writer.index:
        writer.path.unlink(missing_ok=True)
        cap.reason = cap.reason or "no frame received"
        return cap
    index_path = workdir / "frames.json"
    index_path.write_text(json.dumps({"format": "pantau-frames/1", "url": redact(url),
                                      "frames": writer.index}, indent=1))  # fmt: skip
    cap.extra = [
        (writer.path, "frame", "video/x-motion-jpeg"),
        (index_path, "index", "application/json"),
    ]
    if live:
        cap.live_s = live[-1]["unix"] - live[0]["unix"] + 1.0 / fps
    pre = [e for e in writer.index if e["preroll"]]
    if pre:
        cap.preroll_s = (live[0]["unix"] if live else pre[-1]["unix"] + 1.0 / fps) - pre[0]["unix"]
    problem = encode_frames(writer.path, writer.index, workdir / "clip.mp4", 1.0 / fps)
    if problem is None:
        cap.clip = workdir / "clip.mp4"
    else:
        cap.reason = (cap.reason + "; " if cap.reason else "") + f"MP4 not made: {problem}"
    return cap


def encode_frames(mjpeg: Path, index: list[dict], out: Path, last_s: float) -> str | None:
    """H.264 MP4 from the kept JPEGs, each shown until the next one arrived (FFmpeg's concat
    demuxer with per-frame durations; variable frame rate). None or the error."""
    tmp = out.parent / "frames.tmp"
    tmp.mkdir(exist_ok=True)
    try:
        data = mjpeg.read_bytes()
        lines = ["ffconcat version 1.0"]
        for i, e in enumerate(index):
            name = f"{i:06d}.jpg"
            (tmp / name).write_bytes(data[e["offset"] : e["offset"] + e["bytes"]])
            nxt = index[i + 1]["unix"] if i + 1 < len(index) else e["unix"] + last_s
            lines += [f"file {name}", f"duration {max(0.001, nxt - e['unix']):.3f}"]
        lines.append(f"file {len(index) - 1:06d}.jpg")  # the concat demuxer's last-duration rule
        (tmp / "list.txt").write_text("\n".join(lines) + "\n")
        cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "concat", "-safe", "0", "-i", str(tmp / "list.txt"),
               "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-fps_mode", "vfr",
               "-movflags", "+faststart", str(out)]  # fmt: skip
        code, err = _run_bounded(cmd, 60 + len(index) * 0.2)
        if code != 0 or not out.is_file():
            out.unlink(missing_ok=True)
            return _tail(err) or f"ffmpeg exit {code}"
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
