"""Secrets: the API key pepper, the invocation-token signing key, the webhook secret box key.

Each is a Secrets Manager secret encrypted with this stack's KMS key and injected into the API
and worker tasks by ECS (never in the task definition, never logged). The pepper is generated
here; the signing key (an RSA PKCS#8 PEM) and the box key (a Fernet key) have formats Secrets
Manager cannot generate, so `make infra-seed-secrets` writes them once after the first deploy
(the entrypoint refuses to start while they hold the placeholder).

No automatic rotation for these three, on purpose: the platform holds one value of each, so a
scheduled rotation would invalidate every stored API key hash (pepper), every sealed webhook
secret (box key), and tokens signed by tasks not yet restarted (signing key). Rotation is the
manual, staged procedure in docs/deployment.md until the platform reads a keyring
(current + previous). The database credentials and Redis token do rotate (data, cache stacks).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from agentry_infra import nag
from agentry_infra.config import EnvConfig

PLACEHOLDER = "SEED-ME"
_NO_ROTATION = (
    "The platform holds one value of this secret; a scheduled rotation would invalidate what "
    "was made with the old one (API key hashes, sealed webhook secrets, signed tokens). It is "
    "rotated by the staged manual procedure in docs/deployment.md until the app reads a keyring."
)


class SecretsStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, **kw: object) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix()}-secrets",
            description="Agentry application secrets",
            enable_key_rotation=True,
        )
        prefix = f"{config.prefix()}/"
        self.pepper = secretsmanager.Secret(
            self,
            "ApiKeyPepper",
            secret_name=f"{prefix}api-key-pepper",
            description="AGENTRY_API_KEY_PEPPER: HMAC pepper of API key hashes",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        self.signing_key = secretsmanager.Secret(
            self,
            "TokenSigningKey",
            secret_name=f"{prefix}token-signing-key",
            description="RSA PKCS#8 PEM that signs invocation tokens (make infra-seed-secrets)",
            encryption_key=self.key,
            secret_string_value=cdk.SecretValue.unsafe_plain_text(PLACEHOLDER),
        )
        self.webhook_box_key = secretsmanager.Secret(
            self,
            "WebhookSecretBoxKey",
            secret_name=f"{prefix}webhook-secret-key",
            description="AGENTRY_WEBHOOK_SECRET_KEY: Fernet key (make infra-seed-secrets)",
            encryption_key=self.key,
            secret_string_value=cdk.SecretValue.unsafe_plain_text(PLACEHOLDER),
        )
        for secret in (self.pepper, self.signing_key, self.webhook_box_key):
            nag.acknowledge(secret, "SMG4", _NO_ROTATION)
