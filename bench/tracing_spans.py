"""In-process cost of the spans one traced sync invoke makes in the API, off vs on.

Per iteration, what the API does for one sync invoke of an agent: the request's SERVER span
(continuing a `traceparent`), the `invoke_agent` CLIENT span, `traceparent` injected into the
runtime call's headers, the span ended. `on` uses the SDK with the batch processor and an
exporter that drops (the export itself happens off the request path, in the batch thread).
Interleaved rounds, medians; the end-to-end figure is bench/tracing_overhead.py.

    .venv/bin/python bench/tracing_spans.py --rounds 5 --n 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from agentry.kit import tracing

HEADERS = [(b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]


class Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def one_request() -> None:
    started = tracing.start_server_span(HEADERS, "POST", {"http.request.method": "POST"})
    with tracing.span(
        "invoke_agent echo",
        kind=SpanKind.CLIENT,
        attributes={"gen_ai.operation.name": "invoke_agent", "agentry.tenant_id": "ten_x"},
    ):
        headers: dict[str, str] = {}
        tracing.inject(headers)
    if started is not None:
        started[0].set_attribute("http.response.status_code", 200)
        tracing.end_server_span(started)


def per_call_us(n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        one_request()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=1 << 16))
    results: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            tracing.use(provider if mode == "on" else None)
            per_call_us(1000)  # warm
            results[mode].append(per_call_us(args.n))
    tracing.use(None)
    provider.shutdown()
    off, on = statistics.median(results["off"]), statistics.median(results["on"])
    print(f"rounds {args.rounds} x {args.n}, load {os.getloadavg()[0]:.2f}")
    print(f"| tracing | per request | added |\n|---|---|---|\n| off | {off:.2f} µs | |")
    print(f"| on | {on:.2f} µs | +{on - off:.2f} µs |")


if __name__ == "__main__":
    main()
