"""With no worker online the page says so, on the list and on the job, and stops saying it once
one starts: told by the server's `workers` event, never by polling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import described
from tests.browser.conftest import newest_row
from tests.browser.conftest import upload
from tests.parts import web_alone

pytestmark = pytest.mark.browser


@pytest.fixture
def lonely(tmp_path_factory):
    """Start a web server on a Redis of its own, with no worker at all."""
    yield from web_alone(tmp_path_factory, "lonely")


@pytest.fixture
def lonely_page(browser, lonely, page_errors):
    """Return a function opening a path of the worker-less server in a new tab, once live; its
    ``requests`` lists what the tabs asked for over HTTP."""
    context = browser.new_context(base_url=lonely.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(described(request)))

    def open_path(path: str):
        """Open ``path`` and wait until the page is live."""
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
        page.goto(path)
        page.wait_for_selector("#live-indicator[data-state=live]")
        return page

    open_path.requests = requests
    yield open_path
    context.close()


def test_no_worker_is_said_until_one_starts(lonely, lonely_page):
    """A job sent with no worker online waits with a reason on the list and on its page; a
    worker that starts clears the notices and runs the job."""
    page = lonely_page("/")
    page.wait_for_selector("#processor:not([disabled])")
    notice = page.locator("#workers-notice")
    expect(notice).to_have_text("No worker is online: new jobs wait in the queue until one starts.")

    upload(page, "simulate", [("waiting.txt", b"x")], steps=2, interval_ms=10)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "PENDING")
    expect(row.locator(".message")).to_have_text("Waiting: no worker online for it (1st in queue).")
    job = lonely_page(f"/jobs/{row.get_attribute('data-id')}")
    expect(job.locator("#job-waiting")).to_be_visible()
    expect(job.locator("#job-waiting")).to_contain_text("No worker is online")
    requests_before = len(lonely_page.requests)

    lonely.worker = lonely.start_worker()

    expect(notice).to_be_hidden(timeout=30000)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    expect(row.locator(".message")).not_to_contain_text("no worker")
    expect(job.locator("#job-waiting")).to_be_hidden()
    assert lonely_page.requests[requests_before:] == [], "the page asked instead of being told"


@pytest.mark.parametrize(
    ("workers", "notice"),
    [
        (None, ""),
        ({"online": 1, "processors": {"checksum": 1, "csv-to-xlsx": 1}}, ""),
        (
            {"online": 1, "processors": {"checksum": 1, "csv-to-xlsx": 0}},
            "No worker is online for CSV to Excel: those jobs wait in the queue until one starts.",
        ),
        (
            {"online": 0, "processors": {"checksum": 0}},
            "No worker is online: new jobs wait in the queue until one starts.",
        ),
    ],
)
def test_the_notice_names_the_processors_without_a_worker(page, workers, notice):
    """The dashboard's notice names each processor whose queue has no worker, by its title."""
    text = page.evaluate(
        """async (workers) => {
        const { workersNotice } = await import("/static/js/presence.js");
        const titles = new Map([["csv-to-xlsx", {title: "CSV to Excel"}]]);
        return workersNotice(workers, titles);
      }""",
        workers,
    )
    assert text == notice
