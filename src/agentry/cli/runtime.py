"""`agentry runtime ...`: the local AgentCore-compatible runtime."""

from __future__ import annotations

import json

import typer

from agentry.cli.output import group

app = group("The local AgentCore-compatible runtime (emulator).")


@app.callback()
def _group() -> None:
    """The local AgentCore-compatible runtime (emulator)."""


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (default: AGENTRY_RUNTIME_HOST)."),
    port: int = typer.Option(None, help="Port to bind (default: AGENTRY_RUNTIME_PORT)."),
) -> None:
    """Serve the AgentCore control and data plane APIs; one process per runtime session."""
    from agentry.config import get_settings
    from agentry.runtime.emulator import serve as run

    settings = get_settings()
    run(settings, host=host or settings.runtime_host, port=port or settings.runtime_port)


@app.command()
def sessions(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the running runtime sessions of the local emulator."""
    import urllib.request

    from agentry.config import get_settings

    url = f"{get_settings().runtime_url}/_local/sessions"
    with urllib.request.urlopen(url, timeout=10) as resp:  # local emulator only
        items = json.load(resp)["sessions"]
    if as_json:
        print(json.dumps(items, indent=2))
        return
    from agentry.cli.output import out, table

    rows = table("runtime", "version", "session", "pid", "status", "inflight")
    for s in items:
        rows.add_row(
            s["runtimeId"], s["version"], s["sessionId"], str(s["pid"]), s["status"],
            str(s["inflight"]),
        )  # fmt: skip
    out().print(rows)


if __name__ == "__main__":
    app()
