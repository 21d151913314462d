"""The hot-path cost of tracing: sync echo through the platform with tracing off and on.

Two platforms started the way `make dev` starts them: `off` (no AGENTRY_OTLP_ENDPOINT, the
default) and `on` (AGENTRY_OTLP_ENDPOINT to an OTLP/HTTP collector in this process, batched
export; the echo agent's process traced too, as the emulator does when the endpoint is set).
wrk runs against each, interleaved, several rounds; medians are reported.

    make bench-tracing                  # defaults: c=1,8; 5 s per run; 3 rounds
    .venv/bin/python bench/tracing_overhead.py --duration 5 --rounds 5 --concurrency 1,16
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sync_invoke import Run, _platform_target, wrk  # bench/ is on sys.path when run

from agentry.testing.otlp import Collector
from agentry.testing.stack import REPO_ROOT, start_stack, stop_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: make bench-tools")
    levels = [int(c) for c in args.concurrency.split(",")]
    work = Path(tempfile.mkdtemp(prefix="agentry-bench-tracing-"))
    collector = Collector().start()
    off = start_stack(work / "off")
    os.environ.setdefault("OTEL_BSP_SCHEDULE_DELAY", "1000")
    on = start_stack(work / "on", otlp_endpoint=collector.url)
    try:
        targets = {}
        for name, stack in (("off", off), ("on", on)):
            with stack.client(stack.acme_key) as c:
                payload = {"input": {"prompt": "hi"}, "session_id": "bench"}
                c.post("/v1/agents/echo/invoke", json=payload).raise_for_status()
            targets[name] = _platform_target(stack, work, name)
        runs: dict[tuple[str, int], list[Run]] = {}
        for rnd in range(args.rounds):
            for c in levels:
                for name, (url, script) in targets.items():
                    wrk(url, script, c, 1)  # settle connections before measuring
                    run = wrk(url, script, c, args.duration)
                    runs.setdefault((name, c), []).append(run)
                    print(
                        f"round {rnd + 1} c={c:<3} tracing {name:<3} p50={run.p50_ms:.3f}ms "
                        f"p99={run.p99_ms:.3f}ms rps={run.rps:.0f}",
                        flush=True,
                    )
    finally:
        stop_stack(off)
        stop_stack(on)
        spans = len(collector.spans)
        collector.stop()
    med = lambda n, c, a: statistics.median(getattr(r, a) for r in runs[(n, c)])  # noqa: E731
    print(
        f"\nmedians of {args.rounds} rounds x {args.duration}s, wrk -t1, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f}; "
        f"{spans} spans exported"
    )
    print("| tracing | c | p50 | added p50 | p99 | req/s | vs off |")
    print("|---|---|---|---|---|---|---|")
    result = []
    for c in levels:
        b50, brps = med("off", c, "p50_ms"), med("off", c, "rps")
        for name in ("off", "on"):
            p50, p99, rps = med(name, c, "p50_ms"), med(name, c, "p99_ms"), med(name, c, "rps")
            print(
                f"| {name} | {c} | {p50:.2f} ms | {p50 - b50:+.2f} ms | {p99:.2f} ms "
                f"| {rps:,.0f} | {rps / brps:.2f} |"
            )
            result.append({"tracing": name, "c": c, "p50": p50, "p99": p99, "rps": rps})
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "tracing_overhead.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
