"""Browser fixtures: Debian's Chromium driven by Playwright, one fresh user per test."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

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
        pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
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


class Traffic:
    """Every HTTP request and WebSocket that the tabs of a browser context open."""

    def __init__(self, context) -> None:
        self.requests: list[str] = []
        self.websockets: list[str] = []
        self.loaded = 0
        context.on("request", lambda request: self.requests.append(described(request)))
        context.on(
            "page", lambda page: page.on("websocket", lambda ws: self.websockets.append(ws.url))
        )

    def mark_loaded(self) -> None:
        """Remember that the page is loaded: requests from now on are the page's own doing."""
        self.loaded = len(self.requests)

    def after_load(self) -> list[str]:
        """Return the requests made since the page was loaded."""
        return self.requests[self.loaded :]


def described(request) -> str:
    """Return "METHOD path?query" of a request."""
    url = urlsplit(request.url)
    return f"{request.method} {url.path}{'?' + url.query if url.query else ''}"


@pytest.fixture
def traffic(context) -> Traffic:
    """Record what the tabs of the test's browser context ask for, from now on."""
    return Traffic(context)


def upload(page, processor: str, files: list[tuple[str, bytes]], **options) -> None:
    """Choose a processor and its options on the page, then pick files to send."""
    page.select_option("#processor", processor)
    for name, value in options.items():
        page.fill(f"[data-option={name}] input", str(value))
    page.set_input_files(
        "#file-input",
        files=[{"name": n, "mimeType": "application/octet-stream", "buffer": b} for n, b in files],
    )


def newest_row(page):
    """Return the top row of the jobs list once there is one."""
    from playwright.sync_api import expect

    row = page.locator("#jobs-body .job-row").first
    expect(row).to_be_attached()
    return row


def record_bar_values(page, container: str) -> None:
    """Keep every aria-valuenow shown under ``container``, to tell progress from a final jump."""
    page.evaluate(
        """(selector) => {
        window.__seen = [];
        new MutationObserver((records) => {
          for (const r of records) {
            window.__seen.push(Number(r.target.getAttribute("aria-valuenow")));
          }
        }).observe(document.querySelector(selector),
                   {attributes: true, attributeFilter: ["aria-valuenow"], subtree: true});
      }""",
        container,
    )


def intermediate_values(page) -> list[float]:
    """Return the recorded bar values strictly between 0 and 100."""
    return [value for value in page.evaluate("window.__seen") if 0 < value < 100]
