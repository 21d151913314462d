"""Async jobs over real HTTP, real agent processes and a real webhook receiver."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from httpx_sse import connect_sse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.api_keys.pepper import api_key_pepper
from agentry.api_keys.service import issue_key
from agentry.config import Settings
from agentry.identity.principal import Role
from agentry.kit.ids import new_id
from agentry.models import Tenant, UsageEvent, WebhookDelivery
from agentry.tenants.repository import TenantRepository
from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import Stack
from agentry.webhooks.secretbox import SecretBox, new_secret
from tests.jobs.support import in_db, wait_job

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.close()


def test_echo_job_polls_to_result_and_sends_one_verified_webhook(
    stack: Stack, receiver: Receiver
) -> None:
    with stack.client(stack.acme_key) as c:
        r = c.post(
            "/v1/agents/echo/jobs",
            json={"input": {"prompt": "hello"}, "webhook_url": f"{receiver.url}/echo"},
        )
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == f"/v1/jobs/{job['id']}"
        assert job["status"] == "queued"
        secret = job["webhook_secret"]
        assert secret.startswith("whsec_")
        receiver.secrets.append(secret)
        done = wait_job(c, job["id"])
        assert done["status"] == "succeeded", done
        assert done["result"]["echo"] == "hello"
        assert done["started_at"]
        assert done["finished_at"]
        assert "webhook_secret" not in c.get(f"/v1/jobs/{job['id']}").json()
    [hit] = receiver.wait_for(lambda h: h.path == "/echo" and h.json["data"]["job_id"] == job["id"])
    assert hit.verified
    assert hit.json["type"] == "job.succeeded"
    assert hit.json["data"] == {
        "job_id": job["id"],
        "agent": "echo",
        "version": job["version"],
        "status": "succeeded",
    }

    def usage(s: AsyncSession):  # type: ignore[no-untyped-def]
        return s.scalar(
            select(func.count())
            .select_from(UsageEvent)
            .where(UsageEvent.invocation_id == job["id"])
        )

    assert in_db(stack, usage) == 1


def test_refused_webhook_url_creates_no_job(stack: Stack) -> None:
    with stack.client(stack.globex_key) as c:
        before = len(c.get("/v1/jobs", params={"limit": 100}).json()["items"])
        for url in ("http://169.254.169.254/latest/", "http://[::ffff:169.254.169.254]/", "nope"):
            r = c.post("/v1/agents/echo/jobs", json={"input": {}, "webhook_url": url})
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "webhook_url_refused"
        assert len(c.get("/v1/jobs", params={"limit": 100}).json()["items"]) == before


def test_bad_requests(stack: Stack) -> None:
    with stack.client(stack.acme_key) as acme, stack.client(stack.globex_key) as globex:
        r = acme.post("/v1/agents/echo/jobs", json={"input": {}, "alias": "nope"})
        assert r.status_code == 404
        assert r.json()["code"] == "alias_not_found"
        assert acme.post("/v1/agents/nope/jobs", json={"input": {}}).status_code == 404
        assert acme.post("/v1/agents/echo/jobs", json={"input": {}, "x": 1}).status_code == 422
        job = acme.post("/v1/agents/echo/jobs", json={"input": {"prompt": "x"}}).json()
        assert globex.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert globex.post(f"/v1/jobs/{job['id']}/cancel").status_code == 404
        assert globex.get(f"/v1/jobs/{job['id']}/events").status_code == 404
        wait_job(acme, job["id"])
        r = acme.post(f"/v1/jobs/{job['id']}/cancel")
        assert r.status_code == 409
        assert r.json()["code"] == "job_finished"


def test_idempotency_key(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.client(stack.acme_key) as c:
        body = {"input": {"prompt": "once"}}
        a = c.post("/v1/agents/echo/jobs", json=body, headers={"Idempotency-Key": key})
        b = c.post("/v1/agents/echo/jobs", json=body, headers={"Idempotency-Key": key})
        assert a.status_code == b.status_code == 202
        assert a.json()["id"] == b.json()["id"]
        other = c.post(
            "/v1/agents/echo/jobs",
            json={"input": {"prompt": "twice"}},
            headers={"Idempotency-Key": key},
        )
        assert other.status_code == 409
        assert other.json()["code"] == "idempotency_key_reused"


def test_concurrent_submits_with_one_idempotency_key_make_one_job(stack: Stack) -> None:
    # The key is checked by the group-committed insert: requests racing in one batch still
    # get the first job back, never a second job and never a spurious 409.
    key = uuid.uuid4().hex
    body = {"input": {"prompt": "race"}}

    def submit(_: int) -> tuple[int, str]:
        with stack.client(stack.acme_key) as c:
            r = c.post("/v1/agents/echo/jobs", json=body, headers={"Idempotency-Key": key})
            return r.status_code, r.json().get("id", r.text)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(submit, range(8)))
    assert {status for status, _ in answers} == {202}
    assert len({job_id for _, job_id in answers}) == 1
    with stack.client(stack.acme_key) as c:
        page = c.get("/v1/jobs", params={"limit": 100}).json()["items"]
    assert sum(1 for j in page if j["id"] == answers[0][1]) == 1


def test_list_filters_and_cursor_pagination(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        ids = [
            c.post("/v1/agents/echo/jobs", json={"input": {"prompt": str(i)}}).json()["id"]
            for i in range(3)
        ]
        for job_id in ids:
            wait_job(c, job_id)
        seen: list[str] = []
        cursor = None
        while True:
            params = {"agent": "echo", "status": "succeeded", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = c.get("/v1/jobs", params=params).json()
            assert len(page["items"]) <= 2
            assert all(j["agent"] == "echo" and j["status"] == "succeeded" for j in page["items"])
            seen += [j["id"] for j in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen))
        assert seen[:3] == ids[::-1]  # newest first
        assert c.get("/v1/jobs", params={"limit": 101}).status_code == 422
        assert c.get("/v1/jobs", params={"status": "bogus"}).status_code == 422
        assert c.get("/v1/jobs", params={"cursor": "!!"}).status_code == 400


def test_longrun_progress_as_sse_with_resume(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        job = c.post("/v1/agents/longrun/jobs", json={"input": {"steps": 3, "step_s": 0.2}}).json()
        events = []
        with connect_sse(c, "GET", f"/v1/jobs/{job['id']}/events") as source:
            for sse in source.iter_sse():
                events.append((int(sse.id), sse.event, json.loads(sse.data)))
        ids = [e[0] for e in events]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        assert events[0][1:] == ("status", {**events[0][2], "status": "queued"})
        progress = [e[2]["step"] for e in events if e[1] == "progress"]
        assert progress == [1, 2, 3]
        assert events[-1][1] == "status"
        assert events[-1][2]["status"] == "succeeded"
        # Resume after the second progress event: only what came later.
        cut = next(e[0] for e in events if e[1] == "progress" and e[2]["step"] == 2)
        with connect_sse(
            c, "GET", f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": str(cut)}
        ) as source:
            rest = [int(sse.id) for sse in source.iter_sse()]
        assert rest == [i for i in ids if i > cut]
        final = c.get(f"/v1/jobs/{job['id']}").json()
        assert final["result"]["trail"] == [1, 2, 3]
        assert final["progress"]["step"] == 3


def test_cancel_running_job_sends_cancelled_event(stack: Stack, receiver: Receiver) -> None:
    with stack.client(stack.acme_key) as c:
        r = c.post(
            "/v1/agents/longrun/jobs",
            json={"input": {"steps": 50, "step_s": 0.2}, "webhook_url": f"{receiver.url}/cancel"},
        )
        job = r.json()
        receiver.secrets.append(job["webhook_secret"])
        wait_job(c, job["id"], lambda j: j["status"] == "running")
        r = c.post(f"/v1/jobs/{job['id']}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        assert c.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409
    [hit] = receiver.wait_for(
        lambda h: h.path == "/cancel" and h.json["data"]["job_id"] == job["id"]
    )
    assert hit.verified
    assert hit.json["type"] == "job.cancelled"


def test_webhook_endpoints_and_operator_dead_letter_replay(
    stack: Stack, receiver: Receiver
) -> None:
    with stack.client(stack.globex_key) as c:
        r = c.post("/v1/webhooks", json={"url": f"{receiver.url}/endpoint"})
        assert r.status_code == 201, r.text
        endpoint = r.json()
        receiver.secrets.append(endpoint["secret"])
        listed = c.get("/v1/webhooks").json()["items"]
        assert endpoint["id"] in [e["id"] for e in listed]  # other tests share this tenant
        assert "secret" not in listed[0]
        bad = c.post("/v1/webhooks", json={"url": "http://169.254.169.254/"})
        assert bad.json()["code"] == "webhook_url_refused"
        job = c.post("/v1/agents/echo/jobs", json={"input": {"prompt": "e"}}).json()
        [hit] = receiver.wait_for(
            lambda h: h.path == "/endpoint" and h.json["data"]["job_id"] == job["id"]
        )
        assert hit.verified
        assert c.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
        assert endpoint["id"] not in [e["id"] for e in c.get("/v1/webhooks").json()["items"]]
        assert c.get("/v1/admin/webhooks/dead-letters").status_code == 403

    # A delivery that failed every attempt, and an operator who replays it.
    secret = new_secret()
    receiver.secrets.append(secret)
    settings = Settings(home=stack.home)
    dead_id = new_id("msg")

    async def setup(s: AsyncSession) -> str:
        tenant = await TenantRepository(s).get_by_slug("globex")
        assert isinstance(tenant, Tenant)
        s.add(
            WebhookDelivery(
                id=dead_id,
                tenant_id=tenant.id,
                job_id="job_dead",
                url=f"{receiver.url}/dead",
                secret_enc=SecretBox(settings).seal(secret),
                event_type="job.failed",
                payload={"type": "job.failed", "data": {"job_id": "job_dead"}},
                status="dead",
                attempts=8,
                next_attempt_at=datetime.now(UTC),
            )
        )
        issued = await issue_key(
            s, tenant, name="ops", role=Role.operator, pepper=api_key_pepper(settings)
        )
        return issued.secret

    operator_key = in_db(stack, setup)
    with stack.client(operator_key) as ops:
        dead = ops.get("/v1/admin/webhooks/dead-letters").json()["items"]
        assert dead_id in [d["id"] for d in dead]
        r = ops.post(f"/v1/admin/webhooks/dead-letters/{dead_id}/replay")
        assert r.status_code == 200, r.text
        assert ops.post(f"/v1/admin/webhooks/dead-letters/{dead_id}/replay").status_code == 409
    [hit] = receiver.wait_for(lambda h: h.path == "/dead" and h.webhook_id == dead_id)
    assert hit.verified
    assert hit.webhook_id == dead_id


def test_jwks_is_public(stack: Stack) -> None:
    with stack.client() as c:
        keys = c.get("/.well-known/jwks.json").json()["keys"]
        assert keys[0]["kty"] == "RSA"
        assert keys[0]["alg"] == "RS256"
        r = c.post("/agent/v1/jobs/job_x/progress", json={"step": 1})
        assert r.status_code == 401
