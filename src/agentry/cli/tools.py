"""`agentry ops tools ...`: the tool gateway's tools, tier grants and external MCP targets.

Talks to the API with the operator key: --url/--key, else AGENTRY_URL and AGENTRY_OPERATOR_KEY
from the environment or .agentry/dev.env (`make dev` writes them). Every command takes --json.
Exit codes: 0 ok, 1 the platform refused (the problem's code is printed), 2 bad usage.
"""

from __future__ import annotations

from typing import Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, OperatorKey, Url
from agentry.cli.output import group, out, table

app = group("Tools, their tiers and external MCP targets.")
targets_app = group("External MCP servers as tool targets.")
app.add_typer(targets_app, name="targets")
KEY_ENV = "AGENTRY_OPERATOR_KEY"


class Api(ApiClient):
    def __init__(self, url: str | None, key: str | None, as_json: bool) -> None:
        # Registering connects to the remote server, which may take up to its timeout.
        super().__init__(url, key, KEY_ENV, as_json, prefix="/v1/admin", timeout=60)


def _tiers(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def _print_target(target: dict[str, Any]) -> None:
    auth = "yes" if target["has_auth_header"] else "no"
    out().print(f"[bold]{target['name']}[/]  {target['url']}  credential: {auth}")
    rows = table("tool", "tiers", "description")
    for tool in target["tools"]:
        rows.add_row(tool["name"], ",".join(tool["tiers"]), tool["description"][:60])
    out().print(rows)


@app.command("list")
def list_tools(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """Every tool (built-in and external) and the tiers that get it."""
    tools = Api(url, key, as_json).call("GET", "/tools")
    if as_json:
        print_json(tools)
        return
    rows = table("tool", "tiers", "description")
    for tool in tools:
        rows.add_row(tool["name"], ",".join(tool["tiers"]), tool["description"][:60])
    out().print(rows)


@app.command("grant")
def grant(
    tool: str = typer.Argument(..., help="Full tool name, e.g. insights___forecast."),
    tiers: str = typer.Option(..., "--tiers", help="Comma-separated: basic,standard,premium."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Set which tiers may call a tool (takes effect at once; audited)."""
    result = Api(url, key, as_json).call("PUT", f"/tools/{tool}", json={"tiers": _tiers(tiers)})
    if as_json:
        print_json(result)
    else:
        out().print(
            f"[green]granted[/] {result['name']} to {','.join(result['tiers']) or 'no tier'}"
        )


@targets_app.command("add")
def add_target(
    name: str = typer.Argument(..., help="Target name: a-z, 0-9, '-'; tools become NAME___tool."),
    target_url: str = typer.Argument(..., metavar="URL", help="The server's MCP endpoint."),
    tiers: str = typer.Option(None, "--tiers", help="Default tiers of its tools (premium)."),
    auth_header: str = typer.Option(
        None, "--auth-header", help="'Header-Name: value' sent to the server (stored sealed)."
    ),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Register an external MCP server: the platform connects and lists its tools."""
    body: dict[str, Any] = {"name": name, "url": target_url}
    if tiers is not None:
        body["tiers"] = _tiers(tiers)
    if auth_header is not None:
        body["auth_header"] = auth_header
    api = Api(url, key, as_json)
    if as_json:
        print_json(api.call("POST", "/tool-targets", json=body))
        return
    with out().status(f"connecting to {target_url}..."):
        target = api.call("POST", "/tool-targets", json=body)
    out().print(f"[green]added[/] {name}: {len(target['tools'])} tool(s)")
    _print_target(target)


@targets_app.command("list")
def list_targets(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """Registered external MCP servers and their tools."""
    items = Api(url, key, as_json).call("GET", "/tool-targets")["items"]
    if as_json:
        print_json(items)
        return
    if not items:
        out().print("no external tool targets")
    for target in items:
        _print_target(target)


@targets_app.command("refresh")
def refresh_target(
    name: str = typer.Argument(..., help="Target name."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """List the server's tools again and serve the new list."""
    api = Api(url, key, as_json)
    if as_json:
        print_json(api.call("POST", f"/tool-targets/{name}/refresh"))
        return
    with out().status(f"refreshing {name}..."):
        target = api.call("POST", f"/tool-targets/{name}/refresh")
    out().print(f"[green]refreshed[/] {name}: {len(target['tools'])} tool(s)")
    _print_target(target)


@targets_app.command("remove")
def remove_target(
    name: str = typer.Argument(..., help="Target name."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Remove a target: its tools disappear for every agent at once."""
    Api(url, key, as_json).call("DELETE", f"/tool-targets/{name}")
    if as_json:
        print_json({"ok": True, "removed": name})
    else:
        out().print(f"[green]removed[/] {name}")
