"""The upload card in a real browser: drop or pick files, watch each go up, see why one did not."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tasks.formats.amounts import size_text
from tests.browser.conftest import intermediate_values
from tests.browser.conftest import record_bar_values
from tests.browser.conftest import upload
from tests.parts import MAX_UPLOAD_BYTES

pytestmark = pytest.mark.browser

DROPPED_FILE = """() => {
  const files = new DataTransfer();
  files.items.add(new File(["dropped"], "dropped.txt", {type: "text/plain"}));
  return files;
}"""
DROP_BESIDE_THE_ZONE = """(files) => ["dragover", "drop"].map((type) =>
  document.querySelector(".jobs").dispatchEvent(
    new DragEvent(type, {dataTransfer: files, bubbles: true, cancelable: true})))"""
BLOCKED_STORAGE = """Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("The user blocked storage.", "SecurityError"); },
});"""


def test_dropped_file_becomes_a_job(page):
    """A file dropped on the drop zone is sent and runs; one dropped beside it is not opened."""
    page.select_option("#processor", "checksum")
    files = page.evaluate_handle(DROPPED_FILE)

    page.dispatch_event("#dropzone", "drop", {"dataTransfer": files})

    row = page.locator(".job-row", has_text="dropped.txt")
    expect(row).to_have_attribute("data-state", "SUCCESS")
    # dispatchEvent answers false when a listener prevented the default: opening the file.
    assert page.evaluate(DROP_BESIDE_THE_ZONE, files) == [False, False]


def test_upload_shows_its_own_percentage_while_sending(context, page):
    """A file on a slow link shows how much of it is sent, before its job exists."""
    network = context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 500_000},
    )
    record_bar_values(page, "#uploads")

    upload(page, "checksum", [("large.bin", b"\1" * 900_000)])

    row = page.locator(".job-row", has_text="large.bin")
    expect(row).to_have_attribute("data-state", "SUCCESS")
    assert intermediate_values(page), "the upload's bar never showed a part sent"


def test_cancel_while_the_session_is_fetched_sends_nothing(traffic, page):
    """Cancel before the upload has even started (its CSRF token is on the way) sends nothing."""
    held = []
    page.route("**/api/session", lambda route: held.append(route))
    upload(page, "simulate", [("never.txt", b"x")], steps=1, interval_ms=0)
    waiting = page.locator(".upload-item", has_text="never.txt")

    waiting.get_by_role("button", name="Stop sending never.txt").click()
    expect(waiting).to_have_count(0)
    assert len(held) == 1, "the session request was not held"
    held[0].continue_()

    upload(page, "simulate", [("sent.txt", b"x")], steps=1, interval_ms=0)
    expect(page.locator(".job-row", has_text="sent.txt")).to_have_attribute("data-state", "SUCCESS")
    assert traffic.requests.count("POST /api/jobs") == 1
    expect(page.locator(".job-row", has_text="never.txt")).to_have_count(0)


def test_upload_error_is_shown_next_to_its_file(page):
    """An empty file is refused by the API, and the message sits with that file."""
    upload(page, "simulate", [("empty.txt", b""), ("full.txt", b"data")], steps=1, interval_ms=0)

    failed = page.locator(".upload-item", has_text="empty.txt")
    expect(failed).to_have_attribute("data-state", "error")
    expect(failed.locator(".upload-error")).to_contain_text("empty")
    # Two files dropped make a batch: its one accepted job is listed under the batch's row, and
    # a search finds it; the refused file made no job.
    page.fill("#filter-q", "full.txt")
    expect(page.locator(".job-row", has_text="full.txt")).to_have_attribute("data-state", "SUCCESS")
    page.fill("#filter-q", "empty.txt")
    expect(page.locator(".job-row", has_text="empty.txt")).to_have_count(0)


def test_oversized_file_is_refused_next_to_its_name(traffic, page):
    """A file over the server's limit is refused by the page itself, with the limit, unsent."""
    upload(page, "checksum", [("huge.bin", b"\0" * (MAX_UPLOAD_BYTES + 1))])

    refused = page.locator(".upload-item", has_text="huge.bin")
    expect(refused).to_have_attribute("data-state", "error")
    expect(refused.get_by_role("alert")).to_have_text(
        "Too large: the server takes files up to 1 MB."
    )
    assert "POST /api/jobs" not in traffic.requests


def test_server_refusing_a_large_file_is_shown_as_its_message(page):
    """Where the page does not know the limit, the server's 413 message is shown with the file."""
    page.evaluate("delete document.body.dataset.maxUploadBytes")

    upload(page, "checksum", [("huge.bin", b"\0" * (MAX_UPLOAD_BYTES + 1))])

    refused = page.locator(".upload-item", has_text="huge.bin")
    expect(refused).to_have_attribute("data-state", "error")
    message = f"The upload is larger than this server takes: {size_text(MAX_UPLOAD_BYTES)}."
    expect(refused.get_by_role("alert")).to_have_text(message)


def test_dashboard_works_where_storage_is_blocked(context, open_page):
    """With localStorage refused, the page still loads, and remembers nothing instead of failing."""
    context.add_init_script(BLOCKED_STORAGE)
    page = open_page("/")
    expect(page.locator("#upload-error")).to_have_text("")
    expect(page.locator("#processor-accepts")).not_to_be_empty()

    upload(page, "checksum", [("stored-nowhere.txt", b"x")])

    row = page.locator(".job-row", has_text="stored-nowhere.txt")
    expect(row).to_have_attribute("data-state", "SUCCESS")
