"""The one address classifier: every IPv4-in-IPv6 form is judged by the IPv4 it carries."""

from __future__ import annotations

import ipaddress

import pytest

from agentry.kit.addresses import embedded_ipv4, parse, port_refusal, refusal_reason

META = ipaddress.IPv4Address("169.254.169.254")


@pytest.mark.parametrize(
    "raw",
    [
        "::ffff:169.254.169.254",
        "::ffff:0:169.254.169.254",
        "::169.254.169.254",
        "2002:a9fe:a9fe::",
        "64:ff9b::169.254.169.254",
        "2001:0:4136:e378:8000:63bf:5601:5601",
    ],
)
def test_every_transition_form_yields_the_embedded_ipv4(raw: str) -> None:
    address = parse(raw)
    assert isinstance(address, ipaddress.IPv6Address)
    assert META in embedded_ipv4(address)
    assert refusal_reason(address, allow_private=True) == "link-local or metadata address"


def test_plain_public_ipv6_embeds_nothing_and_is_allowed() -> None:
    address = ipaddress.IPv6Address("2606:2800:220:1:248:1893:25c8:1946")
    assert embedded_ipv4(address) == []
    assert refusal_reason(address, allow_private=False) is None


def test_loopback_v6_is_not_mistaken_for_compatible_form() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) == []
    assert refusal_reason(ipaddress.IPv6Address("::1"), allow_private=False) is not None
    assert refusal_reason(ipaddress.IPv6Address("::"), allow_private=True) == "reserved address"


def test_parse_strips_zone_and_brackets() -> None:
    assert parse("[fe80::1%eth0]") == ipaddress.IPv6Address("fe80::1")


@pytest.mark.parametrize(
    ("port", "refused"), [(None, False), (1, False), (65535, False), (0, True)]
)
def test_port_rules(port: int | None, refused: bool) -> None:
    assert (port_refusal(port) is not None) is refused
