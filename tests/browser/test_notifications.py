"""The page tells its user of jobs that end while the tab is in the background (title, favicon,
the browser's Notification), and the upload card sends the "When a job ends" choice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import upload

pytestmark = pytest.mark.browser

# Headless Chromium keeps every tab visible (another tab in front, a minimised window: still
# "visible"), so the test hides the tab the way the page sees it, and records each Notification
# the page makes (the permission itself is Chromium's, granted to the context).
HIDEABLE_TAB = """(() => {
  let hidden = false;
  for (const [name, value] of [["visibilityState", () => (hidden ? "hidden" : "visible")],
                               ["hidden", () => hidden]]) {
    Object.defineProperty(Document.prototype, name, { configurable: true, get: value });
  }
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.__notes = [];
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options && options.body, tag: options && options.tag });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();"""


@pytest.fixture
def notified_context(context, stack):
    """Return the test's browser context with notifications allowed and a tab that can hide."""
    context.grant_permissions(["notifications"], origin=stack.url)
    context.add_init_script(HIDEABLE_TAB)
    return context


def test_job_ending_in_hidden_tab_changes_title_and_notifies(notified_context, open_page):
    """A job that ends while the tab is hidden puts a count in the title and a dot on the
    favicon, and shows one Notification; showing the tab puts title and favicon back."""
    page = open_page("/")
    icon = page.get_attribute("link[rel~=icon]", "href")
    expect(page.locator("#notify-permission")).to_be_hidden()
    expect(page.locator("#notify-permission-status")).to_contain_text("tells you when a job ends")
    page.evaluate("window.__setHidden(true)")

    upload(page, "simulate", [("late.txt", b"x")], steps=10, interval_ms=50)

    expect(page).to_have_title("(1) late.txt done · Taskboard")
    assert page.get_attribute("link[rel~=icon]", "href").startswith("data:image/svg+xml")
    notes = page.evaluate("window.__notes")
    assert [n["title"] for n in notes] == ["late.txt done"]
    row = page.locator(".job-row", has_text="late.txt")
    expect(row).to_have_attribute("data-state", "SUCCESS")

    page.evaluate("window.__setHidden(false)")
    expect(page).to_have_title("Taskboard")
    assert page.get_attribute("link[rel~=icon]", "href") == icon


def test_job_ending_in_visible_tab_changes_nothing(notified_context, open_page):
    """A job that ends while the user watches the tab neither retitles it nor notifies."""
    page = open_page("/")
    upload(page, "checksum", [("seen.txt", b"x")])
    expect(page.locator(".job-row", has_text="seen.txt")).to_have_attribute("data-state", "SUCCESS")
    assert page.title() == "Taskboard" and page.evaluate("window.__notes") == []


def test_permission_is_asked_only_from_the_control(open_page):
    """Without a decision yet, the page offers the control and asks nothing by itself."""
    page = open_page("/")
    expect(page.locator("#notify-permission")).to_be_visible()
    assert page.evaluate("Notification.permission") == "default"


def test_webhook_choice_is_sent_with_the_upload(page):
    """The card's webhook URL goes with the file: a local address is refused by the server
    (as it must be by default), and the card says why; anonymous users get no e-mail choice."""
    expect(page.locator("#notify-email")).to_have_count(0)
    page.fill("#notify-webhook", "http://127.0.0.1:9/hook")

    upload(page, "checksum", [("hooked.txt", b"x")])

    error = page.locator("#uploads .upload-item", has_text="hooked.txt")
    expect(error).to_contain_text("loopback, private or link-local")


def test_batch_ending_in_hidden_tab_is_told_once(notified_context, open_page):
    """A batch of three files that ends while the tab is hidden is told once, as a batch: one
    title, one Notification with its counts, none for each of its jobs."""
    page = open_page("/")
    page.evaluate("window.__setHidden(true)")

    upload(page, "simulate", [(f"b{i}.txt", b"x") for i in range(3)], steps=10, interval_ms=50)

    expect(page).to_have_title("(1) Batch of 3 files done · Taskboard", timeout=30_000)
    expect(page.locator(".batch-row .batch-counts").first).to_have_text("3 done")
    page.wait_for_timeout(1000)  # time for a second notice, were one coming
    notes = page.evaluate("window.__notes")
    assert [(n["title"], n["body"]) for n in notes] == [
        ("Batch of 3 files done", "3 done · simulate · Taskboard")
    ]
    assert page.title() == "(1) Batch of 3 files done · Taskboard"
    page.evaluate("window.__setHidden(false)")
    expect(page).to_have_title("Taskboard")
