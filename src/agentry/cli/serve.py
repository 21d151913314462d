from __future__ import annotations

import typer


def serve(
    host: str = typer.Option(None, help="Bind address (default AGENTRY_API_HOST)."),
    port: int = typer.Option(None, help="Port (default AGENTRY_API_PORT)."),
    workers: int = typer.Option(None, help="Worker processes (default AGENTRY_API_WORKERS)."),
) -> None:
    """Run the API server."""
    import uvicorn

    from agentry.config import get_settings
    from agentry.kit.lifeline import watch_from_env

    watch_from_env()
    settings = get_settings()
    uvicorn.run(
        "agentry.app:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers or settings.api_workers,
        access_log=False,
        # X-Forwarded-For is read by the app, only from AGENTRY_TRUSTED_PROXIES; uvicorn's
        # default trusts it from 127.0.0.1, which let any local client pick its address.
        proxy_headers=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
