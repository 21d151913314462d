"""The process that hosts one runtime session: imports the agent's entry point, serves it.

    python -m agentry.runtime.emulator.host --fd N --entry main.py [--parent-pid P]

The emulator binds 127.0.0.1:0 itself and passes the listening socket as fd N, so there is
no port race. cwd and PYTHONPATH are the version's extracted code dir. The attribute named by
AGENTRY_ENTRYPOINT_ATTR is served; otherwise the first BedrockAgentCoreApp in the module.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn

ENTRYPOINT_ATTR_ENV = "AGENTRY_ENTRYPOINT_ATTR"
SESSION_ID_ENV = "AGENTRY_HOST_SESSION_ID"
DEPS_LAYER_ENV = "AGENTRY_DEPS_LAYER"
MISMATCH_HEADER = "x-agentry-session-mismatch"
OTEL_WRAPPER = "opentelemetry-instrument"
_SESSION_HEADER = b"x-amzn-bedrock-agentcore-runtime-session-id"
INFLIGHT_HEADER = b"x-agentry-inflight"


class SessionGuard:
    """Refuses calls addressed to another session (409 + MISMATCH_HEADER).

    A client holding a stale URL could otherwise reach a newer process that was given the
    same port; the refusal happens before the agent sees anything, so retrying is safe.
    """

    def __init__(self, app: Any, session_id: str) -> None:
        self.app = app
        self.session_id = session_id.encode()
        self.inflight = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") == "/ping":
            # AgentCore sees every invocation; with the direct local path the emulator does not,
            # so the process reports its in-flight calls on /ping and the reaper keeps it.
            await self.app(scope, receive, self._with_inflight(send))
            return
        if scope["type"] in ("http", "websocket"):
            given = dict(scope.get("headers") or ()).get(_SESSION_HEADER)
            if given is not None and given != self.session_id:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send(
                    {
                        "type": "http.response.start",
                        "status": 409,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (MISMATCH_HEADER.encode(), b"1"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error": "wrong session"}'})
                return
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await self.app(scope, receive, send)
            return
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1

    def _with_inflight(self, send: Any) -> Any:
        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    *message.get("headers", ()),
                    (INFLIGHT_HEADER, str(self.inflight).encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def _die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux to SIGTERM us when the emulator dies, so a crash leaves no orphan."""
    if parent_pid is None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        return
    if os.getppid() != parent_pid:
        os._exit(1)


def load_entry_module(entry: str, code_dir: Path) -> ModuleType:
    path = (code_dir / entry).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"entry point {entry} not found in the code package")
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import entry point {entry}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def find_app(module: ModuleType, attr: str | None = None) -> Any:
    from bedrock_agentcore import BedrockAgentCoreApp

    if attr:
        app = getattr(module, attr, None)
        if app is None:
            raise LookupError(f"{ENTRYPOINT_ATTR_ENV}={attr}: no such attribute in the entry point")
        return app
    for value in vars(module).values():
        if isinstance(value, BedrockAgentCoreApp):
            return value
    raise LookupError("no BedrockAgentCoreApp instance found in the entry point module")


def entry_file(entry_point: list[str]) -> str:
    """The .py file of a codeConfiguration entryPoint, skipping an `opentelemetry-instrument`."""
    parts = [p for p in entry_point if p != OTEL_WRAPPER]
    if not parts:
        raise ValueError("empty entry point")
    return parts[-1]


STANDBY_DECLINED = 3


def _take_assignment() -> list[str]:
    """Standby mode: wait (SDK already imported) for the session this process will host.

    The emulator writes one JSON line: code dir, entry point, env, log file. Returns the entry
    point. Exits with STANDBY_DECLINED when the code ships its own copy of a module this
    process already imported, so the emulator starts a cold process that honours it.
    """
    import json

    line = sys.stdin.readline()
    if not line:
        os._exit(0)
    job = json.loads(line)
    log_fd = os.open(job["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    code_dir = Path(job["code_dir"])
    layer = job["env"].get(DEPS_LAYER_ENV)
    for root in (code_dir, *([Path(layer)] if layer else [])):
        for entry in root.iterdir():
            name = entry.stem if entry.suffix == ".py" else entry.name
            if (entry.is_dir() or entry.suffix == ".py") and name in sys.modules:
                os._exit(STANDBY_DECLINED)
    os.chdir(code_dir)
    os.environ.update(job["env"])
    return list(job["entry"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="agentry.runtime.emulator.host")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--entry", action="append", default=[])
    parser.add_argument("--standby", action="store_true", help="read the session from stdin")
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument(
        "--emulator-home", default="", help="marks our processes for orphan cleanup"
    )
    args = parser.parse_args(argv)

    _die_with_parent(args.parent_pid)
    entry = args.entry
    if args.standby:
        import bedrock_agentcore  # noqa: F401  (the slow import, done before we are needed)

        entry = _take_assignment()
    code_dir = Path.cwd()
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    layer = os.environ.get(DEPS_LAYER_ENV)
    if layer and layer not in sys.path:
        # The version's dependency layer: after its own code, before the host's packages.
        sys.path.insert(sys.path.index(str(code_dir)) + 1, layer)
    sock = socket.socket(fileno=args.fd)
    module = load_entry_module(entry_file(entry), code_dir)
    app = find_app(module, os.environ.get(ENTRYPOINT_ATTR_ENV) or None)
    session_id = os.environ.pop(SESSION_ID_ENV, "")
    from agentry.runtime.emulator.tracing import instrument

    app = instrument(app)  # a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    config = uvicorn.Config(
        SessionGuard(app, session_id) if session_id else app,
        log_level="warning",
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=2,
        # Longer than the clients' pool keep-alive (30 s), so the client always closes first.
        timeout_keep_alive=120,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
