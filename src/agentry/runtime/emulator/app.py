"""The local AgentCore-compatible runtime: an ASGI app speaking the AgentCore HTTP APIs.

Control plane (subset of bedrock-agentcore-control, rest-json):
    PUT  /runtimes/                                   CreateAgentRuntime (202)
    POST /runtimes/                                   ListAgentRuntimes
    PUT  /runtimes/{id}/                              UpdateAgentRuntime (202, new version)
    GET  /runtimes/{id}/                              GetAgentRuntime (?version=)
    POST /runtimes/{id}/versions/                     ListAgentRuntimeVersions
    PUT  /runtimes/{id}/runtime-endpoints/            CreateAgentRuntimeEndpoint (202)
    PUT  /runtimes/{id}/runtime-endpoints/{name}/     UpdateAgentRuntimeEndpoint (202)
    GET  /runtimes/{id}/runtime-endpoints/{name}/     GetAgentRuntimeEndpoint
Data plane (bedrock-agentcore):
    POST /runtimes/{arn}/invocations?qualifier=       InvokeAgentRuntime (streams through)
    POST /runtimes/{arn}/stopruntimesession           StopRuntimeSession
Local-only extension (not AgentCore), used by LocalRuntime and tests:
    POST /_local/sessions   {runtimeArn, qualifier, sessionId} -> {sessionId, url, version, pid}
    POST /_local/touch      {sessions: [[runtimeArn, sessionId], ...]} -> {touched}
    GET  /_local/sessions   -> {sessions: [...]}
    GET  /ping, /healthz    -> {status: "Healthy", pid}

Errors carry `x-amzn-ErrorType: <Name>` and `{"message": ...}`, as botocore expects.
RuntimeClientError (424) messages start with a stable prefix so clients can tell causes apart:
    "Received error (<status>) from runtime: <agent error>"   the agent answered non-2xx
    "Runtime session terminated: ..."                         the session process died or
                                                              dropped the connection
    "Runtime initialization time exceeded: ..."               no healthy /ping in time
    "Runtime initialization failed: ..."                      the process exited on start
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import aiohttp
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentry.config import Settings, get_settings
from agentry.kit.logging import get_logger
from agentry.runtime.base import (
    MAX_SESSION_ID_LEN,
    MIN_SESSION_ID_LEN,
    REQUEST_ID_HEADER,
    SESSION_HEADER,
)
from agentry.runtime.emulator.sessions import (
    Session,
    SessionManager,
    SessionSpec,
    SessionStartError,
)
from agentry.runtime.emulator.store import (
    DEFAULT_ENDPOINT,
    ControlStore,
    RuntimeRecord,
    StoreError,
    VersionRecord,
    ZipSlipError,
    not_found,
    page,
    runtime_id_from_arn,
    validation,
)

log = get_logger("agentry.runtime.emulator")

CUSTOM_HEADER_PREFIX = "x-amzn-bedrock-agentcore-runtime-custom-"
_PASSTHROUGH_HEADERS = (
    "content-type",
    "accept",
    "traceparent",
    "tracestate",
    "baggage",
    "x-amzn-trace-id",
    "mcp-session-id",
    "mcp-protocol-version",
)
_AGENT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10)
TERMINATED = "Runtime session terminated"


def telemetry_env(settings: Settings) -> dict[str, str]:
    """The emulator's OTEL_* settings, and AGENTRY_OTLP_ENDPOINT as the agents' exporter."""
    env = {k: v for k, v in os.environ.items() if k.startswith("OTEL_")}
    if settings.otlp_endpoint:
        env.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", settings.otlp_endpoint)
    return env


def aws_error(error_type: str, message: str, status: int) -> Response:
    body: dict[str, Any] = {"message": message}
    if error_type == "ValidationException":
        body["reason"] = "FieldValidationFailed"
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def runtime_client_error(message: str) -> Response:
    return aws_error("RuntimeClientError", message, 424)


def _agent_error_text(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:2000]
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return str(parsed["error"])
    return json.dumps(parsed)[:2000]


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise validation("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise validation("Request body must be a JSON object")
    return body


def _lifecycle(version: VersionRecord) -> dict[str, int]:
    return {
        "idleRuntimeSessionTimeout": int(version.idle_timeout_s),
        "maxLifetime": int(version.max_lifetime_s),
    }


def _artifact(version: VersionRecord) -> dict[str, Any]:
    return {
        "codeConfiguration": {
            "code": {"s3": {"bucket": version.bucket, "prefix": version.prefix}},
            "runtime": version.python_runtime,
            "entryPoint": version.entry_point,
        }
    }


class Emulator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        runtime_dir = settings.runtime_dir.resolve()
        self.store = ControlStore(
            state_file=runtime_dir / "control.json",
            artifacts_dir=settings.artifacts_dir.resolve(),
            versions_dir=runtime_dir / "versions",
            region=settings.aws_region,
            account_id=settings.aws_account_id,
            default_idle_s=settings.runtime_idle_timeout_s,
            default_max_lifetime_s=settings.runtime_max_lifetime_s,
        )
        self.sessions = SessionManager(
            runtime_dir,
            startup_timeout_s=settings.runtime_startup_timeout_s,
            reap_interval_s=settings.runtime_reap_interval_s,
            region=settings.aws_region,
            standby=settings.runtime_standby,
            telemetry_env=telemetry_env(settings),
        )

    # control plane

    async def create_runtime(self, request: Request) -> Response:
        record, version = self.store.create_runtime(await _json_body(request))
        log.info("runtime.created", runtime_id=record.runtime_id, version=version.version)
        return JSONResponse(
            {
                "agentRuntimeArn": record.arn,
                "agentRuntimeId": record.runtime_id,
                "agentRuntimeVersion": version.version,
                "createdAt": record.created_at,
                "status": "READY",
            },
            status_code=202,
        )

    async def list_runtimes(self, request: Request) -> Response:
        records = sorted(self.store.runtimes.values(), key=lambda r: r.created_at)
        items, more = page([self._summary(r, r.latest) for r in records], request.query_params)
        return JSONResponse(_listing("agentRuntimes", items, more))

    async def delete_runtime(self, request: Request) -> Response:
        record = self.store.delete_runtime(request.path_params["runtime_id"])
        await self.sessions.stop_runtime(record.runtime_id)
        log.info("runtime.deleted", runtime_id=record.runtime_id)
        return JSONResponse(
            {
                "status": "DELETING",
                "agentRuntimeId": record.runtime_id,
                "agentRuntimeVersion": record.latest.version,
            },
            status_code=202,
        )

    async def update_runtime(self, request: Request) -> Response:
        runtime_id = request.path_params["runtime_id"]
        record, version = self.store.update_runtime(runtime_id, await _json_body(request))
        log.info("runtime.updated", runtime_id=record.runtime_id, version=version.version)
        return JSONResponse(
            {
                "agentRuntimeArn": record.arn,
                "agentRuntimeId": record.runtime_id,
                "agentRuntimeVersion": version.version,
                "createdAt": record.created_at,
                "lastUpdatedAt": version.created_at,
                "status": "READY",
            },
            status_code=202,
        )

    async def get_runtime(self, request: Request) -> Response:
        record, version = self.store.get_version(
            request.path_params["runtime_id"], request.query_params.get("version")
        )
        body = self._summary(record, version)
        body.update(
            createdAt=record.created_at,
            roleArn=version.role_arn,
            networkConfiguration={"networkMode": version.network_mode},
            lifecycleConfiguration=_lifecycle(version),
            agentRuntimeArtifact=_artifact(version),
            protocolConfiguration={"serverProtocol": "HTTP"},
            environmentVariables=version.environment,
        )
        if version.header_allowlist:
            body["requestHeaderConfiguration"] = {
                "requestHeaderAllowlist": version.header_allowlist
            }
        return JSONResponse(body)

    async def list_versions(self, request: Request) -> Response:
        record = self.store.get(request.path_params["runtime_id"])
        ordered = sorted(record.versions.values(), key=lambda v: int(v.version), reverse=True)
        items, more = page([self._summary(record, v) for v in ordered], request.query_params)
        return JSONResponse(_listing("agentRuntimes", items, more))

    async def list_endpoints(self, request: Request) -> Response:
        record = self.store.get(request.path_params["runtime_id"])
        names = [DEFAULT_ENDPOINT, *sorted(record.endpoints)]
        items, more = page([self._endpoint(record, name) for name in names], request.query_params)
        return JSONResponse(_listing("runtimeEndpoints", items, more))

    async def delete_endpoint(self, request: Request) -> Response:
        name = request.path_params["name"]
        record = self.store.delete_endpoint(request.path_params["runtime_id"], name)
        return JSONResponse(
            {"status": "DELETING", "agentRuntimeId": record.runtime_id, "endpointName": name},
            status_code=202,
        )

    async def create_endpoint(self, request: Request) -> Response:
        body = await _json_body(request)
        name = body.get("name")
        if not isinstance(name, str):
            raise validation("Value null at 'name' failed to satisfy constraint: not null")
        record, endpoint = self.store.put_endpoint(
            request.path_params["runtime_id"],
            name,
            body.get("agentRuntimeVersion"),
            str(body.get("description") or ""),
            create=True,
        )
        return JSONResponse(
            {
                "targetVersion": endpoint.target_version,
                "agentRuntimeEndpointArn": record.endpoint_arn(endpoint.name),
                "agentRuntimeArn": record.arn,
                "agentRuntimeId": record.runtime_id,
                "endpointName": endpoint.name,
                "status": "READY",
                "createdAt": endpoint.created_at,
            },
            status_code=202,
        )

    async def update_endpoint(self, request: Request) -> Response:
        body = await _json_body(request)
        record, endpoint = self.store.put_endpoint(
            request.path_params["runtime_id"],
            request.path_params["name"],
            body.get("agentRuntimeVersion"),
            str(body.get("description") or ""),
            create=False,
        )
        return JSONResponse(
            {
                "liveVersion": endpoint.target_version,
                "targetVersion": endpoint.target_version,
                "agentRuntimeEndpointArn": record.endpoint_arn(endpoint.name),
                "agentRuntimeArn": record.arn,
                "status": "READY",
                "createdAt": endpoint.created_at,
                "lastUpdatedAt": endpoint.updated_at,
            },
            status_code=202,
        )

    async def get_endpoint(self, request: Request) -> Response:
        record = self.store.get(request.path_params["runtime_id"])
        return JSONResponse(self._endpoint(record, request.path_params["name"]))

    @staticmethod
    def _endpoint(record: RuntimeRecord, name: str) -> dict[str, Any]:
        version = record.endpoint_version(name)
        if version is None:
            raise not_found(f"Endpoint {name} of agent runtime {record.runtime_id} not found")
        endpoint = record.endpoints.get(name)
        return {
            "liveVersion": version,
            "targetVersion": version,
            "agentRuntimeEndpointArn": record.endpoint_arn(name),
            "agentRuntimeArn": record.arn,
            "status": "READY",
            "createdAt": endpoint.created_at if endpoint else record.created_at,
            "lastUpdatedAt": endpoint.updated_at if endpoint else record.updated_at,
            "name": name,
            "id": endpoint.endpoint_id if endpoint else DEFAULT_ENDPOINT,
            # AWS omits an empty description (the model's minimum length is 1).
            **({"description": endpoint.description} if endpoint and endpoint.description else {}),
        }

    @staticmethod
    def _summary(record: RuntimeRecord, version: VersionRecord) -> dict[str, Any]:
        return {
            "agentRuntimeArn": record.arn,
            "agentRuntimeId": record.runtime_id,
            "agentRuntimeVersion": version.version,
            "agentRuntimeName": record.name,
            # Required in the summary shape, at least one character: the name when none given.
            "description": version.description or record.name,
            "lastUpdatedAt": version.created_at,
            "status": "READY",
        }

    # data plane

    async def _session(self, arn: str, qualifier: str, session_id: str) -> Session:
        record, version = self.store.resolve(arn, qualifier)
        existing = self.sessions.get(record.runtime_id, session_id)
        if existing is not None:
            existing.touch()
            return existing
        try:
            code_dir = self.store.code_dir(record.runtime_id, version)
        except (OSError, ZipSlipError) as exc:
            raise StoreError(
                "RuntimeClientError", f"Runtime initialization failed: {exc}", 424
            ) from exc
        spec = SessionSpec(
            runtime_id=record.runtime_id,
            runtime_arn=record.arn,
            version=version.version,
            code_dir=code_dir,
            entry_point=version.entry_point,
            environment=version.environment,
            idle_timeout_s=version.idle_timeout_s,
            max_lifetime_s=version.max_lifetime_s,
        )
        return await self.sessions.ensure(spec, session_id)

    async def invoke(self, request: Request) -> Response:
        arn = unquote(request.path_params["arn"])
        qualifier = request.query_params.get("qualifier") or DEFAULT_ENDPOINT
        session_id = request.headers.get(SESSION_HEADER) or f"{uuid.uuid4()}-{uuid.uuid4().hex[:8]}"
        if not MIN_SESSION_ID_LEN <= len(session_id) <= MAX_SESSION_ID_LEN:
            raise validation(
                "Value at 'runtimeSessionId' failed to satisfy constraint: Member must have "
                f"length between {MIN_SESSION_ID_LEN} and {MAX_SESSION_ID_LEN}"
            )
        session = await self._session(arn, qualifier, session_id)
        version = self.store.runtimes[session.runtime_id].versions[session.version]
        headers = self._forward_headers(request, version.header_allowlist)
        headers[SESSION_HEADER] = session_id
        headers.setdefault(REQUEST_ID_HEADER, str(uuid.uuid4()))
        payload = await request.body()

        session.inflight += 1
        session.touch()
        started = time.monotonic()
        try:
            upstream = await self.sessions.http.post(
                f"{session.url}/invocations", data=payload, headers=headers, timeout=_AGENT_TIMEOUT
            )
        except aiohttp.ClientError as exc:
            session.inflight -= 1
            return await self._terminated(session, exc)
        except BaseException:
            session.inflight -= 1
            raise

        if not 200 <= upstream.status < 300:
            try:
                error_body = await upstream.read()
            except aiohttp.ClientError as exc:
                return await self._terminated(session, exc)
            finally:
                upstream.release()
                session.inflight -= 1
                session.touch()
            log.info(
                "runtime.invoke_agent_error",
                runtime_id=session.runtime_id,
                status=upstream.status,
                ms=round((time.monotonic() - started) * 1000, 1),
            )
            return runtime_client_error(
                f"Received error ({upstream.status}) from runtime: {_agent_error_text(error_body)}"
            )

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.content.iter_any():
                    yield chunk
            except aiohttp.ClientError:
                # Headers are gone already; all we can do is end the stream early.
                log.warning("runtime.stream_broken", runtime_id=session.runtime_id)
                await self.sessions.broken(session)
            finally:
                upstream.release()
                session.inflight -= 1
                session.touch()

        return StreamingResponse(
            relay(),
            status_code=200,
            headers={
                "Content-Type": upstream.headers.get("Content-Type", "application/json"),
                SESSION_HEADER: session_id,
                "x-amzn-RequestId": headers[REQUEST_ID_HEADER],
            },
        )

    async def _terminated(self, session: Session, exc: BaseException) -> Response:
        code = await self.sessions.broken(session)
        what = (
            f"the session process exited with code {code}"
            if code is not None
            else (f"the connection to the session dropped ({type(exc).__name__})")
        )
        log.warning("runtime.session_broken", runtime_id=session.runtime_id, exit_code=code)
        return runtime_client_error(f"{TERMINATED}: {what}. A new call starts a new session.")

    @staticmethod
    def _forward_headers(request: Request, allowlist: list[str]) -> dict[str, str]:
        allowed = {h.lower() for h in allowlist}
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            lower = name.lower()
            if (
                lower in _PASSTHROUGH_HEADERS
                or lower in allowed
                or lower.startswith(CUSTOM_HEADER_PREFIX)
                or lower == REQUEST_ID_HEADER.lower()
            ):
                headers[name] = value
        headers.setdefault("Content-Type", "application/json")
        return headers

    async def stop_session(self, request: Request) -> Response:
        arn = unquote(request.path_params["arn"])
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            raise validation("runtimeSessionId is required")
        record, _ = self.store.resolve(
            arn, request.query_params.get("qualifier") or DEFAULT_ENDPOINT
        )
        if not await self.sessions.stop(record.runtime_id, session_id):
            raise not_found(f"Runtime session {session_id} not found")
        return JSONResponse({}, headers={SESSION_HEADER: session_id})

    # local extension

    async def local_session(self, request: Request) -> Response:
        body = await _json_body(request)
        arn, session_id = body.get("runtimeArn"), body.get("sessionId")
        if not isinstance(arn, str) or not isinstance(session_id, str):
            raise validation("runtimeArn and sessionId are required strings")
        if not MIN_SESSION_ID_LEN <= len(session_id) <= MAX_SESSION_ID_LEN:
            raise validation("sessionId must be 33 to 256 characters")
        qualifier = str(body.get("qualifier") or DEFAULT_ENDPOINT)
        session = await self._session(arn, qualifier, session_id)
        return JSONResponse(
            {
                "sessionId": session_id,
                "url": session.url,
                "version": session.version,
                "pid": session.pid,
            }
        )

    async def local_touch(self, request: Request) -> Response:
        body = await _json_body(request)
        pairs: list[tuple[str, str]] = []
        for item in body.get("sessions") or []:
            if isinstance(item, list) and len(item) == 2:
                runtime_id = runtime_id_from_arn(str(item[0]))
                if runtime_id:
                    pairs.append((runtime_id, str(item[1])))
        return JSONResponse({"touched": self.sessions.touch(pairs)})

    async def local_sessions(self, _request: Request) -> Response:
        return JSONResponse({"sessions": [s.describe() for s in self.sessions.all()]})

    async def ping(self, _request: Request) -> Response:
        return JSONResponse({"status": "Healthy", "pid": os.getpid()})

    # app

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.sessions.start()
        atexit.register(self.sessions.kill_all_now)
        log.info("runtime.emulator_started", pid=os.getpid())
        try:
            yield
        finally:
            await self.sessions.aclose()
            atexit.unregister(self.sessions.kill_all_now)
            log.info("runtime.emulator_stopped")

    def build(self) -> Starlette:
        routes = [
            Route("/ping", self.ping, methods=["GET"]),
            Route("/healthz", self.ping, methods=["GET"]),
            Route("/_local/sessions", self.local_session, methods=["POST"]),
            Route("/_local/sessions", self.local_sessions, methods=["GET"]),
            Route("/_local/touch", self.local_touch, methods=["POST"]),
            Route("/runtimes/", self.create_runtime, methods=["PUT"]),
            Route("/runtimes/", self.list_runtimes, methods=["POST"]),
            Route("/runtimes/{arn:path}/invocations", self.invoke, methods=["POST"]),
            Route("/runtimes/{arn:path}/stopruntimesession", self.stop_session, methods=["POST"]),
            Route("/runtimes/{runtime_id}/", self.update_runtime, methods=["PUT"]),
            Route("/runtimes/{runtime_id}/", self.get_runtime, methods=["GET"]),
            Route("/runtimes/{runtime_id}/", self.delete_runtime, methods=["DELETE"]),
            Route("/runtimes/{runtime_id}/versions/", self.list_versions, methods=["POST"]),
            Route(
                "/runtimes/{runtime_id}/runtime-endpoints/", self.create_endpoint, methods=["PUT"]
            ),
            Route(
                "/runtimes/{runtime_id}/runtime-endpoints/", self.list_endpoints, methods=["POST"]
            ),
            Route(
                "/runtimes/{runtime_id}/runtime-endpoints/{name}/",
                self.delete_endpoint,
                methods=["DELETE"],
            ),
            Route(
                "/runtimes/{runtime_id}/runtime-endpoints/{name}/",
                self.update_endpoint,
                methods=["PUT"],
            ),
            Route(
                "/runtimes/{runtime_id}/runtime-endpoints/{name}/",
                self.get_endpoint,
                methods=["GET"],
            ),
        ]
        return Starlette(
            routes=routes,
            lifespan=self.lifespan,
            exception_handlers={
                StoreError: _store_error,
                SessionStartError: _start_error,
                HTTPException: _http_error,
            },
        )


def _listing(key: str, items: list[dict[str, Any]], more: str | None) -> dict[str, Any]:
    return {key: items, **({"nextToken": more} if more else {})}


async def _store_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreError)
    return aws_error(exc.error_type, exc.message, exc.status)


async def _start_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SessionStartError)
    log.warning("runtime.session_start_failed")
    return runtime_client_error(exc.message)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return aws_error("UnknownOperationException", "Unknown operation", 404)
    if exc.status_code == 405:
        return aws_error("UnknownOperationException", "Method not allowed", 405)
    return aws_error("ValidationException", str(exc.detail), exc.status_code)


def create_app(settings: Settings | None = None) -> Starlette:
    """The emulator as an ASGI app. Session processes live as long as its lifespan."""
    return Emulator(settings or get_settings()).build()
