"""The dashboard in a real browser: uploads, live bars, cancel, history, tabs, reconnection."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

import pytest
import redis
from playwright.sync_api import expect

from tests.conftest import wait_for
from webapp import stack as parts

pytestmark = pytest.mark.browser


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
    row = page.locator("#jobs-body .job-row").first
    expect(row).to_be_attached()
    return row


def record_bar_values(page) -> None:
    """Keep every aria-valuenow the jobs list shows, to tell live progress from a final jump."""
    page.evaluate(
        """() => {
        window.__seen = [];
        new MutationObserver((records) => {
          for (const r of records) {
            const value = r.target.getAttribute("aria-valuenow");
            if (r.attributeName === "aria-valuenow") window.__seen.push(Number(value));
          }
        }).observe(document.getElementById("jobs-body"), {attributes: true, subtree: true});
      }"""
    )


def job_requests(requests: list) -> list[str]:
    """Return "METHOD path?query" of every request the page made to /api/jobs."""
    found = []
    for request in requests:
        url = urlsplit(request.url)
        if url.path.startswith("/api/jobs"):
            found.append(f"{request.method} {url.path}{'?' + url.query if url.query else ''}")
    return found


def test_upload_shows_live_progress_to_success_without_polling(context, page_errors):
    """A simulate job's bar moves through live pushes to 100% and SUCCESS; nothing polls."""
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto("/")
    page.wait_for_selector("#jobs-body[aria-busy=false]", state="attached")
    page.wait_for_selector("#processor:not([disabled])")
    record_bar_values(page)

    upload(page, "simulate", [("demo.txt", b"hello")], steps=20, interval_ms=50)

    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row.locator(".percent")).to_have_text("100%")
    expect(row.locator(".badge")).to_have_text("Done")
    expect(row.locator(".job-link")).to_have_text("demo.txt")
    seen = page.evaluate("window.__seen")
    assert any(0 < value < 100 for value in seen), f"no progress between 0 and 100: {seen}"
    assert job_requests(requests) == ["GET /api/jobs?limit=50", "POST /api/jobs"]


def test_upload_error_is_shown_next_to_its_file(page):
    """An empty file is refused by the API, and the message sits with that file."""
    upload(page, "simulate", [("empty.txt", b""), ("full.txt", b"data")], steps=1, interval_ms=0)

    failed = page.locator(".upload-item", has_text="empty.txt")
    expect(failed).to_have_attribute("data-state", "error")
    expect(failed.locator(".upload-error")).to_contain_text("empty")
    expect(page.locator(".job-row", has_text="full.txt")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator(".job-row", has_text="empty.txt")).to_have_count(0)


def test_cancel_stops_running_job(page):
    """Cancel on a running job's row ends it REVOKED, and offers Delete instead."""
    upload(page, "simulate", [("long.txt", b"x")], steps=200, interval_ms=100)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "PROGRESS")

    row.get_by_role("button", name="Cancel").click()

    expect(row).to_have_attribute("data-state", "REVOKED", timeout=5000)
    expect(row.locator(".badge")).to_have_text("Cancelled")
    expect(row.get_by_role("button", name="Cancel")).to_be_hidden()
    expect(row.get_by_role("button", name="Delete")).to_be_visible()


def test_reload_keeps_history(page):
    """Finished jobs are still listed, newest first, after the page is loaded again."""
    upload(page, "simulate", [("first.txt", b"1")], steps=1, interval_ms=0)
    expect(newest_row(page)).to_have_attribute("data-state", "SUCCESS")
    upload(page, "simulate", [("second.txt", b"2")], steps=1, interval_ms=0)
    expect(page.locator(".job-row[data-state=SUCCESS]")).to_have_count(2)

    page.reload()

    rows = page.locator("#jobs-body .job-row")
    expect(rows).to_have_count(2)
    expect(rows.locator(".job-link")).to_have_text(["second.txt", "first.txt"])
    expect(rows.nth(0)).to_have_attribute("data-state", "SUCCESS")


def test_delete_removes_finished_job(page):
    """Delete on a finished job's row removes it from the list and the server."""
    upload(page, "simulate", [("gone.txt", b"x")], steps=1, interval_ms=0)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    job_id = row.get_attribute("data-id")

    row.get_by_role("button", name="Delete").click()

    expect(page.locator("#jobs-body .job-row")).to_have_count(0)
    expect(page.locator("#jobs-empty")).to_be_visible()
    assert page.request.get(f"/api/jobs/{job_id}").status == 404


def test_two_tabs_stay_in_step(open_page):
    """A job sent from one tab appears on top in another and finishes there; a delete too."""
    first, second = open_page("/"), open_page("/")

    upload(first, "simulate", [("shared.txt", b"x")], steps=10, interval_ms=50)

    row = second.locator(".job-row", has_text="shared.txt")
    expect(row).to_have_attribute("data-state", "SUCCESS")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    top = second.locator("#jobs-body .job-row").first
    expect(top.locator(".job-link")).to_have_text("shared.txt")
    first.locator(".job-row", has_text="shared.txt").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


def test_reconnect_shows_true_state_after_web_restart(stack, page):
    """With the web server gone the banner says so; back, the page shows what happened meanwhile."""
    upload(page, "simulate", [("restart.txt", b"x")], steps=15, interval_ms=100)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "PROGRESS")
    job_id = row.get_attribute("data-id")
    banner = page.locator("#connection-banner")
    backend = redis.Redis.from_url(stack.redis.url)

    def finished() -> bool:
        """Tell whether the worker stored the job's success."""
        meta = backend.get(f"celery-task-meta-{job_id}")
        return bool(meta) and json.loads(meta)["status"] == "SUCCESS"

    parts.stop([stack.web])
    try:
        expect(banner).to_have_attribute("data-state", "down", timeout=10000)
        expect(banner).to_contain_text("Connection lost")
        expect(page.locator("#live-indicator")).to_have_text("Offline")
        # The job ends while no web server can push it: only the re-subscription can tell.
        wait_for(finished, timeout=15)
        assert row.get_attribute("data-state") == "PROGRESS"
    finally:
        stack.web = stack.start_web()

    expect(row).to_have_attribute("data-state", "SUCCESS", timeout=20000)
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#live-indicator")).to_have_text("Live")
    expect(banner).not_to_have_attribute("data-state", "down")


def test_job_page_shows_digest_and_timeline(open_page):
    """A checksum job's page shows the digest to copy, and when it was created, ran, ended."""
    data = b"taskboard\n" * 1000
    dashboard = open_page("/")
    upload(dashboard, "checksum", [("data.bin", data)])
    row = newest_row(dashboard)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    row.locator(".job-link").click()

    dashboard.wait_for_url("**/jobs/*")
    expect(dashboard.locator("#job-state")).to_have_text("Done")
    expect(dashboard.locator(".digest-value")).to_have_text(hashlib.sha256(data).hexdigest())
    expect(dashboard.get_by_role("button", name="Copy the sha256 digest")).to_be_visible()
    steps = dashboard.locator("#job-timeline .timeline-label")
    expect(steps).to_have_text(["Created", "Started", "Done"])
    expect(dashboard.locator("#job-bar")).to_have_attribute("aria-valuenow", "100")


def test_job_page_follows_a_running_job_live(open_page):
    """A job's own page subscribes and moves with it to SUCCESS, then shows the result."""
    dashboard = open_page("/")
    upload(dashboard, "simulate", [("watch.txt", b"x")], steps=20, interval_ms=100)
    job_id = newest_row(dashboard).get_attribute("data-id")

    job = open_page(f"/jobs/{job_id}")

    expect(job.locator("#job-title")).to_have_text("watch.txt")
    expect(job.locator("#job-state")).to_have_text("Done", timeout=15000)
    expect(job.locator("#job-result")).to_be_visible()
    expect(job.locator("#job-result-body")).to_contain_text("Steps")


def test_job_page_of_unknown_job_says_so(open_page):
    """The page of a job that does not exist says so instead of loading for ever."""
    job = open_page("/jobs/00000000-0000-4000-8000-000000000000")

    expect(job.locator("#job-title")).to_contain_text("does not exist")
