"""Network: the VPC of the home region, its flow logs and the VPC endpoints the tasks use."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from agentry_infra import nag
from agentry_infra.common import retention
from agentry_infra.config import EnvConfig

_INTERFACE_ENDPOINTS = {
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
}


class NetworkStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, **kw: object) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
            restrict_default_security_group=True,
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        # One group for the API and worker tasks, here so that the data and cache stacks can
        # admit it without a reference cycle through the API stack.
        self.app_sg = ec2.SecurityGroup(
            self, "AppTasks", vpc=self.vpc, description="Agentry API and worker tasks"
        )
        # The load balancer's group is here too: the rules between it and the tasks' group
        # then stay in this stack.
        self.alb_sg = ec2.SecurityGroup(
            self, "Alb", vpc=self.vpc, description="Agentry ALB", allow_all_outbound=False
        )
        self.alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")
        self.alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "redirect to HTTPS")
        nag.acknowledge(
            self.alb_sg,
            "EC23",
            "The public API is internet-facing by design (ports 80 and 443 only); WAF "
            "filters in front of it.",
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        app_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        # The endpoints admit the tasks' group only (HTTPS), not the whole VPC.
        endpoints_sg = ec2.SecurityGroup(
            self, "Endpoints", vpc=self.vpc, description="VPC interface endpoints",
            allow_all_outbound=False,
        )  # fmt: skip
        endpoints_sg.add_ingress_rule(self.app_sg, ec2.Port.tcp(443), "tasks to AWS APIs")
        for name, service in _INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name, service=service, subnets=app_subnets, private_dns_enabled=True,
                security_groups=[endpoints_sg], open=False,
            )  # fmt: skip
