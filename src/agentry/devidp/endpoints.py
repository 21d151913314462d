"""Dev identity provider routes (`/dev-idp/...`), mounted only in the local profile.

URLs mirror Entra's: `/{tenant}/v2.0/.well-known/openid-configuration`,
`/{tenant}/oauth2/v2.0/authorize|token|logout` and `/discovery/v2.0/keys`, where {tenant} is
a directory id or `organizations`/`common` (the user picked on the login page decides `tid`).
"""

from __future__ import annotations

import html
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from agentry.devidp.server import DevAuthorizationServer, StarletteOAuth2Request
from agentry.devidp.users import DEV_USERS, USERS_BY_NAME
from agentry.platform import get_platform

router = APIRouter(prefix="/dev-idp", tags=["dev identity provider"], include_in_schema=False)
SESSION_COOKIE = "agentry_devidp_session"


def _server(request: Request) -> DevAuthorizationServer:
    server: DevAuthorizationServer = request.app.state.dev_idp
    return server


async def _oauth_request(request: Request) -> StarletteOAuth2Request:
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return StarletteOAuth2Request(
        request.method, str(request.url), dict(request.headers), dict(request.query_params), form
    )


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def discovery(tenant: str, request: Request) -> dict[str, Any]:
    base = get_platform(request).settings.effective_public_url + "/dev-idp"
    return {
        "issuer": f"{base}/{{tenantid}}/v2.0"
        if tenant in ("common", "organizations")
        else f"{base}/{tenant}/v2.0",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none"],
    }


@router.get("/discovery/v2.0/keys")
async def jwks(request: Request) -> dict[str, Any]:
    return _server(request).keys.jwks()


@router.get("/{tenant}/oauth2/v2.0/authorize", response_model=None)
async def login_page(tenant: str, request: Request) -> Response:
    """Validate the request with Authlib, then show a page to pick a seeded user."""
    del tenant  # the user picked decides the token's tid
    server = _server(request)
    oauth_request = await _oauth_request(request)
    try:
        server.get_authorization_grant(oauth_request).validate_authorization_request()
    except OAuth2Error as error:
        return JSONResponse(dict(error.get_body()), status_code=error.status_code)
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in request.query_params.items()
    )
    users = "".join(
        f'<li><button name="username" value="{html.escape(u.username)}">'
        f"{html.escape(u.name)} — {html.escape(u.username)}</button></li>"
        for u in DEV_USERS
    )
    page = (
        "<!doctype html><title>Agentry dev sign-in</title><h1>Sign in (development)</h1>"
        f'<form method="post">{hidden}<ul>{users}</ul></form>'
    )
    return HTMLResponse(page)


@router.post("/{tenant}/oauth2/v2.0/authorize", response_model=None)
async def login(tenant: str, request: Request) -> Response:
    del tenant
    server = _server(request)
    oauth_request = await _oauth_request(request)
    user = USERS_BY_NAME.get(oauth_request.form.get("username", ""))
    if user is None:
        return JSONResponse({"error": "access_denied"}, status_code=400)
    try:
        grant = server.get_authorization_grant(oauth_request)
    except OAuth2Error as error:
        return JSONResponse(dict(error.get_body()), status_code=error.status_code)
    signed_in = server.start_session(user)
    response: Response = server.create_authorization_response(
        oauth_request, grant_user=signed_in, grant=grant
    )
    if response.status_code == 302:
        response.set_cookie(
            SESSION_COOKIE, signed_in.sid, path="/dev-idp", httponly=True, samesite="lax"
        )
    else:
        server.end_session(signed_in.sid)
    return response


@router.post("/{tenant}/oauth2/v2.0/token", response_model=None)
async def token(tenant: str, request: Request) -> Response:
    del tenant
    response: Response = _server(request).create_token_response(await _oauth_request(request))
    return response


@router.get("/{tenant}/oauth2/v2.0/logout", response_model=None)
async def logout(tenant: str, request: Request) -> Response:
    """End the provider session (its refresh tokens stop working), then go back to the app."""
    del tenant
    server = _server(request)
    back = request.query_params.get("post_logout_redirect_uri", "")
    if back and not server.client.check_redirect_uri(back):
        return JSONResponse(
            {"error": "invalid_request", "error_description": "post_logout_redirect_uri"},
            status_code=400,
        )
    sid = request.cookies.get(SESSION_COOKIE)
    ended = server.end_session(sid) if sid else 0
    response: Response = (
        RedirectResponse(back, status_code=302)
        if back
        else HTMLResponse(
            "<!doctype html><title>Signed out</title><h1>Signed out</h1>"
            f"<p>{ended} refresh token(s) revoked.</p>"
        )
    )
    response.delete_cookie(SESSION_COOKIE, path="/dev-idp")
    return response
