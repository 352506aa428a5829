"""Batches in a real browser: several files dropped make one batch with one bar, which
expands into its jobs and leads to the batch's page with its counts and the zip."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import AXE
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser

DROPPED_FILES = """() => {
  const files = new DataTransfer();
  for (const [name, text] of [["one.txt", "1"], ["two.txt", "22"], ["three.txt", "333"]]) {
    files.items.add(new File([text], name, {type: "text/plain"}));
  }
  return files;
}"""


def test_dropped_files_make_one_batch_with_one_bar(page):
    """Three files dropped at once: one batch row whose bar reaches 100 %, its three jobs on
    demand, and a batch page with the counts and the download of every result."""
    page.select_option("#processor", "simulate")
    page.fill("[data-option=steps] input", "3")
    page.fill("[data-option=interval_ms] input", "100")
    files = page.evaluate_handle(DROPPED_FILES)

    page.dispatch_event("#dropzone", "drop", {"dataTransfer": files})

    rows = page.locator(".batch-row")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_have_attribute("data-state", "SUCCESS")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row.locator(".batch-counts")).to_have_text("3 done")
    row.get_by_role("button", name="Show jobs").click()
    expect(row.locator(".batch-job")).to_have_count(3)
    expect(row.locator(".batch-job .badge").first).to_have_text("Done")

    row.locator(".batch-title").click()
    page.wait_for_url("**/batches/*")
    expect(page.locator("#batch-state")).to_have_text("Done")
    expect(page.locator("#batch-jobs .batch-job")).to_have_count(3)
    download = page.locator("#batch-download")
    expect(download).to_be_visible()
    with page.expect_download() as info:
        download.click()
    assert info.value.suggested_filename.endswith(".zip")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_batch_row_and_page_pass_axe(context, open_page, scheme):
    """The dashboard with a batch row opened, and the batch's page: no axe-core violations."""
    context.add_init_script(path=str(AXE))
    page = open_page("/")
    page.select_option("#processor", "simulate")
    page.fill("[data-option=steps] input", "1")
    page.fill("[data-option=interval_ms] input", "0")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": page.evaluate_handle(DROPPED_FILES)})
    row = page.locator(".batch-row").first
    expect(row).to_have_attribute("data-state", "SUCCESS")
    row.get_by_role("button", name="Show jobs").click()
    expect(row.locator(".batch-job")).to_have_count(3)
    assert violations(page, scheme) == []

    row.locator(".batch-title").click()
    page.wait_for_url("**/batches/*")
    expect(page.locator("#batch-jobs .batch-job")).to_have_count(3)
    assert violations(page, scheme) == []
