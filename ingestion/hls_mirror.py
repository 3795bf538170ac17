"""HLS cameras without letting FFmpeg onto the network.

FFmpeg's HLS reader fetches whatever a playlist lists, from any host, follows HTTP redirects
itself and reloads live playlists on its own: the camera URL rules (:mod:`ingestion.url_policy`)
cannot be enforced inside it (and the opencv-python wheel ignores FFmpeg options such as
``protocol_whitelist``). So Pantau fetches HLS itself: :class:`HlsMirror` downloads the media
playlist (the lowest-bandwidth variant of a master playlist) and its newest segments with its
own HTTP client - every URL and every redirect checked against the rules first - into a private
temporary folder, and writes a local playlist there. FFmpeg only ever opens that local playlist
and local segment files.

* per-sample readers: :meth:`HlsMirror.refresh` once with ``last=1, final=True`` (one segment,
  a finished playlist), open, read, close;
* persistent readers: :meth:`HlsMirror.start` keeps refreshing every half target duration in a
  thread (a sliding window of ``window`` segments, older files deleted); the first rule broken
  stops it and is reported through ``on_error``.

Encrypted segments (``#EXT-X-KEY``) and fMP4 init sections (``#EXT-X-MAP``) are downloaded and
rewritten the same way; byte-range segments are not supported (a clear error).
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from ingestion.url_policy import UrlPolicy, UrlRejected

logger = logging.getLogger(__name__)

MAX_PLAYLIST_BYTES = 1024 * 1024
MAX_SEGMENT_BYTES = 32 * 1024 * 1024
_URI = re.compile(r'URI="([^"]*)"')
_BANDWIDTH = re.compile(r"BANDWIDTH=(\d+)")
# FFmpeg opens local HLS files only with common media extensions: keys are named .ts too
_MEDIA_EXT = {".ts": ".ts", ".m4s": ".mp4", ".mp4": ".mp4", ".m4v": ".mp4", ".aac": ".aac"}


class HlsError(Exception):
    """Base for mirror errors; ``kind`` matches ``ingestion.sources.SourceError.kind``."""

    kind = "connect"


class HlsRuleBroken(HlsError):
    kind = "policy"


class HlsBadPlaylist(HlsError):
    kind = "corrupt"


class HlsMirror:
    def __init__(
        self,
        url: str,
        policy: UrlPolicy,
        timeout: httpx.Timeout,
        *,
        user_agent: str = "Pantau-ingest/0.1",
        window: int = 3,
    ) -> None:
        self.url, self.policy, self.window = url, policy, window
        self.dir = Path(tempfile.mkdtemp(prefix="pantau-hls-"))
        self.playlist = self.dir / "index.m3u8"
        self._client = httpx.Client(timeout=timeout, headers={"User-Agent": user_agent})
        self._media_url: str | None = None
        self._local: dict[str, str] = {}  # remote URL -> local file name
        self._order: list[str] = []  # local segment names, oldest first
        self._seq: dict[str, int] = {}  # local segment name -> its media sequence number
        self._next_seq = 0
        self._n = 0
        self.target_s = 2.0
        self.ended = False
        self.error: HlsError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- checked HTTP ---------------------------------------------------------------------------
    def _check(self, target: str, what: str) -> None:
        try:
            if target != self.url:
                self.policy.check_follow(self.url, target, "hls", what)
            else:
                self.policy.check(target, "hls")
        except UrlRejected as exc:
            raise HlsRuleBroken(f"URL not allowed: {exc}") from exc

    def _get(self, url: str, what: str, limit: int) -> tuple[bytes, str]:
        """(body, final URL) of a GET whose URL and every redirect pass the rules."""
        self._check(url, what)
        request = self._client.build_request("GET", url)
        for _ in range(6):
            resp = self._client.send(request, stream=True, follow_redirects=False)
            try:
                nxt = resp.next_request
                if nxt is None:
                    resp.raise_for_status()
                    body = bytearray()
                    for chunk in resp.iter_raw():
                        body += chunk
                        if len(body) > limit:
                            raise HlsBadPlaylist(f"{what} larger than {limit} bytes")
                    return bytes(body), str(resp.url)
            finally:
                resp.close()
            self._check(str(nxt.url), f"redirect of {what}")
            request = nxt
        raise HlsError(f"too many redirects for {what}")

    def _playlist(self, url: str) -> tuple[str, str]:
        body, final = self._get(url, "HLS playlist", MAX_PLAYLIST_BYTES)
        text = body.decode("utf-8", "replace").lstrip("\ufeff")
        if not text.lstrip().startswith("#EXTM3U"):
            raise HlsBadPlaylist("not an HLS playlist (no #EXTM3U)")
        return text, final

    # -- mirroring ------------------------------------------------------------------------------
    def _media_playlist(self) -> tuple[str, str]:
        if self._media_url is not None:
            return self._playlist(self._media_url)
        text, final = self._playlist(self.url)
        if "#EXT-X-STREAM-INF" not in text:
            self._media_url = self.url
            return text, final
        variants: list[tuple[int, str]] = []
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("#EXT-X-STREAM-INF"):
                uri = next((u.strip() for u in lines[i + 1 :] if u.strip()), "")
                if uri and not uri.startswith("#"):
                    m = _BANDWIDTH.search(line)
                    variants.append((int(m.group(1)) if m else 0, urljoin(final, uri)))
        if not variants:
            raise HlsBadPlaylist("master playlist without variants")
        for _, variant in variants:
            self._check(variant, "HLS playlist")
        self._media_url = min(variants)[1]  # the cheapest to decode: we sample, not watch
        return self._playlist(self._media_url)

    def _fetch_to(self, remote: str, name: str, what: str) -> None:
        if remote in self._local:
            return
        body, _ = self._get(remote, what, MAX_SEGMENT_BYTES)
        tmp = self.dir / f".{name}.part"
        tmp.write_bytes(body)
        tmp.replace(self.dir / name)
        self._local[remote] = name

    def _name(self, remote: str, prefix: str, default_ext: str) -> str:
        self._n += 1
        ext = Path(urlsplit(remote).path).suffix.lower()
        return f"{prefix}{self._n:06d}{_MEDIA_EXT.get(ext, default_ext)}"

    def refresh(self, last: int | None = None, final: bool = False) -> None:
        """Fetch the media playlist, check every URL in it, download the newest ``last``
        (default ``window``) segments not here yet and write the local playlist (finished when
        the camera's is, or with ``final``). Raises HlsError (HlsRuleBroken for a rule)."""
        text, base = self._media_playlist()
        header: list[str] = []
        segments: list[tuple[list[str], str]] = []  # (tags before it, remote URL)
        in_force: list[dict[str, str]] = []  # the key/init lines in force at each segment
        pending: list[str] = []
        key_or_map: dict[str, str] = {}  # tag name -> its latest line (applies onwards)
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                tag = line.split(":", 1)[0]
                if tag == "#EXT-X-BYTERANGE":
                    raise HlsBadPlaylist("HLS byte-range segments are not supported")
                if tag in ("#EXTM3U", "#EXT-X-VERSION", "#EXT-X-INDEPENDENT-SEGMENTS"):
                    header.append(line)
                elif tag == "#EXT-X-TARGETDURATION":
                    header.append(line)
                    with contextlib.suppress(ValueError):
                        self.target_s = max(0.5, float(line.split(":", 1)[1]))
                elif tag in ("#EXT-X-ENDLIST",) or line.startswith("#EXT-X-PLAYLIST-TYPE:VOD"):
                    self.ended = True
                elif tag in ("#EXT-X-KEY", "#EXT-X-MAP"):
                    key_or_map[tag] = line
                    pending.append(line)
                elif tag in ("#EXTINF", "#EXT-X-DISCONTINUITY", "#EXT-X-PROGRAM-DATE-TIME"):
                    pending.append(line)
                continue  # other tags (media sequence, etc.) are rewritten or dropped
            segments.append((pending, urljoin(base, line)))
            in_force.append(dict(key_or_map))
            pending = []
        for tags, remote in segments:  # every URL is checked, downloaded or not
            self._check(remote, "HLS segment")
            for tag in tags:
                for uri in _URI.findall(tag):
                    self._check(urljoin(base, uri), "HLS key or init section")
        keep = min(len(segments), last or self.window)
        if not keep:
            raise HlsBadPlaylist("HLS playlist lists no segments")
        want, first_in_force = segments[-keep:], in_force[-keep]
        lines = [h for h in header if not h.startswith("#EXT-X-MEDIA-SEQUENCE")]
        if not any(h.startswith("#EXT-X-TARGETDURATION") for h in lines):
            lines.append(f"#EXT-X-TARGETDURATION:{round(self.target_s)}")
        # the key/init in force at the first kept segment, then each segment with its own tags
        first_tags = want[0][0]
        carried = [
            line
            for tag, line in first_in_force.items()
            if not any(t.startswith(tag) for t in first_tags)
        ]
        body: list[str] = []
        for i, (tags, remote) in enumerate(want):
            for tag in (carried + tags) if i == 0 else tags:
                for uri in _URI.findall(tag):
                    absolute = urljoin(base, uri)
                    name = self._local.get(absolute) or self._name(absolute, "aux", ".ts")
                    self._fetch_to(absolute, name, "HLS key or init section")
                    tag = tag.replace(f'URI="{uri}"', f'URI="{name}"')
                body.append(tag)
            name = self._local.get(remote) or self._name(remote, "seg", ".ts")
            self._fetch_to(remote, name, "HLS segment")
            body.append(name)
            if name not in self._seq:
                self._order.append(name)
                self._seq[name] = self._next_seq
                self._next_seq += 1
        lines.insert(1, f"#EXT-X-MEDIA-SEQUENCE:{self._seq[self._local[want[0][1]]]}")
        if self.ended or final:
            body.append("#EXT-X-ENDLIST")
        tmp = self.dir / ".index.m3u8.part"
        tmp.write_text("\n".join(lines + body) + "\n")
        tmp.replace(self.playlist)
        self._prune({n for n in body if not n.startswith("#")})

    def _prune(self, listed: set[str]) -> None:
        """Delete segments that left the window a while ago (FFmpeg may still be reading
        the one just before it)."""
        old = [n for n in self._order if n not in listed]
        for name in old[: max(0, len(old) - self.window)]:
            with contextlib.suppress(OSError):
                (self.dir / name).unlink()
            self._order.remove(name)
            self._seq.pop(name, None)
            for remote, local in list(self._local.items()):
                if local == name:
                    del self._local[remote]

    # -- persistent readers ---------------------------------------------------------------------
    def start(self, on_error: Callable[[HlsError], None]) -> None:
        """Keep refreshing in a thread until :meth:`close` or the first error."""

        def run() -> None:
            while not self._stop.wait(max(0.5, self.target_s / 2)):
                try:
                    self.refresh()
                except HlsError as exc:
                    self.error = exc
                except Exception as exc:  # network errors: reported like the camera's
                    self.error = HlsError(f"{type(exc).__name__}: {exc}")
                if self.error is not None:
                    logger.info("HLS mirror of %s stopped: %s", self.url, self.error)
                    on_error(self.error)
                    return

        self._thread = threading.Thread(target=run, name="hls-mirror", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._client.close()
        shutil.rmtree(self.dir, ignore_errors=True)
