"""The operator console and the sign-in lifecycle in a real browser against a real stack.

Runs with AGENTRY_TEST_WEB=1 (`make test-web`). This module's stack issues 20 s access tokens
and the API allows no clock leeway, so every page here also runs across silent renewals; a
webhook delivery gets one attempt, so a failing one is dead-lettered at once.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import httpx
import pytest

from agentry.devidp.users import DEV_SPA_CLIENT_ID, PLATFORM_TID, USERS_BY_NAME
from agentry.testing.stack import Stack
from tests.web.netcut import Forwarder

if os.environ.get("AGENTRY_TEST_WEB") != "1":
    pytest.skip(
        "browser tests run with AGENTRY_TEST_WEB=1 (make test-web)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.support import new_context, no_serious_a11y_violations, shot, sign_in

pytestmark = pytest.mark.e2e
TOKEN_LIFETIME_S = 20
OLI = USERS_BY_NAME["oli@platform"]


@pytest.fixture(scope="module")
def stack_settings() -> dict[str, str]:
    return {
        "dev_idp_token_lifetime_s": str(TOKEN_LIFETIME_S),
        "jwt_leeway_s": "0",
        "webhook_schedule_s": "[0]",
    }


@pytest.fixture
def tenant_page(browser: Browser) -> Iterator[Page]:
    """A second person (another browser profile) next to the operator."""
    context = new_context(browser)
    yield context.new_page()
    context.close()


def stored_user(page: Page) -> dict[str, Any]:
    raw = page.evaluate(
        "() => { const k = Object.keys(sessionStorage).find(k => k.startsWith('oidc.user:'));"
        " return k ? sessionStorage.getItem(k) : null; }"
    )
    assert raw, "no signed-in user in sessionStorage"
    user: dict[str, Any] = json.loads(raw)
    return user


def no_tokens_in_local_storage(page: Page) -> None:
    assert page.evaluate("() => Object.keys(localStorage)") == []


def tenant_id(stack: Stack, slug: str) -> str:
    with stack.client(stack.operator_key) as ops:
        items = ops.get("/v1/admin/tenants").json()["items"]
    found: str = next(t["id"] for t in items if t["slug"] == slug)
    return found


def until_suspended_page(page: Page) -> None:
    deadline = time.monotonic() + 15
    links = ["Invoke", "Agents"]
    while not page.get_by_test_id("suspended").count():
        assert time.monotonic() < deadline, "the suspended page never came"
        page.get_by_role("link", name=links[0], exact=True).click()  # the next action
        links.reverse()
        with suppress(PlaywrightTimeout):
            page.get_by_test_id("suspended").wait_for(timeout=1_000)


def forecast(page: Page) -> dict[str, Any]:
    """Invoke concierge asking it to call the premium tool; the tool call's verdict."""
    page.goto(page.url.split("/app/")[0] + "/app/invoke/concierge")
    page.get_by_label("Wait for the answer").check()
    prompt = 'call insights___forecast {"series":[1,2,3]}'
    page.get_by_label("Input (JSON)").fill(json.dumps({"prompt": prompt}))
    page.get_by_role("button", name="Run").click()
    result = page.get_by_test_id("result")
    expect(result).to_be_visible(timeout=60_000)
    call: dict[str, Any] = json.loads(result.inner_text())["tool_calls"][0]
    assert call["tool"] == "insights___forecast"
    return call


def test_operator_suspends_and_reactivates_a_tenant(
    page: Page, tenant_page: Page, app: Forwarder, web_stack: Stack
) -> None:
    sign_in(tenant_page, app, "Gil (globex admin)")
    expect(tenant_page.get_by_role("heading", name="concierge")).to_be_visible()
    sign_in(page, app, "Oli (platform operator)")
    expect(page.get_by_test_id("whoami")).to_contain_text("platform (premium) · operator")
    page.get_by_role("link", name="Tenants", exact=True).click()
    row = page.locator('tr[data-tenant="globex"]')
    expect(row.get_by_test_id("tenant-status")).to_have_text("active")
    no_serious_a11y_violations(page, "ops-tenants")
    shot(page, "ops-01-tenants")
    try:
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="Suspend globex").click()
        expect(row.get_by_test_id("tenant-status")).to_have_text("suspended")
        expect(page.get_by_role("button", name="Reactivate globex")).to_be_visible()
        shot(page, "ops-02-tenant-suspended")

        until_suspended_page(tenant_page)
        expect(tenant_page.get_by_test_id("problem-code")).to_have_text("tenant_suspended")
        shot(tenant_page, "ops-03-tenant-sees-suspended")

        page.get_by_role("button", name="Reactivate globex").click()
        expect(row.get_by_test_id("tenant-status")).to_have_text("active")
        tenant_page.goto(app.url + "/app/")  # the tenant's next visit works again
        expect(tenant_page.get_by_role("heading", name="concierge")).to_be_visible()
        expect(tenant_page.get_by_test_id("suspended")).to_have_count(0)
    finally:
        with web_stack.client(web_stack.operator_key) as ops:
            ops.post(f"/v1/admin/tenants/{tenant_id(web_stack, 'globex')}/reactivate")
    # Audited with the operator's own identity (not a key, not an email).
    with web_stack.client(web_stack.operator_key) as ops:
        events = ops.get(
            "/v1/admin/audit", params={"tenant_id": tenant_id(web_stack, "globex"), "limit": 100}
        ).json()["items"]
    actors = {e["action"]: e["actor"] for e in events}
    assert actors["tenant.suspend"] == f"entra:{PLATFORM_TID}/{OLI.oid}"
    assert actors["tenant.reactivate"] == f"entra:{PLATFORM_TID}/{OLI.oid}"


def test_operator_onboards_a_tenant_and_its_key_is_shown_once(
    page: Page, app: Forwarder, web_stack: Stack
) -> None:
    sign_in(page, app, "Oli (platform operator)", "/app/ops/tenants")
    page.get_by_label("Slug").fill("umbrella")
    page.get_by_label("Display name").fill("Umbrella Corp")
    page.get_by_label("Tier", exact=True).select_option("standard")
    page.get_by_role("button", name="Onboard").click()
    key = page.get_by_test_id("new-tenant-key").inner_text()
    assert key.startswith("agy_")
    expect(page.locator('tr[data-tenant="umbrella"]')).to_contain_text("Umbrella Corp")
    expect(page.get_by_label("Tier of umbrella")).to_have_value("standard")
    shot(page, "ops-04-onboarded")
    with web_stack.client(key) as c:
        me = c.get("/v1/me").json()
        assert (me["tenant_slug"], me["tier"], me["role"]) == ("umbrella", "standard", "admin")
    page.get_by_role("button", name="Done").click()
    page.reload()
    assert key not in page.content()
    # A clash is the API's problem, shown with its code; nothing half-written.
    page.get_by_label("Slug").fill("umbrella")
    page.get_by_label("Display name").fill("Again")
    page.get_by_role("button", name="Onboard").click()
    expect(page.get_by_test_id("problem-code")).to_be_visible()
    assert page.get_by_test_id("problem-code").inner_text().endswith("exists")
    expect(page.locator('tr[data-tenant="umbrella"]')).to_have_count(1)


def test_tier_change_and_tool_grant_change_what_the_tenant_may_call(
    page: Page, tenant_page: Page, app: Forwarder, web_stack: Stack
) -> None:
    globex = tenant_id(web_stack, "globex")
    sign_in(page, app, "Oli (platform operator)", "/app/ops/tenants")
    sign_in(tenant_page, app, "Gil (globex admin)")
    try:
        page.get_by_label("Tier of globex").select_option("premium")
        expect(page.get_by_test_id("tenants-status")).to_have_text(
            "globex is now on the premium tier."
        )
        tenant_page.reload()
        expect(tenant_page.get_by_test_id("whoami")).to_contain_text("globex (premium)")
        allowed = forecast(tenant_page)
        assert allowed["allowed"] is True, allowed
        shot(tenant_page, "ops-05-premium-tool-allowed")

        page.get_by_label("Tier of globex").select_option("basic")
        expect(page.get_by_label("Tier of globex")).to_have_value("basic")
        denied = forecast(tenant_page)
        assert denied["allowed"] is False
        assert "premium" in denied["reason"]

        # Grant the tool to the basic tier in the console: globex (basic) may call it now.
        page.get_by_role("link", name="Tool grants", exact=True).click()
        box = page.get_by_label("basic may call insights___forecast")
        expect(box).not_to_be_checked()
        no_serious_a11y_violations(page, "ops-tools")
        box.click()  # the box shows what the API stored once it answered
        expect(page.get_by_test_id("tools-status")).to_have_text(
            "insights___forecast: granted to basic."
        )
        expect(box).to_be_checked()
        shot(page, "ops-06-tool-granted")
        granted = forecast(tenant_page)
        assert granted["allowed"] is True, granted
        page.get_by_label("basic may call insights___forecast").click()
        expect(page.get_by_test_id("tools-status")).to_contain_text("revoked from basic")
        page.reload()
        expect(page.get_by_label("basic may call insights___forecast")).not_to_be_checked()
        expect(page.get_by_label("premium may call insights___forecast")).to_be_checked()
    finally:
        with web_stack.client(web_stack.operator_key) as ops:
            ops.patch(f"/v1/admin/tenants/{globex}", json={"tier": "basic"})
            tools = {t["name"]: t for t in ops.get("/v1/admin/tools").json()}
            tiers = [t for t in tools["insights___forecast"]["tiers"] if t != "basic"]
            ops.put("/v1/admin/tools/insights___forecast", json={"tiers": tiers})
    with web_stack.client(web_stack.operator_key) as ops:
        events = ops.get("/v1/admin/audit", params={"limit": 100}).json()["items"]
    grants = [e["actor"] for e in events if e["action"] == "tool.grant.update"]
    # Newest first: the clean-up (operator key), then the console's revoke and grant.
    assert grants[1:3] == [f"entra:{PLATFORM_TID}/{OLI.oid}"] * 2, grants


class Receiver(http.server.BaseHTTPRequestHandler):
    answer = 500
    received: list[bytes] = []

    def do_POST(self) -> None:
        type(self).received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.send_response(type(self).answer)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_dead_letter_replay_from_the_console(page: Page, app: Forwarder, web_stack: Stack) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        with web_stack.client(web_stack.acme_key) as acme:
            endpoint = acme.post("/v1/webhooks", json={"url": url, "description": "dead"})
            assert endpoint.status_code == 201, endpoint.text
            test = acme.post(f"/v1/webhooks/{endpoint.json()['id']}/test")
            assert test.status_code in (200, 201, 202), test.text
        dead_id = ""
        with web_stack.client(web_stack.operator_key) as ops:
            deadline = time.monotonic() + 30
            while not dead_id:
                assert time.monotonic() < deadline, "the failing delivery was never dead-lettered"
                items = ops.get("/v1/admin/webhooks/dead-letters").json()["items"]
                dead_id = next((d["id"] for d in items if d["url"] == url), "")
                time.sleep(0.3)
        assert Receiver.received, "the one attempt never reached the receiver"
        Receiver.answer = 200
        tried = len(Receiver.received)

        sign_in(page, app, "Oli (platform operator)")
        page.get_by_role("link", name="Dead letters", exact=True).click()
        row = page.locator(f'tr[data-delivery="{dead_id}"]')
        expect(row).to_contain_text("webhook.test")
        expect(row).to_contain_text("HTTP 500")
        no_serious_a11y_violations(page, "ops-dead-letters")
        shot(page, "ops-07-dead-letters")
        page.get_by_role("button", name=f"Replay {dead_id}").click()
        expect(page.get_by_test_id("dead-status")).to_have_text(
            f"Delivery {dead_id} is queued again."
        )
        expect(row).to_have_count(0)
        shot(page, "ops-08-replayed")
        deadline = time.monotonic() + 20
        while len(Receiver.received) == tried:
            assert time.monotonic() < deadline, "the replayed delivery never arrived"
            time.sleep(0.2)
        assert b"webhook.test" in Receiver.received[-1]
        with web_stack.client(web_stack.operator_key) as ops:
            items = ops.get("/v1/admin/webhooks/dead-letters").json()["items"]
            assert dead_id not in {d["id"] for d in items}
            again = ops.post(f"/v1/admin/webhooks/dead-letters/{dead_id}/replay")
            assert again.status_code in (404, 409)  # delivered now: nothing to replay
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("path", "api_path", "code"),
    [
        ("/app/ops/tenants", "/v1/admin/tenants", "insufficient_role"),
        ("/app/ops/tools", "/v1/admin/tools", "insufficient_scope"),
        ("/app/ops/dead-letters", "/v1/admin/webhooks/dead-letters", "insufficient_scope"),
    ],
)
def test_a_tenant_admin_on_an_operator_url_sees_forbidden(
    page: Page, app: Forwarder, path: str, api_path: str, code: str
) -> None:
    sign_in(page, app, "Ada (acme admin)")
    expect(page.get_by_role("link", name="Tenants", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Dead letters", exact=True)).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith(api_path)) as answer:
        page.goto(app.url + path)
    assert answer.value.status == 403  # the platform refused; the UI only hid the link
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("problem-code")).to_have_text(code)
    expect(page.get_by_role("button", name="Onboard")).to_have_count(0)
    no_serious_a11y_violations(page, f"forbidden {path}")
    shot(page, f"ops-09-forbidden-{path.rsplit('/', 1)[1]}")


def test_an_unknown_tenant_gets_its_own_page(page: Page, app: Forwarder) -> None:
    page.goto(app.url + "/app/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Uma (initech, not onboarded)").click()
    expect(page.get_by_test_id("unknown-tenant")).to_be_visible()
    expect(page.get_by_role("heading", name="Your organisation is not on Agentry")).to_be_visible()
    expect(page.get_by_test_id("problem-code")).to_have_text("tenant_not_onboarded")
    no_serious_a11y_violations(page, "unknown-tenant")
    shot(page, "ops-10-unknown-tenant")


def test_silent_renewal_keeps_the_app_working_past_expiry(
    page: Page, app: Forwarder, web_stack: Stack
) -> None:
    sign_in(page, app, "Max (acme member)")
    first = stored_user(page)
    no_tokens_in_local_storage(page)
    renewals: list[str] = []
    to_idp: list[str] = []
    page.on(
        "request",
        lambda r: (
            renewals.append(r.url)
            if r.method == "POST" and "grant_type=refresh_token" in (r.post_data or "")
            else None
        ),
    )
    page.on(
        "request",
        lambda r: (
            to_idp.append(r.url) if r.is_navigation_request() and "/dev-idp/" in r.url else None
        ),
    )
    time.sleep(TOKEN_LIFETIME_S + 6)  # past the first token's expiry (no leeway in this stack)
    with web_stack.client(first["access_token"]) as c:
        assert c.get("/v1/me").json()["code"] == "invalid_token"  # expired for real
    with page.expect_response(lambda r: "/v1/jobs?" in r.url) as answer:
        page.get_by_role("link", name="Jobs", exact=True).click()
    assert answer.value.status == 200
    sent = answer.value.request.header_value("authorization") or ""
    assert sent.startswith("Bearer ")
    assert sent != f"Bearer {first['access_token']}"
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    expect(page.get_by_test_id("problem-code")).to_have_count(0)
    renewed = stored_user(page)
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]  # rotated
    assert renewals, "no refresh-token renewal was made"
    assert to_idp == [], f"the app went to the identity provider: {to_idp}"
    no_tokens_in_local_storage(page)
    shot(page, "ops-11-after-renewal")


def test_sign_out_ends_the_session_at_the_provider_and_in_the_app(
    page: Page, app: Forwarder, web_stack: Stack
) -> None:
    sign_in(page, app, "Ada (acme admin)")
    user = stored_user(page)
    went: list[str] = []
    page.on("request", lambda r: went.append(r.url) if r.is_navigation_request() else None)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert any("/dev-idp/" in u and "/logout" in u for u in went), went
    assert page.url.rstrip("/").endswith("/app")
    assert (
        page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user:'))")
        == []
    )
    page.reload()  # nothing left to sign in with
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_have_count(0)
    shot(page, "ops-12-signed-out")
    authority = web_stack.url + "/dev-idp/organizations/oauth2/v2.0/token"
    refused = httpx.post(
        authority,
        data={
            "grant_type": "refresh_token",
            "refresh_token": user["refresh_token"],
            "client_id": DEV_SPA_CLIENT_ID,
        },
        timeout=30,
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    sign_in(page, app, "Ada (acme admin)")  # the provider asks who again: its session ended
