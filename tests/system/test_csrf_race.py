"""A page's CSRF token stays good whatever order its first requests end in: the session cookie
that a page's first answer sets already holds the CSRF secret, so a slower request that sets
the cookie again, as it was before the token was asked for, does not take the secret away."""

from __future__ import annotations

import pytest
import requests


@pytest.mark.parametrize("first", ["/", "/api/jobs"])
def test_token_works_with_the_cookie_of_a_request_that_ended_later(stack, first):
    """A new browser's first answer sets the cookie; a token asked for with it is accepted
    with that same cookie, as when a request sent alongside /api/session ends after it and
    sets its own copy of the session again."""
    before = requests.get(stack.url + first).cookies["session"]
    token = requests.get(stack.url + "/api/session", cookies={"session": before}).json()[
        "csrf_token"
    ]
    response = requests.post(
        stack.url + "/api/jobs/bulk",
        json={"action": "delete", "ids": []},
        headers={"X-CSRFToken": token},
        cookies={"session": before},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"done": [], "skipped": []}
