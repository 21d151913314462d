"""OpenTelemetry tracing at the domain boundaries (no blanket auto-instrumentation).

Spans: one SERVER span per API request (kit.middleware, parent taken from a W3C `traceparent`
header), `invoke_agent <agent>` around each runtime call (its context goes to the agent in
`traceparent`), `execute_tool <tool>` in the tool gateway and `chat <model>` in the model
gateway, named and attributed after the OpenTelemetry GenAI semantic conventions. Agent
processes trace themselves (runtime/emulator/tracing.py, ADOT on AgentCore) and send their
`traceparent` back on gateway calls, so one invocation is one trace.

Off unless AGENTRY_OTLP_ENDPOINT is set: then `tracer()` is None and every helper here returns
at once. Spans carry the tenant id, never credentials; prompts and completions only with
AGENTRY_TRACE_CONTENT.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from agentry.config import Settings

TENANT = "agentry.tenant_id"
INVOCATION = "agentry.invocation_id"
OPERATION = "gen_ai.operation.name"
_TRACEPARENT = b"traceparent"
_TRACESTATE = b"tracestate"


class _State:
    tracer: Tracer | None = None
    provider: TracerProvider | None = None
    content = False


def tracer() -> Tracer | None:
    return _State.tracer


def enabled() -> bool:
    return _State.tracer is not None


def capture_content() -> bool:
    return _State.content


def use(provider: TracerProvider | None, *, content: bool = False) -> None:
    """Trace into `provider` (None: tracing off). The API's own provider, not the global one,
    so tests can swap in an in-memory exporter and the process keeps its global no-op."""
    _State.provider = provider
    _State.tracer = provider.get_tracer("agentry") if provider is not None else None
    _State.content = content and provider is not None


def configure(settings: Settings, service: str) -> TracerProvider | None:
    """An OTLP/HTTP exporter to AGENTRY_OTLP_ENDPOINT, batched off the hot path."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use(provider, content=settings.trace_content)
    return provider


def shutdown() -> None:
    provider = _State.provider
    use(None)
    if provider is not None:
        provider.shutdown()  # flushes what is batched


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    current: bool = True,
    carrier: Mapping[str, str] | None = None,
) -> Iterator[Span | None]:
    """A child of the current span; yields None (and costs nothing more) when tracing is off.
    `carrier`: a `traceparent` from a message rather than a header (MCP's `_meta`); when it
    holds a valid one the span is its child, linked to the current span. `current=False` does
    not make it the current span: for async generators, whose steps may run elsewhere."""
    traced = _State.tracer
    if traced is None:
        yield None
        return
    parent, links = None, None
    if carrier and "traceparent" in carrier:
        remote = propagate.extract(carrier)
        if trace.get_current_span(remote).get_span_context().is_valid:
            parent = remote
            here = trace.get_current_span().get_span_context()
            links = [trace.Link(here)] if here.is_valid else None
    if current:
        with traced.start_as_current_span(
            name, context=parent, kind=kind, attributes=attributes, links=links
        ) as opened:
            yield opened
        return
    opened = traced.start_span(name, context=parent, kind=kind, attributes=attributes, links=links)
    try:
        yield opened
    except BaseException as exc:
        opened.record_exception(exc)
        opened.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        opened.end()


def start_server_span(
    headers: list[tuple[bytes, bytes]], name: str, attributes: Mapping[str, Any]
) -> tuple[Span, object] | None:
    """The request's SERVER span, its parent from `traceparent`; made current until
    `end_server_span`. None when tracing is off."""
    current = _State.tracer
    if current is None:
        return None
    carrier = {
        key.decode("latin-1"): value.decode("latin-1")
        for key, value in headers
        if key in (_TRACEPARENT, _TRACESTATE)
    }
    parent = propagate.extract(carrier) if carrier else None
    opened = current.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(opened, parent))
    return opened, token


def end_server_span(started: tuple[Span, object]) -> None:
    opened, token = started
    otel_context.detach(token)  # type: ignore[arg-type]
    opened.end()


def inject(headers: MutableMapping[str, str]) -> None:
    """Add `traceparent` (and `tracestate`) of the current span to outgoing headers."""
    if _State.tracer is not None:
        propagate.inject(headers)


def xray_trace_id(headers: Mapping[str, str]) -> str | None:
    """`X-Amzn-Trace-Id` for the same trace (AgentCore's X-Ray form of `traceparent`)."""
    parent = headers.get("traceparent", "")
    parts = parent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    trace_id, span_id, flags = parts[1], parts[2], parts[3]
    sampled = "1" if int(flags, 16) & 1 else "0"
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={span_id};Sampled={sampled}"


def annotate(**attributes: Any) -> None:
    """Set attributes on the current span (no-op when tracing is off or nothing records)."""
    if _State.tracer is None:
        return
    current = trace.get_current_span()
    for key, value in attributes.items():
        if value is not None:
            current.set_attribute(_ATTRIBUTE_NAMES.get(key, key), value)


def failed(opened: Span | None, error_type: str, message: str = "") -> None:
    if opened is not None:
        opened.set_attribute("error.type", error_type)
        opened.set_status(Status(StatusCode.ERROR, message or error_type))


_ATTRIBUTE_NAMES = {"tenant_id": TENANT, "invocation_id": INVOCATION}
