"""Key and secret rotation (RUNBOOK-010).

`agentry ops keys ...`: the platform's keys (operator login or break-glass key): invocation-token
signing key, webhook secret box key, API key pepper, the break-glass operator key itself.
`agentry keys ...`: a tenant admin's own API keys (AGENTRY_API_KEY), rotated with an overlap.
Exit codes: 0 ok, 1 the platform refused (the problem's code is printed), 2 bad usage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import OVERLAP_S, Json, Overlap, Url
from agentry.cli.output import group, out, table

OPERATOR_KEY_ENV = "AGENTRY_OPERATOR_KEY"
TENANT_KEY_ENV = "AGENTRY_API_KEY"
Key = Annotated[
    str | None, typer.Option("--key", help="Credential (default: the login, else the env key).")
]

Line = Callable[[Any], str]  # an answer as one line for people
ops_app = group("The platform's keys: status, rotate, retire (audited).")
tenant_app = group("Your tenant's API keys: list, rotate with an overlap, revoke.")


def _ops(url: str | None, key: str | None, as_json: bool) -> ApiClient:
    return ApiClient(url, key, OPERATOR_KEY_ENV, as_json, prefix="/v1/admin/keys", timeout=120)


def _show(api: ApiClient, answer: Any, line: str) -> None:
    if api.as_json:
        print_json(answer)
    else:
        out().print(line)


def _post(url: str | None, key: str | None, as_json: bool, path: str, line: Line) -> None:
    """POST to a key action, then its answer: JSON, or `line(answer)`."""
    api = _ops(url, key, as_json)
    r = api.call("POST", path)
    _show(api, r, "" if as_json else line(r))


@ops_app.command("status")
def status(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """Signing key ids (current, retired), box keys and peppers in use."""
    api = _ops(url, key, as_json)
    s = api.call("GET", "")
    retired = ", ".join(s["signing_retired_kids"]) or "none"
    _show(
        api,
        s,
        f"signing kid     {s['signing_kid']} (retired, still verifying: {retired})\n"
        f"webhook box     {s['webhook_box_keys']} key(s)"
        f"{'' if s['webhook_box_rotatable'] else ' (configured)'}\n"
        f"api key pepper  {s['api_key_peppers']} pepper(s)"
        f"{'' if s['api_key_pepper_rotatable'] else ' (configured)'}",
    )


@ops_app.command("rotate-signing")
def rotate_signing(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """A new invocation-token signing key; the old one stays in the JWKS until retired."""
    _post(url, key, as_json, "/signing/rotate",
          lambda r: f"[green]rotated[/] signing key {r['old_kid']} -> {r['new_kid']} "
                    f"(published: {', '.join(r['published_kids'])})")  # fmt: skip


@ops_app.command("retire-signing")
def retire_signing(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """End the overlap: tokens signed with a retired key are refused from now on."""
    _post(url, key, as_json, "/signing/retire",
          lambda r: f"[green]retired[/] {', '.join(r['retired_kids']) or 'nothing'} "
                    f"(published: {', '.join(r['published_kids'])})")  # fmt: skip


@ops_app.command("rotate-webhook-box")
def rotate_box(
    reencrypt_only: bool = typer.Option(
        False, "--reencrypt-only", help="No new key (AWS: the new key is configured already)."
    ),
    url: Url = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """A new secret box key, then every stored webhook/tool secret re-encrypted under it."""
    api = _ops(url, key, as_json)
    r = api.call("POST", "/webhook-box/rotate", params={"new_key": str(not reencrypt_only).lower()})
    counts = ", ".join(f"{k} {v}" for k, v in r["resealed"].items())
    _show(api, r, f"[green]re-encrypted[/] {counts}; {r['webhook_box_keys']} key(s) open")


@ops_app.command("retire-webhook-box")
def retire_box(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """Drop old box keys (refused while any stored secret still needs one)."""
    _post(
        url,
        key,
        as_json,
        "/webhook-box/retire",
        lambda r: f"[green]retired[/] {r['dropped']} old key(s); {r['remaining']} left",
    )


@ops_app.command("rotate-pepper")
def rotate_pepper(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """A new API key pepper; a key hashed with the old one is re-hashed at its next use."""
    _post(
        url,
        key,
        as_json,
        "/pepper/rotate",
        lambda r: f"[green]rotated[/] pepper; {r['remaining']} pepper(s) verify",
    )


@ops_app.command("retire-pepper")
def retire_pepper(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """End the overlap: keys not used since the rotation are refused from now on."""
    _post(
        url,
        key,
        as_json,
        "/pepper/retire",
        lambda r: f"[green]retired[/] {r['dropped']} old pepper(s)",
    )


@ops_app.command("rotate-operator-key")
def rotate_operator_key(
    overlap: Overlap = OVERLAP_S, url: Url = None, key: Key = None, as_json: Json = False
) -> None:
    """Rotate the break-glass operator key(s): the new secret is printed once."""
    api = ApiClient(url, key, OPERATOR_KEY_ENV, as_json, prefix="/v1/api-keys", timeout=60)
    items = api.call("GET", "")["items"]
    live = [k for k in items if k["role"] == "operator" and not k.get("revoked_at")]
    if not live:
        api.fail({"code": "no_operator_key", "detail": "no live operator key to rotate"})
    body = {"old_key_expires_in_s": overlap}
    rotated = [api.call("POST", f"/{k['id']}/rotate", json=body) for k in live]
    if as_json:
        print_json(rotated)
        return
    for old, new in zip(live, rotated, strict=True):
        out().print(f"rotated {old['id']} -> {new['id']}; old key works {overlap} s more")
        out().print(f"AGENTRY_OPERATOR_KEY={new['secret']}")


def _tenant(url: str | None, key: str | None, as_json: bool) -> ApiClient:
    return ApiClient(url, key, TENANT_KEY_ENV, as_json, prefix="/v1/api-keys", timeout=60)


@tenant_app.command("list")
def keys_list(url: Url = None, key: Key = None, as_json: Json = False) -> None:
    """Your tenant's keys (never their secrets)."""
    api = _tenant(url, key, as_json)
    items = api.call("GET", "")["items"]
    if as_json:
        print_json(items)
        return
    rows = table("id", "name", "prefix", "role", "expires", "revoked")
    for k in items:
        rows.add_row(k["id"], k["name"], k["display_prefix"], k["role"],
                     str(k.get("expires_at") or ""), str(k.get("revoked_at") or ""))  # fmt: skip
    out().print(rows)


@tenant_app.command("rotate")
def keys_rotate(
    key_id: str = typer.Argument(..., help="Key id (key_...)."),
    overlap: Overlap = OVERLAP_S,
    url: Url = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """A new key with the same scopes; the old one works for --overlap seconds more."""
    api = _tenant(url, key, as_json)
    new = api.call("POST", f"/{key_id}/rotate", json={"old_key_expires_in_s": overlap},
                   bad_input=("validation_failed",))  # fmt: skip
    if as_json:
        print_json(new)
        return
    out().print(f"rotated {key_id} -> {new['id']}; old key works {overlap} s more")
    out().print(f"secret {new['secret']}")
