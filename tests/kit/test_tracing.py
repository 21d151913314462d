"""Tracing in one process, with the SDK's in-memory exporter: the request span continues a
caller's `traceparent`, model spans carry GenAI attributes and no prompt unless
AGENTRY_TRACE_CONTENT, and with tracing off nothing is recorded or sent.
(tests/kit/test_tracing_e2e.py follows one invocation across the real processes.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from agentry.kit import tracing
from agentry.llm.service import ModelGateway
from agentry.testing.inproc import InProcApp
from tests.llm.test_service import _ask, _claims, gateway, recorded  # noqa: F401 (fixtures)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"  # pragma: allowlist secret (W3C example id)
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


async def test_the_request_span_continues_the_callers_trace(
    api: InProcApp, exported: InMemorySpanExporter
) -> None:
    async with api.client() as c:
        r = await c.get("/healthz", headers={"traceparent": f"00-{TRACE}-{PARENT}-01"})
    assert r.status_code == 200
    (span,) = exported.get_finished_spans()
    assert span.name == "GET /healthz"
    assert span.kind is SpanKind.SERVER
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == PARENT
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["agentry.request_id"] == r.headers["x-request-id"]


async def test_a_request_without_traceparent_starts_a_trace_and_names_its_tenant(
    api: InProcApp, exported: InMemorySpanExporter
) -> None:
    tenant = await api.tenant("acme")
    key = await api.key(tenant)
    async with api.client(key.secret) as c:
        r = await c.get("/v1/agents")
    assert r.status_code == 200
    (span,) = exported.get_finished_spans()
    assert span.parent is None
    assert span.name == "GET /v1/agents"
    assert span.attributes is not None
    assert span.attributes["agentry.tenant_id"] == tenant.id
    assert all(key.secret not in str(v) for v in span.attributes.values())


async def test_model_spans_have_genai_attributes_and_no_prompt_by_default(
    gateway: ModelGateway,  # noqa: F811
    exported: InMemorySpanExporter,
) -> None:
    out = await gateway.complete(_claims("premium"), _ask("a secret plan"))
    (span,) = exported.get_finished_spans()
    a = dict(span.attributes or {})
    assert span.name == "chat local-large"
    assert span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == "local-large"
    assert a["gen_ai.provider.name"] == "agentry.local"
    assert a["gen_ai.usage.input_tokens"] == out["usage"]["prompt_tokens"] > 0
    assert a["gen_ai.usage.output_tokens"] == out["usage"]["completion_tokens"] > 0
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["agentry.tenant_id"] == "ten_premium"
    assert "gen_ai.input.messages" not in a
    assert all("secret plan" not in str(v) for v in a.values())


async def test_trace_content_puts_the_messages_on_the_model_span(
    gateway: ModelGateway,  # noqa: F811
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider, content=True)
    try:
        await gateway.complete(_claims("premium"), _ask("a secret plan"))
    finally:
        tracing.use(None)
    (span,) = exporter.get_finished_spans()
    a = dict(span.attributes or {})
    assert "a secret plan" in str(a["gen_ai.input.messages"])
    assert "a secret plan" in str(a["gen_ai.output.messages"])


async def test_a_streamed_completion_is_one_span_ended_after_the_last_frame(
    gateway: ModelGateway,  # noqa: F811
    exported: InMemorySpanExporter,
) -> None:
    frames = await gateway.stream(_claims("premium"), _ask("one two three", stream=True))
    seen = [frame async for frame in frames]
    assert seen[-1] == b"data: [DONE]\n\n"
    (span,) = exported.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["agentry.model.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


def test_tracing_off_records_nothing_and_sends_no_traceparent() -> None:
    assert not tracing.enabled()
    headers: dict[str, str] = {}
    with tracing.span("unused") as opened:
        tracing.inject(headers)
    assert opened is None
    assert headers == {}


def test_the_xray_header_names_the_same_trace() -> None:
    headers = {"traceparent": f"00-{TRACE}-{PARENT}-01"}
    assert tracing.xray_trace_id(headers) == (
        "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"
    )
    assert tracing.xray_trace_id({"traceparent": "garbage"}) is None
