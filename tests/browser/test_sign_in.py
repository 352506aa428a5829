"""Accounts mode in the browser: the sign-in page, the signed-in header, signing out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.accounts import PASSWORD
from tests.accounts import start_accounts_stack


@pytest.fixture(scope="module")
def accounts_site(redis_server, tmp_path_factory):
    """Start a web server in accounts mode with one user, ada."""
    folder = tmp_path_factory.mktemp("browser-accounts")
    running = start_accounts_stack(redis_server, folder, {"ada": {}})
    yield running
    running.stop()


@pytest.fixture
def visitor(browser, accounts_site, page_errors):
    """Return a tab of a new browser on the accounts-mode site, failing on page errors."""
    context = browser.new_context(base_url=accounts_site.url)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda m: page_errors.append(m.text) if m.text.startswith("Refused to") else None,
    )
    yield page
    context.close()


def test_sign_in_leads_back_to_the_page_asked_for(visitor):
    """A stranger is sent to the sign-in form, a wrong password is said so, the right one
    opens the dashboard with the name in the header, and signing out ends it."""
    visitor.goto("/")
    assert "/login" in visitor.url
    visitor.get_by_label("Name").fill("ada")
    visitor.get_by_label("Password").fill("wrong password")
    visitor.get_by_role("button", name="Sign in").click()
    expect(visitor.get_by_role("alert")).to_have_text("Wrong name or password.")

    visitor.get_by_label("Password").fill(PASSWORD)
    visitor.get_by_role("button", name="Sign in").click()
    expect(visitor.locator("#live-indicator")).to_have_attribute("data-state", "live")
    expect(visitor.locator(".account-name")).to_have_text("ada")
    expect(visitor.locator("#processor")).to_be_enabled()

    visitor.get_by_role("button", name="Sign out").click()
    expect(visitor.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "/login" in visitor.url
