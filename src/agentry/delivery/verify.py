"""Post-deploy verification: smoke invocations in every mode, then the target's own metrics.

`verify()` reads the target's `/metrics` (the Prometheus counters of the process that serves
it), sends smoke calls (sync `echo`, a stream of `echo` to its `end` event, a `longrun` job
polled to `succeeded`), reads `/metrics` again and judges the difference: the 5xx share of the
requests in between and their p99 (the upper bound of the histogram bucket it falls in).
It passes when every smoke call succeeded and both numbers are within their limits.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from agentry.cli.http import HttpClient, HttpError

SKIP_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Metrics:
    """Request counts by status class and latency buckets, summed over the judged routes."""

    requests: dict[str, float] = field(default_factory=dict)  # "2xx" | "4xx" | "5xx" → count
    buckets: dict[float, float] = field(default_factory=dict)  # le → cumulative count

    def minus(self, before: Metrics) -> Metrics:
        return Metrics(
            {k: v - before.requests.get(k, 0.0) for k, v in self.requests.items()},
            {k: v - before.buckets.get(k, 0.0) for k, v in self.buckets.items()},
        )

    @property
    def total(self) -> float:
        return sum(self.requests.values())

    @property
    def error_rate(self) -> float:
        return self.requests.get("5xx", 0.0) / self.total if self.total else 0.0

    def quantile(self, q: float) -> float:
        """Upper bound of the bucket holding the q-quantile (inf past the last bucket)."""
        if not self.buckets:
            return 0.0
        count = self.buckets.get(math.inf, max(self.buckets.values()))
        if count <= 0:
            return 0.0
        rank = q * count
        for bound in sorted(self.buckets):
            if self.buckets[bound] >= rank:
                return bound
        return math.inf


def parse_metrics(text: str) -> Metrics:
    metrics = Metrics()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, raw_labels, raw_value = match.groups()
        labels = dict(_LABEL.findall(raw_labels))
        if labels.get("route") in SKIP_ROUTES:
            continue
        value = float(raw_value)
        if name == "agentry_http_requests_total":
            klass = f"{labels.get('status', '0')[:1]}xx"
            metrics.requests[klass] = metrics.requests.get(klass, 0.0) + value
        elif name == "agentry_http_request_seconds_bucket":
            bound = math.inf if labels["le"] == "+Inf" else float(labels["le"])
            metrics.buckets[bound] = metrics.buckets.get(bound, 0.0) + value
    return metrics


@dataclass
class Smoke:
    mode: str
    ok: bool
    status: int
    ms: int
    detail: str = ""


@dataclass
class Report:
    url: str
    smokes: list[Smoke]
    requests: float
    error_rate: float
    p99_s: float
    max_error_rate: float
    max_p99_s: float

    @property
    def ok(self) -> bool:
        return (
            all(s.ok for s in self.smokes)
            and self.error_rate <= self.max_error_rate
            and self.p99_s <= self.max_p99_s
        )

    def reasons(self) -> list[str]:
        out = [f"{s.mode}: {s.detail or s.status}" for s in self.smokes if not s.ok]
        if self.error_rate > self.max_error_rate:
            out.append(f"5xx rate {self.error_rate:.1%} > {self.max_error_rate:.1%}")
        if self.p99_s > self.max_p99_s:
            out.append(f"p99 {self.p99_s} s > {self.max_p99_s} s")
        return out

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["p99_s"] = None if math.isinf(self.p99_s) else self.p99_s
        return data | {"ok": self.ok, "reasons": self.reasons()}


def _timed(client: HttpClient, method: str, path: str, **kwargs: Any) -> tuple[int, bytes, int]:
    started = time.perf_counter()
    try:
        answer = client.request(method, path, **kwargs)
    except HttpError as exc:
        return 0, str(exc).encode(), round((time.perf_counter() - started) * 1000)
    return answer.status_code, answer.content, round((time.perf_counter() - started) * 1000)


def _sync(client: HttpClient) -> Smoke:
    status, body, ms = _timed(
        client, "POST", "/v1/agents/echo/invoke", json={"input": {"prompt": "smoke"}}
    )
    ok = status == 200 and "smoke" in json.dumps(json.loads(body).get("output"))
    return Smoke("sync", ok, status, ms, "" if ok else body[:200].decode(errors="replace"))


def _stream(client: HttpClient) -> Smoke:
    status, body, ms = _timed(
        client,
        "POST",
        "/v1/agents/echo/stream",
        json={"input": {"prompt": "one two three", "stream": True}},
        headers={"Accept": "text/event-stream"},
    )
    events = [
        ln[6:].strip() for ln in body.decode(errors="replace").splitlines() if ln[:6] == "event:"
    ]
    ok = status == 200 and bool(events) and events[-1] == "end"
    detail = "" if ok else f"events {events[-3:]}" if status == 200 else body[:200].decode()
    return Smoke("stream", ok, status, ms, detail)


def _job(client: HttpClient, timeout_s: float) -> Smoke:
    status, body, ms = _timed(
        client, "POST", "/v1/agents/longrun/jobs", json={"input": {"steps": 1, "step_s": 0.05}}
    )
    if status != 202:
        return Smoke("job", False, status, ms, body[:200].decode(errors="replace"))
    job_id = json.loads(body)["id"]
    deadline = time.monotonic() + timeout_s
    state = "queued"
    while time.monotonic() < deadline:
        status, body, _ = _timed(client, "GET", f"/v1/jobs/{job_id}")
        if status != 200:
            return Smoke("job", False, status, ms, body[:200].decode(errors="replace"))
        state = json.loads(body)["status"]
        if state not in ("queued", "running"):
            break
        time.sleep(0.1)
    total = ms + round((timeout_s - max(deadline - time.monotonic(), 0)) * 1000)
    ok = state == "succeeded"
    return Smoke("job", ok, 200, total, "" if ok else f"job {job_id} {state}")


def verify(
    url: str,
    key: str,
    *,
    rounds: int = 3,
    max_error_rate: float = 0.01,
    max_p99_s: float = 2.5,
    job_timeout_s: float = 60.0,
    metrics_token: str = "",
) -> Report:
    """Smoke the platform at `url` with a tenant key and judge its metrics (see the module).
    `metrics_token`: the target's AGENTRY_METRICS_TOKEN (its /metrics is closed without)."""
    client = HttpClient(url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    scrape_auth = {"Authorization": f"Bearer {metrics_token}"} if metrics_token else {}
    probe = HttpClient(url, headers=scrape_auth, timeout=30)

    def scrape() -> Metrics:
        try:
            answer = probe.request("GET", "/metrics")
        except HttpError:
            return Metrics()
        return parse_metrics(answer.text) if answer.status_code == 200 else Metrics()

    before = scrape()
    smokes: list[Smoke] = []
    for _ in range(rounds):
        smokes += [_sync(client), _stream(client), _job(client, job_timeout_s)]
    delta = scrape().minus(before)
    client.close()
    probe.close()
    return Report(
        url,
        smokes,
        delta.total,
        round(delta.error_rate, 4),
        delta.quantile(0.99),
        max_error_rate,
        max_p99_s,
    )
