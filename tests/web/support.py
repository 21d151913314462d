"""What the browser tests share besides fixtures (those are in conftest.py): where chromium,
the built app and axe are, screenshots, the accessibility check and signing in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from agentry.testing.stack import REPO_ROOT
from tests.web.netcut import Forwarder

CHROMIUM = Path("/usr/bin/chromium")
DIST = REPO_ROOT / "web" / "dist" / "index.html"
AXE = REPO_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO_ROOT / "web" / "test-results"


def new_context(browser: Browser) -> BrowserContext:
    """A fresh browser profile: desktop size, clipboard allowed, 20 s waits."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(20_000)
    return context


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_serious_a11y_violations(page: Page, name: str) -> None:
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"


def sign_in(page: Page, net: Forwarder, user: str, path: str = "/app/") -> None:
    page.goto(net.url + path)
    no_serious_a11y_violations(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=user).click()  # the dev provider's user picker
    expect(page.get_by_test_id("whoami")).to_be_visible()
