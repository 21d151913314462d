"""The web app in a real browser (Debian's chromium) against a real local stack.

Runs with AGENTRY_TEST_WEB=1 (`make test-web`, which builds web/dist first); skipped in
`make test`. Screenshots of every step land in web/test-results/.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import suppress

import httpx
import pytest

from agentry.testing.stack import Stack
from tests.web.netcut import Forwarder

if os.environ.get("AGENTRY_TEST_WEB") != "1":
    pytest.skip(
        "browser tests run with AGENTRY_TEST_WEB=1 (make test-web)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.support import no_serious_a11y_violations, shot, sign_in

pytestmark = pytest.mark.e2e


def test_sign_in_invoke_and_watch_frames_arrive_one_by_one(page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Ada (acme admin)")
    expect(page.get_by_test_id("whoami")).to_contain_text(
        "Ada (acme admin) · acme (premium) · admin"
    )
    expect(page.get_by_role("heading", name="echo")).to_be_visible()
    shot(page, "01-agents")
    no_serious_a11y_violations(page, "agents")

    page.get_by_role("link", name="Invoke echo").click()
    words = [f"w{i}" for i in range(30)]  # echo sends one frame per word, 50 ms apart
    page.get_by_label("Input (JSON)").fill(json.dumps({"prompt": " ".join(words), "stream": True}))
    page.get_by_role("button", name="Run").click()
    frames = page.get_by_test_id("frames").locator("li")
    expect(frames.first).to_be_visible()
    seen_first = frames.count()
    shot(page, "02-streaming")
    expect(page.get_by_test_id("invoke-status")).to_have_text("Done.")
    shot(page, "03-streamed")
    no_serious_a11y_violations(page, "invoke")

    total = frames.count()
    assert total == len(words) + 1  # one per word, then echo's final frame
    assert seen_first < total, "all frames were there at once: not streamed"
    at = [int(frames.nth(i).get_attribute("data-at") or 0) for i in range(total)]
    assert at == sorted(at)
    assert at[-1] - at[0] >= 0.6 * 50 * len(words), f"frames did not arrive over time: {at}"
    texts = [json.loads(frames.nth(i).inner_text()) for i in range(len(words))]
    assert [t["word"] for t in texts] == words


def test_a_cut_network_resumes_the_stream_without_loss(page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Max (acme member)", "/app/invoke/echo")
    words = [f"x{i}" for i in range(60)]
    page.get_by_label("Input (JSON)").fill(json.dumps({"prompt": " ".join(words), "stream": True}))
    page.get_by_role("button", name="Run").click()
    frames = page.get_by_test_id("frames").locator("li")
    expect(frames.nth(4)).to_be_visible()
    app.cut()  # every connection reset mid-stream; the app resumes with Last-Event-ID
    expect(page.get_by_test_id("invoke-status")).to_contain_text("resuming")
    before = frames.count()
    shot(page, "04-cut")
    expect(page.get_by_test_id("invoke-status")).to_have_text("Done.", timeout=30_000)
    shot(page, "05-resumed")
    assert before < len(words), "the cut came after the stream had ended"
    seqs = [int(frames.nth(i).get_attribute("data-seq") or -1) for i in range(frames.count())]
    assert seqs == list(range(1, len(words) + 2)), seqs  # every chunk once, in order
    got = [json.loads(frames.nth(i).inner_text())["word"] for i in range(len(words))]
    assert got == words


def test_create_copy_and_revoke_a_key(page: Page, app: Forwarder, web_stack: Stack) -> None:
    sign_in(page, app, "Ada (acme admin)", "/app/keys")
    page.get_by_label("New key name").fill("ci-browser")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-secret").inner_text()
    assert secret.startswith("agy_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "06-key-created")
    no_serious_a11y_violations(page, "keys")
    with httpx.Client(base_url=web_stack.url, timeout=30) as c:
        auth = {"Authorization": f"Bearer {secret}"}
        assert c.get("/v1/agents", headers=auth).status_code == 200

        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="Revoke ci-browser").click()
        row = page.locator("tr", has_text="ci-browser")
        expect(row).to_contain_text("revoked")
        shot(page, "07-key-revoked")
        deadline = time.monotonic() + 10  # the key cache forgets revoked keys at once or soon
        while c.get("/v1/agents", headers=auth).status_code != 401:
            assert time.monotonic() < deadline, "a revoked key still works"
            time.sleep(0.2)


def test_basic_tier_sees_the_premium_tool_denied_with_the_reason(
    page: Page, app: Forwarder
) -> None:
    sign_in(page, app, "Gil (globex admin)", "/app/invoke/concierge")
    expect(page.get_by_test_id("whoami")).to_contain_text("globex (basic)")
    page.get_by_label("Wait for the answer").check()
    prompt = 'call insights___forecast {"series":[1,2,3]}'
    page.get_by_label("Input (JSON)").fill(json.dumps({"prompt": prompt}))
    page.get_by_role("button", name="Run").click()
    result = page.get_by_test_id("result")
    expect(result).to_be_visible(timeout=60_000)
    out = json.loads(result.inner_text())
    shot(page, "08-tool-denied")
    assert out["tool_calls"][0]["tool"] == "insights___forecast"
    assert out["tool_calls"][0]["allowed"] is False
    assert "premium" in out["tool_calls"][0]["reason"]


def test_bad_input_and_api_problems_are_shown(page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Max (acme member)", "/app/invoke/echo")
    page.get_by_label("Input (JSON)").fill("{not json")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("Input is not valid JSON")).to_be_visible()
    expect(page.get_by_label("Input (JSON)")).to_have_attribute("aria-invalid", "true")
    # A member may not manage keys: the API's problem and its code are on the page.
    page.goto(app.url + "/app/keys")
    expect(page.get_by_test_id("problem-code").first).to_have_text("insufficient_scope")
    shot(page, "09-problem")


def test_keyboard_only_invoke(page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Max (acme member)", "/app/invoke/echo")
    page.get_by_label("Input (JSON)").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type('{"prompt": "k1 k2 k3", "stream": true}')
    page.keyboard.press("Tab")  # → Run
    expect(page.get_by_role("button", name="Run")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("invoke-status")).to_have_text("Done.")
    assert page.get_by_test_id("frames").locator("li").count() == 4


def test_narrow_screen(browser: Browser, app: Forwarder) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, app, "Ada (acme admin)", "/app/keys")
        expect(page.get_by_role("button", name="Create key")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, "10-375px")
        assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    finally:
        context.close()


def test_a_suspended_tenant_sees_the_suspended_page(
    page: Page, app: Forwarder, web_stack: Stack
) -> None:
    sign_in(page, app, "Gil (globex admin)")
    expect(page.get_by_role("heading", name="concierge")).to_be_visible()
    with web_stack.client(web_stack.operator_key) as ops:
        tenants = ops.get("/v1/admin/tenants").json()["items"]
        globex = next(t for t in tenants if t["slug"] == "globex")
        assert ops.post(f"/v1/admin/tenants/{globex['id']}/suspend").status_code == 200
        try:
            deadline = time.monotonic() + 15  # token validation caches a tenant for 5 s
            links = ["Invoke", "Agents"]
            while not page.get_by_test_id("suspended").count():
                assert time.monotonic() < deadline, "the suspended page never came"
                page.get_by_role("link", name=links[0], exact=True).click()  # the next action
                links.reverse()
                with suppress(PlaywrightTimeout):
                    page.get_by_test_id("suspended").wait_for(timeout=1_000)
            expect(page.get_by_test_id("problem-code")).to_have_text("tenant_suspended")
            shot(page, "11-suspended")
            no_serious_a11y_violations(page, "suspended")
        finally:
            ops.post(f"/v1/admin/tenants/{globex['id']}/reactivate")


def test_invite_change_role_and_remove_a_member(page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Ada (acme admin)")
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.get_by_text("No members or invitations yet.")).to_be_visible()
    page.get_by_label("Email").fill("Dana@Acme.example")
    page.get_by_label("Role", exact=True).select_option("developer")
    page.get_by_role("button", name="Invite").click()
    role = page.get_by_label("Role of dana@acme.example")
    expect(role).to_have_value("developer")
    expect(page.locator("tr", has_text="dana@acme.example")).to_contain_text("invited")
    no_serious_a11y_violations(page, "members")
    role.select_option("admin")
    page.reload()  # what the API stored, not what the page remembers
    expect(page.get_by_label("Role of dana@acme.example")).to_have_value("admin")
    shot(page, "12-members")
    page.get_by_label("Email").fill("dana@acme.example")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_test_id("problem-code")).to_have_text("member_exists")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Remove dana@acme.example").click()
    expect(page.get_by_text("No members or invitations yet.")).to_be_visible()


def test_an_async_job_runs_to_completion_with_progress(page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Max (acme member)", "/app/invoke/longrun")
    page.get_by_label("Async job").check()
    page.get_by_label("Input (JSON)").fill(json.dumps({"steps": 4, "step_s": 0.6}))
    page.get_by_role("button", name="Run").click()
    status = page.get_by_test_id("invoke-status")
    expect(status).to_contain_text("step", timeout=30_000)  # progress shown while it runs
    shot(page, "13-job-running")
    expect(status).to_have_text("Job succeeded.", timeout=60_000)
    shot(page, "14-job-done")
    assert page.get_by_test_id("job-id").inner_text().startswith("job_")
    result = json.loads(page.get_by_test_id("result").inner_text())
    assert result["steps"] == 4
    assert result["trail"] == [1, 2, 3, 4]


def test_jobs_list_detail_events_and_cancel(browser: Browser, page: Page, app: Forwarder) -> None:
    sign_in(page, app, "Max (acme member)", "/app/invoke/longrun")
    page.get_by_label("Async job").check()
    page.get_by_label("Input (JSON)").fill(json.dumps({"steps": 40, "step_s": 0.5}))
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_test_id("invoke-status")).to_contain_text("step", timeout=30_000)
    job_id = page.get_by_test_id("job-id").inner_text()
    page.get_by_role("link", name="Jobs", exact=True).click()
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("running")
    page.get_by_label("Status").select_option("succeeded")  # the filter asks the API again
    expect(row).to_have_count(0)
    page.get_by_label("Status").select_option("running")
    expect(row).to_contain_text("longrun")
    no_serious_a11y_violations(page, "jobs")
    shot(page, "15-jobs")
    row.get_by_role("link").click()
    expect(page.get_by_test_id("job-status")).to_have_text("running")
    events = page.get_by_test_id("job-events")
    expect(events).to_contain_text("step 2 of 40", timeout=20_000)  # progress arrives live
    no_serious_a11y_violations(page, "job-detail")
    shot(page, "16-job-detail-running")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Cancel job").click()
    expect(page.get_by_test_id("job-status")).to_have_text("cancelled")
    expect(events.locator("li").last).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    shot(page, "17-job-cancelled")
    # Another tenant's job is never reachable by URL: globex's admin gets the API's 404.
    other = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        intruder = other.new_page()
        sign_in(intruder, app, "Gil (globex admin)", f"/app/jobs/{job_id}")
        expect(intruder.get_by_test_id("problem-code")).to_have_text("job_not_found")
        expect(intruder.get_by_test_id("job-status")).to_have_count(0)
        expect(intruder.get_by_text("longrun")).to_have_count(0)
        shot(intruder, "18-job-other-tenant")
    finally:
        other.close()


def test_webhook_endpoint_secret_once_test_delivery_and_log(page: Page, app: Forwarder) -> None:
    import http.server
    import threading

    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        sign_in(page, app, "Ada (acme admin)")
        page.get_by_role("link", name="Webhooks", exact=True).click()
        expect(page.get_by_text("No webhook endpoints yet.")).to_be_visible()
        no_serious_a11y_violations(page, "webhooks-empty")
        page.get_by_label("Endpoint URL").fill(url)
        page.get_by_label("Description").fill("browser test receiver")
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.get_by_test_id("new-webhook-secret").inner_text()
        assert len(secret) >= 16
        page.get_by_role("region", name="New endpoint secret").get_by_role(
            "button", name="Copy"
        ).click()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        shot(page, "19-webhook-created")
        page.get_by_role("button", name="Done").click()
        expect(page.get_by_test_id("new-webhook-secret")).to_have_count(0)
        page.reload()  # the secret is never shown again
        expect(page.locator("tr", has_text=url)).to_contain_text("browser test receiver")
        assert secret not in page.content()
        page.get_by_role("button", name=f"Deliveries of {url}").click()
        expect(page.get_by_text("No deliveries yet.")).to_be_visible()
        page.get_by_role("button", name="Send test delivery").click()
        row = page.get_by_test_id("deliveries").locator("tr", has_text="webhook.test")
        expect(row).to_have_count(1)
        deadline = time.monotonic() + 20
        while "delivered" not in row.inner_text():
            assert time.monotonic() < deadline, f"never delivered: {row.inner_text()}"
            time.sleep(0.5)
            page.get_by_role("button", name="Refresh").click()
        expect(row).to_contain_text("200")
        assert any(b"webhook.test" in body for body in received)
        no_serious_a11y_violations(page, "webhooks")
        shot(page, "20-webhook-delivery-log")
    finally:
        server.shutdown()
