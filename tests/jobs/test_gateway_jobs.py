"""Gateway-using agents as async jobs: the concierge as a job, and a job retried after its
agent died having made its model and tool calls. Real processes (the shared stack)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.models import UsageEvent
from agentry.testing.stack import REPO_ROOT, Stack
from tests.jobs.support import TERMINAL, in_db, wait_job

pytestmark = pytest.mark.e2e
CALCULATE = 'call utility___calculate {"expression": "2*21"}'
RETRY_AGENT = Path(__file__).parent / "agents" / "concierge_retry"


def _rows(stack: Stack, invocation_id: str) -> list[tuple[str, int, str]]:
    async def get(s: AsyncSession) -> list[tuple[str, int, str]]:
        rows = await s.execute(
            select(UsageEvent.kind, UsageEvent.quantity, UsageEvent.cost)
            .where(UsageEvent.invocation_id == invocation_id)
            .order_by(UsageEvent.id)
        )
        return [(kind, int(quantity), str(cost)) for kind, quantity, cost in rows.all()]

    return in_db(stack, get)


def _by_kind(rows: list[tuple[str, int, str]]) -> dict[str, tuple[int, int, float]]:
    """kind -> (rows, quantity, cost)"""
    out: dict[str, tuple[int, int, float]] = {}
    for kind, quantity, cost in rows:
        n, q, c = out.get(kind, (0, 0, 0.0))
        out[kind] = (n + 1, q + quantity, c + float(cost))
    return out


def _usage_of(stack: Stack, agent: str) -> dict[str, tuple[int, float]]:
    with stack.client(stack.acme_key) as c:
        report = c.get("/v1/usage", params={"group_by": "agent"}).json()
    return {
        line["kind"]: (line["quantity"], float(line["cost"]))
        for line in report["lines"]
        if line["key"] == agent
    }


def test_concierge_job_succeeds_and_its_usage_shows_tokens_and_a_tool_call(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        r = c.post("/v1/agents/concierge/jobs", json={"input": {"prompt": CALCULATE}})
        assert r.status_code == 202, r.text
        job = wait_job(c, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["tool_calls"] == [{"tool": "utility___calculate", "allowed": True}]
    assert "42" in job["result"]["answer"]
    usage = _by_kind(_rows(stack, job["id"]))  # the job id is the invocation id
    for kind in ("input_tokens", "output_tokens", "tool_call"):
        assert min(usage[kind][1:]) > 0, (kind, usage)
    assert usage["tool_call"][:2] == (1, 1)
    assert usage["runtime_ms"][0] == 1
    assert usage["runtime_ms"][2] > 0  # priced from the tier's price book


def test_gateway_agent_job_input_must_be_an_object(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        for bad in ("call utility___now", ["a"], None):
            r = c.post("/v1/agents/concierge/jobs", json={"input": bad})
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
        r = c.post("/v1/agents/concierge/jobs", json={"prompt": CALCULATE})  # no `input`
        assert r.status_code == 422


def test_retried_job_is_metered_once_and_succeeds_on_its_second_attempt(
    stack: Stack, tmp_path: Path
) -> None:
    agent = tmp_path / "concierge_retry"
    shutil.copytree(RETRY_AGENT, agent)
    shutil.copy(REPO_ROOT / "agents" / "concierge" / "main.py", agent / "concierge.py")
    pushed = stack.cli("agent", "push", str(agent), "--json", check=False)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert json.loads(pushed.stdout)["version"] >= 1

    marker = tmp_path / "first-attempt-died"
    payload = {"prompt": CALCULATE, "crash_marker": str(marker)}
    with stack.client(stack.acme_key) as c:
        r = c.post("/v1/agents/concierge_retry/jobs", json={"input": payload})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        wait_job(c, job_id, lambda j: marker.exists() or j["status"] in TERMINAL)
        assert marker.exists()
        first = _by_kind(_rows(stack, job_id))  # all of attempt 1's calls, recorded
        job = wait_job(c, job_id, timeout_s=90)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert job["result"]["tool_calls"] == [{"tool": "utility___calculate", "allowed": True}]

    rows = _by_kind(_rows(stack, job_id))
    assert first["tool_call"][:2] == (1, 1)
    assert first["input_tokens"][1] > 0
    assert first["output_tokens"][1] > 0
    for kind in ("input_tokens", "output_tokens", "tool_call"):
        assert rows[kind] == first[kind], kind  # attempt 2 replayed: nothing new
    assert rows["runtime_ms"][0] == 1
    report = _usage_of(stack, "concierge_retry")  # this agent ran only this job
    for kind in ("input_tokens", "output_tokens", "tool_call"):
        assert report[kind][0] == rows[kind][1], kind
        assert report[kind][1] == pytest.approx(rows[kind][2]), kind
