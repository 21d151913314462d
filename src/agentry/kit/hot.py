"""Hot routes: a few `POST` paths served ahead of FastAPI's whole middleware stack.

`HotApp` (the API's FastAPI class) hands a request that a `HotRoute` matches to a short
stack: CORS (when configured), `RequestContextMiddleware` (request id, body limit, JSON
check, access log, metrics, the tracing SERVER span) and the route's handler, whose
exceptions go to the app's own exception handlers. What it skips costs more per call than
the platform's work (docs/benchmarks.md): Starlette's error middleware, FastAPI's body-limit
and telemetry middleware (its native OpenTelemetry, which this app never enables), the
exception and exit-stack middleware, the linear scan of ~150 routes and dependency solving.
Anything a hot route does not match (another method, a bad path parameter) goes the normal
way, where the FastAPI declarations it stands for answer and document it.

A domain adds its hot routes in `create_app` with `app.hot.add(...)`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Any]


class HotRoute(BaseRoute):
    """Matches `POST` on `pattern` only (no 405, no partial match: those fall through).
    Named groups of `pattern` become `path_params`."""

    def __init__(self, path: str, pattern: str, handler: Handler) -> None:
        self.path = path  # the template: access log and metrics label it as FastAPI would
        self._regex = re.compile(pattern)
        self.endpoint = handler

    def params(self, scope: Scope) -> dict[str, str] | None:
        if scope["method"] != "POST":
            return None
        found = self._regex.fullmatch(scope["path"])
        return None if found is None else found.groupdict()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        params = self.params(scope) if scope["type"] == "http" else None
        if params is None:
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint, "path_params": params, "route": self}


class HotRoutes:
    """The hot routes of an app and the short stack that serves them."""

    def __init__(self, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        self.routes: list[HotRoute] = []
        self.enabled = True  # tests turn it off to compare with the FastAPI declarations
        self._app = wrap(self._serve)
        self.handlers: Mapping[type[Exception], ExceptionHandler] | None = None

    def add(self, *routes: HotRoute) -> None:
        self.routes.extend(routes)

    def use_exception_handlers(self, handlers: Mapping[Any, ExceptionHandler]) -> None:
        """The app's handlers, as Starlette's ExceptionMiddleware holds them: everything but
        the catch-all (`Exception`/500), which `RequestContextMiddleware` answers here."""
        self.handlers = {
            cls: handler
            for cls, handler in handlers.items()
            if isinstance(cls, type) and cls is not Exception
        }

    def match(self, scope: Scope) -> tuple[HotRoute, dict[str, str]] | None:
        if not self.enabled or scope["method"] != "POST":
            return None
        for route in self.routes:
            params = route.params(scope)
            if params is not None:
                return route, params
        return None

    async def __call__(
        self, found: tuple[HotRoute, dict[str, str]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["route"], scope["path_params"] = found
        scope["endpoint"] = found[0].endpoint
        await self._app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await scope["route"].endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            answered = handler(request, exc)
            response = await answered if inspect.isawaitable(answered) else answered
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> ExceptionHandler | None:
        assert self.handlers is not None
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None


class HotApp(FastAPI):
    """FastAPI with `hot` routes dispatched before its middleware stack is entered."""

    hot: HotRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        if hot is not None and scope["type"] == "http":
            found = hot.match(scope)
            if found is not None:
                if hot.handlers is None:
                    hot.use_exception_handlers(self.exception_handlers)
                scope["app"] = self
                await hot(found, scope, receive, send)
                return
        await super().__call__(scope, receive, send)
