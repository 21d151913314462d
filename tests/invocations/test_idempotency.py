"""Idempotency-Key on sync invoke, over real HTTP; the store's expiry on both databases."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.identity.principal import ROLE_SCOPES, Principal, Role
from agentry.invocations.idempotency import (
    Claim,
    Existing,
    IdempotencyKeyReused,
    IdempotencyStore,
    request_hash,
)
from agentry.testing.stack import Stack
from tests.factories import make_tenant


def _post(
    stack: Stack, body: dict[str, Any], key: str, api_key: str | None = None
) -> httpx.Response:
    with stack.client(api_key or stack.acme_key) as c:
        return c.post("/v1/agents/echo/invoke", json=body, headers={"Idempotency-Key": key})


@pytest.mark.e2e
def test_same_key_and_body_returns_the_first_answer(stack: Stack) -> None:
    key = f"k-{uuid.uuid4().hex}"
    first = _post(stack, {"input": {"prompt": "once"}}, key)
    # Same request, other JSON layout: still the same request.
    with stack.client(stack.acme_key) as c:
        again = c.post(
            "/v1/agents/echo/invoke",
            content=b'{ "input" : {"prompt":"once"} }',
            headers={"Idempotency-Key": key, "content-type": "application/json"},
        )
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # the stored answer, byte for byte (same invocation)


@pytest.mark.e2e
def test_same_key_with_another_body_is_409(stack: Stack) -> None:
    key = f"k-{uuid.uuid4().hex}"
    assert _post(stack, {"input": {"prompt": "a"}}, key).status_code == 200
    r = _post(stack, {"input": {"prompt": "b"}}, key)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "idempotency_key_reused"


@pytest.mark.e2e
def test_keys_are_scoped_per_tenant(stack: Stack) -> None:
    key = f"k-{uuid.uuid4().hex}"
    acme = _post(stack, {"input": {"prompt": "a"}}, key)
    globex = _post(stack, {"input": {"prompt": "b"}}, key, stack.globex_key)
    assert acme.status_code == globex.status_code == 200
    assert acme.json()["invocation_id"] != globex.json()["invocation_id"]
    assert "idempotent-replayed" not in globex.headers


@pytest.mark.e2e
def test_concurrent_duplicates_run_once(stack: Stack) -> None:
    key = f"k-{uuid.uuid4().hex}"
    body = {"input": {"prompt": "slow", "sleep": 1.0}, "session_id": f"s-{uuid.uuid4().hex}"}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _post(stack, body, key), range(2)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    winner = next(r for r in results if r.status_code == 200)
    assert loser.json()["code"] == "idempotency_in_progress"
    assert loser.headers["retry-after"] == "1"
    assert loser.json()["invocation_id"] == winner.json()["invocation_id"]
    later = _post(stack, body, key)
    assert later.status_code == 200
    assert later.json()["invocation_id"] == winner.json()["invocation_id"]


@pytest.mark.e2e
def test_a_failed_call_frees_its_key_for_a_retry(stack: Stack) -> None:
    key = f"k-{uuid.uuid4().hex}"
    first = _post(stack, {"input": {"fail": "boom"}}, key)
    retry = _post(stack, {"input": {"fail": "boom"}}, key)
    assert first.status_code == retry.status_code == 502
    assert first.json()["invocation_id"] != retry.json()["invocation_id"]


@pytest.mark.e2e
def test_invalid_key_is_400(stack: Stack) -> None:
    r = _post(stack, {"input": {}}, "bad key with spaces")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_idempotency_key"


def _principal(tenant_id: str) -> Principal:
    return Principal(tenant_id, "t", "basic", Role.member, ROLE_SCOPES[Role.member])


async def test_expired_records_are_taken_over(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        await session.commit()
    who = _principal(tenant.id)
    store = IdempotencyStore(sessionmaker, ttl_s=0)
    h1, h2 = request_hash("sync", "echo", {"a": 1}), request_hash("sync", "echo", {"a": 2})
    first = await store.claim(who, "key", h1, invocation_id="inv_1", running_s=60)
    assert isinstance(first, Claim)
    running = await store.claim(who, "key", h1, invocation_id="inv_2", running_s=60)
    assert isinstance(running, Existing)
    assert not running.done
    assert running.invocation_id == "inv_1"
    with pytest.raises(IdempotencyKeyReused):
        await store.claim(who, "key", h2, invocation_id="inv_3", running_s=60)
    await store.complete(who, first, 200, b"{}")  # ttl 0: expires at once
    taken = await store.claim(who, "key", h2, invocation_id="inv_4", running_s=60)
    assert isinstance(taken, Claim)
    assert taken.invocation_id == "inv_4"
