"""tools/call through the gateway (token check, Cedar, schema, rate limit, redaction, audit)
against the same MCP tool server with no interceptors, both over HTTP, measured with wrk.

    .venv/bin/python bench/gateway_overhead.py [--duration 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="agentry-gw-bench-"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keyfile = work / "key.pem"
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "http://bench",
            "aud": "agentry-gateway",
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
            "tenant": "ten_bench",
            "tier": "premium",
            "agent": "bench",
            "version": 1,
            "invocation_id": "inv_bench",
            "session_id": "s",
            "scope": "tools",
        },
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "utility___calculate", "arguments": {"expression": "6*7"}},
    }
    servers, urls = [], {}
    try:
        for mode in ("direct", "chain"):
            port = _free_port()
            servers.append(
                subprocess.Popen(
                    [sys.executable, str(HERE / "gateway_server.py"), str(port), mode, str(keyfile)]
                )
            )
            urls[mode] = f"http://127.0.0.1:{port}/mcp/"
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {token}",
        }
        for url in urls.values():
            for _ in range(100):
                try:
                    r = httpx.post(url, json=body, headers=headers)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            assert r.json()["result"]["structuredContent"]["value"] == 42.0, r.text
        script = work / "call.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(body))}\n"
            + "".join(
                f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items()
            )
        )
        runs: dict[str, list[float]] = {"direct": [], "chain": []}
        for rnd in range(args.rounds):
            for mode, url in urls.items():
                out = subprocess.run(
                    [
                        "wrk",
                        "-t1",
                        "-c1",
                        f"-d{args.duration}s",
                        "--latency",
                        "-s",
                        str(script),
                        url,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                if "Non-2xx" in out:
                    sys.exit(out)
                p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
                runs[mode].append(p50)
                print(f"round {rnd + 1} {mode:6} p50={p50:.3f} ms", flush=True)
        d, c = statistics.median(runs["direct"]), statistics.median(runs["chain"])
        print(f"\n| path | p50 (median of {args.rounds}) |\n|---|---|")
        print(f"| MCP tool server, no interceptors | {d:.3f} ms |")
        print(f"| through the gateway chain | {c:.3f} ms |")
        print(f"| overhead | {c - d:+.3f} ms |")
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
