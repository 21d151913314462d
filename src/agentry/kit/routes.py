"""Enumerate the app's HTTP routes (for the public-route and isolation checks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    dependant: Dependant | None
    name: str

    def depends_on(self, target: Callable[..., Any]) -> bool:
        """True when `target` is anywhere in the route's dependency tree."""
        stack = [self.dependant] if self.dependant else []
        while stack:
            d = stack.pop()
            if d.call is target:
                return True
            stack.extend(d.dependencies)
        return False


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield RouteInfo(route.path, frozenset(route.methods or ()), route.dependant, route.name)
            continue
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:  # a plain Starlette route (docs, openapi)
            path = getattr(route, "path", "")
            methods = frozenset(getattr(route, "methods", None) or ())
            yield RouteInfo(path, methods, None, getattr(route, "name", ""))
            continue
        for ctx in contexts():
            original = ctx.original_route
            dependant = original.dependant if isinstance(original, APIRoute) else None
            yield RouteInfo(ctx.path, frozenset(ctx.methods or ()), dependant, ctx.name)
