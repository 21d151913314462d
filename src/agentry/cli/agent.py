"""`agentry agent ...`: the agent developer's loop: init, push, versions, promote, rollback.

Credentials: --url/--key, else AGENTRY_URL and AGENTRY_DEVELOPER_KEY from the environment or
.agentry/dev.env (`make dev` writes them). Every command takes --json for scripts.
Exit codes: 0 ok, 1 the platform refused or a step failed, 2 bad input (manifest, arguments).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from agentry.cli.client import ApiClient, err, print_json
from agentry.cli.options import Json, Url
from agentry.cli.output import group, out, table
from agentry.registry.names import agent_name_problem

app = group("Agent developers: build, push and roll out agents.")
KEY_ENV = "AGENTRY_DEVELOPER_KEY"
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "agent"

Key = Annotated[str | None, typer.Option("--key", help=f"Developer key (default ${KEY_ENV}).")]
Alias = Annotated[str, typer.Option("--alias", help="Alias to act on.")]


@app.callback()
def _group() -> None:
    """Agent developers: build, push and roll out agents."""


class Api(ApiClient):
    def __init__(self, url: str | None, key: str | None, as_json: bool) -> None:
        super().__init__(url, key, KEY_ENV, as_json, prefix="/v1/registry/agents", timeout=900)


def _usage_error(as_json: bool, code: str, detail: str) -> typer.Exit:
    if as_json:
        print_json({"ok": False, "error": {"code": code, "detail": detail}})
    else:
        err().print(f"[red]error[/] {detail}")
    return typer.Exit(2)


@app.command()
def init(
    name: str = typer.Argument(..., help="Agent name: a-z, 0-9 and '_', starting with a letter."),
    directory: Path = typer.Option(None, "--dir", help="Where to create it (default ./NAME)."),
    as_json: Json = False,
) -> None:
    """Scaffold a new agent from the echo template."""
    problem = agent_name_problem(name)
    if problem is not None:
        raise _usage_error(as_json, "invalid_name", problem)
    from agentry.registry.manifest import ManifestError, load_manifest

    target = directory or Path(name)
    if target.exists() and any(target.iterdir()):
        raise _usage_error(as_json, "exists", f"{target} exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    for template in sorted(TEMPLATE_DIR.iterdir()):
        if template.is_file():
            (target / template.name).write_text(template.read_text().format(name=name))
    try:
        load_manifest(target)
    except ManifestError as exc:
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
        raise _usage_error(as_json, exc.code, exc.detail) from exc
    files = sorted(p.name for p in target.iterdir())
    if as_json:
        print_json({"ok": True, "agent": name, "dir": str(target), "files": files})
    else:
        out().print(f"[green]created[/] {target}/ ({', '.join(files)})")
        out().print(f"next: edit {target}/main.py, then [bold]agentry agent push {target}[/]")


@app.command()
def validate(
    directory: Path = typer.Argument(..., help="The agent directory (with agent.toml)."),
    require_golden: bool = typer.Option(
        True, "--require-golden/--no-require-golden", help="Fail without golden cases."
    ),
    as_json: Json = False,
) -> None:
    """Check agent.toml here, as the platform will (the agent pipeline's first job)."""
    from agentry.registry.manifest import ManifestError, load_manifest

    try:
        manifest = load_manifest(directory)
    except ManifestError as exc:
        raise _usage_error(as_json, exc.code, exc.detail) from exc
    if require_golden and not manifest.golden:
        raise _usage_error(
            as_json, "no_golden_cases", f"{directory}/agent.toml: no golden cases to gate on"
        )
    if as_json:
        print_json({"ok": True, "agent": manifest.name, "golden": len(manifest.golden)})
    else:
        out().print(f"[green]valid[/] {manifest.name}: {len(manifest.golden)} golden case(s)")


class ManifestProblem(Exception):
    code = "invalid_manifest"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _manifest_name(directory: Path) -> str:
    """The agent's name from agent.toml; the rest of the manifest is checked by the platform."""
    import tomllib

    path = directory / "agent.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ManifestProblem(f"{path}: not found") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestProblem(f"{path}: {exc}") from exc
    name = data.get("name")
    if not isinstance(name, str):
        raise ManifestProblem(f"{path}: field 'name': a string is required")
    problem = agent_name_problem(name)
    if problem is not None:
        raise ManifestProblem(f"{path}: field 'name': {problem}")
    return name


class Steps:
    """Rich progress for humans, a list of step records for --json."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.records: list[dict[str, Any]] = []

    @contextmanager
    def run(self, label: str) -> Iterator[dict[str, Any]]:
        record: dict[str, Any] = {"step": label, "status": "ok"}
        started = time.perf_counter()
        try:
            if self.as_json:
                yield record
            else:
                with out().status(f"{label}..."):
                    yield record
        except typer.Exit:
            record["status"] = "failed"
            self.records.append(record | {"ms": round((time.perf_counter() - started) * 1000)})
            if not self.as_json:
                out().print(f"[red]✗[/] {label}")
            raise
        record.setdefault("ms", round((time.perf_counter() - started) * 1000))
        self.records.append(record)
        if not self.as_json:
            note = record.get("note", "")
            out().print(f"[green]✓[/] {label:<20} {record['ms']:>6} ms  [dim]{note}[/]")

    def done(self, label: str, note: str, ms: int = 0, status: str = "ok") -> None:
        self.records.append({"step": label, "status": status, "ms": ms, "note": note})
        if not self.as_json:
            mark = "[green]✓[/]" if status == "ok" else "[dim]-[/]"
            out().print(f"{mark} {label:<20} {ms:>6} ms  [dim]{note}[/]")


@app.command()
def push(
    directory: Path = typer.Argument(..., help="The agent directory (with agent.toml)."),
    alias: Alias = "live",
    canary: int = typer.Option(
        0, "--canary", min=0, max=99, help="Send this percent of new sessions to the new version."
    ),
    dotenv: Path = typer.Option(
        None, "--dotenv", help="Also write AGENT_NAME and AGENT_VERSION here (CI dotenv report)."
    ),
    as_json: Json = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Package, upload, build, health-gate and roll out an agent version."""
    started = time.perf_counter()
    from agentry.registry import packaging

    steps = Steps(as_json)
    try:
        with steps.run("package") as rec:
            name = _manifest_name(directory)
            archive = packaging.package_dir(directory)
            content_digest = packaging.digest(archive)
            rec["note"] = f"{len(archive)} bytes {content_digest[:19]}"
    except (ManifestProblem, packaging.PackagingError) as exc:
        raise _usage_error(as_json, exc.code, exc.detail) from exc
    api = Api(url, key, as_json)
    with steps.run("upload") as rec:
        # The platform validates the whole manifest (one schema, one place); its refusal of
        # the developer's files exits 2 like a local usage error.
        uploaded = api.call(
            "POST",
            f"/{name}/versions",
            content=archive,
            headers={"Content-Type": "application/zip", "X-Agentry-Digest": content_digest},
            bad_input=("invalid_manifest", "agent_name_mismatch"),
        )
        number = uploaded["version"]["number"]
        rec["note"] = (
            f"version {number}" if uploaded["created"] else f"unchanged: version {number} exists"
        )
    build_note = (
        "no requirements"
        if uploaded["layer"] is None
        else f"layer {uploaded['layer'][:12]} "
        + ("reused, no install" if uploaded["layer_reused"] else "built")
    )
    steps.done("build environment", build_note, round(uploaded["build_s"] * 1000))
    live = next((a for a in uploaded["aliases"] if a["name"] == alias), None)
    result: dict[str, Any] = {
        "ok": True,
        "agent": name,
        "version": number,
        "created": uploaded["created"],
        "digest": content_digest,
        "alias": alias,
    }
    if dotenv is not None:
        dotenv.write_text(f"AGENT_NAME={name}\nAGENT_VERSION={number}\n")
    if not uploaded["created"]:
        # Unchanged code never moves an alias: a rerun must not undo a rollback or a promote.
        serves = f"serves version {live['version']}" if live is not None else "does not exist"
        hint = (
            ""
            if live is not None and live["version"] == number
            else (f"; to route to it: agentry agent promote {name} {number} --alias {alias}")
        )
        steps.done("move alias", f"'{alias}' {serves}, left as is{hint}", status="skipped")
        _finish_push(steps, result | {"route": live}, started, as_json)
        return
    if canary and (live is None or live["version"] == number):
        raise _usage_error(as_json, "no_stable_version", "--canary needs an alias to split from")
    body: dict[str, Any] = (
        {"version": live["version"], "canary_version": number, "canary_weight": canary}
        if canary and live is not None
        else {"version": number}
    )
    # One call: the server starts the version, pings it, runs its golden cases and only then
    # moves the alias; its answer times each step.
    if as_json:
        moved = api.call("PUT", f"/{name}/aliases/{alias}", json=body)
    else:
        with out().status("start and ping, golden cases, move alias..."):
            moved = api.call("PUT", f"/{name}/aliases/{alias}", json=body)
    for gate in moved["gates"]:
        steps.done("start and ping", f"version {gate['version']}", gate["ping_ms"])
        steps.done("golden cases", f"{gate['golden_passed']} passed", gate["golden_ms"])
    route = moved["alias"]
    note = (
        f"'{alias}': {100 - route['canary_weight']}% v{route['version']}, "
        f"{route['canary_weight']}% v{route['canary_version']} (canary)"
        if route["canary_version"] is not None
        else f"'{alias}' → version {route['version']}"
    )
    steps.done("move alias", note)
    _finish_push(steps, result | {"route": route}, started, as_json)


def _finish_push(steps: Steps, result: dict[str, Any], started: float, as_json: bool) -> None:
    total = round((time.perf_counter() - started) * 1000)
    if as_json:
        print_json(result | {"steps": steps.records, "total_ms": total})
        return
    verb = "pushed" if result["created"] else "no new version (unchanged);"
    out().print(f"[bold]{verb}[/] {result['agent']} v{result['version']} in {total} ms")


@app.command()
def versions(
    name: str = typer.Argument(..., help="Agent name."),
    as_json: Json = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """List an agent's versions and where its aliases point."""
    api = Api(url, key, as_json)
    data = api.call("GET", f"/{name}/versions")
    if as_json:
        print_json(data)
        return
    out().print(versions_table(data))


def versions_table(data: dict[str, Any]) -> Any:
    """An agent's versions with who pushed each and the aliases (and canaries) on it."""
    routes: dict[int, list[str]] = {}
    for a in data["aliases"]:
        routes.setdefault(a["version"], []).append(a["name"])
        if a["canary_version"] is not None:
            routes.setdefault(a["canary_version"], []).append(
                f"{a['name']} (canary {a['canary_weight']}%)"
            )
    rows = table("version", "digest", "created", "by", "aliases")
    for v in data["items"]:
        rows.add_row(
            str(v["number"]), v["digest"][:19], v["created_at"][:19], v["created_by"] or "",
            ", ".join(routes.get(v["number"], [])),
        )  # fmt: skip
    return rows


def _print_alias(data: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        print_json(data)
        return
    state = data.get("alias", data)
    out().print(f"[green]{verb}[/] '{state['name']}' → version {state['version']}")


@app.command()
def promote(
    name: str = typer.Argument(..., help="Agent name."),
    version: int = typer.Argument(..., help="Version to route all new sessions to."),
    alias: Alias = "live",
    as_json: Json = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Point an alias at a version (after its health gate)."""
    api = Api(url, key, as_json)
    _print_alias(
        api.call("PUT", f"/{name}/aliases/{alias}", json={"version": version}), as_json, "promoted"
    )


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Agent name."),
    alias: Alias = "live",
    as_json: Json = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Drop a running canary, or move the alias back to its previous version."""
    api = Api(url, key, as_json)
    _print_alias(api.call("POST", f"/{name}/aliases/{alias}/rollback"), as_json, "rolled back")


@app.command()
def logs(
    name: str = typer.Argument(..., help="Agent name."),
    session: str = typer.Option(None, "--session", help="Only sessions whose id contains this."),
    lines: int = typer.Option(200, "--lines", min=1, max=5000, help="Lines per session log."),
    as_json: Json = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Show the latest session logs of an agent (local runtime)."""
    api = Api(url, key, as_json)
    params: dict[str, Any] = {"lines": lines}
    if session:
        params["session"] = session
    data = api.call("GET", f"/{name}/logs", params=params)
    if as_json:
        print_json(data)
    elif not data["files"]:
        out().print("[dim]no session logs yet[/]")
    else:
        typer.echo(data["text"])


@app.command()
def invoke(
    name: str = typer.Argument(..., help="Agent name."),
    payload: str = typer.Argument("{}", help="JSON input for the agent."),
    session: str = typer.Option(None, "--session", help="Session id to continue."),
    alias: Alias = "live",
    as_json: Json = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Invoke an agent through the platform with the developer key."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise _usage_error(as_json, "invalid_json", f"payload is not JSON: {exc}") from exc
    api = Api(url, key, as_json)
    body: dict[str, Any] = {"input": data, "alias": alias}
    if session:
        body["session_id"] = session
    result = api.call("POST", f"{api.root}/v1/agents/{name}/invoke", json=body)
    print_json(result if as_json else result["output"])
