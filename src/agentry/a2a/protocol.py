"""The A2A protocol for tenants, on the a2a-sdk: an agent card per agent and version, and
JSON-RPC `SendMessage` / `SendStreamingMessage` that invoke the agent through the platform.

`GET /a2a/{agent}/.well-known/agent-card.json` and `POST /a2a/{agent}` take the same
credentials as the rest of the API (a tenant API key or access token with `invoke`); the call
is an ordinary invocation of the tenant (quotas, tier, policy, entitlement, metering). A text
part that is a JSON object is the agent's input; any other text becomes `{"prompt": text}`.
The answer is one agent message whose text is the agent's output as JSON. A refusal is an
A2A error whose `data` is the platform's problem (with its stable `code`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from a2a.helpers.proto_helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes.common import DefaultServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import a2a_pb2 as pb
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT
from a2a.utils.errors import A2AError
from starlette.requests import Request

from agentry.a2a.tasks import (
    JobTasks,
    PlatformRequestHandler,
    message_input,
    refused,
)
from agentry.identity.principal import Principal
from agentry.invocations.schemas import InvokeRequest
from agentry.invocations.service import InvocationService
from agentry.kit.context import request_id_var
from agentry.kit.errors import AgentryError
from agentry.registry.routing import Route


def agent_card(route: Route, base_url: str) -> pb.AgentCard:
    url = f"{base_url.rstrip('/')}/a2a/{route.agent_name}"
    return pb.AgentCard(
        name=route.agent_name,
        description=route.description or route.agent_name,
        version=str(route.version_number),
        supported_interfaces=[
            pb.AgentInterface(
                url=url, protocol_binding="JSONRPC", protocol_version=PROTOCOL_VERSION_CURRENT
            )
        ],
        provider=pb.AgentProvider(organization="Agentry", url=base_url),
        capabilities=pb.AgentCapabilities(streaming=True),
        security_schemes={
            "bearer": pb.SecurityScheme(
                http_auth_security_scheme=pb.HTTPAuthSecurityScheme(
                    scheme="bearer",
                    description="A tenant API key (agy_...) or an Entra ID access token.",
                )
            )
        },
        security_requirements=[pb.SecurityRequirement(schemes={"bearer": pb.StringList()})],
        default_input_modes=["application/json", "text/plain"],
        default_output_modes=["application/json"],
        skills=[
            pb.AgentSkill(
                id=route.agent_name,
                name=route.agent_name,
                description=route.description or route.agent_name,
                tags=sorted(route.modes),
            )
        ],
    )


def card_dict(route: Route, base_url: str) -> dict[str, Any]:
    found: dict[str, Any] = agent_card_to_dict(agent_card(route, base_url))
    return found


class PlatformExecutor(AgentExecutor):
    """Runs one message as one sync invocation of the agent for the calling tenant."""

    def __init__(self, invocations: InvocationService) -> None:
        self._invocations = invocations

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        state = context.call_context.state
        principal: Principal = state["principal"]
        agent: str = state["agent"]
        text, payload = message_input(context.message) if context.message else ("", {})
        body = InvokeRequest(input=payload)
        try:
            reply = await self._invocations.handle_invoke(
                principal,
                agent,
                body,
                body_size=len(text.encode()),
                idempotency_key=None,
                request_id=request_id_var.get(),
            )
        except AgentryError as exc:
            raise refused(exc) from exc
        result = orjson.loads(reply.body)
        message = new_text_message(
            json.dumps(result["output"]),
            media_type="application/json",
            context_id=context.context_id,
        )
        message.metadata.update(
            {"invocation_id": result["invocation_id"], "agent": agent, "version": result["version"]}
        )
        await event_queue.enqueue_event(message)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise A2AError("A message answered at once has no task to cancel.")


class _ContextBuilder(DefaultServerCallContextBuilder):
    """Carries the authenticated principal and the agent into the executor."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state["principal"] = request.state.principal
        context.state["agent"] = request.path_params["agent"]
        context.state["modes"] = getattr(request.state, "a2a_modes", frozenset())
        headers = context.state.get("headers") or {}
        # The SDK reads A2A-Version from here; the credential never travels further.
        context.state["headers"] = {
            k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")
        }
        return context


class A2AServer:
    """One JSON-RPC dispatcher per (agent, version): the card the handler holds names it."""

    def __init__(self, invocations: InvocationService, base_url: str, jobs: JobTasks) -> None:
        self._executor = PlatformExecutor(invocations)
        self._jobs = jobs
        self._base_url = base_url
        self._dispatchers: dict[tuple[str, int], JsonRpcDispatcher] = {}
        self._builder = _ContextBuilder()

    def dispatcher(self, route: Route) -> JsonRpcDispatcher:
        key = (route.agent_name, route.version_number)
        found = self._dispatchers.get(key)
        if found is None:
            if len(self._dispatchers) > 1000:
                self._dispatchers.clear()
            handler = PlatformRequestHandler(
                self._jobs,
                agent_executor=self._executor,
                task_store=InMemoryTaskStore(),
                agent_card=agent_card(route, self._base_url),
            )
            found = JsonRpcDispatcher(request_handler=handler, context_builder=self._builder)
            self._dispatchers[key] = found
        return found
