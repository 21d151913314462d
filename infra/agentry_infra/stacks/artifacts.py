"""Artifacts: the S3 bucket of agent code zips, one per runtime region (AgentCore reads a
runtime's code from S3 in its own region). Versioned, encrypted, private, TLS only."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from agentry_infra import nag
from agentry_infra.config import EnvConfig


def bucket_name(config: EnvConfig, account: str, region: str) -> str:
    """Deterministic, so stacks in other regions (the API's) can name it without a reference."""
    return f"{config.prefix()}-artifacts-{account}-{region}"


class ArtifactsStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        replicate_to: str | None = None,
        **kw: object,
    ) -> None:
        """`replicate_to`: a region whose artifacts bucket gets every zip (the failover's), so
        the platform can create runtimes there from the same code after a region switch."""
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        destroy = not config.deletion_protection
        removal = cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=removal,
            auto_delete_objects=False,
        )
        nag.acknowledge(
            access_logs,
            "S1",
            "This is the access-log bucket of the artifacts bucket; logging it into itself "
            "would loop.",
        )
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            bucket_name=bucket_name(config, self.account, self.region),
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(90)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(2)),
            ],
            removal_policy=removal,
            replication_rules=[
                s3.ReplicationRule(
                    destination=s3.Bucket.from_bucket_attributes(
                        self,
                        "FailoverBucket",
                        bucket_name=bucket_name(config, self.account, replicate_to),
                        region=replicate_to,
                    ),
                    filter=s3.Filter(prefix="agents/"),
                    delete_marker_replication=False,
                    priority=1,
                )
            ]
            if replicate_to
            else None,
        )
        if replicate_to:
            # The replication role CDK makes reads object versions here and writes replicas
            # there: object ARNs under one bucket each.
            logical = self.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
            nag.acknowledge(
                self.bucket,
                f"IAM5[Resource::<{logical}.Arn>/*]",
                "S3 replication reads every object version of this bucket (its own role).",
            )
            nag.acknowledge(
                self.bucket,
                "IAM5[Resource::arn:<AWS::Partition>:s3:::"
                f"{bucket_name(config, self.account, replicate_to)}/*]",
                "S3 replication writes replicas into the failover region's artifacts bucket only.",
            )
