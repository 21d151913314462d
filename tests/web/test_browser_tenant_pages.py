"""The tenant pages (usage, audit log, marketplace) in a real browser against a real stack:
figures and downloads match the API, another tenant's data never shows, axe finds nothing
serious. Runs with AGENTRY_TEST_WEB=1 (`make test-web`); screenshots in web/test-results/."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentry.testing.stack import Stack
from tests.web.netcut import Forwarder

if os.environ.get("AGENTRY_TEST_WEB") != "1":
    pytest.skip(
        "browser tests run with AGENTRY_TEST_WEB=1 (make test-web)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect

from tests.web.support import new_context, no_serious_a11y_violations, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # the first test starts the stack


def second_page(browser: Browser) -> Page:
    return new_context(browser).new_page()


def window(days: int = 30) -> dict[str, str]:
    """The page's default period: whole UTC days ending after today (usage.ts windowOf)."""
    now = datetime.now(UTC)
    end = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    iso = "%Y-%m-%dT%H:%M:%S.000Z"
    return {"from": (end - timedelta(days=days)).strftime(iso), "to": end.strftime(iso)}


def invoke(stack: Stack, key: str, agent: str, body: dict[str, Any]) -> None:
    with stack.client(key) as c:
        r = c.post(f"/v1/agents/{agent}/invoke", json={"input": body})
        assert r.status_code == 200, r.text


def daily(stack: Stack, key: str) -> dict[str, Any]:
    with stack.client(key) as c:
        r = c.get("/v1/usage/daily", params=window())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def test_usage_chart_totals_and_csv_match_the_api(
    browser: Browser, page: Page, app: Forwarder, web_stack: Stack
) -> None:
    for word in ("one", "two", "three"):
        invoke(web_stack, web_stack.acme_key, "echo", {"prompt": word})
    invoke(web_stack, web_stack.acme_key, "concierge", {"prompt": "hello"})
    invoke(web_stack, web_stack.globex_key, "longrun", {"steps": 1, "step_s": 0.05})
    deadline = time.monotonic() + 30  # runtime usage is recorded as each call ends
    while {x["agent"] for x in daily(web_stack, web_stack.acme_key)["lines"]} < {
        "echo",
        "concierge",
    }:
        assert time.monotonic() < deadline, daily(web_stack, web_stack.acme_key)
        time.sleep(0.5)
    assert any(x["agent"] == "longrun" for x in daily(web_stack, web_stack.globex_key)["lines"])
    api = daily(web_stack, web_stack.acme_key)

    sign_in(page, app, "Ada (acme admin)")
    page.get_by_role("link", name="Usage", exact=True).click()
    expect(page.get_by_test_id("usage-total")).to_have_text(api["total_cost"])
    chart = page.get_by_test_id("usage-chart-agent")
    expect(chart.locator(".recharts-bar-rectangle").first).to_be_visible()
    expect(chart.locator(".recharts-legend-item")).to_have_count(2)  # echo and concierge
    assert sorted(chart.locator(".recharts-legend-item").all_inner_texts()) == [
        "concierge",
        "echo",
    ]
    totals = page.get_by_test_id("usage-totals-agent")
    for agent in ("echo", "concierge"):
        cost = sum(Decimal(x["cost"]) for x in api["lines"] if x["agent"] == agent)
        row = totals.locator(f'tr[data-name="{agent}"]')
        expect(row.get_by_test_id("row-cost")).to_have_text(f"{cost:.9f}")
        runtime = sum(x["quantity"] for x in api["lines"] if x["agent"] == agent)
        assert runtime > 0
    assert "longrun" not in page.content()  # globex's usage is never here
    no_serious_a11y_violations(page, "usage")
    shot(page, "30-usage-by-agent")

    page.get_by_role("tab", name="By model").click()
    models = page.get_by_test_id("usage-totals-model")
    expect(models).to_be_visible()
    expected = sorted({x["model"] or "(no model)" for x in api["lines"]})
    assert sorted(models.locator("tbody th").all_inner_texts()) == expected
    shot(page, "31-usage-by-model")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    got = download.value
    assert got.suggested_filename.startswith("usage-")
    assert got.suggested_filename.endswith(".csv")
    text = Path(got.path()).read_text(encoding="utf-8")
    with web_stack.client(web_stack.acme_key) as c:
        assert text == c.get("/v1/usage/daily.csv", params=window()).text
    rows = text.splitlines()
    assert rows[0] == "day,agent,model,kind,events,quantity,cost"
    assert len(rows) == len(api["lines"]) + 1
    assert "longrun" not in text

    page.get_by_label("Period").click()  # a react-aria select, by keyboard
    page.get_by_role("option", name="Last 7 days").click()
    expect(page.get_by_test_id("usage-total")).to_have_text(api["total_cost"])  # all today

    # Globex's admin sees globex's figures only.
    other = second_page(browser)
    try:
        sign_in(other, app, "Gil (globex admin)", "/app/usage")
        theirs = daily(web_stack, web_stack.globex_key)
        expect(other.get_by_test_id("usage-total")).to_have_text(theirs["total_cost"])
        legend = other.get_by_test_id("usage-chart-agent").locator(".recharts-legend-item")
        expect(legend).to_have_count(1)
        expect(legend).to_have_text("longrun")
        assert "concierge" not in other.get_by_test_id("usage-totals-agent").inner_text()
    finally:
        other.context.close()


def test_usage_is_for_admins_and_narrow_screens(browser: Browser, app: Forwarder) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    p = context.new_page()
    try:
        sign_in(p, app, "Ada (acme admin)", "/app/usage")
        expect(p.get_by_test_id("usage-figures")).to_be_visible()
        width = p.evaluate("document.documentElement.scrollWidth")
        shot(p, "32-usage-375px")
        assert width <= 375, f"the usage page scrolls sideways at 375 px ({width} px wide)"
    finally:
        context.close()
    member = second_page(browser)
    try:
        sign_in(member, app, "Max (acme member)")
        expect(member.get_by_role("link", name="Usage", exact=True)).to_have_count(0)
        expect(member.get_by_role("link", name="Audit log", exact=True)).to_have_count(0)
        member.goto(app.url + "/app/audit")
        expect(member.get_by_test_id("problem-code")).to_have_text("insufficient_role")
    finally:
        member.context.close()


def test_audit_log_shows_an_action_just_performed_filters_and_pages(
    browser: Browser, page: Page, app: Forwarder, web_stack: Stack
) -> None:
    with web_stack.client(web_stack.acme_key) as c:  # enough events for two pages
        for i in range(26):
            assert c.post("/v1/api-keys", json={"name": f"bulk-{i}"}).status_code == 201
    sign_in(page, app, "Ada (acme admin)", "/app/keys")
    page.get_by_label("New key name").fill("audit-probe")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("new-secret")).to_be_visible()
    page.get_by_role("link", name="Audit log", exact=True).click()
    events = page.get_by_test_id("audit-events")
    newest = events.locator("tbody tr").first
    expect(newest).to_have_attribute("data-action", "api_key.create")
    with web_stack.client(web_stack.acme_key) as c:
        api = c.get("/v1/audit", params={"limit": 1}).json()["items"][0]
    assert api["action"] == "api_key.create"
    expect(newest).to_have_attribute("data-seq", str(api["seq"]))
    expect(newest).to_contain_text(api["details"]["key_id"])
    no_serious_a11y_violations(page, "audit")
    shot(page, "33-audit")

    # Paging: 25 a page, older, newer.
    first_seqs = events.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.seq)")
    assert len(first_seqs) == 25
    page.get_by_role("button", name="Older").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(events.locator("tbody tr").first).not_to_have_attribute("data-seq", first_seqs[0])
    second = events.locator("tbody tr").evaluate_all("rs => rs.map(r => +r.dataset.seq)")
    assert max(second) < min(int(s) for s in first_seqs)
    page.get_by_role("button", name="Newer").click()
    expect(events.locator("tbody tr").first).to_have_attribute("data-seq", first_seqs[0])

    # Filters: by action prefix, by day; a bad range is refused before asking the API.
    page.get_by_label("Action").fill("api_key.revoke")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No audit events match.")).to_be_visible()
    page.get_by_label("Action").fill("api_key.")
    page.get_by_role("button", name="Apply filters").click()
    expect(events.locator("tbody tr").first).to_have_attribute("data-action", "api_key.create")
    actions = set(events.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.action)"))
    assert actions == {"api_key.create"}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    page.get_by_label("From (UTC day)").fill(tomorrow)
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No audit events match.")).to_be_visible()
    page.get_by_label("From (UTC day)").fill(today)
    page.get_by_label("To (UTC day)").fill(today)
    page.get_by_role("button", name="Apply filters").click()
    expect(events.locator("tbody tr").first).to_have_attribute("data-seq", str(api["seq"]))
    page.get_by_label("From (UTC day)").fill(tomorrow)
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("alert")).to_contain_text("From must not be after To")
    shot(page, "34-audit-filtered")

    # Globex's admin sees none of acme's events.
    other = second_page(browser)
    try:
        sign_in(other, app, "Gil (globex admin)", "/app/audit")
        expect(other.get_by_role("heading", name="Audit log")).to_be_visible()
        other.get_by_role("button", name="Apply filters").click()  # settled list
        expect(other.get_by_role("status")).to_have_count(0)
        assert api["details"]["key_id"] not in other.content()
        seqs = other.locator("[data-seq]").evaluate_all("rs => rs.map(r => +r.dataset.seq)")
        assert api["seq"] not in seqs
    finally:
        other.context.close()


@pytest.fixture
def listing(web_stack: Stack) -> Iterator[dict[str, Any]]:
    with web_stack.client(web_stack.developer_key) as c:
        r = c.post(
            "/v1/marketplace/listings",
            json={
                "agent": "summariser",
                "description": "Summarises text in a few sentences.",
                "tags": ["text", "summary"],
                "price_hint": "0.01 per call",
            },
        )
        assert r.status_code == 201, r.text
        made: dict[str, Any] = r.json()
    with web_stack.client(web_stack.operator_key) as c:
        r = c.post(f"/v1/admin/marketplace/listings/{made['id']}/approve", json={"note": "ok"})
        assert r.status_code == 200, r.text
    yield made
    with web_stack.client(web_stack.operator_key) as c:
        c.delete(f"/v1/marketplace/listings/{made['id']}")


@pytest.mark.usefixtures("listing")
def test_marketplace_subscribe_member_sees_it_unsubscribe_hides_it(
    browser: Browser, page: Page, app: Forwarder
) -> None:
    member = second_page(browser)
    try:
        sign_in(member, app, "Max (acme member)", "/app/marketplace")
        expect(
            member.get_by_text("Your organisation subscribes to no marketplace agents yet.")
        ).to_be_visible()
        expect(member.get_by_role("button", name="Subscribe to summariser")).to_have_count(0)
        no_serious_a11y_violations(member, "marketplace-member-empty")

        sign_in(page, app, "Ada (acme admin)")
        page.get_by_role("link", name="Marketplace", exact=True).click()
        card = page.locator('li[data-agent="summariser"]')
        expect(card).to_contain_text("Summarises text in a few sentences.")
        expect(card).to_contain_text("0.01 per call")
        expect(card).to_contain_text("stream, sync")  # skills from the manifest
        expect(card).to_contain_text("v1 (latest")
        expect(card.get_by_role("list", name="Tags of summariser")).to_contain_text("summary")
        no_serious_a11y_violations(page, "marketplace")
        shot(page, "35-marketplace")

        page.get_by_label("Search").fill("nothing-like-it")
        page.get_by_label("Search").press("Enter")
        expect(page.get_by_text("No agents match.")).to_be_visible()
        page.get_by_label("Search").fill("summar")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(card).to_be_visible()
        page.get_by_role("button", name=re.compile(r" Tag$")).click()  # value, then label
        page.get_by_role("option", name="summary").click()
        expect(card).to_be_visible()
        page.get_by_role("button", name=re.compile(r" Tag$")).click()  # value, then label
        page.get_by_role("option", name="Any tag").click()

        card.get_by_role("button", name="Subscribe to summariser").click()
        expect(card.get_by_test_id("subscribed")).to_be_visible()
        shot(page, "36-marketplace-subscribed")

        member.reload()  # the member now finds it, and can invoke it
        mcard = member.locator('li[data-agent="summariser"]')
        expect(mcard.get_by_test_id("subscribed")).to_be_visible()
        shot(member, "37-marketplace-member")
        member.get_by_role("link", name="Agents", exact=True).click()
        expect(member.get_by_role("heading", name="summariser")).to_be_visible()

        # Another tenant sees the listing, never acme's subscription.
        other = second_page(browser)
        try:
            sign_in(other, app, "Gil (globex admin)", "/app/marketplace")
            ocard = other.locator('li[data-agent="summariser"]')
            expect(ocard.get_by_role("button", name="Subscribe to summariser")).to_be_visible()
            expect(ocard.get_by_test_id("subscribed")).to_have_count(0)
        finally:
            other.context.close()

        # Unsubscribe asks first (a dialog; Escape keeps it), then hides it from the member.
        card.get_by_role("button", name="Unsubscribe from summariser").click()
        dialog = page.get_by_role("dialog", name="Unsubscribe from summariser?")
        expect(dialog).to_be_visible()
        no_serious_a11y_violations(page, "marketplace-dialog")
        shot(page, "38-marketplace-unsubscribe-dialog")
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(card.get_by_test_id("subscribed")).to_be_visible()
        card.get_by_role("button", name="Unsubscribe from summariser").click()
        dialog.get_by_role("button", name="Unsubscribe").click()
        expect(card.get_by_test_id("subscribed")).to_have_count(0)
        expect(card.get_by_role("button", name="Subscribe to summariser")).to_be_visible()

        member.goto(app.url + "/app/marketplace")
        expect(
            member.get_by_text("Your organisation subscribes to no marketplace agents yet.")
        ).to_be_visible()
        expect(member.locator('li[data-agent="summariser"]')).to_have_count(0)
    finally:
        member.context.close()
