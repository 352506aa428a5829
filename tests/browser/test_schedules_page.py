"""Jobs run later and schedules in a real browser: a live countdown in the row that cancel
stops, and the schedules page (add, pause, resume, delete, a refused cron expression)."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import upload

pytestmark = pytest.mark.browser


def test_scheduled_job_counts_down_in_its_row_and_cancel_stops_it(page, open_page):
    """A file sent with a start time shows Scheduled and a countdown that moves, and its page
    says when it starts; Cancel there makes it Cancelled before it ever runs, in both tabs."""
    start = datetime.now() + timedelta(seconds=90)  # the browser's local time, as typed
    page.fill("#run-at", start.strftime("%Y-%m-%dT%H:%M:%S"))
    upload(page, "checksum", [("later.txt", b"later\n")])
    row = page.locator(".job-row", has_text="later.txt")
    expect(row.locator(".badge")).to_have_text("Scheduled")
    message = row.locator(".message")
    expect(message).to_have_text(re.compile(r"^Starts in 1 min \d\d s$"))
    first = message.text_content()
    expect(message).not_to_have_text(first, timeout=3000)  # it counts down by itself
    job_page = open_page(f"/jobs/{row.get_attribute('data-id')}")
    expect(job_page.locator("#job-timeline")).to_contain_text("Starts")
    job_page.locator("#job-cancel").click()
    expect(row.locator(".badge")).to_have_text("Cancelled")


def test_start_time_in_the_past_is_refused_in_the_page(page):
    """A start time already past is refused before anything is sent."""
    page.fill("#run-at", (datetime.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S"))
    upload(page, "checksum", [("late.txt", b"late\n")])
    expect(page.locator("#upload-error")).to_have_text("The start time is in the past.")
    expect(page.locator(".job-row", has_text="late.txt")).to_have_count(0)


def test_schedules_page_adds_pauses_resumes_and_deletes(page):
    """From the dashboard's header: add a schedule, see its next run, pause and resume it,
    be told what is wrong with a bad cron expression, delete it."""
    page.get_by_role("link", name="Schedules").click()
    page.wait_for_url("**/schedules")
    expect(page.get_by_role("link", name="Schedules")).to_have_attribute("aria-current", "page")
    expect(page.locator("#schedule-empty")).to_be_visible()

    page.fill("#schedule-url", "https://1.1.1.1/reports/daily.csv")
    page.select_option("#schedule-processor", "checksum")
    page.select_option("#schedule-kind", "cron")
    page.fill("#schedule-cron", "61 * * * *")
    page.get_by_role("button", name="Add schedule").click()
    expect(page.locator("#schedule-error")).to_contain_text("out of range")

    page.select_option("#schedule-kind", "every")
    page.fill("#schedule-every", "30")
    page.get_by_role("button", name="Add schedule").click()
    row = page.locator("#schedule-rows tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("every 30 min")
    expect(row.locator(".schedule-next")).to_contain_text(re.compile(r"starts in (29|30) min"))
    expect(row).to_contain_text("none yet")

    row.get_by_role("button", name="Pause daily.csv").click()
    expect(row.locator(".schedule-next")).to_have_text("paused")
    row.get_by_role("button", name="Resume daily.csv").click()
    expect(row.locator(".schedule-next")).to_contain_text("starts in")

    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete daily.csv").click()
    expect(page.locator("#schedule-rows tr")).to_have_count(0)
    expect(page.locator("#schedule-empty")).to_be_visible()


def test_url_import_from_the_upload_card(page):
    """The upload card imports a URL: an address Taskboard may not fetch is refused with the
    server's reason; one it may is a job named after the URL's last segment (kept SCHEDULED
    here by a start time, so that nothing is fetched)."""
    page.select_option("#processor", "checksum")
    page.fill("#import-url", "http://127.0.0.1/secret.csv")
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#upload-error")).to_contain_text("does not fetch from its own network")

    start = datetime.now() + timedelta(minutes=30)
    page.fill("#run-at", start.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#import-url", "https://1.1.1.1/exports/weekly%20sales.csv")
    page.locator("#import-url").press("Enter")
    row = page.locator(".job-row", has_text="weekly sales.csv")
    expect(row.locator(".badge")).to_have_text("Scheduled")
    expect(page.locator("#import-url")).to_have_value("")
    row.get_by_role("button", name="Cancel weekly sales.csv").click()
    expect(row.locator(".badge")).to_have_text("Cancelled")
