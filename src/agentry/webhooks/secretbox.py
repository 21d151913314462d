"""Webhook signing secrets: `whsec_` + base64 key (Standard Webhooks), stored Fernet-encrypted.

The secret must be recoverable to sign, so it is encrypted (not hashed) with a key from
settings (`AGENTRY_WEBHOOK_SECRET_KEY`) or, locally, a per-home generated key file.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet

from agentry.config import Settings


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _key(settings: Settings) -> bytes:
    configured = settings.webhook_secret_key.get_secret_value()
    if configured:
        return configured.encode()
    if settings.profile != "local":
        raise RuntimeError("AGENTRY_WEBHOOK_SECRET_KEY is required outside the local profile")
    path = settings.home / "webhook-secret.key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        tmp = settings.home / f".webhook-secret.{os.getpid()}.tmp"
        tmp.write_bytes(Fernet.generate_key())
        tmp.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return Path(path).read_bytes().strip()


class SecretBox:
    def __init__(self, settings: Settings) -> None:
        self._fernet = Fernet(_key(settings))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
