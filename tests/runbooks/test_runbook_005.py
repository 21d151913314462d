"""RUNBOOK-005 as written: two job webhooks fail every attempt and are dead-lettered; the
operator replays one by id and the other with replay-failed; the receiver gets both, with the
same webhook-ids, and the list is empty again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import Stack
from tests.jobs.support import wait_job
from tests.runbooks.alerts import firing, rules
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.close()


def _dead(operator: Operator, job_ids: set[str], timeout_s: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [d for d in operator.json("make ops-dead-letters") if d["job_id"] in job_ids]
        if len(dead) == len(job_ids):
            return dead
        time.sleep(0.5)
    raise TimeoutError("no dead letters")


def test_runbook_005_replays_dead_letters(
    ops_stack: Stack, operator: Operator, receiver: Receiver
) -> None:
    acme = ops_stack.client(ops_stack.acme_key)
    jobs = {}
    for path in ("/one", "/two"):
        receiver.respond(path, (500, {}), (503, {}))  # both attempts of the schedule fail
        body = {"input": {"steps": 1, "step_s": 0}, "webhook_url": receiver.url + path}
        job = acme.post("/v1/agents/longrun/jobs", json=body).json()
        wait_job(acme, job["id"])
        jobs[job["id"]] = path
    dead = _dead(operator, set(jobs))
    tenant = dead[0]["tenant_id"]
    by_path = {jobs[d["job_id"]]: d for d in dead}
    assert {d["last_status_code"] for d in dead} == {503}
    assert ops_stack.client(ops_stack.globex_key).get(
        "/v1/admin/webhooks/dead-letters"
    ).status_code == 403  # fmt: skip

    (alert,) = [r for r in rules() if r["alert"] == "WebhookDeadLetters"]
    assert firing(alert, httpx.get(f"{ops_stack.url}/metrics", timeout=30).text)

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    listed, one, rest, failed, after, health = run_page(
        operator,
        page("005").steps(),
        DELIVERY=by_path["/one"]["id"],
        TENANT=tenant,
        SINCE=since,
    )
    assert by_path["/one"]["id"] in listed
    assert f"replaying {by_path['/one']['id']}" in one
    assert "replaying 1 deliveries" in rest
    assert "┃ id" in failed
    for path in ("/one", "/two"):
        deadline = time.monotonic() + 60
        while len(receiver.on(path)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        got = receiver.on(path)
        assert len(got) == 3  # two failed attempts, then the replay
        assert len({r.webhook_id for r in got}) == 1  # the same webhook-id every time
    deadline = time.monotonic() + 30  # the replays' rows leave the dead letters
    while time.monotonic() < deadline:
        left = [d for d in operator.json("make ops-dead-letters") if d["job_id"] in jobs]
        if not left:
            break
        time.sleep(0.2)
    assert not left
    assert operator.json("make ops-health")["webhooks"].get("dead", {"count": 0})["count"] == 0
    assert not firing(alert, httpx.get(f"{ops_stack.url}/metrics", timeout=30).text)
    audit = operator.make(f"make ops-audit-export TENANT={tenant}").stdout
    assert '"action": "webhook.replay_dead_letter"' in audit
    assert '"action": "webhook.replay_failed"' in audit
    assert after is not None
    assert health is not None
