"""Tracing inside an agent's session process: locally, what ADOT (`opentelemetry-instrument`)
does for an agent on AgentCore.

When OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is in the session's environment (the
emulator passes AGENTRY_OTLP_ENDPOINT and its own OTEL_* settings; a runtime's
environmentVariables may set them too), the host process:

- exports its spans over OTLP/HTTP, batched (OTEL_BSP_* apply);
- opens an `invoke_agent` SERVER span per `POST /invocations`, the parent taken from the
  `traceparent` the platform sends (AgentCore passes it on, with X-Amzn-Trace-Id);
- instruments httpx, which the agents' model, tool (MCP) and agent-to-agent calls use, so
  each call carries `traceparent` back to the gateways.

The agent's code needs nothing: its calls join the invocation's trace. Without the variable
nothing here is imported.
"""

from __future__ import annotations

import os
from typing import Any

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_SESSION_HEADER = b"x-amzn-bedrock-agentcore-runtime-session-id"
_PROPAGATED = (b"traceparent", b"tracestate", b"baggage")


def wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in _ENDPOINTS)


def instrument(app: Any) -> Any:
    """`app` wrapped in invocation spans, with the exporter and httpx instrumented; `app`
    itself when tracing is not configured."""
    if not wanted():
        return app
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create())  # OTEL_SERVICE_NAME: the runtime
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    name = os.environ.get("OTEL_SERVICE_NAME", "agent")
    return InvocationSpans(app, provider.get_tracer("agentry.agent"), name)


class InvocationSpans:
    """ASGI: one SERVER span per `POST /invocations`, child of the caller's `traceparent`."""

    def __init__(self, app: Any, tracer: Any, agent: str) -> None:
        self.app = app
        self.tracer = tracer
        self.agent = agent

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate
        from opentelemetry.trace import SpanKind, Status, StatusCode

        headers = dict(scope.get("headers") or ())
        carrier = {k.decode(): headers[k].decode("latin-1") for k in _PROPAGATED if k in headers}
        status = 500

        async def tracked(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            f"invoke_agent {self.agent}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": self.agent,
                "session.id": headers.get(_SESSION_HEADER, b"").decode("latin-1"),
            },
        ) as span:
            await self.app(scope, receive, tracked)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR, str(status)))
