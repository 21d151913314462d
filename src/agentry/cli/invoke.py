from __future__ import annotations

import json

import typer

from agentry.cli.client import ApiClient, err, print_json


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
    try:
        data = json.loads(payload)
    except ValueError as exc:
        err().print(f"[red]payload is not JSON:[/] {exc}")
        raise typer.Exit(2) from exc
    api = ApiClient(url, key, "AGENTRY_API_KEY", as_json, prefix="/v1/agents", timeout=timeout)
    body: dict[str, object] = {"input": data, "alias": alias}
    if session_id:
        body["session_id"] = session_id
    result = api.call("POST", f"/{agent}/invoke", json=body)
    print_json(result if as_json else result["output"])
