"""A small JSON-over-HTTP client for the CLI, on the standard library.

Written by hand on purpose: importing httpx costs about 0.35 s of CPU per command here (it pulls
in its own CLI with click, rich and pygments), which is more than a whole `agentry invoke`
may take. The API is small: JSON or raw bodies, query parameters, one kept-alive connection.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from http.client import HTTPConnection


class HttpError(Exception):
    """The request never got an answer (refused, timed out, dropped)."""


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class HttpClient:
    """Requests against one base URL (scheme, host, port and path prefix) on one connection."""

    def __init__(
        self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._timeout = timeout
        self._conn: HTTPConnection | None = None

    def _connection(self) -> HTTPConnection:
        # http.client (and ssl for https) load on the first request: `--help` never pays for them.
        if self._conn is None:
            if self._https:
                from http.client import HTTPSConnection

                self._conn = HTTPSConnection(self._host, self._port, timeout=self._timeout)
            else:
                from http.client import HTTPConnection

                self._conn = HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if path.startswith(("http://", "https://")):
            split = urllib.parse.urlsplit(path)
            target = split.path + (f"?{split.query}" if split.query else "")
        else:
            target = f"{self._prefix}{path}"
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
            target += ("&" if "?" in target else "?") + query
        send = {**self._headers, **(headers or {})}
        body = content
        if json is not None:
            body = _dumps(json)
            send.setdefault("Content-Type", "application/json")
        from http.client import HTTPException, RemoteDisconnected

        while True:
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, target, body=body, headers=send)
                answer = conn.getresponse()
                data = answer.read()
            except (OSError, HTTPException) as exc:
                self.close()
                # A kept-alive connection the server closed meanwhile: once more on a new one.
                stale = (RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                if reused and isinstance(exc, stale):
                    continue
                raise HttpError(str(exc) or type(exc).__name__) from exc
            return Response(answer.status, data, {k.lower(): v for k, v in answer.getheaders()})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
