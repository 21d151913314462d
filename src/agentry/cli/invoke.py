from __future__ import annotations

import json

import httpx
import typer

from agentry.cli.client import err, fail_from, print_json, resolve


def invoke(
    agent: str = typer.Argument(..., help="Agent name, e.g. echo."),
    payload: str = typer.Argument("{}", help="JSON input for the agent."),
    session_id: str = typer.Option(None, "--session", help="Session id to continue."),
    alias: str = typer.Option("live", help="Alias to call."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole response as JSON."),
    url: str = typer.Option(None, help="API base URL (default $AGENTRY_URL)."),
    key: str = typer.Option(None, help="API key (default $AGENTRY_API_KEY)."),
    timeout: float = typer.Option(900.0, help="Seconds to wait."),
) -> None:
    """Invoke an agent synchronously and print its output."""
    base, api_key = resolve(url, key)
    try:
        data = json.loads(payload)
    except ValueError as exc:
        err.print(f"[red]payload is not JSON:[/] {exc}")
        raise typer.Exit(2) from exc
    body: dict[str, object] = {"input": data, "alias": alias}
    if session_id:
        body["session_id"] = session_id
    response = httpx.post(
        f"{base}/v1/agents/{agent}/invoke",
        json=body,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=timeout,
    )
    if response.status_code != 200:
        raise fail_from(response)
    result = response.json()
    print_json(result if as_json else result["output"])
