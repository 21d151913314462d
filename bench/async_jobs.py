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
    .venv/bin/python bench/async_jobs.py --accept-only --wrk 10   # accept path, wrk as the client

With `--wrk SECONDS` (accept only) the load generator is wrk (`make bench-tools`) instead of
this process's httpx client, which costs more CPU per request than the API's accept path and,
on two shared cores, is what limits the accepted rate it measures.
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

import aiohttp
import orjson
from sync_invoke import _lua, wrk  # bench/ is on sys.path when run

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
    headers = {"Authorization": f"Bearer {stack.acme_key}", "Content-Type": "application/json"}
    api0, workers0 = cpu_s(api), sum(cpu_s(p) for p in pids)
    client0 = time.process_time()
    started = time.perf_counter()
    # aiohttp rather than httpx: the load generator shares the 2 cores with the platform, and
    # httpx cost ~4-5 ms of CPU per job here, as much as the API spent on the whole job.
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(
        base_url=stack.url,
        headers=headers,
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=120),
    ) as client:
        sem = asyncio.Semaphore(IN_FLIGHT)
        url = f"{receiver.url}/{tag}"

        async def submit(i: int) -> None:
            body = orjson.dumps({"input": {"prompt": f"{tag}-{i}"}, "webhook_url": url})
            async with sem, client.post("/v1/agents/echo/jobs", data=body) as r:
                r.raise_for_status()
                job = orjson.loads(await r.read())
                receiver.learn(job["id"], job["webhook_secret"])

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


def _wrk_round(stack: Stack, receiver: Receiver, work: Path, seconds: int, api: int) -> Round:
    """The accept path under wrk: the same job body (a webhook_url, no Idempotency-Key) from
    32 connections; wrk fails the round on any non-2xx answer."""
    script = _lua(
        work / "accept.lua",
        {"input": {"prompt": "wrk"}, "webhook_url": f"{receiver.url}/wrk"},
        {"Content-Type": "application/json", "Authorization": f"Bearer {stack.acme_key}"},
    )
    run = wrk(f"{stack.url}/v1/agents/echo/jobs", script, IN_FLIGHT, seconds, api)
    return Round(
        accepted=run.rps,
        completed=0.0,
        api_ms_accepted=run.cpu_ms,
        api_ms_job=run.cpu_ms,
        worker_ms_job=0.0,
        load=os.getloadavg()[0],
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
    parser.add_argument(
        "--wrk",
        type=int,
        default=0,
        metavar="SECONDS",
        help="with --accept-only: wrk drives the accept path for SECONDS per round",
    )
    args = parser.parse_args()
    if args.wrk and not args.accept_only:
        parser.error("--wrk measures the accept path only: add --accept-only")
    if args.wrk and shutil.which("wrk") is None:
        sys.exit("wrk is needed: make bench-tools")
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
            if args.wrk:
                r = _wrk_round(stack, receiver, work, args.wrk, api)
            else:
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
        size = f"wrk {args.wrk}s" if args.wrk else f"{args.jobs} jobs"
        print(
            f"{backend}, {where}, {size} x {args.rounds}: median accepted "
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
