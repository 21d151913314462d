"""Failed-auth throttle (finding 2): keyed by source and by what is guessed, forwarded headers
only from trusted proxies, and a valid credential is never locked out."""

from __future__ import annotations

import secrets
import shutil
import string
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest

from agentry.api_keys.keys import _checksum
from agentry.identity.auth import MAX_BEARER_CHARS
from agentry.kit.addresses import client_address, networks
from agentry.testing.inproc import InProcApp, running_app

LIMIT = 3
_ALPHABET = string.digits + string.ascii_letters


def made_up_key(prefix: str = "") -> str:
    """A well-formed (checksummed) key that was never issued: it costs a lookup to refuse."""
    body = prefix + "".join(secrets.choice(_ALPHABET) for _ in range(32 - len(prefix)))
    return f"agy_{body}{_checksum(body)}"


@pytest.fixture
async def api(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[InProcApp]:
    db = tmp_path / "agentry.db"
    shutil.copy(sqlite_template, db)
    async with running_app(
        f"sqlite+aiosqlite:///{db}",
        tmp_path,
        auth_failure_limit=f"{LIMIT}/minute",
        trusted_proxies=["10.9.8.0/24"],  # the in-process client's address (a load balancer)
    ) as app:
        yield app


async def test_failures_from_one_source_are_throttled_but_valid_keys_still_pass(
    api: InProcApp,
) -> None:
    acme = (await api.key(await api.tenant("acme"))).secret
    globex = (await api.key(await api.tenant("globex"))).secret
    codes = []
    for _ in range(LIMIT + 2):
        async with api.client(made_up_key()) as bad:
            codes.append((await bad.get("/v1/me")).status_code)
    assert codes == [401] * LIMIT + [429, 429]
    async with api.client(made_up_key()) as bad:
        limited = await bad.get("/v1/me")
    assert limited.json()["code"] == "auth_throttled"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["www-authenticate"].startswith("Bearer")
    for good in (acme, globex):  # same address, other tenants' valid keys: never locked out
        async with api.client(good) as c:
            assert (await c.get("/v1/me")).status_code == 200
    async with api.client() as anon:
        assert (await anon.get("/healthz")).status_code == 200


async def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_reset_the_count(
    tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "agentry.db"
    shutil.copy(sqlite_template, db)
    async with running_app(
        f"sqlite+aiosqlite:///{db}", tmp_path, auth_failure_limit=f"{LIMIT}/minute"
    ) as api:  # no trusted proxies: X-Forwarded-For means nothing
        codes = []
        for i in range(LIMIT + 3):
            async with api.client(made_up_key()) as bad:
                r = await bad.get("/v1/me", headers={"X-Forwarded-For": f"198.51.100.{i}"})
                codes.append(r.status_code)
    assert codes == [401] * LIMIT + [429] * 3


async def test_guesses_at_one_key_prefix_are_throttled_across_forwarded_addresses(
    api: InProcApp,
) -> None:
    codes = []
    for i in range(LIMIT + 2):  # every attempt from its own (trusted-proxy) client address
        async with api.client(made_up_key("Zq9x3P")) as bad:
            r = await bad.get("/v1/me", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            codes.append(r.status_code)
    assert codes == [401] * LIMIT + [429, 429]
    async with api.client(made_up_key()) as other:  # another prefix, another address: 401
        r = await other.get("/v1/me", headers={"X-Forwarded-For": "198.51.100.200"})
    assert r.status_code == 401


async def test_forged_tokens_for_one_issuer_are_throttled(api: InProcApp) -> None:
    tid = "a0000000-0000-4000-8000-00000000ac3e"
    codes = []
    for i in range(LIMIT + 1):
        forged = jwt.encode(
            {"iss": f"https://login.microsoftonline.com/{tid}/v2.0", "n": i},
            "not-the-signing-key-of-any-issuer",
            algorithm="HS256",
        )
        async with api.client(forged) as bad:
            r = await bad.get("/v1/me", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            codes.append(r.status_code)
    assert codes == [401] * LIMIT + [429]


async def test_oversized_bearer_is_401_without_work(api: InProcApp) -> None:
    async with api.client("x" * (MAX_BEARER_CHARS + 1)) as c:
        r = await c.get("/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "credential_too_large"
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_forwarded_for_is_believed_only_hop_by_hop_through_trusted_proxies() -> None:
    trusted = networks(["10.0.0.0/8"])
    assert client_address("10.0.0.5", "203.0.113.9", trusted) == "203.0.113.9"
    # The client wrote a fake hop before the real one; only the proxy-added hop counts.
    assert client_address("10.0.0.5", "1.2.3.4, 203.0.113.9", trusted) == "203.0.113.9"
    assert client_address("10.0.0.5", "203.0.113.9, 10.0.0.7", trusted) == "203.0.113.9"
    assert client_address("192.0.2.1", "203.0.113.9", trusted) == "192.0.2.1"
    assert client_address("10.0.0.5", "203.0.113.9", ()) == "10.0.0.5"
