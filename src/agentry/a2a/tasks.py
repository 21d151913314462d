"""A2A tasks are the platform's durable jobs (the a2a-sdk's request handler, extended).

- `SendMessage` with `configuration.returnImmediately`, or to an agent that cannot answer
  synchronously (its modes lack `sync`), creates a job (the same admission, policy and tier
  checks as `POST /v1/agents/{agent}/jobs`) and answers with the task: its id is the job id.
  `taskPushNotificationConfig.url` becomes the job's `webhook_url` (the platform's signed job
  event, not A2A's payload; the `whsec_` secret is in the task's metadata, once).
- `GetTask` reads the job; `CancelTask` cancels it; `SubscribeToTask` (and a streamed send
  that became a job) follows the job's events until it ends. `ListTasks` lists the caller's
  jobs of this agent.
- Status: queued → SUBMITTED, running → WORKING, succeeded → COMPLETED (the result is the
  artifact), failed and timed_out → FAILED, cancelled → CANCELED.
- Another tenant's task, or another agent's, is the same TaskNotFoundError (-32001) as an
  unknown id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from a2a.helpers.proto_helpers import get_message_text
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.types import a2a_pb2 as pb
from a2a.utils.errors import (
    A2AError,
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from agentry.identity.auth import MissingScope
from agentry.identity.principal import Principal, Scope
from agentry.jobs import service as jobs
from agentry.jobs.repository import JobRepository
from agentry.jobs.schemas import JobCreate
from agentry.kit.errors import AgentryError
from agentry.models import Job
from agentry.models.job import TERMINAL, JobStatus
from agentry.platform import Platform
from agentry.policy.gate import InvocationGate
from agentry.quotas import QuotaService
from agentry.webhooks.secretbox import SecretBox

S = pb.TaskState
STATES = {
    JobStatus.queued.value: S.TASK_STATE_SUBMITTED,
    JobStatus.running.value: S.TASK_STATE_WORKING,
    JobStatus.succeeded.value: S.TASK_STATE_COMPLETED,
    JobStatus.failed.value: S.TASK_STATE_FAILED,
    JobStatus.timed_out.value: S.TASK_STATE_FAILED,
    JobStatus.cancelled.value: S.TASK_STATE_CANCELED,
}
JOB_STATUS = {
    S.TASK_STATE_SUBMITTED: JobStatus.queued.value,
    S.TASK_STATE_WORKING: JobStatus.running.value,
    S.TASK_STATE_COMPLETED: JobStatus.succeeded.value,
    S.TASK_STATE_FAILED: JobStatus.failed.value,
    S.TASK_STATE_CANCELED: JobStatus.cancelled.value,
}


def _agent_message(text: str, task_id: str, context_id: str) -> pb.Message:
    return pb.Message(
        role=pb.Role.ROLE_AGENT,
        message_id=f"{task_id}-status",
        task_id=task_id,
        context_id=context_id,
        parts=[pb.Part(text=text)],
    )


def _status(job: Job) -> pb.TaskStatus:
    status = pb.TaskStatus(state=STATES.get(job.status, S.TASK_STATE_UNSPECIFIED))
    at = job.finished_at or job.started_at or job.created_at
    status.timestamp.FromDatetime(at)
    if job.error_code:
        text = f"{job.error_code}: {job.error_message}" if job.error_message else job.error_code
        status.message.CopyFrom(_agent_message(text, job.id, job.session_id))
    elif job.progress and job.progress.get("message"):
        status.message.CopyFrom(
            _agent_message(str(job.progress["message"]), job.id, job.session_id)
        )
    return status


def artifact(job: Job) -> pb.Artifact:
    return pb.Artifact(
        artifact_id=f"{job.id}-result",
        name="result",
        parts=[pb.Part(text=json.dumps(job.result), media_type="application/json")],
    )


def task_of(job: Job) -> pb.Task:
    task = pb.Task(id=job.id, context_id=job.session_id, status=_status(job))
    if job.status == JobStatus.succeeded.value:
        task.artifacts.append(artifact(job))
    task.metadata.update({"job_id": job.id, "agent": job.agent_name, "version": job.version_number})
    if job.progress:
        task.metadata.update({"progress": job.progress})
    return task


class PlatformRefused(A2AError):
    """The platform refused or failed the call; `data` is its problem+json."""

    message = "The platform refused the call"


def refused(exc: AgentryError) -> PlatformRefused:
    return PlatformRefused(
        exc.detail, data={"code": exc.code, "status": exc.status_code, **exc.extra}
    )


def _input(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return {"prompt": text}
    return value if isinstance(value, dict) else {"prompt": text}


def message_input(message: pb.Message) -> tuple[str, Any]:
    """The message's text and the agent input it stands for (a JSON object, or a prompt)."""
    text = get_message_text(message)
    return text, _input(text)


@dataclass
class JobTasks:
    """The platform parts a job-backed task needs."""

    platform: Platform
    quotas: QuotaService
    box: SecretBox
    gate: InvocationGate | None = None


def _caller(context: ServerCallContext) -> tuple[Principal, str]:
    principal: Principal = context.state["principal"]
    if not principal.has(Scope.jobs):
        raise refused(MissingScope("A task needs the 'jobs' scope."))
    return principal, str(context.state["agent"])


class PlatformRequestHandler(DefaultRequestHandler):
    """The sdk's handler for messages answered at once; jobs for tasks (see the module)."""

    def __init__(self, jobs_backend: JobTasks, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jobs = jobs_backend

    def _as_job(self, params: pb.SendMessageRequest, context: ServerCallContext) -> bool:
        modes: frozenset[str] = context.state.get("modes") or frozenset()
        return bool(params.configuration.return_immediately) or bool(modes and "sync" not in modes)

    async def _job(self, job_id: str, context: ServerCallContext) -> Job:
        principal, agent = _caller(context)
        if not job_id:
            raise InvalidParamsError(message="A task id is required.")
        async with self._jobs.platform.sessionmaker() as session:
            found = await JobRepository(session, principal.tenant_id).get(job_id)
        if found is None or found.agent_name != agent:
            raise TaskNotFoundError
        return found

    async def _create(self, params: pb.SendMessageRequest, context: ServerCallContext) -> pb.Task:
        principal, agent = _caller(context)
        if params.message.task_id:
            raise UnsupportedOperationError(message="A job-backed task takes no further messages.")
        text, body_input = message_input(params.message)
        push = params.configuration.task_push_notification_config
        try:
            body = JobCreate(
                input=body_input,
                session_id=params.message.context_id or None,
                webhook_url=push.url or None,
            )
        except ValueError as exc:
            raise InvalidParamsError(message=str(exc)[:500]) from exc
        p = self._jobs.platform
        try:
            await self._jobs.quotas.admit(principal, len(text.encode()))
            created = await jobs.create_job(
                settings=p.settings,
                routes=p.routes,
                box=self._jobs.box,
                principal=principal,
                agent_name=agent,
                body=body,
                idempotency_key=None,
                gate=self._jobs.gate,
            )
            async with p.sessionmaker() as session:
                created = await jobs.commit_created(p.inserts, created, session)
        except AgentryError as exc:
            raise refused(exc) from exc
        task = task_of(created.job)
        if created.webhook_secret:
            task.metadata.update({"webhook_secret": created.webhook_secret})
        return task

    async def on_message_send(
        self, params: pb.SendMessageRequest, context: ServerCallContext
    ) -> pb.Message | pb.Task:
        if self._as_job(params, context):
            return await self._create(params, context)
        answer: pb.Message | pb.Task = await super().on_message_send(params, context)
        return answer

    async def on_message_send_stream(
        self, params: pb.SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        if not self._as_job(params, context):
            async for event in super().on_message_send_stream(params, context):
                yield event
            return
        task = await self._create(params, context)
        yield task
        async for event in self._follow(task.id, context):
            yield event

    async def on_get_task(self, params: pb.GetTaskRequest, context: ServerCallContext) -> pb.Task:
        return task_of(await self._job(params.id, context))

    async def on_cancel_task(
        self, params: pb.CancelTaskRequest, context: ServerCallContext
    ) -> pb.Task:
        job = await self._job(params.id, context)
        principal, _ = _caller(context)
        async with self._jobs.platform.sessionmaker() as session:
            try:
                done = await jobs.cancel_job(
                    session, principal.tenant_id, job.id, prices=self._jobs.platform.prices
                )
            except jobs.JobFinished as exc:
                raise TaskNotCancelableError(message=exc.detail) from exc
            await session.commit()
            return task_of(done)

    async def on_list_tasks(
        self, params: pb.ListTasksRequest, context: ServerCallContext
    ) -> pb.ListTasksResponse:
        principal, agent = _caller(context)
        size = params.page_size if params.HasField("page_size") else 20
        if not 1 <= size <= 100:
            raise InvalidParamsError(message="page_size is between 1 and 100.")
        status = JOB_STATUS.get(params.status) if params.status else None
        async with self._jobs.platform.sessionmaker() as session:
            try:
                page = await jobs.list_jobs(
                    session,
                    principal.tenant_id,
                    status=status,
                    agent=agent,
                    cursor=params.page_token or None,
                    limit=size,
                )
            except AgentryError as exc:
                raise InvalidParamsError(message=exc.detail) from exc
            found = [
                await JobRepository(session, principal.tenant_id).get(j.id) for j in page.items
            ]
        tasks = [task_of(j) for j in found if j is not None]
        if not params.include_artifacts:
            for t in tasks:
                t.ClearField("artifacts")
        return pb.ListTasksResponse(
            tasks=tasks, next_page_token=page.next_cursor or "", page_size=size
        )

    async def on_subscribe_to_task(
        self, params: pb.SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event, None]:
        job = await self._job(params.id, context)
        if job.status in TERMINAL:
            raise UnsupportedOperationError(
                message=f"Task {job.id} is in a terminal state ({job.status})."
            )
        yield task_of(job)
        async for event in self._follow(job.id, context):
            yield event

    async def _follow(self, job_id: str, context: ServerCallContext) -> AsyncGenerator[Event, None]:
        """The job's events as A2A updates, until it ends (polled like /v1/jobs/{id}/events)."""
        principal, _ = _caller(context)
        p = self._jobs.platform
        after, last = 0, None
        while True:
            async with p.sessionmaker() as session:
                repo = JobRepository(session, principal.tenant_id)
                events = await repo.events_after(job_id, after)
                job = await repo.get(job_id) if events else None
            for event in events:
                after = event.id
            if job is not None:
                status = _status(job)
                if job.status in TERMINAL:
                    if job.status == JobStatus.succeeded.value:
                        yield pb.TaskArtifactUpdateEvent(
                            task_id=job.id,
                            context_id=job.session_id,
                            artifact=artifact(job),
                            last_chunk=True,
                        )
                    yield pb.TaskStatusUpdateEvent(
                        task_id=job.id, context_id=job.session_id, status=status
                    )
                    return
                key = (status.state, status.message.SerializeToString())
                if key != last:
                    last = key
                    yield pb.TaskStatusUpdateEvent(
                        task_id=job.id, context_id=job.session_id, status=status
                    )
            await asyncio.sleep(p.settings.job_poll_interval_s)
