"""`agentry dev ...`: run the whole platform on one machine (what `make dev` calls)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from rich.console import Console

from agentry.config import Settings, get_settings
from agentry.kit.logging import configure_logging

app = typer.Typer(
    help="Local development: start, stop and seed the platform.", no_args_is_help=True
)
out = Console()
REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("runtime", "api")


def _pid_dir(settings: Settings) -> Path:
    return settings.home / "pids"


def _log_dir(settings: Settings) -> Path:
    return settings.home / "logs"


def _command(name: str) -> list[str]:
    base = [sys.executable, "-m", "agentry.cli.main"]
    return [*base, "runtime", "serve"] if name == "runtime" else [*base, "serve"]


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["AGENTRY_HOME"] = str(settings.home.resolve())
    # DEV ONLY: the local stack delivers webhooks to receivers on this machine.
    env.setdefault("AGENTRY_WEBHOOK_ALLOW_PRIVATE", "1")
    env.setdefault("AGENTRY_TOOL_TARGET_ALLOW_PRIVATE", "1")  # MCP servers on this machine
    return env


def _start(settings: Settings, name: str) -> int:
    _pid_dir(settings).mkdir(parents=True, exist_ok=True)
    _log_dir(settings).mkdir(parents=True, exist_ok=True)
    log = (_log_dir(settings) / f"{name}.log").open("ab")
    # A new session makes the service a process-group leader, so `down` can stop its children.
    proc = subprocess.Popen(
        _command(name),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=_child_env(settings),
        cwd=REPO_ROOT,
    )
    (_pid_dir(settings) / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return True
    return status != "Z"


def _stop_group(pid: int, grace_s: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def stop_all(settings: Settings) -> list[str]:
    stopped = []
    for name in reversed(SERVICES):
        pid_file = _pid_dir(settings) / f"{name}.pid"
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text().strip() or 0)
        if pid and _alive(pid):
            _stop_group(pid)
            stopped.append(name)
        pid_file.unlink(missing_ok=True)
    return stopped


def _wait_ok(url: str, timeout_s: float, pid: int) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return False
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _run_seed(settings: Settings) -> dict[str, str]:
    # Imported here: the whole app is slow to import, and other commands do not need it.
    from agentry.api_keys.pepper import api_key_pepper
    from agentry.seed import seed, write_env_file

    result = asyncio.run(seed(settings, api_key_pepper(settings), REPO_ROOT / "agents"))
    write_env_file(settings.home / "dev.env", result.env, Path(sys.executable).parent)
    return result.env


@app.command()
def up(foreground: bool = typer.Option(False, help="Run the API in the foreground.")) -> None:
    """Stop anything running, then start the runtime, seed, and start the API."""
    settings = get_settings()
    configure_logging("WARNING", json=False)
    stopped = stop_all(settings)
    if stopped:
        out.print(f"stopped previous {', '.join(stopped)}")
    with out.status("starting the local AgentCore runtime"):
        pid = _start(settings, "runtime")
        if not _wait_ok(f"{settings.runtime_url}/ping", 60, pid):
            out.print("[red]runtime did not start[/]\n" + _tail(_log_dir(settings) / "runtime.log"))
            stop_all(settings)
            raise typer.Exit(1)
    with out.status("migrating and seeding"):
        env = _run_seed(settings)
    if foreground:
        out.print(f"API on {settings.effective_public_url} (Ctrl-C stops everything)")
        try:
            subprocess.run(_command("api"), env=_child_env(settings), cwd=REPO_ROOT, check=False)
        finally:
            stop_all(settings)
        return
    with out.status("starting the API"):
        pid = _start(settings, "api")
        if not _wait_ok(f"{settings.effective_public_url}/readyz", 60, pid):
            out.print("[red]API did not become ready[/]\n" + _tail(_log_dir(settings) / "api.log"))
            stop_all(settings)
            raise typer.Exit(1)
    env_file = settings.home / "dev.env"
    out.print(f"[green]Agentry is up[/] on {env['AGENTRY_URL']}")
    out.print(f"credentials: {env_file} (tenants acme and globex; operator and developer keys)")
    # Plain echo: these lines are meant to be copied, so Rich must not wrap or style them.
    typer.echo("try:")
    typer.echo(f"  source {env_file}")
    typer.echo('  agentry invoke echo \'{"prompt": "hi"}\'')
    typer.echo(
        '  curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" -H "content-type: application/json" '
        '-d \'{"input":{"prompt":"hi"}}\' $AGENTRY_URL/v1/agents/echo/invoke'
    )


@app.command()
def down() -> None:
    """Stop every process `agentry dev up` started, agent sessions included."""
    stopped = stop_all(get_settings())
    out.print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("seed")
def seed_cmd() -> None:
    """Create the dev tenants, keys and sample agents (the runtime must be running)."""
    configure_logging("WARNING", json=False)
    env = _run_seed(get_settings())
    out.print(f"seeded; credentials for {', '.join(k for k in env if k != 'AGENTRY_URL')}")
