"""Snapshot cameras' HTTP GETs on urllib3's connection pools.

A snapshot camera costs one GET a sample; at city scale (10,693 cameras, 178 GETs a second)
httpx's client machinery was about half the CPU of a quiet sample. This is the same request on
urllib3's pools (a well-kept, much thinner HTTP/1.1 client) with the same rules:

* the camera URL was checked by :mod:`ingestion.url_policy` before (``FrameSource``) and
  urllib3's own URL parser must agree on its host (:func:`check_parsers_agree`);
* redirects are followed by hand, at most ``MAX_REDIRECTS``, each target checked by the
  policy's ``check_follow`` *before* it is requested; credentials from the URL (HTTP Basic)
  go only to the camera's own host;
* timeouts for the connect and each read, and a deadline for the *whole* response (a camera
  dripping one byte a second is cut off at the deadline, not when it stops);
* at most ``max_bytes`` read (a declared Content-Length above it is refused unread).

Errors are :class:`~ingestion.sources.SourceError` s with the same readable reasons as before.
"""

from __future__ import annotations

import base64
import contextlib
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

if TYPE_CHECKING:
    from ingestion.url_policy import UrlPolicy

READ_CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


def _ca_file() -> str | None:
    """The CA bundle httpx used for https cameras (certifi), so verification is unchanged."""
    try:
        import certifi

        return certifi.where()
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return None


def check_parsers_agree(url: str, host: str) -> None:
    """ValueError when urllib3 reads another host out of ``url`` than the policy checked."""
    try:
        other = urllib3.util.parse_url(url).host or ""
    except LocationParseError as exc:
        raise ValueError(f"not a valid HTTP URL ({exc})") from exc
    if other.lower().strip("[]").rstrip(".") != host.lower().strip("[]").rstrip("."):
        raise ValueError(f"ambiguous host ({host!r} or {other!r})")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower().rstrip("."), port


def _basic_auth(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.username is None:
        return None
    raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class SnapshotHttp:
    """A thread-safe pool of HTTP connections for snapshot GETs (one per worker process)."""

    def __init__(
        self,
        connect_s: float,
        read_s: float,
        *,
        max_connections: int = 32,
        user_agent: str = "Pantau-ingest/0.1",
    ) -> None:
        self.connect_s, self.read_s = connect_s, read_s
        self.user_agent = user_agent
        # every real camera is its own host: keep pools for that many hosts, each small
        self._pool = urllib3.PoolManager(
            num_pools=max(16, max_connections),
            maxsize=max(1, max_connections),
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_s, read=read_s),
            ca_certs=_ca_file(),
        )

    def get(
        self,
        url: str,
        protocol: str,
        policy: UrlPolicy,
        *,
        max_bytes: int,
        deadline: float,
        max_redirects: int = 5,
    ) -> bytes:
        """The body of ``url`` (redirects followed where ``policy`` allows). Raises
        SourceError: ConnectError, StreamTimeout, CorruptFrame (too large), UrlNotAllowed."""
        from ingestion.sources import (
            ConnectError,
            CorruptFrame,
            StreamTimeout,
            check_follow,
            redact,
        )

        auth = _basic_auth(url)
        home = _origin(url)
        target = url
        try:
            for _ in range(max_redirects + 1):
                headers = {"User-Agent": self.user_agent, "Accept": "*/*"}
                scheme, host, port = _origin(target)
                # credentials only to the camera itself (or its own host upgraded to https)
                if auth and host == home[1] and (port == home[2] or scheme == "https"):
                    headers["Authorization"] = auth
                resp = self._pool.request(
                    "GET",
                    target,
                    headers=headers,
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                )
                whole = False  # body read to its end: the connection may be reused
                try:
                    if resp.status in REDIRECTS and resp.headers.get("location"):
                        nxt = urljoin(target, resp.headers["location"])
                        check_follow(url, nxt, protocol, "redirect", policy)
                        target = nxt
                        continue
                    if resp.status >= 400:
                        raise ConnectError(f"HTTP {resp.status} from camera")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise CorruptFrame(f"snapshot too large ({declared} bytes)")
                    data = self._body(resp, max_bytes, deadline)
                    whole = True
                    return data
                finally:
                    if not whole:  # an unread body: this connection is not reused
                        resp.close()
                    resp.release_conn()
            raise ConnectError(f"more than {max_redirects} redirects")
        except NewConnectionError as exc:  # before ConnectTimeoutError: it is a subclass
            if "timed out" in str(exc).lower():
                raise StreamTimeout(f"connect timeout ({redact(url)})") from exc
            raise ConnectError(f"connection refused or unreachable ({_reason(exc)})") from exc
        except ConnectTimeoutError as exc:
            raise StreamTimeout(f"connect timeout ({redact(url)})") from exc
        except ReadTimeoutError as exc:
            raise StreamTimeout("read timeout: camera stopped sending") from exc
        except SSLError as exc:
            raise ConnectError(f"TLS error: {_reason(exc)}") from exc
        except ProtocolError as exc:
            raise ConnectError(f"connection dropped by camera ({_reason(exc)})") from exc
        except (HTTPError, OSError) as exc:
            raise ConnectError(f"HTTP error: {type(exc).__name__}: {_reason(exc)}") from exc

    def _body(self, resp: urllib3.BaseHTTPResponse, max_bytes: int, deadline: float) -> bytes:
        from ingestion.sources import CorruptFrame, StreamTimeout

        chunks: list[bytes] = []
        size = 0
        while True:
            # read1: what one socket read brings (a dripping camera returns to this loop
            # every byte, so the deadline below holds); each read has the read timeout
            chunk = resp.read1(READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise CorruptFrame(f"snapshot larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise StreamTimeout(f"camera too slow: {size} bytes in {self.read_s:.0f}s")
        return b"".join(chunks)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pool.clear()


def _reason(exc: BaseException) -> str:
    """The innermost readable reason of a urllib3 error (``[Errno 111] Connection refused``)."""
    inner = exc
    for _ in range(4):
        nxt = (
            inner.args[1]
            if len(inner.args) > 1 and isinstance(inner.args[1], BaseException)
            else None
        )
        nxt = nxt or inner.__context__
        if nxt is None or nxt is inner:
            break
        inner = nxt
    text = str(inner) or type(inner).__name__
    return text[:160]
