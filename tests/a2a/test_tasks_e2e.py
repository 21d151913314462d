"""A2A tasks as durable platform jobs, with the real `a2a-sdk` client over real HTTP against the
stack: a non-blocking send is a job that completes with its artifact, cancel, subscribe,
another tenant cannot see or cancel the task, and the A2A JSON-RPC error codes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
from a2a.client import Client, ClientConfig, create_client
from a2a.types import a2a_pb2 as pb
from a2a.utils.errors import A2AError, TaskNotCancelableError, TaskNotFoundError

from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import Stack
from tests.policy.test_hops_e2e import enforce, fresh_tenant

pytestmark = pytest.mark.e2e
S = pb.TaskState
T = TypeVar("T")


@asynccontextmanager
async def _client(
    stack: Stack, key: str, agent: str, streaming: bool = False
) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        yield await create_client(
            f"{stack.url}/a2a/{agent}",
            client_config=ClientConfig(httpx_client=http, streaming=streaming),
        )


def run(stack: Stack, key: str, agent: str, body: Callable[[Client], Awaitable[T]]) -> T:
    async def go() -> T:
        async with _client(stack, key, agent) as client:
            return await body(client)

    return asyncio.run(go())


def _send(text: str, *, immediately: bool = True) -> pb.SendMessageRequest:
    return pb.SendMessageRequest(
        message=pb.Message(
            role=pb.Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=[pb.Part(text=text)]
        ),
        configuration=pb.SendMessageConfiguration(return_immediately=immediately),
    )


async def _start(client: Client, text: str) -> pb.Task:
    answers = [r async for r in client.send_message(_send(text))]
    assert len(answers) == 1, answers
    assert answers[0].HasField("task"), answers
    return answers[0].task


async def _wait(client: Client, task_id: str, done: Callable[[pb.Task], bool]) -> pb.Task:
    deadline = time.monotonic() + 60
    while True:
        task = await client.get_task(pb.GetTaskRequest(id=task_id))
        if done(task) or time.monotonic() > deadline:
            return task
        await asyncio.sleep(0.1)


def test_a_non_blocking_send_is_a_job_that_completes_with_its_artifact(stack: Stack) -> None:
    async def body(client: Client) -> tuple[pb.Task, pb.Task]:
        task = await _start(client, "durable hello")
        final = await _wait(client, task.id, lambda t: t.status.state == S.TASK_STATE_COMPLETED)
        return task, final

    task, final = run(stack, stack.acme_key, "echo", body)
    assert task.id.startswith("job_")
    assert task.status.state in (S.TASK_STATE_SUBMITTED, S.TASK_STATE_WORKING)
    assert final.status.state == S.TASK_STATE_COMPLETED, final
    [artifact] = final.artifacts
    assert artifact.parts[0].media_type == "application/json"
    result = json.loads(artifact.parts[0].text)
    # The same job through the platform's REST API: durable, with the same result.
    with stack.client(stack.acme_key) as c:
        job = c.get(f"/v1/jobs/{task.id}").json()
    assert job["status"] == "succeeded"
    assert job["agent"] == "echo"
    assert job["result"] == result
    assert result["echo"] == "durable hello"


def test_cancel_a_running_task_and_it_is_canceled_then_not_cancelable(stack: Stack) -> None:
    async def body(client: Client) -> tuple[pb.Task, pb.Task, A2AError]:
        task = await _start(client, json.dumps({"steps": 50, "step_s": 0.2}))
        await _wait(client, task.id, lambda t: t.status.state == S.TASK_STATE_WORKING)
        cancelled = await client.cancel_task(pb.CancelTaskRequest(id=task.id))
        again = await client.get_task(pb.GetTaskRequest(id=task.id))
        try:
            await client.cancel_task(pb.CancelTaskRequest(id=task.id))
        except A2AError as exc:
            return cancelled, again, exc
        raise AssertionError("a canceled task was canceled twice")

    cancelled, again, error = run(stack, stack.acme_key, "longrun", body)
    assert cancelled.status.state == S.TASK_STATE_CANCELED
    assert again.status.state == S.TASK_STATE_CANCELED
    assert not again.artifacts
    assert isinstance(error, TaskNotCancelableError)
    with stack.client(stack.acme_key) as c:
        assert c.get(f"/v1/jobs/{cancelled.id}").json()["status"] == "cancelled"


def _artifact_of(events: list[Any]) -> Any:
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[-1] == S.TASK_STATE_COMPLETED, events
    [artifact] = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    return json.loads(artifact.parts[0].text)


def test_subscribe_and_a_streamed_send_follow_the_job_to_its_artifact(stack: Stack) -> None:
    # Long enough that the job is still running when the subscription starts (an ended task
    # cannot be subscribed to).
    work = json.dumps({"steps": 4, "step_s": 0.5})
    task = run(stack, stack.acme_key, "longrun", lambda c: _start(c, work))

    async def go() -> tuple[list[Any], list[Any]]:
        async with _client(stack, stack.acme_key, "longrun", streaming=True) as client:
            followed = [e async for e in client.subscribe(pb.SubscribeToTaskRequest(id=task.id))]
            streamed = [e async for e in client.send_message(_send(work))]
            return followed, streamed

    followed, streamed = asyncio.run(go())
    assert followed[0].HasField("task")
    assert followed[0].task.id == task.id
    working = [e for e in followed if e.HasField("status_update")]
    assert any(e.status_update.status.state == S.TASK_STATE_WORKING for e in working)
    assert _artifact_of(followed)["trail"] == [1, 2, 3, 4]
    # A streamed send that asks not to block: the job created, then followed to its end
    assert streamed[0].HasField("task")
    assert streamed[0].task.id != task.id
    assert _artifact_of(streamed)["trail"] == [1, 2, 3, 4]


def test_another_tenant_cannot_get_or_cancel_the_task_same_as_unknown(stack: Stack) -> None:
    task = run(
        stack, stack.acme_key, "longrun", lambda c: _start(c, '{"steps": 20, "step_s": 0.2}')
    )

    async def probe(client: Client) -> list[A2AError]:
        errors: list[A2AError] = []
        for call in (
            lambda: client.get_task(pb.GetTaskRequest(id=task.id)),
            lambda: client.cancel_task(pb.CancelTaskRequest(id=task.id)),
            lambda: client.get_task(pb.GetTaskRequest(id="job_doesnotexist")),
        ):
            try:
                await call()
            except A2AError as exc:
                errors.append(exc)
        return errors

    theirs, theirs_cancel, unknown = run(stack, stack.globex_key, "longrun", probe)
    for error in (theirs, theirs_cancel, unknown):
        assert isinstance(error, TaskNotFoundError)
        assert error.message == unknown.message
    # Still running for its owner; its own tenant then cancels it.
    mine = run(
        stack, stack.acme_key, "longrun", lambda c: c.cancel_task(pb.CancelTaskRequest(id=task.id))
    )
    assert mine.status.state == S.TASK_STATE_CANCELED
    # Another agent's endpoint does not reach it either.
    with pytest.raises(TaskNotFoundError):
        run(stack, stack.acme_key, "echo", lambda c: c.get_task(pb.GetTaskRequest(id=task.id)))


def _rpc(stack: Stack, key: str, method: str, params: Any) -> dict[str, Any]:
    with stack.client(key) as c:
        r = c.post(
            "/a2a/echo",
            json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params},
            headers={"A2A-Version": "1.0"},
        )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    assert answer["id"] == 7
    return answer


def test_bad_input_gets_the_a2a_json_rpc_error_codes(stack: Stack) -> None:
    key = stack.acme_key
    assert _rpc(stack, key, "GetTask", {"id": "job_nope"})["error"]["code"] == -32001
    assert _rpc(stack, key, "CancelTask", {"id": "job_nope"})["error"]["code"] == -32001
    assert _rpc(stack, key, "GetTask", {"id": 5, "historyLength": "x"})["error"]["code"] == -32602
    assert _rpc(stack, key, "GetTask", {"bogus": 1})["error"]["code"] == -32602
    assert _rpc(stack, key, "GetTask", {})["error"]["code"] == -32602
    assert _rpc(stack, key, "ListTasks", {"pageSize": 1000})["error"]["code"] == -32602
    assert _rpc(stack, key, "NoSuchMethod", {})["error"]["code"] == -32601
    # A task id of the right kind that finished: no resubscribing.
    task = run(stack, key, "echo", lambda c: _start(c, "{}"))
    done = run(
        stack,
        key,
        "echo",
        lambda c: _wait(c, task.id, lambda t: t.status.state == S.TASK_STATE_COMPLETED),
    )
    assert done.status.state == S.TASK_STATE_COMPLETED
    assert _rpc(stack, key, "CancelTask", {"id": task.id})["error"]["code"] == -32002
    listed = _rpc(stack, key, "ListTasks", {"pageSize": 100, "includeArtifacts": True})["result"]
    assert task.id in {t["id"] for t in listed["tasks"]}
    with stack.client(stack.globex_key) as c:  # another tenant's list does not have it
        r = c.post(
            "/a2a/echo",
            json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"pageSize": 100}},
            headers={"A2A-Version": "1.0"},
        )
    assert task.id not in {t["id"] for t in r.json()["result"].get("tasks", [])}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.close()


def test_a_push_notification_url_is_the_jobs_signed_webhook(
    stack: Stack, receiver: Receiver
) -> None:
    request = _send("pushed")
    request.configuration.task_push_notification_config.url = f"{receiver.url}/a2a-push"
    task = run(stack, stack.acme_key, "echo", lambda c: _first_task(c, request))
    secret = task.metadata["webhook_secret"]
    assert secret.startswith("whsec_")
    receiver.learn(task.id, secret)
    [hit] = receiver.wait_for(
        lambda h: h.path == "/a2a-push" and h.json["data"]["job_id"] == task.id
    )
    assert hit.verified
    assert hit.json["type"] == "job.succeeded"
    # The secret is shown once: reading the task again does not reveal it.
    again = run(stack, stack.acme_key, "echo", lambda c: c.get_task(pb.GetTaskRequest(id=task.id)))
    assert "webhook_secret" not in again.metadata
    bad = _send("x")
    bad.configuration.task_push_notification_config.url = "http://169.254.169.254/latest"
    with pytest.raises(A2AError) as caught:
        run(stack, stack.acme_key, "echo", lambda c: _first_task(c, bad))
    assert (caught.value.data or {}).get("code") == "webhook_url_refused", caught.value.data


async def _first_task(client: Client, request: pb.SendMessageRequest) -> pb.Task:
    [answer] = [r async for r in client.send_message(request)]
    return answer.task


def test_a_job_the_platform_refuses_is_an_a2a_error_with_its_code(stack: Stack) -> None:
    _, key = fresh_tenant(stack)
    enforce(
        stack,
        key,
        "permit(principal, action, resource);\nforbid(principal, action, resource) when "
        '{ context.mode == "job" };',
    )
    with pytest.raises(A2AError) as caught:
        run(stack, key, "echo", lambda c: _start(c, "no jobs for you"))
    assert (caught.value.data or {}).get("code") == "policy_denied", caught.value.data
    with stack.client(key) as c:
        assert c.get("/v1/jobs").json()["items"] == []  # nothing was created
