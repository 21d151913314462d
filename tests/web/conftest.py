"""Fixtures of the browser tests (test_browser*.py): a stack per module, reached through a
forwarder on another origin, and Debian's chromium. A module changes the stack's settings by
overriding `stack_settings`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from agentry.testing.stack import Stack, start_stack, stop_stack
from tests.web.netcut import Forwarder
from tests.web.support import AXE, CHROMIUM, DIST, SHOTS, new_context


@pytest.fixture(scope="session")
def shots() -> None:
    """web/test-results holds this run's screenshots only."""
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)


@pytest.fixture(scope="module")
def net() -> Iterator[Forwarder]:
    forwarder = Forwarder()
    forwarder.start()
    yield forwarder
    forwarder.stop()


@pytest.fixture(scope="module")
def stack_settings() -> dict[str, str]:
    """Extra AGENTRY_* settings of the module's stack (start_stack's keywords)."""
    return {}


@pytest.fixture(scope="module")
def web_stack(
    tmp_path_factory: pytest.TempPathFactory, net: Forwarder, stack_settings: dict[str, str]
) -> Iterator[Stack]:
    """The browser reaches the app through `net` (another origin than the API's, so sign-in
    fetches the dev provider cross-origin: CORS is exercised by a real browser too)."""
    for needed in (CHROMIUM, DIST, AXE):
        assert needed.exists(), f"{needed} is missing: run make web-install web-build"
    running = start_stack(
        tmp_path_factory.mktemp("web-stack"),
        auth_failure_limit="10000/minute",
        cors_origins=json.dumps([net.url]),
        **stack_settings,
    )
    net.target_port = int(running.url.rsplit(":", 1)[1])
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def browser(shots: None) -> Iterator[Browser]:  # noqa: ARG001 (shots: cleared first)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def app(web_stack: Stack, net: Forwarder) -> Forwarder:
    """Where the browser opens the app, once the stack is up."""
    assert net.target_port == int(web_stack.url.rsplit(":", 1)[1])
    return net


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    yield context.new_page()
    context.close()
