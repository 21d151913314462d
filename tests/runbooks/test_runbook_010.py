"""RUNBOOK-010 as written, on a stack of its own (it retires secrets the other pages use):
after each rotation the old credential works during the overlap and is refused after it, the
new one works, and nothing is lost (webhook secrets still open and deliveries verify)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet, InvalidToken

from agentry.agent_auth.claims import InvalidInvocationToken
from agentry.agent_auth.tokens import DISCOVERY_PATH, TokenVerifier
from agentry.testing.receiver import Receiver, start_receiver
from agentry.testing.stack import Stack, start_stack, stop_stack
from tests.factories import agent_token, stack_signer
from tests.runbooks.pages import page
from tests.runbooks.support import Operator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("rotation"),
        auth_failure_limit="10000/minute",
        webhook_allow_private="1",
        webhook_poll_interval_s="0.2",
        webhook_schedule_s="[0, 0.2]",
        auth_cache_s="1",  # the verified-key cache (5 s by default) the drill waits out
    )
    yield running
    stop_stack(running)


@pytest.fixture
def op(stack: Stack, tmp_path: Path) -> Operator:
    # No login stored: these targets use the (break-glass) operator key.
    return Operator(stack, extra={"AGENTRY_OPERATOR_TOKEN_FILE": str(tmp_path / "none.json")})


def _steps() -> dict[str, str]:
    return {line.split()[1]: line for line in page("010").steps()}


def _invoke_concierge(stack: Stack) -> dict[str, object]:
    """An agent that calls the model and tool gateways with its invocation token."""
    with stack.client(stack.acme_key) as c:
        r = c.post("/v1/agents/concierge/invoke", json={"input": {"prompt": "forecast 1 2 3"}})
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()["output"]
    return out


def _chat(stack: Stack, token: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/agent/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _token(stack: Stack, tenant_id: str) -> str:
    return agent_token(
        stack_signer(stack), tenant_id=tenant_id, tier="premium",
        invocation_id=f"inv_rot{time.monotonic_ns()}", scopes=("model",),
    )  # fmt: skip


def test_signing_key_rotation_has_a_jwks_overlap(stack: Stack, op: Operator) -> None:
    steps = _steps()
    tenant = stack.client(stack.acme_key).get("/v1/me").json()["tenant_id"]
    before = op.json("make ops-keys")
    early = stack_signer(stack)
    old_token = _token(stack, tenant)
    assert _chat(stack, old_token).status_code == 200

    rotated = op.json(f"{steps['ops-signing-key-rotate']}")
    assert rotated["old_kid"] == before["signing_kid"] != rotated["new_kid"]
    issuer = op.json(steps["ops-token-issuer"])
    assert issuer["kids"] == [rotated["new_kid"], rotated["old_kid"]]
    # During the overlap: the old token verifies at the platform and for a JWKS relying party.
    assert _chat(stack, old_token).status_code == 200
    TokenVerifier.from_discovery(stack.url + DISCOVERY_PATH).verify(old_token)
    # A signer that started before the rotation (as the API's and workers' did) now signs
    # with the new kid.
    new_token = early.sign(
        tenant_id=tenant, tier="premium", agent="concierge", version=1,
        invocation_id="inv_rot_new", session_id="s", scopes=("model",),
    )  # fmt: skip
    assert jwt.get_unverified_header(new_token)["kid"] == rotated["new_kid"]

    retired = op.json(steps["ops-signing-key-retire"])
    assert retired["retired_kids"] == [rotated["old_kid"]]
    assert op.json(steps["ops-token-issuer"])["kids"] == [rotated["new_kid"]]
    refused = _chat(stack, old_token)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_invocation_token"
    with pytest.raises(InvalidInvocationToken):
        TokenVerifier.from_discovery(stack.url + DISCOVERY_PATH).verify(old_token)
    assert _chat(stack, new_token).status_code == 200
    # A real invocation after the retire: its agent's token was signed with the new key.
    assert "insights___forecast" in str(_invoke_concierge(stack)["tools_visible"])
    audit = op.make("make ops-audit-export").stdout
    assert '"action": "key.signing_rotate"' in audit
    assert '"action": "key.signing_retire"' in audit


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made = [start_receiver(), start_receiver()]
    yield made
    for r in made:
        r.close()


def _endpoint(client: httpx.Client, receiver: Receiver) -> tuple[str, str]:
    r = client.post("/v1/webhooks", json={"url": receiver.url + "/hook"})
    assert r.status_code == 201, r.text
    receiver.secrets.append(r.json()["secret"])
    return r.json()["id"], r.json()["secret"]


def _delivered(client: httpx.Client, receiver: Receiver, endpoint: str, n: int) -> None:
    assert client.post(f"/v1/webhooks/{endpoint}/test").status_code == 202
    deadline = time.monotonic() + 30
    while len(receiver.on("/hook")) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.on("/hook")) >= n, "the delivery did not arrive"
    assert all(r.verified for r in receiver.on("/hook")), "a delivery did not verify"


def test_webhook_box_key_rotation_loses_nothing(
    stack: Stack, op: Operator, receivers: list[Receiver]
) -> None:
    steps = _steps()
    acme, globex = stack.client(stack.acme_key), stack.client(stack.globex_key)
    (a_id, a_secret), (g_id, g_secret) = (
        _endpoint(acme, receivers[0]), _endpoint(globex, receivers[1])
    )  # fmt: skip
    _delivered(acme, receivers[0], a_id, 1)
    key_file = stack.home / "webhook-secret.key"
    old_key = key_file.read_text().strip()

    done = op.make(steps["ops-webhook-key-rotate"]).stdout
    assert "re-encrypted webhook_endpoints" in done
    lines = key_file.read_text().split()
    assert len(lines) == 2
    assert lines[1] == old_key
    # Every stored secret was re-encrypted under the new key (the old one opens none).
    db = sqlite3.connect(stack.home / "agentry.db")
    sealed = [v for (v,) in db.execute("select secret_enc from webhook_endpoints")]
    sealed += [v for (v,) in db.execute("select secret_enc from webhook_deliveries")]
    assert sealed
    for value in sealed:
        with pytest.raises(InvalidToken):
            Fernet(old_key.encode()).decrypt(value.encode())
    assert {Fernet(lines[0].encode()).decrypt(v.encode()).decode() for v in sealed} >= {
        a_secret,
        g_secret,
    }

    # A value still sealed with the old key (a process that had not re-read the file): the
    # retire is refused until a second re-encryption picks it up.
    db.execute(
        "update webhook_endpoints set secret_enc = ? where id = ?",
        (Fernet(old_key.encode()).encrypt(g_secret.encode()).decode(), g_id),
    )
    db.commit()
    refused = op.make(steps["ops-webhook-key-retire"], ok=False)
    assert refused.returncode != 0
    assert "reseal_incomplete" in refused.stderr
    _delivered(globex, receivers[1], g_id, 1)  # still opens: both keys are in the ring
    op.make(steps["ops-webhook-key-rotate"])
    retired = op.make(steps["ops-webhook-key-retire"]).stdout
    assert "retired" in retired
    assert len(key_file.read_text().split()) == 1
    assert key_file.read_text().strip() != old_key
    db.close()
    # After the retire both tenants' deliveries still sign with their unchanged secrets.
    _delivered(acme, receivers[0], a_id, 2)
    _delivered(globex, receivers[1], g_id, 2)
    assert op.json("make ops-keys")["webhook_box_keys"] == 1


def _key(client: httpx.Client, name: str) -> str:
    r = client.post("/v1/api-keys", json={"name": name, "scopes": ["invoke"]})
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def _status(stack: Stack, key: str) -> int:
    with stack.client(key) as c:
        return c.get("/v1/me").status_code


def test_pepper_rotation_rehashes_keys_used_in_the_overlap(stack: Stack, op: Operator) -> None:
    steps = _steps()
    with stack.client(stack.acme_key) as acme:
        used, unused = _key(acme, "used-in-overlap"), _key(acme, "idle")
    op.make(steps["ops-pepper-rotate"])
    assert op.json("make ops-keys")["api_key_peppers"] == 2
    assert _status(stack, used) == 200  # an old-pepper key works (and is re-hashed now)
    assert _status(stack, stack.acme_key) == 200
    assert _status(stack, stack.globex_key) == 200  # used in the overlap: kept
    with stack.client(stack.acme_key) as acme:
        fresh = _key(acme, "after-rotation")
    op.make(steps["ops-pepper-retire"])
    assert op.json("make ops-keys")["api_key_peppers"] == 1
    time.sleep(1.5)  # the authenticator's verified-key cache (auth_cache_s, 1 s here)
    assert _status(stack, used) == 200
    assert _status(stack, fresh) == 200
    assert _status(stack, stack.acme_key) == 200
    assert _status(stack, unused) == 401  # never used during the overlap: refused
    assert _status(stack, stack.operator_key) == 200  # the ops targets used it meanwhile


def test_tenant_and_operator_key_rotation_overlap(stack: Stack, op: Operator) -> None:
    steps = _steps()
    with stack.client(stack.acme_key) as acme:
        secret = _key(acme, "to-rotate")
        (row,) = [k for k in acme.get("/v1/api-keys").json()["items"] if k["name"] == "to-rotate"]
    admin = Operator(stack, extra={**op.extra, "AGENTRY_API_KEY": stack.acme_key})
    assert row["id"] in admin.make(steps["keys-list"]).stdout
    new = admin.json(steps["keys-rotate"], KEY_ID=row["id"], OVERLAP="2")
    assert new["secret"] != secret
    assert _status(stack, secret) == 200  # overlap
    assert _status(stack, new["secret"]) == 200
    # globex cannot rotate acme's key.
    globex = Operator(stack, extra={**op.extra, "AGENTRY_API_KEY": stack.globex_key})
    other = globex.make(f"make keys-rotate ID={row['id']}", ok=False)
    assert "api_key_not_found" in other.stderr
    deadline = time.monotonic() + 30
    while _status(stack, secret) == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status(stack, secret) == 401  # after the overlap
    assert _status(stack, new["secret"]) == 200

    rotated = op.make(steps["ops-operator-key-rotate"], OVERLAP="3600").stdout
    new_operator = rotated.split("AGENTRY_OPERATOR_KEY=")[1].split()[0]
    with stack.client(new_operator) as c:
        assert c.get("/v1/me").json()["role"] == "operator"
    assert _status(stack, stack.operator_key) == 200  # the old one during the overlap
    assert op.make(steps["ops-keys"]).returncode == 0
    assert new_operator not in op.make("make ops-audit-export").stdout  # never audited
