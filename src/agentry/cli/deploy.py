"""`agentry deploy ...`: the pipeline's deploy steps (docs/pipeline.md).

`api`: the API's canary through CodeDeploy, rolled back on an alarm. `verify`: the post-deploy
verification against a running platform. `rehearse`: both ends of that on a local stack.
Exit codes: 0 deployed/verified, 1 rolled back or failed, 2 bad input.
"""

from __future__ import annotations

import os
from typing import Any

import typer

from agentry.cli.options import Json
from agentry.cli.output import group, print_json

app = group("Deploy steps of the delivery pipeline.")


def _clients(region: str | None) -> dict[str, Any]:
    """AWS clients; credentials from the environment (in CI: the job's OIDC web identity)."""
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(region_name=region)
    return {
        name: session.client(name) for name in ("codedeploy", "cloudwatch", "ecs", "cloudformation")
    }


@app.command("api")
def api(
    stack: str = typer.Option(
        None, "--stack", help="API stack whose outputs name the canary (CanaryApplication, ...)."
    ),
    application: str = typer.Option(None, "--application", help="CodeDeploy application."),
    deployment_group: str = typer.Option(None, "--deployment-group", help="Deployment group."),
    alarm: list[str] = typer.Option([], "--alarm", help="Canary alarm name (repeatable)."),
    task_definition: str = typer.Option(None, "--task-definition", help="Task definition ARN."),
    image: str = typer.Option(
        None, "--image", help="Image URI: registers a new revision of --family with it."
    ),
    family: str = typer.Option(
        None, "--family", help="Task definition family (default: the stack's ApiTaskFamily)."
    ),
    region: str = typer.Option(None, "--region", help="AWS region (default from environment)."),
    poll_s: float = typer.Option(15.0, "--poll-s", min=0.0, help="Seconds between polls."),
    timeout_s: float = typer.Option(3600.0, "--timeout-s", min=1.0, help="Give up and roll back."),
    as_json: Json = False,
) -> None:
    """Deploy the API as a canary; stop with rollback and exit 1 if an alarm fires."""
    from agentry.delivery import canary

    if bool(task_definition) == bool(image):
        typer.echo("error: give exactly one of --task-definition and --image", err=True)
        raise typer.Exit(2)
    aws = _clients(region)
    if stack:
        found = canary.target_from_stack(aws["cloudformation"], stack)
        target = canary.Target(
            application or found.application,
            deployment_group or found.deployment_group,
            tuple(alarm) or found.alarms,
            found.container,
            found.port,
            family or found.family,
        )
    elif application and deployment_group:
        target = canary.Target(
            application, deployment_group, tuple(alarm), family=family or "agentry-api"
        )
    else:
        typer.echo("error: give --stack, or --application and --deployment-group", err=True)
        raise typer.Exit(2)
    if not target.alarms:
        typer.echo("error: a canary needs at least one alarm to watch", err=True)
        raise typer.Exit(2)
    revision = task_definition or canary.register_revision(
        aws["ecs"], target.family, target.container, image
    )
    outcome = canary.deploy(
        aws["codedeploy"],
        aws["cloudwatch"],
        target,
        revision,
        description=f"agentry {image or revision}",
        poll_s=poll_s,
        timeout_s=timeout_s,
        report=(lambda _line: None) if as_json else typer.echo,
    )
    if as_json:
        print_json(
            {
                "ok": outcome.ok,
                "status": outcome.status,
                "deployment_id": outcome.deployment_id,
                "task_definition": revision,
                "alarms": outcome.alarms,
                "detail": outcome.detail,
            }
        )
    elif not outcome.ok:
        typer.echo(f"deploy FAILED: {outcome.status} ({outcome.detail})", err=True)
    raise typer.Exit(0 if outcome.ok else 1)


@app.command("verify")
def verify_cmd(
    url: str = typer.Option(None, "--url", help="Platform URL (default $AGENTRY_URL)."),
    key: str = typer.Option(
        None, "--key", help="Smoke tenant's API key (default $AGENTRY_API_KEY)."
    ),
    rounds: int = typer.Option(3, "--rounds", min=1, max=100, help="Smoke rounds (3 calls each)."),
    max_error_rate: float = typer.Option(0.01, "--max-error-rate", min=0.0, max=1.0),
    max_p99_s: float = typer.Option(2.5, "--max-p99-s", min=0.0),
    as_json: Json = False,
) -> None:
    """Smoke calls in sync, stream and job mode, then the 5xx rate and p99 from /metrics."""
    from agentry.cli.client import resolve
    from agentry.delivery.verify import verify

    base, secret = resolve(url, key)
    result = verify(
        base,
        secret,
        rounds=rounds,
        max_error_rate=max_error_rate,
        max_p99_s=max_p99_s,
        metrics_token=os.environ.get("AGENTRY_METRICS_TOKEN", ""),
    )
    if as_json:
        print_json(result.as_dict())
    else:
        for smoke in result.smokes:
            typer.echo(
                f"{'ok  ' if smoke.ok else 'FAIL'} {smoke.mode:<6} {smoke.ms:>6} ms {smoke.detail}"
            )
        typer.echo(
            f"{result.requests:.0f} requests, 5xx {result.error_rate:.1%}, p99 <= {result.p99_s} s"
        )
        typer.echo("verified" if result.ok else f"FAILED: {'; '.join(result.reasons())}")
    raise typer.Exit(0 if result.ok else 1)


@app.command("rehearse")
def rehearse_cmd(
    build: list[str] = typer.Option(
        ["good"], "--build", help="Build to deploy as green: good | broken (repeatable, in order)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Exit 0 when each broken build rolled back and each good one passed."
    ),
    max_error_rate: float = typer.Option(0.01, "--max-error-rate", min=0.0, max=1.0),
    max_p99_s: float = typer.Option(5.0, "--max-p99-s", min=0.0),
    as_json: Json = False,
) -> None:
    """Blue/green on a local stack: verify each green build; a failed one takes the rollback
    path. Exit 1 when any build rolled back (with --check: when any did the unexpected)."""
    from agentry.delivery.rehearsal import BUILDS, rehearse

    unknown = [b for b in build if b not in BUILDS]
    if unknown:
        typer.echo(f"error: unknown build {unknown[0]!r} (one of {', '.join(BUILDS)})", err=True)
        raise typer.Exit(2)
    results = rehearse(
        build,
        max_error_rate=max_error_rate,
        max_p99_s=max_p99_s,
        report=(lambda _line: None) if as_json else typer.echo,
    )
    if check:
        expected = {"good": "passed", "broken": "rolled_back"}
        ok = all(
            r.outcome == expected[r.build]
            and (r.blue_after_rollback is None or r.blue_after_rollback.ok)
            for r in results
        )
    else:
        ok = all(r.outcome == "passed" for r in results)
    if as_json:
        print_json({"ok": ok, "rehearsals": [r.as_dict() for r in results]})
    else:
        for r in results:
            typer.echo(f"{r.build}: {r.outcome}")
    raise typer.Exit(0 if ok else 1)
