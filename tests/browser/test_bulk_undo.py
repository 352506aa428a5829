"""A bulk delete in a real browser: held for an Undo, not asked with confirm(); Undo restores
every row (and nothing was deleted), a reload and a second tab show the rows as being deleted,
and once the time has passed the jobs and their files are gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import upload
from tests.browser.test_job_control import finished_row
from tests.browser.test_job_control import status_of
from tests.browser.test_job_page import truncated_png
from tests.parts import wait_for

pytestmark = pytest.mark.browser

NAMES = [f"undo-{i}.txt" for i in range(5)]


def select_and_delete(page) -> None:
    """Tick the five rows and press "Delete selected"."""
    for name in NAMES:
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Delete selected").click()


def test_select_5_delete_undo_then_delete_and_wait(page, open_page, stack):
    """Five rows deleted in one action: the Undo toast takes the focus, the rows show as being
    deleted here, in a second tab and after a reload; Undo keeps all five with their files and
    gives the focus back to the Delete button; deleted again and left, they go, files too."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    rows = {name: finished_row(page, name) for name in NAMES}
    ids = [row.get_attribute("data-id") for row in rows.values()]
    other = open_page("/")
    # Back to the first tab, as a person would: Chromium gives a tab behind another few frames,
    # and each click waits for two (about 2 s a click behind, about 20 ms in front).
    page.bring_to_front()

    select_and_delete(page)
    undo = page.get_by_role("button", name="Undo deleting 5 jobs")
    expect(undo).to_be_focused()
    expect(page.locator("#bulk-status")).to_have_text("Deleting 5 jobs.")
    for tab in (page, other):
        expect(tab.locator(".job-row.is-deleting")).to_have_count(5)
        expect(tab.locator(".job-row.is-deleting .message").first).to_have_text(
            "Being deleted: Undo keeps it."
        )
    assert all(status_of(page, job_id) == 200 for job_id in ids)
    assert all((stack.upload_dir / job_id / "input").exists() for job_id in ids)

    undo.click()
    expect(page.get_by_role("button", name="Delete selected")).to_be_focused()
    expect(page.locator("#bulk-status")).to_have_text("Kept 5 jobs.")
    for tab in (page, other):
        expect(tab.locator(".job-row.is-deleting")).to_have_count(0)
        for name in NAMES:
            expect(tab.locator(".job-row", has_text=name)).to_have_attribute(
                "data-state", "SUCCESS"
            )
    page.wait_for_timeout(6000)  # past the hold: nothing was left held
    assert all(status_of(page, job_id) == 200 for job_id in ids)
    assert all((stack.upload_dir / job_id / "input").exists() for job_id in ids)
    expect(page.locator("#jobs-body .job-row", has_text="undo-")).to_have_count(5)

    select_and_delete(page)
    expect(page.get_by_role("button", name="Undo deleting 5 jobs")).to_be_focused()
    # A reload during the hold: the rows are there, being deleted, each with its own Undo.
    page.reload()
    page.wait_for_selector("#live-indicator[data-state=live]")
    expect(page.locator(".job-row.is-deleting")).to_have_count(5)
    expect(page.get_by_role("button", name=f"Undo deleting {NAMES[0]}")).to_be_visible()
    for tab in (page, other):
        expect(tab.locator("#jobs-body .job-row", has_text="undo-")).to_have_count(0, timeout=12000)
    wait_for(lambda: all(status_of(page, job_id) == 404 for job_id in ids))
    assert not any((stack.upload_dir / job_id).exists() for job_id in ids)
    assert dialogs == []


def test_a_rows_own_undo_keeps_it_after_a_reload(page):
    """After a reload, a row being deleted is kept by its own Undo; the focus stays in the row;
    the other row held with it goes."""
    for name in NAMES[:2]:
        finished_row(page, name)
    select = [page.get_by_label(f"Select {name}") for name in NAMES[:2]]
    for box in select:
        box.check()
    page.get_by_role("button", name="Delete selected").click()
    page.reload()
    page.wait_for_selector("#live-indicator[data-state=live]")
    keep = page.get_by_role("button", name=f"Undo deleting {NAMES[0]}")
    keep.click()
    kept = page.locator(".job-row", has_text=NAMES[0])
    expect(kept).not_to_have_class(re.compile(r"\bis-deleting\b"))
    expect(kept.locator(".job-link")).to_be_focused()
    expect(page.locator(".job-row", has_text=NAMES[1])).to_have_count(0, timeout=12000)
    page.reload()
    page.wait_for_selector("#live-indicator[data-state=live]")
    expect(page.locator(".job-row", has_text=NAMES[0])).to_have_attribute("data-state", "SUCCESS")


def test_clear_failed_is_held_for_an_undo_too(page):
    """Clear failed asks nothing: it holds the failed jobs' deletes behind the same Undo,
    which keeps them, the finished job untouched all along."""
    finished_row(page, NAMES[0])
    upload(page, "image-thumbnails", [("broken.png", truncated_png())])
    failed = page.locator(".job-row", has_text="broken.png")
    expect(failed).to_have_attribute("data-state", "FAILURE")
    page.get_by_role("button", name="Clear failed").click()
    undo = page.get_by_role("button", name="Undo deleting 1 job")
    expect(undo).to_be_focused()
    expect(failed).to_have_class(re.compile(r"\bis-deleting\b"))
    expect(page.locator(".job-row.is-deleting")).to_have_count(1)
    undo.click()
    expect(page.get_by_role("button", name="Clear failed")).to_be_focused()
    expect(failed).not_to_have_class(re.compile(r"\bis-deleting\b"))
    expect(failed.get_by_role("button", name="Delete broken.png")).to_be_visible()
