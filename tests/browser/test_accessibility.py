"""axe-core on every page, in light and dark mode, with the states that carry colour on show:
running, failed, cancelled and finished rows, a retrying row counting down, a queued row with
its place, rows being deleted with their Undo and its toast, an upload's error, a CSV profile,
a retrying job's page, the workers.
And the operations tables scroll by keyboard at phone width."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.conftest import newest_row
from tests.browser.conftest import upload
from tests.browser.test_job_page import ORDERS_CSV
from tests.browser.test_job_page import open_newest_job
from tests.browser.test_job_page import truncated_png

pytestmark = pytest.mark.browser

# axe-core, vendored for the tests only (MPL-2.0; its licence is beside it).
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
SCHEMES = ["light", "dark"]
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
  }));
}"""


@pytest.fixture
def axe_page(context, open_page):
    """Return a function opening a path with axe-core loaded in the page (as the page starts,
    so the Content-Security-Policy, which allows no inline script, does not stand in its way)."""
    context.add_init_script(path=str(AXE))
    return open_page


def violations(page, scheme: str) -> list[dict]:
    """Return axe's violations of the page in a colour scheme, with motion reduced."""
    page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
    page.wait_for_function("() => typeof axe === 'object'")
    return page.evaluate(RUN_AXE)


@pytest.fixture
def busy_dashboard(axe_page):
    """Return the dashboard showing one job in each colourful state and an upload's error."""
    page = axe_page("/")
    try:
        upload(page, "simulate", [("done.txt", b"x")], steps=1, interval_ms=0)
        expect(newest_row(page)).to_have_attribute("data-state", "SUCCESS")
        upload(page, "image-thumbnails", [("broken.png", truncated_png())])
        expect(newest_row(page)).to_have_attribute("data-state", "FAILURE")
        upload(page, "simulate", [("stopped.txt", b"x")], steps=300, interval_ms=100)
        stopped = newest_row(page)
        expect(stopped).to_have_attribute("data-state", "PROGRESS")
        stopped.get_by_role("button", name="Cancel").click()
        expect(stopped).to_have_attribute("data-state", "REVOKED")
        # The worker's two processes busy: the next job waits, 1st in queue.
        for name in ("running.txt", "running-too.txt"):
            upload(page, "simulate", [(name, b"x")], steps=300, interval_ms=100)
            expect(newest_row(page)).to_have_attribute("data-state", "PROGRESS")
        upload(page, "simulate", [("queued.txt", b"x")], steps=1, interval_ms=0)
        expect(newest_row(page).locator(".message")).to_have_text("1st in queue", timeout=15000)
        page.get_by_label("Select done.txt").check()
        page.get_by_role("button", name="Delete selected").click()
        expect(page.locator(".job-row.is-deleting .action-restore")).to_be_visible()
        upload(page, "csv-profile", [("not.csv", b"\x00\x01\x02" * 100)])
        expect(page.locator(".upload-item[data-state=error]")).to_be_visible()
        yield page
    finally:
        # The long jobs go, whatever happened: left running they would hold the worker from
        # the tests after this one.
        for name in ("running.txt", "running-too.txt", "queued.txt"):
            row = page.locator(".job-row", has_text=name)
            if row.count() and row.get_attribute("data-state") in ("PENDING", "PROGRESS"):
                try:
                    row.get_by_role("button", name=f"Cancel {name}").click(timeout=5000)
                except PlaywrightTimeout:
                    # It ended meanwhile (a one-step job that started once a worker was free).
                    assert row.get_attribute("data-state") not in ("PENDING", "PROGRESS")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_dashboard_has_no_axe_violations(busy_dashboard, scheme):
    """The dashboard with jobs in every state and an upload's error passes axe-core."""
    assert violations(busy_dashboard, scheme) == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_job_page_has_no_axe_violations(axe_page, scheme):
    """A CSV profile's page (type tags, table, timeline) passes axe-core."""
    page = axe_page("/")
    upload(page, "csv-profile", [("orders.csv", ORDERS_CSV)])
    job = open_newest_job(page, "SUCCESS")
    job.wait_for_selector(".profile")

    assert violations(job, scheme) == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_retrying_job_row_and_page_have_no_axe_violations(axe_page, scheme):
    """A job waiting for its next try (badge, countdown, error), on the list and its page."""
    page = axe_page("/")
    upload(page, "simulate", [("flaky.txt", b"x")], steps=4, interval_ms=50, fail_attempts=3)
    row = newest_row(page)
    expect(row.locator(".message")).to_contain_text("attempt 4 of 4, next try in", timeout=15000)
    assert violations(page, scheme) == []
    job = axe_page(f"/jobs/{row.get_attribute('data-id')}")
    expect(job.locator("#job-message")).to_contain_text("attempt 4 of 4, next try in")
    assert violations(job, scheme) == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_operations_page_has_no_axe_violations(axe_page, scheme):
    """The operations page, with its worker listed, passes axe-core."""
    page = axe_page("/ops")
    expect(page.locator("#workers-body tr").first).to_be_attached()

    assert violations(page, scheme) == []


def test_operations_tables_scroll_by_keyboard_on_a_phone(open_page):
    """At phone width the workers table is wider than the screen; its labelled scroll box takes
    the focus and the arrow keys scroll it."""
    page = open_page("/ops")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#workers-body tr").first).to_be_attached()
    box = page.get_by_role("region", name="Workers table")
    assert box.evaluate("(e) => e.scrollWidth > e.clientWidth"), "nothing to scroll"

    box.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")

    expect(box).to_be_focused()
    page.wait_for_function(
        "() => document.querySelector('[aria-label=\"Workers table\"]').scrollLeft > 0"
    )
