"""The CLI stays thin: API-client commands never import the server or its libraries.

A behaviour test, not a timing test: what a command imports decides its start-up cost (issue 10).
"""

from __future__ import annotations

import json
import subprocess
import sys

from agentry.testing.stack import free_port

# Modules only the server, the database or the runtime need. (pydantic itself is not here:
# Typer 0.29 coerces command parameters with it.)
SERVER_ONLY = (
    "sqlalchemy",
    "alembic",
    "aiohttp",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "pydantic_settings",
    "asyncpg",
    "aiosqlite",
    "boto3",
    "mcp",
    "agentry.app",
    "agentry.config",
    "agentry.platform",
    "agentry.audit",
    "agentry.jobs",
    "agentry.kit.db",
    "agentry.registry.manifest",
)

PROBE = """
import json, sys
from agentry.cli.main import app
for args in json.loads(sys.argv[1]):
    try:
        app(args, standalone_mode=False)
    except BaseException:
        pass
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_after(*commands: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(commands))],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "AGENTRY_HOME": "/nonexistent"},
        check=True,
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _server_modules(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == s or m.startswith(f"{s}.") for s in SERVER_ONLY))


def test_importing_the_cli_loads_no_server_module() -> None:
    loaded = _loaded_after()
    assert "agentry.cli.main" in loaded
    assert _server_modules(loaded) == []
    assert "rich" not in loaded  # consoles are made on first use
    assert "pydantic" not in loaded


def test_api_client_commands_load_no_server_module() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: each command fails fast
    loaded = _loaded_after(
        ["--help"],
        ["invoke", "echo", '{"prompt": "hi"}', "--url", dead, "--key", "k"],
        ["agent", "versions", "echo", "--url", dead, "--key", "k"],
        ["agent", "rollback", "echo", "--url", dead, "--key", "k", "--json"],
        ["ops", "tenants", "list", "--url", dead, "--key", "k"],
        ["ops", "tools", "list", "--url", dead, "--key", "k"],
        ["ops", "usage", "--url", dead, "--key", "k"],
    )
    assert "agentry.cli.http" in loaded  # the commands did run up to their request
    assert _server_modules(loaded) == []


def test_the_probe_would_see_a_server_import() -> None:
    # The same probe after a command that does need the database: proves the check can fail.
    loaded = _loaded_after(["db", "upgrade", "--help"], ["ops", "audit", "verify"])
    assert "sqlalchemy" in _server_modules(loaded) or "agentry.config" in loaded
