"""The operations page in a real browser: the worker, and queue lengths that move live."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.parts import User

pytestmark = pytest.mark.browser

LONG = {"steps": 400, "interval_ms": 50}


def test_operations_page_shows_the_worker_and_the_queue_filling_live(stack, traffic, open_page):
    """The worker is listed with its pool; jobs sent elsewhere fill it and the queue, and the
    page shows it through pushes alone, without a request once loaded."""
    page = open_page("/ops")
    row = page.locator(f"#workers-body tr[data-worker^='worker-{stack.port}@']")
    expect(row).to_have_attribute("data-online", "true")
    expect(row.locator(".pool")).to_have_text("prefork × 2")
    waiting = page.locator("#queues-body tr[data-queue=default] .queue-length")
    expect(waiting).to_have_text("0")
    traffic.mark_loaded()

    user = User(stack.url)
    ids = [user.submit("simulate", options=LONG, filename=f"{n}.txt") for n in range(4)]
    try:
        expect(waiting).to_have_text(re.compile(r"^[1-9]"))
        expect(row.locator(".active-count")).to_have_text("2 of 2")
        expect(page.locator(".tile[data-state=PENDING] .tile-value")).not_to_have_text("0")
        expect(page.locator("#queues-body tr[data-queue=default] .queue-wait")).to_have_text(
            re.compile(r"\d+ s")
        )
    finally:
        for job_id in ids:
            user.http.post(f"{stack.url}/api/jobs/{job_id}/cancel")
    expect(waiting).to_have_text("0")
    expect(row.locator(".active-count")).to_have_text("0 of 2")
    assert traffic.after_load() == [], "the page asked the server instead of being told"
    assert [urlsplit(ws).query for ws in traffic.websockets] == ["EIO=4&transport=websocket"]


def test_header_links_to_the_operations_page(page):
    """The dashboard's header leads to the operations page, which then marks its link."""
    page.get_by_role("link", name="Operations").click()
    page.wait_for_url("**/ops")
    expect(page.get_by_role("link", name="Operations")).to_have_attribute("aria-current", "page")
    expect(page.locator("#workers-body tr").first).to_be_attached()
