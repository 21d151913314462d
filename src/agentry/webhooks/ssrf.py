"""SSRF guard for outbound URLs: resolve, check every address, then connect to a checked one.

Addresses and ports are classified in `agentry.kit.addresses` (one rule set for webhooks,
job webhook_url and tool targets).

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

from agentry.kit.addresses import parse, port_refusal, refusal_reason
from agentry.kit.errors import ValidationFailed

Resolver = Callable[[str, int], Awaitable[list[str]]]


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
    refused_port = port_refusal(port)
    if refused_port is not None:
        raise WebhookUrlRefused(refused_port)
    port = (443 if scheme == "https" else 80) if port is None else port
    try:
        addresses = await resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlRefused(f"host '{host}' does not resolve") from exc
    if not addresses:
        raise WebhookUrlRefused(f"host '{host}' does not resolve")
    for raw in addresses:
        try:
            address = parse(raw)
        except ValueError as exc:
            raise WebhookUrlRefused(f"host '{host}' resolves to an unusable address") from exc
        reason = refusal_reason(address, allow_private=allow_private)
        if reason is not None:
            raise WebhookUrlRefused(f"host '{host}' resolves to a {reason}")
    return CheckedUrl(url=url, scheme=scheme, host=host, port=port, address=addresses[0])
