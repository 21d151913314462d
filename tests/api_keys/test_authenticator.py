"""The API key check on the hot path: cached verifications, one load per uncached key."""

from __future__ import annotations

import asyncio

import pytest

from agentry.api_keys.repository import ApiKeyAuthRepository
from agentry.api_keys.service import ApiKeyAuthenticator, InvalidApiKey
from agentry.testing.inproc import TEST_PEPPER, InProcApp


async def test_concurrent_checks_of_an_uncached_key_load_it_once(
    api: InProcApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = await api.tenant("acme")
    issued = await api.key(acme)
    reads: list[str] = []
    lookup = ApiKeyAuthRepository.lookup_by_hash

    async def counted(self: ApiKeyAuthRepository, key_hash: str) -> object:
        reads.append(key_hash)
        await asyncio.sleep(0.02)  # the load is in flight while the others arrive
        return await lookup(self, key_hash)

    monkeypatch.setattr(ApiKeyAuthRepository, "lookup_by_hash", counted)
    checker = ApiKeyAuthenticator(api.platform.sessionmaker, TEST_PEPPER.encode())
    principals = await asyncio.gather(*(checker.authenticate(issued.secret) for _ in range(16)))
    assert {p.tenant_id for p in principals} == {acme.id}
    assert len(reads) == 1
    await checker.authenticate(issued.secret)  # a hit: no read
    assert len(reads) == 1
    checker.forget()
    await checker.authenticate(issued.secret)
    assert len(reads) == 2


async def test_a_failed_load_is_not_cached_and_fails_every_waiter(api: InProcApp) -> None:
    acme = await api.tenant("acme")
    issued = await api.key(acme)
    checker = ApiKeyAuthenticator(api.platform.sessionmaker, b"another-pepper")
    results = await asyncio.gather(
        *(checker.authenticate(issued.secret) for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, InvalidApiKey) for r in results)
    right = ApiKeyAuthenticator(api.platform.sessionmaker, TEST_PEPPER.encode())
    assert (await right.authenticate(issued.secret)).tenant_id == acme.id
