"""A page's HTTP error is a page of the site (its header, what happened, the way back), with the
error's status; under the API the same errors stay JSON."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/jobs/not-an-id", "/batches/xyz", "/no/such/page"])
def test_a_missing_page_is_the_sites_404(client, path):
    """404 as HTML with the site's header, the reason and a link back to the jobs."""
    response = client.get(path)
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert 'class="topbar"' in page and "Not Found" in page
    assert "There is no such page here" in page and "Back to your jobs" in page


def test_a_wrong_method_on_a_page_keeps_its_allow_header(client):
    """405 on a page: the site's page, and the Allow header saying what would do."""
    response = client.post("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Back to your jobs" in response.get_data(as_text=True)


def test_the_api_still_answers_json(client):
    """Under /api/ an unknown path is a JSON 404, never the page."""
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404 and response.is_json
