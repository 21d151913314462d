"""RUNBOOK-001 recovery time: a runtime region dies under traffic; how long until the error
rate is back under 1%, with the runbook's make targets run at once (no human reaction time).

Two local emulators stand for eu-west-1 and eu-central-1. Each round kills the active
region's emulator, runs lock → region → verify → release, then restarts the dead emulator so
the next round fails back the other way. Median of the rounds.

    make bench-failover                 # 3 rounds
    .venv/bin/python bench/failover.py --rounds 5 --poll 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from agentry.testing.failover import Traffic, kill_region, make, restart_region, run_runbook
from agentry.testing.stack import start_stack, stop_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll", default="5", help="AGENTRY_RUNTIME_REGION_POLL_S (default 5)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="agentry-bench-failover-"))
    stack = start_stack(
        home,
        second_region="eu-central-1",
        runtime_region_poll_s=args.poll,
        auth_failure_limit="1000000/minute",
    )
    regions = list(stack.region_urls)
    rows = []
    try:
        active = regions[0]
        for n in range(1, args.rounds + 1):
            standby = regions[1] if active == regions[0] else regions[0]
            traffic = Traffic(stack)
            traffic.start()
            time.sleep(3.0)
            outage = time.monotonic()
            kill_region(stack, "runtime" if active == regions[0] else f"runtime-{active}")
            time.sleep(1.0)  # an alarm fires; the operator starts the runbook
            marks = run_runbook(stack, standby)
            time.sleep(5.0)
            traffic.stop()
            recovered = traffic.recovered_at(outage)
            if recovered is None:
                raise SystemExit(f"round {n}: the error rate never went back under 1%")
            row = {
                "round": n,
                "from": active,
                "to": standby,
                "outage_to_recovered_s": round(recovered - outage, 2),
                "switch_to_recovered_s": round(recovered - marks["switch"], 2),
                "runbook_s": round(marks["release"] - outage - 1.0, 2),
                "errors_after_verify": round(traffic.error_rate(marks["verify"])[0], 4),
                "calls": len(traffic.calls),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            restart_region(stack, active)
            active = standby
        status = make(stack, "ops-runtime-status")
        print(status.stdout.strip())
    finally:
        stop_stack(stack)
        shutil.rmtree(home, ignore_errors=True)
    median = statistics.median(r["outage_to_recovered_s"] for r in rows)
    worst = max(r["outage_to_recovered_s"] for r in rows)
    print(
        json.dumps(
            {
                "rounds": len(rows),
                "poll_s": float(args.poll),
                "median_outage_to_recovered_s": median,
                "worst_outage_to_recovered_s": worst,
                "median_runbook_s": statistics.median(r["runbook_s"] for r in rows),
            }
        )
    )


if __name__ == "__main__":
    main()
