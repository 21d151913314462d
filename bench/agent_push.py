"""Time `agentry agent push`: from the command's start to the new version answering.

Starts the platform the way `make dev` does (private home, free ports). Each sample changes
the agent, runs `agentry agent push DIR` as a subprocess and then invokes the agent through
the platform until the answer carries the new marker. Three kinds, medians reported:

- warm: code change only, dependencies unchanged (layer reused, no install step);
- new dependency: adds one small pure-Python dependency (a local wheel built here, so uv
  installs it without the network, as it would from its cache);
- cold: first push of a new agent (CreateAgentRuntime) with a dependency layer to build.

    make bench-push
    .venv/bin/python bench/agent_push.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from agentry.testing.stack import REPO_ROOT, Stack, start_stack, stop_stack

ECHO = REPO_ROOT / "agents" / "echo"


def _uv() -> str:
    found = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        sys.exit("uv not found: put it on PATH or run `make install`")
    return found


def wheel(directory: Path, version: str) -> Path:
    dist = f"bench_dep_{version.replace('.', '_')}"
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    files = {
        f"{dist}/__init__.py": f"VALUE = {version!r}\n",
        f"{dist}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        ),
        f"{dist}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        record = "".join(f"{n},,\n" for n in files) + f"{dist}-{version}.dist-info/RECORD,,\n"
        zf.writestr(f"{dist}-{version}.dist-info/RECORD", record)
    return path


def write_agent(target: Path, name: str, marker: str, requirements: list[str]) -> None:
    if not target.exists():
        shutil.copytree(ECHO, target)
    reqs = ", ".join(f'"{r}"' for r in requirements)
    (target / "agent.toml").write_text(
        f'name = "{name}"\nentrypoint = "main:app"\nrequirements = [{reqs}]\nmodes = ["sync"]\n'
    )
    (target / "main.py").write_text(
        "from bedrock_agentcore import BedrockAgentCoreApp\n\napp = BedrockAgentCoreApp()\n\n\n"
        "@app.entrypoint\ndef invoke(payload, context):\n"
        f"    return {{'marker': {marker!r}}}\n"
    )


Sample = dict[str, float]


def timed_push(stack: Stack, agent: Path, name: str, marker: str) -> Sample:
    """Seconds from the command's start to the new answer, split by step."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "agentry.cli.main", "agent", "push", str(agent), "--json"],
        env=stack.env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    exited = time.perf_counter()
    report = json.loads(done.stdout)
    with stack.client(stack.acme_key) as client:
        while True:
            answer = client.post(f"/v1/agents/{name}/invoke", json={"input": {}}).json()
            if answer.get("output", {}).get("marker") == marker:
                end = time.perf_counter()
                sample: Sample = {
                    "end_to_end": end - started,
                    "in_process": report["total_ms"] / 1000,
                    # interpreter start, imports, exit: the command's wall time minus its own
                    "cli_start_exit": (exited - started) - report["total_ms"] / 1000,
                    "first_answer": end - exited,
                }
                for step in report["steps"]:
                    sample[step["step"]] = step["ms"] / 1000
                return sample
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"{name} never answered with {marker}: {answer}")
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--only", choices=["warm", "new_dependency", "cold"], action="append", default=None
    )
    args = parser.parse_args()
    kinds = args.only or ["warm", "new_dependency", "cold"]
    with tempfile.TemporaryDirectory(prefix="agentry-bench-push-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "home", uv_bin=_uv(), log_json="false")
        try:
            results: dict[str, list[Sample]] = {kind: [] for kind in kinds}
            agent = root / "bench_push"
            write_agent(agent, "bench_push", "m0", [])
            timed_push(stack, agent, "bench_push", "m0")
            for i in range(args.rounds if "warm" in kinds else 0):
                marker = f"warm{i}"
                write_agent(agent, "bench_push", marker, [])
                results["warm"].append(timed_push(stack, agent, "bench_push", marker))
            for i in range(args.rounds if "new_dependency" in kinds else 0):
                dep = wheel(root, f"1.{i}")
                marker = f"dep{i}"
                write_agent(agent, "bench_push", marker, [f"bench-dep-1-{i} @ {dep.as_uri()}"])
                results["new_dependency"].append(timed_push(stack, agent, "bench_push", marker))
            for i in range(args.rounds if "cold" in kinds else 0):
                dep = wheel(root, f"2.{i}")
                name = f"bench_cold_{i}"
                write_agent(root / name, name, "cold", [f"bench-dep-2-{i} @ {dep.as_uri()}"])
                results["cold"].append(timed_push(stack, root / name, name, "cold"))
        finally:
            stop_stack(stack)
    print(f"agent push benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} rounds")
    targets = {"warm": "2 s", "new_dependency": "30 s", "cold": "report"}
    print("(end to end: command start to the new answer; medians in seconds)")
    for kind, samples in results.items():
        values = [sample["end_to_end"] for sample in samples]
        print(
            f"{kind:<15} median {statistics.median(values):6.2f} s   "
            f"min {min(values):6.2f}  max {max(values):6.2f}   target {targets[kind]}"
        )
        parts = [key for key in samples[0] if key != "end_to_end"]
        split = "  ".join(
            f"{key} {statistics.median(s.get(key, 0.0) for s in samples):.3f}" for key in parts
        )
        print(f"{'':<15} split: {split}")


if __name__ == "__main__":
    main()
