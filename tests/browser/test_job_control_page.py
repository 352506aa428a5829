"""Job control on a job's page in a real browser: its log live, its options, running a failed
job again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import newest_row
from tests.browser.conftest import upload
from tests.browser.test_job_page import open_newest_job
from tests.browser.test_job_page import truncated_png

pytestmark = pytest.mark.browser


def test_log_lines_appear_live_on_the_job_page(page):
    """A running job's page shows its log lines as the processor writes them, and its options."""
    # 10 s: the page must open while the job still runs, on a busy machine too (3 s was not).
    upload(page, "simulate", [("slow.txt", b"x")], steps=20, interval_ms=500)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "PROGRESS")
    row.locator(".job-link").click()
    page.wait_for_url("**/jobs/*")
    lines = page.locator("#job-log-lines .log-message")
    expect(lines.first).to_have_text("started")
    expect(page.locator("#job-state")).not_to_have_text("Done")
    # Lines written while the page is open come without a reload.
    expect(lines.filter(has_text="step 10 of 20 done")).to_have_count(1)
    expect(page.locator("#job-state")).to_have_text("Done", timeout=20_000)
    expect(lines.last).to_have_text("step 20 of 20 done")
    expect(page.locator("#job-details")).to_contain_text("steps: 20, interval_ms: 500")


def test_a_failed_job_runs_again_from_its_page(page):
    """Run again on a failed job's page makes a new job on the same file, linked to the first."""
    upload(page, "image-thumbnails", [("broken.png", truncated_png())])
    job = open_newest_job(page, "FAILURE")
    first = job.url.rsplit("/", 1)[1]
    expect(job.locator("#job-log-lines .log-line[data-level=error]")).to_have_count(1)
    job.get_by_role("button", name="Run again").click()
    job.wait_for_url(lambda url: not url.endswith(first))
    expect(job.locator("#job-title")).to_have_text("broken.png")
    expect(job.locator("#job-details")).to_contain_text(first)
    expect(job.locator("#job-state")).to_have_text("Failed")
