"""Which hosts webhook and HTTP channels may call (server-side request forgery guard).

A notification target is typed by an admin (or comes from the environment), and Pantau's
server then calls it: without rules it could reach the cloud metadata service or any internal
host. The rules (:meth:`TargetPolicy.check`):

* the scheme is ``http`` or ``https``; no user info, whitespace or control characters;
* the host is allowed when it is listed by name in ``PANTAU_NOTIFY_ALLOWED_TARGETS``, is the
  host of a URL in ``PANTAU_NOTIFY_WEBHOOKS`` / ``PANTAU_NOTIFY_HTTP_URL_TEMPLATE``, or when
  every address it resolves to lies in a network (CIDR) listed there;
* link-local and metadata addresses (169.254.0.0/16, fe80::/10, 100.100.100.200...; the list of
  :data:`ingestion.url_policy.BLOCKED_NETWORKS`) are refused even for an allowed host name,
  unless a listed network contains the address.

Refusals raise :class:`TargetRefused` with a sentence saying what to configure. A host name is
resolved when checked and again when connected (DNS rebinding between the two is not
prevented); use IP networks where that matters.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ingestion.url_policy import BLOCKED_NETWORKS, IpNetwork, _ip

_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")
_BAD = re.compile(r"[\x00-\x20\x7f\\]")
Resolver = Callable[[str, int], list[str]]


class TargetRefused(ValueError):
    """A notification target the allow-list does not admit (the message says why)."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def parse_allowed(text: str) -> tuple[frozenset[str], tuple[IpNetwork, ...]]:
    """``'api.telegram.org, 10.20.0.0/16'`` -> ({host names}, (networks,)). ValueError naming
    a bad entry."""
    hosts: set[str] = set()
    nets: list[IpNetwork] = []
    for item in (i.strip().lower() for i in (text or "").split(",")):
        if not item:
            continue
        if "/" in item or _ip(item) is not None:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"not a network (CIDR) {item!r}: {exc}") from None
        elif _HOST.match(item):
            hosts.add(item.rstrip("."))
        else:
            raise ValueError(f"not a host name or network {item!r}")
    return frozenset(hosts), tuple(nets)


def url_host(url: str) -> str | None:
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".") or None
    except ValueError:
        return None


@dataclass(frozen=True)
class TargetPolicy:
    hosts: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = ()
    resolver: Resolver = field(default=_resolve, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Any, resolver: Resolver | None = None) -> TargetPolicy:
        hosts, nets = parse_allowed(settings.notify_allowed_targets)
        implicit = [u for u in settings.notify_webhooks.split(",") if u.strip()]
        if settings.notify_http_url_template.strip():
            implicit.append(settings.notify_http_url_template)
        extra = {h for h in (url_host(u) for u in implicit) if h}
        return cls(hosts | extra, nets, resolver or _resolve)

    def check(self, url: str) -> None:
        """Raise :class:`TargetRefused` unless ``url`` may be called."""
        if not url or len(url) > 2048:
            raise TargetRefused("a target URL of 1 to 2048 characters is required")
        if _BAD.search(url):
            raise TargetRefused(f"{url!r}: whitespace, control characters or backslashes")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise TargetRefused(f"{url!r} is not a URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise TargetRefused(f"{url!r}: only http and https targets are allowed")
        if "@" in parts.netloc:
            raise TargetRefused(f"{url!r}: user info in a target URL is not allowed")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise TargetRefused(f"{url!r} has no host")
        port = port or (443 if parts.scheme == "https" else 80)
        literal = _ip(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [a for a in (_ip(x) for x in self.resolver(host, port)) if a]
            except OSError as exc:
                raise TargetRefused(f"{host}: cannot be resolved ({exc})") from None
            if not addresses:
                raise TargetRefused(f"{host}: resolves to no address")
        in_nets = all(any(a in n for n in self.networks) for a in addresses)
        if not (host in self.hosts or in_nets):
            raise TargetRefused(
                f"{host} is not an allowed notification target: add it (or its network) to "
                "PANTAU_NOTIFY_ALLOWED_TARGETS"
            )
        for a in addresses:
            if any(a in n for n in BLOCKED_NETWORKS) and not any(a in n for n in self.networks):
                raise TargetRefused(
                    f"{host} ({a}) is a link-local/metadata address: refused unless a network "
                    "in PANTAU_NOTIFY_ALLOWED_TARGETS contains it"
                )
