"""The dashboard's list groups a batch's jobs under the batch's row: without a filter the list
shows the jobs sent alone (the server pages them: ``batch=none``), and a search finds the jobs
of batches too, each with a link to its batch."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_batch_page import DROPPED_FILES

pytestmark = pytest.mark.browser

ONE_FILE = """() => {
  const files = new DataTransfer();
  files.items.add(new File(["4444"], "alone.txt", {type: "text/plain"}));
  return files;
}"""


def test_a_batch_is_one_row_and_its_jobs_are_found_by_a_search(page):
    """Three files dropped (a batch) and one more: one batch row and one job row, also after a
    reload; the batch row opens into its three jobs; a search for one of them finds it, with
    a link to its batch."""
    page.select_option("#processor", "simulate")
    page.fill("[data-option=steps] input", "2")
    page.fill("[data-option=interval_ms] input", "50")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": page.evaluate_handle(DROPPED_FILES)})
    batch = page.locator(".batch-row")
    expect(batch).to_have_count(1)
    expect(batch.first).to_have_attribute("data-state", "SUCCESS")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": page.evaluate_handle(ONE_FILE)})

    rows = page.locator("#jobs-body .job-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".job-link")).to_have_text("alone.txt")
    expect(rows.first.locator(".badge")).to_have_text("Done")
    expect(page.locator("#jobs-count")).to_have_text("1 job")

    page.reload()
    expect(page.locator(".batch-row")).to_have_count(1)
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".job-link")).to_have_text("alone.txt")
    expect(rows.first.locator(".job-batch")).to_have_count(0)

    batch = page.locator(".batch-row").first
    batch.get_by_role("button", name="Show jobs").click()
    expect(batch.locator(".batch-job")).to_have_count(3)

    page.fill("#filter-q", "TWO")
    expect(rows).to_have_count(1)
    found = rows.first
    expect(found.locator(".job-link")).to_have_text("two.txt")
    link = found.locator(".job-batch")
    expect(link).to_have_text("in a batch")
    expect(link).to_have_attribute("href", f"/batches/{batch.get_attribute('data-id')}")
    assert "q=TWO" in page.url

    page.fill("#filter-q", ".txt")
    expect(rows).to_have_count(4)
    expect(page.locator("#jobs-body .job-batch")).to_have_count(3)

    page.fill("#filter-q", "nothing-is-called-this")
    expect(rows).to_have_count(0)
    expect(page.locator("#jobs-empty")).to_have_text("No job matches these filters.")


def test_a_batch_row_counts_its_jobs_left_and_goes_with_the_last(page):
    """Three files dropped (a batch); one job deleted from its row (held for the Undo, then
    gone): the batch row says "2 done · 1 deleted" over the two left; the two others deleted
    with "Delete selected": the batch row goes too, and stays gone after a reload."""
    page.select_option("#processor", "simulate")
    page.fill("[data-option=steps] input", "2")
    page.fill("[data-option=interval_ms] input", "50")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": page.evaluate_handle(DROPPED_FILES)})
    batch = page.locator(".batch-row")
    expect(batch.first).to_have_attribute("data-state", "SUCCESS")
    rows = page.locator("#jobs-body .job-row")

    page.fill("#filter-q", "two")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name="Delete two.txt").click()
    expect(batch.first.locator(".batch-counts")).to_have_text("2 done · 1 deleted", timeout=12000)
    expect(batch.first.locator(".batch-progress")).to_contain_text("100%")
    expect(batch.first.locator(".batch-title")).to_have_text("simulate · 2 files")

    page.fill("#filter-q", ".txt")
    expect(rows).to_have_count(2)
    for name in ("one.txt", "three.txt"):
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(batch).to_have_count(0, timeout=12000)
    page.reload()
    page.wait_for_selector("#live-indicator[data-state=live]")
    expect(page.locator(".batch-row")).to_have_count(0)
