"""The server-side pepper mixed into API key hashes (light import: the CLI uses it)."""

from __future__ import annotations

import secrets

from agentry.config import Settings


def api_key_pepper(settings: Settings) -> bytes:
    """The configured pepper, or locally a generated one kept in the state dir."""
    configured = settings.api_key_pepper.get_secret_value()
    if configured:
        return configured.encode()
    path = settings.home / "pepper"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
