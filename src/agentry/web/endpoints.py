"""Serve the built SPA at `/app` and the settings it signs in with at `/app/config.json`.

Client-side routes (`/app/keys`, `/app/callback`, ...) answer `index.html`; hashed assets are
cached for a year, `index.html` never. When nothing is built, `/app` says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel

from agentry.platform import get_platform

router = APIRouter(include_in_schema=False)
_NOT_BUILT = "The web app is not built: run `make web-build` (or `make dev`, which builds it).\n"


class WebConfig(BaseModel):
    authority: str
    client_id: str
    scopes: str
    api_url: str
    dev_sign_in: bool


@router.get("/", response_model=None)
async def root() -> Response:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/config.json", response_model=WebConfig)
async def config(request: Request) -> JSONResponse:
    settings = get_platform(request).settings
    body = WebConfig(
        authority=settings.effective_web_authority,
        client_id=settings.effective_web_client_id,
        scopes=settings.effective_web_scopes,
        api_url="",  # same origin; a SPA hosted elsewhere builds with VITE_API_URL instead
        dev_sign_in=settings.profile == "local",
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})


@router.get("/app", response_model=None)
@router.get("/app/{path:path}", response_model=None)
async def spa(request: Request, path: str = "") -> Response:
    root_dir = get_platform(request).settings.effective_web_dir.resolve()
    index = root_dir / "index.html"
    if not index.is_file():
        return PlainTextResponse(_NOT_BUILT, status_code=404)
    file = _inside(root_dir, path)
    if file is not None and file.is_file():
        cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
        return FileResponse(file, headers={"Cache-Control": cache})
    if path.startswith("assets/"):
        return PlainTextResponse("not found\n", status_code=404)
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


def _inside(root_dir: Path, path: str) -> Path | None:
    """The file `path` names under `root_dir`, or None when it would leave it."""
    if not path:
        return None
    candidate = (root_dir / path).resolve()
    return candidate if candidate.is_relative_to(root_dir) else None
