"""The app: every stack of one environment, wired, with cdk-nag's AwsSolutions pack on.

Home region (eu-west-2): network, data, cache, secrets, api, observability.
Each runtime region (primary eu-west-1 or eu-west-2, failover eu-central-1), in each runtime
account (the platform's, plus Option B's second one): artifacts, agentcore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk

from agentry_infra import nag
from agentry_infra.common import short_region
from agentry_infra.config import EnvConfig, load
from agentry_infra.stacks.agentcore import AgentCoreStack
from agentry_infra.stacks.api import ApiStack
from agentry_infra.stacks.artifacts import ArtifactsStack, bucket_name
from agentry_infra.stacks.cache import CacheStack
from agentry_infra.stacks.data import DataStack
from agentry_infra.stacks.network import NetworkStack
from agentry_infra.stacks.observability import ObservabilityStack
from agentry_infra.stacks.secrets import SecretsStack


@dataclass
class Platform:
    app: cdk.App
    config: EnvConfig
    stacks: dict[str, cdk.Stack] = field(default_factory=dict)


def build(
    env_name: str, *, outdir: str | None = None, context: dict[str, Any] | None = None
) -> Platform:
    """Every stack of `env_name`; `app.synth()` then runs cdk-nag and raises on a finding."""
    app = cdk.App(outdir=outdir, context=context or {})
    overrides = {k: app.node.try_get_context(k) for k in (context or {})}
    config = load(env_name, {k: v for k, v in overrides.items() if v is not None})
    platform = Platform(app, config)
    add_stacks(platform)
    nag.enable(app)
    return platform


def add_stacks(platform: Platform) -> None:
    app, config, stacks = platform.app, platform.config, platform.stacks
    home = cdk.Environment(account=config.account, region=config.home_region)
    tags = {"project": "agentry", "environment": config.name}

    def stack_id(name: str) -> str:
        return f"{config.prefix()}-{name}"

    def add(name: str, stack: cdk.Stack) -> cdk.Stack:
        for key, value in tags.items():
            cdk.Tags.of(stack).add(key, value)
        stacks[name] = stack
        return stack

    runtime_stacks: list[AgentCoreStack] = []
    for account in config.runtime_accounts:
        suffix = "" if account == config.account else "-b"
        primary, *others = config.runtime_regions
        # The failover region's bucket first: the primary's replicates into it.
        for region in (*others, primary):
            where = cdk.Environment(account=account, region=region)
            key = f"{short_region(region)}{suffix}"
            replicate_to = others[0] if region == primary and others else None
            artifacts = ArtifactsStack(
                app, stack_id(f"artifacts-{key}"), env=where, config=config,
                replicate_to=replicate_to,
                description=f"Agentry {config.name}: agent code zips ({region})",
            )  # fmt: skip
            if replicate_to:
                artifacts.add_stack_dependency(
                    stacks[f"artifacts-{short_region(replicate_to)}{suffix}"]
                )
            add(f"artifacts-{key}", artifacts)
            agentcore = AgentCoreStack(
                app, stack_id(f"agentcore-{key}"), env=where, config=config,
                artifacts_bucket_arn=f"arn:aws:s3:::{bucket_name(config, account, region)}",
                home_account=config.account,
                description=f"Agentry {config.name}: AgentCore role, Gateway, policy ({region})",
            )  # fmt: skip
            agentcore.add_stack_dependency(artifacts)
            add(f"agentcore-{key}", agentcore)
            runtime_stacks.append(agentcore)

    network = NetworkStack(
        app, stack_id("network"), env=home, config=config,
        description=f"Agentry {config.name}: VPC and endpoints",
    )  # fmt: skip
    add("network", network)
    data = DataStack(
        app, stack_id("data"), env=home, config=config, vpc=network.vpc, app_sg=network.app_sg,
        description=f"Agentry {config.name}: Aurora PostgreSQL Serverless v2",
    )  # fmt: skip
    add("data", data)
    cache = CacheStack(
        app, stack_id("cache"), env=home, config=config, vpc=network.vpc, app_sg=network.app_sg,
        description=f"Agentry {config.name}: ElastiCache Redis",
    )  # fmt: skip
    add("cache", cache)
    secrets = SecretsStack(
        app, stack_id("secrets"), env=home, config=config,
        description=f"Agentry {config.name}: application secrets",
    )  # fmt: skip
    add("secrets", secrets)
    api = ApiStack(
        app, stack_id("api"), env=home, config=config, vpc=network.vpc, app_sg=network.app_sg,
        alb_sg=network.alb_sg, db=data.cluster, redis_host=cache.endpoint, redis_auth=cache.auth,
        pepper=secrets.pepper, signing_key=secrets.signing_key,
        webhook_box_key=secrets.webhook_box_key,
        secret_keys=[data.key, cache.key, secrets.key],
        description=f"Agentry {config.name}: API and workers on ECS Fargate behind ALB + WAF",
    )  # fmt: skip
    add("api", api)
    for runtime in runtime_stacks:  # the API reads the gateway id they publish
        api.add_stack_dependency(runtime)
    observability = ObservabilityStack(
        app, stack_id("observability"), env=home, config=config, alb=api.alb,
        target_groups=api.target_groups, worker_service=api.worker_service,
        log_groups={"api": api.api_logs, "worker": api.worker_logs},
        description=f"Agentry {config.name}: alarms",
    )  # fmt: skip
    add("observability", observability)
