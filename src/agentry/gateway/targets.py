"""External MCP servers as tool-gateway targets: register, list, refresh, remove.

A registration connects to the server with the `mcp` client, lists its tools and stores the
snapshot; its tools join the catalog as `target___tool` with the target's default tiers
(operators change them per tool with `PUT /v1/admin/tools/{tool}`). Changes are audited in the
request's transaction and applied to this process at once; other replicas pick them up when
`ToolAccess.refresh` polls (`apply`). The optional credential header is sealed with
`SecretBox` and only ever opened to build the outgoing request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.audit.service import AuditLog
from agentry.config import Settings
from agentry.gateway.aws_targets import AgentCoreTargets
from agentry.gateway.remote import (
    Endpoint,
    RemoteServer,
    RemoteToolError,
    TargetUnavailable,
    list_remote_tools,
)
from agentry.gateway.repository import ToolGrantRepository, ToolTargetRepository
from agentry.gateway.tools import ToolCatalog, ToolSpec
from agentry.kit.clock import utcnow
from agentry.kit.errors import Conflict, NotFound, UpstreamError, ValidationFailed
from agentry.models import ToolTarget
from agentry.models.tenant import Tier
from agentry.webhooks.secretbox import SecretBox
from agentry.webhooks.ssrf import (
    CheckedUrl,
    Resolver,
    WebhookUrlRefused,
    check_url,
    system_resolver,
)

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")  # MCP's tool-name characters
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")
RESERVED_HEADERS = {"host", "content-type", "content-length", "accept", "connection"}
MAX_TOOLS = 200
DEFAULT_TIERS = ("premium",)  # least agency: a new external tool is premium until granted


class InvalidToolTargetName(ValidationFailed):
    code = "invalid_tool_target_name"
    title = "Invalid tool target name"


class InvalidToolTargetUrl(ValidationFailed):
    code = "invalid_tool_target_url"
    title = "The tool target URL must be an http(s) URL"


class ToolTargetUrlRefused(ValidationFailed):
    code = "tool_target_url_refused"
    title = "The tool target URL is not allowed"


class InvalidAuthHeader(ValidationFailed):
    code = "invalid_auth_header"
    title = "auth_header must be 'Header-Name: value'"


class UnknownTier(ValidationFailed):
    code = "unknown_tier"
    title = "Unknown tier"


class ToolTargetExists(Conflict):
    code = "tool_target_exists"
    title = "A tool target with this name exists"


class ToolTargetKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with a different request"


class ToolTargetNotFound(NotFound):
    code = "tool_target_not_found"
    title = "No such tool target"


class ToolTargetUnreachable(UpstreamError):
    code = "tool_target_unreachable"
    title = "The tool target could not be reached over MCP"


class ToolTargetInvalidTools(UpstreamError):
    code = "tool_target_invalid_tools"
    title = "The tool target lists tools the gateway cannot serve"


@dataclass(frozen=True, slots=True)
class Registration:
    name: str
    url: str
    tiers: list[str] | None = None
    auth_header: str | None = None

    def request_hash(self) -> str:
        # The credential is left out: a hash of a short secret could be guessed back.
        basis = [self.name, self.url, sorted(self.tiers or DEFAULT_TIERS)]
        return hashlib.sha256(json.dumps(basis).encode()).hexdigest()


def check_tiers(tiers: Sequence[str]) -> list[str]:
    unknown = sorted(set(tiers) - set(Tier.__members__))
    if unknown:
        raise UnknownTier(f"unknown tier(s): {', '.join(unknown)}")
    return sorted(set(tiers))


def parse_auth_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not HEADER_NAME.match(name) or not value or any(c in value for c in "\r\n"):
        raise InvalidAuthHeader("auth_header must look like 'X-Api-Key: <secret>'.")
    if name.lower() in RESERVED_HEADERS or name.lower().startswith("mcp-"):
        raise InvalidAuthHeader(f"'{name}' is set by the gateway itself.")
    return name, value


def snapshot(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """The tools as stored, or `ToolTargetInvalidTools` naming every problem."""
    problems, out, seen = [], [], set()
    if len(tools) > MAX_TOOLS:
        problems.append(f"{len(tools)} tools (at most {MAX_TOOLS})")
    for tool in tools[:MAX_TOOLS]:
        name = tool.name
        if not TOOL_NAME.match(name) or "___" in name:
            problems.append(f"tool name {name[:60]!r} is not [A-Za-z0-9_.-]{{1,128}} without ___")
            continue
        if name in seen:
            problems.append(f"tool {name!r} listed twice")
        seen.add(name)
        try:
            Draft202012Validator.check_schema(tool.input_schema)
        except SchemaError as exc:
            problems.append(f"tool {name!r} has an invalid inputSchema: {exc.message[:100]}")
            continue
        out.append(
            {"name": name, "description": tool.description or "", "inputSchema": tool.input_schema}
        )
    if problems:
        raise ToolTargetInvalidTools("; ".join(problems))
    return out


class ToolTargets:
    def __init__(
        self,
        settings: Settings,
        catalog: ToolCatalog,
        box: SecretBox,
        *,
        aws: AgentCoreTargets | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.catalog = catalog
        self._box = box
        self._aws = aws
        self._resolver = resolver
        self._timeout_s = settings.tool_target_timeout_s
        self._allow_private = settings.profile == "local" and settings.tool_target_allow_private
        self._https_only = settings.profile != "local"
        self._remotes: dict[str, RemoteServer] = {}
        self.on_change: Callable[[], None] = lambda: None

    # --- checks -------------------------------------------------------------------------

    def _check_name(self, name: str) -> None:
        if not NAME.match(name) or "___" in name:
            raise InvalidToolTargetName(
                "name must be 1-40 of a-z, 0-9 and '-', starting with a letter."
            )
        if name in self.catalog.builtin_targets:
            raise ToolTargetExists(f"'{name}' is a built-in target.")

    async def guard(self, url: str) -> CheckedUrl:
        """SSRF rules of webhooks: metadata/link-local always refused; loopback and private
        only with the DEV ONLY setting in the local profile; https outside it."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise InvalidToolTargetUrl("url must start with http:// or https://.")
        try:
            return await check_url(
                url,
                allow_private=self._allow_private,
                https_only=self._https_only,
                resolver=self._resolver,
            )
        except WebhookUrlRefused as exc:
            raise ToolTargetUrlRefused(exc.detail) from exc

    def _endpoint(self, url: str, sealed: str | None) -> Endpoint:
        headers = dict([parse_auth_header(self._box.open(sealed))]) if sealed else {}
        return Endpoint(url=url, timeout_s=self._timeout_s, headers=headers)

    async def _list(self, endpoint: Endpoint) -> list[dict[str, Any]]:
        try:
            return snapshot(await list_remote_tools(endpoint))
        except TargetUnavailable as exc:
            raise ToolTargetUnreachable(f"{endpoint.url}: {exc}") from exc

    # --- operator actions (the caller commits) --------------------------------------------

    async def register(
        self,
        session: AsyncSession,
        audit: AuditLog,
        *,
        actor: str,
        actor_tenant_id: str,
        body: Registration,
        idempotency_key: str | None = None,
    ) -> tuple[ToolTarget, bool]:
        """The new target, and True when this replays an earlier identical request."""
        self._check_name(body.name)
        tiers = check_tiers(body.tiers if body.tiers is not None else DEFAULT_TIERS)
        header = parse_auth_header(body.auth_header) if body.auth_header is not None else None
        repo = ToolTargetRepository(session)
        existing = await repo.get(body.name)
        if existing is not None:
            if idempotency_key is not None and existing.idempotency_key == idempotency_key:
                if existing.request_hash != body.request_hash():
                    raise ToolTargetKeyReused("This Idempotency-Key was used for another request.")
                return existing, True
            raise ToolTargetExists(f"A tool target named '{body.name}' exists.")
        await self.guard(body.url)
        sealed = self._box.seal(body.auth_header) if body.auth_header is not None else None
        tools = await self._list(self._endpoint(body.url, sealed))
        aws = await self._aws.acreate(body.name, body.url, header) if self._aws else None
        now = utcnow()
        target = ToolTarget(
            name=body.name,
            url=body.url,
            tools=tools,
            default_tiers=tiers,
            auth_header_enc=sealed,
            aws_target_id=aws.target_id if aws else None,
            idempotency_key=idempotency_key,
            request_hash=body.request_hash(),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        try:
            await repo.add(target)
            await audit.append(
                session,
                actor=actor,
                action="tool_target.create",
                actor_tenant_id=actor_tenant_id,
                details=_audit_details(target),
            )
        except BaseException:
            if self._aws is not None and aws is not None:  # do not leave an orphan in AWS
                await self._aws.adelete(
                    aws.target_id, had_credential=header is not None, name=body.name
                )
            raise
        await self._apply_one(target)
        self.on_change()
        return target, False

    async def get(self, session: AsyncSession, name: str) -> ToolTarget:
        target = await ToolTargetRepository(session).get(name)
        if target is None:
            raise ToolTargetNotFound(f"No tool target named '{name}'.")
        return target

    async def list_all(self, session: AsyncSession) -> Sequence[ToolTarget]:
        return await ToolTargetRepository(session).list_all()

    async def refresh(
        self, session: AsyncSession, audit: AuditLog, *, actor: str, actor_tenant_id: str, name: str
    ) -> ToolTarget:
        target = await self.get(session, name)
        await self.guard(target.url)
        before = {t["name"] for t in target.tools}
        target.tools = await self._list(self._endpoint(target.url, target.auth_header_enc))
        target.updated_at = utcnow()
        await session.flush()
        after = {t["name"] for t in target.tools}
        await audit.append(
            session,
            actor=actor,
            action="tool_target.refresh",
            actor_tenant_id=actor_tenant_id,
            details={
                **_audit_details(target),
                "added": sorted(after - before),
                "removed": sorted(before - after),
            },
        )
        await self._apply_one(target)
        self.on_change()
        return target

    async def remove(
        self, session: AsyncSession, audit: AuditLog, *, actor: str, actor_tenant_id: str, name: str
    ) -> None:
        target = await self.get(session, name)
        details = _audit_details(target)
        await ToolGrantRepository(session).delete_prefixed(f"{name}___")
        await ToolTargetRepository(session).delete(target)
        await audit.append(
            session,
            actor=actor,
            action="tool_target.delete",
            actor_tenant_id=actor_tenant_id,
            details=details,
        )
        if self._aws is not None and target.aws_target_id:
            await self._aws.adelete(
                target.aws_target_id,
                had_credential=target.auth_header_enc is not None,
                name=name,
            )
        await self._forget(name)
        self.on_change()

    # --- this process's catalog and clients ---------------------------------------------

    def specs(self, target: ToolTarget, remote: RemoteServer) -> list[ToolSpec]:
        def handler_for(tool: str) -> Any:
            async def handler(arguments: dict[str, Any]) -> dict[str, Any]:
                return await remote.call(tool, arguments)

            return handler

        return [
            ToolSpec(
                target=target.name,
                name=t["name"],
                description=t.get("description", ""),
                input_schema=t.get("inputSchema") or {"type": "object"},
                handler=handler_for(t["name"]),
                tiers=frozenset(target.default_tiers),
                remote=True,
            )
            for t in target.tools
        ]

    async def _apply_one(self, target: ToolTarget) -> None:
        remote = self._remotes.get(target.name)
        endpoint = self._endpoint(target.url, target.auth_header_enc)
        if remote is None or remote.endpoint != endpoint:
            if remote is not None:
                await remote.aclose()
            remote = RemoteServer(endpoint, self.guard)
            self._remotes[target.name] = remote
        self.catalog.set_target(target.name, self.specs(target, remote))

    async def _forget(self, name: str) -> None:
        remote = self._remotes.pop(name, None)
        if remote is not None:
            await remote.aclose()
        self.catalog.remove_target(name)

    async def apply(self, targets: Sequence[ToolTarget]) -> None:
        """Make this process serve exactly these targets (start-up and replica polling). The
        caller (`ToolAccess.refresh`) rebuilds the grants once afterwards, so no `on_change`."""
        names = {t.name for t in targets}
        for gone in (self.catalog.targets() - self.catalog.builtin_targets) - names:
            await self._forget(gone)
        for target in targets:
            await self._apply_one(target)

    async def aclose(self) -> None:
        for name in list(self._remotes):
            await self._remotes.pop(name).aclose()


def _audit_details(target: ToolTarget) -> dict[str, Any]:
    return {
        "target": target.name,
        "url": target.url,
        "tools": [t["name"] for t in target.tools],
        "default_tiers": target.default_tiers,
        "has_credential": target.auth_header_enc is not None,
    }


__all__ = ["RemoteToolError", "TargetUnavailable", "ToolTargets"]
