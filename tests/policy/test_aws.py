"""The platform policy set synced to AgentCore Policy, through the API on a real database, with
botocore's Stubber at the AWS edge (every request validated against the service model of
`bedrock-agentcore-control`). AWS itself is not exercised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import cedarpy
import pytest
from botocore.stub import ANY, Stubber
from sqlalchemy import select

from agentry.identity.principal import Role
from agentry.models import AuditEvent
from agentry.policy.aws import Active, AgentCorePolicies, PolicyNotSyncable, translate
from agentry.policy.engine import Compiled, PolicyEngine, Request, validate
from agentry.testing.inproc import InProcApp

GATEWAY = "agentry-gw-0123456789"
GW_ARN = f"arn:aws:bedrock-agentcore:eu-west-1:000000000000:gateway/{GATEWAY}"
ENGINE = "agentry-0123456789"
ENGINE_ARN = f"arn:aws:bedrock-agentcore:eu-west-1:000000000000:policy-engine/{ENGINE}"
T = "2026-12-01T00:00:00Z"

V1 = """permit(principal, action, resource);
forbid(principal, action == Agentry::Action::"CallTool", resource == Agentry::Tool::"calc___add")
when { principal.tier == "basic" };
forbid(principal, action == Agentry::Action::"InvokeAgent", resource == Agentry::Agent::"longrun");
"""
V2 = """permit(principal, action, resource);
forbid(principal == Agentry::Tenant::"ten_blocked", action, resource);
"""


def _client() -> Any:
    return boto3.client(
        "bedrock-agentcore-control",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


# semantics of the translation


def _agentcore_allows(statements: list[str], tenant: str, tier: str, tool: str) -> bool:
    entities = json.dumps(
        [
            {
                "uid": {"type": "AgentCore::OAuthUser", "id": "agent-sub"},
                "attrs": {},
                "parents": [],
                "tags": {"tenant": tenant, "tier": tier, "agent": "researcher"},
            }
        ]
    )
    request = {
        "principal": 'AgentCore::OAuthUser::"agent-sub"',
        "action": f'AgentCore::Action::"{tool}"',
        "resource": f'AgentCore::Gateway::"{GW_ARN}"',
        "context": {"input": {}},
    }
    return bool(cedarpy.is_authorized(request, "\n".join(statements), entities).allowed)


@pytest.mark.parametrize("text", [V1, V2])
def test_the_translation_decides_tool_calls_as_the_platform_does(text: str) -> None:
    engine = PolicyEngine()
    engine.install("platform", Compiled(1, validate(text)), None)
    statements = translate(text, GW_ARN)
    assert statements
    assert all("Agentry::" not in s for s in statements)
    for tenant in ("ten_a", "ten_blocked"):
        for tier in ("basic", "premium"):
            for tool in ("calc___add", "calc___mul"):
                platform = engine.decide(
                    Request(tenant, tier, "CallTool", tool, role="agent", agent="researcher")
                ).allowed
                assert _agentcore_allows(statements, tenant, tier, tool) == platform, (
                    tenant,
                    tier,
                    tool,
                )


def test_rules_that_are_not_about_tools_are_not_synced() -> None:
    statements = translate(V1, GW_ARN)
    assert len(statements) == 2  # the permit and the calc forbid; not the InvokeAgent one
    assert 'AgentCore::Action::"calc___add"' in statements[1]
    assert 'principal.getTag("tier")' in statements[1]


@pytest.mark.parametrize(
    "text",
    [
        "forbid(principal, action, resource) when { context.depth > 1 };",
        'forbid(principal, action, resource) when { principal == Agentry::Tenant::"a" };',
        'forbid(principal, action, resource) when { resource == Agentry::Tool::"x" };',
    ],
)
def test_a_tool_rule_without_an_agentcore_form_is_refused(text: str) -> None:
    validate(text)  # valid for the platform
    with pytest.raises(PolicyNotSyncable):
        translate(text)


# the AWS calls, step by step


def _gateway(mode: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "gatewayArn": GW_ARN,
        "gatewayId": GATEWAY,
        "gatewayUrl": f"https://{GATEWAY}.gateway.bedrock-agentcore.eu-west-1.amazonaws.com/mcp",
        "createdAt": T,
        "updatedAt": T,
        "status": "READY",
        "name": "agentry-gw",
        "roleArn": "arn:aws:iam::000000000000:role/agentry-gateway",
        "protocolType": "MCP",
        "authorizerType": "CUSTOM_JWT",
        "authorizerConfiguration": {
            "customJWTAuthorizer": {
                "discoveryUrl": "https://api.example/.well-known/openid-configuration",
                "allowedAudience": ["agentry-tools"],
            }
        },
    }
    if mode:
        found["policyEngineConfiguration"] = {"arn": ENGINE_ARN, "mode": mode}
    return found


def _policy(name: str, statement: str, mode: str) -> dict[str, Any]:
    pid = f"{name.replace('_', '')}-abcdefghij"[-59:]
    return {
        "policyId": pid,
        "name": name,
        "policyEngineId": ENGINE,
        "createdAt": T,
        "updatedAt": T,
        "policyArn": f"{ENGINE_ARN}/policy/{pid}",
        "status": "ACTIVE",
        "enforcementMode": mode,
        "definition": {"cedar": {"statement": statement}},
        "statusReasons": [],
    }


def _engine(name: str = "agentry") -> dict[str, Any]:
    return {
        "policyEngineId": ENGINE,
        "name": name,
        "createdAt": T,
        "updatedAt": T,
        "policyEngineArn": ENGINE_ARN,
        "status": "ACTIVE",
        "statusReasons": [],
    }


class Aws:
    """Queues the responses AWS would give, and the exact requests the platform must send."""

    def __init__(self, stub: Stubber) -> None:
        self.stub = stub

    def resolve(self, mode: str | None, engine: str = "agentry") -> None:
        self.stub.add_response("get_gateway", _gateway(mode), {"gatewayIdentifier": GATEWAY})
        if mode:  # attached: the engine is the Gateway's
            self.stub.add_response("get_policy_engine", _engine(engine), {"policyEngineId": ENGINE})
        else:
            self.stub.add_response("list_policy_engines", {"policyEngines": [_engine()]}, {})

    def reads(
        self, policies: list[dict[str, Any]], mode: str | None, engine: str = "agentry"
    ) -> None:
        self.resolve(mode, engine)
        self.stub.add_response("list_policies", {"policies": policies}, {"policyEngineId": ENGINE})

    def create(self, name: str, statement: str, mode: str) -> dict[str, Any]:
        made = _policy(name, statement, mode)
        self.stub.add_response(
            "create_policy",
            made,
            {
                "policyEngineId": ENGINE,
                "name": name,
                "definition": {"cedar": {"statement": statement}},
                "validationMode": "FAIL_ON_ANY_FINDINGS",
                "enforcementMode": mode,
                "clientToken": ANY,
            },
        )
        return made

    def update(self, have: dict[str, Any], mode: str) -> dict[str, Any]:
        statement = have["definition"]["cedar"]["statement"]
        made = {**have, "enforcementMode": mode}
        self.stub.add_response(
            "update_policy",
            made,
            {
                "policyEngineId": ENGINE,
                "policyId": have["policyId"],
                "definition": {"cedar": {"statement": statement}},
                "validationMode": "FAIL_ON_ANY_FINDINGS",
                "enforcementMode": mode,
            },
        )
        return made

    def delete(self, have: dict[str, Any]) -> None:
        self.stub.add_response(
            "delete_policy",
            {**have, "status": "DELETING"},
            {"policyEngineId": ENGINE, "policyId": have["policyId"]},
        )

    def attach(self, mode: str) -> None:
        sent = {
            k: v
            for k, v in _gateway().items()
            if k not in ("gatewayArn", "gatewayId", "gatewayUrl", "createdAt", "updatedAt")
            and k != "status"
        }
        self.stub.add_response(
            "update_gateway",
            _gateway(mode),
            {
                **sent,
                "gatewayIdentifier": GATEWAY,
                "policyEngineConfiguration": {"arn": ENGINE_ARN, "mode": mode},
            },
        )


@pytest.fixture
def aws(api: InProcApp) -> Iterator[Aws]:
    client = _client()
    api.app.state.policies.aws = AgentCorePolicies(GATEWAY, client=client)
    with Stubber(client) as stub:
        yield Aws(stub)
        stub.assert_no_pending_responses()


async def _operator(api: InProcApp, slug: str = "ops") -> str:
    tenant = await api.tenant(slug)
    return (await api.key(tenant, Role.operator)).secret


async def _audited(api: InProcApp) -> list[tuple[str, str, Any]]:
    async with api.platform.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEvent)
            .where(AuditEvent.action.startswith("policy."))
            .order_by(AuditEvent.seq)
        )
        return [(e.action, e.outcome, e.details.get("to")) for e in rows.scalars()]


async def test_publish_shadow_enforce_rollback_disable_sync_the_engine_idempotently(
    api: InProcApp, aws: Aws
) -> None:
    key = await _operator(api)
    s1, s2 = translate(V1, GW_ARN), translate(V2, GW_ARN)
    async with api.client(key) as c:
        # publish v1: no engine yet, so it is created (found by name from then on)
        aws.stub.add_response("get_gateway", _gateway(), {"gatewayIdentifier": GATEWAY})
        aws.stub.add_response("list_policy_engines", {"policyEngines": []}, {})
        aws.stub.add_response(
            "create_policy_engine",
            _engine(),
            {"name": "agentry", "description": ANY, "clientToken": ANY},
        )
        r = await c.post("/v1/admin/policies/versions", json={"text": V1})
        assert r.status_code == 201, r.text
        aws.resolve(None)
        assert (await c.post("/v1/admin/policies/versions", json={"text": V2})).status_code == 201
        aws.stub.assert_no_pending_responses()

        # shadow v1: its tool rules as LOG_ONLY policies; the Gateway attached in LOG_ONLY
        aws.reads([], None)
        p1 = [aws.create(f"agentry_v1_{i}", s, "LOG_ONLY") for i, s in enumerate(s1)]
        aws.attach("LOG_ONLY")
        r = await c.post("/v1/admin/policies/versions/1/shadow")
        assert r.status_code == 200, r.text
        assert r.json()["shadow_version"] == 1
        aws.stub.assert_no_pending_responses()

        # enforce v1: the same policies become ACTIVE, the Gateway ENFORCE
        aws.reads(p1, "LOG_ONLY")
        p1 = [aws.update(p, "ACTIVE") for p in p1]
        aws.attach("ENFORCE")
        r = await c.post("/v1/admin/policies/versions/1/enforce")
        assert (r.json()["enforced_version"], r.json()["shadow_version"]) == (1, None)
        aws.stub.assert_no_pending_responses()

        # enforce v2: v2's rules created ACTIVE, v1's deleted; the Gateway is already ENFORCE
        aws.reads(p1, "ENFORCE")
        p2 = [aws.create(f"agentry_v2_{i}", s, "ACTIVE") for i, s in enumerate(s2)]
        for p in p1:
            aws.delete(p)
        assert (await c.post("/v1/admin/policies/versions/2/enforce")).status_code == 200
        aws.stub.assert_no_pending_responses()

        # rollback to v1
        aws.reads(p2, "ENFORCE")
        p1 = [aws.create(f"agentry_v1_{i}", s, "ACTIVE") for i, s in enumerate(s1)]
        for p in p2:
            aws.delete(p)
        r = await c.post("/v1/admin/policies/rollback", json={})
        assert r.json()["enforced_version"] == 1
        aws.stub.assert_no_pending_responses()

        # disable: no policies left, and the Gateway back to LOG_ONLY (not deny-all)
        aws.reads(p1, "ENFORCE")
        for p in p1:
            aws.delete(p)
        aws.attach("LOG_ONLY")
        r = await c.delete("/v1/admin/policies/enforced")
        assert r.json()["enforced_version"] is None
    aws.stub.assert_no_pending_responses()

    # Syncing a state AWS already has only reads.
    aws.reads([], "LOG_ONLY")
    api.app.state.policies.aws.apply(Active())
    aws.stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("aws_code", "status", "code"),
    [
        ("ConflictException", 409, "policy_sync_conflict"),
        ("ValidationException", 422, "policy_rejected_by_aws"),
    ],
)
async def test_an_aws_refusal_part_way_undoes_aws_and_stores_nothing(
    api: InProcApp, aws: Aws, aws_code: str, status: int, code: str
) -> None:
    key = await _operator(api)
    s1 = translate(V1, GW_ARN)
    aws.resolve(None)
    async with api.client(key) as c:
        assert (await c.post("/v1/admin/policies/versions", json={"text": V1})).status_code == 201
        # The first policy is created, the second refused...
        aws.reads([], None)
        first = aws.create("agentry_v1_0", s1[0], "ACTIVE")
        aws.stub.add_client_error(
            "create_policy",
            service_error_code=aws_code,
            service_message="refused by the test",
            http_status_code=status if status != 422 else 400,
        )
        # ...so the previous state (nothing) is reconciled back: the first one deleted.
        aws.reads([first], None)
        aws.delete(first)
        aws.attach("LOG_ONLY")
        r = await c.post("/v1/admin/policies/versions/1/enforce")
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code
        assert r.json()["aws_error"] == aws_code
        assert r.json()["restored"] is True
        aws.stub.assert_no_pending_responses()
        state = (await c.get("/v1/admin/policies")).json()
    assert state["enforced_version"] is None
    assert state["versions"][0]["enforced_at"] is None
    assert ("policy.enforce", "success", 1) not in await _audited(api)
    assert api.app.state.policies.engine.installed("platform") is None


@pytest.mark.usefixtures("aws")
async def test_an_unsyncable_platform_policy_is_refused_but_tenant_sets_are_not_synced(
    api: InProcApp,
) -> None:
    key = await _operator(api)
    depth = "permit(principal, action, resource);\n" + (
        "forbid(principal, action, resource) when { context.depth > 2 };"
    )
    async with api.client(key) as c:
        r = await c.post("/v1/admin/policies/versions", json={"text": depth})
        assert (r.status_code, r.json()["code"]) == (422, "policy_not_syncable")
        assert (await c.get("/v1/admin/policies")).json()["versions"] == []
    tenant = await api.tenant("tn")
    admin = (await api.key(tenant, Role.admin)).secret
    async with api.client(admin) as c:  # no AWS call queued: any would fail the stub
        r = await c.post("/v1/policies/versions", json={"text": depth})
        assert r.status_code == 201, r.text
        assert (await c.post("/v1/policies/versions/1/enforce")).status_code == 200


async def test_an_engine_the_cdk_stack_attached_keeps_its_mode_and_its_baseline(
    api: InProcApp, aws: Aws
) -> None:
    key = await _operator(api)
    s1 = translate(V1, GW_ARN)
    cdk = "agentry_dev_tools"
    baseline = _policy("platform_tokens_only", "permit(principal, action, resource);" * 2, "ACTIVE")
    async with api.client(key) as c:
        aws.resolve("ENFORCE", cdk)
        assert (await c.post("/v1/admin/policies/versions", json={"text": V1})).status_code == 201
        # shadow, then enforce: policies only; no UpdateGateway (CloudFormation owns the mode)
        aws.reads([baseline], "ENFORCE", cdk)
        p1 = [aws.create(f"agentry_v1_{i}", s, "LOG_ONLY") for i, s in enumerate(s1)]
        assert (await c.post("/v1/admin/policies/versions/1/shadow")).status_code == 200
        aws.reads([baseline, *p1], "ENFORCE", cdk)
        p1 = [aws.update(p, "ACTIVE") for p in p1]
        assert (await c.post("/v1/admin/policies/versions/1/enforce")).status_code == 200
        # disable: the platform's policies go, the baseline stays
        aws.reads([baseline, *p1], "ENFORCE", cdk)
        for p in p1:
            aws.delete(p)
        assert (await c.delete("/v1/admin/policies/enforced")).status_code == 200
    aws.stub.assert_no_pending_responses()
