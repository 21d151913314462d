"""The A2A protocol with the real `a2a-sdk` client over real HTTP against the stack: the card,
a message and its answer (plain and streaming), the researcher's delegation behind it, and
refusals as A2A errors carrying the platform's code."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.types import a2a_pb2 as pb
from a2a.utils.errors import A2AError

from agentry.testing.stack import Stack
from tests.policy.test_hops_e2e import enforce, fresh_tenant

pytestmark = pytest.mark.e2e


async def _ask(stack: Stack, key: str, agent: str, text: str, *, streaming: bool) -> list[Any]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        client = await create_client(
            f"{stack.url}/a2a/{agent}",
            client_config=ClientConfig(httpx_client=http, streaming=streaming),
        )
        request = pb.SendMessageRequest(
            message=pb.Message(
                role=pb.Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=[pb.Part(text=text)]
            )
        )
        return [response async for response in client.send_message(request)]


def ask(stack: Stack, key: str, agent: str, text: str, *, streaming: bool = False) -> Any:
    responses = asyncio.run(_ask(stack, key, agent, text, streaming=streaming))
    messages = [r.message for r in responses if r.HasField("message")]
    assert len(messages) == 1, responses
    return messages[0]


def test_the_card_names_the_agent_its_version_and_the_endpoint(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        card = c.get("/a2a/echo/.well-known/agent-card.json").json()
        assert c.get("/a2a/nope/.well-known/agent-card.json").status_code == 404
    with stack.client() as c:
        assert c.get("/a2a/echo/.well-known/agent-card.json").status_code == 401
    assert card["name"] == "echo"
    assert card["supportedInterfaces"][0]["url"] == f"{stack.url}/a2a/echo"
    assert card["supportedInterfaces"][0]["protocolBinding"] == "JSONRPC"
    assert "bearer" in card["securitySchemes"]
    assert card["skills"][0]["id"] == "echo"


@pytest.mark.parametrize("streaming", [False, True])
def test_an_a2a_client_sends_a_message_and_gets_the_answer(stack: Stack, streaming: bool) -> None:
    message = ask(stack, stack.acme_key, "echo", "hello over a2a", streaming=streaming)
    assert message.role == pb.Role.ROLE_AGENT
    output = json.loads(message.parts[0].text)
    assert output["echo"] == "hello over a2a"
    assert message.metadata["invocation_id"].startswith("inv_")


def test_a2a_reaches_an_agent_that_delegates(stack: Stack) -> None:
    _, key = fresh_tenant(stack)
    message = ask(stack, key, "researcher", json.dumps({"topic": "protocols"}))
    output = json.loads(message.parts[0].text)
    assert output["delegated"]["output"]["summary"].startswith("Notes on protocols")
    with stack.client(key) as c:
        lines = c.get("/v1/usage", params={"group_by": "agent"}).json()["lines"]
    assert {"researcher", "summariser"} <= {line["key"] for line in lines}


def test_a_refusal_is_an_a2a_error_with_the_platforms_code(stack: Stack) -> None:
    _, key = fresh_tenant(stack)
    enforce(
        stack,
        key,
        "permit(principal, action, resource);\nforbid(principal, action, resource == "
        'Agentry::Agent::"echo");',
    )
    with pytest.raises(A2AError) as caught:
        ask(stack, key, "echo", "hi")
    assert "denied" in caught.value.message
    assert (caught.value.data or {}).get("code") == "policy_denied", caught.value.data
