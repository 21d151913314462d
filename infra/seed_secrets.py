"""Seed the secrets Secrets Manager cannot generate, once, after the first deploy.

    python infra/seed_secrets.py dev
The token-signing key (RSA 2048, PKCS#8 PEM) and the webhook secret box key (Fernet) are
created by the secrets stack holding a placeholder; this writes real values into those still
holding it and leaves any seeded secret alone (so it is safe to run again). Prints names only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agentry_infra.config import HOME_REGION
from agentry_infra.stacks.secrets import PLACEHOLDER


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


GENERATORS: dict[str, Callable[[], str]] = {
    "token-signing-key": _rsa_pem,
    "webhook-secret-key": _fernet_key,
}


def seed(env: str, client: Any) -> dict[str, str]:
    """Seed each placeholder secret of `env`; returns name -> `seeded` | `already set`."""
    outcome: dict[str, str] = {}
    for suffix, generate in GENERATORS.items():
        name = f"agentry-{env}/{suffix}"
        current = client.get_secret_value(SecretId=name)["SecretString"]
        if current != PLACEHOLDER:
            outcome[name] = "already set"
            continue
        client.put_secret_value(SecretId=name, SecretString=generate())
        outcome[name] = "seeded"
    return outcome


def main(argv: list[str]) -> int:
    import boto3  # type: ignore[import-untyped]

    env = argv[0] if argv else ""
    client = boto3.client("secretsmanager", region_name=HOME_REGION)
    for name, result in seed(env, client).items():
        print(f"{name}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
