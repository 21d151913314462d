"""AgentCore clients: the data plane over one aiohttp session, the control plane over boto3.

Both work against AWS and against the local emulator (`agentry runtime serve`).

Error mapping (x-amzn-ErrorType and message → base.py errors):
    RuntimeClientError "Received error (N) from runtime: <msg>"  → agent_error(N, <msg>):
        AgentRejectedInput(<msg>) for a 4xx, else AgentFailed (the text stays in agent logs)
    RuntimeClientError "Runtime session terminated..."          → RuntimeUnavailable
    RuntimeClientError "Runtime initialization..."              → SessionStartFailed
    RuntimeClientError (anything else)                          → AgentFailed
    ResourceNotFoundException                                   → RuntimeNotFound
    ThrottlingException, ServiceQuotaExceededException          → RuntimeThrottled
    RetryableConflictException                                  → RuntimeThrottled
    ValidationException, AccessDeniedException (4xx)            → RuntimeInternal (our bug)
    any 5xx                                                     → RuntimeInternal
    connection refused / reset / dropped                        → RuntimeUnavailable
    asyncio timeout                                             → AgentTimeout
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from agentry.config import Settings, get_settings
from agentry.kit import tracing
from agentry.kit.errors import AgentryError, BadRequest
from agentry.kit.logging import get_logger
from agentry.runtime.base import (
    REQUEST_ID_HEADER,
    SESSION_HEADER,
    AgentTimeout,
    InvokeResult,
    RuntimeInternal,
    RuntimeNotFound,
    RuntimeSpec,
    RuntimeTarget,
    RuntimeThrottled,
    RuntimeUnavailable,
    RuntimeVersion,
    SessionStartFailed,
    agent_error,
)
from agentry.runtime.sse import connection_error, relay_frames

log = get_logger("agentry.runtime.agentcore")

SIGNING_NAME = "bedrock-agentcore"
_AGENT_ERROR_RE = re.compile(r"^Received error \((\d{3})\) from runtime: ?(.*)$", re.DOTALL)
_THROTTLED = frozenset(
    {"ThrottlingException", "ServiceQuotaExceededException", "RetryableConflictException"}
)


def map_error(status: int, error_type: str, message: str) -> AgentryError:
    """An AgentCore error response as one of the runtime errors of base.py."""
    extra = {"runtime_error_type": error_type, "runtime_status": status}
    if error_type == "RuntimeClientError":
        match = _AGENT_ERROR_RE.match(message)
        if match:
            extra["agent_status"] = int(match.group(1))
            return agent_error(int(match.group(1)), match.group(2) or None, extra=extra)
        if message.startswith("Runtime session terminated"):
            return RuntimeUnavailable(message, extra=extra)
        if message.startswith("Runtime initialization"):
            return SessionStartFailed(message, extra=extra)
        return agent_error(None, message or None, extra=extra)
    if error_type == "ResourceNotFoundException" or (status == 404 and not error_type):
        return RuntimeNotFound(message or None, extra=extra)
    if error_type in _THROTTLED or status == 429:
        return RuntimeThrottled(message or None, extra=extra)
    return RuntimeInternal(f"{error_type or status}: {message}", extra=extra)


async def error_from_response(resp: aiohttp.ClientResponse) -> AgentryError:
    body = await resp.read()
    error_type = resp.headers.get("x-amzn-ErrorType", "").split(":")[0]
    message = ""
    try:
        parsed = json.loads(body)
    except ValueError:
        message = body.decode("utf-8", "replace")[:2000]
    else:
        if isinstance(parsed, dict):
            message = str(parsed.get("message") or parsed.get("Message") or "")
            if not error_type:
                error_type = str(parsed.get("__type") or parsed.get("code") or "").split("#")[-1]
    return map_error(resp.status, error_type, message)


class _Signer:
    """SigV4 for the data plane, with botocore's refreshable credentials."""

    def __init__(self, region: str) -> None:
        import boto3  # type: ignore[import-untyped]

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise RuntimeError("runtime_sign_requests is on but no AWS credentials were found")
        self._credentials = credentials
        self._region = region

    def headers(
        self, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        frozen = self._credentials.get_frozen_credentials()
        SigV4Auth(frozen, SIGNING_NAME, self._region).add_auth(request)
        return dict(request.headers.items())


class AgentCoreRuntime:
    """`AgentRuntime` over the AgentCore data-plane HTTP API (AWS or the local emulator)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        sign_requests: bool | None = None,
        pool_size: int = 256,
    ) -> None:
        self.settings = settings or get_settings()
        self.base_url = (base_url or self.settings.runtime_url).rstrip("/")
        sign = self.settings.runtime_sign_requests if sign_requests is None else sign_requests
        self._signer = _Signer(self.settings.aws_region) if sign else None
        self._pool_size = pool_size
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=30)
            self._http = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            await self.start()
        assert self._http is not None
        return self._http

    def _url(self, target: RuntimeTarget, action: str) -> str:
        arn = quote(target.runtime_arn, safe="")
        qualifier = quote(target.qualifier, safe="")
        return f"{self.base_url}/runtimes/{arn}/{action}?qualifier={qualifier}"

    def _headers(
        self,
        method: str,
        url: str,
        body: bytes,
        session_id: str,
        *,
        accept: str,
        request_id: str | None,
        extra: Mapping[str, str] | None,
    ) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": accept, SESSION_HEADER: session_id}
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        if extra:
            headers.update(extra)
        tracing.inject(headers)  # InvokeAgentRuntime passes both on to the container
        xray = tracing.xray_trace_id(headers)
        if xray is not None:
            headers["X-Amzn-Trace-Id"] = xray
        if self._signer is not None:
            headers = self._signer.headers(method, url, body, headers)
        return headers

    async def _post(
        self,
        target: RuntimeTarget,
        action: str,
        session_id: str,
        payload: bytes,
        *,
        accept: str,
        request_id: str | None,
        timeout: float | None,
        headers: Mapping[str, str] | None,
    ) -> aiohttp.ClientResponse:
        http = await self._client()
        url = self._url(target, action)
        sent = self._headers(
            "POST", url, payload, session_id, accept=accept, request_id=request_id, extra=headers
        )
        try:
            resp = await http.post(
                URL(url, encoded=True),  # keep the signed path byte-for-byte
                data=payload,
                headers=sent,
                timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=10),
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise connection_error(exc) from exc
        except TimeoutError as exc:
            raise AgentTimeout(f"no answer within {timeout}s") from exc
        except aiohttp.ClientError as exc:
            raise connection_error(exc) from exc
        if resp.status >= 300:
            try:
                error = await error_from_response(resp)
            except aiohttp.ClientError as exc:
                raise connection_error(exc) from exc
            finally:
                resp.release()
            raise error
        return resp

    async def invoke(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        try:
            async with asyncio.timeout(timeout):
                resp = await self._post(
                    target,
                    "invocations",
                    session_id,
                    payload,
                    accept="application/json",
                    request_id=request_id,
                    timeout=None,
                    headers=headers,
                )
                try:
                    body = await resp.read()
                except aiohttp.ClientError as exc:
                    raise connection_error(exc) from exc
                finally:
                    resp.release()
        except TimeoutError as exc:
            raise AgentTimeout(f"no answer within {timeout:g}s") from exc
        return InvokeResult(
            session_id=resp.headers.get(SESSION_HEADER, session_id),
            content_type=resp.headers.get("Content-Type", "application/json"),
            body=body,
        )

    async def invoke_stream(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[bytes]:
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                resp = await self._post(
                    target,
                    "invocations",
                    session_id,
                    payload,
                    accept="text/event-stream",
                    request_id=request_id,
                    timeout=None,
                    headers=headers,
                )
        except TimeoutError as exc:
            raise AgentTimeout(f"no answer within {timeout:g}s") from exc
        async for frame in relay_frames(resp, deadline, timeout):
            yield frame

    async def stop_session(self, target: RuntimeTarget, session_id: str) -> None:
        try:
            resp = await self._post(
                target,
                "stopruntimesession",
                session_id,
                b"{}",
                accept="application/json",
                request_id=str(uuid.uuid4()),
                timeout=30,
                headers=None,
            )
        except RuntimeNotFound:
            return  # already gone
        resp.release()


def _control_error(exc: Exception) -> AgentryError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", ""))
        if code == "ValidationException":
            return BadRequest(message)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        return map_error(status, code, message)
    return RuntimeUnavailable(f"control plane unreachable ({type(exc).__name__})")


class AgentCoreControl:
    """`RuntimeControl` over the real boto3 `bedrock-agentcore-control` client."""

    def __init__(self, settings: Settings | None = None, *, client: Any = None) -> None:
        self.settings = settings or get_settings()
        self._client = client if client is not None else self._make_client()

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.Session()
        kwargs: dict[str, Any] = {}
        if session.get_credentials() is None:
            # The emulator ignores auth; botocore still wants something to sign with.
            kwargs.update(aws_access_key_id="agentry-local", aws_secret_access_key="agentry-local")
        return session.client(
            "bedrock-agentcore-control",
            endpoint_url=self.settings.effective_control_url or None,
            region_name=self.settings.aws_region,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
            **kwargs,
        )

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await asyncio.to_thread(
                getattr(self._client, operation), **params
            )
        except Exception as exc:
            raise _control_error(exc) from exc
        return result

    def _runtime_params(self, spec: RuntimeSpec) -> dict[str, Any]:
        artifact = spec.artifact
        s3: dict[str, str] = {"bucket": artifact.bucket, "prefix": artifact.prefix}
        if artifact.version_id:
            s3["versionId"] = artifact.version_id
        params: dict[str, Any] = {
            "agentRuntimeArtifact": {
                "codeConfiguration": {
                    "code": {"s3": s3},
                    "runtime": artifact.runtime,
                    "entryPoint": list(artifact.entry_point),
                }
            },
            "roleArn": self.settings.runtime_role_arn,
            "networkConfiguration": {"networkMode": "PUBLIC"},
            "lifecycleConfiguration": {
                "idleRuntimeSessionTimeout": spec.idle_timeout_s,
                "maxLifetime": spec.max_lifetime_s,
            },
            "environmentVariables": dict(spec.environment),
        }
        if spec.header_allowlist:
            params["requestHeaderConfiguration"] = {
                "requestHeaderAllowlist": list(spec.header_allowlist)
            }
        return params

    async def create_runtime(self, spec: RuntimeSpec) -> RuntimeVersion:
        out = await self._call(
            "create_agent_runtime", agentRuntimeName=spec.name, **self._runtime_params(spec)
        )
        log.info("runtime.control.created", runtime_id=out["agentRuntimeId"])
        return RuntimeVersion(
            out["agentRuntimeId"], out["agentRuntimeArn"], out["agentRuntimeVersion"]
        )

    async def update_runtime(self, runtime_id: str, spec: RuntimeSpec) -> RuntimeVersion:
        out = await self._call(
            "update_agent_runtime", agentRuntimeId=runtime_id, **self._runtime_params(spec)
        )
        log.info(
            "runtime.control.updated", runtime_id=runtime_id, version=out["agentRuntimeVersion"]
        )
        return RuntimeVersion(
            out["agentRuntimeId"], out["agentRuntimeArn"], out["agentRuntimeVersion"]
        )

    async def set_endpoint(self, runtime_id: str, name: str, version: str) -> None:
        if await self.get_endpoint_version(runtime_id, name) is None:
            await self._call(
                "create_agent_runtime_endpoint",
                agentRuntimeId=runtime_id,
                name=name,
                agentRuntimeVersion=version,
            )
        else:
            await self._call(
                "update_agent_runtime_endpoint",
                agentRuntimeId=runtime_id,
                endpointName=name,
                agentRuntimeVersion=version,
            )
        log.info("runtime.control.endpoint_set", runtime_id=runtime_id, version=version)

    async def find_runtime(self, name: str) -> str | None:
        """The id of the runtime named `name` (ListAgentRuntimes, every page), if any."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"maxResults": 100}
            if token:
                params["nextToken"] = token
            out = await self._call("list_agent_runtimes", **params)
            for item in out.get("agentRuntimes", []):
                if item.get("agentRuntimeName") == name:
                    return str(item["agentRuntimeId"])
            token = out.get("nextToken")
            if not token:
                return None

    async def get_endpoint_version(self, runtime_id: str, name: str) -> str | None:
        try:
            out = await self._call(
                "get_agent_runtime_endpoint", agentRuntimeId=runtime_id, endpointName=name
            )
        except RuntimeNotFound:
            return None
        version = out.get("targetVersion") or out.get("liveVersion")
        return str(version) if version else None
