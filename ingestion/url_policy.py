"""Camera URL rules: which URLs Pantau may open for a camera, checked at import and at fetch.

A camera's ``stream_url`` comes from a city's registry file, i.e. from outside. Without rules
it is a server-side request forgery tool: ``file:///etc/passwd``, the cloud metadata service
at ``http://169.254.169.254/``, ``gopher://`` ... The rules (:meth:`UrlPolicy.check`):

* **scheme per protocol**: ``http``/``https`` for ``snapshot``, ``mjpeg`` and ``hls``;
  ``rtsp``/``rtsps`` for ``rtsp``; ``file`` (or an absolute path) only for protocol ``file``;
* **file** URLs only under the configured media directory (``PANTAU_CAMERA_MEDIA_DIR``,
  default ``var/media``), symlinks resolved first;
* **no userinfo tricks**: credentials (``rtsp://user:pass@cam``) are fine, but a user name that
  is itself a host (``http://127.0.0.1:18000@169.254.169.254/``), two ``@``, backslashes,
  whitespace or control characters are refused, and Python's, httpx's and urllib3's parsers
  must agree on the host;
* **never link-local / cloud metadata targets** (169.254.0.0/16, fe80::/10, 100.100.100.200,
  fd00:ec2::254, 0.0.0.0/8, multicast, broadcast), checked on the literal host *and* on every
  address the host name resolves to (so ``http://2852039166/`` or a DNS name pointing there is
  refused too);
* **optional allow-list of camera networks** (``PANTAU_CAMERA_NETWORKS``, CIDRs): when set, every
  address a camera host resolves to must lie inside one of them;
* **redirects and HLS segments stay on the camera's own host and port**
  (:meth:`UrlPolicy.check_follow`; ``http`` -> ``https`` on the same host is allowed) unless
  the target host is listed in ``PANTAU_CAMERA_REDIRECT_HOSTS``.

Loopback and private ranges (127.0.0.0/8, 10/8, 172.16/12, 192.168/16, fc00::/7) are allowed by
default: simulated cameras and on-premises NVRs live there. Set ``PANTAU_CAMERA_NETWORKS`` to
narrow them.

Known limits: a host name is resolved when checked and again when connected (DNS rebinding
between the two is not prevented); use IP addresses or the network allow-list where that
matters. RTSP servers' own redirects (RTSP 3xx) are followed by FFmpeg unchecked. (HLS is
fetched by Pantau itself, every playlist, segment, key and redirect checked, and FFmpeg reads
only the local copy: :mod:`ingestion.hls_mirror`.)
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pantau.settings import Settings

logger = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

#: Allowed URL schemes per camera protocol.
SCHEMES: dict[str, tuple[str, ...]] = {
    "snapshot": ("http", "https"),
    "mjpeg": ("http", "https"),
    "hls": ("http", "https"),
    "rtsp": ("rtsp", "rtsps"),
    "file": ("file",),
}
DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}

#: Never a camera: link-local (cloud metadata lives at 169.254.169.254), other metadata
#: addresses, "this network", multicast and broadcast.
BLOCKED_NETWORKS: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # IPv4 link-local, AWS/GCP/Azure/OpenStack metadata
        "fe80::/10",  # IPv6 link-local
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "0.0.0.0/8",  # "this network" (0.0.0.0 reaches local services)
        "::/128",
        "224.0.0.0/4",  # multicast
        "ff00::/8",
        "255.255.255.255/32",
        "64:ff9b::a9fe:0/112",  # NAT64 spelling of 169.254.0.0/16
    )
)

_CONTROL = re.compile(r"[\x00-\x20\x7f\\]")


class UrlRejected(ValueError):
    """A camera URL that breaks a rule; ``rule`` names it, ``str(exc)`` explains it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} (rule: {rule})")  # round brackets: rich markup eats [..]
        self.rule = rule
        self.message = message


Resolver = Callable[[str, int], list[str]]


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _host_key(scheme: str, host: str, port: int | None) -> tuple[str, int]:
    return host.lower().rstrip("."), port or DEFAULT_PORTS.get(scheme, 0)


def parse_networks(text: str | Iterable[str]) -> tuple[IpNetwork, ...]:
    """``"10.20.0.0/16, 192.168.1.0/24"`` -> networks; ValueError naming a bad entry."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[IpNetwork] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not a network (CIDR) {item!r}: {exc}") from exc
    return tuple(out)


def _ip(text: str) -> IpAddress | None:
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])  # fe80::1%eth0
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@dataclass(frozen=True)
class UrlPolicy:
    """The rules, with their configuration. Build one with :meth:`from_settings`."""

    media_dir: Path | None = None  # None: no file cameras at all
    networks: tuple[IpNetwork, ...] = ()  # empty: any address that is not blocked
    follow_hosts: frozenset[str] = frozenset()  # "host" or "host:port", lower case
    resolver: Resolver = field(default=_system_resolver, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlPolicy:
        return _policy_for(
            str(settings.resolved_camera_media_dir()),
            settings.camera_networks,
            settings.camera_redirect_hosts,
        )

    # ------------------------------------------------------------------------------------------
    def check(self, url: str, protocol: str, *, resolve: bool | str = True) -> str:
        """Raise :class:`UrlRejected` unless ``url`` may be opened as a ``protocol`` camera.

        Returns the URL (for ``file``: the resolved absolute path). ``resolve``: True checks
        every address the host name resolves to (at fetch); ``"lenient"`` does too but lets a
        name that does not resolve pass (at import, where the camera network may be out of
        reach); False checks literal addresses only."""
        if not isinstance(url, str) or not url:
            raise UrlRejected("syntax", "empty URL")
        protocol = (protocol or "").lower()
        if protocol not in SCHEMES:
            raise UrlRejected("protocol", f"unknown protocol {protocol!r}")
        if len(url) > MAX_URL_LENGTH:
            raise UrlRejected("syntax", f"URL longer than {MAX_URL_LENGTH} characters")
        if protocol == "file":
            return self._check_file(url)
        host, port = _syntax(url, protocol)  # cached: a camera's URL is checked every sample
        self._check_address(host, port, resolve)
        return url

    def check_follow(self, camera_url: str, target: str, protocol: str, what: str) -> str:
        """A URL the camera sends us to (``what``: "redirect" or "HLS segment"): the general
        rules, and the camera's own host and port unless the target host is allowed."""
        try:
            self.check(target, protocol)
        except UrlRejected as exc:
            raise UrlRejected(exc.rule, f"{what} to {_redact(target)}: {exc.message}") from exc
        cam, dst = urlsplit(camera_url), urlsplit(target)
        own = _host_key(cam.scheme.lower(), cam.hostname or "", cam.port)
        to = _host_key(dst.scheme.lower(), dst.hostname or "", dst.port)
        if to == own:
            return target
        # http://cam/ -> https://cam/ (default ports) is the same camera moving to TLS
        upgrade = (
            cam.scheme.lower() == "http"
            and dst.scheme.lower() == "https"
            and own == (to[0], 80)
            and to[1] == 443
        )
        if upgrade or to[0] in self.follow_hosts or f"{to[0]}:{to[1]}" in self.follow_hosts:
            return target
        raise UrlRejected(
            "same-host",
            f"{what} to another host or port ({to[0]}:{to[1]}, camera is {own[0]}:{own[1]}); "
            "list it in PANTAU_CAMERA_REDIRECT_HOSTS to allow it",
        )

    # ------------------------------------------------------------------------------------------
    def _check_file(self, url: str) -> str:
        if url.lower().startswith("file:"):
            if not url.startswith("file://"):
                raise UrlRejected("syntax", "file URLs look like file:///absolute/path")
            rest = url[len("file://") :]
            if not rest.startswith("/"):  # file://host/path
                raise UrlRejected("host", "file URLs on another host are not allowed")
            path_text = rest
        elif "://" in url:
            raise UrlRejected("scheme", "protocol 'file' needs a file:///path or an absolute path")
        else:
            path_text = url
        if "\x00" in path_text:
            raise UrlRejected("syntax", "path contains a NUL character")
        path = Path(path_text)
        if not path.is_absolute():
            raise UrlRejected("media-dir", f"use an absolute path under {self.media_dir}")
        if self.media_dir is None:
            raise UrlRejected("media-dir", "file cameras are disabled (no media directory)")
        base = self.media_dir.resolve()
        resolved = path.resolve()
        if not resolved.is_relative_to(base):
            raise UrlRejected(
                "media-dir",
                f"file cameras must be under the media directory {base} (PANTAU_CAMERA_MEDIA_DIR)",
            )
        return str(resolved)

    @staticmethod
    def _check_userinfo(netloc: str, username: str | None, password: str | None) -> None:
        if "@" not in netloc:
            return
        if netloc.count("@") > 1:
            raise UrlRejected("userinfo", "more than one '@' in the host part")
        user = (username or "").strip("[]")
        looks_like_host = _ip(user) is not None or (
            "." in user and (not password or password.isdigit())
        )
        if looks_like_host:
            raise UrlRejected(
                "userinfo",
                f"the user name {user!r} looks like a host: the URL goes to the host after "
                "'@', not to it",
            )

    @staticmethod
    def _check_httpx_agrees(url: str, host: str) -> None:
        import httpx

        try:
            other = httpx.URL(url).host
        except Exception as exc:
            raise UrlRejected("syntax", f"not a valid HTTP URL ({exc})") from exc
        if other.lower().strip("[]").rstrip(".") != host.lower().strip("[]"):
            raise UrlRejected("syntax", f"ambiguous host ({host!r} or {other!r})")
        from ingestion.snapshot_http import check_parsers_agree  # snapshots go through urllib3

        try:
            check_parsers_agree(url, host)
        except ValueError as exc:
            raise UrlRejected("syntax", str(exc)) from exc

    def _check_address(self, host: str, port: int, resolve: bool | str) -> None:
        literal = _ip(host)
        if literal is not None:
            addresses = [literal]
        elif not resolve:
            return
        else:
            try:
                if resolve == "lenient":  # an import must not hang on a slow DNS server
                    names = _within(LENIENT_RESOLVE_S, self.resolver, host, port)
                else:
                    names = self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                if resolve == "lenient" or not self.networks:
                    return  # unknown now: checked again at fetch (and it cannot connect)
                raise UrlRejected(
                    "network", f"cannot resolve {host!r} to check it against the camera networks"
                ) from exc
            addresses = [a for a in (_ip(n) for n in names) if a is not None]
        for addr in addresses:
            for net in BLOCKED_NETWORKS:
                if addr.version == net.version and addr in net:
                    shown = host if str(addr) == host else f"{host} ({addr})"
                    raise UrlRejected(
                        "link-local",
                        f"{shown} is a link-local, metadata or broadcast address ({net}): "
                        "never a camera",
                    )
            if self.networks and not any(
                addr.version == net.version and addr in net for net in self.networks
            ):
                raise UrlRejected(
                    "network",
                    f"{host} ({addr}) is outside the camera networks "
                    f"({', '.join(map(str, self.networks))}; PANTAU_CAMERA_NETWORKS)",
                )


LENIENT_RESOLVE_S = 3.0  # at import: a name that takes longer to resolve is checked at fetch


def _within(seconds: float, fn: Callable[[str, int], list[str]], host: str, port: int) -> list[str]:
    """``fn(host, port)`` in a helper thread; OSError (as a failed lookup) after ``seconds``."""
    out: list[list[str] | BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            out.append(fn(host, port))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out.append(exc)
        done.set()

    threading.Thread(target=run, name="url-policy-resolve", daemon=True).start()
    if not done.wait(seconds):
        raise OSError(f"resolving {host!r} took more than {seconds:.0f} s")
    result = out[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _redact(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", url)


@lru_cache(maxsize=65536)
def _syntax(url: str, protocol: str) -> tuple[str, int]:
    """(host, port) of a network camera URL that passes every syntactic rule (scheme for the
    protocol, user info, host, port, HTTP parsers agreeing); raises UrlRejected. Pure: cached
    per (URL, protocol); the address rules (which may resolve the name) run every time."""
    if _CONTROL.search(url):
        raise UrlRejected("syntax", "URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UrlRejected("syntax", f"not a URL ({exc})") from exc
    scheme = parts.scheme.lower()
    allowed = SCHEMES[protocol]
    if scheme and scheme not in allowed:
        raise UrlRejected(
            "scheme",
            f"scheme {scheme!r} is not allowed for protocol {protocol!r} "
            f"(use {' or '.join(allowed)})",
        )
    if not scheme or not parts.netloc:
        raise UrlRejected(
            "syntax", f"not a URL: expected {' or '.join(s + '://' for s in allowed)}host/..."
        )
    UrlPolicy._check_userinfo(parts.netloc, parts.username, parts.password)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRejected("host", "URL has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlRejected("port", f"bad port ({exc})") from exc
    if scheme in ("http", "https"):
        UrlPolicy._check_httpx_agrees(url, host)
    return host, port or DEFAULT_PORTS.get(scheme, 80)


@lru_cache(maxsize=16)
def _policy_for(media_dir: str, networks: str, follow_hosts: str) -> UrlPolicy:
    hosts = frozenset(h.strip().lower().rstrip(".") for h in follow_hosts.split(",") if h.strip())
    return UrlPolicy(
        media_dir=Path(media_dir) if media_dir else None,
        networks=parse_networks(networks),
        follow_hosts=hosts,
    )


def default_policy() -> UrlPolicy:
    """The policy of the process-wide settings (``pantau.settings.get_settings()``)."""
    from pantau.settings import get_settings

    return UrlPolicy.from_settings(get_settings())
