"""Agent-to-agent calls through the platform, on the real stack: the researcher delegates to
the summariser in sync, stream and job modes; both invocations recorded and metered for the
tenant with one trace id; loops, depth, undeclared callees and policy refused with codes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select

from agentry.kit.db.engine import create_engine, create_sessionmaker
from agentry.models import Invocation, UsageEvent
from agentry.testing.stack import Stack
from tests.factories import agent_token, stack_signer
from tests.invocations.sse import read_stream
from tests.policy.test_hops_e2e import audit, db_url, enforce, fresh_tenant

pytestmark = pytest.mark.e2e


async def _rows(stack: Stack, tenant_id: str) -> tuple[list[Invocation], list[UsageEvent]]:
    engine = create_engine(db_url(stack))
    try:
        async with create_sessionmaker(engine)() as session:
            inv = await session.execute(select(Invocation).where(Invocation.tenant_id == tenant_id))
            use = await session.execute(select(UsageEvent).where(UsageEvent.tenant_id == tenant_id))
            return list(inv.scalars()), list(use.scalars())
    finally:
        await engine.dispose()


def rows(stack: Stack, tenant_id: str, want: int) -> tuple[list[Invocation], list[UsageEvent]]:
    """Invocation rows are group-committed: wait until `want` of them are there."""
    deadline = time.monotonic() + 10
    while True:
        found = asyncio.run(_rows(stack, tenant_id))
        if len(found[0]) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def researcher(stack: Stack, key: str, **payload: Any) -> dict[str, Any]:
    with stack.client(key) as c:
        r = c.post("/v1/agents/researcher/invoke", json={"input": {"topic": "cedar", **payload}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_sync_delegation_is_recorded_metered_and_traced_for_both(stack: Stack) -> None:
    tenant_id, key = fresh_tenant(stack)
    body = researcher(stack, key)
    child = body["output"]["delegated"]
    assert child["status"] == 200
    assert child["agent"] == "summariser"
    assert child["output"]["summary"].startswith("Notes on cedar")
    invocations, usage = rows(stack, tenant_id, 2)
    by_id = {i.id: i for i in invocations}
    parent, callee = by_id[body["invocation_id"]], by_id[child["invocation_id"]]
    assert callee.parent_invocation_id == parent.id
    assert parent.parent_invocation_id is None
    assert callee.request_id == parent.request_id  # one trace id across both hops
    runtime = {u.invocation_id for u in usage if u.kind == "runtime_ms"}
    assert {parent.id, callee.id} <= runtime
    with stack.client(key) as c:
        report = c.get("/v1/usage", params={"group_by": "agent"}).json()
    agents = {line["key"] for line in report["lines"] if line["kind"] == "runtime_ms"}
    assert {"researcher", "summariser"} <= agents
    done = [e for e in audit(stack, "agent.delegate") if e.actor_tenant_id == tenant_id]
    assert [(e.outcome, e.details["callee"], e.details["parent_invocation_id"]) for e in done] == [
        ("success", "summariser", parent.id)
    ]


def test_stream_mode_relays_the_callees_stream(stack: Stack) -> None:
    tenant_id, key = fresh_tenant(stack)
    with stack.client(key) as c:
        result = read_stream(
            c,
            "POST",
            "/v1/agents/researcher/stream",
            json={"input": {"topic": "streams", "stream": True}},
        )
    assert result.status == 200
    chunks = [e.json for e in result.events if e.event == "chunk"]
    assert chunks[0]["notes"].startswith("Notes on streams")
    relayed = [c["callee_event"] for c in chunks if "callee_event" in c]
    assert relayed[0] == "start"
    assert relayed[-1] == "end"
    assert chunks[-1] == {"done": True}
    parent_id = result.events[0].json["invocation_id"]
    invocations, _ = rows(stack, tenant_id, 2)
    callee = [i for i in invocations if i.parent_invocation_id == parent_id]
    assert [(i.mode, i.status) for i in callee] == [("stream", "succeeded")]


def test_job_mode_delegates_from_the_job(stack: Stack) -> None:
    tenant_id, key = fresh_tenant(stack)
    with stack.client(key) as c:
        r = c.post("/v1/agents/researcher/jobs", json={"input": {"topic": "jobs"}})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while True:
            job = c.get(f"/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert job["status"] == "succeeded", job
    child = job["result"]["delegated"]
    assert (child["status"], child["agent"]) == (200, "summariser")
    invocations, usage = rows(stack, tenant_id, 1)
    callee = [i for i in invocations if i.id == child["invocation_id"]]
    assert callee[0].parent_invocation_id == job_id
    assert callee[0].request_id == job_id  # a job's trace id is the job id
    assert any(u.invocation_id == callee[0].id and u.kind == "runtime_ms" for u in usage)


def test_loop_a_b_a_is_refused_with_a_clear_code_and_bills_nothing(stack: Stack) -> None:
    tenant_id, key = fresh_tenant(stack)
    body = researcher(stack, key, then=["summariser", "researcher"])
    inner = body["output"]["delegated"]["output"]["delegated"]
    assert (inner["status"], inner["code"]) == (409, "delegation_loop")
    assert inner["chain"] == ["researcher", "summariser", "researcher"]
    invocations, _ = rows(stack, tenant_id, 2)
    assert len(invocations) == 2  # researcher and summariser ran; the looping call did not
    refused = [
        e
        for e in audit(stack, "agent.delegate")
        if e.actor_tenant_id == tenant_id and e.outcome == "denied"
    ]
    assert [e.details["code"] for e in refused] == ["delegation_loop"]
    assert refused[0].actor == "agent:summariser"


def test_policy_decides_delegation(stack: Stack) -> None:
    tenant_id, key = fresh_tenant(stack)
    enforce(
        stack,
        key,
        'permit(principal, action, resource);\nforbid(principal, action == Agentry::Action::"'
        'DelegateAgent", resource == Agentry::Agent::"summariser") when { context.agent == '
        '"researcher" };',
    )
    child = researcher(stack, key)["output"]["delegated"]
    assert (child["status"], child["code"]) == (403, "policy_denied")
    invocations, usage = rows(stack, tenant_id, 1)
    assert len(invocations) == 1  # only the researcher: the denied callee never ran
    assert {u.invocation_id for u in usage} == {invocations[0].id}
    denied = [e for e in audit(stack, "policy.denied") if e.actor_tenant_id == tenant_id]
    assert denied[0].details["action"] == "DelegateAgent"
    assert denied[0].details["parent_invocation_id"] == invocations[0].id


def _token(stack: Stack, tenant_id: str, **claims: Any) -> str:
    return agent_token(
        stack_signer(stack),
        tenant_id=tenant_id,
        tier="premium",
        agent=claims.pop("agent", "researcher"),
        invocation_id=f"inv_{'0' * 29}{len(claims)}",
        scopes=claims.pop("scopes", ("jobs",)),
        **claims,
    )


def test_depth_scope_and_declaration_are_checked_by_the_platform(stack: Stack) -> None:
    tenant_id, _ = fresh_tenant(stack)
    url = "/agent/v1/agents/summariser/invoke"
    body = {"input": {"text": "x"}}
    cases = [
        # depth: four agents already in the chain, the limit is 3
        (
            {
                "scopes": ("agents",),
                "agents": ["summariser"],
                "chain": ["a", "b", "c", "researcher"],
            },
            409,
            "delegation_too_deep",
        ),
        ({"scopes": ("agents",), "agents": ["echo"]}, 403, "delegation_not_declared"),
        ({"scopes": ("model",), "agents": ["summariser"]}, 403, "insufficient_scope"),
        (
            {"scopes": ("agents",), "agents": ["summariser"], "chain": ["summariser", "x"]},
            409,
            "delegation_loop",
        ),
    ]
    for claims, status, code in cases:
        with stack.client(_token(stack, tenant_id, **claims)) as c:
            r = c.post(url, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), claims
    ok = {"scopes": ("agents",), "agents": ["summariser"], "chain": ["a", "b", "researcher"]}
    with stack.client(_token(stack, tenant_id, **ok)) as c:
        r = c.post(url, json=body)
    assert r.status_code == 200, r.text  # depth 3 is allowed
    with stack.client(_token(stack, tenant_id, **ok)) as c:
        assert c.post(url, json=body, headers={"Authorization": "Bearer x"}).status_code == 401
