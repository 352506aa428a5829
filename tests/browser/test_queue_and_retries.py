"""What a waiting job says in a real browser: its place in the queue ("2nd in queue", beside
"no worker online" when none is), moved by pushes as a job ahead is cancelled; and a retrying
job's attempt with a live countdown to its next try, in its row and on its page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import newest_row
from tests.browser.conftest import upload
from tests.browser.test_bulk_actions import SEND_JOBS
from tests.browser.test_bulk_actions import idle  # noqa: F401 - a fixture
from tests.browser.test_bulk_actions import idle_page  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser

# Collects every text a row's note line shows, as it changes.
WATCH_NOTE = """(row) => {
  window.notes = [];
  const note = row.querySelector(".message");
  new MutationObserver(() => window.notes.push(note.textContent))
    .observe(note, { childList: true, characterData: true, subtree: true });
}"""


def test_queued_rows_say_their_place_and_move_up(idle_page):  # noqa: F811
    """Three jobs queued with no worker: 1st, 2nd and 3rd in queue, on the rows and the job
    page; the first cancelled, the others move up, pushed (no request asks for it)."""
    page = idle_page
    page.evaluate(SEND_JOBS, ["line", 3])
    rows = [page.locator(".job-row", has_text=f"line-{i}.txt") for i in range(3)]
    waiting = "Waiting: no worker online for it ({} in queue)."
    for place, row in zip(("1st", "2nd", "3rd"), rows, strict=True):
        expect(row.locator(".message")).to_have_text(waiting.format(place))
    last_id = rows[2].get_attribute("data-id")
    job_page = page.context.new_page()
    job_page.goto(f"/jobs/{last_id}")
    expect(job_page.locator("#job-message")).to_have_text("3rd in queue")

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/jobs" in r.url else None)
    rows[0].get_by_role("button", name="Cancel line-0.txt").click()
    expect(rows[0]).to_have_attribute("data-state", "REVOKED")
    expect(rows[1].locator(".message")).to_have_text(waiting.format("1st"))
    expect(rows[2].locator(".message")).to_have_text(waiting.format("2nd"))
    expect(job_page.locator("#job-message")).to_have_text("2nd in queue")
    assert [url for url in asked if "/cancel" not in url] == []


def test_a_retrying_job_counts_down_to_its_next_try(page, open_page):
    """A job failing three times with a passing error: its row says "attempt 4 of 4, next try
    in 4 s" and counts down each second; its page says the same, then the job finishes."""
    upload(page, "simulate", [("flaky.txt", b"x")], steps=6, interval_ms=100, fail_attempts=3)
    row = newest_row(page)
    row.evaluate(WATCH_NOTE)
    job_id = row.get_attribute("data-id")
    expect(row.locator(".message")).to_have_text(
        re.compile(r"attempt 2 of 4, next try in 1 s|attempt 2 of 4, next try now")
    )
    expect(row.locator(".badge")).to_have_text("Retrying")
    expect(row.locator(".message")).to_have_text(
        re.compile(r"attempt 3 of 4, next try in [12] s"), timeout=10000
    )
    job_page = open_page(f"/jobs/{job_id}")
    message = job_page.locator("#job-message")
    expect(message).to_have_text(re.compile(r"attempt 4 of 4, next try in [1-4] s"), timeout=15000)
    expect(job_page.locator("#job-details")).to_contain_text("4 of 4")
    first = int(re.search(r"in (\d) s", message.text_content()).group(1))
    if first > 1:  # it counts down by itself, between two pushes
        expect(message).to_have_text(
            re.compile(rf"attempt 4 of 4, next try (in [1-{first - 1}] s|now)")
        )
    expect(row).to_have_attribute("data-state", "SUCCESS", timeout=20000)
    notes = row.evaluate("() => window.notes")
    countdown = [n for n in dict.fromkeys(notes) if n.startswith("attempt 4 of 4, next try in")]
    seconds = [int(re.search(r"in (\d) s", n).group(1)) for n in countdown]
    # One second at a time from 4 s (a tick may come late on a loaded machine, never early).
    assert seconds[0] >= 3 and seconds == sorted(set(seconds), reverse=True), notes
    assert len(seconds) >= 3, notes


@pytest.mark.parametrize(
    ("shown", "came", "stale"),
    [
        (
            {"state": "PENDING", "queue_position": 0},
            {"state": "PENDING", "queue_position": None},
            True,
        ),
        (
            {"state": "PENDING", "queue_position": 1},
            {"state": "PENDING", "queue_position": 2},
            True,
        ),
        (
            {"state": "PENDING", "queue_position": 2},
            {"state": "PENDING", "queue_position": 1},
            False,
        ),
        (
            {"state": "PENDING", "queue_position": None},
            {"state": "PENDING", "queue_position": 4},
            False,
        ),
        (
            {"state": "PENDING", "queue_position": 0},
            {"state": "STARTED", "queue_position": None},
            False,
        ),
        (
            {"state": "STARTED", "queue_position": None},
            {"state": "PENDING", "queue_position": 0},
            True,
        ),
    ],
)
def test_a_later_place_or_none_is_older_than_the_place_shown(page, shown, came, stale):
    """Events and the upload's answer cross: a queued job's place only moves forward, so a
    snapshot with a later place, or none (the created event, sent before the job took its
    place), does not replace the place shown."""
    judged = page.evaluate(
        """async ([shown, came]) => {
        const { isStale } = await import("/static/js/joblist.js");
        return isStale(shown, came);
      }""",
        [shown, came],
    )
    assert judged is stale
