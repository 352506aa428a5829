"""Cancel and Delete in a real browser: no double click deletes, a delete can be undone, the
keyboard focus stays on something sensible, and a row says why its job failed."""

from __future__ import annotations

import json

import pytest
import redis
from playwright.sync_api import expect

from tests.browser.conftest import newest_row
from tests.browser.conftest import upload
from tests.browser.test_job_page import truncated_png
from tests.parts import wait_for
from webapp import stack as parts

pytestmark = pytest.mark.browser

LONG = {"steps": 300, "interval_ms": 100}
# How long a delete is held before it is sent (undo.js HOLD_MS), and a margin past it.
HOLD_MS = 5000
PAST_HOLD_MS = HOLD_MS + 1500


def status_of(page, job_id: str) -> int:
    """Return the HTTP status of GET /api/jobs/<id> with the page's cookies."""
    return page.request.get(f"/api/jobs/{job_id}").status


def finished_row(page, name: str):
    """Send a one-step job from the page and return its row once it is done."""
    upload(page, "simulate", [(name, b"x")], steps=1, interval_ms=0)
    row = page.locator(".job-row", has_text=name)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    return row


def centre(box: dict) -> tuple[float, float]:
    """Return the middle of a bounding box."""
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def overlaps(a: dict, b: dict) -> bool:
    """Tell whether two bounding boxes share any point."""
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_double_click_on_cancel_deletes_nothing(page):
    """Cancel double-clicked, and clicked again where it was once Delete shows: the job is
    cancelled, and neither deleted nor held for deletion."""
    upload(page, "simulate", [("twice.txt", b"x")], **LONG)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "PROGRESS")
    job_id = row.get_attribute("data-id")
    cancel = row.get_by_role("button", name="Cancel")
    box = cancel.bounding_box()

    cancel.dblclick()
    expect(row).to_have_attribute("data-state", "REVOKED")
    delete = row.get_by_role("button", name="Delete")
    expect(delete).to_be_visible()
    page.mouse.click(*centre(box))
    page.mouse.dblclick(*centre(box))

    assert not overlaps(box, delete.bounding_box()), "Delete shows where Cancel was"
    expect(page.locator("#toasts .toast")).to_have_count(0)
    expect(row).to_be_visible()
    assert status_of(page, job_id) == 200


def test_double_click_on_cancel_of_the_job_page_deletes_nothing(open_page):
    """On a job's page too, Delete comes up away from Cancel and a double click keeps the job."""
    dashboard = open_page("/")
    upload(dashboard, "simulate", [("page-twice.txt", b"x")], **LONG)
    job_id = newest_row(dashboard).get_attribute("data-id")
    job = open_page(f"/jobs/{job_id}")
    expect(job.locator("#job-state")).to_have_text("Running")
    box = job.locator("#job-cancel").bounding_box()

    job.locator("#job-cancel").dblclick()
    expect(job.locator("#job-delete")).to_be_visible()
    job.mouse.click(*centre(box))

    assert not overlaps(box, job.locator("#job-delete").bounding_box())
    expect(job.locator("#toasts .toast")).to_have_count(0)
    assert status_of(job, job_id) == 200


def test_a_deleted_job_comes_back_with_undo(page):
    """Delete hides the row, leaving its place so that no other Delete slides under the
    pointer, and offers Undo; Undo brings it back and nothing is deleted."""
    below = finished_row(page, "below.txt").get_by_role("button", name="Delete")
    row = finished_row(page, "keep.txt")
    job_id = row.get_attribute("data-id")
    expect(page.locator("#uploads .upload-item")).to_have_count(0)  # no more layout shifts
    # Both in view first: a click on a button out of view scrolls the page, which moves
    # everything and says nothing of the list's layout.
    below.scroll_into_view_if_needed()
    row.get_by_role("button", name="Delete").scroll_into_view_if_needed()
    place = below.bounding_box()

    row.get_by_role("button", name="Delete").click()
    expect(row).to_be_hidden()
    assert below.bounding_box() == place
    undo = page.get_by_role("button", name="Undo deleting keep.txt")
    expect(undo).to_be_focused()
    undo.click()

    expect(row).to_be_visible()
    expect(row.get_by_role("button", name="Delete")).to_be_focused()
    expect(page.locator("#toasts .toast")).to_have_count(0)
    page.wait_for_timeout(PAST_HOLD_MS)
    assert status_of(page, job_id) == 200
    expect(row).to_be_visible()


def test_a_delete_is_sent_once_its_undo_runs_out(page):
    """Without Undo, the delete is sent after a few seconds: the row and the job are gone."""
    row = finished_row(page, "gone-later.txt")
    job_id = row.get_attribute("data-id")

    row.get_by_role("button", name="Delete").click()

    expect(page.locator("#toasts .toast")).to_have_count(0, timeout=HOLD_MS + 5000)
    expect(row).to_have_count(0)
    assert status_of(page, job_id) == 404
    expect(page.locator("#jobs-title")).to_be_focused()


def test_leaving_the_page_sends_a_held_delete_at_once(page):
    """A page left while a delete is held sends it as it goes, well before the undo runs out."""
    row = finished_row(page, "leave.txt")
    job_id = row.get_attribute("data-id")
    row.get_by_role("button", name="Delete").click()
    expect(row).to_be_hidden()

    page.goto("/ops")

    wait_for(lambda: status_of(page, job_id) == 404, timeout=HOLD_MS / 1000 - 1)


def test_keyboard_focus_after_cancel_and_delete(page):
    """By keyboard: after Cancel the focus is on the row's link, never on Delete; after Delete
    on Undo; once the delete is sent, on the next row."""
    older = finished_row(page, "older.txt")
    upload(page, "simulate", [("keys.txt", b"x")], **LONG)
    row = page.locator(".job-row", has_text="keys.txt")
    expect(row).to_have_attribute("data-state", "PROGRESS")

    row.get_by_role("button", name="Cancel").focus()
    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-state", "REVOKED")
    expect(row.locator(".job-link")).to_be_focused()

    page.wait_for_timeout(1100)  # the new Delete button is armed after a second
    row.get_by_role("button", name="Delete").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Undo deleting keys.txt")).to_be_focused()
    expect(row).to_have_count(0, timeout=HOLD_MS + 5000)
    expect(older.locator(".job-link")).to_be_focused()


def test_a_failed_row_says_why(page):
    """A failed job's row shows its reason under the bar, the whole of it in the title."""
    upload(page, "image-thumbnails", [("broken.png", truncated_png())])
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "FAILURE")
    reason = "The file is not a usable image: the image is cut short and could not be decoded."

    note = row.locator(".message")
    expect(note).to_have_text(reason)
    expect(note).to_have_attribute("title", reason)
    expect(note).to_have_attribute("data-kind", "failure")
    assert note.evaluate("(e) => getComputedStyle(e).textOverflow") == "ellipsis"


def test_offline_figures_are_unknown_and_old_errors_go(stack, page):
    """Offline, a running row's speed and time left read unknown and a Cancel fails with an
    error; back online with the job ended, the row shows the end and not the old error."""
    upload(page, "simulate", [("offline.txt", b"x")], steps=30, interval_ms=200)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "PROGRESS")
    expect(row.locator(".cell-rate")).to_contain_text("steps/s")
    job_id = row.get_attribute("data-id")
    backend = redis.Redis.from_url(stack.redis.url)

    def finished() -> bool:
        """Tell whether the worker stored the job's success."""
        meta = backend.get(f"celery-task-meta-{job_id}")
        return bool(meta) and json.loads(meta)["status"] == "SUCCESS"

    parts.stop([stack.web])
    try:
        expect(page.locator("#live-indicator")).to_have_text("Offline", timeout=10000)
        expect(row.locator(".cell-rate")).to_have_text("unknown")
        expect(row.locator(".eta")).to_have_text("time left unknown")
        expect(row.locator(".eta")).to_have_class("eta hint is-stale")
        row.get_by_role("button", name="Cancel").click()
        expect(row.locator(".message")).to_contain_text("cannot be reached")
        wait_for(finished, timeout=15)
    finally:
        stack.web = stack.start_web()

    expect(row).to_have_attribute("data-state", "SUCCESS", timeout=20000)
    expect(row.locator(".message")).not_to_contain_text("cannot be reached")
    expect(row.locator(".message")).not_to_have_class("message hint is-error")


def test_the_percent_shown_is_the_percent_read(page):
    """The bar's text and its aria-valuenow round alike: 12.9 % reads 12 both ways."""
    shown = page.evaluate(
        """async () => {
        const { fillBar } = await import("/static/js/jobs.js");
        const { formatPercent } = await import("/static/js/format.js");
        const bar = document.createElement("span");
        bar.append(Object.assign(document.createElement("span"), {className: "bar-fill"}));
        const out = [];
        for (const percent of [12.9, 4.56, 99.99]) {
          fillBar(bar, {state: "PROGRESS", progress: {percent, message: ""}});
          out.push([formatPercent(percent), bar.getAttribute("aria-valuenow")]);
        }
        return out;
      }"""
    )
    assert shown == [["12%", "12"], ["4.5%", "4.5"], ["99%", "99"]]


def test_keyboard_focus_after_dismiss(page):
    """Dismissing an upload's error by keyboard moves the focus to the next error's Dismiss,
    then, with none left, to the file picker."""
    upload(page, "csv-profile", [("a.bin", b"\x00\x01" * 50), ("b.bin", b"\x00\x02" * 50)])
    dismiss = page.get_by_role("button", name="Dismiss the error about")
    expect(dismiss).to_have_count(2)

    dismiss.first.focus()
    page.keyboard.press("Enter")
    expect(dismiss).to_have_count(1)
    expect(dismiss).to_be_focused()
    page.keyboard.press("Enter")

    expect(dismiss).to_have_count(0)
    expect(page.locator("#file-input")).to_be_focused()


def test_job_page_delete_is_held_and_can_be_undone(page):
    """On a job's page Delete offers Undo; undone, the job stays; deleted again and left to
    run out, the page says the job is gone and the focus is on that sentence."""
    finished_row(page, "page-undo.txt").locator(".job-link").click()
    page.wait_for_url("**/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    delete = page.locator("#job-delete")

    delete.click()
    page.get_by_role("button", name="Undo deleting page-undo.txt").click()
    expect(delete).to_be_focused()
    assert status_of(page, job_id) == 200
    delete.click()

    expect(page.locator("#job-title")).to_have_text("This job was deleted.", timeout=HOLD_MS + 5000)
    expect(page.locator("#job-title")).to_be_focused()
    assert status_of(page, job_id) == 404
