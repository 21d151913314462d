"""Crash safety: SIGKILL the agent, the API (with embedded workers) and a worker mid-job.

Each time the job still reaches a terminal state after restart, exactly one terminal webhook
event id is delivered, and usage is counted once. Runs on SQLite and PostgreSQL against a
dedicated stack with short leases.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.models import Job, UsageEvent, WebhookDelivery
from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import REPO_ROOT, Stack, alive, start_stack, stop_stack, wait_dead
from tests.conftest import PostgresDatabase, require_postgres
from tests.jobs.support import in_db, wait_job

pytestmark = pytest.mark.e2e

FAST = {
    "job_lease_s": "2",
    "job_heartbeat_s": "0.5",
    "job_poll_interval_s": "0.2",
    "job_retry_backoff_s": "0.2",
    "job_agent_silence_s": "3",
    "job_max_attempts": "5",
    "webhook_poll_interval_s": "0.2",
}


class Crashable:
    """The stack plus the API/worker processes this test (re)starts itself."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.stack.home / "logs" / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentry.cli.main", *args],
            # As `agentry dev up` starts its services (DEV ONLY: webhooks to this machine).
            env={**self.stack.env, "AGENTRY_WEBHOOK_ALLOW_PRIVATE": "1", **env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def restart_api(self, *, embedded: bool) -> None:
        proc = self.spawn("api", ["serve"], AGENTRY_JOBS_EMBEDDED_WORKERS="1" if embedded else "0")
        (self.stack.home / "pids" / "api.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.stack.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("API did not restart")

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def crash(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crashable]:
    home = tmp_path_factory.mktemp(f"crash-{request.param}")
    db: PostgresDatabase | None = None
    url = ""
    if request.param == "postgresql":
        db = PostgresDatabase(require_postgres())
        url = db.create()
    stack = start_stack(home, database_url=url, **FAST)
    crashable = Crashable(stack)
    yield crashable
    stop_stack(stack)
    crashable.close()
    if db is not None:
        db.drop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.close()


def _start_longrun(stack: Stack, receiver: Receiver, steps: int = 6) -> dict[str, Any]:
    with stack.client(stack.acme_key) as c:
        r = c.post(
            "/v1/agents/longrun/jobs",
            json={
                "input": {"steps": steps, "step_s": 0.5},
                "webhook_url": f"{receiver.url}/crash",
            },
        )
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    receiver.secrets.append(job["webhook_secret"])
    return job


def _job_row(stack: Stack, job_id: str) -> Job:
    async def get(s: AsyncSession) -> Job:
        row = await s.get(Job, job_id)
        assert row is not None
        return row

    return in_db(stack, get)


def _wait_step(stack: Stack, job_id: str, step: int) -> None:
    with stack.client(stack.acme_key) as c:
        wait_job(
            c,
            job_id,
            lambda j: j["status"] == "running" and (j["progress"] or {}).get("step", 0) >= step,
        )


def _check_exactly_once(stack: Stack, receiver: Receiver, job_id: str) -> dict[str, Any]:
    with stack.client(stack.acme_key) as c:
        final = wait_job(c, job_id, timeout_s=90)
    assert final["status"] == "succeeded", final
    receiver.wait_for(lambda h: h.path == "/crash" and h.json["data"]["job_id"] == job_id)
    # Every event the platform queued for this job has been sent (none pending): a second,
    # wrong terminal event would be a second row here, and would have reached the receiver.
    deliveries = _settled_deliveries(stack, job_id, f"{receiver.url}/crash")
    assert [(event, status) for _, event, status in deliveries] == [("job.succeeded", "delivered")]
    hits = [h for h in receiver.on("/crash") if h.json["data"]["job_id"] == job_id]
    assert all(h.verified for h in hits)
    assert {h.webhook_id for h in hits} == {deliveries[0][0]}
    assert {h.json["type"] for h in hits} == {"job.succeeded"}

    async def usage(s: AsyncSession) -> int:
        count = await s.scalar(
            select(func.count()).select_from(UsageEvent).where(UsageEvent.invocation_id == job_id)
        )
        return int(count or 0)

    assert in_db(stack, usage) == 1
    return final


def _settled_deliveries(stack: Stack, job_id: str, url: str) -> list[tuple[str, str, str]]:
    """The job's deliveries to `url` (id, event type, status), once none is pending."""

    async def rows(s: AsyncSession) -> list[tuple[str, str, str]]:
        found = await s.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.job_id == job_id, WebhookDelivery.url == url
            )
        )
        return [(d.id, d.event_type, d.status) for d in found]

    deadline = time.monotonic() + 30
    while True:
        found = in_db(stack, rows)
        if all(status != "pending" for _, _, status in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _session(stack: Stack, runtime_session_id: str) -> dict[str, Any]:
    listing = httpx.get(f"{stack.runtime_url}/_local/sessions", timeout=10).json()
    items = listing["sessions"] if isinstance(listing, dict) else listing
    [found] = [s for s in items if s["sessionId"] == runtime_session_id]
    return dict(found)


def test_agent_killed_between_steps_resumes_from_checkpoint(
    crash: Crashable, receiver: Receiver
) -> None:
    stack = crash.stack
    job = _start_longrun(stack, receiver)
    _wait_step(stack, job["id"], 2)
    session = _session(stack, _job_row(stack, job["id"]).runtime_session_id)
    ping = httpx.get(f"{session['url']}/ping", timeout=5).json()
    assert ping["status"] == "HealthyBusy"  # add_async_task is running
    os.kill(session["pid"], signal.SIGKILL)
    assert wait_dead(session["pid"])
    final = _check_exactly_once(stack, receiver, job["id"])
    assert final["attempts"] >= 2
    assert final["result"]["resumed_from"] >= 2
    assert final["result"]["trail"] == [1, 2, 3, 4, 5, 6]  # no step done twice
    assert final["result"]["pid"] != session["pid"]


def test_api_with_embedded_workers_killed_mid_job(crash: Crashable, receiver: Receiver) -> None:
    stack = crash.stack
    job = _start_longrun(stack, receiver)
    _wait_step(stack, job["id"], 1)
    assert (_job_row(stack, job["id"]).lease_owner or "").startswith("api:")
    api = stack.pid("api")
    os.kill(api, signal.SIGKILL)
    assert wait_dead(api)
    time.sleep(1.0)
    crash.restart_api(embedded=True)
    _check_exactly_once(stack, receiver, job["id"])


def test_worker_process_killed_mid_job(crash: Crashable, receiver: Receiver) -> None:
    stack = crash.stack
    api = stack.pid("api")
    os.kill(api, signal.SIGKILL)
    assert wait_dead(api)
    first = crash.spawn("worker", ["worker"])  # starts while the API restarts
    crash.restart_api(embedded=False)
    job = _start_longrun(stack, receiver)
    _wait_step(stack, job["id"], 1)
    row = _job_row(stack, job["id"])
    assert (row.lease_owner or "").startswith("worker:")
    # The replacement starts before the kill (its start-up overlaps the lease running out); it
    # must leave the job alone while the first worker's lease is renewed.
    crash.spawn("worker", ["worker"])
    _wait_step(stack, job["id"], 2)
    assert _job_row(stack, job["id"]).lease_owner == row.lease_owner
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert not alive(first.pid)
    _check_exactly_once(stack, receiver, job["id"])
