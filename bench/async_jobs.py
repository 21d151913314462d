"""Async jobs end to end: submit N echo jobs with a webhook_url, measure until every signed
webhook has arrived at a local receiver (and verified with `standardwebhooks`).

Starts the platform the way `make dev` does (private home, free ports), SQLite by default,
the job dispatcher and webhook sender embedded in the API process. With `--workers N` the
API only accepts, and N `agentry worker` processes run the jobs and send the webhooks (use
with `--database-url postgresql+asyncpg://...`).

Besides jobs/s, each round reports the CPU time the API process (and the workers) spent per
job, read from /proc: on a shared machine that figure moves far less than the throughput.

    make bench-async                              # 200 jobs, 3 rounds, SQLite, embedded
    .venv/bin/python bench/async_jobs.py --jobs 500 --database-url postgresql+asyncpg://... \\
        --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import REPO_ROOT, Stack, start_stack, stop_stack

IN_FLIGHT = 32


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Round:
    accepted: float  # jobs/s until the last 202
    completed: float  # jobs/s until the last verified webhook
    api_ms_accepted: float  # API CPU ms per job during the submit phase
    api_ms_job: float  # API CPU ms per job over the whole round
    worker_ms_job: float  # CPU ms of the `agentry worker` processes per job
    load: float
    client_ms_job: float = 0.0  # this process (load generator + receiver) per job


async def _round(
    stack: Stack,
    receiver: Receiver,
    jobs: int,
    tag: str,
    pids: list[int],
    api: int,
    wait: bool = True,
) -> Round:
    headers = {"Authorization": f"Bearer {stack.acme_key}"}
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    api0, workers0 = cpu_s(api), sum(cpu_s(p) for p in pids)
    client0 = time.process_time()
    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=stack.url, headers=headers, timeout=120, limits=limits
    ) as client:
        sem = asyncio.Semaphore(IN_FLIGHT)

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
    api1 = cpu_s(api)
    deadline = time.monotonic() + 1800
    while wait and len({h.webhook_id for h in receiver.on(f"/{tag}")}) < jobs:
        if time.monotonic() > deadline:
            raise TimeoutError("webhooks did not all arrive")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    api2, workers2 = cpu_s(api), sum(cpu_s(p) for p in pids)
    hits = receiver.on(f"/{tag}")
    assert all(h.verified for h in hits), "a webhook failed verification"
    return Round(
        accepted=jobs / submitted,
        completed=jobs / elapsed,
        api_ms_accepted=1000 * (api1 - api0) / jobs,
        api_ms_job=1000 * (api2 - api0) / jobs,
        worker_ms_job=1000 * (workers2 - workers0) / jobs,
        load=os.getloadavg()[0],
        client_ms_job=1000 * (time.process_time() - client0) / jobs,
    )


def _profile(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy (a dev dependency) sampling the API process, native frames included."""
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--native",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            "raw" if out.endswith(".txt") else "flamegraph",
            "--output",
            out,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _start_workers(stack: Stack, n: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (stack.home / "logs" / f"bench-worker-{i}.log").open("ab")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "agentry.cli.main", "worker"],
                env={**stack.env, "AGENTRY_WEBHOOK_ALLOW_PRIVATE": "1"},
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--workers", type=int, default=0, help="separate `agentry worker` processes (0: embedded)"
    )
    parser.add_argument(
        "--accept-only",
        action="store_true",
        help="no workers at all: measure the accept path alone (end to end is not measured)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="write a py-spy profile of the API process over the rounds to this file",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentry-bench-async-"))
    stack = start_stack(
        work / "home",
        database_url=args.database_url,
        jobs_embedded_workers="0" if args.workers or args.accept_only else "1",
        job_poll_interval_s="0.05",
        webhook_poll_interval_s="0.05",
        job_concurrency_premium="64",
        job_worker_concurrency="64",
    )
    receiver = start_receiver()
    workers = _start_workers(stack, args.workers)
    try:
        api, pids = stack.pid("api"), [w.pid for w in workers]
        wait = not args.accept_only
        asyncio.run(_round(stack, receiver, 20, "warmup", pids, api, wait))
        spy = _profile(api, args.profile) if args.profile else None
        rounds = []
        for n in range(args.rounds):
            r = asyncio.run(_round(stack, receiver, args.jobs, f"r{n}", pids, api, wait))
            rounds.append(r)
            print(
                f"round {n + 1}: accepted {r.accepted:.0f} jobs/s, end-to-end {r.completed:.1f} "
                f"jobs/s; API CPU {r.api_ms_accepted:.2f} ms/accepted job, {r.api_ms_job:.2f} "
                f"ms/job in all; workers {r.worker_ms_job:.2f} ms/job; bench client "
                f"{r.client_ms_job:.2f} ms/job; load {r.load:.1f}",
                flush=True,
            )
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        backend = "postgresql" if args.database_url else "sqlite"
        where = f"{args.workers} worker process(es)" if args.workers else "embedded workers"
        med = statistics.median
        print(
            f"{backend}, {where}, {args.jobs} jobs x {args.rounds}: median accepted "
            f"{med(r.accepted for r in rounds):.0f} jobs/s; median end-to-end (submit -> "
            f"verified webhook) {med(r.completed for r in rounds):.1f} jobs/s; median API CPU "
            f"{med(r.api_ms_accepted for r in rounds):.2f} ms per accepted job, "
            f"{med(r.api_ms_job for r in rounds):.2f} ms per completed job; workers "
            f"{med(r.worker_ms_job for r in rounds):.2f} ms per job; load "
            f"{med(r.load for r in rounds):.1f}"
        )
    finally:
        for w in workers:
            w.kill()
            w.wait(10)
        receiver.close()
        stop_stack(stack)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
