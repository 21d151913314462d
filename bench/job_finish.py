"""CPU and SQL statements per job finish, in one process, without HTTP or the agent.

Seeds N running jobs (each with a `webhook_url`) in a fresh SQLite database, then finishes them
in transactions of BATCH jobs: `finish_jobs` (the dispatcher's batched terminal transition)
when the code has it, else `finish_job` once per job (as main did). Statements are counted
with a `before_cursor_execute` listener (an executemany counts once; BEGIN counts, COMMIT not).

    .venv/bin/python bench/job_finish.py --jobs 400 --batch 8
    PYTHONPATH=<other tree>/src .venv/bin/python bench/job_finish.py ...   # compare trees
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

import agentry.models  # noqa: F401  (every table in the metadata)
from agentry.jobs import service
from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.metering.service import FREE, Price
from agentry.models import Agent, Job, Tenant
from agentry.models.job import JobStatus


class Free:
    def price(
        self, tier: str, kind: str, *, model: str | None = None, at: datetime | None = None
    ) -> Price:
        return FREE


async def run(n: int, batch: int) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    maker = create_sessionmaker(engine)
    now = utcnow()
    async with session_scope(maker) as s:
        s.add(Tenant(id="ten_1", slug="t1", display_name="t"))
        s.add(Agent(id="agt_1", name="echo"))
        await s.flush()
        for i in range(n):
            s.add(
                Job(
                    id=f"job_{i}", tenant_id="ten_1", agent_id="agt_1", agent_name="echo",
                    version_number=1, alias="live", runtime_arn="arn", qualifier="q",
                    session_id="s", runtime_session_id="r", status="running", input={"i": i},
                    deadline_s=60, started_at=now - timedelta(seconds=1),
                    webhook_url="http://127.0.0.1:9/x", webhook_secret="sealed",
                )
            )  # fmt: skip
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    batched = hasattr(service, "finish_jobs")
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, n, batch):
        ids = [f"job_{i}" for i in range(start, min(n, start + batch))]
        async with session_scope(maker) as s:
            if batched:
                finishes = [service.Finish(j, "ten_1", JobStatus.succeeded, {"ok": j}) for j in ids]
                await service.finish_jobs(s, finishes, prices=Free())
            else:
                for j in ids:
                    job = Job(id=j, tenant_id="ten_1")
                    await service.finish_job(s, job, JobStatus.succeeded, prices=Free(), result={})
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    how = "finish_jobs" if batched else "finish_job per job"
    print(
        f"{how}, {batch} per transaction: {1000 * cpu / n:.2f} ms CPU/job, "
        f"{statements / n:.2f} statements/job, {1000 * wall / n:.2f} ms wall/job"
    )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(args.jobs, args.batch))


if __name__ == "__main__":
    main()
