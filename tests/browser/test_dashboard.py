"""The jobs list in a real browser: live bars, no polling, paging, cancel, tabs, reconnection."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import redis
from playwright.sync_api import expect

from tasks import jobstore
from tests.browser.conftest import intermediate_values
from tests.browser.conftest import newest_row
from tests.browser.conftest import record_bar_values
from tests.browser.conftest import upload
from tests.parts import User
from tests.parts import wait_for
from webapp import processes as parts

pytestmark = pytest.mark.browser

# What a dashboard may ask for once it is loaded, while the user sends a file: the session
# (once, for the CSRF token) and the upload. Everything else comes over the WebSocket.
ALLOWED_AFTER_LOAD = {"GET /api/session", "POST /api/jobs"}
# A delete is sent once its Undo has run out (5 s): how long to wait for a row to go.
UNDO_TIMEOUT_MS = 10000


def scroll_to_the_end(page) -> None:
    """Scroll to the bottom of the jobs list, where more are loaded."""
    page.locator("#jobs-body .job-row").last.scroll_into_view_if_needed()
    page.locator(".more").scroll_into_view_if_needed()


@pytest.fixture
def user_with_jobs(stack, context):
    """Return a function giving the test's browser a user who already has that many jobs."""

    def make(count: int) -> User:
        """Create ``count`` quick jobs over HTTP (0.txt first), wait for the last to finish."""
        user = User(stack.url)
        ids = [
            user.submit("simulate", options={"steps": 1, "interval_ms": 0}, filename=f"{n}.txt")
            for n in range(count)
        ]
        wait_for(lambda: user.job(ids[-1])["state"] == "SUCCESS", timeout=30)
        cookies = [{"name": k, "value": v, "url": stack.url} for k, v in user.http.cookies.items()]
        context.add_cookies(cookies)
        return user

    return make


def test_upload_shows_live_progress_to_success_without_polling(traffic, open_page):
    """A job's bar moves through live pushes to 100%; the page asks for nothing once loaded."""
    page = open_page("/")
    traffic.mark_loaded()
    record_bar_values(page, "#jobs-body")

    upload(page, "simulate", [("demo.txt", b"hello")], steps=20, interval_ms=50)

    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row.locator(".percent")).to_have_text("100%")
    expect(row.locator(".badge")).to_have_text("Done")
    expect(row.locator(".job-link")).to_have_text("demo.txt")
    assert intermediate_values(page), "no live progress between 0 and 100"
    unexpected = [r for r in traffic.after_load() if r not in ALLOWED_AFTER_LOAD]
    assert unexpected == [], f"the page asked for more than it may: {unexpected}"
    assert traffic.requests.count("GET /api/session") == 1
    assert traffic.requests.count("GET /api/jobs?limit=50&batch=none") == 1
    assert [urlsplit(ws).query for ws in traffic.websockets] == ["EIO=4&transport=websocket"]
    assert not [r for r in traffic.requests if "transport=polling" in r]


def test_scrolling_loads_older_jobs_to_the_end(user_with_jobs, open_page):
    """A long history comes a page at a time as the user scrolls, until it says it is all."""
    user_with_jobs(60)
    page = open_page("/")
    rows = page.locator("#jobs-body .job-row")
    expect(rows).to_have_count(50)

    scroll_to_the_end(page)

    expect(rows).to_have_count(60)
    expect(rows.last.locator(".job-link")).to_have_text("0.txt")
    expect(page.locator("#jobs-end")).to_have_text("That's all of them.")
    expect(page.locator("#load-more")).to_be_hidden()


def test_loading_more_steps_over_a_job_deleted_while_away(stack, user_with_jobs, open_page):
    """If the last row's job was deleted unseen (404 to page from it), the list goes on."""
    user = user_with_jobs(52)
    page = open_page("/")
    rows = page.locator("#jobs-body .job-row")
    expect(rows).to_have_count(50)
    gone = rows.last.get_attribute("data-id")
    # Deleted as retention does while this tab is offline: no event reaches the page.
    backend = redis.Redis.from_url(stack.redis.url)
    jobstore.remove(backend, {"id": gone, "owner": user.id}, root=stack.upload_dir)

    scroll_to_the_end(page)

    expect(rows).to_have_count(51)
    expect(page.locator(f".job-row[data-id='{gone}']")).to_have_count(0)
    expect(page.locator("#jobs-error")).to_have_text("")
    expect(page.locator("#load-more")).to_be_hidden()


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
    """Delete on a finished job's row hides it at once, and removes it from the list and the
    server once its Undo has run out."""
    upload(page, "simulate", [("gone.txt", b"x")], steps=1, interval_ms=0)
    row = newest_row(page)
    expect(row).to_have_attribute("data-state", "SUCCESS")
    job_id = row.get_attribute("data-id")

    row.get_by_role("button", name="Delete").click()

    expect(row).to_be_hidden()
    expect(page.locator("#jobs-empty")).to_be_visible()
    expect(page.locator("#jobs-empty")).to_have_text(re.compile("^No jobs sent alone yet"))
    expect(page.locator("#jobs-body .job-row")).to_have_count(0, timeout=UNDO_TIMEOUT_MS)
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
    first.bring_to_front()  # a click in a tab behind another waits for its rare frames
    first.locator(".job-row", has_text="shared.txt").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0, timeout=UNDO_TIMEOUT_MS)


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


@pytest.mark.parametrize(
    ("job", "shown"),
    [
        ({"state": "PROGRESS", "started_at": "2026-01-01T10:00:00Z"}, "2 min 05 s"),
        (
            {"state": "SUCCESS", "started_at": "2026-01-01T10:00:00Z"}
            | {"finished_at": "2026-01-01T10:00:42Z"},
            "42 s",
        ),
        (
            {"state": "FAILURE", "started_at": "2026-01-01T10:00:00Z"}
            | {"finished_at": None, "progress": {"ts": 1767261607.0}},
            "7 s",
        ),
        ({"state": "REVOKED", "started_at": "2026-01-01T10:00:00Z", "finished_at": None}, "—"),
        ({"state": "REVOKED", "started_at": None, "finished_at": None}, ""),
    ],
)
def test_elapsed_time_of_a_row(page, job, shown):
    """A row's time counts to now while running, to the end once over, and is "—" if unknown."""
    elapsed = page.evaluate(
        """async (job) => {
        const { tickRow } = await import("/static/js/jobs.js");
        const row = {parts: {elapsed: document.createElement("span")}};
        tickRow(row, job, Date.parse("2026-01-01T10:02:05Z"));
        return row.parts.elapsed.textContent;
      }""",
        job,
    )
    assert elapsed == shown


def test_a_running_job_silent_for_a_while_says_so_in_place_of_its_time_left(page):
    """A frozen or lost worker's job must not go on promising "26 s left": once a running job
    has sent nothing for SILENT_S, its time left reads "no update for 32 s", greyed with its
    speed; the next snapshot brings the figures back."""
    shown = page.evaluate(
        """async () => {
        const { fillFigures, SILENT_S } = await import("/static/js/jobs.js");
        const rate = document.createElement("span");
        const eta = document.createElement("span");
        const seen = () => [eta.textContent, eta.classList.contains("is-stale"),
                            rate.classList.contains("is-stale")];
        const job = {state: "PROGRESS", progress: {rate: 2, unit: "steps", eta_s: 26}};
        const t0 = 1e12;
        fillFigures(rate, eta, job, false, t0);
        const fresh = seen();
        fillFigures(rate, eta, job, false, t0 + (SILENT_S - 1) * 1000);
        const under = seen();
        fillFigures(rate, eta, job, false, t0 + (SILENT_S + 17) * 1000);
        const silent = seen();
        fillFigures(rate, eta, {...job}, false, t0 + (SILENT_S + 18) * 1000);
        return {fresh, under, silent, again: seen()};
      }"""
    )
    assert shown["fresh"] == shown["under"] == shown["again"] == ["26 s left", False, False]
    assert shown["silent"] == ["no update for 32 s", True, True]
