"""`agentry dev ...`: run the whole platform on one machine (what `make dev` calls)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from agentry.cli.http import HttpClient, HttpError
from agentry.cli.output import err, group, out
from agentry.kit.lifeline import ENV as LIFELINE_ENV

if TYPE_CHECKING:
    from agentry.config import Settings

app = group("Local development: start, stop and seed the platform.")
REPO_ROOT = Path(__file__).resolve().parents[3]


def _pid_dir(settings: Settings) -> Path:
    return settings.home / "pids"


def _log_dir(settings: Settings) -> Path:
    return settings.home / "logs"


def _command(name: str) -> list[str]:
    base = [sys.executable, "-m", "agentry.cli.main"]
    return [*base, "runtime", "serve"] if name.startswith("runtime") else [*base, "serve"]


def local_regions(settings: Settings) -> list[tuple[str, str, dict[str, str]]]:
    """(service name, runtime URL, env) of each local emulator: one per runtime region, the
    first named `runtime`, the others `runtime-<region>` with a state directory of their own."""
    if settings.profile != "local" or len(settings.runtime_regions) < 2:
        return [("runtime", settings.runtime_url, {})]
    found = []
    for index, (region, ends) in enumerate(settings.effective_runtime_regions.items()):
        parts = urllib.parse.urlsplit(ends.runtime_url)
        name = "runtime" if index == 0 else f"runtime-{region}"
        env = {
            "AGENTRY_AWS_REGION": region,
            "AGENTRY_RUNTIME_URL": ends.runtime_url,
            "AGENTRY_RUNTIME_PORT": str(parts.port or 80),
        }
        if index:
            env["AGENTRY_RUNTIME_STATE_DIR"] = str((settings.home / name).resolve())
        found.append((name, ends.runtime_url, env))
    return found


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["AGENTRY_HOME"] = str(settings.home.resolve())
    # DEV ONLY: the local stack delivers webhooks to receivers on this machine.
    env.setdefault("AGENTRY_WEBHOOK_ALLOW_PRIVATE", "1")
    env.setdefault("AGENTRY_TOOL_TARGET_ALLOW_PRIVATE", "1")  # MCP servers on this machine
    return env


def _start(
    settings: Settings, name: str, lifeline: bool = False, extra: dict[str, str] | None = None
) -> int:
    _pid_dir(settings).mkdir(parents=True, exist_ok=True)
    _log_dir(settings).mkdir(parents=True, exist_ok=True)
    log = (_log_dir(settings) / f"{name}.log").open("ab")
    env = _child_env(settings) | (extra or {})
    if lifeline:
        env[LIFELINE_ENV] = str(os.getpid())
    # A new session makes the service a process-group leader, so `down` can stop its children.
    proc = subprocess.Popen(
        _command(name),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        cwd=REPO_ROOT,
    )
    log.close()
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


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process of the group is left (its sockets may still be bound)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the command name, which may hold spaces: state, ppid, pgrp.
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == pgid and state != "Z":
            return True
    return not Path("/proc/self/stat").exists()  # no /proc: trust killpg


def _stop_group(pid: int, grace_s: float = 10.0, kill_wait_s: float = 5.0) -> None:
    """SIGTERM the group, SIGKILL what is left after `grace_s`, then wait until every member is
    gone: a restart binds the same ports at once, and a killed member may still hold them."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + kill_wait_s
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.05)


def stop_all(settings: Settings) -> list[str]:
    stopped = []
    runtimes = sorted(p.stem for p in _pid_dir(settings).glob("runtime*.pid"))
    for name in ["api", *runtimes]:
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
    client = HttpClient(url, timeout=1.0)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not _alive(pid):
                return False
            try:
                if client.request("GET", "").status_code == 200:
                    return True
            except HttpError:
                pass
            time.sleep(0.1)
        return False
    finally:
        client.close()


def _settings_or_exit() -> Settings:
    try:
        return _load_settings()
    except DevError as exc:
        err().print(f"[red]error[/] {exc}")
        raise typer.Exit(2) from exc


class DevError(Exception):
    """A start-up step failed: one line of cause and what to do."""


def _load_settings() -> Settings:
    from pydantic import ValidationError

    from agentry.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise DevError(f"bad setting{f' {where}' if where else ''}: {message}") from exc


def _check_port_free(host: str, port: int, setting: str, wait_s: float = 3.0) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            # As uvicorn binds: connections of a server just stopped (TIME_WAIT) do not count,
            # only a process listening there does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                return
            except OSError as exc:
                # A server stopped a moment ago may not have released it yet.
                if time.monotonic() >= deadline:
                    raise DevError(
                        f"port {port} ({setting}) on {host} is taken by another process: stop "
                        f"it, or set {setting} to a free port"
                    ) from exc
        time.sleep(0.1)


@contextlib.contextmanager
def _stop_on_signal(settings: Settings) -> Iterator[None]:
    """While starting: SIGTERM/SIGHUP/Ctrl-C stop whatever was started, then exit."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        stop_all(settings)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _run_seed(settings: Settings) -> dict[str, str]:
    # Imported here: the whole app is slow to import, and other commands do not need it.
    import asyncio
    import traceback

    from agentry.api_keys.pepper import PepperRing
    from agentry.seed import seed, write_env_file

    try:
        result = asyncio.run(seed(settings, PepperRing(settings).current, REPO_ROOT / "agents"))
    except Exception as exc:
        log = _log_dir(settings) / "seed.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        cause = str(exc).splitlines()[0] if str(exc) else ""
        raise DevError(
            f"migrating and seeding failed: {type(exc).__name__}: {cause[:300]} "
            f"(traceback in {log}; `make dev-logs` shows the runtime's log)"
        ) from exc
    write_env_file(settings.home / "dev.env", result.env, Path(sys.executable).parent)
    return result.env


@app.command()
def up(foreground: bool = typer.Option(False, help="Run the API in the foreground.")) -> None:
    """Stop anything running, then start the runtime, seed, and start the API."""
    try:
        settings = _load_settings()
    except DevError as exc:
        err().print(f"[red]error[/] {exc}")
        raise typer.Exit(2) from exc
    from agentry.kit.logging import configure_logging

    configure_logging("WARNING", json=False)
    with _stop_on_signal(settings):
        try:
            env = _up(settings, foreground)
        except DevError as exc:
            stop_all(settings)
            err().print(f"[red]error[/] {exc}")
            raise typer.Exit(1) from exc
    if env is None:
        return
    env_file = settings.home / "dev.env"
    out().print(f"[green]Agentry is up[/] on {env['AGENTRY_URL']}")
    out().print(f"credentials: {env_file} (tenants acme and globex; operator and developer keys)")
    # Plain echo: these lines are meant to be copied, so Rich must not wrap or style them.
    typer.echo("try:")
    typer.echo(f"  source {env_file}")
    typer.echo('  agentry invoke echo \'{"prompt": "hi"}\'')
    typer.echo(
        '  curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" -H "content-type: application/json" '
        '-d \'{"input":{"prompt":"hi"}}\' $AGENTRY_URL/v1/agents/echo/invoke'
    )


def _up(settings: Settings, foreground: bool) -> dict[str, str] | None:
    stopped = stop_all(settings)
    if stopped:
        out().print(f"stopped previous {', '.join(stopped)}")
    emulators = local_regions(settings)
    for _name, _url, extra in emulators:
        port = int(extra.get("AGENTRY_RUNTIME_PORT", settings.runtime_port))
        _check_port_free(settings.runtime_host, port, "AGENTRY_RUNTIME_PORT")
    _check_port_free(settings.api_host, settings.api_port, "AGENTRY_API_PORT")
    with out().status("starting the local AgentCore runtime"):
        started = [
            (n, u, _start(settings, n, lifeline=foreground, extra=e)) for n, u, e in emulators
        ]
        for name, url, pid in started:
            if not _wait_ok(f"{url}/ping", 60, pid):
                log = _log_dir(settings) / f"{name}.log"
                raise DevError(
                    f"the runtime did not answer {url}/ping within 60 s; its log: "
                    f"{log}\n{_tail(log, 5)}"
                )
    with out().status("migrating and seeding"):
        env = _run_seed(settings)
    if foreground:
        out().print(f"API on {settings.effective_public_url} (Ctrl-C stops everything)")
        try:
            subprocess.run(_command("api"), env=_child_env(settings), cwd=REPO_ROOT, check=False)
        finally:
            stop_all(settings)
        return None
    with out().status("starting the API"):
        pid = _start(settings, "api")
        if not _wait_ok(f"{settings.effective_public_url}/readyz", 60, pid):
            raise DevError(
                f"the API did not become ready at {settings.effective_public_url}/readyz within "
                f"60 s; its log: {_log_dir(settings) / 'api.log'}\n"
                f"{_tail(_log_dir(settings) / 'api.log', 5)}"
            )
    return env


@app.command()
def down() -> None:
    """Stop every process `agentry dev up` started, agent sessions included."""
    stopped = stop_all(_settings_or_exit())
    out().print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("seed")
def seed_cmd() -> None:
    """Create the dev tenants, keys and sample agents (the runtime must be running)."""
    from agentry.kit.logging import configure_logging

    configure_logging("WARNING", json=False)
    try:
        env = _run_seed(_settings_or_exit())
    except DevError as exc:
        err().print(f"[red]error[/] {exc}")
        raise typer.Exit(1) from exc
    out().print(f"seeded; credentials for {', '.join(k for k in env if k != 'AGENTRY_URL')}")
