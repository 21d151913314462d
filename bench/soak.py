"""Soak: real jobs for hours while the API, worker and agent processes are killed at random.

    make bench-soak HOURS=1            # the recorded run (docs/benchmarks.md)
    make bench-soak HOURS=8            # the 8-hour milestone
    .venv/bin/python bench/soak.py --minutes 3 --database-url postgresql+asyncpg://...

A submitter keeps a steady mix of echo jobs and checkpointed `longrun` jobs coming (each with
an Idempotency-Key, resubmitted with the same key while the API is down). A killer SIGKILLs,
at random intervals, the API (embedded workers), the separate `agentry worker` process or a
running agent process, and restarts what it killed. At the end every accepted job must reach a
terminal state with exactly one terminal webhook id (signature verified with
`standardwebhooks`) and at most one usage row per kind: the report counts lost jobs and
duplicates, which must all be 0. Exit status 1 when they are not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from agentry.kit.db.engine import create_engine, create_sessionmaker
from agentry.models import Job, UsageEvent
from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import REPO_ROOT, Stack, alive, session_pids, start_stack, stop_stack

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}
SETTINGS = {
    "job_lease_s": "4",
    "job_heartbeat_s": "1",
    "job_poll_interval_s": "0.2",
    "job_retry_backoff_s": "0.5",
    "job_agent_silence_s": "8",
    "job_max_attempts": "20",
    "webhook_poll_interval_s": "0.2",
}


@dataclass
class Procs:
    """The API and worker processes this run (re)starts itself."""

    stack: Stack
    worker: subprocess.Popen[bytes] | None = None
    spawned: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.stack.home / "logs" / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentry.cli.main", *args],
            env={**self.stack.env, "AGENTRY_WEBHOOK_ALLOW_PRIVATE": "1", **env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.spawned.append(proc)
        return proc

    def restart_api(self) -> None:
        proc = self.spawn("api", ["serve"], AGENTRY_JOBS_EMBEDDED_WORKERS="1")
        (self.stack.home / "pids" / "api.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.stack.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the API did not come back")

    def start_worker(self) -> None:
        self.worker = self.spawn("worker", ["worker"])

    def close(self) -> None:
        for proc in self.spawned:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@dataclass
class Run:
    accepted: dict[str, str] = field(default_factory=dict)  # job id -> kind
    submit_retries: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def submitter(stack: Stack, receiver: Receiver, run: Run, rate: float) -> None:
    client = httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {stack.acme_key}"}, timeout=10
    )
    while not run.stop.is_set():
        longrun = random.random() < 0.2
        agent = "longrun" if longrun else "echo"
        body: dict[str, Any] = {
            "input": {"steps": random.randint(3, 8), "step_s": 0.5}
            if longrun
            else {"prompt": f"soak {uuid.uuid4().hex[:8]}"},
            "webhook_url": f"{receiver.url}/soak",
        }
        key = uuid.uuid4().hex
        while not run.stop.is_set():
            try:
                r = client.post(
                    f"/v1/agents/{agent}/jobs", json=body, headers={"Idempotency-Key": key}
                )
                if r.status_code == 202:
                    job = r.json()
                    if job.get("webhook_secret"):
                        receiver.learn(job["id"], job["webhook_secret"])
                    with run.lock:
                        run.accepted[job["id"]] = agent
                    break
            except httpx.HTTPError:
                pass
            run.submit_retries += 1
            time.sleep(0.5)
        time.sleep(random.expovariate(rate))
    client.close()


def killer(stack: Stack, procs: Procs, run: Run, every_s: float) -> None:
    while not run.stop.wait(random.uniform(0.5, 1.5) * every_s):
        target = random.choice(["api", "worker", "agent"])
        if target == "api":
            pid = stack.pid("api")
            os.kill(pid, signal.SIGKILL)
            for proc in procs.spawned:
                if proc.pid == pid:
                    proc.wait(10)  # reap it: a killed child left unwaited stays a zombie
            while alive(pid):
                time.sleep(0.05)
            procs.restart_api()
        elif target == "worker" and procs.worker is not None:
            procs.worker.kill()
            procs.worker.wait(10)
            procs.start_worker()
        else:
            try:
                pids = session_pids(stack)
            except (httpx.HTTPError, ValueError):
                continue
            if not pids:
                continue
            try:
                os.kill(random.choice(pids), signal.SIGKILL)
            except ProcessLookupError:
                continue
        run.kills[target] += 1
        print(f"  {time.strftime('%H:%M:%S')} killed {target}", flush=True)


async def _usage_duplicates(url: str) -> int:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            grouped = (
                select(UsageEvent.invocation_id, UsageEvent.kind)
                .group_by(UsageEvent.invocation_id, UsageEvent.kind)
                .having(func.count() > 1)
                .subquery()
            )
            return int(await session.scalar(select(func.count()).select_from(grouped)) or 0)
    finally:
        await engine.dispose()


async def _statuses(url: str, ids: list[str]) -> dict[str, str]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            out: dict[str, str] = {}
            for i in range(0, len(ids), 500):
                rows = await session.execute(
                    select(Job.id, Job.status).where(Job.id.in_(ids[i : i + 500]))
                )
                out.update({str(job_id): str(status) for job_id, status in rows.all()})
            return out
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=0.0)
    parser.add_argument("--minutes", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=4.0, help="jobs per second submitted")
    parser.add_argument("--kill-every", type=float, default=30.0, help="mean seconds")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--report", default="", help="write the report as JSON here too")
    args = parser.parse_args()
    duration = args.hours * 3600 + args.minutes * 60 or 60.0
    work = Path(tempfile.mkdtemp(prefix="agentry-soak-"))
    stack = start_stack(work / "home", database_url=args.database_url, **SETTINGS)
    db_url = args.database_url or f"sqlite+aiosqlite:///{stack.home.resolve() / 'agentry.db'}"
    procs = Procs(stack)
    procs.start_worker()
    receiver = start_receiver()
    run = Run()
    started = time.monotonic()
    every = args.kill_every
    print(f"soak: {duration / 60:.0f} min, {args.rate:g} jobs/s, a kill every ~{every:g} s")
    threads = [
        threading.Thread(target=submitter, args=(stack, receiver, run, args.rate), daemon=True),
        threading.Thread(target=killer, args=(stack, procs, run, args.kill_every), daemon=True),
    ]
    ok = False
    try:
        for t in threads:
            t.start()
        while time.monotonic() - started < duration:
            time.sleep(min(10.0, duration))
        run.stop.set()
        for t in threads:
            t.join(120)
        # Drain: every accepted job terminal, every terminal webhook in.
        ids = list(run.accepted)
        deadline = time.monotonic() + 600
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = asyncio.run(_statuses(db_url, ids))
            hooks = {h.json["data"]["job_id"] for h in receiver.on("/soak")}
            if all(statuses.get(i) in TERMINAL for i in ids) and hooks >= set(ids):
                break
            time.sleep(2)
        time.sleep(3)  # a second, wrong terminal webhook would have arrived by now
        per_job: dict[str, set[str]] = {}
        unverified = 0
        for hit in receiver.on("/soak"):
            if not hit.verified:
                unverified += 1
            if hit.json["type"].startswith("job.") and hit.json["type"] != "job.progress":
                per_job.setdefault(hit.json["data"]["job_id"], set()).add(hit.webhook_id)
        lost = [i for i in ids if statuses.get(i) not in TERMINAL or i not in per_job]
        report = {
            "minutes": round((time.monotonic() - started) / 60, 1),
            "database": "postgresql" if args.database_url else "sqlite",
            "jobs_accepted": len(ids),
            "by_agent": dict(Counter(run.accepted.values())),
            "by_status": dict(Counter(statuses.values())),
            "kills": dict(run.kills),
            "submit_retries": run.submit_retries,
            "lost": len(lost),
            "duplicate_terminal_webhooks": sum(1 for s in per_job.values() if len(s) > 1),
            "unverified_webhooks": unverified,
            "duplicate_usage_rows": asyncio.run(_usage_duplicates(db_url)),
        }
        print(json.dumps(report, indent=2))
        if args.report:
            Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
        ok = (
            report["lost"] == 0
            and report["duplicate_terminal_webhooks"] == 0
            and report["duplicate_usage_rows"] == 0
            and report["unverified_webhooks"] == 0
        )
        if lost:
            print("lost:", lost[:20])
    finally:
        run.stop.set()
        receiver.close()
        stop_stack(stack)
        procs.close()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
