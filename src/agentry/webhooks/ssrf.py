"""SSRF guard for webhook URLs: resolve, check every address, then connect to a checked one.

Hand-written because no maintained library does "resolve once, refuse metadata/link-local,
optionally refuse private, and pin the connection to the checked address" for httpx.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from agentry.kit.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata (IMDS)
    ipaddress.ip_network("fd00:ec2::254/128"),  # EC2 metadata over IPv6
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (AWS uses it internally)
)


class WebhookUrlRefused(ValidationFailed):
    code = "webhook_url_refused"
    title = "The webhook URL is not allowed"


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked IP to connect to

    def pinned_url(self) -> str:
        """The URL with the checked address as host (the Host header keeps the name)."""
        parts = urlsplit(self.url)
        ip = ipaddress.ip_address(self.address)
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        netloc = f"{host}:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


def refusal_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in ALWAYS_REFUSED if net.version == address.version):
        return "link-local or metadata address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "reserved address"
    if (address.is_loopback or address.is_private) and not allow_private:
        return "loopback or private address"
    return None


async def check_url(
    url: str,
    *,
    allow_private: bool,
    https_only: bool,
    resolver: Resolver = system_resolver,
) -> CheckedUrl:
    """Raise `WebhookUrlRefused` unless every address `url` resolves to is allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlRefused("not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlRefused("must be an http(s) URL with a host")
    if https_only and scheme != "https":
        raise WebhookUrlRefused("must use https")
    if parts.username or parts.password:
        raise WebhookUrlRefused("must not carry credentials")
    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = await resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlRefused(f"host '{host}' does not resolve") from exc
    if not addresses:
        raise WebhookUrlRefused(f"host '{host}' does not resolve")
    for raw in addresses:
        reason = refusal_reason(
            ipaddress.ip_address(raw.split("%")[0]), allow_private=allow_private
        )
        if reason is not None:
            raise WebhookUrlRefused(f"host '{host}' resolves to a {reason}")
    return CheckedUrl(url=url, scheme=scheme, host=host, port=port, address=addresses[0])
