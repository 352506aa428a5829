"""The dashboard's filter, search and bulk actions in a real browser: 50 queued jobs found by a
search in the URL and cancelled in one action; a failed job run again from its row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import newest_row
from tests.browser.conftest import upload
from tests.browser.test_job_page import truncated_png
from tests.parts import web_alone

pytestmark = pytest.mark.browser

# Sends jobs from the page's own session: a worker-less server keeps them queued.
SEND_JOBS = """async ([prefix, count]) => {
  const session = await (await fetch("/api/session")).json();
  for (let i = 0; i < count; i++) {
    const form = new FormData();
    form.append("processor", "simulate");
    form.append("file", new Blob(["x"]), `${prefix}-${i}.txt`);
    const response = await fetch("/api/jobs", {
      method: "POST", headers: {"X-CSRFToken": session.csrf_token}, body: form,
    });
    if (response.status !== 202) {
      throw new Error(`upload answered ${response.status}: ${await response.text()}`);
    }
  }
}"""


@pytest.fixture
def idle(tmp_path_factory):
    """Start a web server with no worker on a Redis of its own: jobs stay queued."""
    yield from web_alone(tmp_path_factory, "idle")


@pytest.fixture
def idle_page(browser, idle, page_errors):
    """Return the worker-less server's dashboard, live, for a new user."""
    context = browser.new_context(base_url=idle.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    page.goto("/")
    page.wait_for_selector("#live-indicator[data-state=live]")
    yield page
    context.close()


def test_a_search_in_the_url_and_one_bulk_cancel_stop_50_queued_jobs(idle_page):
    """A search kept in the URL finds 50 queued jobs of 53; "all matching" and Cancel stop
    exactly those in one request, and the others stay queued."""
    page = idle_page
    page.evaluate(SEND_JOBS, ["queued", 50])
    page.evaluate(SEND_JOBS, ["other", 3])
    page.goto("/?q=queued&state=PENDING")
    page.wait_for_selector("#live-indicator[data-state=live]")
    expect(page.locator("#filter-q")).to_have_value("queued")
    expect(page.locator("#jobs-count")).to_have_text("50 jobs")
    expect(page.locator("#jobs-body .job-row")).to_have_count(50)
    bulk_requests: list[str] = []
    page.on("request", lambda r: bulk_requests.append(r.url) if "/bulk" in r.url else None)

    page.get_by_label("All jobs matching the filter").check()
    page.get_by_role("button", name="Cancel selected").click()

    expect(page.locator("#bulk-status")).to_have_text("Cancelled 50 jobs.")
    expect(page.locator("#jobs-body .job-row[data-state=REVOKED]")).to_have_count(50)
    assert len(bulk_requests) == 1
    page.select_option("#filter-state", "PENDING")
    page.fill("#filter-q", "")
    page.locator("#filter-q").dispatch_event("change")
    expect(page).to_have_url(re.compile(r"/\?state=PENDING$"))
    expect(page.locator("#jobs-count")).to_have_text("3 jobs")
    expect(page.locator("#jobs-body .job-link")).to_have_text(
        ["other-2.txt", "other-1.txt", "other-0.txt"]
    )


def test_a_failed_row_runs_again_with_its_retry_button(page):
    """A failed job's row has Retry; it makes a new job of the same file at the top."""
    upload(page, "image-thumbnails", [("broken.png", truncated_png())])
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "FAILURE")
    first = row.get_attribute("data-id")
    row.get_by_role("button", name="Retry broken.png").click()
    rows = page.locator("#jobs-body .job-row")
    expect(rows).to_have_count(2)
    expect(rows.first).not_to_have_attribute("data-id", first)
    expect(rows.first.locator(".job-link")).to_have_text("broken.png")
