"""Checks a make target runs before anything that talks to AWS; fails at once, in one line.

    python infra/preflight.py deploy dev
Exit 0 silently when the target can go ahead; exit 2 with one line on stderr saying what is
missing. It never calls AWS: credentials are only looked up (botocore's provider chain, with
the instance metadata service skipped unless AGENTRY_INFRA_USE_IMDS=1, so a laptop without
credentials does not wait on 169.254.169.254).
"""

from __future__ import annotations

import os
import shutil
import sys

ACTIONS = ("diff", "bootstrap", "deploy", "destroy", "seed-secrets")
ENVIRONMENTS = ("dev", "staging", "prod")


def problem(action: str, env: str) -> str | None:
    """What stops `make infra-<action> ENV=<env>`, or None."""
    target = f"make infra-{action}"
    if action not in ACTIONS:
        return f"{target}: unknown action"
    if env not in ENVIRONMENTS:
        return f"{target}: ENV must be one of {', '.join(ENVIRONMENTS)} (got {env or 'nothing'})"
    if action == "destroy" and env != "dev":
        return f"{target}: refused for ENV={env}; only dev can be destroyed from make"
    if os.environ.get("AGENTRY_INFRA_USE_IMDS") != "1":
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:
        credentials = botocore.session.Session().get_credentials()
    except BotoCoreError as error:  # e.g. a named profile that does not exist
        return f"{target}: AWS credentials could not be loaded: {error}"
    if credentials is None:
        return (
            f"{target}: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or run `aws sso login`)"
        )
    if action in {"diff", "bootstrap", "deploy", "destroy"} and not shutil.which("npm"):
        return f"{target}: npm is missing (it installs the pinned CDK CLI into infra/node_modules)"
    if action == "deploy" and not shutil.which("docker"):
        return f"{target}: docker is missing (cdk deploy builds the API and interceptor images)"
    return None


def main(argv: list[str]) -> int:
    action, env = ([*argv, "", ""])[:2]
    found = problem(action, env)
    if found:
        print(found, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
