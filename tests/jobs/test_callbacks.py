"""Agent callbacks that must be refused: from a retried attempt, or a result over the size limit.

Runs on the simulated world of `simulation.py` (real API, worker, sender and database).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from agentry.models import AuditEvent
from tests.jobs.simulation import start_job, wait_webhook, world


async def test_callbacks_from_a_retried_attempt_are_refused_and_audited(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path, work_s=36000, deadline_s=28800) as w:
        job_id, _ = await start_job(w)
        await w.step(60)
        first_token = w.runtime.deliveries[0].payload["_agentry"]["token"]
        await w.kill_worker()  # attempt 1's lease runs out; attempt 2 starts after the backoff
        while len(w.runtime.deliveries) < 2:
            await w.step(60)
        assert (await w.job(job_id))["attempts"] == 2
        second_token = w.runtime.deliveries[1].payload["_agentry"]["token"]
        async with w.app.client() as c:

            async def call(token: str, path: str, body: object) -> tuple[int, dict[str, object]]:
                resp = await c.post(
                    f"/agent/v1/jobs/{job_id}/{path}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                return resp.status_code, resp.json()

            for path, body in [
                ("checkpoint", {"checkpoint": {"done_s": 1}}),
                ("progress", {"percent": 99}),
                ("fail", {"message": "old attempt gives up"}),
            ]:
                status, problem = await call(first_token, path, body)
                assert status == 409, problem
                assert problem["code"] == "stale_attempt"
            status, _ = await call(second_token, "checkpoint", {"checkpoint": {"done_s": 2}})
            assert status == 200
            job = await w.job(job_id)
            assert job["status"] == "running"  # the stale `fail` changed nothing
            assert job["progress"] is None or job["progress"].get("percent") != 99
            # A result is this job's answer whichever attempt computed it.
            status, _ = await call(first_token, "result", {"result": {"from": "attempt 1"}})
            assert status == 200
        job = await w.job(job_id)
        assert job["status"] == "succeeded"
        assert job["result"] == {"from": "attempt 1"}
        async with w.app.platform.sessionmaker() as s:
            rows = (
                await s.execute(select(AuditEvent).where(AuditEvent.action == "job.stale_callback"))
            ).scalars()
            audited = [r for r in rows if (r.details or {}).get("job_id") == job_id]
        assert sorted(r.details["route"] for r in audited) == ["checkpoint", "fail", "progress"]
        assert all(r.details["attempt"] == 1 for r in audited)
        assert all(r.details["current_attempt"] == 2 for r in audited)


async def test_a_result_over_the_limit_fails_the_job_with_a_stored_problem(
    database_url: str, tmp_path: Path
) -> None:
    async with world(
        database_url, tmp_path, work_s=36000, deadline_s=28800, job_max_result_bytes=1000
    ) as w:
        job_id, secret = await start_job(w)
        await w.step(60)
        token = w.runtime.deliveries[0].payload["_agentry"]["token"]
        async with w.app.client() as c:
            resp = await c.post(
                f"/agent/v1/jobs/{job_id}/result",
                json={"result": {"text": "x" * 2000}},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert resp.status_code == 413
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["code"] == "result_too_large"
        job = await w.job(job_id)
        assert job["status"] == "failed"
        assert job["error"]["code"] == "result_too_large"
        assert "the limit is 1000" in job["error"]["message"]
        assert job["result"] is None
        [hook] = await wait_webhook(w, job_id, secret)
        assert hook["type"] == "job.failed"
