"""Stream relay: the platform's SSE against reading the agent's SSE directly.

Starts the platform the way `make dev` does (private home, free ports), warms one session,
then streams the echo agent (`{"prompt": ..., "stream": true}`, one frame per word, 50 ms
apart) both ways, interleaved, and reports medians:

- time to first byte (first byte of the body) and time to the first agent frame;
- per-chunk overhead: (platform - direct) stream duration over the number of frames.

    .venv/bin/python bench/stream_relay.py                 # defaults: 30 runs, 1 and 40 words
    .venv/bin/python bench/stream_relay.py --runs 50 --words 80
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agentry.testing.stack import REPO_ROOT, Stack, start_stack, stop_stack


@dataclass
class Sample:
    ttfb_ms: float
    first_frame_ms: float
    total_ms: float
    frames: int


def _measure(
    client: httpx.Client, url: str, body: dict[str, object], headers: dict[str, str]
) -> Sample:
    started = time.perf_counter()
    ttfb = first = 0.0
    frames = 0
    with client.stream("POST", url, json=body, headers=headers) as r:
        r.raise_for_status()
        event = ""
        for line in r.iter_lines():
            now = time.perf_counter() - started
            if not ttfb:
                ttfb = now
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("", "chunk"):
                # direct: every data line is a frame; platform: only `chunk` events are
                frames += 1
                if frames == 1:
                    first = now
    total = time.perf_counter() - started
    return Sample(ttfb * 1000, first * 1000, total * 1000, frames)


def targets(stack: Stack) -> dict[str, tuple[str, dict[str, str], bool]]:
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
            {
                "Accept": "text/event-stream",
                "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": output["session_id"],
            },
            False,
        ),
        "platform": (
            f"{stack.url}/v1/agents/echo/stream",
            {"Authorization": f"Bearer {stack.acme_key}"},
            True,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--words", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentry-bench-stream-"))
    stack = start_stack(work / "home")
    samples: dict[tuple[str, int], list[Sample]] = {}
    try:
        tgts = targets(stack)
        with httpx.Client(timeout=60) as client:
            for run in range(args.runs + 2):
                for words in (1, args.words):
                    prompt = " ".join(f"w{i}" for i in range(words))
                    for name, (url, headers, wrapped) in tgts.items():
                        payload: dict[str, object] = {"prompt": prompt, "stream": True}
                        body = {"input": payload, "session_id": "bench"} if wrapped else payload
                        sample = _measure(client, url, body, headers)
                        if sample.frames != words + 1:
                            raise RuntimeError(f"{name}: {sample.frames} frames for {words} words")
                        if run >= 2:  # the first two rounds warm connections
                            samples.setdefault((name, words), []).append(sample)
    finally:
        stop_stack(stack)
    report(samples, args)


def report(samples: dict[tuple[str, int], list[Sample]], args: argparse.Namespace) -> None:
    def med(name: str, words: int, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in samples[(name, words)])

    w = args.words
    rows = {
        "ttfb_ms": (med("direct", 1, "ttfb_ms"), med("platform", 1, "ttfb_ms")),
        "first_frame_ms": (
            med("direct", 1, "first_frame_ms"),
            med("platform", 1, "first_frame_ms"),
        ),
        "total_1_word_ms": (med("direct", 1, "total_ms"), med("platform", 1, "total_ms")),
        f"total_{w}_words_ms": (med("direct", w, "total_ms"), med("platform", w, "total_ms")),
    }
    frames = w + 1
    per_chunk = (rows[f"total_{w}_words_ms"][1] - rows[f"total_{w}_words_ms"][0]) - (
        rows["total_1_word_ms"][1] - rows["total_1_word_ms"][0]
    )
    per_chunk /= frames - 2
    print(f"\nmedians of {args.runs} runs each, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print("| measure | direct | platform | added |")
    print("|---|---|---|---|")
    for name, (d, p) in rows.items():
        print(f"| {name} | {d:.2f} ms | {p:.2f} ms | {p - d:+.2f} ms |")
    print(f"| per-chunk overhead | | | {per_chunk:+.3f} ms/chunk |")
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    result = {k: {"direct": d, "platform": p} for k, (d, p) in rows.items()}
    result["per_chunk_overhead_ms"] = {"platform": per_chunk}
    (out / "stream_relay.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
