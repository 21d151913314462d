"""Environments and regions as data: one `EnvConfig` per environment, nothing read from AWS.

The seed's layout: the API, database, cache and secrets live in the home region (eu-west-2);
agent runtimes and the Gateway in the runtime region (eu-west-1), with a warm standby in the
failover region (eu-central-1). `runtime_in_home_region` moves the primary runtime to eu-west-2.
"Option B" spreads runtime sessions over a second account once ConcurrentSessions passes 70% of
the account quota: `second_runtime_account` adds runtime stacks in that account.

Every value can be overridden at synth time with `-c key=value` (CDK context) or the
matching `AGENTRY_INFRA_<KEY>` environment variable, e.g. `-c account=123456789012`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Literal

EnvName = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[EnvName, ...] = ("dev", "staging", "prod")

HOME_REGION = "eu-west-2"
RUNTIME_REGION = "eu-west-1"
FAILOVER_REGION = "eu-central-1"
# Placeholder account for offline synth; a deploy passes the real one (the CDK CLI sets
# CDK_DEFAULT_ACCOUNT from the caller's credentials).
PLACEHOLDER_ACCOUNT = "111111111111"


@dataclass(frozen=True)
class EnvConfig:
    name: EnvName
    account: str = PLACEHOLDER_ACCOUNT
    home_region: str = HOME_REGION
    runtime_region: str = RUNTIME_REGION
    failover_region: str = FAILOVER_REGION
    runtime_in_home_region: bool = False
    # Option B: a second account whose runtimes take sessions past 70% of the first's quota.
    second_runtime_account: str = ""
    option_b_threshold: float = 0.70
    domain_name: str = ""  # public API host; the token issuer is https://<domain_name>
    certificate_arn: str = ""  # ACM certificate in the home region; empty: CDK requests one
    gateway_id: str = ""  # the primary runtime region's Gateway (agentcore stack output)
    vpc_cidr: str = "10.40.0.0/16"
    max_azs: int = 2
    nat_gateways: int = 1
    db_min_acu: float = 0.5
    db_max_acu: float = 4.0
    db_readers: int = 0
    backup_retention_days: int = 7
    cache_node_type: str = "cache.t4g.small"
    cache_replicas: int = 1
    api_cpu: int = 512
    api_memory_mib: int = 1024
    api_min_tasks: int = 1
    api_max_tasks: int = 4
    worker_min_tasks: int = 1
    worker_max_tasks: int = 4
    # The API deploys through CodeDeploy blue/green: `api_canary_percent` of traffic on the new
    # tasks for `api_canary_minutes`, then all of it. 0: all at once (dev), still blue/green.
    api_canary_percent: int = 0
    api_canary_minutes: int = 5
    api_blue_kept_minutes: int = 5  # old tasks kept after the shift, for a fast manual rollback
    log_retention_days: int = 30
    deletion_protection: bool = False
    alarm_email: str = ""
    bedrock_models: tuple[str, ...] = field(
        default=(
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
        )
    )

    @property
    def primary_runtime_region(self) -> str:
        return self.home_region if self.runtime_in_home_region else self.runtime_region

    @property
    def runtime_regions(self) -> tuple[str, ...]:
        """Regions that get runtime stacks: the primary and the failover, in that order."""
        return tuple(dict.fromkeys((self.primary_runtime_region, self.failover_region)))

    @property
    def runtime_accounts(self) -> tuple[str, ...]:
        extra = (self.second_runtime_account,) if self.second_runtime_account else ()
        return (self.account, *extra)

    @property
    def api_domain(self) -> str:
        return self.domain_name or f"api.{self.name}.agentry.example.com"

    @property
    def token_issuer(self) -> str:
        return f"https://{self.api_domain}"

    def prefix(self) -> str:
        return f"agentry-{self.name}"


_BASE: dict[str, EnvConfig] = {
    "dev": EnvConfig(name="dev", vpc_cidr="10.40.0.0/16", log_retention_days=14),
    "staging": EnvConfig(
        name="staging",
        vpc_cidr="10.41.0.0/16",
        db_max_acu=8,
        api_min_tasks=2,
        worker_min_tasks=2,
        api_canary_percent=10,
        api_canary_minutes=5,
        log_retention_days=90,
        deletion_protection=True,
    ),
    "prod": EnvConfig(
        name="prod",
        vpc_cidr="10.42.0.0/16",
        max_azs=3,
        nat_gateways=3,
        db_min_acu=2,
        db_max_acu=32,
        db_readers=1,
        backup_retention_days=35,
        cache_node_type="cache.r7g.large",
        cache_replicas=2,
        api_cpu=1024,
        api_memory_mib=2048,
        api_min_tasks=3,
        api_max_tasks=20,
        worker_min_tasks=2,
        worker_max_tasks=20,
        api_canary_percent=10,
        api_canary_minutes=10,
        api_blue_kept_minutes=30,
        log_retention_days=365,
        deletion_protection=True,
    ),
}

_BOOL_KEYS = {"runtime_in_home_region", "deletion_protection"}
_STR_KEYS = {
    "account", "home_region", "runtime_region", "failover_region", "second_runtime_account",
    "domain_name", "certificate_arn", "alarm_email", "gateway_id",
}  # fmt: skip
_INT_KEYS = {"api_canary_percent", "api_canary_minutes", "api_blue_kept_minutes"}


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}


def load(name: str, overrides: dict[str, Any] | None = None) -> EnvConfig:
    """The configuration of `name`, with overrides (CDK context, then AGENTRY_INFRA_* vars)."""
    if name not in _BASE:
        raise ValueError(f"unknown environment {name!r}: one of {', '.join(ENVIRONMENTS)}")
    base = _BASE[name]
    if not os.environ.get("AGENTRY_INFRA_ACCOUNT") and os.environ.get("CDK_DEFAULT_ACCOUNT"):
        base = replace(base, account=os.environ["CDK_DEFAULT_ACCOUNT"])
    changes: dict[str, Any] = {}
    for key in sorted(_BOOL_KEYS | _STR_KEYS | _INT_KEYS):
        value = (overrides or {}).get(key, os.environ.get(f"AGENTRY_INFRA_{key.upper()}"))
        if value is None:
            continue
        if key in _BOOL_KEYS:
            changes[key] = _as_bool(value)
        elif key in _INT_KEYS:
            changes[key] = int(value)
        else:
            changes[key] = str(value)
    config = replace(base, **changes)
    if not 0 <= config.api_canary_percent < 100 or config.api_canary_minutes < 1:
        raise ValueError("api_canary_percent is 0 (all at once) to 99; api_canary_minutes >= 1")
    return config
