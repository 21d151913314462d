"""The platform's policy set in AWS: an AgentCore Policy Engine attached to the tool Gateway.

AgentCore's engine only sees tool calls at the Gateway, in its own Cedar vocabulary
(principal `AgentCore::OAuthUser` with the token's claims as tags, action
`AgentCore::Action::"<target>___<tool>"`, resource `AgentCore::Gateway::"<arn>"`). So only the
platform set's `CallTool` rules are synced, translated through Cedar's JSON form:

- `principal == Agentry::Tenant::"t"` becomes a `tenant` tag condition; `principal.tier` the
  `tier` tag; `context.agent` the `agent` tag; `context.role` is "agent" and `context.mode` ""
  for every tool call. `context.depth` and anything else has no AgentCore form: such a rule is
  refused at publish (`policy_not_syncable`), never silently dropped.
- The enforced version's rules are policies named `agentry_v<n>_<i>` with `enforcementMode`
  ACTIVE, the shadow version's LOG_ONLY; other policies in the engine (the CDK stack's
  `platform_tokens_only` baseline) are never touched.
- The engine is the one attached to the Gateway (the CDK stack's, whose ENFORCE mode is then
  left as CloudFormation declares it), or else `AGENTRY_POLICY_ENGINE_NAME` (created if missing)
  attached by the platform, which then sets the Gateway's mode: ENFORCE while a version is
  enforced, LOG_ONLY otherwise (an attached engine denies by default, so "nothing enforced"
  must not be ENFORCE with no policies).

Every sync reconciles AWS with the desired state (list, then create / update / delete only what
differs), so repeating one is a no-op. If AWS refuses part-way, the previous state is
reconciled back before the error is raised, and the caller's transaction rolls back: neither
side is left half-written. Tenant sets stay enforced by the platform only.
Request shapes are validated by botocore's Stubber in the tests; AWS itself was not exercised.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import cedarpy

from agentry.config import Settings
from agentry.kit.errors import (
    AgentryError,
    Conflict,
    ServiceUnavailable,
    UpstreamError,
    ValidationFailed,
)
from agentry.kit.logging import get_logger

log = get_logger("agentry.policy.aws")

PREFIX = "agentry_v"
_NAME = re.compile(r"^agentry_v(\d+)_(\d+)$")
TAGS = {("principal", "tier"): "tier", ("context", "agent"): "agent"}
CONSTANTS: dict[tuple[str, str], str] = {("context", "role"): "agent", ("context", "mode"): ""}
PLACEHOLDER_ARN = "arn:aws:bedrock-agentcore:eu-west-1:000000000000:gateway/placeholder"


class PolicyNotSyncable(ValidationFailed):
    code = "policy_not_syncable"
    title = "A tool rule of the policy has no AgentCore Policy form"


class PolicyRejectedByAws(ValidationFailed):
    code = "policy_rejected_by_aws"
    title = "AgentCore Policy refused the translated policy"


class PolicySyncConflict(Conflict):
    code = "policy_sync_conflict"
    title = "The AgentCore policy engine or Gateway is being changed; retry"


class PolicySyncUnavailable(ServiceUnavailable):
    code = "policy_sync_unavailable"
    title = "AgentCore Policy is unavailable; retry"


class PolicySyncFailed(UpstreamError):
    code = "policy_sync_failed"
    title = "Syncing the policy set to AgentCore Policy failed"


def mapped(exc: Exception) -> AgentryError:
    """An AWS error as the platform's error (the AWS code and message in `extra`)."""
    error = getattr(exc, "response", {}).get("Error", {})
    code, message = str(error.get("Code", type(exc).__name__)), str(error.get("Message", ""))
    extra = {"aws_error": code}
    kind: type[AgentryError] = {
        "ValidationException": PolicyRejectedByAws,
        "ConflictException": PolicySyncConflict,
        "ThrottlingException": PolicySyncUnavailable,
        "InternalServerException": PolicySyncUnavailable,
        "ServiceQuotaExceededException": PolicyRejectedByAws,
    }.get(code, PolicySyncFailed)
    return kind(f"AgentCore Policy: {code}: {message}"[:1000], extra=extra)


# translation


def _is_tool_rule(p: dict[str, Any]) -> bool:
    action, resource = p["action"], p["resource"]
    if action["op"] == "==":
        acts = {action["entity"]["id"]}
    elif action["op"] == "in":
        found = action.get("entities") or [action.get("entity")]
        acts = {e["id"] for e in found if e}
    else:
        acts = {"CallTool"}
    if "CallTool" not in acts:
        return False
    if resource["op"] == "All":
        return True
    if resource["op"] == "is":
        return bool(resource["entity_type"] == "Agentry::Tool")
    return bool(resource.get("entity", {}).get("type") == "Agentry::Tool")


def _refuse(what: str) -> PolicyNotSyncable:
    return PolicyNotSyncable(
        f"{what} has no AgentCore Policy form; tool rules may use the tenant, principal.tier, "
        "context.agent, context.role and context.mode only."
    )


def _rewrite(node: Any, tags: set[str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(n, tags) for n in node]
    if not isinstance(node, dict):
        return node
    for op in (".", "has"):
        inner = node.get(op)
        if isinstance(inner, dict) and isinstance(inner.get("left"), dict) and len(node) == 1:
            var = inner["left"].get("Var")
            if var is not None:
                key = (str(var), str(inner["attr"]))
                if key in TAGS:
                    tags.add(TAGS[key])
                    verb = "getTag" if op == "." else "hasTag"
                    return {verb: {"left": {"Var": "principal"}, "right": {"Value": TAGS[key]}}}
                if key in CONSTANTS:
                    return {"Value": CONSTANTS[key] if op == "." else True}
                raise _refuse(f"{var}.{inner['attr']}")
    if "Var" in node and len(node) == 1:
        raise _refuse(f"A condition on `{node['Var']}` itself")
    return {k: _rewrite(v, tags) for k, v in node.items()}


def _translate_one(p: dict[str, Any], gateway_arn: str) -> dict[str, Any]:
    tags: set[str] = set()
    conditions = [
        {"kind": c["kind"], "body": _rewrite(c["body"], tags)} for c in p.get("conditions", [])
    ]
    principal = p["principal"]
    if principal["op"] in ("==", "in") and "entity" in principal:
        tenant = principal["entity"]
        if tenant["type"] != "Agentry::Tenant":
            raise _refuse(f"The principal {tenant['type']}")
        tags.add("tenant")
        conditions.insert(
            0,
            {
                "kind": "when",
                "body": {
                    "==": {
                        "left": {
                            "getTag": {"left": {"Var": "principal"}, "right": {"Value": "tenant"}}
                        },
                        "right": {"Value": tenant["id"]},
                    }
                },
            },
        )
    elif principal["op"] not in ("All", "is"):
        raise _refuse(f"The principal scope `{principal['op']}`")
    if tags:  # a claim that is not there: the rule does not apply (rather than an error)
        guard: Any = None
        for tag in sorted(tags):
            has = {"hasTag": {"left": {"Var": "principal"}, "right": {"Value": tag}}}
            guard = has if guard is None else {"&&": {"left": guard, "right": has}}
        conditions.insert(0, {"kind": "when", "body": guard})
    resource = p["resource"]
    tool = resource.get("entity", {}).get("id") if resource["op"] in ("==", "in") else None
    out = {
        "effect": p["effect"],
        "principal": {"op": "is", "entity_type": "AgentCore::OAuthUser"},
        "action": (
            {"op": "==", "entity": {"type": "AgentCore::Action", "id": tool}}
            if tool
            else {"op": "All"}
        ),
        "resource": {"op": "==", "entity": {"type": "AgentCore::Gateway", "id": gateway_arn}},
        "conditions": conditions,
    }
    if "Agentry::" in json.dumps(out):
        raise _refuse("A reference to an Agentry entity in a condition")
    return out


def translate(text: str, gateway_arn: str = PLACEHOLDER_ARN) -> list[str]:
    """The AgentCore statements of a (validated) platform policy's `CallTool` rules, in order."""
    est = json.loads(cedarpy.policies_to_json_str(text))
    if est.get("templates"):
        raise _refuse("A policy template")
    policies = est.get("staticPolicies", {})
    ordered = sorted(policies.items(), key=lambda kv: int(re.sub(r"\D", "", kv[0]) or 0))
    statements = []
    for _, p in ordered:
        if not _is_tool_rule(p):
            continue
        one = {
            "templates": {},
            "staticPolicies": {"p": _translate_one(p, gateway_arn)},
            "templateLinks": [],
        }
        statements.append(cedarpy.policies_from_json_str(json.dumps(one)).strip())
    return statements


# the engine, its policies and the Gateway


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Active:
    """What the platform set has in force: the enforced and the shadow (LOG_ONLY) version."""

    enforced: Version | None = None
    shadow: Version | None = None


def _token(*parts: object) -> str:
    return hashlib.sha256(" ".join(map(str, parts)).encode()).hexdigest()[:64]


class AgentCorePolicies:
    def __init__(
        self,
        gateway_id: str,
        engine_name: str = "agentry",
        client: Any = None,
        region: str = "eu-west-1",
    ) -> None:
        self.gateway_id = gateway_id
        self.engine_name = engine_name
        if client is None:
            import boto3  # type: ignore[import-untyped]

            client = boto3.client("bedrock-agentcore-control", region_name=region)
        self.client = client

    def engine(self) -> tuple[str, str]:
        """The named engine's id and ARN, created when it does not exist."""
        token: str | None = None
        while True:
            page = self.client.list_policy_engines(**({"nextToken": token} if token else {}))
            for found in page.get("policyEngines", []):
                if found["name"] == self.engine_name:
                    return str(found["policyEngineId"]), str(found["policyEngineArn"])
            token = page.get("nextToken")
            if not token:
                break
        created = self.client.create_policy_engine(
            name=self.engine_name,
            description="Agentry platform policy set (tool rules), synced by the platform.",
            clientToken=_token("engine", self.engine_name),
        )
        log.info("policy.aws_engine_created", engine=created["policyEngineId"])
        return str(created["policyEngineId"]), str(created["policyEngineArn"])

    def resolve(self) -> tuple[dict[str, Any], str, str, bool]:
        """The Gateway, the engine to sync into and whether the platform owns the Gateway's
        mode. An engine already attached (the CDK stack's) is used as it is, its mode left to
        whoever attached it; otherwise the named engine (created if missing) is attached here."""
        gateway = self.client.get_gateway(gatewayIdentifier=self.gateway_id)
        attached = gateway.get("policyEngineConfiguration")
        if attached:
            arn = str(attached["arn"])
            engine_id = arn.rsplit("/", 1)[-1]
            name = self.client.get_policy_engine(policyEngineId=engine_id)["name"]
            return gateway, engine_id, arn, name == self.engine_name
        engine_id, arn = self.engine()
        return gateway, engine_id, arn, True

    def _policies(self, engine_id: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        token: str | None = None
        while True:
            args: dict[str, Any] = {"policyEngineId": engine_id}
            if token:
                args["nextToken"] = token
            page = self.client.list_policies(**args)
            for p in page.get("policies", []):
                if _NAME.match(p["name"]):
                    out[p["name"]] = p
            token = page.get("nextToken")
            if not token:
                return out

    def apply(self, active: Active) -> None:
        """Make AWS match `active` (idempotent)."""
        gateway, engine_id, engine_arn, owns_mode = self.resolve()
        desired: dict[str, tuple[str, str]] = {}
        for version, mode in ((active.enforced, "ACTIVE"), (active.shadow, "LOG_ONLY")):
            if version is not None:
                for i, statement in enumerate(translate(version.text, gateway["gatewayArn"])):
                    desired[f"{PREFIX}{version.number}_{i}"] = (statement, mode)
        current = self._policies(engine_id)
        for name, (statement, mode) in desired.items():
            have = current.get(name)
            if have is None:
                self.client.create_policy(
                    policyEngineId=engine_id,
                    name=name,
                    definition={"cedar": {"statement": statement}},
                    validationMode="FAIL_ON_ANY_FINDINGS",
                    enforcementMode=mode,
                    clientToken=_token(engine_id, name, statement, mode),
                )
            elif (
                have.get("definition", {}).get("cedar", {}).get("statement") != statement
                or have.get("enforcementMode") != mode
            ):
                self.client.update_policy(
                    policyEngineId=engine_id,
                    policyId=have["policyId"],
                    definition={"cedar": {"statement": statement}},
                    validationMode="FAIL_ON_ANY_FINDINGS",
                    enforcementMode=mode,
                )
        for name, have in current.items():
            if name not in desired:
                self.client.delete_policy(policyEngineId=engine_id, policyId=have["policyId"])
        if owns_mode:
            self._attach(gateway, engine_arn, "ENFORCE" if active.enforced else "LOG_ONLY")

    def _attach(self, gateway: dict[str, Any], engine_arn: str, mode: str) -> None:
        wanted = {"arn": engine_arn, "mode": mode}
        if gateway.get("policyEngineConfiguration") == wanted:
            return
        # UpdateGateway replaces the whole configuration: send back what GetGateway returned.
        model = self.client.meta.service_model.operation_model("UpdateGateway")
        update = {
            k: v for k, v in gateway.items() if k in model.input_shape.members and v is not None
        }
        update.update(gatewayIdentifier=self.gateway_id, policyEngineConfiguration=wanted)
        self.client.update_gateway(**update)

    def check(self, text: str) -> None:
        """Refuse (before it is stored) a version whose tool rules cannot be synced."""
        translate(text)

    def sync(self, before: Active, after: Active) -> None:
        """Apply `after`; if AWS refuses, put `before` back and raise the mapped error."""
        try:
            self.apply(after)
        except AgentryError:
            raise
        except Exception as exc:
            error = mapped(exc)
            try:
                self.apply(before)
            except Exception as again:  # the error the caller sees is the first one
                log.error("policy.aws_restore_failed", error=str(mapped(again).detail))
                error.extra["restored"] = False
            else:
                error.extra["restored"] = True
            raise error from exc

    def ensure_engine(self) -> None:
        try:
            self.resolve()
        except Exception as exc:
            raise mapped(exc) from exc

    async def async_sync(self, before: Active, after: Active) -> None:
        await asyncio.to_thread(self.sync, before, after)

    async def async_ensure_engine(self) -> None:
        await asyncio.to_thread(self.ensure_engine)


def policy_sync(settings: Settings) -> AgentCorePolicies | None:
    """The AWS sync in the `aws` profile with a Gateway; None elsewhere (platform only)."""
    if settings.profile != "aws" or not settings.gateway_id:
        return None
    return AgentCorePolicies(
        settings.gateway_id, settings.policy_engine_name, region=settings.aws_region
    )
