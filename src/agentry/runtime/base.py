"""The runtime interface: how the platform reaches agents, whatever hosts them.

Two implementations:
- `agentcore.AgentCoreRuntime` speaks the AgentCore Runtime data-plane HTTP API
  (`POST /runtimes/{arn}/invocations?qualifier=...`), against AWS or the local emulator.
- `local.LocalRuntime` asks the local emulator for a session's process once, then calls the
  agent process's `/invocations` directly (one hop fewer on the hot path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentry.kit.errors import NotFound, ServiceUnavailable, TooManyRequests, UpstreamError

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
REQUEST_ID_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"
MIN_SESSION_ID_LEN = 33
MAX_SESSION_ID_LEN = 256


@dataclass(frozen=True, slots=True)
class RuntimeTarget:
    """Which runtime and which endpoint (qualifier) of it to call."""

    runtime_arn: str
    qualifier: str = "DEFAULT"


@dataclass(frozen=True, slots=True)
class InvokeResult:
    session_id: str
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class CodeArtifact:
    """An AgentCore `codeConfiguration`: a zip in S3 (a file under the artifacts dir locally)."""

    bucket: str
    prefix: str
    entry_point: list[str]
    runtime: str = "PYTHON_3_11"
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class RuntimeVersion:
    runtime_id: str
    runtime_arn: str
    version: str


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """What a create/update call needs besides the artifact."""

    name: str
    artifact: CodeArtifact
    environment: Mapping[str, str] = field(default_factory=dict)
    idle_timeout_s: int = 900
    max_lifetime_s: int = 28800
    header_allowlist: tuple[str, ...] = ()


class RuntimeUnavailable(UpstreamError):
    code = "runtime_unavailable"
    title = "The agent runtime session is unavailable"


class AgentFailed(UpstreamError):
    code = "agent_error"
    title = "The agent failed"


class AgentRejectedInput(AgentFailed):
    """The agent answered 4xx on purpose (the SDK's `HTTPException`): its message is for the
    caller, unlike the text of an exception it did not handle."""

    status_code = 422
    code = "agent_rejected_input"
    title = "The agent refused the input"


AGENT_FAILED_DETAIL = (
    "The agent failed while handling the request; the agent's logs have the cause."
)
_MAX_AGENT_MESSAGE = 500


def agent_error(
    status: int | None, message: str | None, extra: dict[str, Any] | None = None
) -> AgentFailed:
    """An agent's error answer as the platform's error, for every runtime and mode.

    A 4xx is the agent's deliberate answer, and its message reaches the caller. Anything else
    is a failure: its text is often a Python exception (`'NoneType' object has no attribute
    'get'`), which belongs in the agent's logs, never in the platform's answer."""
    if status is not None and 400 <= status < 500 and message:
        return AgentRejectedInput(message[:_MAX_AGENT_MESSAGE], extra=extra)
    return AgentFailed(AGENT_FAILED_DETAIL, extra=extra)


class AgentTimeout(UpstreamError):
    status_code = 504
    code = "agent_timeout"
    title = "The agent did not answer in time"


class SessionStartFailed(UpstreamError):
    code = "session_start_failed"
    title = "The agent session could not start"


class RuntimeNotFound(NotFound):
    code = "runtime_not_found"
    title = "No such agent runtime or endpoint"


class RuntimeThrottled(TooManyRequests):
    code = "runtime_throttled"
    title = "The agent runtime is throttling requests"


class RuntimeInternal(ServiceUnavailable):
    code = "runtime_internal_error"
    title = "The agent runtime failed internally"


class AgentRuntime(Protocol):
    """Data plane: invoke a session, stream its frames, stop it."""

    async def start(self) -> None: ...

    async def invoke(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> InvokeResult: ...

    def invoke_stream(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[bytes]:
        """Yield each SSE `data:` payload (bytes, without the `data: ` prefix) as it arrives."""
        ...

    async def stop_session(self, target: RuntimeTarget, session_id: str) -> None: ...

    async def aclose(self) -> None: ...


class RuntimeControl(Protocol):
    """Control plane subset: runtimes (immutable versions) and endpoints (named pointers)."""

    async def create_runtime(self, spec: RuntimeSpec) -> RuntimeVersion: ...

    async def update_runtime(self, runtime_id: str, spec: RuntimeSpec) -> RuntimeVersion: ...

    async def set_endpoint(self, runtime_id: str, name: str, version: str) -> None:
        """Create the endpoint, or point it at `version` if it exists."""
        ...

    async def get_endpoint_version(self, runtime_id: str, name: str) -> str | None: ...

    async def find_runtime(self, name: str) -> str | None:
        """The id of the runtime with this name, if one exists."""
        ...
