"""Cost of one Cedar policy decision in the platform's engine (`agentry.policy.engine`).

Cases, each timed per decision (median of rounds, µs):
  none       no policy set at all (the fast path every hop takes without policies)
  cold       platform + tenant set enforced, every request new (no memo): real Cedar work
  warm       the same, requests repeating (memoised per compiled version)
  shadow     cold, plus a LOG_ONLY version evaluated beside each enforced one

    .venv/bin/python bench/policy_decisions.py [--n 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from agentry.models.policy import PLATFORM_SCOPE
from agentry.policy.engine import Compiled, PolicyEngine, Request, validate

PLATFORM = """permit(principal, action, resource);
forbid(principal, action == Agentry::Action::"InvokeAgent", resource == Agentry::Agent::"longrun")
when { principal.tier == "basic" };
forbid(principal, action == Agentry::Action::"DelegateAgent", resource) when { context.depth > 3 };
"""
TENANT = """permit(principal, action, resource);
forbid(principal, action == Agentry::Action::"CallTool", resource == Agentry::Tool::"x___y")
when { context.agent == "concierge" };
"""


def engine(with_sets: bool, shadow: bool) -> PolicyEngine:
    e = PolicyEngine()
    if with_sets:
        e.install(
            PLATFORM_SCOPE,
            Compiled(1, validate(PLATFORM)),
            Compiled(2, validate(PLATFORM)) if shadow else None,
        )
        e.install(
            "ten_a",
            Compiled(1, validate(TENANT)),
            Compiled(2, validate(TENANT)) if shadow else None,
        )
    return e


def requests(n: int, unique: bool) -> list[Request]:
    return [
        Request("ten_a", "premium", "InvokeAgent", f"agent{i if unique else i % 8}", role="member")
        for i in range(n)
    ]


def per_decision_us(e: PolicyEngine, reqs: list[Request]) -> float:
    started = time.perf_counter()
    for r in reqs:
        e.decide(r)
    return (time.perf_counter() - started) / len(reqs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = {
        "none": (False, False, True),
        "cold": (True, False, True),
        "warm": (True, False, False),
        "shadow": (True, True, True),
    }
    for name, (with_sets, shadow, unique) in cases.items():
        samples = []
        for _ in range(args.rounds):
            e = engine(with_sets, shadow)  # a fresh memo each round
            if not unique:
                per_decision_us(e, requests(64, unique=False))  # warm the memo
            samples.append(per_decision_us(e, requests(args.n, unique)))
        print(
            f"{name:8s} median {statistics.median(samples):8.2f} us/decision  "
            f"(rounds: {', '.join(f'{s:.2f}' for s in samples)})"
        )


if __name__ == "__main__":
    main()
