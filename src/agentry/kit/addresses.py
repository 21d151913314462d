"""One place that normalises and classifies network addresses and ports for outbound calls.

Every URL the platform calls on a tenant's or developer's behalf (webhook endpoints, a job's
`webhook_url`, external MCP tool targets) goes through `refusal_reason` and `port_refusal`.
An IPv6 address is also judged by every IPv4 address embedded in it, whatever the transition
form: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible
(`::a.b.c.d`), 6to4 (`2002:AABB:CCDD::/48`), NAT64 (`64:ff9b::/96`) and Teredo (`2001::/32`,
server and client). NAT64's local-use prefix `64:ff9b:1::/48` embeds IPv4 at a position the
network chooses, so it is refused as a whole.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata (IMDS)
    ipaddress.ip_network("fd00:ec2::254/128"),  # EC2 metadata over IPv6
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (AWS uses it internally)
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64 local use: embedding position unknown
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOW32 = 0xFFFFFFFF


def parse(raw: str) -> IPAddress:
    """An address from resolver output or a URL host (zone ids and brackets removed)."""
    return ipaddress.ip_address(raw.strip("[]").split("%")[0])


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries in one of the transition forms."""
    value = int(address)
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if value >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d (SIIT, RFC 6052 §2.1 translated)
        found.append(ipaddress.IPv4Address(value & _LOW32))
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (deprecated compatible form)
        found.append(ipaddress.IPv4Address(value))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client); the client is stored inverted
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(value & _LOW32))
    return found


def _own_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    if any(address in net for net in ALWAYS_REFUSED if net.version == address.version):
        return "link-local or metadata address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "reserved address"
    if (address.is_loopback or address.is_private) and not allow_private:
        return "loopback or private address"
    return None


def refusal_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the platform must not connect to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in embedded_ipv4(address):
            reason = _own_reason(inner, allow_private=allow_private)
            if reason is not None:
                return reason
    return _own_reason(address, allow_private=allow_private)


def port_refusal(port: int | None) -> str | None:
    """Why a URL's explicit port is refused: only 1..65535 are real TCP ports."""
    if port is None:
        return None
    if not 1 <= port <= 65535:
        return f"port {port} is not a usable TCP port"
    return None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str:
    """The caller's address. `X-Forwarded-For` is believed only hop by hop from the right,
    while the hop that added it is one of the `trusted` proxies; anything else a client wrote
    into the header is ignored (otherwise every request could claim a fresh address)."""
    current = peer or "unknown"
    if not trusted or not forwarded_for:
        return current
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    while hops and _in(current, trusted):
        current = hops.pop()
    return current


def _in(raw: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = parse(raw)
    except ValueError:
        return False
    return any(address in net for net in trusted if net.version == address.version)
