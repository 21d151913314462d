"""A backlog drains: queue N echo jobs (10,000 by default) as fast as the API takes them, then
wait until every job's signed webhook has arrived. Samples the API process's memory and the
queue metrics (`agentry_jobs_backlog`, `agentry_jobs_queue_age_seconds`) every second.

Reports: submit and drain time, jobs/s, lost jobs (no terminal webhook, or not `succeeded`),
duplicate webhooks, memory at start / peak / end, and the backlog and queue-age curve.

    make bench-drain [JOBS=10000] [REPORT=drain.json] [BACKLOG=1]

With `--backlog` the whole backlog is queued first with no worker running (the API only
accepts), then one `agentry worker` process starts and the drain is timed from its start;
each sample also records `outstanding` (accepted jobs whose webhook has not arrived yet).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import REPO_ROOT, Stack, start_stack, stop_stack


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _gauges(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("agentry_jobs_backlog{", "agentry_jobs_queue_age_seconds ")):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def _start_worker(stack: Stack) -> subprocess.Popen[bytes]:
    log = (stack.home / "logs" / "drain-worker.log").open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "agentry.cli.main", "worker"],
            env={**stack.env, "AGENTRY_WEBHOOK_ALLOW_PRIVATE": "1"},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()


async def _sampler(
    stack: Stack,
    pid: int,
    samples: list[dict[str, Any]],
    t0: float,
    outstanding: Any = lambda: None,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=5) as client:
        while True:
            try:
                gauges = _gauges((await client.get("/metrics")).text)
            except httpx.HTTPError:
                gauges = {}
            samples.append(
                {
                    "t_s": round(time.perf_counter() - t0, 1),
                    "rss_mb": round(_rss_mb(pid), 1),
                    "queued": gauges.get('agentry_jobs_backlog{status="queued"}'),
                    "running": gauges.get('agentry_jobs_backlog{status="running"}'),
                    "queue_age_s": gauges.get("agentry_jobs_queue_age_seconds"),
                    "outstanding": outstanding(),
                }
            )
            await asyncio.sleep(1.0)


async def _drain(
    stack: Stack, receiver: Receiver, jobs: int, backlog: bool = False
) -> dict[str, Any]:
    pid = int((stack.home / "pids" / "api.pid").read_text())
    headers = {"Authorization": f"Bearer {stack.acme_key}"}
    samples: list[dict[str, Any]] = []
    ids: list[str] = []
    t0 = time.perf_counter()
    rss_start = _rss_mb(pid)
    worker: subprocess.Popen[bytes] | None = None

    def outstanding() -> int:
        return len(ids) - len({h.webhook_id for h in receiver.on("/d")})

    sampler = asyncio.create_task(_sampler(stack, pid, samples, t0, outstanding))
    async with httpx.AsyncClient(
        base_url=stack.url, headers=headers, timeout=120, limits=httpx.Limits(max_connections=64)
    ) as client:
        sem = asyncio.Semaphore(64)

        async def submit(i: int) -> None:
            async with sem:
                for attempt in range(5):
                    try:
                        r = await client.post(
                            "/v1/agents/echo/jobs",
                            json={"input": {"prompt": f"d{i}"}, "webhook_url": receiver.url + "/d"},
                            headers={"Idempotency-Key": f"drain-{i}"},
                        )
                    except httpx.TransportError:
                        await asyncio.sleep(0.5 * (attempt + 1))
                        continue
                    if r.status_code == 202:
                        ids.append(r.json()["id"])
                        receiver.learn(r.json()["id"], r.json()["webhook_secret"])
                        return
                    await asyncio.sleep(0.5 * (attempt + 1))
                raise RuntimeError(f"job {i} was not accepted")

        await asyncio.gather(*(submit(i) for i in range(jobs)))
        submitted = time.perf_counter() - t0
        drain_t0 = time.perf_counter()
        if backlog:
            worker = _start_worker(stack)
        deadline = time.monotonic() + 3600
        while len({h.webhook_id for h in receiver.on("/d")}) < jobs:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        drained = time.perf_counter() - t0
        drain_only = time.perf_counter() - drain_t0
        await asyncio.sleep(2.0)  # a late duplicate would show up here
        sampler.cancel()
        if worker is not None:
            worker.kill()
            worker.wait(10)
        hits = receiver.on("/d")
        by_job: dict[str, int] = {}
        for hit in hits:
            by_job[hit.json["data"]["job_id"]] = by_job.get(hit.json["data"]["job_id"], 0) + 1
        statuses: dict[str, int] = {}
        for job_id in ids:
            status = (await client.get(f"/v1/jobs/{job_id}")).json()["status"]
            statuses[status] = statuses.get(status, 0) + 1
    unverified = sum(not h.verified for h in hits)
    peak = max((s["queued"] or 0) for s in samples) if samples else 0
    return {
        "jobs": jobs,
        "accepted": len(ids),
        "submit_s": round(submitted, 1),
        "accepted_per_s": round(jobs / submitted, 1),
        "drain_s": round(drained, 1),
        "end_to_end_per_s": round(jobs / drained, 1),
        "backlog_queued_first": backlog,
        "drain_only_s": round(drain_only, 1),
        "drain_per_s": round(jobs / drain_only, 1),
        "statuses": statuses,
        "lost": jobs - statuses.get("succeeded", 0) + sum(1 for j in ids if j not in by_job),
        "duplicate_webhooks": sum(n - 1 for n in by_job.values() if n > 1),
        "unverified_webhooks": unverified,
        "rss_mb": {
            "start": round(rss_start, 1),
            "peak": max((s["rss_mb"] for s in samples), default=0.0),
            "end": samples[-1]["rss_mb"] if samples else 0.0,
        },
        "peak_queued": peak,
        "peak_queue_age_s": max((s["queue_age_s"] or 0) for s in samples) if samples else 0,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--report", default="")
    parser.add_argument(
        "--backlog", action="store_true", help="queue everything first, then start a worker"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentry-bench-drain-"))
    stack = start_stack(
        work / "home",
        database_url=args.database_url,
        jobs_embedded_workers="0" if args.backlog else "1",
        job_poll_interval_s="0.05",
        job_heartbeat_s="1",
        webhook_poll_interval_s="0.05",
        job_concurrency_premium="64",
        job_worker_concurrency="64",
    )
    receiver = start_receiver()
    try:
        report = asyncio.run(_drain(stack, receiver, args.jobs, args.backlog))
        report["backend"] = "postgresql" if args.database_url else "sqlite"
        summary = {k: v for k, v in report.items() if k != "samples"}
        print(json.dumps(summary, indent=2))
        if args.report:
            Path(args.report).write_text(json.dumps(report, indent=2))
        raise SystemExit(1 if report["lost"] or report["duplicate_webhooks"] else 0)
    finally:
        receiver.close()
        stop_stack(stack)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
