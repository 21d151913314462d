"""RUNBOOK-009 as written: an operator signs in through the identity provider (the dev
provider, auth code + PKCE) and the ops targets use the short-lived token; an expired login
is one clear line; the break-glass key works and is audited on every use; a tenant user is
neither stored as an operator nor let through an operator route."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import stat
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from agentry.cli.login import TOKEN_FILE_ENV
from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator

pytestmark = pytest.mark.e2e


def _audit(operator: Operator, tmp_path: Path, name: str) -> list[dict[str, object]]:
    out = tmp_path / name
    operator.make(f"make ops-audit-export OUT={out}")
    return [json.loads(line) for line in out.read_text().splitlines()]


def _dev_token(stack: Stack, username: str) -> str:
    """A browser's auth code + PKCE sign-in at the dev provider, done by hand."""
    config = httpx.get(f"{stack.url}/app/config.json").json()
    oidc = httpx.get(f"{config['authority']}/.well-known/openid-configuration").json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "client_id": config["client_id"],
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1/callback",
        "scope": config["scopes"],
        "state": "s1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    answer = httpx.post(
        oidc["authorization_endpoint"], params=params, data={**params, "username": username}
    )
    assert answer.status_code == 302, answer.text
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))
    token = httpx.post(
        oidc["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code["code"],
            "redirect_uri": params["redirect_uri"],
            "client_id": config["client_id"],
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def test_runbook_009_login_then_ops_targets_use_the_token(
    ops_stack: Stack, operator: Operator, tmp_path: Path
) -> None:
    token_file = tmp_path / "operator-token.json"
    oli = Operator(ops_stack, extra={TOKEN_FILE_ENV: str(token_file)})
    before = max(int(e["seq"]) for e in _audit(operator, tmp_path, "before.jsonl"))  # type: ignore[call-overload]

    login, whoami, health, export = page("009").steps()
    assert login == "make ops-login AS=$OPERATOR"
    evidence = tmp_path / "evidence.jsonl"
    started = time.time()
    signed_in = oli.make(login, OPERATOR="oli@platform").stdout
    assert "signed in as entra:" in signed_in
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert started + 3000 < stored["expires_at"] < time.time() + 3700
    assert stored["access_token"].count(".") == 2  # a JWT, not the operator key
    assert stored["access_token"] != ops_stack.operator_key

    me = oli.make(whoami).stdout
    assert "role operator in platform: login until" in me
    assert oli.make(health, ok=False).returncode in (0, 1)  # 1 = attention lines, not refused
    oli.make(export, EVIDENCE=str(evidence))
    rows = [json.loads(line) for line in evidence.read_text().splitlines()]
    mine = [r for r in rows if int(r["seq"]) > before]
    # The login's calls are not break-glass; the subject is the operator's directory identity.
    assert not [r for r in mine if r["action"] == "operator.break_glass"]
    assert oli.json("make ops-whoami")["credential"] == "login"
    assert oli.json("make ops-whoami")["subject"].startswith("entra:f0000000-")

    # BREAK_GLASS=1 forces the key even with a login, and that call is audited.
    forced = oli.make("make ops-whoami BREAK_GLASS=1 JSON=1")
    assert json.loads(forced.stdout)["credential"] == "break_glass_key"
    oli.make("make ops-logout")
    assert not token_file.exists()


def test_runbook_009_expired_login_is_one_clear_line(ops_stack: Stack, tmp_path: Path) -> None:
    token_file = tmp_path / "operator-token.json"
    oli = Operator(ops_stack, extra={TOKEN_FILE_ENV: str(token_file)})
    oli.make("make ops-login AS=oli@platform")
    stored = json.loads(token_file.read_text())
    stored["expires_at"] = time.time() - 60
    token_file.write_text(json.dumps(stored))
    done = oli.make("make ops-jobs STATUS=running", ok=False)
    assert done.returncode != 0
    assert "Error 2" in done.stderr  # the CLI exited 2: a credential problem, not a refusal
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 or all("make" in line and "Error" in line for line in lines[1:])
    assert "operator login expired at" in lines[0]
    assert "make ops-login" in lines[0]
    assert done.stdout == ""


def test_break_glass_key_use_is_audited(
    ops_stack: Stack, operator: Operator, tmp_path: Path
) -> None:
    # No login stored for this operator: the key is the break-glass path.
    nobody = Operator(ops_stack, extra={TOKEN_FILE_ENV: str(tmp_path / "none.json")})
    assert nobody.json("make ops-whoami")["credential"] == "break_glass_key"
    nobody.make("make ops-jobs STATUS=failed")
    rows = _audit(operator, tmp_path, "after.jsonl")
    key_id = nobody.json("make ops-whoami")["subject"]
    glass = [r for r in rows if r["action"] == "operator.break_glass"]
    jobs = [r for r in glass if r["details"]["route"] == "/v1/admin/jobs"]  # type: ignore[index]
    assert jobs, glass[:3]
    assert jobs[0]["details"]["break_glass"] is True  # type: ignore[index]
    assert jobs[0]["actor"] == key_id
    assert jobs[0]["details"]["method"] == "GET"  # type: ignore[index]


def test_tenant_user_is_not_an_operator(ops_stack: Stack, tmp_path: Path) -> None:
    token_file = tmp_path / "operator-token.json"
    ada = Operator(ops_stack, extra={TOKEN_FILE_ENV: str(token_file)})
    refused = ada.make("make ops-login AS=ada@acme", ok=False)
    assert refused.returncode != 0
    assert "not an operator" in refused.stderr
    assert not token_file.exists()

    token = _dev_token(ops_stack, "ada@acme")
    with httpx.Client(base_url=ops_stack.url) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "admin"
        for path in ("/v1/admin/jobs", "/v1/admin/health"):
            answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 403, path
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "insufficient_role"
        # The operator's token, by contrast, passes.
        oli = _dev_token(ops_stack, "oli@platform")
        assert client.get("/v1/admin/jobs", headers={"Authorization": f"Bearer {oli}"}).is_success
