"""SSRF guard: refused addresses, however they are spelled or resolved."""

from __future__ import annotations

import pytest

from agentry.webhooks.ssrf import WebhookUrlRefused, check_url, system_resolver


def fake_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        return await system_resolver(host, port)

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://2130706433/",  # decimal 127.0.0.1
        "http://0x7f000001/",  # hex 127.0.0.1
        "http://0x7f.0.0.1/",
        "http://017700000001/",  # octal 127.0.0.1
        "http://127.0.0.1:8000/",
        "http://[::1]/",
        "http://internal.example/",  # resolves to 10.0.0.1 (fake DNS)
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://0.0.0.0/",
    ],
)
async def test_refused_without_allow_private(url: str) -> None:
    resolver = fake_dns({"internal.example": ["10.0.0.1"]})
    with pytest.raises(WebhookUrlRefused):
        await check_url(url, allow_private=False, https_only=False, resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://metadata.example/",
    ],
)
async def test_metadata_refused_even_when_private_allowed(url: str) -> None:
    resolver = fake_dns({"metadata.example": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(WebhookUrlRefused, match="metadata"):
        await check_url(url, allow_private=True, https_only=False, resolver=resolver)


async def test_private_allowed_in_dev_and_connection_pinned_to_checked_address() -> None:
    resolver = fake_dns({"receiver.test": ["127.0.0.1"]})
    checked = await check_url(
        "http://receiver.test:9000/hook?x=1",
        allow_private=True,
        https_only=False,
        resolver=resolver,
    )
    assert checked.address == "127.0.0.1"
    assert checked.pinned_url() == "http://127.0.0.1:9000/hook?x=1"
    assert checked.host_header == "receiver.test:9000"


async def test_public_address_allowed_and_https_enforced() -> None:
    resolver = fake_dns({"hooks.example.com": ["93.184.216.34"]})
    ok = await check_url(
        "https://hooks.example.com/x", allow_private=False, https_only=True, resolver=resolver
    )
    assert ok.address == "93.184.216.34"
    with pytest.raises(WebhookUrlRefused, match="https"):
        await check_url(
            "http://hooks.example.com/x", allow_private=False, https_only=True, resolver=resolver
        )


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://example.com/", "http:///nohost", "http://u:p@example.com/"]
)
async def test_malformed_urls_refused(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        await check_url(url, allow_private=True, https_only=False)


# IPv4-in-IPv6 transition forms that embed a refused IPv4 address, and port rules (finding 8).
@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated 169.254.169.254
        "http://[::a9fe:a9fe]/",  # IPv4-compatible 169.254.169.254
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::a9fe:a9fe]/",  # NAT64 local use
        "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo, client 169.254.169.254
        "http://v6meta.example/",  # AAAA record in a transition form
    ],
)
async def test_metadata_in_ipv6_transition_forms_refused_even_in_dev(url: str) -> None:
    resolver = fake_dns({"v6meta.example": ["64:ff9b::169.254.169.254"]})
    with pytest.raises(WebhookUrlRefused, match="metadata"):
        await check_url(url, allow_private=True, https_only=False, resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:0:7f00:1]/",  # IPv4-translated 127.0.0.1
        "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "http://[2002:c0a8:1::1]/",  # 6to4 of 192.168.0.1
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    ],
)
async def test_private_ipv4_in_ipv6_transition_forms_refused(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        await check_url(url, allow_private=False, https_only=False)


@pytest.mark.parametrize("url", ["http://93.184.216.34:0/", "https://hooks.example:0/x"])
async def test_port_zero_refused(url: str) -> None:
    resolver = fake_dns({"hooks.example": ["93.184.216.34"]})
    with pytest.raises(WebhookUrlRefused, match="port 0"):
        await check_url(url, allow_private=False, https_only=False, resolver=resolver)


async def test_public_ipv6_and_explicit_port_still_allowed() -> None:
    resolver = fake_dns({"v6.example": ["2606:2800:220:1:248:1893:25c8:1946"]})
    checked = await check_url(
        "https://v6.example:8443/h", allow_private=False, https_only=True, resolver=resolver
    )
    assert checked.port == 8443
    assert checked.pinned_url() == "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/h"
