"""The account page in the browser: create an API token (shown once, copied), list, revoke."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
# Console messages that mean the page is broken (an answered 400 is not one).
BROKEN = ("Refused to", "Uncaught", "Content Security Policy")


@pytest.fixture
def account(context, page_errors):
    """Open the account page of a new user, failing on page errors."""
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    tab.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    tab.on(
        "console",
        lambda m: page_errors.append(m.text) if m.text.startswith(BROKEN) else None,
    )
    tab.goto("/")
    tab.get_by_role("link", name="Account").click()
    expect(tab.locator("#token-empty")).to_be_visible()
    return tab


def test_token_is_created_shown_once_copied_and_revoked(stack, account):
    """A made token works as a bearer token; the list never shows it again; revoke ends it."""
    account.fill("#token-name", "<b>laptop</b>")
    account.get_by_role("button", name="Create token").click()
    secret = account.locator("#token-value")
    expect(secret).not_to_be_empty()
    token = secret.inner_text()
    assert token.startswith("tb_")
    account.get_by_role("button", name="Copy").click()
    expect(account.locator("#token-copied")).to_have_text("Copied.")
    assert account.evaluate("navigator.clipboard.readText()") == token
    row = account.locator("#token-rows tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text("<b>laptop</b>")
    expect(row).to_contain_text("never")
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(stack.url + "/api/jobs", headers=headers).status_code == 200

    account.reload()
    expect(account.locator("#token-rows tr")).to_have_count(1)
    assert token not in account.content()
    account.on("dialog", lambda dialog: dialog.accept())
    account.get_by_role("button", name="Revoke <b>laptop</b>").click()
    expect(account.locator("#token-empty")).to_be_visible()
    assert requests.get(stack.url + "/api/jobs", headers=headers).status_code == 401


def test_a_bad_name_is_said_on_the_page(account):
    """A name of spaces is refused with the server's message; nothing is made."""
    account.fill("#token-name", "   ")
    account.locator("#token-form").evaluate("form => form.requestSubmit()")
    expect(account.locator("#token-error")).to_contain_text("1 to 64 characters")
    expect(account.locator("#token-empty")).to_be_visible()
