"""Data: Aurora PostgreSQL Serverless v2 in isolated subnets, encrypted with its own KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from agentry_infra import nag
from agentry_infra.common import retention
from agentry_infra.config import EnvConfig

DB_PORT = 5433  # not the engine default (AwsSolutions-RDS11)
DB_NAME = "agentry"


class DataStack(cdk.Stack):
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
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix()}-data",
            description="Agentry database storage, snapshots and credentials",
            enable_key_rotation=True,
        )
        cluster_id = f"{config.prefix()}-db"
        # The log group RDS exports to, made here with its retention (no LogRetention Lambda).
        db_logs = logs.LogGroup(
            self,
            "DbLogs",
            log_group_name=f"/aws/rds/cluster/{cluster_id}/postgresql",
            retention=retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Db",
            cluster_identifier=cluster_id,
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_17_5
            ),
            writer=rds.ClusterInstance.serverless_v2("writer", publicly_accessible=False),
            readers=[
                rds.ClusterInstance.serverless_v2(
                    f"reader{i}", scale_with_writer=True, publicly_accessible=False
                )
                for i in range(config.db_readers)
            ],
            serverless_v2_min_capacity=config.db_min_acu,
            serverless_v2_max_capacity=config.db_max_acu,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            port=DB_PORT,
            default_database_name=DB_NAME,
            credentials=rds.Credentials.from_generated_secret(
                "agentry",
                encryption_key=self.key,
                # The entrypoint puts the password in a URL: keep it URL-safe.
                exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\=,^",
            ),
            storage_encrypted=True,
            storage_encryption_key=self.key,
            backup=rds.BackupProps(
                retention=cdk.Duration.days(config.backup_retention_days),
                preferred_window="02:00-03:00",
            ),
            preferred_maintenance_window="Sun:03:30-Sun:04:30",
            deletion_protection=config.deletion_protection,
            removal_policy=(
                cdk.RemovalPolicy.SNAPSHOT
                if config.deletion_protection
                else cdk.RemovalPolicy.DESTROY
            ),
            iam_authentication=True,
            cloudwatch_logs_exports=["postgresql"],
            storage_type=rds.DBClusterStorageType.AURORA,
        )
        self.cluster.node.add_dependency(db_logs)
        self.cluster.connections.allow_default_port_from(app_sg, "API and worker tasks")
        self.secret = self.cluster.secret
        self.cluster.add_rotation_single_user(automatically_after=cdk.Duration.days(30))
        if not config.deletion_protection:
            nag.acknowledge(
                self.cluster,
                "RDS10",
                f"{config.name} is a throwaway environment that `make infra-destroy` removes; "
                "staging and prod set deletion protection.",
            )
