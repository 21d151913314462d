"""`agentry ops gateway apply`: the AgentCore Gateway and its platform target (aws profile).

Talks to AWS directly with the operator's credentials (boto3's usual chain); run it after
`make infra-deploy` and set the printed id as AGENTRY_GATEWAY_ID. Exit 1 when AWS refuses.
"""

from __future__ import annotations

import json
import os

import typer

from agentry.cli.output import err, group, out

app = group("The AgentCore Gateway (aws profile).")


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


@app.command("apply")
def apply(
    name: str = typer.Option("agentry-tools", "--name", help="Gateway name."),
    role_arn: str = typer.Option(
        None, "--role-arn", help="Gateway service role (default $AGENTRY_GATEWAY_ROLE_ARN)."
    ),
    interceptor_arn: str = typer.Option(
        None,
        "--interceptor-arn",
        help="Interceptor Lambda ARN (default $AGENTRY_GATEWAY_INTERCEPTOR_ARN).",
    ),
    public_url: str = typer.Option(
        None, "--public-url", help="The API's public https URL (default $AGENTRY_PUBLIC_URL)."
    ),
    region: str = typer.Option(None, "--region", help="Default $AGENTRY_AWS_REGION."),
    kms_key_arn: str = typer.Option(None, "--kms-key-arn", help="Customer managed key."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Create or update the gateway (JWT authorizer on the platform's issuer, the interceptor
    Lambda) and its `agentry` target (the API's MCP endpoint)."""
    role_arn = role_arn or _env("AGENTRY_GATEWAY_ROLE_ARN") or ""
    interceptor_arn = interceptor_arn or _env("AGENTRY_GATEWAY_INTERCEPTOR_ARN") or ""
    public_url = (public_url or _env("AGENTRY_PUBLIC_URL") or "").rstrip("/")
    issuer = (_env("AGENTRY_TOKEN_ISSUER") or public_url).rstrip("/")
    missing = [
        n
        for n, v in (
            ("--role-arn", role_arn),
            ("--interceptor-arn", interceptor_arn),
            ("--public-url", public_url),
        )
        if not v
    ]
    if missing or not public_url.startswith("https://"):
        err().print(
            f"[red]error[/] bad_usage: need {', '.join(missing) or 'an https --public-url'}"
        )
        raise typer.Exit(2)
    import boto3  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError

    from agentry.gateway.apply import GatewaySpec, apply_gateway

    spec = GatewaySpec(
        name=name,
        role_arn=role_arn,
        issuer=issuer,
        interceptor_lambda_arn=interceptor_arn,
        mcp_url=f"{public_url}/agent/mcp",
        kms_key_arn=kms_key_arn,
    )
    region = region or _env("AGENTRY_AWS_REGION") or "eu-west-1"
    try:
        client = boto3.client("bedrock-agentcore-control", region_name=region)
        applied = apply_gateway(client, spec)
    except (BotoCoreError, ClientError) as exc:
        err().print(f"[red]error[/] aws: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        body = {
            "gateway_id": applied.gateway_id,
            "gateway_created": applied.gateway_created,
            "target_id": applied.target_id,
            "target_created": applied.target_created,
        }
        typer.echo(json.dumps(body))
        return
    verb = "created" if applied.gateway_created else "updated"
    out().print(f"gateway {applied.gateway_id} {verb}; target agentry {applied.target_id}")
    typer.echo(f"set AGENTRY_GATEWAY_ID={applied.gateway_id}")
