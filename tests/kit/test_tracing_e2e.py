"""One tool-using invocation is one trace: API → runtime call → the agent's own process → the
tool gateway and the model gateway, across real processes.

Every process exports with the standard OTLP/HTTP exporter to a collector in this test
(`agentry.testing.otlp`): the API (AGENTRY_OTLP_ENDPOINT) and the concierge's session
process, which the runtime emulator configures the way AgentCore configures ADOT
(emulator/tracing.py). Both runtime paths are covered: the local hot path straight to the
session process, and AgentCore's InvokeAgentRuntime (through the emulator's data plane).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentry.testing.otlp import CollectedSpan, Collector
from agentry.testing.stack import Stack, start_stack, stop_stack

pytestmark = pytest.mark.e2e
PROMPT = 'call insights___forecast {"series": [1, 2, 3], "horizon": 2}'
API = "agentry-api"


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    running = Collector().start()
    yield running
    running.stop()


@pytest.fixture(scope="module", params=["local", "agentcore"])
def traced_stack(
    request: pytest.FixtureRequest, collector: Collector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp(f"traced-{request.param}")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # export within 0.1 s, not 5 s
        stack = start_stack(home, otlp_endpoint=collector.url, runtime_mode=request.param)
    yield stack
    stop_stack(stack)


def _by_id(spans: list[CollectedSpan]) -> dict[str, CollectedSpan]:
    return {s.span_id: s for s in spans}


def _ancestors(span: CollectedSpan, index: dict[str, CollectedSpan]) -> list[CollectedSpan]:
    chain = []
    while span.parent_id:
        span = index[span.parent_id]
        chain.append(span)
    return chain


def _one(spans: list[CollectedSpan], **want: str) -> CollectedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in want.items())]
    assert len(found) == 1, (want, [(s.service, s.name) for s in spans])
    return found[0]


def test_a_tool_using_invocation_is_one_trace(traced_stack: Stack, collector: Collector) -> None:
    with traced_stack.client(traced_stack.acme_key) as c:
        r = c.post("/v1/agents/concierge/invoke", json={"input": {"prompt": PROMPT}})
    assert r.status_code == 200, r.text
    assert r.json()["output"]["tool_calls"] == [{"tool": "insights___forecast", "allowed": True}]
    request_id = r.headers["x-request-id"]

    def root(spans: list[CollectedSpan]) -> CollectedSpan | None:
        mine = (s for s in spans if s.attributes.get("agentry.request_id") == request_id)
        return next(mine, None)

    def complete(spans: list[CollectedSpan]) -> bool:
        top = root(spans)
        if top is None:
            return False
        names = {s.name for s in spans if s.trace_id == top.trace_id}
        return "execute_tool insights___forecast" in names and any(
            n.startswith("chat ") for n in names
        )

    top = root(collector.wait_for(complete))
    assert top is not None, "the API exported no span for the request"
    spans = collector.trace(top.trace_id)
    index = _by_id(spans)
    tenant = top.attributes["agentry.tenant_id"]

    # The API's request span is the root; the runtime call is its child.
    assert (top.service, top.kind, top.parent_id) == (API, "SERVER", "")
    assert top.name == "POST /v1/agents/{agent}/invoke"
    assert top.attributes["http.response.status_code"] == 200
    call = _one(spans, name="invoke_agent concierge", service=API)
    assert (call.kind, call.parent_id) == ("CLIENT", top.span_id)
    assert call.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert call.attributes["agentry.tenant_id"] == tenant

    # The agent's process exported its own span, a child of the runtime call.
    agent = _one(spans, kind="SERVER", parent_id=call.span_id)
    assert (agent.service, agent.name) == ("concierge", "invoke_agent concierge")
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    outbound = [s for s in spans if s.service == agent.service and s.kind == "CLIENT"]
    assert outbound
    assert all(s.parent_id == agent.span_id for s in outbound)

    # The tool gateway's span: a child of the agent's MCP call (the MCP SDK carries the trace
    # context in the message's `_meta`, SEP-414), linked to the API's /agent/mcp request span.
    tool = _one(spans, name="execute_tool insights___forecast")
    assert (tool.service, tool.kind) == (API, "INTERNAL")
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "insights___forecast"
    assert tool.attributes["agentry.tenant_id"] == tenant
    assert tool.status != 2
    mcp_call = index[tool.parent_id]
    assert mcp_call in outbound
    assert mcp_call.attributes["mcp.method.name"] == "tools/call"

    # The model gateway's span, with the GenAI attributes and token counts.
    models = [s for s in spans if s.name.startswith("chat ")]
    assert len(models) == 2  # the tool call, then the answer
    for model in models:
        a = model.attributes
        assert a["gen_ai.operation.name"] == "chat"
        assert model.name == f"chat {a['gen_ai.request.model']}"
        assert a["gen_ai.provider.name"] == a["gen_ai.system"] == "agentry.local"
        assert a["gen_ai.usage.input_tokens"] > 0
        assert a["gen_ai.usage.output_tokens"] > 0
        assert a["agentry.tenant_id"] == tenant
        chain = _ancestors(model, index)
        assert chain[0].name == "POST /agent/v1/chat/completions"
        assert chain[1] in outbound
        assert chain[-1] == top
    assert {s.trace_id for s in spans} == {top.trace_id}

    # No prompt, completion or credential on any span (AGENTRY_TRACE_CONTENT is off).
    for s in spans:
        for value in s.attributes.values():
            assert "forecast {" not in str(value), (s.name, value)
            assert "agy_" not in str(value), (s.name, value)
