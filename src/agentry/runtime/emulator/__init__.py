"""Local AgentCore-compatible runtime (`agentry runtime serve`): control plane, data plane and
one OS process per runtime session. See `app.py` for the routes and the error contract.

Kept import-free: session processes import `emulator.host` and must not pay for the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from agentry.config import Settings

__all__ = ["create_app", "serve"]


def create_app(settings: Settings | None = None) -> Starlette:
    """The emulator as an ASGI app. Session processes live as long as its lifespan."""
    from agentry.runtime.emulator.app import create_app as build

    return build(settings)


def serve(
    settings: Settings | None = None, *, host: str | None = None, port: int | None = None
) -> None:
    """Run the emulator with uvicorn until SIGINT/SIGTERM; every session process is stopped."""
    import uvicorn

    from agentry.config import get_settings
    from agentry.kit.lifeline import watch_from_env
    from agentry.kit.logging import configure_logging

    watch_from_env()
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=host or settings.runtime_host,
        port=port if port is not None else settings.runtime_port,
        log_level="warning",
        access_log=False,
        # Longer than any client pool's keep-alive, so the client always closes first.
        timeout_keep_alive=120,
        timeout_graceful_shutdown=5,
    )
