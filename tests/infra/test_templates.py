"""What the synthesized CloudFormation says about security, per environment.

Each environment is synthesized once (conftest); cdk-nag's AwsSolutions pack runs in that synth.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import Synth

ENVS = ["dev", "staging", "prod"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _role_statements(s: Synth, stack: str, role_logical: str) -> list[dict[str, Any]]:
    statements = []
    for _, _, policy in s.resources("AWS::IAM::Policy", stack):
        if {"Ref": role_logical} in policy.get("Roles", []):
            statements += policy["PolicyDocument"]["Statement"]
    return statements


def _role(s: Synth, stack: str, name_part: str) -> tuple[str, dict[str, Any]]:
    for _, logical, props in s.resources("AWS::IAM::Role", stack):
        if name_part in json.dumps(props.get("RoleName", "")):
            return logical, props
    raise AssertionError(f"no role named *{name_part}* in {stack}")


@pytest.mark.parametrize("env", ENVS)
def test_synth_passes_cdk_nag(synth: Any, env: str) -> None:
    s = synth(env)
    assert s.error is None, f"cdk-nag or synth failed for {env}:\n{s.error}"
    assert {"network", "data", "cache", "secrets", "api", "observability"} <= set(s.templates)
    assert {"artifacts-euw1", "agentcore-euw1", "artifacts-euc1", "agentcore-euc1"} <= set(
        s.templates
    )


@pytest.mark.parametrize("env", ENVS)
def test_regions_follow_the_seed_layout(synth: Any, env: str) -> None:
    stacks = synth(env).platform.stacks
    for home in ("network", "data", "cache", "secrets", "api", "observability"):
        assert stacks[home].region == "eu-west-2"
    assert stacks["agentcore-euw1"].region == "eu-west-1"
    assert stacks["agentcore-euc1"].region == "eu-central-1"


@pytest.mark.parametrize("env", ENVS)
def test_database_is_encrypted_private_and_backed_up(synth: Any, env: str) -> None:
    s = synth(env)
    [(_, _, cluster)] = s.resources("AWS::RDS::DBCluster", "data")
    assert cluster["StorageEncrypted"] is True
    assert "KmsKeyId" in cluster
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["ServerlessV2ScalingConfiguration"]["MinCapacity"] > 0
    assert cluster["BackupRetentionPeriod"] >= 7
    assert cluster["EnableIAMDatabaseAuthentication"] is True
    assert cluster["DeletionProtection"] is (env != "dev")
    instances = s.resources("AWS::RDS::DBInstance", "data")
    assert instances
    assert all(p["PubliclyAccessible"] is False for _, _, p in instances)
    # Its subnets are the isolated ones (no route to an internet gateway).
    [(_, _, subnets)] = s.resources("AWS::RDS::DBSubnetGroup", "data")
    assert all("dataSubnet" in json.dumps(ref) for ref in subnets["SubnetIds"])
    # It admits the tasks' security group only, never a CIDR.
    ingress = s.resources("AWS::EC2::SecurityGroupIngress", "data")
    assert ingress
    assert all("CidrIp" not in p for _, _, p in ingress)
    assert s.resources("AWS::SecretsManager::RotationSchedule", "data")


@pytest.mark.parametrize("env", ENVS)
def test_cache_is_encrypted_at_rest_and_in_transit(synth: Any, env: str) -> None:
    [(_, _, redis)] = synth(env).resources("AWS::ElastiCache::ReplicationGroup", "cache")
    assert redis["AtRestEncryptionEnabled"] is True
    assert redis["TransitEncryptionEnabled"] is True
    assert "KmsKeyId" in redis
    assert "AuthToken" in redis
    assert "resolve:secretsmanager" in json.dumps(redis["AuthToken"])  # no literal token


@pytest.mark.parametrize("env", ENVS)
def test_every_secret_and_key_is_customer_managed_and_rotated(synth: Any, env: str) -> None:
    s = synth(env)
    secrets = s.resources("AWS::SecretsManager::Secret")
    assert len(secrets) >= 5  # pepper, signing key, box key, DB credentials, Redis token
    assert all("KmsKeyId" in p for _, _, p in secrets)
    keys = s.resources("AWS::KMS::Key")
    assert keys
    assert all(p["EnableKeyRotation"] is True for _, _, p in keys)
    names = {
        json.dumps(p.get("Name", ""))
        for _, _, p in s.resources("AWS::SecretsManager::Secret", "secrets")
    }
    for name in ("api-key-pepper", "token-signing-key", "webhook-secret-key"):
        assert any(name in n for n in names)


@pytest.mark.parametrize("env", ENVS)
def test_buckets_are_private_encrypted_and_tls_only(synth: Any, env: str) -> None:
    s = synth(env)
    buckets = s.resources("AWS::S3::Bucket")
    assert len(buckets) >= 5
    for _, _, props in buckets:
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    for stack in ("artifacts-euw1", "artifacts-euc1"):
        artifacts = [
            p for _, _, p in s.resources("AWS::S3::Bucket", stack)
            if "artifacts" in json.dumps(p.get("BucketName", ""))
        ]  # fmt: skip
        assert artifacts[0]["VersioningConfiguration"] == {"Status": "Enabled"}
        assert "LoggingConfiguration" in artifacts[0]
    policies = s.resources("AWS::S3::BucketPolicy")
    assert len(policies) == len(buckets)
    for _, _, props in policies:
        denies = [
            st for st in props["PolicyDocument"]["Statement"]
            if st["Effect"] == "Deny"
            and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]  # fmt: skip
        assert denies


@pytest.mark.parametrize("env", ENVS)
def test_runtime_role_is_least_privilege(synth: Any, env: str) -> None:
    s = synth(env)
    for stack in ("agentcore-euw1", "agentcore-euc1"):
        logical, role = _role(s, stack, "-runtime-")
        [trust] = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
        statements = _role_statements(s, stack, logical)
        actions = [a for st in statements for a in _actions(st)]
        assert actions
        assert all("*" not in a for a in actions), actions
        assert not any(
            a.startswith(("iam:", "s3:Put", "s3:Delete", "bedrock-agentcore:Create"))
            for a in actions
        )
        for st in statements:
            if "bedrock:InvokeModel" in _actions(st):
                scoped = ("foundation-model/", "inference-profile/")
                assert all(any(k in json.dumps(r) for k in scoped) for r in st["Resource"])
            if st["Resource"] == "*":
                assert all(a.startswith(("xray:", "cloudwatch:")) for a in _actions(st))
                if "cloudwatch:PutMetricData" in _actions(st):
                    assert st["Condition"]["StringEquals"]["cloudwatch:namespace"]


@pytest.mark.parametrize("env", ENVS)
def test_task_role_has_no_wildcard_actions_and_passes_only_the_runtime_role(
    synth: Any, env: str
) -> None:
    s = synth(env)
    logical, _ = _role(s, "api", "-api-task")
    statements = _role_statements(s, "api", logical)
    assert all("*" not in a for st in statements for a in _actions(st))
    [pass_role] = [st for st in statements if "iam:PassRole" in _actions(st)]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "bedrock-agentcore.amazonaws.com"}
    }
    assert all(f"agentry-{env}-runtime-" in r for r in pass_role["Resource"])
    star = [st for st in statements if st["Resource"] == "*"]
    assert [a for st in star for a in _actions(st)] == ["bedrock-agentcore:ListAgentRuntimes"]


@pytest.mark.parametrize("env", ENVS)
def test_waf_is_attached_to_the_load_balancer(synth: Any, env: str) -> None:
    s = synth(env)
    [(_, alb_logical, alb)] = s.resources("AWS::ElasticLoadBalancingV2::LoadBalancer", "api")
    assert alb["Scheme"] == "internet-facing"
    [(_, acl_logical, acl)] = s.resources("AWS::WAFv2::WebACL", "api")
    assert acl["Scope"] == "REGIONAL"
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]
    }  # fmt: skip
    assert "AWSManagedRulesCommonRuleSet" in managed
    assert any("RateBasedStatement" in r["Statement"] for r in acl["Rules"])
    [(_, _, association)] = s.resources("AWS::WAFv2::WebACLAssociation", "api")
    assert association["ResourceArn"] == {"Ref": alb_logical}
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_logical, "Arn"]}
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


@pytest.mark.parametrize("env", ENVS)
def test_api_and_workers_are_separate_autoscaled_services(synth: Any, env: str) -> None:
    s = synth(env)
    groups = s.resources("AWS::ElasticLoadBalancingV2::TargetGroup", "api")
    assert len(groups) == 2  # blue and green (test_canary.py)
    assert all(tg["HealthCheckPath"] == "/readyz" for _, _, tg in groups)
    listeners = s.resources("AWS::ElasticLoadBalancingV2::Listener", "api")
    https = [p for _, _, p in listeners if p["Port"] == 443]
    assert https
    assert https[0]["Protocol"] == "HTTPS"
    assert len(s.resources("AWS::ECS::Service", "api")) == 2
    commands = sorted(
        c["Command"][0] for _, _, t in s.resources("AWS::ECS::TaskDefinition", "api")
        for c in t["ContainerDefinitions"]
    )  # fmt: skip
    assert commands == ["serve", "worker"]
    for _, _, task in s.resources("AWS::ECS::TaskDefinition", "api"):
        [container] = task["ContainerDefinitions"]
        env_names = {e["Name"] for e in container.get("Environment", [])}
        secret_names = {e["Name"] for e in container["Secrets"]}
        # Secrets come from Secrets Manager, never as plain environment values.
        assert {
            "AGENTRY_API_KEY_PEPPER",
            "AGENTRY_WEBHOOK_SECRET_KEY",
            "AGENTRY_DB_PASSWORD",
        } <= secret_names
        assert not env_names & secret_names
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    targets = s.resources("AWS::ApplicationAutoScaling::ScalableTarget", "api")
    assert len(targets) == 2
    assert len(s.resources("AWS::ApplicationAutoScaling::ScalingPolicy", "api")) >= 3


@pytest.mark.parametrize("env", ENVS)
def test_every_log_group_has_a_retention(synth: Any, env: str) -> None:
    s = synth(env)
    groups = s.resources("AWS::Logs::LogGroup")
    assert len(groups) >= 6
    assert all(p.get("RetentionInDays", 0) >= 14 for _, _, p in groups), groups
    assert not s.resources("Custom::LogRetention")


@pytest.mark.parametrize("env", ENVS)
def test_gateway_uses_the_platform_jwks_and_the_interceptor(synth: Any, env: str) -> None:
    s = synth(env)
    for stack in ("agentcore-euw1", "agentcore-euc1"):
        [(_, _, gateway)] = s.resources("AWS::BedrockAgentCore::Gateway", stack)
        assert gateway["AuthorizerType"] == "CUSTOM_JWT"
        jwt = gateway["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
        assert jwt["DiscoveryUrl"] == (
            f"https://api.{env}.agentry.example.com/.well-known/openid-configuration"
        )
        assert jwt["AllowedAudience"] == ["agentry-agent"]
        points = sorted(
            p for i in gateway["InterceptorConfigurations"] for p in i["InterceptionPoints"]
        )
        assert points == ["REQUEST", "RESPONSE"]
        # Same as gateway/aws.py: the interceptor sees the request headers (the bearer token).
        for interceptor in gateway["InterceptorConfigurations"]:
            assert interceptor["InputConfiguration"] == {"PassRequestHeaders": True}
        assert "PolicyEngineConfiguration" in gateway
        assert s.resources("AWS::BedrockAgentCore::PolicyEngine", stack)
        [(_, _, policy)] = s.resources("AWS::BedrockAgentCore::Policy", stack)
        assert "hasTag" in json.dumps(policy)
        [(_, _, function)] = s.resources("AWS::Lambda::Function", stack)
        assert function["PackageType"] == "Image"
        variables = function["Environment"]["Variables"]
        assert variables["AGENTRY_OIDC_DISCOVERY_URL"] == jwt["DiscoveryUrl"]


@pytest.mark.parametrize("env", ENVS)
def test_alarms_cover_api_jobs_webhooks_and_runtime(synth: Any, env: str) -> None:
    s = synth(env)
    alarms = {logical for _, logical, _ in s.resources("AWS::CloudWatch::Alarm", "observability")}
    for name in (
        "Api5xx",
        "ApiLatencyP95",
        "JobsBacklog",
        "JobsFailed",
        "WebhookFailures",
        "RuntimeErrors",
        "ApiUnhealthy",
        "AuthFailures",
        "BudgetDenials",
        "InvocationTokensRejected",
    ):
        assert any(a.startswith(name) for a in alarms), (name, alarms)
    for _, _, alarm in s.resources("AWS::CloudWatch::Alarm", "observability"):
        assert alarm["AlarmActions"]
    patterns = [
        p["FilterPattern"] for _, _, p in s.resources("AWS::Logs::MetricFilter", "observability")
    ]
    assert any("webhooks.attempt" in p for p in patterns)


def test_option_b_and_home_region_runtime_are_configuration(synth: Any) -> None:
    """A second runtime account and an eu-west-2 runtime: more stacks, still nag-clean."""
    s = synth("dev", second_runtime_account="222222222222", runtime_in_home_region="true")
    assert s.error is None, s.error
    stacks = s.platform.stacks
    assert {"agentcore-euw2", "agentcore-euc1", "agentcore-euw2-b", "agentcore-euc1-b"} <= set(
        stacks
    )
    assert "agentcore-euw1" not in stacks
    assert stacks["agentcore-euw2-b"].account == "222222222222"
    # The second account trusts the platform's task role through one assumable role.
    _logical, role = _role(s, "agentcore-euw2-b", "-platform-")
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert "111111111111" in json.dumps(trust["Principal"])
    assert "aws:PrincipalArn" in json.dumps(trust["Condition"])
    [(_, task_logical, _)] = [
        r for r in s.resources("AWS::IAM::Role", "api") if "api-task" in json.dumps(r[2])
    ]
    assume = [
        st for st in _role_statements(s, "api", task_logical) if "sts:AssumeRole" in _actions(st)
    ]
    assert assume
    assert all("222222222222" in r for r in assume[0]["Resource"])
    env_vars = {
        e["Name"]: e["Value"]
        for _, _, t in s.resources("AWS::ECS::TaskDefinition", "api")
        for e in t["ContainerDefinitions"][0]["Environment"]
    }
    assert env_vars["AGENTRY_AWS_REGION"] == "eu-west-2"
    assert list(json.loads(env_vars["AGENTRY_RUNTIME_REGIONS"])) == ["eu-west-2", "eu-central-1"]


@pytest.mark.parametrize("env", ENVS)
def test_runtime_regions_alarm_on_gateway_interceptor_and_runtimes(synth: Any, env: str) -> None:
    s = synth(env)
    for stack in ("agentcore-euw1", "agentcore-euc1"):
        alarms = s.resources("AWS::CloudWatch::Alarm", stack)
        names = {logical for _, logical, _ in alarms}
        for name in ("GatewaySystemErrors", "InterceptorErrors", "RuntimeSystemErrors"):
            assert any(n.startswith(name) for n in names), (stack, names)
        assert all(p["AlarmActions"] for _, _, p in alarms)
        [(_, _, topic)] = s.resources("AWS::SNS::Topic", stack)
        assert "KmsMasterKeyId" in topic


def test_gateway_matches_the_platforms_own_definition(synth: Any) -> None:
    """The CDK Gateway and gateway/aws.py's CreateGateway request describe the same gateway."""
    from agentry.gateway.aws import create_gateway_request

    [(_, _, gateway)] = synth("dev").resources("AWS::BedrockAgentCore::Gateway", "agentcore-euw1")
    request = create_gateway_request(
        name="x", role_arn="r", issuer="https://api.dev.agentry.example.com",
        interceptor_lambda_arn="l",
    )  # fmt: skip
    expected = request["authorizerConfiguration"]["customJWTAuthorizer"]
    actual = gateway["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    assert actual["DiscoveryUrl"] == expected["discoveryUrl"]
    assert actual["AllowedAudience"] == expected["allowedAudience"]
    assert actual["AllowedScopes"] == expected["allowedScopes"]
    assert gateway["ProtocolType"] == request["protocolType"]
    assert gateway["AuthorizerType"] == request["authorizerType"]
    [wanted] = request["interceptorConfigurations"]
    assert wanted["inputConfiguration"] == {"passRequestHeaders": True}


@pytest.mark.parametrize("env", ENVS)
def test_agent_zips_replicate_to_the_failover_region(synth: Any, env: str) -> None:
    s = synth(env)

    def artifacts(stack: str) -> dict[str, Any]:
        return next(
            p for _, _, p in s.resources("AWS::S3::Bucket", stack)
            if "artifacts" in json.dumps(p.get("BucketName", ""))
        )  # fmt: skip

    [rule] = artifacts("artifacts-euw1")["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": "agents/"}
    assert f"agentry-{env}-artifacts-111111111111-eu-central-1" in json.dumps(rule["Destination"])
    assert "ReplicationConfiguration" not in artifacts("artifacts-euc1")
    primary = s.platform.stacks["artifacts-euw1"]
    assert s.platform.stacks["artifacts-euc1"] in primary.dependencies
