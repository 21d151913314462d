"""Cache: ElastiCache Redis (quotas and stream fan-out), encrypted at rest and in transit.

There is no stable L2 for ElastiCache in aws-cdk-lib, so this uses the L1 replication group.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from agentry_infra import nag
from agentry_infra.config import EnvConfig

REDIS_PORT = 6380  # not the engine default (AwsSolutions-AEC5)


class CacheStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        vpc: ec2.IVpc,
        app_sg: ec2.ISecurityGroup,
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        self.key = key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix()}-cache",
            description="Agentry Redis at rest and its AUTH token",
            enable_key_rotation=True,
        )
        self.sg = ec2.SecurityGroup(self, "Sg", vpc=vpc, description="Agentry Redis")
        self.sg.add_ingress_rule(app_sg, ec2.Port.tcp(REDIS_PORT), "API and worker tasks")
        subnets = elasticache.CfnSubnetGroup(
            self,
            "Subnets",
            description="Agentry Redis (isolated subnets)",
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
        self.auth = secretsmanager.Secret(
            self,
            "AuthToken",
            description="Redis AUTH token",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        self.group = elasticache.CfnReplicationGroup(
            self,
            "Redis",
            replication_group_description=f"{config.prefix()} quotas and stream fan-out",
            engine="redis",
            engine_version="7.1",
            cache_node_type=config.cache_node_type,
            num_node_groups=1,
            replicas_per_node_group=config.cache_replicas,
            automatic_failover_enabled=config.cache_replicas > 0,
            multi_az_enabled=config.cache_replicas > 0,
            port=REDIS_PORT,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[self.sg.security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=key.key_id,
            transit_encryption_enabled=True,
            auth_token=self.auth.secret_value.unsafe_unwrap(),  # a dynamic reference, not a value
            snapshot_retention_limit=config.backup_retention_days,
        )
        self.endpoint = self.group.attr_primary_end_point_address
        nag.acknowledge(
            self.auth,
            "SMG4",
            "ElastiCache AUTH tokens have no Secrets Manager rotation template; they are "
            "rotated with ModifyReplicationGroup AuthTokenUpdateStrategy=ROTATE (runbook in "
            "docs/deployment.md), which keeps the old token valid until SET.",
        )
