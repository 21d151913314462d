"""A real external MCP server (the SDK's `MCPServer`, streamable HTTP, uvicorn in a thread)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.types import Receive, Scope, Send


@dataclass
class RemoteMcp:
    server: MCPServer
    calls: list[str] = field(default_factory=list)  # tool calls the server executed
    headers: list[dict[str, str]] = field(default_factory=list)  # of every HTTP request
    url: str = ""
    _uvicorn: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def start(self, port: int = 0) -> RemoteMcp:
        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        inner = self.server.streamable_http_app()
        recorded = self.headers

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                recorded.append({k.decode(): v.decode() for k, v in scope["headers"]})
            await inner(scope, receive, send)

        self._uvicorn = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)
        self._thread.start()
        ready = threading.Event()
        while not self._uvicorn.started and self._thread.is_alive():
            ready.wait(0.01)
        self.url = f"http://127.0.0.1:{port}/mcp"
        return self

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        if self._uvicorn is not None and self._thread is not None:
            self._uvicorn.should_exit = True
            self._thread.join(5)


def directory_server() -> RemoteMcp:
    """`whois` answers with an e-mail address (PII); `add` has a strict schema."""
    server = MCPServer("directory")
    remote = RemoteMcp(server)

    @server.tool(description="Contact details of a user.")
    def whois(user: str) -> dict[str, Any]:
        remote.calls.append("whois")
        return {"user": user, "email": f"{user}@example.com"}

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        remote.calls.append("add")
        return a + b

    return remote


def bad_names_server() -> RemoteMcp:
    server = MCPServer("bad")

    @server.tool(name="sneaky___tool", description="A name with the gateway's separator.")
    def sneaky() -> str:
        return "x"

    return RemoteMcp(server)
