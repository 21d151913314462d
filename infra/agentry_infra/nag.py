"""cdk-nag: the AwsSolutions pack as a synth-time gate, and justified acknowledgments.

Every acknowledgment goes through `acknowledge()` with a reason; `app.synth()` raises on any
finding without one, so `make infra-synth` fails the same way CI does.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct


def enable(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge AwsSolutions `rule` (e.g. `IAM5[Resource::*]`) on `scope` and below."""
    if len(reason) < 20:
        raise ValueError(f"acknowledgment of {rule} needs a real reason")
    cdk.Validations.of(scope).acknowledge(
        cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
    )
