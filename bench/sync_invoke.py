"""Sync echo through the platform against a direct POST to the same agent process.

Starts the platform the way `make dev` does (private home, free ports), warms one session,
then runs wrk against each target, interleaved, several rounds, and reports medians:
- `direct`: POST /invocations on the agent process (the baseline);
- `platform`: the embedded default (`runtime_mode=local`: API → agent process);
- `agentcore`: a second platform with `runtime_mode=agentcore` (API → emulator's AgentCore
  data-plane API → agent process), the path the platform takes against AWS.

    make bench-sync                     # defaults: c=1,4,16; 10 s per run; 3 rounds
    .venv/bin/python bench/sync_invoke.py --duration 5 --rounds 5 --concurrency 1,16
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agentry.testing.stack import REPO_ROOT, Stack, start_stack, stop_stack

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Run:
    p50_ms: float
    p99_ms: float
    rps: float
    cpu_ms: float = 0.0  # CPU time per request of the serving process (API, or the agent)


def cpu_s(pid: int) -> float:
    """utime + stime of `pid` (all its threads), in seconds, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lua(path: Path, body: dict[str, object], headers: dict[str, str]) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, script: Path, concurrency: int, duration: int, pid: int = 0) -> Run:
    before = cpu_s(pid) if pid else 0.0
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests against {url}")
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    cpu_ms = (cpu_s(pid) - before) * 1000 / max(count, 1) if pid else 0.0
    return Run(p50, p99, rps, cpu_ms)


Target = tuple[str, Path, int]  # url, wrk script, pid whose CPU time is measured


def _platform_target(stack: Stack, work: Path, name: str) -> Target:
    return (
        f"{stack.url}/v1/agents/echo/invoke",
        _lua(
            work / f"{name}.lua",
            {"input": {"prompt": "hi"}, "session_id": "bench"},
            {"Content-Type": "application/json", "Authorization": f"Bearer {stack.acme_key}"},
        ),
        stack.pid("api"),
    )


def targets(stack: Stack, work: Path) -> dict[str, Target]:
    with stack.client(stack.acme_key) as c:
        warm = c.post(
            "/v1/agents/echo/invoke", json={"input": {"prompt": "hi"}, "session_id": "bench"}
        )
    warm.raise_for_status()
    output = warm.json()["output"]
    sessions = httpx.get(f"{stack.runtime_url}/_local/sessions").json()["sessions"]
    agent_url = next(s["url"] for s in sessions if s["pid"] == output["pid"])
    return {
        "direct": (
            f"{agent_url}/invocations",
            _lua(
                work / "direct.lua",
                {"prompt": "hi"},
                {
                    "Content-Type": "application/json",
                    "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": output["session_id"],
                },
            ),
            int(output["pid"]),
        ),
        "platform": _platform_target(stack, work, "platform"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-agentcore", action="store_true", help="Skip the AgentCore-shaped path (one stack)."
    )
    parser.add_argument(
        "--py-spy",
        metavar="SVG",
        help="Also record the API process with py-spy during one extra platform run "
        "at the highest concurrency (an .svg flame graph, else collapsed stacks; needs py-spy).",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    levels = [int(c) for c in args.concurrency.split(",")]
    work = Path(tempfile.mkdtemp(prefix="agentry-bench-"))
    stack = start_stack(work / "home")
    via_agentcore = (
        None
        if args.no_agentcore
        else start_stack(work / "home-agentcore", runtime_mode="agentcore")
    )
    try:
        tgts = targets(stack, work)
        if via_agentcore is not None:
            with via_agentcore.client(via_agentcore.acme_key) as c:
                payload = {"input": {"prompt": "hi"}, "session_id": "bench"}
                c.post("/v1/agents/echo/invoke", json=payload).raise_for_status()
            tgts["agentcore"] = _platform_target(via_agentcore, work, "agentcore")
        runs: dict[tuple[str, int], list[Run]] = {}
        for rnd in range(args.rounds):
            for c in levels:
                for name, (url, script, pid) in tgts.items():
                    wrk(url, script, c, 2)  # settle connections before measuring
                    run = wrk(url, script, c, args.duration, pid)
                    runs.setdefault((name, c), []).append(run)
                    print(
                        f"round {rnd + 1} c={c:<3} {name:<9} p50={run.p50_ms:.3f}ms "
                        f"p99={run.p99_ms:.3f}ms rps={run.rps:.0f} "
                        f"cpu/req={run.cpu_ms:.3f}ms load={os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
        if args.py_spy:
            url, script, pid = tgts["platform"]
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking"]
                + ["-r", "250", "-d", str(args.duration), "-p", str(pid), "-o", args.py_spy]
                + (["-f", "raw"] if not args.py_spy.endswith(".svg") else [])
            )
            wrk(url, script, max(levels), args.duration + 1, pid)
            spy.wait()
    finally:
        stop_stack(stack)
        if via_agentcore is not None:
            stop_stack(via_agentcore)
    report(runs, levels, args)


def report(
    runs: dict[tuple[str, int], list[Run]], levels: list[int], args: argparse.Namespace
) -> None:
    def med(name: str, c: int, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs[(name, c)])

    print(
        f"\nmedians of {args.rounds} rounds x {args.duration}s, wrk -t1, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print("| path | c | p50 | added p50 | p99 | req/s | vs direct | CPU/request |")
    print("|---|---|---|---|---|---|---|---|")
    result = []
    for c in levels:
        d50, drps = med("direct", c, "p50_ms"), med("direct", c, "rps")
        row: dict[str, object] = {"c": c}
        for name in [n for n in ("direct", "platform", "agentcore") if (n, c) in runs]:
            p50, p99, rps = med(name, c, "p50_ms"), med(name, c, "p99_ms"), med(name, c, "rps")
            cpu = med(name, c, "cpu_ms")
            print(
                f"| {name} | {c} | {p50:.2f} ms | {p50 - d50:+.2f} ms | {p99:.2f} ms "
                f"| {rps:,.0f} | {rps / drps:.2f} | {cpu:.3f} ms |"
            )
            row[name] = {"p50": p50, "p99": p99, "rps": rps, "cpu_ms": cpu}
        result.append(row)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "sync_invoke.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
