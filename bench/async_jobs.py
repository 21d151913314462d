"""Async jobs end to end: submit N echo jobs with a webhook_url, measure until every signed
webhook has arrived at a local receiver (and verified with `standardwebhooks`).

Starts the platform the way `make dev` does (private home, free ports), SQLite by default.

    make bench-async                              # 200 jobs, 3 rounds
    .venv/bin/python bench/async_jobs.py --jobs 500 --rounds 3 --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import Stack, start_stack, stop_stack


async def _round(stack: Stack, receiver: Receiver, jobs: int, tag: str) -> tuple[float, float]:
    headers = {"Authorization": f"Bearer {stack.acme_key}"}
    limits = httpx.Limits(max_connections=32)
    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=stack.url, headers=headers, timeout=60, limits=limits
    ) as client:
        sem = asyncio.Semaphore(32)

        async def submit(i: int) -> None:
            async with sem:
                r = await client.post(
                    "/v1/agents/echo/jobs",
                    json={
                        "input": {"prompt": f"{tag}-{i}"},
                        "webhook_url": f"{receiver.url}/{tag}",
                    },
                )
                r.raise_for_status()
                receiver.learn(r.json()["id"], r.json()["webhook_secret"])

        await asyncio.gather(*(submit(i) for i in range(jobs)))
    submitted = time.perf_counter() - started
    deadline = time.monotonic() + 600
    while len({h.webhook_id for h in receiver.on(f"/{tag}")}) < jobs:
        if time.monotonic() > deadline:
            raise TimeoutError("webhooks did not all arrive")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    hits = receiver.on(f"/{tag}")
    assert all(h.verified for h in hits), "a webhook failed verification"
    return jobs / submitted, jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentry-bench-async-"))
    stack = start_stack(
        work / "home",
        database_url=args.database_url,
        job_poll_interval_s="0.05",
        webhook_poll_interval_s="0.05",
        job_concurrency_premium="64",
        job_worker_concurrency="64",
    )
    receiver = start_receiver()
    try:
        asyncio.run(_round(stack, receiver, 20, "warmup"))
        accepted, completed = [], []
        for n in range(args.rounds):
            a, c = asyncio.run(_round(stack, receiver, args.jobs, f"r{n}"))
            accepted.append(a)
            completed.append(c)
            print(f"round {n + 1}: accepted {a:.0f} jobs/s, end-to-end {c:.1f} jobs/s")
        backend = "postgresql" if args.database_url else "sqlite"
        print(
            f"{backend}, {args.jobs} jobs x {args.rounds}: median accepted "
            f"{statistics.median(accepted):.0f} jobs/s; median end-to-end (submit -> verified "
            f"webhook) {statistics.median(completed):.1f} jobs/s"
        )
    finally:
        receiver.close()
        stop_stack(stack)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
