"""CORS for a SPA served from another origin: an exact allow-list, never `*`.

Credentials are bearer tokens in the `Authorization` header, not cookies, so
`Access-Control-Allow-Credentials` is never sent. An origin not on the list gets no CORS headers
(the browser then blocks the read); its preflight answers 400.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

# What the SPA sends beyond the CORS-safelisted headers.
ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "Last-Event-ID",
    "X-Request-Id",
]
# Response headers the SPA reads.
EXPOSE_HEADERS = [
    "X-Invocation-Id",
    "X-Request-Id",
    "Location",
    "Retry-After",
    "Idempotent-Replayed",
]
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def _options(origins: list[str]) -> dict[str, Any]:
    if "*" in origins:  # config validation refuses it too; never trust one layer alone
        raise ValueError("CORS origins must be exact origins, not '*'")
    return {
        "allow_origins": origins,
        "allow_methods": METHODS,
        "allow_headers": ALLOW_HEADERS,
        "expose_headers": EXPOSE_HEADERS,
        "allow_credentials": False,
        "max_age": 600,
    }


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Outermost layer, so error answers (413s from the body limit too) carry the headers."""
    if origins:
        app.add_middleware(CORSMiddleware, **_options(origins))


def cors(inner: ASGIApp, origins: list[str]) -> ASGIApp:
    """The same layer around one ASGI app (the hot routes' stack, kit/hot.py)."""
    return CORSMiddleware(inner, **_options(origins)) if origins else inner
