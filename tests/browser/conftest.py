"""Browser fixtures: Debian's Chromium driven by Playwright, one fresh user per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Messages of the browser that mean the page is broken: uncaught errors, CSP refusals.
BAD_CONSOLE = ("Refused to", "Uncaught", "Content Security Policy")


@pytest.fixture(scope="session")
def browser():
    """Start one headless Chromium for the whole run."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, stack):
    """Return a new browser context: its own cookie jar, so a new Taskboard user."""
    ctx = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


@pytest.fixture
def page_errors():
    """Collect what the pages of a test report as broken; the test fails if any is left."""
    errors: list[str] = []
    yield errors
    assert errors == [], f"the page reported errors: {errors}"


@pytest.fixture
def open_page(context, page_errors):
    """Return a function that opens a path of the app in a new tab and waits until it is live."""

    def open_path(path: str = "/"):
        """Open ``path`` in a new tab, failing the test on page errors or CSP refusals."""
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                page_errors.append(f"console: {message.text}")
                if message.type == "error" and message.text.startswith(BAD_CONSOLE)
                else None
            ),
        )
        page.goto(path)
        page.wait_for_selector("#live-indicator[data-state=live]")
        if path == "/":
            page.wait_for_selector("#jobs-body[aria-busy=false]", state="attached")
            page.wait_for_selector("#processor:not([disabled])")
        return page

    return open_path


@pytest.fixture
def page(open_page):
    """Return the dashboard, open and live, for a new user."""
    return open_page("/")
